"""A reverse proxy on 127.0.0.1 that takes the login cookie off stream requests.

JupyterHub ignores a cookie-authenticated GET that has no XSRF token, so an EventSource
(which cannot send headers) behind the Hub streams with the widgets' tickets alone. A
browser cannot be made to leave its cookie off one path (Chromium adds the cookie store's
value to every request, routed ones included), so the tests put this proxy between the
browser and the Jupyter server: it forwards everything as is, except that requests to
``sse-widgets/api/stream`` lose every cookie but the stream's own ticket cookies. It records each stream request.

One request per connection (``Connection: close`` both ways) keeps the forwarding a plain
byte pipe; WebSocket upgrades pass through untouched.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass

from sse_widgets.protocol import TICKET_COOKIE_PREFIX


@dataclass
class StreamRequest:
    """A stream request as the browser sent it (target, and whether it had a cookie)."""

    target: str
    had_cookie: bool
    status: int | None = None
    #: The stream's ticket cookies (name=value) that were passed on.
    ticket_cookies: tuple[str, ...] = ()


class CookielessProxy:
    """Listens on 127.0.0.1:``port`` and forwards to 127.0.0.1:``upstream``."""

    def __init__(self, upstream: int, stream_path: str = "/sse-widgets/api/stream") -> None:
        self.upstream = upstream
        self.stream_path = stream_path
        self.streams: list[StreamRequest] = []
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port = int(self._sock.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.update(socks)

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            head, rest = _read_head(client)
            if head is None:
                return
            lines = head.split(b"\r\n")
            target = lines[0].split(b" ")[1].decode("latin-1") if b" " in lines[0] else ""
            headers = lines[1:]
            upgrade = any(h.lower().startswith(b"upgrade:") for h in headers)
            record = None
            if target.split("?", 1)[0].endswith(self.stream_path):
                headers_in = headers
                headers = _without_login_cookies(headers)
                kept = tuple(c.decode("latin-1") for h in headers if h.lower().startswith(b"cookie:")
                             for c in h.split(b":", 1)[1].strip().split(b"; "))
                record = StreamRequest(target, any(h.lower().startswith(b"cookie:") for h in headers_in),
                                       ticket_cookies=kept)
                with self._lock:
                    self.streams.append(record)
            if not upgrade:
                headers = [h for h in headers if not h.lower().startswith(b"connection:")]
                headers.append(b"Connection: close")
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            self._track(client, upstream)
            upstream.sendall(b"\r\n".join([lines[0], *headers]) + b"\r\n\r\n" + rest)
            back = threading.Thread(target=_pipe, args=(client, upstream), daemon=True)
            back.start()
            _pipe(upstream, client, None if upgrade else record, first_head=not upgrade)
            back.join(5)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    sock.close()

    def close(self) -> None:
        self._closed = True
        self._sock.close()
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


def _without_login_cookies(headers: list[bytes]) -> list[bytes]:
    """The headers with every cookie dropped but the stream's own ticket cookies, which
    JupyterHub passes on as any cookie (it only ignores the login without XSRF)."""
    out = []
    for header in headers:
        if not header.lower().startswith(b"cookie:"):
            out.append(header)
            continue
        kept = [c.strip() for c in header.split(b":", 1)[1].split(b";")
                if c.strip().startswith(TICKET_COOKIE_PREFIX.encode())]
        if kept:
            out.append(b"Cookie: " + b"; ".join(kept))
    return out


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
        if len(buffer) > 1 << 20:
            return None, b""
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3})")


def _pipe(source: socket.socket, sink: socket.socket, record: StreamRequest | None = None,
          first_head: bool = False) -> None:
    """Copy ``source`` to ``sink`` until one ends; the first response head gets
    ``Connection: close`` (so the browser does not reuse the connection) and its status
    goes in ``record``."""
    try:
        if first_head:
            head, rest = _read_head(source)
            if head is None:
                return
            match = _STATUS.match(head)
            if record is not None and match:
                record.status = int(match.group(1))
            lines = [h for h in head.split(b"\r\n") if not h.lower().startswith(b"connection:")]
            sink.sendall(b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + rest)
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
