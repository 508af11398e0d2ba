"""progress: a tqdm-compatible bar that publishes ``progress`` events (or draws text with no hub)."""

from __future__ import annotations

import itertools
import os
import secrets
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from operator import itemgetter, length_hint
from time import monotonic
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from .. import protocol
from . import _process, _unwind, control
from .control import Cancelled
from .events import check_channel
from .local import LocalTransport
from .textbar import TextBar
from .tqdmcompat import TqdmClassAPI

PROGRESS_CHANNEL = "progress"
#: How long closing a top-level bar waits for its final state to reach the hub.
CLOSE_FLUSH_TIMEOUT = 2.0
MAX_NESTING = 64

# Iterators whose __length_hint__ is exact: counting a chunk costs two calls, not a wrapper.
_SAMPLES: tuple[Iterable[Any], ...] = ([], (), range(1), range(1 << 70), "", b"", bytearray(), {}, {}.values(), {}.items(), set())
_EXACT_HINT: frozenset[type] = frozenset([*(type(iter(x)) for x in _SAMPLES), type(reversed([]))])
_first = itemgetter(0)
# tqdm arguments accepted for compatibility that change nothing here.
_IGNORED = frozenset(
    {"ncols", "maxinterval", "dynamic_ncols", "smoothing", "bar_format", "position", "unit_scale",
     "unit_divisor", "write_bytes", "lock_args", "nrows", "colour", "gui", "display",
     # huggingface_hub passes its bars' logger name to any tqdm_class
     "name"}
)  # fmt: skip


if TYPE_CHECKING:
    from typing_extensions import Self


class _Auto:
    def __repr__(self) -> str:
        return "AUTO"


AUTO: Any = _Auto()
_local = threading.local()
_ids = itertools.count(1)
_token = ("", 0)


def _new_task_id() -> str:
    global _token
    if _token[1] != os.getpid():  # a forked child must not reuse its parent's ids
        _token = (secrets.token_hex(3), os.getpid())
    return f"{_token[0]}-{next(_ids)}"


