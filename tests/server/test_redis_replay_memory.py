"""A replay from Redis is read in pages as the socket drains: stalled streams over a large
history do not pull that history into the server's memory."""

from __future__ import annotations

import socket
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from redis_servers import RedisServer
from servers import JupyterServer
from sse_client import publish

pytestmark = [pytest.mark.redis, pytest.mark.slow]

HISTORY_MIB = 32
STALLED = 6
BUFFER_BYTES = 1 << 20
#: Per stalled stream: its buffer plus a page (256 KiB) in a few copies while decoded,
#: with room for the allocator. Reading the whole history at once is 32 MiB per stream, in a few copies.
BOUND_MIB = 64


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_stalled(server: JupyterServer) -> socket.socket:
    """Ask for everything retained, then never read."""
    url = urllib.parse.urlsplit(server.url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 10)
    sock.connect((url.hostname, url.port))
    query = urllib.parse.urlencode({"channel": "*", "last_event_id": "0", "token": server.token})
    sock.sendall(f"GET {url.path}sse-widgets/api/stream?{query} HTTP/1.1\r\nHost: {url.hostname}\r\n\r\n".encode())
    return sock


def count_events(sock: socket.socket, expected: int) -> int:
    """Read a stream until ``expected`` events came (counted by their blank line; the
    data here has no newlines), without parsing it all in Python."""
    sock.settimeout(60)
    count, tail = 0, b""
    try:
        while count < expected:
            data = sock.recv(1 << 20)
            if not data:
                break
            count += (tail + data).count(b"\n\n") - tail.count(b"\n\n")
            tail = data[-1:]
    finally:
        sock.close()
    return count


def test_stalled_replays_over_a_large_history_do_not_raise_server_memory(
    redis_server: RedisServer, start_server: Callable[..., JupyterServer]
) -> None:
    server = start_server(options={
        "SSEWidgetsApp.backend": "redis",
        "SSEWidgetsApp.redis_url": redis_server.url,
        "SSEWidgetsApp.redis_prefix": f"rss-{uuid.uuid4().hex[:8]}:",
        "SSEWidgetsApp.redis_live_length": 100,
        "SSEWidgetsApp.history_bytes": 64 << 20,
        "SSEWidgetsApp.subscriber_buffer_bytes": BUFFER_BYTES,
    })
    data = "x" * 30_000
    total = 0
    for _ in range(HISTORY_MIB * (1 << 20) // (100 * 30_000) + 1):
        status, reply = publish(server.url, server.key, [{"channel": f"big/{i % 4}", "data": data} for i in range(100)])
        assert status == 200, reply
        total += 100
    assert server.process is not None
    pid = server.process.pid
    before = rss_kib(pid)
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stalled = [open_stalled(server) for _ in range(STALLED)]
    try:
        # While they sit, one stream reads the whole history: by its end the stalled ones
        # have had every chance to pull theirs in.
        assert count_events(open_stalled(server), total) == total
        stats = server.api("GET", "sse-widgets/api/channels")["stats"]
        assert stats["subscribers"] >= STALLED  # still open, waiting for their sockets
    finally:
        stop.set()
        sampler.join(5)
        for sock in stalled:
            sock.close()
        print(f"server RSS {before / 1024:.0f} MiB before, peak {peak[0] / 1024:.0f} MiB")
    grown_mib = (peak[0] - before) / 1024
    assert grown_mib < BOUND_MIB, f"RSS grew by {grown_mib:.0f} MiB over {HISTORY_MIB} MiB of history"
