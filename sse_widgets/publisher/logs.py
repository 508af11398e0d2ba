"""LogHandler and capture_logging: ``logging`` records as ``log`` events for an EventLog.

A record becomes one event ``{"time", "level", "levelno", "logger", "message", "process",
"pid", "thread", "module", "line", "exc"}`` on the handler's channel, queued like a metric
(no I/O in the logging call). Worker processes forked after the handler was attached
inherit it and publish through their own transport, as every publisher does after fork.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import _process
from .events import check_channel, encode

if TYPE_CHECKING:
    from typing_extensions import Self

LOG_CHANNEL = "logs"
#: Characters of message and traceback kept; past them the text is cut with a marker.
MAX_MESSAGE_CHARS = 8_000
MAX_EXC_CHARS = 16_000
_CUT = " …[cut]"


def _level(level: int | str) -> int:
    if isinstance(level, bool) or not isinstance(level, (int, str)):
        raise TypeError(f"log level must be a name such as 'INFO' or a number, not {level!r}")
    if isinstance(level, int):
        return level
    # getLevelName maps a registered name to its number (and anything else to a string).
    number = logging.getLevelName(level.upper())
    if type(number) is not int:
        raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return number


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - len(_CUT))] + _CUT


class LogHandler(logging.Handler):
    """A ``logging.Handler`` that publishes each record as a ``log`` event.

    Parameters
    ----------
    channel : str, default "logs"
        Where the records go; an ``EventLog("logs")`` shows them.
    level : str or int, default "INFO"
        The handler's threshold (the logger's own level applies first).

    Notes
    -----
    With no hub the records are dropped silently (other handlers still get them). A
    record logged while this handler is publishing, in the same thread, is not published
    again, so that logging from inside the transport cannot loop.
    """

    def __init__(self, channel: str = LOG_CHANNEL, level: int | str = "INFO") -> None:
        super().__init__(_level(level))
        self.channel = check_channel(channel)
        self._busy = threading.local()
        self._exc_formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            t = _process.transport()
            if t is None:
                return
            text = self._encode(record)
            t.put(text, len(text))
            if _exit_watched[0] != os.getpid():
                _watch_exit(os.getpid())
        except Exception:  # noqa: BLE001 - logging's contract: report, never raise into the caller
            self.handleError(record)
        finally:
            self._busy.on = False

    def record_data(self, record: logging.LogRecord, scale: int = 1) -> dict[str, Any]:
        """The event's data for ``record`` (texts cut to 1/``scale`` of the usual bound)."""
        exc = ""
        if record.exc_info:
            exc = self._exc_formatter.formatException(record.exc_info)
        elif record.exc_text:
            exc = record.exc_text
        if record.stack_info:
            exc = f"{exc}\n{record.stack_info}" if exc else record.stack_info
        return {
            "time": record.created,
            "level": record.levelname,
            "levelno": record.levelno,
            "logger": record.name,
            "message": _cut(record.getMessage(), MAX_MESSAGE_CHARS // scale),
            "process": record.processName,
            "pid": record.process,
            "thread": record.threadName,
            "module": record.module,
            "line": record.lineno,
            "exc": _cut(exc, MAX_EXC_CHARS // scale) or None,
        }

    def _encode(self, record: logging.LogRecord) -> str:
        for scale in (1, 4, 64):
            try:
                return encode(self.channel, "log", self.record_data(record, scale), "log record")
            except ValueError:
                continue  # over the hub's event size (wide characters escape to 6-12 bytes)
        raise ValueError("log record too large even when cut")


_exit_watched: list[int] = [0]


def _watch_exit(pid: int) -> None:
    # A forked worker inherits its transport, made before the fork, so nothing registered
    # the exit flush that multiprocessing runs in its children (they end with os._exit and
    # skip atexit; multiprocessing also clears inherited finalizers at bootstrap). A log
    # line is often a worker's last act: flush at its exit as a fresh worker would.
    _exit_watched[0] = pid
    _process._watch_multiprocessing_exit()


class LogCapture:
    """What :func:`capture_logging` returns: the handler, and a context manager that detaches it."""

    def __init__(self, handler: LogHandler | None, loggers: list[tuple[logging.Logger, int]]) -> None:
        self.handler = handler
        self._loggers = loggers

    def close(self) -> None:
        """Detach the handler and give the loggers their levels back."""
        if self.handler is None:
            return
        for logger, old_level in self._loggers:
            logger.removeHandler(self.handler)
            logger.setLevel(old_level)
        with _lock:
            if self in _captures:
                _captures.remove(self)
        self.handler = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


_lock = threading.Lock()
_captures: list[LogCapture] = []


def capture_logging(
    level: int | str | bool = "INFO",
    *,
    loggers: str | Iterable[str] | None = None,
    channel: str = LOG_CHANNEL,
) -> LogCapture:
    """Publish ``logging`` records at ``level`` and above to ``channel``.

    Parameters
    ----------
    level : str or int, default "INFO"
        Records below it are not published. A logger whose effective level is higher is
        lowered to it (and restored by ``close``), or its records would never arrive.
        ``capture_logging(False)`` detaches every capture made so far.
    loggers : str or list of str, optional
        Logger names to attach to; the root logger (every record) by default.
    channel : str, default "logs"

    Returns
    -------
    LogCapture
        ``.handler`` is the :class:`LogHandler`; ``close()`` or leaving a ``with`` block
        detaches it.
    """
    if level is False:
        with _lock:
            captures = list(_captures)
        for capture in captures:
            capture.close()
        return LogCapture(None, [])
    if level is True:
        level = "INFO"
    number = _level(level)
    names = [None] if loggers is None else [loggers] if isinstance(loggers, str) else list(loggers)
    handler = LogHandler(channel, number)
    attached: list[tuple[logging.Logger, int]] = []
    for name in names:
        logger = logging.getLogger(name)
        attached.append((logger, logger.level))
        if logger.getEffectiveLevel() > number:
            logger.setLevel(number)
        logger.addHandler(handler)
    capture = LogCapture(handler, attached)
    with _lock:
        _captures.append(capture)
    return capture
