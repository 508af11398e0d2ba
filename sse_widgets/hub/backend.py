"""The storage and fan-out interface behind the hub, so that history can live elsewhere.

The hub owns subscribers and writes bytes to them; a backend owns the sequence, the epoch
and the retained history, and tells its listener (the hub) of every appended event,
exactly once and in sequence order, and of every deleted channel. The in-memory backend
does so from ``append`` and ``delete``; a shared backend (Redis) does so from its reader,
so that what other server processes publish or delete reaches this process's streams.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
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


#: How long, and for how many requests, a backend remembers idempotency keys: a retry
#: within both gets the original ids instead of publishing again.
IDEMPOTENCY_TTL = 3600.0
IDEMPOTENCY_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class Replay:
    """Retained events after a cursor, in sequence order, and whether to reset first.

    A backend that reads history from elsewhere (Redis) gives the first page in
    ``events`` and the rest through ``more``: each call returns the next page, an empty
    list at the end, or raises ``ReplayInterrupted``. So a replaying stream holds one page,
    not the whole history.
    """

    events: list[Event]
    #: ``"epoch"`` (the cursor is from another history), ``"gap"`` (events after it were
    #: dropped), or None.
    reset: str | None = None
    more: Callable[[], Awaitable[list[Event]]] | None = None
    #: The hub-wide seq the replay covers: every matching event up to it is in the replay
    #: (None: unknown). Live events up to it need not be held while the replay is written.
    upto: int | None = None


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What the channel list endpoint shows for one channel."""

    name: str
    retained: int
    bytes: int
    first_id: str | None
    last_id: str | None


class BackendUnavailable(RuntimeError):
    """The backend cannot take or serve events right now (for example, Redis is down);
    a publish that raises this stored nothing."""


class OutcomeUnknown(BackendUnavailable):
    """A publish whose outcome cannot be known: it was sent to the backend but no answer
    came (a timeout, a dropped connection). Retried with the same idempotency key, it is
    stored at most once and answered with its ids."""


class IdempotencyConflict(ValueError):
    """An idempotency key came back on a request that is not the one it was first used on."""


class ReplayInterrupted(RuntimeError):
    """Events a replay had still to send were dropped meanwhile (trimmed, deleted, or
    Redis lost its data): the stream must end so that it reconnects to a reset."""


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
    async def append(self, drafts: list[Draft], idempotency_key: str | None = None) -> list[str]:
        """Give each draft the next id and store it; all or none (then raise). Return the
        ids once stored: that is when a publisher may be told they were accepted.

        A request with an ``idempotency_key`` seen recently (``IDEMPOTENCY_TTL``,
        ``IDEMPOTENCY_KEYS``) stores nothing and returns the first request's ids; with a
        different number of events it raises ``IdempotencyConflict``."""

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

    async def append(self, drafts: list[Draft], idempotency_key: str | None = None) -> list[str]:
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
