"""The hub's sink for a stream response: the handler's socket, taken over after headers.

Once a stream starts, the handler detaches the connection from Tornado's HTTP layer (as a
websocket handler does) and writes the status line and headers itself, with
``Connection: close`` and no chunked framing, so the body is exactly the SSE bytes the
hub shares among subscribers. Each write goes to the socket with one ``send`` when
nothing is queued (the sink keeps that flag itself, cleared when a queued write's future
finds the buffer empty), and to the IOStream's buffer otherwise: no future, callback or buffer
copy per subscriber per fan-out pass, which is what a ``RequestHandler.write``/``flush``
(or ``HTTP1Connection.write``) would cost. The unsent-bytes bound is the IOStream's
``max_write_buffer_size``: a write past it raises ``StreamBufferFullError`` and the hub
cuts the stream off.

A sink never raises to the hub. A client may be gone before the stream starts (``detach``
then hands back a closed stream with no socket) or at any write; either way the sink just
closes and resolves ``done``, whose callback (``hand_over``) ends the subscription.

What a stream holds while it is open is what sets the server's memory per viewer, so the
handler does not wait for the stream to end: once the sink has the socket, it forgets the
handler, and the handler returns. The request, its headers, arguments and cookies, the
handler and Tornado's HTTP connection object are then garbage; an open stream is this
sink, its IOStream and socket, and the hub's ``Subscriber``. Measured with the storm
client (``benchmarks/stormclient.c``), that took the server's RSS per open stream from
about 18 KiB to about 6 KiB. Two things had kept the handler: its coroutine, awaiting the
stream's end, and jupyter-server's ``CallContext`` (see ``StreamHandler.get``).

Bytes the client sends after its request (an SSE client sends none) are read into one
small scratch buffer shared by every stream and thrown away: the pending read is how the
IOStream notices that the client went away, and a ``read_until_close`` there would keep
whatever is uploaded, up to Tornado's ``max_buffer_size`` per stream.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Callable
from typing import Any, cast

from tornado.iostream import IOStream, StreamBufferFullError, StreamClosedError
from tornado.web import RequestHandler


def response_head(handler: RequestHandler) -> bytes:
    """The status line and the headers the handler (and Jupyter's defaults) set."""
    # RequestHandler keeps its headers in _headers; there is no public accessor, and
    # Tornado's own WebSocketHandler relies on the same layout.
    headers: Any = handler._headers
    lines = ["HTTP/1.1 200 OK"]
    lines += [f"{name}: {value}" for name, value in headers.get_all() if name.lower() != "connection"]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class ResponseSink:
    """Writes one stream's bytes to its socket; see the module docstring."""

    def __init__(self, handler: RequestHandler, limit: int, preamble: bytes = b""):
        self._handler: RequestHandler | None = handler
        self._limit = limit
        self._preamble = preamble
        self.stream: IOStream | None = None
        self._socket: socket.socket | None = None
        # True while the IOStream holds unsent bytes (then writes join its buffer, in
        # order); kept here so that the fan-out pass asks Tornado nothing per write.
        self._queued = False
        self.closed = False
        #: Resolved with True when the hub ends the stream cleanly, False otherwise.
        self.done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    @property
    def started(self) -> bool:
        return self.stream is not None

    def start(self, first: bytes = b"") -> bool:
        """Take the connection over and send the head, with ``first`` (a replay's first
        piece) in the same ``send``: one system call less per stream, which is what a storm
        of reconnects costs most. Until then the handler can still answer with an error
        status instead. Returns what ``write`` returns."""
        handler = self._handler
        if self.stream is not None or self.closed or handler is None:
            return True
        head = response_head(handler)
        stream = self.stream = handler.detach()
        self._handler = None  # see the module docstring: the stream must not keep it
        if stream.closed() or stream.socket is None:
            # The client left before the stream started.
            self.close(abort=True)
            return True
        stream.max_write_buffer_size = self._limit
        stream.set_nodelay(True)
        stream.set_close_callback(self._on_stream_closed)
        self._socket = stream.socket
        _discard_input(stream)
        return self._send(head + self._preamble + first)

    def write(self, data: bytes) -> bool:
        if self.closed:
            return True  # the handler unsubscribes it; nothing is slow about it
        if self.stream is None:
            return self.start(data)
        return self._send(data)

    def _send(self, data: bytes | memoryview) -> bool:
        stream, sock = self.stream, self._socket
        if stream is None or sock is None:
            self.close(abort=True)
            return True
        if not self._queued:
            # A closed stream has closed its socket too: send raises, and the sink closes.
            try:
                sent = sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                self.close(abort=True)
                return True
            if sent == len(data):
                return True
            data = memoryview(data)[sent:]
        try:
            written = stream.write(data)
        except StreamBufferFullError:
            return False
        except StreamClosedError:
            self.close(abort=True)
            return True
        self._queued = True
        written.add_done_callback(self._written)
        return True

    def _written(self, future: asyncio.Future[None]) -> None:
        """A queued write went out: once nothing is queued, writes go straight to the
        socket again. Set only here, where the IOStream says its buffer is empty, and
        before any write that queues, so bytes never overtake queued ones."""
        _ignore_result(future)
        if self.stream is not None and not self.stream.writing():
            self._queued = False

    async def drain(self) -> None:
        if self.stream is not None and self.stream.writing():
            try:
                await self.stream.write(b"")
            except StreamClosedError:
                self.close(abort=True)

    def close(self, abort: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        if abort and self.stream is not None:
            self.stream.close()
        if not self.done.done():
            self.done.set_result(not abort)

    def hand_over(self, on_done: Callable[[], None]) -> None:
        """Let the sink see the stream to its end, so that the handler need not wait: once
        ``done``, ``on_done`` runs (ending the subscription) and, after a clean end, the
        queued bytes go out before the connection closes."""
        self.done.add_done_callback(functools.partial(_ended, self, on_done))

    async def finish(self) -> None:
        """After a clean end: let queued bytes go out, then close the connection."""
        if self.stream is None or self.stream.closed():
            return
        try:
            await self.stream.write(b"")
        except StreamClosedError:
            pass
        self.stream.close()

    def _on_stream_closed(self) -> None:
        self.close(abort=True)


#: Where every stream's incoming bytes land before they are dropped. Shared: the loop is
#: single-threaded and nothing ever reads it, so concurrent reads cannot hurt each other.
_SCRATCH = bytearray(16 << 10)


def _discard_input(stream: IOStream, previous: asyncio.Future[int] | None = None) -> None:
    """Read and drop what the client sends until the connection closes. A chain of
    callbacks rather than a task: a task and its coroutine would be kept per stream."""
    if previous is not None and (previous.cancelled() or previous.exception() is not None):
        return  # closed: the stream's close callback has ended the sink
    try:
        # Typed Awaitable; it is an asyncio Future (IOStream._start_read).
        reading = cast("asyncio.Future[int]", stream.read_into(_SCRATCH, partial=True))
    except StreamClosedError:
        return
    reading.add_done_callback(functools.partial(_discard_input, stream))


def _ended(sink: ResponseSink, on_done: Callable[[], None], done: asyncio.Future[bool]) -> None:
    try:
        on_done()
    finally:
        if not done.cancelled() and done.result():
            asyncio.ensure_future(sink.finish()).add_done_callback(_ignore_result)


def _ignore_result(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
