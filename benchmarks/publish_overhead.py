"""Per-iteration cost of sw.progress against a bare loop and tqdm, and the cost of one sw.metric call.

Run: ``python benchmarks/publish_overhead.py [N] [--repeats 5] [--markdown]``. Starts a real
``jupyter server`` with the extension for the "with hub" rows, and prints the markdown the
README carries (with ``--markdown``, only that): the run's date and machine, each row's best
of the repeats with the largest deviation of the others from it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import cell, run_line, table

N = 2_000_000
REPEATS = 5


class Timing(list[float]):
    """ns per item of each repeat; ``best``: the least disturbed by other work on the machine."""

    @property
    def best(self) -> float:
        return min(self)

    def cell(self) -> str:
        return cell(self, ".1f", how="best")


def per_item(run: Callable[[], None], n: int) -> Timing:
    """REPEATS timings of ``run``, in ns per item."""
    timings = Timing()
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        timings.append((time.perf_counter() - start) / n * 1e9)
    return timings


def bare() -> None:
    for _ in range(N):
        pass


def loop(make: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        for _ in make():  # type: ignore[attr-defined]
            pass

    return run


def metric_cost(sw: object, calls: int = 200_000, group: int = 100) -> tuple[float, float, float]:
    """Median and p99 of one call, and its median CPU time in the calling thread.

    Timed in groups of ``group`` calls (the clock costs ~50 ns), a ``flush`` every 10,000
    calls (untimed), as a training loop that logs in bursts would. Wall time includes what
    the call waits for (the GIL, while the sender thread serialises; a garbage collection
    the call's allocations trigger); CPU time is the call's own work.
    """
    metric = sw.metric  # type: ignore[attr-defined]
    samples = []
    cpu = []
    for i in range(calls // group):
        start = time.perf_counter_ns()
        start_cpu = time.thread_time_ns()
        for j in range(group):
            metric("bench", x=j, loss=0.5, acc=0.9)
        cpu.append((time.thread_time_ns() - start_cpu) / group)
        samples.append((time.perf_counter_ns() - start) / group)
        if i % 100 == 99:
            sw.flush(10)  # type: ignore[attr-defined]
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)], statistics.median(cpu)


def tqdm_notebook_row(null: io.TextIOBase) -> tuple[Timing | None, str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from tqdm.notebook import tqdm as tqdm_notebook

            with contextlib.redirect_stdout(null):  # without a kernel it prints its repr
                for _ in tqdm_notebook(range(10), file=null):
                    pass
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot run headless"
        return None, f"does not run headless: {type(exc).__name__}: {str(exc)[:80]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(null):
            ns = per_item(loop(lambda: tqdm_notebook(range(N), file=null)), N)
    return ns, "Python side only, no comm"


def main() -> None:
    global N, REPEATS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", nargs="?", type=int, default=N, help="iterations per loop")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--markdown", action="store_true", help="print only the README's markdown")
    args = parser.parse_args()
    N, REPEATS = args.n, args.repeats

    from servers import JupyterServer
    from tqdm import tqdm

    import sse_widgets.publisher as sw

    for name in ("SSE_WIDGETS_URL", "SSE_WIDGETS_KEY"):
        os.environ.pop(name, None)
    os.environ["JUPYTER_RUNTIME_DIR"] = "/nonexistent"  # "no hub" must mean no hub
    null = open(os.devnull, "w")  # noqa: SIM115
    rows: list[list[str]] = []
    base = per_item(bare, N)
    rows.append(["bare `for _ in range(N)`", base.cell(), "—"])

    def row(name: str, ns: Timing, against: Timing) -> None:
        rows.append([name, ns.cell(), f"{ns.best - against.best:+.1f}"])

    no_hub = per_item(loop(lambda: sw.progress(range(N), file=null)), N)
    row("`sw.progress(range(N))`, no hub (text bar to a null file)", no_hub, base)
    no_hub_gen = per_item(loop(lambda: sw.progress((i for i in range(N)), total=N, file=null)), N)
    gen_base = per_item(loop(lambda: (i for i in range(N))), N)
    rows.append(["generator, bare", gen_base.cell(), "—"])
    row("`sw.progress(generator)`, no hub", no_hub_gen, gen_base)

    std = per_item(loop(lambda: tqdm(range(N), file=null)), N)
    row("tqdm (std) to a null file", std, base)
    nb, note = tqdm_notebook_row(null)
    if nb is None:
        rows.append([f"tqdm.notebook ({note})", "n/a", "n/a"])
    else:
        row(f"tqdm.notebook ({note})", nb, base)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no hub to publish to", once
        no_hub_runs = [metric_cost(sw) for _ in range(3)]
    with JupyterServer() as server:
        sw.connect(server.url, server.key)
        hub = per_item(loop(lambda: sw.progress(range(N))), N)
        row("`sw.progress(range(N))`, with a live hub", hub, base)
        metric_runs = [metric_cost(sw) for _ in range(3)]
        # A notebook's heap is large: a call that made the collector walk it would show here.
        heap = [{"x": [i]} for i in range(500_000)]
        heap_runs = [metric_cost(sw) for _ in range(3)]
        del heap
        sw.flush(30)

    ratio = (hub.best - base.best) / (std.best - base.best) if std.best > base.best else float("nan")

    def metric_row(name: str, runs: list[tuple[float, float, float]]) -> list[str]:
        return [name, cell([m for m, _, _ in runs], ",.0f", " ns"), cell([p for _, p, _ in runs], ",.0f", " ns"),
                cell([c for _, _, c in runs], ",.0f", " ns")]

    out = [
        run_line(REPEATS, how="best"),
        "",
        f"N = {N:,} iterations per loop.",
        "",
        table(["loop", "ns / iteration", "overhead vs bare"], "lrr", rows),
        "",
        f"- **`progress` overhead** with a live hub is {ratio:.2f}× tqdm's (target ≤ 0.5×).",
        "",
        ("*`sw.metric('bench', x=j, loss=0.5, acc=0.9)`: one call's wall time, median and p99, "
         "timed in groups of 100 calls with a flush every 10,000, and its CPU time in the calling "
         "thread; median of 3 runs of 200,000 calls, ± the largest deviation of a run from it.*"),
        "",
        table(["`sw.metric`", "median", "p99", "CPU, median"], "lrrr", [
            metric_row("no hub (discarded, counted by `flush`)", no_hub_runs),
            metric_row("live hub", metric_runs),
            metric_row("live hub, 500,000 more objects on the heap", heap_runs),
        ]),
    ]
    if not args.markdown:
        print("The README's markdown:\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
