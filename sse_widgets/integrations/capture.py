"""capture_tqdm: make the bars that libraries draw with ``tqdm.auto``/``tqdm.notebook`` sse-widgets bars.

Libraries pick their bar class at import (``from tqdm.auto import tqdm``) or at each call
(``tqdm.auto.tqdm(...)``, as transformers does). Both are caught by rebinding names: the
attributes of ``tqdm.auto``, ``tqdm.notebook`` and ``tqdm.autonotebook``, and every module
attribute anywhere in ``sys.modules`` that *is* one of those objects. Default arguments of
module-level functions are rebound too (tqdm's own ``thread_map`` takes
``tqdm_class=tqdm.auto.tqdm`` that way). Anything holding the old class another way cannot
be reached: a subclass made before the call (it keeps its base), a reference in a closure,
a method's default argument, an instance attribute or a container.
``tqdm.tqdm``/``tqdm.std.tqdm`` (console bars) are left alone on purpose: a script's
terminal output is not a notebook bar.
"""

from __future__ import annotations

import functools
import sys
import threading
import warnings
from types import FunctionType, ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

from ..publisher.progress import PROGRESS_CHANNEL, progress, trange

if TYPE_CHECKING:
    from typing_extensions import Self

#: (module, attribute) pairs that name tqdm's notebook-or-console bars.
TARGETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tqdm.auto", ("tqdm", "trange")),
    ("tqdm.notebook", ("tqdm", "trange", "tqdm_notebook", "tnrange")),
    ("tqdm.autonotebook", ("tqdm", "trange")),
)
_FUNCTIONS = frozenset({"trange", "tnrange"})
#: Rebound above by name, or tqdm's own console module.
_SKIP = frozenset({*(name for name, _ in TARGETS), "tqdm.std", "tqdm"})

_lock = threading.Lock()
#: What was rebound, to undo: (module, attribute, the value it had).
_saved: list[tuple[ModuleType | FunctionType, str, Any]] = []
#: The classes and functions put in place (kept alive, so that their ids stay theirs).
_ours: list[Any] = []


class TqdmCapture:
    """What :func:`capture_tqdm` returns; a context manager that undoes the capture on exit."""

    def __init__(self, enabled: bool, owner: bool) -> None:
        self.enabled = enabled
        self._owner = owner

    @property
    def rebound(self) -> int:
        """How many names point to sse-widgets bars now."""
        return len(_saved)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._owner:
            _release()

    def __repr__(self) -> str:
        return f"<TqdmCapture {'on' if self.enabled else 'off'}, {self.rebound} names rebound>"


