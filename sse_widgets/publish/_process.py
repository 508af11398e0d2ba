"""The process-wide transport: made on first use, replaced by connect(), renewed after fork, flushed at exit."""

from __future__ import annotations

import atexit
import os
import sys
import threading
import warnings

from .._warnings import SSEWidgetsWarning
from . import connection as _connection
from .connection import Connection
from .transport import FlushReport, Transport

#: How long the exit hook waits for queued events to reach the hub.
EXIT_TIMEOUT = 5.0

_lock = threading.Lock()
_transport: Transport | None = None
_resolved = False
#: Events given up because no hub is configured, reported by flush().
_no_hub_discarded = 0
_no_hub_warned = False

NO_HUB = "no hub configured"


def transport() -> Transport | None:
    """The transport to publish through, or None when no hub is configured."""
    t = _transport
    if t is not None or _resolved:
        return t
    return _resolve()


def _resolve() -> Transport | None:
    global _transport, _resolved
    conn = _connection.current()
    with _lock:
        if not _resolved:
            _transport = Transport(conn) if conn is not None else None
            _resolved = True
            if _transport is not None:
                _watch_multiprocessing_exit()
        return _transport


def use(conn: Connection | None) -> None:
    """Publish through ``conn`` from now on; the previous transport finishes its queue."""
    global _transport, _resolved
    _connection.set_current(conn)
    with _lock:
        old, _transport = _transport, (Transport(conn) if conn is not None else None)
        _resolved = True
    if old is not None:
        old.close()


def reset() -> None:
    """Forget the connection and transport (the old one finishes its queue); rediscover on next use."""
    global _transport, _resolved, _no_hub_discarded, _no_hub_warned
    with _lock:
        old, _transport, _resolved = _transport, None, False
        _no_hub_discarded, _no_hub_warned = 0, False
    _connection.reset()
    if old is not None:
        old.close()


def discard_without_hub(stacklevel: int) -> None:
    """Count an event that has nowhere to go, and say so once."""
    global _no_hub_discarded, _no_hub_warned
    _no_hub_discarded += 1
    if not _no_hub_warned:
        _no_hub_warned = True
        warnings.warn(
            "sse-widgets: no hub to publish to (SSE_WIDGETS_URL is not set and no single running "
            "Jupyter server was found), so metric and publish events are discarded. Run this in a "
            "kernel of a Jupyter server with sse-widgets installed, or call sw.connect(url, key).",
            SSEWidgetsWarning,
            stacklevel=stacklevel + 1,
        )


def emit_warning(t: Transport, stacklevel: int) -> None:
    """Raise the transport's pending warning in the caller's thread, once."""
    with _lock:
        message, t.warning = t.warning, None
    if message:
        warnings.warn(message, SSEWidgetsWarning, stacklevel=stacklevel + 1)


def flush(timeout: float | None) -> FlushReport:
    global _no_hub_discarded
    t = transport()
    report = t.flush(timeout) if t is not None else FlushReport()
    if _no_hub_discarded:
        report.dropped[NO_HUB] = _no_hub_discarded
        _no_hub_discarded = 0
    return report


def _after_fork_in_child() -> None:
    # The parent's sender thread does not exist here, its lock may be held and its socket
    # is shared with the parent: start afresh, with the same connection, and an empty queue.
    global _transport, _lock
    _lock = threading.Lock()
    old = _transport
    _transport = Transport(old.connection) if old is not None else None
    if _transport is not None:
        _watch_multiprocessing_exit()


def _watch_multiprocessing_exit() -> None:
    # multiprocessing children end with os._exit(), which skips atexit; their finalizers run.
    mp = sys.modules.get("multiprocessing")
    if mp is None or mp.parent_process() is None:
        return
    from multiprocessing import util

    util.Finalize(None, _at_exit, exitpriority=100)


def _at_exit() -> None:
    t = _transport
    if t is None:
        return
    report = t.flush(EXIT_TIMEOUT)
    if report.undelivered or report.dropped:
        warnings.warn(
            f"sse-widgets: at exit, events not delivered to {t.connection.url}: {report}",
            SSEWidgetsWarning,
            stacklevel=1,
        )


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
