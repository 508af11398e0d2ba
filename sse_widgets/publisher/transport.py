"""The per-process sender: a background thread that batches queued events into keep-alive POSTs."""

from __future__ import annotations

import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from .connection import Connection
from .encoding import to_json
from .hubclient import TRANSPORT_ERRORS, HubClient, Reply
from .outbox import FAST, Outbox, Payload
from .sender import QueuedSender

#: The hub's default ``max_event_bytes``; larger events are refused at the call site.
MAX_EVENT_BYTES = 64 * 1024
#: Well under the hub's ``max_request_bytes`` (4 MiB) and cheap for it to parse.
MAX_REQUEST_EVENTS = 1000
MAX_REQUEST_BYTES = 1 << 20
#: How long the sender waits after the first queued event, so that calls share a request.
LINGER = 0.05
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0

TOO_LARGE = f"event over {MAX_EVENT_BYTES // 1024} KiB"


@dataclass
class FlushReport:
    """What happened to queued events since the previous report.

    Attributes
    ----------
    delivered : int
        Events the hub accepted.
    undelivered : int
        Events still waiting (the hub could not be reached before the flush returned).
    dropped : dict[str, int]
        Events given up, by reason (queue full while the hub was away, rejected by the hub).
    error : str or None
        The latest delivery problem, if any.
    """

    delivered: int = 0
    undelivered: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing is waiting and nothing was dropped."""
        return self.undelivered == 0 and not self.dropped

    def __str__(self) -> str:
        text = f"{self.delivered} delivered, {self.undelivered} undelivered"
        if self.dropped:
            text += ", dropped: " + ", ".join(f"{n} ({why})" for why, n in self.dropped.items())
        if self.error:
            text += f"; last error: {self.error}"
        return text


def _new_key() -> str:
    return secrets.token_urlsafe(18)


def request_body(payloads: list[Payload]) -> bytes:
    """The JSON array of ``payloads``, serialised here, in the sender thread."""
    return ("[" + ",".join(map(to_json, payloads)) + "]").encode()


class Transport(QueuedSender):
    """Queues events from any thread and delivers them to the hub from one daemon thread."""

    def __init__(self, connection: Connection, outbox: Outbox | None = None, timeout: float = 10.0) -> None:
        super().__init__(outbox)
        self.connection = connection
        self._client = HubClient(connection, timeout=timeout)
        self._inflight: list[tuple[int, Payload]] = []
        # How _inflight is split into requests, with each one's idempotency key: a retry
        # resends exactly the same requests with the same keys, so that a request whose
        # answer was lost (a timeout, a 504) is stored once.
        self._plan: list[tuple[int, str]] = []
        self._flush_gen = 0  # flush requests made
        self._served_gen = 0  # flush requests an attempt has started for
        self._failed_gen = 0  # the flush request whose attempt failed last
        self.failures = 0  # consecutive failed attempts (drives the backoff)
        self._delivered = 0
        self._dropped: Counter[str] = Counter()
        self.last_error: str | None = None
        self._warned = False  # this outage has been reported
        #: A message for the next publishing call to raise as SSEWidgetsWarning, once.
        self.warning: str | None = None
        self._outage_warning: str | None = None

    # --- producer side (any thread; put, put_progress, put_urgent in QueuedSender) ------

    @property
    def healthy(self) -> bool:
        """False while the hub is unreachable or refusing (a backoff is running)."""
        return self.failures == 0

    def flush(self, timeout: float | None = 10.0) -> FlushReport:
        """wait(), then report what happened since the previous report."""
        self.wait(timeout)
        with self.outbox.lock:
            return self._report()

    def wait(self, timeout: float | None = 10.0) -> None:
        """Wait until what was queued before this call is delivered, an attempt fails, or timeout."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self.outbox.lock:
            target = self.outbox.mark()
            if self._pending_before(target):
                self._flush_gen += 1
                gen = self._flush_gen
                if self._thread is None:
                    self._start()
                self._idle = False
                self._wake.notify()
                while self._pending_before(target) and self._failed_gen < gen:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    self._settle.wait(remaining)

    def _pending_before(self, target: int) -> bool:
        if self._inflight and self._inflight[0][0] < target:
            return True
        oldest = self.outbox.oldest_seq()
        return oldest is not None and oldest < target

    def _report(self) -> FlushReport:
        dropped = Counter(self.outbox.take_dropped())
        dropped.update(self._dropped)
        self._dropped.clear()
        report = FlushReport(
            delivered=self._delivered,
            undelivered=len(self.outbox) + len(self._inflight),
            dropped=dict(dropped),
            error=self.last_error if self.failures or dropped else None,
        )
        self._delivered = 0
        return report

    # --- sender thread ------------------------------------------------------------------

    def _run(self) -> None:
        lock = self.outbox.lock
        while True:
            with lock:
                while True:
                    armed = self._go_idle()  # before looking: see FastLane
                    if self._inflight or len(self.outbox):
                        break
                    if self._closing:
                        self._client.close()
                        return
                    self._wake.wait()
                self._resume(armed)
                if self._closing and self.failures:
                    return  # replaced by connect() and the old hub is away: give up
                if self._served_gen == self._flush_gen:
                    # Nobody is waiting: give more calls a chance to share the request,
                    # or let the backoff run after a failure.
                    self._wake.wait(self._backoff() if self.failures else LINGER)
                attempt_gen = self._served_gen = self._flush_gen
                if not self._inflight:
                    batch = self.outbox.drain(MAX_REQUEST_EVENTS, MAX_REQUEST_BYTES)
                    self._inflight = [(seq, payload) for seq, payload, _ in batch]
                parts = self._inflight
            delivered = self._deliver(parts)
            with lock:
                if delivered:
                    self._inflight = []
                    self._plan = []
                else:
                    self._failed_gen = attempt_gen
                self._settle.notify_all()

    def _crashed(self, exc: Exception) -> None:
        with self.outbox.lock:
            self._dropped[f"sender error ({type(exc).__name__})"] += len(self._inflight)
            self._inflight = []
            self.failures += 1  # the next attempt waits a backoff
            self.last_error = f"unexpected error in the sender: {type(exc).__name__}: {exc}"
            self._failed_gen = self._flush_gen  # flush() returns with the report
            self._settle.notify_all()
            super()._crashed(exc)

    def _backoff(self) -> float:
        return float(min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** min(self.failures - 1, 16)))

    def _deliver(self, parts: list[tuple[int, Payload]]) -> bool:
        """Send ``parts``; True when each was delivered or given up, False to retry them later."""
        sendable = []
        for seq, payload in parts:
            # Text was sized at the call; an event built here that is too large gets the
            # hub's 413 and is found by splitting, as a bad one is.
            if isinstance(payload, str) and len(payload) * 4 > MAX_EVENT_BYTES and len(payload.encode()) > MAX_EVENT_BYTES:
                self._drop(TOO_LARGE, 1)
            else:
                sendable.append((seq, payload))
        plan = self._plan
        if sum(n for n, _ in plan) != len(sendable):
            plan = [(len(sendable), _new_key())] if sendable else []
        work: deque[tuple[list[tuple[int, Payload]], str]] = deque()
        start = 0
        for n, key in plan:
            work.append((sendable[start : start + n], key))
            start += n
        while work:
            chunk, key = work[0]
            body = request_body([payload for _, payload in chunk])
            try:
                reply = self._client.post(body, key)
            except TRANSPORT_ERRORS as exc:
                self._outage(f"cannot reach the hub at {self.connection.publish_url}: {str(exc) or type(exc).__name__}")
                self._keep(work)
                return False
            if reply.status == 200:
                work.popleft()
                self._delivered += len(chunk)
                self._recovered()
            elif reply.status in (400, 413, 500):
                # Publishing is atomic per request: find the bad event instead of losing all.
                # A 500 is the hub failing on what this request holds (an outage is a 503,
                # or no answer): retried as it is, it would fail forever and hold back
                # every event behind it.
                # The halves are new requests (nothing of this one was stored): new keys.
                work.popleft()
                if len(chunk) > 1:
                    half = len(chunk) // 2
                    work.extendleft([(chunk[half:], _new_key()), (chunk[:half], _new_key())])
                else:
                    verb = "failed on" if reply.status == 500 else "rejected by"
                    self._drop(f"{verb} the hub ({reply.status}: {reply.message})", 1)
            elif reply.status in (401, 403) or 300 <= reply.status < 400:
                count = sum(len(c) for c, _ in work)
                work.clear()
                self._drop(f"refused by the hub ({reply.status})", count)
                self._refused(reply)
            else:
                # 5xx, including 504 "outcome unknown": the same request, same key, later.
                self._outage(self._status_message(reply))
                self._keep(work)
                return False
        return True

    def _keep(self, work: deque[tuple[list[tuple[int, Payload]], str]]) -> None:
        with self.outbox.lock:
            self._inflight = [p for chunk, _ in work for p in chunk]
            self._plan = [(len(chunk), key) for chunk, key in work]

    def _drop(self, reason: str, count: int) -> None:
        with self.outbox.lock:
            self._dropped[reason] += count

    def _status_message(self, reply: Reply) -> str:
        url = self.connection.publish_url
        if reply.status == 404:
            return (
                f"no sse-widgets publish endpoint at {url} (404): is the sse-widgets server "
                "extension enabled in that Jupyter server (jupyter server extension list)?"
            )
        return f"the hub at {url} answered {reply.status}: {reply.message}"

    def _outage(self, message: str) -> None:
        self.failures += 1
        self.last_error = message
        self._warn(
            f"sse-widgets: {message}. Your code keeps running: events wait in a bounded queue "
            "(the oldest metrics are dropped when it fills) and are retried with backoff. Check "
            "that the Jupyter server is running with the sse-widgets extension, or point this "
            "process at a hub with sw.connect(url, key) or SSE_WIDGETS_URL and SSE_WIDGETS_KEY; "
            "sw.flush() reports what was not delivered."
        )

    def _refused(self, reply: Reply) -> None:
        self.failures += 1
        self.last_error = f"the hub at {self.connection.publish_url} refused the credential ({reply.status}: {reply.message})"
        self._warn(
            f"sse-widgets: {self.last_error}; events are dropped. The publish key changes each "
            "time the Jupyter server starts: restart this kernel, or set SSE_WIDGETS_KEY (or "
            f"sw.connect(url, key)) to the running server's key. Connection from {self.connection.source}."
        )

    def _recovered(self) -> None:
        self.failures = 0
        self._warned = False
        if self.warning is not None and self.warning is self._outage_warning:
            self.warning = None  # an outage over before anyone called in is not worth a warning

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            FAST.disarm(self.outbox)  # so that the next call raises the warning
            self.warning = self._outage_warning = message
