"""The bounded, coalescing queue between the publishing calls and the sender thread."""

from __future__ import annotations

import itertools
import threading
from collections import Counter, deque
from typing import Any

#: ``(seq, channel, x, series)``: a metric as ``metric()`` queued it, values unchecked for NaN.
MetricItem = tuple[int, str, "float | int | None", dict[str, Any]]
#: A queued event: JSON text already serialised, a dict or a queued metric, which the
#: sender serialises (``encoding.to_json``).
Payload = dict[str, Any] | str | MetricItem

QUEUE_FULL = "queue full (hub unreachable or too slow)"

#: The most series a metric event may have to take the fast path (and its lane, which is
#: bounded by count only: this bounds its bytes too). Wider events go in the stream lane.
FAST_SERIES = 32


#: ``(seq, payload, size)``: a plain tuple, as a NamedTuple costs several times more to make.
Item = tuple[int, Payload, int]


class FastLane:
    """Where ``metric()`` may append without a lock or a call: an outbox's metric lane, or None.

    ``metric()`` checks its arguments' types, appends one tuple to ``queue`` and returns.
    The lane is *armed* (``arm``) by a publishing call's slow path, for the process's
    transport, once its sender thread runs; it is *disarmed* (``disarm``) by the sender just
    before it goes idle, so the next call takes the slow path and wakes it, and whenever a
    warning waits for the caller or the transport is replaced. A call that appended re-reads
    ``queue``: None means the sender may have gone idle meanwhile, and the call wakes it.
    (The sender disarms before it looks at the queue, so either it sees the event or the
    call sees the lane disarmed.)
    """

    __slots__ = ("counter", "limit", "queue")

    def __init__(self) -> None:
        self.queue: deque[MetricItem] | None = None
        self.limit = 0
        self.counter: itertools.count[int] = itertools.count()

    def arm(self, outbox: Outbox) -> None:
        self.limit = outbox.max_events
        self.counter = outbox._counter
        self.queue = outbox._metrics

    def arm_nowhere(self, counter: itertools.count[int]) -> None:
        """With no hub: appends are discarded at once, and ``counter`` counts them."""
        self.limit = 1
        self.counter = counter
        self.queue = deque(maxlen=0)

    def disarm(self, outbox: Outbox | None = None) -> None:
        """Disarm; with ``outbox``, only if it is that outbox's lane that is armed."""
        if outbox is None or self.queue is outbox._metrics:
            self.queue = None


#: The process's one fast lane (``metric()`` reads it on every call).
FAST = FastLane()


def metric_payload(channel: str, x: float | None, series: dict[str, Any]) -> dict[str, Any]:
    """The event a queued metric stands for."""
    return {"channel": channel, "type": "metric", "data": {"x": x, "values": series}}


def metric_size(channel: str, series: dict[str, Any]) -> int:
    """An estimate of a metric event's JSON size (for the outbox's and a request's byte limits)."""
    return 48 + len(channel) + 24 * len(series)


class Outbox:
    """Events waiting to be sent, in call order, within fixed bounds.

    Four lanes, each in ``seq`` order, so that draining merges them back into call order:

    - *metrics*: what ``metric()`` queued, as ``(seq, channel, x, series)`` tuples appended
      without a lock (see ``FastLane``); bounded by count; when full the oldest are dropped
      (and counted) by the next call, which then takes the slow path;
    - *stream*: raw messages and wide metrics; when full the oldest are dropped (and counted);
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
        self._metrics: deque[MetricItem] = deque()
        self._stream: deque[Item] = deque()
        self._stream_bytes = 0
        self._progress: dict[tuple[str, str], Item] = {}
        self._urgent: deque[Item] = deque()
        self._urgent_bytes = 0
        #: reason -> number of events dropped, since the last take_dropped().
        self.dropped: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._metrics) + len(self._stream) + len(self._progress) + len(self._urgent)

    def mark(self) -> int:
        """A number greater than the seq of every event queued before this call."""
        return next(self._counter)

    def oldest_seq(self) -> int | None:
        """The seq of the oldest queued event, None when empty (caller holds the lock)."""
        heads = [lane[0][0] for lane in (self._metrics, self._stream, self._urgent) if lane]
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

    # Callers hold self.lock around put_metric, put_progress, put_urgent and drain.

    def put_metric(self, channel: str, x: float | None, series: dict[str, Any]) -> None:
        """Queue a checked metric (at most ``FAST_SERIES`` series), dropping the oldest when full."""
        metrics = self._metrics
        while len(metrics) >= self.max_events:
            metrics.popleft()
            self.dropped[QUEUE_FULL] += 1
        metrics.append((next(self._counter), channel, x, series))

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
        """Remove and return the oldest events, in call order, up to the limits (at least one).

        Takes runs from one lane at a time (while its head is older than every other lane's),
        so the usual case, a queue of metrics only, is one loop over one deque.
        """
        out: list[Item] = []
        total = 0
        metrics, stream, urgent, progress = self._metrics, self._stream, self._urgent, self._progress
        never = float("inf")
        while len(out) < max_events:
            m = metrics[0][0] if metrics else never
            s = stream[0][0] if stream else never
            u = urgent[0][0] if urgent else never
            p = progress[next(iter(progress))][0] if progress else never
            first = min(m, s, u, p)
            if first == never:
                break
            if first == m:
                until = min(s, u, p)
                while metrics and metrics[0][0] < until and len(out) < max_events:
                    item = metrics[0]
                    size = metric_size(item[1], item[3])
                    if out and total + size > max_bytes:
                        return out
                    metrics.popleft()
                    out.append((item[0], item, size))
                    total += size
                continue
            lane = stream if first == s else urgent if first == u else None
            head = lane[0] if lane is not None else progress[next(iter(progress))]
            if out and total + head[2] > max_bytes:
                break
            if lane is stream:
                stream.popleft()
                self._stream_bytes -= head[2]
            elif lane is urgent:
                urgent.popleft()
                self._urgent_bytes -= head[2]
            else:
                del progress[next(iter(progress))]
            out.append(head)
            total += head[2]
        return out

    def clear(self) -> int:
        """Drop everything queued; return how many events that was."""
        n = len(self)
        self._metrics.clear()
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
