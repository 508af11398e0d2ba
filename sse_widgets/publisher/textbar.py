"""A tqdm-like text bar on stderr, drawn by ``progress`` when there is no hub at all."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO


def format_interval(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def format_count(n: float) -> str:
    return str(n) if isinstance(n, int) or not float(n).is_integer() else str(int(n))


def format_line(
    n: float,
    total: float | None,
    elapsed: float,
    desc: str = "",
    unit: str = "it",
    postfix: str = "",
    width: int = 80,
    ascii_only: bool = False,
) -> str:
    """One bar line, in tqdm's layout: ``desc: 40%|████      | 40/100 [00:04<00:06, 9.9it/s]``."""
    rate = n / elapsed if elapsed > 0 and n > 0 else None
    if rate is None:
        rate_text = f"?{unit}/s"
    elif rate >= 1 or rate == 0:
        rate_text = f"{rate:.2f}{unit}/s"
    else:
        rate_text = f"{1 / rate:.2f}s/{unit}"
    prefix = f"{desc}: " if desc else ""
    extra = f", {postfix}" if postfix else ""
    if not total:
        return f"{prefix}{format_count(n)}{unit} [{format_interval(elapsed)}, {rate_text}{extra}]"
    frac = min(max(n / total, 0.0), 1.0)
    remaining = format_interval((total - n) / rate) if rate else "?"
    right = f"| {format_count(n)}/{format_count(total)} [{format_interval(elapsed)}<{remaining}, {rate_text}{extra}]"
    left = f"{prefix}{frac * 100:3.0f}%|"
    size = max(1, min(width - len(left) - len(right), 60) if width else 10)
    if ascii_only:
        filled = int(frac * size)
        bar = "#" * filled + " " * (size - filled)
    else:
        eighths = int(frac * size * 8)
        full, part = divmod(eighths, 8)
        bar = "█" * full + (" ▏▎▍▌▋▊▉"[part] if full < size else "")
        bar = bar + " " * (size - len(bar))
    return left + bar + right


class TextBar:
    """Redraws one line in place with ``\\r``, as tqdm does."""

    def __init__(self, file: TextIO | None = None, ncols: int | None = None, ascii: bool | None = None) -> None:
        self.file = file
        self.ncols = ncols
        encoding = getattr(self._file, "encoding", None) or "ascii"
        self.ascii_only = bool(ascii) if ascii is not None else not encoding.lower().startswith("utf")
        self._last_len = 0

    @property
    def _file(self) -> TextIO:
        return self.file if self.file is not None else sys.stderr

    def _width(self) -> int:
        return self.ncols if self.ncols is not None else shutil.get_terminal_size((80, 20)).columns - 1

    def draw(self, n: float, total: float | None, elapsed: float, desc: str, unit: str, postfix: str) -> None:
        line = format_line(n, total, elapsed, desc, unit, postfix, self._width(), self.ascii_only)
        pad = " " * max(0, self._last_len - len(line))
        self._last_len = len(line)
        try:
            self._file.write("\r" + line + pad)
            self._file.flush()
        except (OSError, ValueError):
            pass  # stderr closed (daemonised, or at exit): a progress bar is not worth a crash

    def finish(self, leave: bool) -> None:
        try:
            if leave:
                self._file.write("\n")
            else:
                self._file.write("\r" + " " * self._last_len + "\r")
            self._file.flush()
        except (OSError, ValueError):
            pass  # as in draw()
