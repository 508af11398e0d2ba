"""A subscriber: its channel set, where its bytes go, and what it holds during replay."""

from __future__ import annotations

import asyncio
from typing import Protocol

from .event import Event
from .patterns import ChannelSet


class Sink(Protocol):
    """Where a subscriber's bytes go: the HTTP response, or a buffer in tests."""

    def write(self, data: bytes) -> bool:
        """Queue ``data`` without waiting; False once the unsent bytes pass the bound."""

    async def drain(self) -> None:
        """Wait until everything written so far has been handed to the OS."""

    def close(self, abort: bool = False) -> None:
        """End the stream: cleanly (the browser reconnects), or at once if ``abort``."""


class Subscriber:
    """One open stream.

    While its replay is being written, live events for it are held (``holding`` is a
    list) and written after the replay. Live events at or below ``floor`` (the last id
    its replay or cursor already covered) are skipped: a backend may deliver an event
    after a replay that already carried it.
    """

    __slots__ = ("browser", "channels", "closed", "floor", "holding", "holding_bytes", "reason", "sink")

    def __init__(self, channels: ChannelSet, sink: Sink, browser: str | None = None):
        self.channels = channels
        #: The browser the stream is for (its tabs share one stream); None: unknown, counted alone.
        self.browser = browser
        self.sink = sink
        self.holding: list[Event] | None = []
        self.holding_bytes = 0
        self.floor = 0
        self.closed = False
        #: Why the hub ended the stream, if it did: "slow", "broken", "deleted", "shutdown".
        self.reason: str | None = None

    def __repr__(self) -> str:
        return f"Subscriber({list(self.channels.patterns)!r})"


class BufferSink:
    """A sink that keeps what it is sent in memory; for tests and tools.

    A ``stalled`` sink models a client that stopped reading: its unsent bytes grow until
    they pass ``limit``, and ``drain`` waits until ``resume()``.
    """

    def __init__(self, limit: int = 1 << 20, stalled: bool = False):
        self.limit = limit
        self.stalled = stalled
        self.chunks: list[bytes] = []
        self.unsent = 0
        self.closed = False
        self.aborted = False
        self._resumed = asyncio.Event()
        if not stalled:
            self._resumed.set()

    def write(self, data: bytes) -> bool:
        if self.closed:
            return False
        self.chunks.append(data)
        if self.stalled:
            self.unsent += len(data)
        return self.unsent <= self.limit

    async def drain(self) -> None:
        await self._resumed.wait()

    def resume(self) -> None:
        """Start reading again: everything unsent counts as sent."""
        self.stalled = False
        self.unsent = 0
        self._resumed.set()

    @property
    def data(self) -> bytes:
        """Everything written so far."""
        return b"".join(self.chunks)

    def close(self, abort: bool = False) -> None:
        self.closed = True
        self.aborted = abort
        self._resumed.set()
