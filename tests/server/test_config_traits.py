"""The README's "Server configuration" table: each trait's default, and that a value set on
the command line reaches what it bounds, in a real ``jupyter server``; ``since=`` and the
channel listing over HTTP; a cut-off slow stream that reconnects and replays."""

from __future__ import annotations

import json
import socket
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from redis_servers import RedisServer
from servers import JupyterServer
from sse_client import SSEParser, SSEStream, publish

from sse_widgets.hub import MemoryBackend
from sse_widgets.server.app import SSEWidgetsApp
from sse_widgets.server.listen import kernel_somaxconn

MiB = 1 << 20


def channels(server: JupyterServer) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server.url}sse-widgets/api/channels?token={server.token}", timeout=10) as r:
        return json.load(r)  # type: ignore[no-any-return]


def listed(server: JupyterServer) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in channels(server)["channels"]}


def test_the_defaults_are_the_documented_ones() -> None:
    app = SSEWidgetsApp()
    assert (app.heartbeat_interval, app.retry_ms, app.retry_jitter_ms) == (15.0, 2000, 3000)
    assert (app.history_size, app.history_bytes) == (10_000, 4 * MiB)
    assert (app.max_channels, app.total_history_bytes) == (1024, 256 * MiB)
    assert (app.max_event_bytes, app.max_request_bytes) == (64 << 10, 4 * MiB)
    assert app.max_subscribers == 20_000
    assert app.subscriber_buffer_bytes == 4 * MiB
    assert app.listen_backlog == min(kernel_somaxconn() or 4096, 4096)
    assert app.freeze_startup_objects
    assert app.backend == "memory"
    assert app.redis_live_length == 10_000
    # ...and they are what the history is built with.
    backend = app.make_backend()
    assert isinstance(backend, MemoryBackend)
    assert backend.stats()["backend"] == "memory"


def test_streams_cut_off_together_are_told_to_come_back_at_different_times(
        live_server: JupyterServer) -> None:
    retries = set()
    for _ in range(12):
        with SSEStream(live_server.url, ["t/retry"], token=live_server.token) as stream:
            stream.read(lambda _: stream.parser.retry is not None)
            retries.add(stream.parser.retry)
    # retry_ms 2000 plus a random part up to retry_jitter_ms 3000: twelve streams told
    # the same delay (as before) would reconnect as one storm.
    assert all(2000 <= r <= 5000 for r in retries)
    assert len(retries) > 6, retries


def test_the_redis_settings_reach_the_redis_backend(redis_server: RedisServer) -> None:
    app = SSEWidgetsApp(backend="redis", redis_url=redis_server.url, redis_prefix="cfg-test:",
                        history_size=7, history_bytes=5000, max_channels=3,
                        total_history_bytes=9000, redis_live_length=123)
    backend = app.make_backend()
    assert (backend.prefix, backend.history_size, backend.history_bytes) == ("cfg-test:", 7, 5000)  # type: ignore[attr-defined]
    assert (backend.max_channels, backend.total_bytes, backend.live_length) == (3, 9000, 123)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def tight() -> Iterator[JupyterServer]:
    """A server whose byte and count limits are set small on the command line."""
    server = JupyterServer(options={
        "SSEWidgetsApp.history_size": 100,
        "SSEWidgetsApp.history_bytes": 3000,
        "SSEWidgetsApp.max_channels": 3,
        "SSEWidgetsApp.total_history_bytes": 6000,
        "SSEWidgetsApp.max_event_bytes": 1500,
        "SSEWidgetsApp.max_request_bytes": 10_000,
    }).start()
    try:
        yield server
    finally:
        server.stop()


def big(channel: str, n: int) -> list[dict[str, Any]]:
    return [{"channel": channel, "data": "x" * 1000} for _ in range(n)]


def test_history_bytes_set_on_the_command_line_bounds_a_channel(tight: JupyterServer) -> None:
    status, reply = publish(tight.url, tight.key, big("b/one", 8))
    assert status == 200
    info = listed(tight)["b/one"]
    # The newest events that fit in 3,000 bytes: fewer than were sent, none of them lost
    # at the new end.
    assert 0 < info["bytes"] <= 3000 and 1 <= info["retained"] < 8
    assert info["last_id"] == reply["ids"][-1]
    assert info["first_id"] == reply["ids"][-info["retained"]]


def test_event_and_request_byte_limits_set_on_the_command_line_refuse_with_413(tight: JupyterServer) -> None:
    status, reply = publish(tight.url, tight.key, [{"channel": "b/ok", "data": 1},
                                                   {"channel": "b/ok", "data": "y" * 2000}])
    assert status == 413 and "1500" in reply["message"]
    status, reply = publish(tight.url, tight.key, [{"channel": "b/ok", "data": "z" * 900}] * 12)
    assert status == 413
    # A refused request publishes nothing of itself.
    assert "b/ok" not in listed(tight)


