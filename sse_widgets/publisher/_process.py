"""The process-wide transport: made on first use, replaced by connect(), renewed after fork, flushed at exit.

Which one, decided once at first use: the hub's HTTP ``Transport`` when a hub is configured
(and, in a widget host, answers a quick probe); in a widget host (an IPython kernel, marimo:
``hosts.py``) with no reachable hub, the in-kernel ``LocalTransport`` (events go to this
process's widgets over their comm); in any other process with no hub, None (progress draws
text, other events are discarded). That last answer is asked again while it stands: in
``marimo run`` the first call may come from a plain thread, outside any session.
"""

from __future__ import annotations

import atexit
import itertools
import os
import sys
import threading
import warnings

from .._warnings import SSEWidgetsWarning
from . import connection as _connection
from . import hosts as _hosts
from .connection import Connection
from .hubclient import probe
from .local import LocalTransport
from .mirror import Mirror
from .outbox import FAST
from .transport import FlushReport, Transport

#: How long the exit hook waits for queued events to reach the hub.
EXIT_TIMEOUT = 5.0

#: How long the first publishing call in a kernel waits for the hub to answer the probe.
PROBE_TIMEOUT = 1.0

AnyTransport = Transport | LocalTransport | Mirror

_lock = threading.Lock()
_transport: AnyTransport | None = None
#: This process was forked from the one that imported us: never a kernel, whatever it imported.
_forked = False
_resolved = False
#: Events given up because no hub is configured, reported by flush().
_no_hub_discarded = 0
#: metric() calls discarded on the fast path with no hub (see discard_without_hub).
_no_hub_fast = itertools.count()
_no_hub_warned = False

NO_HUB = "no hub configured"


def transport() -> AnyTransport | None:
    """The transport to publish through, or None when there is nowhere to publish."""
    t = _transport
    if t is not None or (_resolved and widget_host() is None):
        return t
    return _resolve()


def local() -> LocalTransport | None:
    """The in-kernel transport when this kernel publishes to its own widgets, else None."""
    t = transport()
    if isinstance(t, Mirror):
        return t.local
    return t if isinstance(t, LocalTransport) else None


def mirror() -> LocalTransport | None:
    """In a kernel that publishes to a hub, also publish to its widgets from now on.

    For widgets whose page cannot reach the hub (they ask over the comm). Returns the
    in-kernel transport, or None outside a kernel.
    """
    global _transport
    current = local()
    host = widget_host()
    if current is not None or host is None:
        return current
    with _lock:
        t = _transport
        if isinstance(t, Transport):
            FAST.disarm()
            _transport = Mirror(t, LocalTransport(reason="the page cannot reach the hub", host=host))
    return local()


def widget_host() -> _hosts.WidgetHost | None:
    """The host that carries this process's widget messages (``hosts.py``), or None; imports nothing."""
    if _forked:
        return None
    return _hosts.current()


def _choose(conn: Connection | None) -> AnyTransport | None:
    host = widget_host()
    if host is None:
        return Transport(conn) if conn is not None else None
    # A host can fall back to its widgets' comm, so it checks that the hub answers before
    # relying on it: a remote or gateway kernel inherits a loopback URL it cannot reach,
    # and a server without the extension (standalone Voila) has no endpoint.
    why = "no hub configured" if conn is None else probe(conn, PROBE_TIMEOUT)
    if why is None:
        assert conn is not None
        return Transport(conn)
    return LocalTransport(reason=why, host=host)


def _resolve() -> AnyTransport | None:
    global _transport, _resolved
    conn = _connection.current()
    chosen = _choose(conn)  # outside the lock: the probe may take up to PROBE_TIMEOUT
    with _lock:
        if not _resolved or _transport is None:
            _transport = chosen
            _resolved = True
            if isinstance(_transport, Transport):
                _watch_multiprocessing_exit()
        elif chosen is not None:
            chosen.close()
        return _transport


