"""The producer side both transports share: calls queue into one Outbox and wake one thread."""

from __future__ import annotations

import threading

from .outbox import Outbox, Payload


class QueuedSender:
    """Queues events from any thread for one daemon sender thread (``_run``, in subclasses).

    Only an idle sender needs waking; a busy one drains the queue anyway. The sender sets
    ``_idle`` *before* it looks at the queue, so ``put`` (metric's path, which takes no
    lock) either sees ``_idle`` and wakes it, or the sender sees the event.
    """

    thread_name = "sse-widgets-sender"

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

    def put(self, payload: Payload, size: int) -> None:
        """Queue a droppable event (metric, message) without taking the lock."""
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
            self._closing = True
            self._wake.notify()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError
