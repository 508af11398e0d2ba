"""The bounded, coalescing queue between the publishing calls and the sender thread."""

from __future__ import annotations

import itertools
import threading
from collections import Counter, deque
from typing import Any

#: A queued event: a dict the sender serialises, or JSON text already serialised.
Payload = dict[str, Any] | str

QUEUE_FULL = "queue full (hub unreachable or too slow)"


#: ``(seq, payload, size)``: a plain tuple, as a NamedTuple costs several times more to make.
Item = tuple[int, Payload, int]


class Outbox:
    """Events waiting to be sent, in call order, within fixed bounds.

    Three lanes, each in ``seq`` order, so that draining merges them back into call order:

    - *stream*: metrics and raw messages; when full the oldest are dropped (and counted);
    - *progress*: the latest running state per task, replacing the pending one (coalescing);
    - *urgent*: notifications and final progress states (done/failed/cancelled), which are
      never coalesced away; bounded by count and by bytes like *stream*. When even this
      lane is full, the new event is not queued and the caller is told (``put_urgent``
      returns False) so that it can warn instead of dropping silently.
    """

    def __init__(
        self,
        max_events: int = 10_000,
        max_bytes: int = 16 << 20,
        max_urgent: int = 10_000,
        max_urgent_bytes: int = 16 << 20,
    ) -> None:
        if max_events < 1 or max_bytes < 1 or max_urgent < 1 or max_urgent_bytes < 1:
            raise ValueError("outbox bounds must be positive")
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.max_urgent = max_urgent
        self.max_urgent_bytes = max_urgent_bytes
        self.lock = threading.Lock()
        self._counter = itertools.count(1)
        self._stream: deque[Item] = deque()
        self._stream_bytes = 0
        self._progress: dict[tuple[str, str], Item] = {}
        self._urgent: deque[Item] = deque()
        self._urgent_bytes = 0
        #: reason -> number of events dropped, since the last take_dropped().
        self.dropped: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._stream) + len(self._progress) + len(self._urgent)

    def mark(self) -> int:
        """A number greater than the seq of every event queued before this call."""
        return next(self._counter)

    def oldest_seq(self) -> int | None:
        """The seq of the oldest queued event, None when empty (caller holds the lock)."""
        heads = [lane[0][0] for lane in (self._stream, self._urgent) if lane]
        if self._progress:
            heads.append(self._progress[next(iter(self._progress))][0])
        return min(heads) if heads else None

    def put(self, payload: Payload, size: int) -> None:
        """Queue a droppable event (metric, message). Lock-free: the hot path of metric()."""
        stream = self._stream
        stream.append((next(self._counter), payload, size))  # deque.append is atomic
        self._stream_bytes += size  # approximate under free threading; the count bound is exact
        if len(stream) > self.max_events or self._stream_bytes > self.max_bytes:
            with self.lock:
                self._shed()

    # Callers hold self.lock around put_progress, put_urgent and drain.

    def _shed(self) -> None:
        stream = self._stream
        while len(stream) > 1 and (len(stream) > self.max_events or self._stream_bytes > self.max_bytes):
            self._stream_bytes -= stream.popleft()[2]
            self.dropped[QUEUE_FULL] += 1

    def put_progress(self, key: tuple[str, str], payload: Payload, size: int) -> None:
        """Queue a running progress state, replacing the pending one of the same task."""
        progress = self._progress
        if progress.pop(key, None) is None and len(progress) >= self.max_events:
            # More distinct tasks pending than the bound: forget the stalest running state.
            del progress[next(iter(progress))]
            self.dropped[QUEUE_FULL] += 1
        progress[key] = (next(self._counter), payload, size)

    def put_urgent(self, payload: Payload, size: int, supersedes: tuple[str, str] | None = None) -> bool:
        """Queue an event that must not be coalesced away; False (and nothing queued) when full."""
        if len(self._urgent) >= self.max_urgent or (
            self._urgent and self._urgent_bytes + size > self.max_urgent_bytes
        ):
            self.dropped[QUEUE_FULL] += 1
            return False
        if supersedes is not None:
            self._progress.pop(supersedes, None)
        self._urgent.append((next(self._counter), payload, size))
        self._urgent_bytes += size
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
            if urgent and (best is None or urgent[0][0] < best[0]):
                best, lane = urgent[0], 2
            if progress:
                head = progress[next(iter(progress))]
                if best is None or head[0] < best[0]:
                    best, lane = head, 3
            if best is None or (out and total + best[2] > max_bytes):
                break
            if lane == 1:
                stream.popleft()
                self._stream_bytes -= best[2]
            elif lane == 2:
                urgent.popleft()
                self._urgent_bytes -= best[2]
            else:
                del progress[next(iter(progress))]
            out.append(best)
            total += best[2]
        return out

    def clear(self) -> int:
        """Drop everything queued; return how many events that was."""
        n = len(self)
        self._stream.clear()
        self._stream_bytes = 0
        self._progress.clear()
        self._urgent.clear()
        self._urgent_bytes = 0
        return n

    def take_dropped(self) -> dict[str, int]:
        """Return and reset the drop counters."""
        out = dict(self.dropped)
        self.dropped.clear()
        return out