@functools.lru_cache(maxsize=64)
def _bar_class(channel: str) -> type[progress]:
    if channel == PROGRESS_CHANNEL:
        return progress

    class tqdm(progress):
        """``sw.tqdm`` publishing on the channel given to capture_tqdm()."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("channel", channel)
            super().__init__(*args, **kwargs)

    return tqdm


@functools.lru_cache(maxsize=64)
def _range_function(channel: str) -> Any:
    bars = _bar_class(channel)
    if bars is progress:
        return trange

    def captured_trange(*args: int, **kwargs: Any) -> progress:
        """``tqdm(range(*args), **kwargs)`` with the captured bars."""
        return bars(range(*args), **kwargs)

    return captured_trange


def capture_tqdm(enable: bool = True, *, channel: str = PROGRESS_CHANNEL) -> TqdmCapture:
    """Make ``tqdm.auto``, ``tqdm.notebook`` and ``tqdm.autonotebook`` bars sse-widgets bars.

    Also rebinds the name in modules that already did ``from tqdm.auto import tqdm`` (or
    imported ``trange``, ``tqdm_notebook``...). Call it once at the top of a notebook, or
    use it as ``with sw.capture_tqdm(): ...``; ``capture_tqdm(False)`` undoes it.

    Parameters
    ----------
    enable : bool, default True
        False puts every rebound name back (names that were changed again since are left).
    channel : str, default "progress"
        Where the captured bars publish.

    Returns
    -------
    TqdmCapture
        A context manager: leaving the ``with`` block undoes what this call did.

    Notes
    -----
    Default arguments of module-level functions are rebound too (``thread_map``'s
    ``tqdm_class``). Not caught: subclasses made before the call (huggingface_hub's
    ``tqdm``), the class held in a closure, a method's default argument, an instance
    attribute or a container, and console bars (``from tqdm import tqdm``).
    """
    if not enable:
        _release()
        return TqdmCapture(False, False)
    try:
        import tqdm
    except ImportError:
        return TqdmCapture(False, False)  # nothing to capture: no library can draw tqdm bars
    with _lock:
        owner = not _saved
        bars = _bar_class(channel)
        ranges = _range_function(channel)
        replacement: dict[int, tuple[Any, Any]] = {}  # id(original) -> (original, ours)
        with warnings.catch_warnings():
            # tqdm.autonotebook warns that it is experimental when imported in a kernel.
            warnings.simplefilter("ignore")
            import tqdm.auto
            import tqdm.autonotebook
            import tqdm.notebook
            import tqdm.std
        console = (tqdm.std.tqdm, tqdm.std.trange)
        for module_name, names in TARGETS:
            module = sys.modules[module_name]
            for name in names:
                value = getattr(module, name, None)
                if value is None or value is bars or value is ranges:
                    continue
                ours = ranges if name in _FUNCTIONS else bars
                _rebind(module, name, value, ours)
                # Outside a notebook tqdm.autonotebook's names are the console ones; modules
                # that imported those meant console bars.
                if value not in console:
                    replacement[id(value)] = (value, ours)
        for module in list(sys.modules.values()):
            if not isinstance(module, ModuleType) or module.__name__ in _SKIP or module.__name__.startswith("sse_widgets"):
                continue
            try:
                items = list(vars(module).items())
            except TypeError:
                continue
            for name, value in items:
                found = replacement.get(id(value))
                if found is not None and found[0] is value:
                    _rebind(module, name, value, found[1])
                elif type(value) is FunctionType and value.__module__ == module.__name__:
                    _rebind_defaults(value, replacement)
        _ours.extend(x for x in (bars, ranges) if not any(x is y for y in _ours))
    return TqdmCapture(True, owner)


def _rebind(module: ModuleType, name: str, old: Any, new: Any) -> None:
    try:
        setattr(module, name, new)
    except (AttributeError, TypeError):
        return  # a read-only module proxy: nothing to do
    _saved.append((module, name, old))


def _rebind_defaults(function: FunctionType, replacement: dict[int, tuple[Any, Any]]) -> None:
    # A default argument is bound once, at def: tqdm's own thread_map/process_map take
    # `tqdm_class=tqdm_auto` that way.
    def swap(value: Any) -> Any:
        found = replacement.get(id(value))
        return found[1] if found is not None and found[0] is value else value

    kwdefaults = function.__kwdefaults__
    if kwdefaults and any(swap(v) is not v for v in kwdefaults.values()):
        _saved.append((function, "__kwdefaults__", kwdefaults))
        function.__kwdefaults__ = {k: swap(v) for k, v in kwdefaults.items()}
    defaults = function.__defaults__
    if defaults and any(swap(v) is not v for v in defaults):
        _saved.append((function, "__defaults__", defaults))
        function.__defaults__ = tuple(swap(v) for v in defaults)


def _release() -> None:
    with _lock:
        mine = {id(progress), id(trange), *map(id, _ours)}
        for owner, name, old in reversed(_saved):
            current = getattr(owner, name, None)
            if name in ("__defaults__", "__kwdefaults__"):
                values = current.values() if isinstance(current, dict) else current or ()
                if any(id(v) in mine for v in values):
                    setattr(owner, name, old)
            elif id(current) in mine:
                setattr(owner, name, old)
        _saved.clear()
        _ours.clear()