def test_max_channels_and_total_bytes_drop_the_least_recently_published_channel(tight: JupyterServer) -> None:
    for name in ("c/a", "c/b", "c/c"):  # with b/one from before: a fourth channel
        assert publish(tight.url, tight.key, {"channel": name, "data": 0})[0] == 200
    names = set(listed(tight))
    assert len(names) <= 3 and {"c/a", "c/b", "c/c"} <= names
    # Three channels of ~2,000 bytes pass total_history_bytes=6000: c/a goes first.
    for name in ("c/a", "c/b", "c/c"):
        assert publish(tight.url, tight.key, big(name, 2))[0] == 200
    now = listed(tight)
    assert sorted(now) == ["c/b", "c/c"]
    assert sum(c["bytes"] for c in now.values()) <= 6000


def test_since_over_http_replays_the_named_channels_from_their_start(live_server: JupyterServer) -> None:
    publish(live_server.url, live_server.key, {"channel": "s/chart", "data": "old"})
    seen = publish(live_server.url, live_server.key, {"channel": "s/log", "data": "seen"})[1]["ids"][0]
    publish(live_server.url, live_server.key, {"channel": "s/log", "data": "missed"})
    with SSEStream(live_server.url, ["s/log", "s/chart"], token=live_server.token,
                   header_cursor=seen, since=["s/chart"]) as stream:
        events = stream.read_count(2)
    assert [e.json["data"] for e in events] == ["old", "missed"]


def test_the_channel_listing_shows_each_channels_fields_and_the_hub_stats(live_server: JupyterServer) -> None:
    ids = publish(live_server.url, live_server.key, [{"channel": "l/one", "data": i} for i in range(3)])[1]["ids"]
    with SSEStream(live_server.url, ["l/*"], token=live_server.token), \
            SSEStream(live_server.url, ["l/one", "other"], token=live_server.token):
        listing = channels(live_server)
    one = next(c for c in listing["channels"] if c["name"] == "l/one")
    assert set(one) == {"name", "retained", "bytes", "first_id", "last_id", "subscribers", "browsers"}
    assert (one["retained"], one["first_id"], one["last_id"], one["subscribers"]) == (3, ids[0], ids[-1], 2)
    assert one["bytes"] > 0
    stats = listing["stats"]
    assert stats["backend"] == "memory" and stats["subscribers"] >= 2
    assert stats["last_seq"] >= int(ids[-1].rsplit("-", 1)[1])


@pytest.fixture
def small_buffers() -> Iterator[JupyterServer]:
    """Streams are cut off past 64 KiB unsent; the history holds everything sent here."""
    server = JupyterServer(options={
        "SSEWidgetsApp.subscriber_buffer_bytes": 64 << 10,
        "SSEWidgetsApp.history_bytes": 64 * MiB,
    }).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_slow_stream_is_cut_off_then_reconnects_and_replays_with_no_gap(small_buffers: JupyterServer) -> None:
    server = small_buffers
    url = urllib.parse.urlsplit(server.url)
    # A client that reads the head and the first events, then stops reading, with the
    # smallest receive buffer the kernel allows, so that the server's unsent bytes grow.
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect((url.hostname, url.port))
    query = urllib.parse.urlencode({"channel": "slow", "token": server.token})
    slow.sendall(f"GET {url.path}sse-widgets/api/stream?{query} HTTP/1.1\r\n"
                 f"Host: 127.0.0.1:{url.port}\r\nAccept: text/event-stream\r\n\r\n".encode())
    ids: list[str] = []
    block = [{"channel": "slow", "data": "p" * 4000}] * 100
    try:
        # Publish until the hub cuts the stream off: past the 64 KiB and what the
        # kernel's socket buffers hold (bounded: 64 MiB in all).
        for _ in range(160):
            status, reply = publish(server.url, server.key, block)
            assert status == 200
            ids += reply["ids"]
            if channels(server)["stats"]["dropped_slow"] >= 1:
                break
        assert channels(server)["stats"]["dropped_slow"] == 1
        # Read what reached this client before the cut, up to the end of the stream.
        slow.settimeout(30)
        data = b""
        while chunk := slow.recv(1 << 20):
            data += chunk
    finally:
        slow.close()
    body = data.partition(b"\r\n\r\n")[2]
    got = [e.id for e in SSEParser().feed(_dechunk(body)) if e.type == "message"]
    assert got == ids[:len(got)] and len(got) < len(ids)
    # It reconnects with the last id it saw, as EventSource does, and replays the rest.
    cursor = got[-1] if got else "0"
    with SSEStream(server.url, ["slow"], token=server.token, header_cursor=cursor, timeout=60) as again:
        rest = again.read_count(len(ids) - len(got), timeout=120)
    assert [e.id for e in rest] == ids[len(got):]


def _dechunk(body: bytes) -> bytes:
    """The payload of a chunked body, up to where it was cut (the last chunk may be partial)."""
    out = bytearray()
    while body:
        size_line, sep, rest = body.partition(b"\r\n")
        if not sep:
            break
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return bytes(out)
