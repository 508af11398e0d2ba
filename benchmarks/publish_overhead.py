"""Per-iteration cost of sw.progress against a bare loop and tqdm, and the cost of one sw.metric call.

Run: ``python benchmarks/publish_overhead.py [N]``. Starts a real ``jupyter server`` with the
extension for the "with hub" rows, and prints a markdown table.
"""

from __future__ import annotations

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

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
REPEATS = 5


def per_item(run: Callable[[], None], n: int) -> float:
    """Best of REPEATS, in ns per item (best: the least disturbed by the other work on the machine)."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e9


def bare() -> None:
    for _ in range(N):
        pass


def loop(make: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        for _ in make():  # type: ignore[attr-defined]
            pass

    return run


def metric_cost(sw: object, calls: int = 200_000, group: int = 100) -> tuple[float, float]:
    """Median and p99 of one call, timed in groups of ``group`` calls (the clock costs ~50 ns)."""
    metric = sw.metric  # type: ignore[attr-defined]
    samples = []
    for i in range(calls // group):
        start = time.perf_counter_ns()
        for j in range(group):
            metric("bench", x=j, loss=0.5, acc=0.9)
        samples.append((time.perf_counter_ns() - start) / group)
        if i % 100 == 99:
            sw.flush(10)  # type: ignore[attr-defined]
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def tqdm_notebook_row(null: io.TextIOBase) -> tuple[str, str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from tqdm.notebook import tqdm as tqdm_notebook

            with contextlib.redirect_stdout(null):  # without a kernel it prints its repr
                for _ in tqdm_notebook(range(10), file=null):
                    pass
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot run headless"
        return "n/a", f"does not run headless: {type(exc).__name__}: {str(exc)[:80]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(null):
            ns = per_item(loop(lambda: tqdm_notebook(range(N), file=null)), N)
    return f"{ns:.1f}", "widget built without a kernel (no comm): the Python side only"


def main() -> None:
    from servers import JupyterServer
    from tqdm import tqdm

    import sse_widgets.publisher as sw

    for name in ("SSE_WIDGETS_URL", "SSE_WIDGETS_KEY"):
        os.environ.pop(name, None)
    os.environ["JUPYTER_RUNTIME_DIR"] = "/nonexistent"  # "no hub" must mean no hub
    null = open(os.devnull, "w")  # noqa: SIM115
    rows: list[tuple[str, str, str]] = []
    base = per_item(bare, N)
    rows.append(("bare `for _ in range(N)`", f"{base:.1f}", "—"))

    no_hub = per_item(loop(lambda: sw.progress(range(N), file=null)), N)
    rows.append(("`sw.progress(range(N))`, no hub (text bar to a null file)", f"{no_hub:.1f}", f"{no_hub - base:+.1f}"))
    no_hub_gen = per_item(loop(lambda: sw.progress((i for i in range(N)), total=N, file=null)), N)
    gen_base = per_item(loop(lambda: (i for i in range(N))), N)
    rows.append(("generator, bare", f"{gen_base:.1f}", "—"))
    rows.append(("`sw.progress(generator)`, no hub", f"{no_hub_gen:.1f}", f"{no_hub_gen - gen_base:+.1f}"))

    std = per_item(loop(lambda: tqdm(range(N), file=null)), N)
    rows.append(("tqdm (std) to a null file", f"{std:.1f}", f"{std - base:+.1f}"))
    nb, note = tqdm_notebook_row(null)
    rows.append((f"tqdm.notebook ({note})", nb, f"{float(nb) - base:+.1f}" if nb != "n/a" else "n/a"))

    with JupyterServer() as server:
        sw.connect(server.url, server.key)
        hub = per_item(loop(lambda: sw.progress(range(N))), N)
        rows.append(("`sw.progress(range(N))`, with a live hub", f"{hub:.1f}", f"{hub - base:+.1f}"))
        median, p99 = metric_cost(sw)
        sw.flush(30)

    print(f"N = {N:,} iterations, best of {REPEATS}; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print("| loop | ns / iteration | overhead vs bare |")
    print("|---|---:|---:|")
    for name, ns, over in rows:
        print(f"| {name} | {ns} | {over} |")
    ratio = (hub - base) / (std - base) if std > base else float("nan")
    print(f"\nsw.progress overhead / tqdm overhead (with hub): {ratio:.2f} (target ≤ 0.5)\n")
    print("| call | median | p99 |")
    print("|---|---:|---:|")
    print(f"| `sw.metric('bench', x=j, loss=..., acc=...)`, live hub | {median:.0f} ns | {p99:.0f} ns |")


if __name__ == "__main__":
    main()
