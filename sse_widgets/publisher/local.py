"""The in-kernel transport: with no hub, events go to this process's widgets over their comm, paced under IOPub's limit.

Same calls, same queue (``Outbox``: throttled, coalescing, bounded), a different sender: a
daemon thread that numbers the queued events in a ``KernelHistory`` and sends each widget
whose channels match them ONE custom message per tick, carrying every new event as a JSON
array in a binary buffer. Ticks are paced so that the messages of all widgets together
stay far below the kernel's IOPub rate limit (1,000 messages/s, counted by the Jupyter
server): whatever the call rate, a widget gets at most ``1 / MIN_INTERVAL`` messages/s.

Where the widgets live is the transport's ``host`` (``hosts.py``: an IPython kernel,
marimo), which sends each message; the pacing is the IOPub one because that is the
strictest host's limit. This module is stdlib only. Widgets plug in through the ``Sink``
protocol (``sse_widgets/widgets/_comm.py``, which sends through ``host``), so a plain
script or worker never imports ipykernel, marimo or anywidget because of it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .hosts import IPythonKernel, WidgetHost
from .kernelhistory import KernelHistory, NotEncodable, Record
from .outbox import Outbox, Payload
from .sender import QueuedSender
from .transport import FlushReport

#: Shortest time between two ticks: at most this many messages per widget per second.
MIN_INTERVAL = 0.05
#: Messages per second for all widgets together, well under IOPub's 1,000/s: the kernel
#: and the frontend need the rest (status, streams, trait echoes).
MESSAGES_PER_SECOND = 400
#: Queued events taken per tick, by the outbox's estimate; the rest waits for the next one.
TICK_EVENTS = 50_000
TICK_BYTES = 8 << 20
#: Largest replay (history sent to a widget that joins); the newest events that fit.
MAX_REPLAY_BYTES = 8 << 20
#: Channels whose match result a sink remembers.
MATCH_CACHE = 4096

NOT_JSON = "not strict JSON (NaN, infinity or a non-JSON value)"


def tick_delay(
    messages: int, min_interval: float = MIN_INTERVAL, messages_per_second: float = MESSAGES_PER_SECOND
) -> float:
    """Seconds from the end of a tick to the earliest start of the next one.

    Parameters
    ----------
    messages
        Messages the tick sent (at most one per widget).
    min_interval, messages_per_second
        The pacing limits (``MIN_INTERVAL``, ``MESSAGES_PER_SECOND`` by default).

    Returns
    -------
    float
        ``max(min_interval, messages / messages_per_second)``: a widget gets at most one
        message per ``min_interval``, and all widgets together at most
        ``messages_per_second``, since the next tick waits for what this one sent.
    """
    return max(min_interval, messages / messages_per_second)


class Sink(Protocol):
    """A widget of this kernel, as the sender sees it."""

    def matches(self, channel: str) -> bool:
        """True when the widget follows ``channel``."""

    def send(self, content: dict[str, Any], payload: bytes) -> bool:
        """Send one custom message (``payload`` as its binary buffer); False when gone."""


@dataclass
class _Link:
    sink: Sink
    gen: int = 0  # bumped by every replay request; the frontend follows the newest
    n: int = 0  # messages sent in this generation (0 is the replay)
    replay: bool = True  # a replay is due: the widget just joined, or asked for one
    cache: dict[str, bool] = field(default_factory=dict)

    def matches(self, channel: str) -> bool:
        hit = self.cache.get(channel)
        if hit is None:
            if len(self.cache) >= MATCH_CACHE:
                self.cache.clear()
            hit = self.cache[channel] = bool(self.sink.matches(channel))
        return hit


def _message(history: KernelHistory, link: _Link, records: list[Record], replay: bool) -> tuple[dict[str, Any], bytes]:
    content = {"kind": "events", "epoch": history.epoch, "gen": link.gen, "n": link.n, "replay": replay}
    link.n += 1
    payload = ("[" + ",".join(text for _, text in records) + "]").encode()
    return content, payload


class LocalTransport(QueuedSender):
    """Queues events from any thread; a daemon thread numbers them and sends them to widgets.

    It has the producer interface of ``Transport`` (``put``, ``put_progress``,
    ``put_urgent``, ``wait``, ``flush``, ``healthy``, ``warning``), so the publishing calls
    need no second code path. ``connection`` is None: there is no hub. ``host`` is the
    runtime whose frontends carry the messages (an IPython kernel unless told).
    """

    connection = None
    thread_name = "sse-widgets-comm-sender"

    def __init__(
        self,
        outbox: Outbox | None = None,
        history: KernelHistory | None = None,
        min_interval: float = MIN_INTERVAL,
        messages_per_second: float = MESSAGES_PER_SECOND,
        reason: str = "",
        clock: Callable[[], float] = time.monotonic,
        host: WidgetHost | None = None,
    ) -> None:
        if min_interval < 0 or messages_per_second <= 0:
            raise ValueError("min_interval must be >= 0 and messages_per_second > 0")
        super().__init__(outbox)
        self.history = history or KernelHistory()
        self.min_interval = min_interval
        self.messages_per_second = messages_per_second
        #: Why there is no hub (for connection_info and messages).
        self.reason = reason
        #: Where the widgets are shown; their sinks send through it.
        self.host: WidgetHost = host if host is not None else IPythonKernel()
        self._links_lock = threading.Lock()
        self._links: dict[Sink, _Link] = {}
        self._in_tick = False
        self._replays_due = False
        #: The pacing clock (seconds); tests pass a fake one to check the computed delays.
        self.clock = clock
        #: When the next tick may start, on ``clock``: the end of the last tick plus its
        #: ``tick_delay``. Set before ``wait()``/``flush()`` see that tick done.
        self.next_tick = 0.0
        self._delivered = 0
        self._dropped: Counter[str] = Counter()
        #: Messages sent to widgets so far (a test and debugging aid).
        self.messages = 0
        self.warning: str | None = None
        self.failures = 0
        self.last_error: str | None = None

    # --- widgets --------------------------------------------------------------------

    def attach(self, sink: Sink) -> None:
        """Start sending ``sink`` events; its first message replays the history it follows."""
        with self._links_lock:
            self._links[sink] = _Link(sink)
        self._request_tick()

    def detach(self, sink: Sink) -> None:
        with self._links_lock:
            self._links.pop(sink, None)

    def replay(self, sink: Sink) -> None:
        """Send ``sink`` what it follows from the history again (its frontend asked, or its channels changed)."""
        with self._links_lock:
            link = self._links.get(sink)
            if link is None:
                self._links[sink] = _Link(sink)
            else:
                link.gen += 1
                link.n = 0
                link.replay = True
                link.cache.clear()
        self._request_tick()

    def watched(self, channel: str) -> bool:
        """True when a widget of this kernel follows ``channel``."""
        with self._links_lock:
            links = list(self._links.values())
        return any(link.matches(channel) for link in links)

    def _request_tick(self) -> None:
        with self.outbox.lock:
            self._replays_due = True
            self._kick()

    # --- producer side (any thread), as Transport -----------------------------------

    @property
    def healthy(self) -> bool:
        return True

    def wait(self, timeout: float | None = 10.0) -> None:
        """Wait until what was queued before this call is in the history and sent, or timeout."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self.outbox.lock:
            target = self.outbox.mark()
            while self._in_tick or self._queued_before(target):
                if self._thread is None:
                    self._start()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._settle.wait(remaining)

    def _queued_before(self, target: int) -> bool:
        oldest = self.outbox.oldest_seq()
        return oldest is not None and oldest < target

    def flush(self, timeout: float | None = 10.0) -> FlushReport:
        """wait(), then report what happened since the previous report."""
        self.wait(timeout)
        with self.outbox.lock:
            dropped = Counter(self.outbox.take_dropped())
            dropped.update(self._dropped)
            self._dropped.clear()
            report = FlushReport(delivered=self._delivered, undelivered=len(self.outbox), dropped=dict(dropped))
            self._delivered = 0
        return report

    # --- sender thread ----------------------------------------------------------------

    def _run(self) -> None:
        lock = self.outbox.lock
        while True:
            with lock:
                while True:
                    armed = self._go_idle()  # before looking: see FastLane
                    if len(self.outbox) or self._replays_due:
                        break
                    if self._closing:
                        return
                    self._wake.wait()
                self._resume(armed)
                # Pacing: a burst that arrives while we wait shares the next tick.
                while (delay := self.next_tick - self.clock()) > 0 and not self._closing:
                    self._wake.wait(delay)
                self._idle = False
                batch = self.outbox.drain(TICK_EVENTS, TICK_BYTES)
                self._replays_due = False
                self._in_tick = True
            sent = 0
            try:
                sent = self._tick([payload for _, payload, _ in batch])
            finally:
                with lock:
                    self.next_tick = self.clock() + tick_delay(sent, self.min_interval, self.messages_per_second)
                    self._in_tick = False
                    self._settle.notify_all()

    def _tick(self, payloads: list[Payload]) -> int:
        """Record ``payloads``, then send each widget its replay or its new events; return messages sent."""
        history = self.history
        now = time.time()
        fresh: list[tuple[str, Record]] = []
        recorded = 0
        for payload in payloads:
            try:
                channel, record = history.append(payload, now)
            except NotEncodable:
                self._drop(NOT_JSON)
                continue
            fresh.append((channel, record))
            recorded += 1
        messages: list[tuple[_Link, dict[str, Any], bytes]] = []
        with self._links_lock:
            for link in self._links.values():
                if link.replay:
                    link.replay = False
                    records = history.retained(link.matches, MAX_REPLAY_BYTES)
                    messages.append((link, *_message(history, link, records, replay=True)))
                    continue
                mine = [record for channel, record in fresh if link.matches(channel)]
                if mine:
                    messages.append((link, *_message(history, link, mine, replay=False)))
        gone = []
        for link, content, body in messages:
            try:
                sent = link.sink.send(content, body)
            except Exception as exc:  # noqa: BLE001 - one broken widget must not stop the others' events
                self.last_error = f"sending events to a widget failed: {type(exc).__name__}: {exc}"
                sent = False
            if not sent:
                gone.append(link.sink)
        for sink in gone:
            self.detach(sink)
        with self.outbox.lock:
            self._delivered += recorded
        self.messages += len(messages)
        return len(messages)

    def _drop(self, reason: str) -> None:
        with self.outbox.lock:
            self._dropped[reason] += 1
