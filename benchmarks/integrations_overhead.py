"""What the logging handler and the Keras callback add per call, against a live hub.

Run: ``KERAS_BACKEND=jax python benchmarks/integrations_overhead.py``. Starts a real
``jupyter server`` with the extension, and prints markdown tables.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("KERAS_BACKEND", "jax")

CALLS = 50_000
REPEATS = 5


def best(run: Callable[[], None], repeats: int = REPEATS) -> float:
    """Best wall time of ``repeats`` runs, in seconds (the least disturbed by the machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def logging_rows(sw: object) -> list[tuple[str, float]]:
    log = logging.getLogger("bench")
    log.propagate = False
    log.setLevel(logging.INFO)

    def emit() -> None:
        for i in range(CALLS):
            log.info("step %d loss %.3f", i, 0.5)

    rows = []
    log.addHandler(logging.NullHandler())
    rows.append(("`log.info`, a NullHandler", best(emit) / CALLS * 1e6))
    null = open(os.devnull, "w")  # noqa: SIM115
    stream = logging.StreamHandler(null)
    stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log.handlers = [stream]
    rows.append(("`log.info`, a StreamHandler to a null file", best(emit) / CALLS * 1e6))
    log.handlers = []
    with sw.capture_logging("INFO", loggers="bench", channel="bench/logs"):  # type: ignore[attr-defined]
        rows.append(("`log.info`, `sw.LogHandler`, live hub", best(emit) / CALLS * 1e6))
        sw.flush(30)  # type: ignore[attr-defined]
    return rows


def keras_rows() -> list[tuple[str, float]]:
    import keras
    import numpy as np

    from sse_widgets.integrations import KerasCallback

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1600, 8)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    steps = 3 * 1600 // 8

    def fit(callbacks: list[object], verbose: int = 0) -> Callable[[], None]:
        def run() -> None:
            with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
                model.fit(x, y, epochs=3, batch_size=8, verbose=verbose, callbacks=callbacks)

        return run

    fit([])()  # compile once
    rows = [
        ("`model.fit`, no callback, `verbose=0`", fit([])),
        ("`model.fit`, Keras's own bar (`verbose=1`, to a null file)", fit([], verbose=1)),
        ("`model.fit`, `KerasCallback()`", fit([KerasCallback("bench/keras", notify_channel=None)])),
        ("`model.fit`, `KerasCallback(every=10)`", fit([KerasCallback("bench/keras", notify_channel=None, every=10)])),
    ]
    return [(name, best(run, 3) / steps * 1e6) for name, run in rows]


def main() -> None:
    from servers import JupyterServer

    import sse_widgets as sw

    with JupyterServer() as server:
        sw.connect(server.url, server.key)
        logs = logging_rows(sw)
        keras = keras_rows()
        sw.flush(30)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; best of {REPEATS} ({CALLS:,} calls) / best of 3 fits\n")
    print("| call | µs per call |")
    print("|---|---:|")
    for name, us in logs:
        print(f"| {name} | {us:.2f} |")
    print("\n| Keras on JAX, 600 steps of a 2-layer model | µs per step |")
    print("|---|---:|")
    for name, us in keras:
        print(f"| {name} | {us:.0f} |")
    print(f"\nKerasCallback adds {keras[2][1] - keras[0][1]:.0f} µs per step; Keras's own bar adds {keras[1][1] - keras[0][1]:.0f}")


if __name__ == "__main__":
    main()