def use(conn: Connection | None) -> None:
    """Publish through ``conn`` from now on; the previous transport finishes its queue."""
    global _transport, _resolved
    _connection.set_current(conn)
    with _lock:
        FAST.disarm()
        old, _transport = _transport, (Transport(conn) if conn is not None else None)
        _resolved = True
    if old is not None:
        old.close()


def reset() -> None:
    """Forget the connection and transport (the old one finishes its queue); rediscover on next use."""
    global _transport, _resolved, _no_hub_discarded, _no_hub_warned, _no_hub_fast
    with _lock:
        FAST.disarm()
        old, _transport, _resolved = _transport, None, False
        _no_hub_discarded, _no_hub_warned, _no_hub_fast = 0, False, itertools.count()
    _connection.reset()
    if old is not None:
        old.close()


def discard_without_hub(stacklevel: int, metric: bool = False) -> None:
    """Count an event that has nowhere to go, and say so once.

    For ``metric``, arm its fast path to discard too (and count) until a hub is set.
    """
    global _no_hub_discarded, _no_hub_warned
    _no_hub_discarded += 1
    if metric and _transport is None and _resolved and not _hosts.runtime_loaded():
        # Nowhere to publish, now or later (a marimo session thread may still find its
        # host, so where a host's runtime is loaded every call asks again).
        FAST.arm_nowhere(_no_hub_fast)
    if not _no_hub_warned:
        _no_hub_warned = True
        warnings.warn(
            "sse-widgets: no hub to publish to (SSE_WIDGETS_URL is not set and no single running "
            "Jupyter server was found), so metric and publish events are discarded. Run this in a "
            "kernel of a Jupyter server with sse-widgets installed, or call sw.connect(url, key).",
            SSEWidgetsWarning,
            stacklevel=stacklevel + 1,
        )


def emit_warning(t: AnyTransport, stacklevel: int) -> None:
    """Raise the transport's pending warning in the caller's thread, once."""
    with _lock:
        message, t.warning = t.warning, None
    if message:
        warnings.warn(message, SSEWidgetsWarning, stacklevel=stacklevel + 1)


def flush(timeout: float | None) -> FlushReport:
    global _no_hub_discarded, _no_hub_fast
    t = transport()
    report = t.flush(timeout) if t is not None else FlushReport()
    counted, _no_hub_fast = _no_hub_fast, itertools.count()
    _no_hub_discarded += next(counted)  # next() gives how many were taken before it
    if FAST.counter is counted:
        FAST.arm_nowhere(_no_hub_fast)
    if _no_hub_discarded:
        report.dropped[NO_HUB] = _no_hub_discarded
        _no_hub_discarded = 0
    return report


def _after_fork_in_child() -> None:
    # The parent's sender thread does not exist here, its lock may be held and its socket
    # is shared with the parent: start afresh, with the same connection, and an empty queue.
    # A kernel's comm belongs to the kernel: a forked child publishes as any worker does.
    global _transport, _lock, _forked, _resolved
    FAST.disarm()  # it points into the parent's queue
    _lock = threading.Lock()
    _forked = True
    old = _transport.hub if isinstance(_transport, Mirror) else _transport
    if isinstance(old, Transport):
        _transport = Transport(old.connection)
        _watch_multiprocessing_exit()
    elif isinstance(old, LocalTransport):
        _transport, _resolved = None, False  # rediscover, as a worker


def _watch_multiprocessing_exit() -> None:
    # multiprocessing children end with os._exit(), which skips atexit; their finalizers run.
    mp = sys.modules.get("multiprocessing")
    if mp is None or mp.parent_process() is None:
        return
    from multiprocessing import util

    util.Finalize(None, _at_exit, exitpriority=100)


def _at_exit() -> None:
    t = _transport.hub if isinstance(_transport, Mirror) else _transport
    if not isinstance(t, Transport):
        return  # a kernel shutting down has no frontend left to send its widgets anything
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
