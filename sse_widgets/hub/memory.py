"""The in-memory backend: one process, history bounded per channel and in total."""

from __future__ import annotations

import heapq
import secrets
import time
from bisect import bisect_right
from collections import OrderedDict, deque
from typing import Any

from .backend import (
    IDEMPOTENCY_KEYS,
    IDEMPOTENCY_TTL,
    Backend,
    ChannelInfo,
    IdempotencyConflict,
    Replay,
)
from .event import Cursor, Draft, Event
from .patterns import ChannelSet

_TOMBSTONE_LIMIT = 10_000


def _seq_of(event: Event) -> int:
    return event.seq


class _ChannelHistory:
    """One channel's retained events, oldest first, and what was dropped before them."""

    __slots__ = ("bytes", "dropped_through", "events")

    def __init__(self) -> None:
        self.events: deque[Event] = deque()
        self.bytes = 0
        self.dropped_through = 0

    def after(self, seq: int) -> list[Event]:
        events = self.events
        if not events or events[-1].seq <= seq:
            return []
        if events[0].seq > seq:
            return list(events)
        start = bisect_right(events, seq, key=_seq_of)
        return [events[i] for i in range(start, len(events))]


class MemoryBackend(Backend):
    """History kept in this process.

    Parameters
    ----------
    history_size, history_bytes
        Bounds on each channel's retained events, by count and by encoded bytes.
    max_channels, total_bytes
        Bounds on the whole history: past either, the channel published to least recently
        is dropped whole (its later cursors get a ``gap`` reset).
    """

    def __init__(
        self,
        history_size: int = 10_000,
        history_bytes: int = 4 << 20,
        max_channels: int = 1024,
        total_bytes: int = 256 << 20,
    ):
        if min(history_size, history_bytes, max_channels, total_bytes) < 1:
            raise ValueError("history bounds must be positive")
        if total_bytes < history_bytes:
            raise ValueError(
                f"total history bytes ({total_bytes}) must be at least one channel's "
                f"history bytes ({history_bytes})"
            )
        self.epoch = secrets.token_hex(4)
        self.history_size = history_size
        self.history_bytes = history_bytes
        self.max_channels = max_channels
        self.total_bytes = total_bytes
        self._seq = 0
        self._total = 0
        self._retained = 0
        self._channels: OrderedDict[str, _ChannelHistory] = OrderedDict()
        # Channels dropped whole: name -> last seq dropped, so that their old cursors
        # still get a gap reset. Bounded; what falls out raises the hub-wide floor.
        self._tombstones: OrderedDict[str, int] = OrderedDict()
        self._floor = 0
        self._evicted_channels = 0
        # Recent idempotency keys: key -> (ids, when), oldest first; bounded by count and age.
        self._recent: OrderedDict[str, tuple[list[str], float]] = OrderedDict()

    def _seen(self, key: str, count: int) -> list[str] | None:
        now = time.monotonic()
        while self._recent:
            oldest, (_, when) = next(iter(self._recent.items()))
            if now - when <= IDEMPOTENCY_TTL and len(self._recent) <= IDEMPOTENCY_KEYS:
                break
            del self._recent[oldest]
        seen = self._recent.get(key)
        if seen is None:
            return None
        if len(seen[0]) != count:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was used on a request of {len(seen[0])} event(s), "
                f"this one has {count}: use a new key for a new request"
            )
        return list(seen[0])

    async def append(self, drafts: list[Draft], idempotency_key: str | None = None) -> list[str]:
        if idempotency_key is not None:
            seen = self._seen(idempotency_key, len(drafts))
            if seen is not None:
                return seen
        ts = round(time.time(), 3)
        events = []
        for draft in drafts:
            self._seq += 1
            event = Event(self.epoch, self._seq, draft.channel, draft.type, ts, draft.data_json)
            self._store(event)
            events.append(event)
        self._enforce_totals(keep=events[-1].channel if events else None)
        if self.listener is not None and events:
            self.listener.deliver(events)
        ids = [event.id for event in events]
        if idempotency_key is not None:
            self._recent[idempotency_key] = (ids, time.monotonic())
        return ids

    def _store(self, event: Event) -> None:
        history = self._channels.get(event.channel)
        if history is None:
            history = self._channels[event.channel] = _ChannelHistory()
            history.dropped_through = self._tombstones.pop(event.channel, 0)
        else:
            self._channels.move_to_end(event.channel)
        cost = event.cost
        history.events.append(event)
        history.bytes += cost
        self._total += cost
        self._retained += 1
        events = history.events
        while len(events) > self.history_size or (history.bytes > self.history_bytes and len(events) > 1):
            dropped = events.popleft()
            history.bytes -= dropped.cost
            self._total -= dropped.cost
            self._retained -= 1
            history.dropped_through = dropped.seq

    def _enforce_totals(self, keep: str | None) -> None:
        while len(self._channels) > self.max_channels or self._total > self.total_bytes:
            name = next(iter(self._channels))
            if name == keep:
                break
            self._forget(name)
            self._evicted_channels += 1

    def _forget(self, name: str, through: int | None = None) -> None:
        history = self._channels.pop(name)
        self._total -= history.bytes
        self._retained -= len(history.events)
        if through is None:
            through = history.events[-1].seq if history.events else history.dropped_through
        self._tombstones[name] = through
        self._tombstones.move_to_end(name)
        while len(self._tombstones) > _TOMBSTONE_LIMIT:
            _, seq = self._tombstones.popitem(last=False)
            self._floor = max(self._floor, seq)

    def _reset_reason(self, channels: ChannelSet, cursor: Cursor, since: ChannelSet) -> str | None:
        if cursor.epoch is None:
            return None
        if cursor.epoch != self.epoch or cursor.seq > self._seq:
            return "epoch"
        after = cursor.seq
        if self._floor > after:
            return "gap"
        for name, history in self._channels.items():
            if history.dropped_through > after and channels.matches(name) and not since.matches(name):
                return "gap"
        for name, seq in self._tombstones.items():
            if seq > after and channels.matches(name) and not since.matches(name):
                return "gap"
        return None

    async def replay(self, channels: ChannelSet, cursor: Cursor | None, since: ChannelSet) -> Replay:
        reset = None if cursor is None else self._reset_reason(channels, cursor, since)
        after: int | None
        if cursor is None:
            after = None
        elif reset is not None:
            after = 0
        else:
            after = cursor.seq
        runs = []
        for name, history in self._channels.items():
            if not channels.matches(name):
                continue
            start = 0 if since.matches(name) else after
            if start is not None:
                run = history.after(start)
                if run:
                    runs.append(run)
        if len(runs) == 1:
            return Replay(runs[0], reset)
        return Replay(list(heapq.merge(*runs, key=_seq_of)), reset)

    async def history(self, channel: str, after: Cursor | None, limit: int) -> Replay:
        one = ChannelSet([channel])
        replay = await self.replay(one, after or Cursor(None, 0), ChannelSet([]))
        return Replay(replay.events[:limit], replay.reset)

    async def channels(self) -> list[ChannelInfo]:
        return [
            ChannelInfo(
                name=name,
                retained=len(h.events),
                bytes=h.bytes,
                first_id=h.events[0].id if h.events else None,
                last_id=h.events[-1].id if h.events else None,
            )
            for name, h in sorted(self._channels.items())
        ]

    async def delete(self, channel: str) -> bool:
        if channel not in self._channels:
            return False
        # A deletion takes a sequence number of its own, so that every cursor handed out
        # before it (even one at the very last event) is older and gets a gap reset.
        self._seq += 1
        self._forget(channel, through=self._seq)
        if self.listener is not None:
            self.listener.deleted(channel)
        return True

    def stats(self) -> dict[str, Any]:
        return {
            "backend": "memory",
            "epoch": self.epoch,
            "last_seq": self._seq,
            "channels": len(self._channels),
            "retained_events": self._retained,
            "retained_bytes": self._total,
            "evicted_channels": self._evicted_channels,
        }
