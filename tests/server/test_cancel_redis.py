"""Stop across servers: the task's process polls server B, the click lands on server A (one Redis)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

sys.path.insert(0, str(Path(__file__).parent))

from redis_servers import RedisServer
from servers import JupyterServer
from sse_client import SSEStream
from test_cancel import LOOP, cancel, final_state, start_script, wait_running
from test_redis_servers import redis_options

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def pair(redis_server: RedisServer, start_server: Callable[..., JupyterServer]) -> Iterator[tuple[JupyterServer, JupyterServer]]:
    prefix = f"stop-{uuid.uuid4().hex[:8]}:"
    a = start_server(key="", options=redis_options(redis_server.url, prefix))
    b = start_server(key="", options=redis_options(redis_server.url, prefix))
    a.key = b.key = redis.Redis.from_url(redis_server.url).get(prefix + "publish-key").decode()
    for server in (a, b):
        server.env["SSE_WIDGETS_KEY"] = server.key
    yield a, b


def test_a_stop_asked_on_one_server_reaches_a_process_polling_another(pair: Any) -> None:
    a, b = pair
    with SSEStream(a.url, ["x/jobs"], token=a.token) as on_a:
        proc = start_script(LOOP.format(channel="x/jobs", task="far"), b.env)  # publishes to B
        try:
            wait_running(on_a, "far")
            status, body = cancel(a, {"channel": "x/jobs", "task": "far"})
            assert (status, body["status"]) == (202, "stopping")
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
        assert "caught Cancelled stopped from the dashboard" in out, err
        assert final_state(on_a, "far")["status"] == "cancelled"
    assert cancel(b, {"channel": "x/jobs", "task": "far"})[0] == 409  # B sees it ended, too
