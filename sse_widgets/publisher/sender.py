"""The producer side both transports share: calls queue into one Outbox and wake one thread."""

from __future__ import annotations

import threading
import time
from typing import Any

from .outbox import FAST, Outbox, Payload

#: Pause after an unexpected error in the sender, so that a persistent one cannot spin.
CRASH_PAUSE = 0.1


class QueuedSender:
    """Queues events from any thread for one daemon sender thread (``_run``, in subclasses).

    Only an idle sender needs waking; a busy one drains the queue anyway. The sender sets
    ``_idle`` *before* it looks at the queue, so ``put`` (metric's path, which takes no
    lock) either sees ``_idle`` and wakes it, or the sender sees the event.

    The thread never dies of an error: ``_run`` is restarted after anything it raises,
    once ``_crashed`` has dropped (and counted) what it was sending and set one warning.
    A dead sender would leave every later call queueing into a queue nobody drains.
    """

    thread_name = "sse-widgets-sender"
    #: A message for the next publishing call to raise as SSEWidgetsWarning, once.
    warning: str | None = None
    _crash_warned = False

    def __init__(self, outbox: Outbox | None = None) -> None:
        self.outbox = outbox or Outbox()
        self._wake = threading.Condition(self.outbox.lock)  # the sender waits on this
        self._settle = threading.Condition(self.outbox.lock)  # flush()/wait() wait on this
        self._thread: threading.Thread | None = None
        self._idle = False
        self._closing = False

    def _kick(self) -> None:
        # Caller holds the lock.
        if self._idle:
            self._idle = False
            self._wake.notify()
        elif self._thread is None:
            self._start()

    def _go_idle(self) -> bool:
        """Mark the sender idle and disarm the fast lane; True if it was this sender's.

        The caller holds the lock and looks at the queue next (see FastLane); if it finds
        work after all, it calls ``_resume`` with what this returned.
        """
        self._idle = True
        armed = FAST.queue is self.outbox._metrics
        FAST.disarm(self.outbox)
        return armed

    def _resume(self, was_armed: bool) -> None:
        # Caller holds the lock. Re-arm only what was armed: only a publishing call arms a
        # lane first, for the process's current transport.
        self._idle = False
        if was_armed and not self._closing and self.warning is None:
            FAST.arm(self.outbox)

    def put_metric(self, channel: str, x: float | None, series: dict[str, Any]) -> None:
        """Queue a checked metric (the slow path of ``metric()``; its fast path appends itself)."""
        with self.outbox.lock:
            self.outbox.put_metric(channel, x, series)
            self._kick()

    def wake(self) -> None:
        """Wake the sender if idle (a fast-path metric found the lane disarmed after appending)."""
        with self.outbox.lock:
            self._kick()

    def arm(self) -> None:
        """Let ``metric()`` append to this sender's queue directly while the sender runs.

        Call only for the process's current transport. Not while a warning waits for the
        next publishing call to raise it, nor once ``close()`` was called.
        """
        with self.outbox.lock:
            if not self._idle and self._thread is not None and not self._closing and self.warning is None:
                FAST.arm(self.outbox)

    def put(self, payload: Payload, size: int) -> None:
        """Queue a droppable event (message, wide metric) without taking the lock."""
        self.outbox.put(payload, size)
        if self._idle or self._thread is None:
            with self.outbox.lock:
                self._kick()

    def put_progress(self, key: tuple[str, str], payload: Payload, size: int) -> None:
        """Queue a running progress state; a newer one of the same task replaces it."""
        with self.outbox.lock:
            self.outbox.put_progress(key, payload, size)
            self._kick()

    def put_urgent(self, payload: Payload, size: int, supersedes: tuple[str, str] | None = None) -> bool:
        """Queue an event that is never coalesced away; False (nothing queued) when full."""
        with self.outbox.lock:
            queued = self.outbox.put_urgent(payload, size, supersedes)
            self._kick()
        return queued

    def close(self) -> None:
        """Let the sender finish what is queued, then stop (e.g. when connect() replaces it)."""
        with self.outbox.lock:
            FAST.disarm(self.outbox)
            self._closing = True
            self._wake.notify()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._supervise, name=self.thread_name, daemon=True)
        self._thread.start()

    def _supervise(self) -> None:
        while True:
            try:
                self._run()
                return
            except Exception as exc:  # noqa: BLE001 - reported by _crashed; sending goes on
                self._crashed(exc)
                time.sleep(CRASH_PAUSE)

    def _run(self) -> None:
        raise NotImplementedError

    def _crashed(self, exc: Exception) -> None:
        """``_run`` raised ``exc``: warn once (subclasses also drop what was being sent)."""
        if not self._crash_warned:
            self._crash_warned = True
            FAST.disarm(self.outbox)  # so that the next call raises the warning
            self.warning = (
                f"sse-widgets: the background sender hit an unexpected error "
                f"({type(exc).__name__}: {exc}); the events it was sending are dropped and "
                "counted (sw.flush() reports them), and sending goes on. Please report this."
            )