def _open_bars() -> list[progress]:
    stack: list[progress] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _describe(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, Cancelled):
        return "cancelled", str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "cancelled", "interrupted"
    text = str(exc)
    return "failed", f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class progress(TqdmClassAPI):
    """A progress bar for a loop: iterate over it, or use it as a context manager.

    In a kernel (or any process that can reach a hub) it publishes ``progress`` events that
    ``ProgressBoard`` widgets draw; with no hub at all it draws a text bar on stderr like
    tqdm. Updates are throttled (``mininterval``) and the iteration itself is delegated to
    the wrapped iterator in adaptively sized chunks, so the per-item cost stays tiny.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over; ``total`` defaults to ``len(iterable)`` when it has one.
    desc : str, optional
        The label shown with the bar.
    total : number, optional
        Expected number of items; None for an open-ended count.
    leave : bool, default True
        Keep the finished bar on display (sent as ``"leave"`` for the widget to honour).
    file : file object, optional
        Where the text bar goes when there is no hub (stderr by default).
    mininterval : float, default 0.1
        Minimum seconds between two published updates.
    miniters : int, optional
        Minimum items between two time checks in ``update()`` (adaptive by default).
    disable : bool, default False
        Do nothing; iterate over ``iterable`` unchanged.
    unit : str, default "it"
    initial : number, default 0
    postfix : dict or str, optional
        Extra text, sent as the event's ``message``.
    delay : float, default 0
        Publish nothing until this many seconds have passed.
    channel : str, default "progress"
        Channel for the events.
    task : str, optional
        Task id (unique by default); reuse one to update the same bar across runs.
    parent : progress or str or None, optional
        The enclosing task; by default the innermost bar open in this thread.
    cancellable : bool, default True
        Offer a Stop button on dashboards made with ``cancel=True``. Stopping raises
        ``sw.Cancelled`` at the next iteration; False opts this task out (no button).
    on_cancel : callable, optional
        Called with the bar (from a background thread) when a stop is requested; for code
        that drives the bar with ``update()`` and checks nothing itself.
    **kwargs
        Other tqdm arguments (``ncols``, ``position``, ``ascii``, ``bar_format``...) are
        accepted and ignored, so that ``from sse_widgets import tqdm`` stands in for tqdm.

    Raises
    ------
    TypeError
        An argument tqdm does not know either.
    """

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        desc: str | None = None,
        total: float | None = None,
        leave: bool | None = True,
        file: TextIO | None = None,
        mininterval: float = 0.1,
        miniters: float | None = None,
        ascii: bool | str | None = None,
        disable: bool | None = False,
        unit: str = "it",
        initial: float = 0,
        postfix: Mapping[str, Any] | str | None = None,
        delay: float = 0.0,
        *,
        channel: str = PROGRESS_CHANNEL,
        task: str | None = None,
        parent: progress | str | None = AUTO,
        cancellable: bool = True,
        on_cancel: Callable[[progress], object] | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = set(kwargs) - _IGNORED
        if unknown:
            raise TypeError(f"progress() got unexpected keyword argument(s): {', '.join(sorted(unknown))}")
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except (TypeError, AttributeError):
                total = None
        if total is not None:
            if isinstance(total, bool) or not isinstance(total, (int, float)) or total < 0:
                raise TypeError(f"progress() total must be a non-negative number or None, not {total!r}")
            if total == float("inf"):
                total = None
        if not isinstance(mininterval, (int, float)) or mininterval < 0:
            raise ValueError(f"progress() mininterval must be a non-negative number, not {mininterval!r}")
        if desc is not None and not isinstance(desc, str):
            raise TypeError(f"progress() desc must be a string, not {type(desc).__name__}")
        if not isinstance(unit, str):
            raise TypeError(f"progress() unit must be a string, not {type(unit).__name__}")
        self.iterable = iterable
        #: Where the text bar goes with no hub (tqdm's name; tqdm.pandas reads it).
        self.fp = file if file is not None else sys.stderr
        self.desc = desc or ""
        self.total = total
        self.leave = leave is not False
        self.unit = unit
        self.n: float = initial
        self.mininterval = float(mininterval)
        self.miniters = miniters
        self.disable = bool(disable)
        self.delay = float(delay)
        self.postfix = ""
        self.closed = False
        self.status = "running"
        self._dynamic_miniters = miniters is None
        self._miniters = 0 if miniters is None else miniters
        self._count_lock = threading.Lock()
        self._last_n = initial
        self._start = self._last_time = monotonic()
        self._pending_explanation = False
        self._cancel_requested = False
        self._on_cancel = on_cancel
        self._parent_bar: progress | None = None
        self._watched = False
        if on_cancel is not None and not callable(on_cancel):
            raise TypeError(f"progress() on_cancel must be callable, not {type(on_cancel).__name__}")
        self.cancellable = bool(cancellable)
        if self.disable:
            return
        self.channel = check_channel(channel)
        self.task = protocol.check_channel(task) if task is not None else _new_task_id()
        if parent is AUTO:
            stack = _open_bars()
            parent = stack[-1] if stack else None
        self._parent_bar = parent if isinstance(parent, progress) else None
        if isinstance(parent, progress):
            self.parent: str | None = getattr(parent, "task", None)
        elif parent is None or isinstance(parent, str):
            self.parent = parent
        else:
            raise TypeError(f"progress() parent must be a progress, a task id or None, not {type(parent).__name__}")
        self._pid = os.getpid()
        if postfix is not None:
            self.set_postfix(postfix, refresh=False) if not isinstance(postfix, str) else self.set_postfix_str(postfix, False)
        self._transport = t = _process.transport()
        # Text on stderr where nothing else would show the bar: no hub at all, or a kernel
        # publishing to its own widgets with none following this channel.
        unseen = t is None or (isinstance(t, LocalTransport) and not t.watched(self.channel))
        self._bar = TextBar(file, kwargs.get("ncols"), bool(ascii) if ascii is not None else None) if unseen else None
        self._instances.add(self)
        conn = getattr(t, "connection", None) if t is not None else None
        if self.cancellable and conn is not None:
            # Only a process that publishes to a hub can be reached by a Stop click.
            self._watched = True
            control.watch(self, conn)
        if self.delay <= 0:
            self.refresh()

    @property
    def cancel_requested(self) -> bool:
        """True once the task was stopped from a dashboard (``update()`` loops poll this)."""
        return self._cancel_requested

    @property
    def dynamic_miniters(self) -> bool:
        """Adapt ``miniters`` to the update rate (tqdm's name; ``thread_map`` sets it)."""
        return self._dynamic_miniters

    @dynamic_miniters.setter
    def dynamic_miniters(self, value: bool) -> None:
        self._dynamic_miniters = bool(value)

    # --- iteration ----------------------------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("progress() has no iterable: pass one, or use update() with total=")
        if self.disable:
            yield from self.iterable
            return
        it = iter(self.iterable)
        self._opened()
        exact = type(it) in _EXACT_HINT
        counter = itertools.count()
        source = it if exact else map(_first, zip(it, counter))
        probes = 0  # values drawn from counter by us, not by zip
        counted = 0  # items pulled from the iterator so far
        chunk = 1
        mininterval = self.mininterval
        before = 0
        t_chunk = monotonic()
        try:
            while True:
                if exact:
                    before = length_hint(it)
                    yield from itertools.islice(it, chunk)
                    got = before - length_hint(it)
                else:
                    yield from itertools.islice(source, chunk)
                    pulled = next(counter) - probes
                    probes += 1
                    got, counted = pulled - counted, pulled
                self.n += got
                if self._cancel_requested:  # the one check per chunk: set by control's thread
                    raise Cancelled(self.task)
                if got < chunk:
                    break
                now = monotonic()
                elapsed = now - t_chunk
                # Size the next chunk to last about mininterval, growing at most 4x at a time.
                if elapsed <= 0:
                    chunk *= 4
                else:
                    chunk = max(1, min(int(got * mininterval / elapsed), chunk * 4))
                t_chunk = now
                if now - self._last_time >= mininterval:
                    self._publish_running(now)
        except GeneratorExit:
            if exact:
                got = before - length_hint(it)
            else:
                got = next(counter) - probes - counted
            self.n += max(0, got - 1)  # as tqdm: the item whose body did not finish is not counted
            if self._cancel_requested:
                # Stopped with the task it encloses (control stops nested bars with it).
                self._end("cancelled", control.STOP_MESSAGE)
            elif _unwind.raised_in(sys._getframe(0).f_back):
                self._end("failed", "stopped by an exception")
                self._pending_explanation = True
                _unwind.await_exception(self)
            else:
                self.close()
            raise
        except BaseException as exc:
            self._end(*_describe(exc))
            raise
        self.close()

    def __len__(self) -> int:
        if self.total is not None:
            return int(self.total)
        return len(self.iterable)  # type: ignore[arg-type]

    def __bool__(self) -> bool:
        return True

    def __enter__(self) -> Self:
        if not self.disable:
            self._opened()
        return self

    def _opened(self) -> None:
        # Bars being iterated or inside a with block are the parents of bars made meanwhile.
        stack = _open_bars()
        if self not in stack:
            if len(stack) >= MAX_NESTING:
                del stack[0]
            stack.append(self)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is not None and (not self.closed or self._pending_explanation):
            self._pending_explanation = False
            self._end(*_describe(exc), force=True)
        else:
            self.close()

    # --- tqdm's manual API --------------------------------------------------------------

    def update(self, n: float = 1) -> bool:
        """Add ``n`` to the count; publish if ``mininterval`` has passed. True if published."""
        if self.disable:
            return False
        with self._count_lock:
            self.n += n
            if self.n - self._last_n < self._miniters:
                return False
        now = monotonic()
        if now - self._last_time < self.mininterval:
            return False
        if self._dynamic_miniters:
            # As tqdm: check the clock about once per mininterval, not on every call.
            self._miniters = max(0.0, (self.n - self._last_n) * 0.9)
        self._publish_running(now)
        return True

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        """Change the label."""
        self.desc = desc or ""
        if refresh:
            self._refresh_throttled()

    set_description_str = set_description

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None, refresh: bool = True, **kwargs: Any) -> None:
        """Set extra ``key=value`` text, sent as the event's ``message``."""
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(
            f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}" for key, value in items.items()
        )
        if refresh:
            self._refresh_throttled()

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = str(s)
        if refresh:
            self._refresh_throttled()

    def reset(self, total: float | None = None) -> None:
        """Start counting again from 0, with a new total if given."""
        self.n = self._last_n = 0
        self.total = total if total is not None else self.total
        self._start = monotonic()
        self.refresh()

    def refresh(self) -> None:
        """Publish the current state now."""
        if not self.disable and not self.closed:
            self._publish_running(monotonic(), force=True)

    def clear(self) -> None:
        """Does nothing: there is no terminal line to clear."""

    def display(self, *args: Any, **kwargs: Any) -> None:
        """Does nothing: the widget displays the bar."""

    def unpause(self) -> None:
        """Does nothing."""

    def close(self) -> None:
        """Finish the bar with status ``done`` (``cancelled`` when it was stopped meanwhile)."""
        if self._cancel_requested:
            self._end("cancelled", control.STOP_MESSAGE)
        else:
            self._end("done", self.postfix)

    def fail(self, message: str = "") -> None:
        """Finish the bar with status ``failed``."""
        self._end("failed", message)

    def cancel(self, message: str = "") -> None:
        """Finish the bar with status ``cancelled``."""
        self._end("cancelled", message)

    def explain(self, exc: BaseException) -> None:
        """Give a bar ended by an exception that exception's message (called by _unwind)."""
        if self._pending_explanation:
            self._pending_explanation = False
            self._end(*_describe(exc), force=True)

    # --- publishing ---------------------------------------------------------------------

    def _refresh_throttled(self) -> None:
        now = monotonic()
        if not self.disable and not self.closed and now - self._last_time >= self.mininterval:
            self._publish_running(now)

    def _state(self, status: str, message: str, now: float) -> dict[str, Any]:
        return {
            "task": self.task,
            "label": self.desc,
            "n": self.n,
            "total": self.total,
            "unit": self.unit,
            "status": status,
            "parent": self.parent,
            "message": message,
            "elapsed": round(now - self._start, 3),
            "leave": self.leave,
            **({} if self.cancellable else {"cancellable": False}),
        }

    def _publish_running(self, now: float, force: bool = False) -> None:
        self._last_time = now
        self._last_n = self.n
        if not force and now - self._start < self.delay:
            return
        t = self._transport
        if t is not None:
            if t.warning is not None:
                _process.emit_warning(t, stacklevel=4)
            data = self._state("running", self.postfix, now)
            t.put_progress((self.channel, self.task), {"channel": self.channel, "type": "progress", "data": data}, 200 + len(self.desc) + len(self.postfix))
        if self._bar is not None:
            self._bar.draw(self.n, self.total, now - self._start, self.desc, self.unit, self.postfix)

    def _end(self, status: str, message: str, force: bool = False) -> None:
        if self.disable or (self.closed and not force):
            return
        self.closed = True
        self.status = status
        self._instances.discard(self)
        if self._watched:
            self._watched = False
            control.unwatch(self)
        now = monotonic()
        stack = _open_bars()
        if self in stack:
            stack.remove(self)
        t = self._transport
        if t is not None:
            data = self._state(status, message, now)
            event = {"channel": self.channel, "type": "progress", "data": data}
            t.put_urgent(event, 200 + len(self.desc) + len(message), supersedes=(self.channel, self.task))
            top_level = self._parent_bar is None or self._parent_bar._pid != os.getpid()
            if top_level and t.healthy and not force and t.connection is not None:
                t.wait(CLOSE_FLUSH_TIMEOUT)  # pool workers may be killed right after the task
        if self._bar is not None:
            self._bar.draw(self.n, self.total, now - self._start, self.desc, self.unit, message or self.postfix)
            self._bar.finish(self.leave or status != "done")

    def __repr__(self) -> str:
        total = "?" if self.total is None else self.total
        return f"<progress {self.desc or getattr(self, 'task', '')!r} {self.n}/{total} {self.status}>"


#: ``from sse_widgets import tqdm`` stands in for ``tqdm.tqdm`` / ``tqdm.notebook.tqdm``.
tqdm = progress


def trange(*args: int, **kwargs: Any) -> progress:
    """``progress(range(*args), **kwargs)``, like tqdm's trange."""
    return progress(range(*args), **kwargs)
