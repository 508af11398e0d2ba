"""What every integration shares: one training run's bars, metric points and final toast.

Frameworks tell a callback when training starts, steps and ends, but not when it stops by
an exception: the end hook is simply never called (Keras, XGBoost, transformers), or, for
LightGBM's early stopping, training ends without any hook. A run that is still open
learns how it ended from where the exception surfaced: IPython's ``post_run_cell`` in a
kernel, ``sys.excepthook`` in a script. It then ends ``failed`` with the exception's
message (``cancelled`` for Ctrl-C) and says so in a toast. A run still open when its cell
or script ends without an exception was stopped by one that was caught: it ends
``failed`` ("stopped before the end"), except where the framework gives no end hook
(``ends_unseen``), which ends ``done``. Runs started in another thread are left alone.
"""

from __future__ import annotations

import atexit
import math
import sys
import threading
from collections.abc import Mapping
from types import FrameType, TracebackType
from typing import Any, NamedTuple

from ..publisher import events
from ..publisher.progress import AUTO, progress

METRIC_CHANNEL = "train"
NOTIFY_CHANNEL = events.NOTIFY_CHANNEL
#: Series per metric point; a framework's logs past this are not charted.
MAX_SERIES = 64

_lock = threading.Lock()
_open: list[Run] = []
_hooked = False


def numbers(values: Mapping[str, Any] | None, prefix: str = "") -> dict[str, float | int | None]:
    """The entries of ``values`` that are scalar numbers (numpy/JAX scalars too), as floats."""
    found: dict[str, float | int | None] = {}
    for key, value in (values or {}).items():
        if len(found) >= MAX_SERIES:
            break
        if isinstance(value, (bool, str, bytes)):
            continue
        if type(value) is int:
            found[f"{prefix}{key}"] = value
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue  # a string, a non-scalar array, None...
        found[f"{prefix}{key}"] = number if math.isfinite(number) else None
    return found


def summary(values: Mapping[str, Any]) -> str:
    """``loss=0.123, val_loss=0.456`` for a toast or a bar's postfix."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items() if v is not None)


def caller_local(module_prefix: str, function: str, name: str, limit: int = 30) -> Any:
    """A local variable of the nearest calling frame of ``module_prefix``'s ``function``.

    For totals a callback is not told (XGBoost's ``num_boost_round``, Optuna's
    ``n_trials``) but the function that calls it holds. None when not found.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and limit > 0:
        if frame.f_code.co_name == function and str(frame.f_globals.get("__name__", "")).startswith(module_prefix):
            return frame.f_locals.get(name)
        frame = frame.f_back
        limit -= 1
    return None


class Channels(NamedTuple):
    """Where a run publishes: points, bars, toasts (None for no toast)."""

    metrics: str
    progress: str
    notify: str | None


def channels(channel: str, progress_channel: str, notify_channel: str | None) -> Channels:
    """Check the names when a callback is made (a bad one fails there, not mid-training)."""
    return Channels(
        events.check_channel(channel),
        events.check_channel(progress_channel),
        events.check_channel(notify_channel) if notify_channel is not None else None,
    )


