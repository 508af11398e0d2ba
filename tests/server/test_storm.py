"""Many clients connecting at once (a server restart makes every browser reconnect): the
kernel must queue them all until the server accepts them, and every one gets its stream."""

from __future__ import annotations

import errno
import os
import selectors
import signal
import socket
import time
from typing import Any

from servers import JupyterServer
from sse_client import SSEStream, publish

from sse_widgets.protocol import mint_ticket
from sse_widgets.server.listen import default_backlog

CLIENTS = 600
TCP_LISTEN = "0A"


def accept_queue(port: int) -> int:
    """Connections waiting in 127.0.0.1:``port``'s accept queue. For a listening socket,
    /proc/net/tcp's rx_queue is the accept queue's length (``sk_ack_backlog``; Linux
    ``get_tcp4_sock``), what ``ss -ltn`` prints as Recv-Q."""
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[1] == f"0100007F:{port:04X}" and fields[3] == TCP_LISTEN:
                return int(fields[4].split(":")[1], 16)
    raise AssertionError(f"no socket listens on 127.0.0.1:{port}")


def open_connections(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        code = sock.connect_ex(("127.0.0.1", port))
        assert code in (0, errno.EINPROGRESS), os.strerror(code)
        sockets.append(sock)
    return sockets


def wait_for_queue(port: int, count: int, timeout: float = 30.0) -> int:
    """Wait until ``count`` connections are queued; the timeout only turns a shortfall
    into a failure (dropped SYNs are retried at 1, 3, 7... s and dropped again)."""
    deadline = time.monotonic() + timeout
    queued = accept_queue(port)
    while queued < count and time.monotonic() < deadline:
        time.sleep(0.05)
        queued = accept_queue(port)
    return queued


def read_streams(sockets: list[socket.socket], request: bytes, want: bytes,
                 timeout: float = 120.0) -> dict[socket.socket, bytes]:
    """Send ``request`` on every socket; read until each has sent ``want`` (or closed)."""
    for sock in sockets:
        sock.setblocking(True)
        sock.sendall(request)
        sock.setblocking(False)
    received = {sock: b"" for sock in sockets}
    waiting = set(sockets)
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=1.0):
                sock: Any = key.fileobj
                chunk = sock.recv(65536)
                received[sock] += chunk
                if not chunk or want in received[sock]:
                    selector.unregister(sock)
                    waiting.discard(sock)
    return received


def test_storm_beyond_128_connections_is_not_dropped(start_server: Any) -> None:
    server: JupyterServer = start_server()
    assert default_backlog() > CLIENTS  # somaxconn here allows the test to mean something
    status, _ = publish(server.url, server.key, {"channel": "storm", "type": "t", "data": "retained"})
    assert status == 200
    ticket = mint_ticket(server.key, ["storm"], ttl=600)
    request = (f"GET /sse-widgets/api/stream?channel=storm&last_event_id=0&auth_ticket={ticket} "
               f"HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n").encode()
    assert server.process is not None
    sockets: list[socket.socket] = []
    # A stopped server accepts nothing: every connection waits in the kernel's queue, as
    # in a storm that comes faster than the accept loop. Tornado's backlog of 128 queued
    # 129 and dropped the rest's SYNs.
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        sockets = open_connections(server.port, CLIENTS)
        queued = wait_for_queue(server.port, CLIENTS)
        assert queued == CLIENTS, f"the accept queue holds {queued} of {CLIENTS} connections"
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    try:
        received = read_streams(sockets, request, b'"data":"retained"')
        heads = [data.split(b"\r\n", 1)[0] for data in received.values()]
        assert heads.count(b"HTTP/1.1 200 OK") == CLIENTS, set(heads)
        assert all(b'"data":"retained"' in data for data in received.values())
    finally:
        for sock in sockets:
            sock.close()


def test_streams_past_the_open_files_limit_get_503_not_a_failed_accept() -> None:
    # A hard limit of 1,100 open files leaves room for 76 streams (1,024 kept back for
    # kernels, files and the 503 itself). Before, the server allowed max_subscribers
    # (5,000) and, with the limit reached, accept() failed with EMFILE in a loop.
    server = JupyterServer()
    server.args = ["prlimit", "--nofile=1100:1100", *server.args]
    server.start()
    streams: list[SSEStream] = []
    try:
        ticket = mint_ticket(server.key, ["t/full"], ttl=600)
        for _ in range(77):
            streams.append(SSEStream(server.url, ["t/full"], tickets=[ticket]))
        assert [s.status for s in streams] == [200] * 76 + [503]
        assert "room for 76 of max_subscribers=20000 streams" in server.log()
    finally:
        for stream in streams:
            stream.close()
        server.stop()
