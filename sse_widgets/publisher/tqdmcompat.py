"""tqdm's class-level API for ``progress``, so that ``sw.tqdm`` works as any ``tqdm_class=``.

Libraries that take a ``tqdm_class`` call more than its constructor. tqdm's own
``contrib.concurrent.thread_map``/``process_map`` (tqdm ``contrib/concurrent.py``,
``ensure_lock``) read and replace the class's write lock with ``get_lock``/``set_lock`` and
pass it to every pool worker as the pool's initializer; ``contrib.logging`` prints through
``tqdm_class.write``; callers set ``monitor_interval`` to stop tqdm's monitor thread.

The lock is tqdm's own ``TqdmDefaultWriteLock`` when tqdm is installed, so sse-widgets bars
and tqdm's console bars share one lock as tqdm expects. tqdm is imported only when a lock
is first asked for, so ``import sse_widgets`` stays light; without tqdm an equivalent
stdlib lock (a thread RLock plus a lazily made multiprocessing RLock, the ``mp_lock`` member
that ``process_map`` hands to its workers) takes its place.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, TextIO


class WriteLock:
    """A stand-in for tqdm's ``TqdmDefaultWriteLock`` when tqdm is not installed.

    Same shape: ``acquire``/``release``/``with``, and the ``mp_lock`` and ``th_lock``
    members, so that ``process_map(lock_name="mp_lock")`` finds what it passes to workers.
    """

    th_lock = threading.RLock()
    mp_lock: Any = None

    def __init__(self) -> None:
        cls = type(self)
        with cls.th_lock:
            if cls.mp_lock is None:
                try:
                    # Made on demand: creating a multiprocessing lock fixes the start method's
                    # context for the process, which must not happen at import.
                    from multiprocessing import RLock

                    cls.mp_lock = RLock()
                except (ImportError, OSError):  # no working sem_open (some sandboxes)
                    cls.mp_lock = None
        self.locks = [lock for lock in (cls.mp_lock, cls.th_lock) if lock is not None]

    def acquire(self, *args: Any, **kwargs: Any) -> None:
        for lock in self.locks:
            lock.acquire(*args, **kwargs)

    def release(self) -> None:
        for lock in self.locks[::-1]:
            lock.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def new_write_lock() -> Any:
    """tqdm's default write lock when tqdm is installed, else :class:`WriteLock`."""
    try:
        from tqdm.std import TqdmDefaultWriteLock
    except ImportError:
        return WriteLock()
    return TqdmDefaultWriteLock()


class TqdmClassAPI:
    """The class-level half of tqdm's API (``get_lock``, ``set_lock``, ``write``...)."""

    #: tqdm's monitor thread period; there is no monitor thread here (throttling is done
    #: at the call site), but callers set it to 0 to switch tqdm's off, so it exists.
    monitor_interval: ClassVar[float] = 10
    monitor: ClassVar[Any] = None
    #: The bars open in this process, as tqdm keeps them (some callers clear or count it).
    #: The write lock: annotated only, so that it does not exist until made or set, which is
    #: what tqdm's ``ensure_lock`` checks (and undoes with ``del``).
    _lock: ClassVar[Any]
    _instances: ClassVar[weakref.WeakSet[Any]] = weakref.WeakSet()

    @classmethod
    def get_lock(cls) -> Any:
        """The lock that serialises writes by bars of this class (made on first use)."""
        if not hasattr(cls, "_lock"):
            cls._lock = new_write_lock()
        return cls._lock

    @classmethod
    def set_lock(cls, lock: Any) -> None:
        """Use ``lock`` (a lock from the parent process, in a pool worker's initializer)."""
        cls._lock = lock

    @classmethod
    @contextmanager
    def external_write_mode(cls, file: TextIO | None = None, nolock: bool = False) -> Iterator[None]:
        """Hold the write lock while the caller writes to ``file`` (tqdm clears its bars here).

        The bars themselves are drawn by widgets, not on the terminal, so there is nothing
        to clear; text bars drawn with no hub are redrawn by their next update.
        """
        if nolock:
            yield
            return
        lock = cls.get_lock()
        lock.acquire()
        try:
            yield
        finally:
            lock.release()

    @classmethod
    def pandas(cls, **tqdm_kwargs: Any) -> None:
        """Register this class with pandas: ``df.progress_apply(f)`` then shows a bar.

        tqdm's own registration (``tqdm.std.tqdm.pandas``), run for this class: it makes
        bars with ``cls(total=..., **tqdm_kwargs)`` and only calls ``update`` and ``close``.
        """
        from tqdm.std import tqdm as std_tqdm

        std_tqdm.pandas.__func__(cls, **tqdm_kwargs)

    @classmethod
    def write(cls, s: str, file: TextIO | None = None, end: str = "\n", nolock: bool = False) -> None:
        """Print a message without breaking bars (as ``tqdm.write``)."""
        fp = file if file is not None else sys.stdout
        if fp is None:  # pythonw, or stdout closed
            return
        with cls.external_write_mode(file=file, nolock=nolock):
            fp.write(s)
            fp.write(end)
