"""Tell a loop body that raised from a ``break`` when a progress generator is closed early.

Python closes a generator abandoned by its ``for`` loop the same way whether the body hit
``break``/``return`` or raised: the pending exception is hidden from the generator. The
frame that dropped it still shows how: its current instruction is the one that raised,
whereas ``break``/``return`` drop the iterator with a plain stack pop (``POP_TOP``). The
exception itself is learnt afterwards, from IPython's ``post_run_cell`` (in a kernel) or
``sys.excepthook`` (in a script), so the ``failed`` state gets the exception's message.
"""

from __future__ import annotations

import dis
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

#: Instructions at which a frame drops a for-loop's iterator without an exception.
_QUIET_OPS = frozenset(
    {
        "POP_TOP", "POP_ITER", "END_FOR", "RETURN_VALUE", "RETURN_CONST", "STORE_FAST",
        "STORE_NAME", "STORE_GLOBAL", "STORE_DEREF", "DELETE_FAST", "DELETE_NAME",
        "DELETE_GLOBAL", "DELETE_DEREF", "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_ABSOLUTE",
        "POP_BLOCK", "POP_EXCEPT", "SWAP", "NOP",
    }
)  # fmt: skip

MAX_PENDING = 256


def raised_in(frame: FrameType | None) -> bool:
    """True when ``frame`` is unwinding an exception (it stopped at an instruction that raises)."""
    if frame is None:
        return False
    try:
        op = dis.opname[frame.f_code.co_code[frame.f_lasti]]
    except IndexError:
        return False
    return op not in _QUIET_OPS


_lock = threading.Lock()
# Strong references: the bar's loop is gone, nothing else keeps it alive. Bounded, and
# cleared after every cell.
_pending: list[Any] = []
_hooked = False


def await_exception(bar: Any) -> None:
    """Remember ``bar`` (it has ``explain(exc)``) until the exception that ended it is known."""
    global _hooked
    with _lock:
        if len(_pending) >= MAX_PENDING:
            del _pending[0]
        _pending.append(bar)
        if not _hooked:
            _hooked = True
            _install_hooks()


def _explain(exc: BaseException | None) -> None:
    with _lock:
        bars = list(_pending)
        _pending.clear()
    if exc is None:
        return
    for bar in bars:
        bar.explain(exc)


def _install_hooks() -> None:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and hasattr(shell, "events"):
        shell.events.register("post_run_cell", _post_run_cell)
    previous: Callable[[type[BaseException], BaseException, TracebackType | None], Any] = sys.excepthook

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> Any:
        _explain(exc)
        return previous(kind, exc, tb)

    sys.excepthook = excepthook


def _post_run_cell(result: Any) -> None:
    _explain(getattr(result, "error_in_exec", None))
