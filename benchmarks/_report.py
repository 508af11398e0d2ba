"""What every benchmark prints with its table: when and where it ran, and how much its
figures spread over repeats, so that the README's tables are pasted output, never edited.
"""

from __future__ import annotations

import datetime
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Sequence


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_line(repeats: int, how: str = "median") -> str:
    """One markdown line: the run's date, the machine and how the figures are summarised."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = (f"{cpu_model()}, {os.cpu_count()} cores, {platform.system()} "
               f"{platform.release()}, Python {platform.python_version()}")
    if repeats == 1:
        summary = "one run"
    elif how == "best":
        summary = f"best of {repeats} runs, ± the largest deviation of the others from it"
    else:
        summary = f"median of {repeats} runs, ± the largest deviation of a run from it"
    return f"*Run {now} on {machine}; {summary}.*"


def summary(values: Sequence[float], how: str = "median") -> tuple[float, float]:
    """The central value of ``values`` (median, or the smallest for ``how="best"``) and the
    largest relative deviation of any value from it (0 for a single value)."""
    centre = min(values) if how == "best" else statistics.median(values)
    if len(values) < 2 or centre == 0:
        return centre, 0.0
    return centre, max(abs(v - centre) for v in values) / abs(centre)


def cell(values: Sequence[float], fmt: str, suffix: str = "", how: str = "median") -> str:
    """``values`` as one table cell: ``1,473,269 ±12%`` (no ± for a single value)."""
    if not values:
        return "failed"
    centre, deviation = summary(values, how)
    text = format(centre, fmt) + suffix
    return text if len(values) < 2 else f"{text} ±{deviation:.0%}"


def table(header: Sequence[str], align: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table; ``align`` holds ``"l"`` or ``"r"`` per column."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


class CpuShare:
    """CPU time this process used over a wall-clock span, as a share of one core.

    The load clients run on the machine they load: a client near 100% of its core is what
    limits the figures, not the server, and the tables say so.
    """

    def __init__(self) -> None:
        self.share = float("nan")

    @staticmethod
    def _cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def __enter__(self) -> CpuShare:
        self._cpu0, self._wall0 = self._cpu(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall0
        self.share = (self._cpu() - self._cpu0) / wall if wall > 0 else float("nan")


def note(text: str) -> None:
    """Progress for the person running the benchmark: on stderr, so stdout stays the table."""
    print(text, file=sys.stderr, flush=True)
