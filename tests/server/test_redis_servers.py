"""Two real Jupyter servers sharing one real redis-server (backend='redis')."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from redis_servers import RedisServer
from servers import JupyterServer
from sse_client import SSEStream, publish

from sse_widgets.protocol import mint_ticket

pytestmark = pytest.mark.redis


def redis_options(url: str, prefix: str) -> dict[str, Any]:
    return {
        "SSEWidgetsApp.backend": "redis",
        "SSEWidgetsApp.redis_url": url,
        "SSEWidgetsApp.redis_prefix": prefix,
        "SSEWidgetsApp.retry_ms": 200,
    }


@pytest.fixture
def pair(redis_server: RedisServer, start_server: Callable[..., JupyterServer]) -> Iterator[tuple[JupyterServer, JupyterServer, str]]:
    """Servers A and B on one Redis, with the publish key they share through Redis."""
    prefix = f"pair-{uuid.uuid4().hex[:8]}:"
    a = start_server(key="", options=redis_options(redis_server.url, prefix))
    b = start_server(key="", options=redis_options(redis_server.url, prefix))
    key = redis.Redis.from_url(redis_server.url).get(prefix + "publish-key").decode()
    a.key = b.key = key
    yield a, b, prefix


def test_publish_on_either_reaches_both_in_order_with_the_same_ids(pair: Any) -> None:
    a, b, _ = pair
    with SSEStream(a.url, ["team/*"], token=a.token) as on_a, SSEStream(b.url, ["team/*"], token=b.token) as on_b:
        ids = publish(a.url, a.key, [{"channel": "team/x", "data": i} for i in range(3)])[1]["ids"]
        ids += publish(b.url, b.key, [{"channel": "team/y", "data": i} for i in range(3, 6)])[1]["ids"]
        got_a, got_b = on_a.read_count(6), on_b.read_count(6)
    assert [e.id for e in got_a] == [e.id for e in got_b] == ids
    assert [e.json["data"] for e in got_b] == list(range(6))


def test_cursor_from_one_server_resumes_exactly_on_the_other(pair: Any) -> None:
    a, b, _ = pair
    ids = publish(a.url, a.key, [{"channel": "move", "data": i} for i in range(40)])[1]["ids"]
    with SSEStream(a.url, ["move"], token=a.token, last_event_id="0") as first:
        half = first.read_count(20)[:20]
    more = publish(b.url, b.key, [{"channel": "move", "data": i} for i in range(40, 50)])[1]["ids"]
    with SSEStream(b.url, ["move"], token=b.token, header_cursor=half[-1].id) as second:
        rest = second.read_count(30)
    assert [e.id for e in half] + [e.id for e in rest] == ids + more


def test_ticket_minted_for_one_server_works_on_the_other(pair: Any) -> None:
    a, b, _ = pair
    ticket = mint_ticket(a.key, ["shared"], ttl=60)
    with SSEStream(b.url, ["shared"], tickets=[ticket]) as stream:
        assert stream.status == 200
        publish(a.url, a.key, {"channel": "shared", "data": "hi"})
        assert stream.read_count(1)[0].json["data"] == "hi"


def test_history_survives_a_server_restart(redis_server: RedisServer, start_server: Callable[..., JupyterServer]) -> None:
    prefix = f"restart-{uuid.uuid4().hex[:8]}:"
    first = start_server(key="k-restart", options=redis_options(redis_server.url, prefix))
    ids = publish(first.url, first.key, [{"channel": "kept", "data": i} for i in range(5)])[1]["ids"]
    first.stop()
    again = start_server(key="k-restart", options=redis_options(redis_server.url, prefix))
    with SSEStream(again.url, ["kept"], token=again.token, header_cursor=ids[1]) as stream:
        assert [e.id for e in stream.read_count(3)] == ids[2:]


def test_redis_down_gives_503_loses_nothing_acknowledged_and_service_resumes(start_server: Callable[..., JupyterServer]) -> None:
    own = RedisServer().start()  # this test stops it, so it gets its own
    try:
        prefix = "outage:"
        server = start_server(key="k-outage", options=redis_options(own.url, prefix))
        acked = publish(server.url, server.key, [{"channel": "o", "data": i} for i in range(10)])[1]["ids"]
        stream = SSEStream(server.url, ["o"], token=server.token, last_event_id="0")
        assert len(stream.read_count(10)) == 10
        own.stop()
        status, reply = publish(server.url, server.key, {"channel": "o", "data": "lost?"})
        assert status == 503 and "unreachable" in reply["message"]
        stream.read(lambda events: False, timeout=15) if not stream.ended else None
        assert stream.ended  # the stream ends so that the browser reconnects
        stream.close()
        with SSEStream(server.url, ["o"], token=server.token, last_event_id="0") as refused:
            assert refused.status == 503
        own.start()  # same port, same append-only file
        deadline = time.monotonic() + 30
        while True:
            status, reply = publish(server.url, server.key, {"channel": "o", "data": "after"})
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert status == 200
        with SSEStream(server.url, ["o"], token=server.token, last_event_id="0") as replay:
            events = replay.read_count(11)
            assert [e.id for e in events[:10]] == acked
            assert events[10].json["data"] == "after"
            publish(server.url, server.key, {"channel": "o", "data": "live again"})
            assert replay.read_count(1)[0].json["data"] == "live again"
    finally:
        own.cleanup()
