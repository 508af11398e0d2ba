"""The hub's sink for a Tornado response: bytes go straight to the connection."""

from __future__ import annotations

import asyncio

from tornado.iostream import StreamBufferFullError, StreamClosedError
from tornado.web import RequestHandler


class ResponseSink:
    """Writes a stream's bytes to its HTTP connection without the handler's buffer.

    The hub writes one shared chunk per fan-out pass; going through
    ``RequestHandler.write``/``flush`` would add a buffer copy and a flush future per
    subscriber. Headers are sent on the first write (or ``start``), so until then the
    handler can still answer with an error status. The unsent-bytes bound is the
    IOStream's ``max_write_buffer_size``: a write past it raises ``StreamBufferFullError``
    and the hub cuts the stream off.
    """

    def __init__(self, handler: RequestHandler, limit: int):
        self._handler = handler
        self._connection = handler.request.connection
        self._stream = getattr(self._connection, "stream", None)
        self._limit = limit
        self._last_write: asyncio.Future[None] | None = None
        self.started = False
        self.closed = False
        #: Resolved with True when the hub ends the stream cleanly, False when it aborts.
        self.done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def start(self) -> None:
        """Send the status line, headers and whatever the handler buffered (the retry line)."""
        if self.started:
            return
        self.started = True
        if self._stream is not None:
            self._stream.max_write_buffer_size = self._limit
        self._handler.flush()

    def write(self, data: bytes) -> bool:
        if self.closed or self._connection is None:
            return False
        self.start()
        try:
            self._last_write = self._connection.write(data)
        except (StreamBufferFullError, StreamClosedError):
            return False
        return True

    async def drain(self) -> None:
        if self._last_write is not None:
            try:
                await self._last_write
            except StreamClosedError:
                self.close(abort=True)

    def close(self, abort: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        if abort and self._stream is not None:
            self._stream.close()
        if not self.done.done():
            self.done.set_result(not abort)

    def release(self) -> None:
        """Give the connection back its unbounded buffer (it may serve keep-alive requests)."""
        if self._stream is not None:
            self._stream.max_write_buffer_size = None
