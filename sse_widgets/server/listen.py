"""Room for a storm of connections: the listen backlog and the open-files limit.

When a server restarts, every browser that watched it reconnects within seconds. Until the
server's loop ``accept()``\\s them, the connections wait in the listening socket's accept
queue, whose length is the ``listen()`` backlog. Tornado binds with a backlog of 128
(``tornado.netutil.bind_sockets``, ``_DEFAULT_BACKLOG``) and jupyter-server passes none
(``ServerApp._bind_http_server_tcp`` calls ``http_server.listen(port, ip)``). Once the
queue is full the kernel drops new SYNs (or the final ACK), and each client waits for its
retransmission, 1 s, then 3 s, 7 s, 15 s later: measured, 3,000 clients connecting at once
to a backlog of 128 left some waiting close to a minute, and 10,000 gave dial timeouts.

So at start the extension calls ``listen()`` again on each listening socket with a larger
backlog. On Linux, ``listen()`` on a socket that already listens only updates its backlog
(``inet_listen`` sets ``sk_max_ack_backlog``); the kernel caps the value at
``net.core.somaxconn`` without an error, and the default here never asks for more.
"""

from __future__ import annotations

import resource
import socket
from pathlib import Path
from typing import Any

SOMAXCONN_PATH = Path("/proc/sys/net/core/somaxconn")
#: The backlog asked for by default, at most: room for a few thousand reconnects at once
#: (the accept loop takes up to 128 per turn). A queued connection is a whole socket in
#: kernel memory, so the default stays bounded even where somaxconn is far higher.
DEFAULT_BACKLOG_CAP = 4096


def kernel_somaxconn() -> int | None:
    """``net.core.somaxconn``, the kernel's cap on any backlog; None where unknown."""
    try:
        return int(SOMAXCONN_PATH.read_text().strip())
    except (OSError, ValueError):
        return None


def default_backlog() -> int:
    """The kernel's cap, or ``DEFAULT_BACKLOG_CAP`` if that is smaller or unknown."""
    cap = kernel_somaxconn()
    return DEFAULT_BACKLOG_CAP if cap is None else min(cap, DEFAULT_BACKLOG_CAP)


def listening_sockets(serverapp: Any) -> list[socket.socket]:
    """The sockets the Jupyter server accepts connections on (none if it has no HTTP server).

    ``ServerApp.http_server`` is a ``tornado.httpserver.HTTPServer``, a ``TCPServer``, which
    keeps every socket it accepts on in ``_sockets`` (fd to socket; ``add_sockets``). There
    is no public accessor; the attribute has been there since Tornado 1.
    """
    http_server = getattr(serverapp, "http_server", None)  # a property that raises before init
    sockets = getattr(http_server, "_sockets", None)
    return list(sockets.values()) if isinstance(sockets, dict) else []


def widen_backlog(serverapp: Any, backlog: int) -> list[socket.socket]:
    """``listen(backlog)`` again on every listening socket of ``serverapp``; returns them."""
    sockets = listening_sockets(serverapp)
    for sock in sockets:
        sock.listen(backlog)
    return sockets


#: File descriptors kept back from streams: kernels' sockets, files, a 503 to say "full".
FD_RESERVE = 1024


def raise_open_files_limit(wanted: int) -> int:
    """Lift this process's soft RLIMIT_NOFILE towards ``wanted`` (never past the hard
    limit, never lower); returns the soft limit after. Each stream is a socket, and the
    usual soft limit of 1,024 would make ``accept`` fail with EMFILE long before
    ``max_subscribers``; kernels started later inherit the raised limit, which is harmless."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < ceiling:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
        except (OSError, ValueError):
            return soft
        soft = ceiling
    return soft


def streams_within(limit: int, max_subscribers: int) -> int:
    """The most streams a soft fd ``limit`` leaves room for, with ``FD_RESERVE`` kept back."""
    return min(max_subscribers, max(1, limit - FD_RESERVE))