class Run:
    """One training run: its bars on ``progress_channel``, points on ``channel``, toasts.

    Parameters
    ----------
    name : str
        Shown in bar labels and toasts ("Keras", "XGBoost"...).
    where : Channels
        Points, bars and toasts go there (``LiveChart``, ``ProgressBoard``, ``Toasts``).
    ends_unseen : bool
        The framework may end training without telling (close ``done`` when the cell ends).
    """

    def __init__(self, name: str, where: Channels, ends_unseen: bool = False) -> None:
        self.name = name
        self.channel, self.progress_channel, self.notify_channel = where
        self.ends_unseen = ends_unseen
        self.bars: dict[str, progress] = {}
        self.last: dict[str, Any] = {}
        self.closed = False
        self.status = "running"
        self.lock = threading.RLock()
        self.thread = threading.current_thread()
        _register(self)

    # --- bars and points ------------------------------------------------------------------

    def bar(self, key: str, total: float | None, desc: str, unit: str = "it", parent: str | None = None) -> progress:
        """Open (or reopen) the bar ``key``; ``parent`` names another bar of this run."""
        with self.lock:
            old = self.bars.get(key)
            if old is not None and not old.closed:
                old.close()
            under = self.bars.get(parent) if parent is not None else None
            # By default a run's top bar nests under a bar open in this thread (a user's loop
            # over hyperparameters); its other bars nest under their parent.
            nest: Any = under if under is not None else AUTO
            made = progress(
                total=total, desc=desc, unit=unit, channel=self.progress_channel, mininterval=0.2, parent=nest
            )
            self.bars[key] = made
            return made

    def metric(self, x: float | None, values: Mapping[str, Any]) -> None:
        """Publish the numeric entries of ``values`` as one point at ``x``."""
        found = numbers(values)
        if found:
            self.last.update(found)
            events.metric(self.channel, x=x, values=found)  # type: ignore[arg-type]  # None is a gap

    # --- the end --------------------------------------------------------------------------

    def finish(self, message: str = "") -> None:
        """End every bar ``done`` and toast the run's last values."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.status = "done"
            for bar in reversed(list(self.bars.values())):
                bar.close()
        _unregister(self)
        text = message or summary(self.last)
        self._toast(f"{self.name} finished" + (f": {text}" if text else ""), "success")

    def fail(self, exc: BaseException | str) -> None:
        """End every open bar ``failed`` (``cancelled`` for KeyboardInterrupt) with the message."""
        if isinstance(exc, KeyboardInterrupt):
            status, message = "cancelled", "interrupted"
        elif isinstance(exc, BaseException):
            text = str(exc)
            status, message = "failed", f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        else:
            status, message = "failed", exc
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.status = status
            for bar in reversed(list(self.bars.values())):
                if bar.closed:
                    continue
                if status == "cancelled":
                    bar.cancel(message)
                else:
                    bar.fail(message)
        _unregister(self)
        if status == "cancelled":
            self._toast(f"{self.name} stopped: {message}", "warning")
        else:
            self._toast(f"{self.name} failed: {message}", "error")

    def _toast(self, message: str, level: str) -> None:
        if self.notify_channel is not None:
            events.notify(message[:2000], level=level, title=self.name, channel=self.notify_channel)


# --- learning how a run ended ---------------------------------------------------------------


def _register(run: Run) -> None:
    global _hooked
    with _lock:
        _open.append(run)
        del _open[:-64]  # bounded: runs nobody ends (a thread that died) are forgotten
        if not _hooked:
            _hooked = True
            _install_hooks()


def _unregister(run: Run) -> None:
    with _lock:
        if run in _open:
            _open.remove(run)


def open_runs() -> list[Run]:
    """Runs not ended yet (for tests and the hooks)."""
    with _lock:
        return list(_open)


def _ended(exc: BaseException | None) -> None:
    """A cell or the script ended, with ``exc`` or without an exception."""
    here = threading.current_thread()
    for run in open_runs():
        if run.thread is not here:
            continue  # training in a thread of its own goes on after the cell
        if exc is not None:
            run.fail(exc)
        elif run.ends_unseen:
            run.finish()
        else:
            # Training is synchronous: it is over, and the end hook never came, so an
            # exception stopped it and was caught before it reached the top.
            run.fail("stopped before the end")


def _install_hooks() -> None:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and hasattr(shell, "events"):
        shell.events.register("post_run_cell", _post_run_cell)
    previous = sys.excepthook

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> Any:
        _ended(exc)
        return previous(kind, exc, tb)

    sys.excepthook = excepthook
    # Registered after the publisher's exit flush, so it runs before it (atexit is LIFO).
    atexit.register(_ended, None)


def _post_run_cell(result: Any) -> None:
    _ended(getattr(result, "error_in_exec", None))


