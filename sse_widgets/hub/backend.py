"""The storage and fan-out interface behind the hub, so that history can live elsewhere.

The hub owns subscribers and writes bytes to them; a backend owns the sequence, the epoch
and the retained history, and tells its listener (the hub) of every appended event,
exactly once and in sequence order, and of every deleted channel. The in-memory backend
does so from ``append`` and ``delete``; a shared backend (Redis) does so from its reader,
so that what other server processes publish or delete reaches this process's streams.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Protocol

from .event import Cursor, Draft, Event
from .patterns import ChannelSet


class BackendListener(Protocol):
    """What a backend reports to (implemented by the hub)."""

    def deliver(self, events: list[Event]) -> None:
        """New events, in sequence order, each exactly once."""

    def deleted(self, channel: str) -> None:
        """A channel's history was dropped by ``delete`` (here or in another process)."""

    def interrupted(self, reason: str) -> None:
        """Live delivery broke (e.g. Redis went away): open streams must reconnect and
        replay, since events may have been missed."""


@dataclass(frozen=True, slots=True)
class Replay:
    """Retained events after a cursor, in sequence order, and whether to reset first."""

    events: list[Event]
    #: ``"epoch"`` (the cursor is from another history), ``"gap"`` (events after it were
    #: dropped), or None.
    reset: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What the channel list endpoint shows for one channel."""

    name: str
    retained: int
    bytes: int
    first_id: str | None
    last_id: str | None


class BackendUnavailable(RuntimeError):
    """The backend cannot take or serve events right now (for example, Redis is down)."""


class Backend(abc.ABC):
    """History, ids and live delivery for one hub."""

    epoch: str
    listener: BackendListener | None = None

    def bind(self, listener: BackendListener) -> None:
        """Register the hub; called once, before ``start``."""
        self.listener = listener

    async def start(self) -> None:
        """Connect and begin delivering live events."""

    async def close(self) -> None:
        """Stop delivering and release connections."""

    @abc.abstractmethod
    async def append(self, drafts: list[Draft]) -> list[str]:
        """Give each draft the next id and store it; all or none (then raise). Return the
        ids once stored: that is when a publisher may be told they were accepted."""

    @abc.abstractmethod
    async def replay(self, channels: ChannelSet, cursor: Cursor | None, since: ChannelSet) -> Replay:
        """Retained events of ``channels`` after ``cursor`` (none if it is None); channels
        in ``since`` replay from their oldest retained event whatever the cursor."""

    @abc.abstractmethod
    async def history(self, channel: str, after: Cursor | None, limit: int) -> Replay:
        """At most ``limit`` retained events of one channel after ``after``, oldest first."""

    @abc.abstractmethod
    async def channels(self) -> list[ChannelInfo]:
        """Every channel with retained events."""

    @abc.abstractmethod
    async def delete(self, channel: str) -> bool:
        """Drop one channel's history; later cursors from before it get a ``gap`` reset."""

    @abc.abstractmethod
    def stats(self) -> dict[str, Any]:
        """Counters for the stats endpoint."""


class UnavailableBackend(Backend):
    """Stands in for a backend that cannot be made (e.g. its package is not installed):
    the hub's start fails with ``message``, so every request gets a 503 that says why."""

    epoch = "unavailable"

    def __init__(self, message: str):
        self.message = message

    async def start(self) -> None:
        raise BackendUnavailable(self.message)

    async def append(self, drafts: list[Draft]) -> list[str]:
        raise BackendUnavailable(self.message)

    async def replay(self, channels: ChannelSet, cursor: Cursor | None, since: ChannelSet) -> Replay:
        raise BackendUnavailable(self.message)

    async def history(self, channel: str, after: Cursor | None, limit: int) -> Replay:
        raise BackendUnavailable(self.message)

    async def channels(self) -> list[ChannelInfo]:
        raise BackendUnavailable(self.message)

    async def delete(self, channel: str) -> bool:
        raise BackendUnavailable(self.message)

    def stats(self) -> dict[str, Any]:
        return {"unavailable": self.message}
