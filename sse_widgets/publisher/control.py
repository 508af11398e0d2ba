"""The control path for Stop: while this process runs cancellable tasks, one thread long-polls the hub.

Why a separate thread and a long-poll. A Stop click must reach a process whose main
thread is busy in the user's loop, so only a background thread can hear it, and it must
hear it within a second whatever the loop publishes: a task whose items take minutes
publishes nothing meanwhile, so answers piggybacked on publish requests would come too
late. The sender thread cannot hold the poll either, since it would stop publishing for
as long as the poll waits. So this module's thread keeps one ``GET sse-widgets/api/cancel``
open (``wait`` = ``POLL_WAIT`` seconds) naming the channels of this process's running
cancellable tasks; the hub answers at once when a ``cancel`` event for one of those
channels arrives (``sse_widgets.hub.cancels``), or empty when the wait ends, and the
thread asks again. A reply costs one request per ``POLL_WAIT`` seconds while idle.

What a loop pays: nothing per item. ``progress`` checks one attribute at the end of each
chunk of items it delegates to the wrapped iterator (chunks last about ``mininterval``),
and the thread sets that attribute. The thread exists only while a cancellable task runs:
the first one starts it, and when the last one ends the open poll is cut (its socket shut
down from the ending thread) and the thread closes its connection and returns. A task on
a channel the open poll does not name cuts it the same way, so that the next poll names it.

Replies number the cancellations (``seq``, on a board named by ``board``); the thread asks
for those above the highest it has seen, so a pending cancellation of another process's
task on the same channel is not answered again and again. A process forked while the
thread runs starts with no thread and no tasks (``os.register_at_fork``).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import threading
import warnings
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from .. import protocol
from .._warnings import SSEWidgetsWarning
from .connection import Connection
from .hubclient import TRANSPORT_ERRORS

if TYPE_CHECKING:
    from .progress import progress

#: Seconds the hub holds one poll open when nothing is stopped.
POLL_WAIT = 20.0
#: Pause after a failed poll, doubled up to RETRY_MAX while the hub stays away.
RETRY_FIRST = 0.5
RETRY_MAX = 10.0
STOP_MESSAGE = "stopped from the dashboard"


class Cancelled(KeyboardInterrupt):
    """Raised in a ``progress`` loop whose task was stopped from the dashboard.

    A subclass of ``KeyboardInterrupt``, like Ctrl-C and Jupyter's interrupt button, and
    for the same reason: ``except Exception`` clauses in user code and libraries (retry
    loops, "log and continue" handlers) must not swallow a request to stop. Catch it by
    name (``except sw.Cancelled``) where stopping should end quietly.
    """

    def __init__(self, task: str = "", message: str = STOP_MESSAGE) -> None:
        super().__init__(message)
        self.task = task

    def __str__(self) -> str:
        return STOP_MESSAGE if not self.args else str(self.args[0])


class _Watch:
    """This process's cancellable tasks and the thread that polls for their stop requests."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bars: dict[tuple[str, str], progress] = {}
        self.connection: Connection | None = None
        self.thread: threading.Thread | None = None
        self.polling: frozenset[str] = frozenset()  # channels the open poll names
        self.stale = False  # the open poll names the wrong channels, or no task is left
        self.sock: socket.socket | None = None
        self.wake = threading.Event()
        self.after = 0
        self.board = ""
        self.failures = 0

    def add(self, bar: progress, connection: Connection) -> None:
        with self.lock:
            self.bars[(bar.channel, bar.task)] = bar
            if connection != self.connection:
                self.connection = connection
                self._cut()
            elif bar.channel not in self.polling:
                self._cut()
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="sse-widgets-cancel", daemon=True)
                self.thread.start()

    def remove(self, bar: progress) -> None:
        with self.lock:
            if self.bars.get((bar.channel, bar.task)) is bar:
                del self.bars[(bar.channel, bar.task)]
                if not self.bars:
                    self._cut()

    def _cut(self) -> None:
        # Caller holds the lock. Shutting the socket down makes the thread's blocked read
        # return at once; a poll not yet sent sees ``stale`` first.
        self.stale = True
        self.wake.set()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the other side

    def _run(self) -> None:
        conn: http.client.HTTPConnection | None = None
        try:
            while True:
                with self.lock:
                    if not self.bars:
                        self.thread = None
                        return
                    channels = frozenset(channel for channel, _ in self.bars)
                    self.polling, self.stale = channels, False
                    target = self.connection
                    self.wake.clear()
                if target is None:
                    return
                try:
                    if conn is None:
                        conn = _open(target)
                        conn.connect()
                    with self.lock:
                        if self.stale:
                            continue
                        self.sock = conn.sock
                    status, body = self._poll(conn, target, channels)
                except TRANSPORT_ERRORS:
                    if conn is not None:
                        conn.close()
                        conn = None
                    with self.lock:
                        self.sock = None
                        if self.stale:
                            continue  # cut on purpose: poll again right away
                    self._pause()
                    continue
                with self.lock:
                    self.sock = None
                if status == 200 and isinstance(body, dict):
                    self.failures = 0
                    self._take(body)
                else:
                    # 403 (no right to poll), 404 (a server without this endpoint): Stop
                    # cannot reach this process; keep trying slowly, loops run on.
                    self._pause(RETRY_MAX)
        finally:
            if conn is not None:
                conn.close()
            with self.lock:
                self.sock = None
                if self.thread is threading.current_thread():
                    self.thread = None

    def _poll(
        self, conn: http.client.HTTPConnection, target: Connection, channels: frozenset[str]
    ) -> tuple[int, object]:
        query = urlencode(
            [("channel", c) for c in sorted(channels)]
            + [("after", str(self.after)), ("board", self.board), ("wait", str(POLL_WAIT))]
        )
        path = urlsplit(target.url + protocol.CANCEL_PATH).path + "?" + query
        headers = {"Accept": "application/json", "User-Agent": "sse-widgets-publisher", **target.headers()}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if response.will_close:
            conn.close()
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, None

    def _pause(self, seconds: float | None = None) -> None:
        if seconds is None:
            self.failures += 1
            seconds = min(RETRY_MAX, RETRY_FIRST * 2 ** min(self.failures - 1, 8))
        self.wake.wait(seconds)  # ends early when a task starts or the last one ends

    def _take(self, body: dict[str, object]) -> None:
        board = body.get("board")
        if isinstance(board, str) and board != self.board:
            self.board, self.after = board, 0
        items = body.get("cancel")
        if not isinstance(items, list):
            return
        stopped = []
        with self.lock:
            for item in items:
                if not isinstance(item, dict):
                    continue
                seq = item.get("seq")
                if isinstance(seq, int) and seq > self.after:
                    self.after = seq
                bar = self.bars.get((str(item.get("channel")), str(item.get("task"))))
                if bar is not None:
                    stopped.append(bar)
            # Bars nested under a stopped one stop with it.
            for bar in list(self.bars.values()):
                if bar not in stopped and any(p in stopped for p in _ancestors(bar)):
                    stopped.append(bar)
        for bar in stopped:
            _request_stop(bar)


