"""The storage and fan-out interface behind the hub, so that history can live elsewhere.

The hub owns subscribers and writes bytes to them; a backend owns the sequence, the epoch
and the retained history, and hands every appended event to the hub's ``deliver``
callback exactly once and in sequence order. The in-memory backend calls it from
``append``; a shared backend (Redis) calls it from its reader, so that events appended by
other server processes reach this process's subscribers too.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .event import Cursor, Draft, Event
from .patterns import ChannelSet

Deliver = Callable[[list[Event]], None]


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
    deliver: Deliver | None = None

    def bind(self, deliver: Deliver) -> None:
        """Register the hub's callback for live events; called once, before ``start``."""
        self.deliver = deliver

    async def start(self) -> None:
        """Connect and begin delivering live events."""

    async def close(self) -> None:
        """Stop delivering and release connections."""

    @abc.abstractmethod
    async def append(self, drafts: list[Draft]) -> list[Event]:
        """Give each draft the next id and store it; all of them, or none (then raise)."""

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
