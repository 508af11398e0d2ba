"""Pending cancellations: what the dashboard asked to stop, until its process learns it.

A Stop click becomes a ``cancel`` event on the task's channel (``{"task": id}``), published
like any other. Every hub sees every event through its backend's listener (the memory
backend from ``append``, the Redis backend from its reader), so a cancellation made on
one server reaches the hub of the server the task's process polls, with nothing stored
beside the channel's history. This board is each hub's index of those events: a bounded
dict of ``(channel, task)`` to a sequence number and an expiry, and the waiters of the
publishers' long-polls, keyed by nothing more than the channels they follow.

Bounds: at most ``max_pending`` entries (the oldest goes first), each kept for ``ttl``
seconds or until the task's final ``progress`` state arrives; at most ``max_waiters``
long-polls at once. Memory-only in the sense that a server restarting forgets pending
cancellations it had indexed; the events themselves stay in the channel's history.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable

from .event import Event

#: Seconds a cancellation waits for its task's process to pick it up.
CANCEL_TTL = 120.0
MAX_PENDING = 10_000
MAX_WAITERS = 2_000
FINISHED = frozenset({"done", "failed", "cancelled"})


class CancelBoard:
    """Pending cancellations by ``(channel, task)``, and the long-polls waiting for them."""

    def __init__(self, ttl: float = CANCEL_TTL, max_pending: int = MAX_PENDING, max_waiters: int = MAX_WAITERS):
        self.ttl = ttl
        self.max_pending = max_pending
        self.max_waiters = max_waiters
        self._seq = itertools.count(1)
        self._last = 0
        #: Names this board: a poll's ``after`` counts only on the board that numbered it.
        self.board_id = secrets.token_hex(4)
        self._pending: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()
        self._waiters: dict[asyncio.Future[None], frozenset[str]] = {}
        #: Channels with a pending cancellation: the only ones whose progress events are read.
        self._channels: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def seq(self) -> int:
        """The sequence number the next cancellation will exceed (a poll's ``after``)."""
        return self._last

    def pending(self, channel: str, task: str) -> bool:
        self._expire()
        return (channel, task) in self._pending

    def observe(self, events: Iterable[Event]) -> None:
        """Backend events: index ``cancel`` events, forget tasks that reached a final state."""
        woke: set[str] = set()
        for event in events:
            if event.type == "cancel":
                task = _task_of(event)
                if task is not None and self._add(event.channel, task):
                    woke.add(event.channel)
            elif event.type == "progress" and event.channel in self._channels:
                data = event.to_dict().get("data")
                if isinstance(data, dict) and data.get("status") in FINISHED:
                    self._remove((event.channel, str(data.get("task"))))
        if woke:
            for future, channels in list(self._waiters.items()):
                if not future.done() and not channels.isdisjoint(woke):
                    future.set_result(None)

    def _add(self, channel: str, task: str) -> bool:
        key = (channel, task)
        if key in self._pending:
            return False  # a second click: the first one stands
        self._expire()
        while len(self._pending) >= self.max_pending:
            self._remove(next(iter(self._pending)))
        self._last = next(self._seq)
        self._pending[key] = (self._last, time.monotonic() + self.ttl)
        self._channels[channel] = self._channels.get(channel, 0) + 1
        return True

    def _remove(self, key: tuple[str, str]) -> None:
        if self._pending.pop(key, None) is not None:
            left = self._channels[key[0]] - 1
            if left:
                self._channels[key[0]] = left
            else:
                del self._channels[key[0]]

    def _expire(self) -> None:
        now = time.monotonic()
        while self._pending:
            key, (_, expiry) = next(iter(self._pending.items()))
            if expiry > now:
                break
            self._remove(key)

    def matching(self, channels: frozenset[str], after: int) -> list[dict[str, object]]:
        """Pending cancellations on ``channels`` numbered above ``after``."""
        self._expire()
        return [
            {"channel": channel, "task": task, "seq": seq}
            for (channel, task), (seq, _) in self._pending.items()
            if seq > after and channel in channels
        ]

    async def wait(self, channels: frozenset[str], after: int, timeout: float) -> list[dict[str, object]]:
        """Cancellations on ``channels`` above ``after``: now if any, else within ``timeout``."""
        found = self.matching(channels, after)
        if found or timeout <= 0:
            return found
        if len(self._waiters) >= self.max_waiters:
            raise OverflowError(f"{len(self._waiters)} cancellation polls are open already (max_waiters)")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[future] = channels
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            del self._waiters[future]
        return self.matching(channels, after)

    def close(self) -> None:
        """Answer every open poll now (the server is stopping)."""
        for future in self._waiters:
            if not future.done():
                future.set_result(None)

    def stats(self) -> dict[str, int]:
        return {"cancels_pending": len(self._pending), "cancel_polls": len(self._waiters)}


def _task_of(event: Event) -> str | None:
    data = event.to_dict().get("data")
    task = data.get("task") if isinstance(data, dict) else None
    return task if isinstance(task, str) and task else None