def _ancestors(bar: progress) -> list[progress]:
    out: list[progress] = []
    parent = bar._parent_bar
    while parent is not None and len(out) < 64:
        out.append(parent)
        parent = parent._parent_bar
    return out


def _request_stop(bar: progress) -> None:
    if bar._cancel_requested:
        return
    bar._cancel_requested = True
    callback = bar._on_cancel
    if callback is not None:
        try:
            callback(bar)
        except Exception as exc:  # noqa: BLE001 - the user's callback; the stop stands
            warnings.warn(
                f"sse-widgets: on_cancel for task {bar.task!r} raised {type(exc).__name__}: {exc}",
                SSEWidgetsWarning,
                stacklevel=1,
            )


def _open(target: Connection) -> http.client.HTTPConnection:
    parts = urlsplit(target.url)
    timeout = POLL_WAIT + 10.0
    if parts.scheme == "https":
        return http.client.HTTPSConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)


_watch = _Watch()


def _after_fork() -> None:
    global _watch
    _watch = _Watch()


os.register_at_fork(after_in_child=_after_fork)


def watch(bar: progress, connection: Connection) -> None:
    """Hear stop requests for ``bar`` until ``unwatch(bar)``."""
    _watch.add(bar, connection)


def unwatch(bar: progress) -> None:
    _watch.remove(bar)


def watching() -> bool:
    """True while the poll thread runs (for tests: no task, no thread, no connection)."""
    return _watch.thread is not None
