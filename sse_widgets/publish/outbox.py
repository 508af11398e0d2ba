"""The bounded, coalescing queue between the publishing calls and the sender thread."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any, NamedTuple, Union

#: A queued event: a dict the sender serialises, or JSON text already serialised.
Payload = Union[dict[str, Any], str]

QUEUE_FULL = "queue full (hub unreachable or too slow)"


class Item(NamedTuple):
    seq: int
    payload: Payload
    size: int


class Outbox:
    """Events waiting to be sent, in call order, within fixed bounds.

    Three lanes, each kept in ``seq`` order so that draining merges them back into call order:

    - *stream*: metrics and raw messages; when full the oldest are dropped (and counted);
    - *progress*: the latest running state per task, replacing the pending one (coalescing);
    - *urgent*: notifications and final progress states (done/failed/cancelled), which are
      never coalesced away; when even this lane is full, the caller is told (``put_urgent``
      returns False) so that it can warn instead of dropping silently.
    """

    def __init__(self, max_events: int = 10_000, max_bytes: int = 16 << 20, max_urgent: int = 10_000) -> None:
        if max_events < 1 or max_bytes < 1 or max_urgent < 1:
            raise ValueError("outbox bounds must be positive")
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.max_urgent = max_urgent
        self.lock = threading.Lock()
        self._seq = 0
        self._stream: deque[Item] = deque()
        self._stream_bytes = 0
        self._progress: dict[tuple[str, str], Item] = {}
        self._urgent: deque[Item] = deque()
        #: reason -> number of events dropped, since the last take_dropped().
        self.dropped: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._stream) + len(self._progress) + len(self._urgent)

    @property
    def last_seq(self) -> int:
        """Sequence number of the latest event accepted (0 before any)."""
        return self._seq

    # Callers hold self.lock around every put_* and drain; the transport takes it once per call.

    def put(self, payload: Payload, size: int) -> None:
        """Queue a droppable event (metric, message)."""
        self._seq += 1
        self._stream.append(Item(self._seq, payload, size))
        self._stream_bytes += size
        if len(self._stream) > self.max_events or self._stream_bytes > self.max_bytes:
            self._shed()

    def _shed(self) -> None:
        stream = self._stream
        while len(stream) > 1 and (len(stream) > self.max_events or self._stream_bytes > self.max_bytes):
            self._stream_bytes -= stream.popleft().size
            self.dropped[QUEUE_FULL] += 1

    def put_progress(self, key: tuple[str, str], payload: Payload, size: int) -> None:
        """Queue a running progress state, replacing the pending one of the same task."""
        self._seq += 1
        progress = self._progress
        if progress.pop(key, None) is None and len(progress) >= self.max_events:
            # More distinct tasks pending than the bound: forget the stalest running state.
            del progress[next(iter(progress))]
            self.dropped[QUEUE_FULL] += 1
        progress[key] = Item(self._seq, payload, size)

    def put_urgent(self, payload: Payload, size: int, supersedes: tuple[str, str] | None = None) -> bool:
        """Queue an event that must not be coalesced away; False (and nothing queued) when full."""
        if len(self._urgent) >= self.max_urgent:
            self.dropped[QUEUE_FULL] += 1
            return False
        if supersedes is not None:
            self._progress.pop(supersedes, None)
        self._seq += 1
        self._urgent.append(Item(self._seq, payload, size))
        return True

    def drain(self, max_events: int, max_bytes: int) -> list[Item]:
        """Remove and return the oldest events, in call order, up to the limits (at least one)."""
        out: list[Item] = []
        total = 0
        stream, urgent, progress = self._stream, self._urgent, self._progress
        while len(out) < max_events:
            best: Item | None = None
            lane = 0
            if stream:
                best, lane = stream[0], 1
            if urgent and (best is None or urgent[0].seq < best.seq):
                best, lane = urgent[0], 2
            if progress:
                head = progress[next(iter(progress))]
                if best is None or head.seq < best.seq:
                    best, lane = head, 3
            if best is None or (out and total + best.size > max_bytes):
                break
            if lane == 1:
                stream.popleft()
                self._stream_bytes -= best.size
            elif lane == 2:
                urgent.popleft()
            else:
                del progress[next(iter(progress))]
            out.append(best)
            total += best.size
        return out

    def clear(self) -> int:
        """Drop everything queued; return how many events that was."""
        n = len(self)
        self._stream.clear()
        self._stream_bytes = 0
        self._progress.clear()
        self._urgent.clear()
        return n

    def take_dropped(self) -> dict[str, int]:
        """Return and reset the drop counters."""
        out = dict(self.dropped)
        self.dropped.clear()
        return out
