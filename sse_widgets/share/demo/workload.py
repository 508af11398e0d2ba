"""The demo's simulated workload: a training run (curves, epochs, a toast per epoch) and a
data pipeline whose shards run in worker processes with nested progress (one sometimes
fails). It repeats until stopped; it only uses the public kernel-side API.

    SSE_WIDGETS_URL=... SSE_WIDGETS_KEY=... python -m sse_widgets.share.demo.workload
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import random
import threading
import time

import sse_widgets as sw

EPOCHS = 4
STEPS_PER_EPOCH = 150
SHARDS = 9
WORKERS = 3


def train(run: int, rng: random.Random) -> None:
    """A model whose loss falls and accuracy rises, noisily; validation once per epoch.

    Each run starts its step count again, as a real training script would; the chart
    starts over when x goes back.
    """
    step = 0
    with sw.progress(total=EPOCHS, desc=f"run {run} · training", unit="epoch") as epochs:
        for epoch in range(1, EPOCHS + 1):
            for _ in sw.progress(range(STEPS_PER_EPOCH), desc=f"epoch {epoch}", unit="batch"):
                step += 1
                loss = 1.6 * math.exp(-step / 180) + 0.12 + rng.gauss(0, 0.04)
                acc = 0.93 - 0.8 * math.exp(-step / 160) + rng.gauss(0, 0.015)
                sw.metric("train", x=step, loss=max(loss, 0.01), acc=min(max(acc, 0.0), 1.0))
                time.sleep(0.03)
            val_loss = 1.6 * math.exp(-step / 200) + 0.16 + rng.gauss(0, 0.02)
            val_acc = 0.91 - 0.8 * math.exp(-step / 180) + rng.gauss(0, 0.01)
            sw.metric("train", x=step, val_loss=val_loss, val_acc=val_acc)
            epochs.update(1)
            sw.notify(f"val accuracy {val_acc:.3f}, val loss {val_loss:.3f}",
                      title=f"run {run} · epoch {epoch} done", level="success")


def shard(job: tuple[int, int, str, int]) -> str | None:
    """One shard in a worker process: its own progress bar under the pipeline's."""
    _run, number, parent, seed = job
    rng = random.Random(seed)
    records = rng.randint(60, 140)
    broken = rng.random() < 0.15
    try:
        for i in sw.progress(range(records), desc=f"shard {number}", unit="rec", parent=parent):
            time.sleep(rng.uniform(0.01, 0.05))
            if broken and i == records // 2:
                raise ValueError(f"shard {number}: record {i} is corrupt")
    except ValueError as exc:
        return str(exc)
    return None


def pipeline(run: int, rng: random.Random) -> None:
    """Shards spread over a pool of worker processes; a toast when a shard fails."""
    with sw.progress(total=SHARDS, desc=f"run {run} · pipeline", unit="shard") as bar:
        jobs = [(run, n, bar.task, rng.randrange(1 << 30)) for n in range(1, SHARDS + 1)]
        failures = 0
        with multiprocessing.Pool(WORKERS) as pool:
            for error in pool.imap_unordered(shard, jobs):
                bar.update(1)
                if error:
                    failures += 1
                    sw.notify(error, title=f"run {run} · pipeline", level="error", timeout_ms=8000)
    level = "warning" if failures else "success"
    sw.notify(f"{SHARDS - failures} of {SHARDS} shards processed", title=f"run {run} · pipeline done", level=level)


def main() -> None:
    rng = random.Random(42)
    for run in itertools.count(1):
        trainer = threading.Thread(target=train, args=(run, random.Random(rng.random())))
        trainer.start()
        pipeline(run, random.Random(rng.random()))
        trainer.join()
        sw.flush()
        time.sleep(2)


if __name__ == "__main__":
    main()
