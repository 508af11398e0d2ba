"""Feed ``voila_dashboard.ipynb`` from outside Jupyter: a simulated nightly import job.

    sse-widgets serve notebooks/voila_dashboard.ipynb     # prints two export lines
    export SSE_WIDGETS_URL=... SSE_WIDGETS_KEY=...        # in another shell, a cron job...
    python notebooks/producer.py

Four sources are read in batches. Each batch adds a point to the throughput charts (rows
per second and the share of rejected rows, x = the batch's number), each source has a bar
under the job's bar, and a notification says when a source is loaded (a warning when it
rejected too many rows). It publishes a bounded amount, then waits until the hub has
everything and exits: 0 when every event arrived, 1 otherwise, 2 with no hub to talk to.

The bars have fixed task ids (``import``, ``import/<source>``): run it again and the board
shows the new run in place of the old one, as a nightly job should.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import sse_widgets as sw

#: Source name -> (rows per batch, typical rows per second, typical rejected share in %).
SOURCES: dict[str, tuple[int, float, float]] = {
    "orders": (2_000, 5_200.0, 0.4),
    "customers": (500, 1_800.0, 0.2),
    "inventory": (1_200, 3_100.0, 0.6),
    "payments": (1_500, 4_400.0, 0.3),
}
#: Above this share of rejected rows, a source's notification is a warning.
REJECTED_WARNING_PCT = 1.5
THROUGHPUT = "etl/throughput"
PROGRESS = "etl/progress"
NOTIFY = "etl/notify"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=30, help="batches per source (default 30)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds per batch (default 0.2)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the simulated data")
    args = parser.parse_args(argv)
    if not 1 <= args.batches <= 10_000:
        parser.error("--batches must be between 1 and 10000")
    if not 0 <= args.interval <= 60:
        parser.error("--interval must be between 0 and 60 seconds")
    return args


def load(source: str, batches: int, interval: float, first_x: int, job: sw.progress, rng: random.Random) -> int:
    """Read one source batch by batch; return the number of the last batch published."""
    rows_per_batch, speed, rejected = SOURCES[source]
    total_rejected = 0
    x = first_x
    with sw.progress(total=rows_per_batch * batches, desc=source, unit="rows", channel=PROGRESS,
                     task=f"import/{source}", parent=job) as bar:
        for batch in range(batches):
            time.sleep(interval)
            # A bad stretch in the middle of "payments": slower, and many rows rejected.
            trouble = source == "payments" and batches // 3 <= batch < batches // 2
            rows_per_s = rng.gauss(speed * (0.45 if trouble else 1.0), speed * 0.06)
            rejected_pct = max(0.0, rng.gauss(rejected * (8 if trouble else 1), rejected * 0.3))
            total_rejected += round(rows_per_batch * rejected_pct / 100)
            x += 1
            sw.metric(THROUGHPUT, x=x, rows_per_s=round(rows_per_s, 1), rejected_pct=round(rejected_pct, 3))
            bar.update(rows_per_batch)
    share = 100 * total_rejected / (rows_per_batch * batches)
    level = "warning" if share > REJECTED_WARNING_PCT else "success"
    sw.notify(f"{rows_per_batch * batches:,} rows read, {total_rejected:,} rejected ({share:.2f}%)",
              title=f"{source} loaded", level=level, channel=NOTIFY)
    return x


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = sw.connection_info()
    if info.url is None:
        print("producer: no hub to publish to. Start the dashboard with\n"
              "  sse-widgets serve notebooks/voila_dashboard.ipynb\n"
              "and run this with the two 'export SSE_WIDGETS_URL=... SSE_WIDGETS_KEY=...' lines it "
              "prints.", file=sys.stderr)
        return 2
    print(f"producer: publishing to {info.url}", file=sys.stderr)
    rng = random.Random(args.seed)
    started = time.monotonic()
    x = 0
    with sw.progress(total=len(SOURCES), desc="nightly import", unit="source", channel=PROGRESS,
                     task="import", parent=None) as job:
        for source in SOURCES:
            x = load(source, args.batches, args.interval, x, job, rng)
            job.update(1)
    rows = sum(rows for rows, _, _ in SOURCES.values()) * args.batches
    sw.notify(f"{rows:,} rows from {len(SOURCES)} sources in {time.monotonic() - started:.1f} s",
              title="import finished", level="info", channel=NOTIFY)
    report = sw.flush(timeout=30)
    if not report.ok:
        print(f"producer: not everything reached the hub: {report}", file=sys.stderr)
        return 1
    print(f"producer: done, {report.delivered} events delivered", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
