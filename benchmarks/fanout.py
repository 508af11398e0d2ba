"""Fan-out benchmark: sse-widgets against the seed's Express and Starlette designs (and
Nchan where installed), same loads, same client, one run. Prints a markdown table.

    python benchmarks/fanout.py [--subscribers 1000] [--only sse-widgets,seed-express]

blast:  N subscribers; 2,000 events published in 100-event batches, each request waiting
        for its reply; delivered events/s (deliveries over all subscribers) and
        publish-to-receive latency (p50/p99, from 20 sampled subscribers).
steady: N subscribers; 1,000 events/s offered as 10-event batches every 10 ms by a
        publisher that waits for each reply; the event rate actually sustained, the share
        delivered, and p50/p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _loadclient import blast, steady
from _servers import (
    Nchan,
    SeedExpress,
    SeedPython,
    Server,
    SSEWidgets,
    SSEWidgetsRedis,
    SSEWidgetsRedisPair,
)

SERVERS = {
    "sse-widgets": SSEWidgets,
    "sse-widgets+redis": SSEWidgetsRedis,
    "sse-widgets+redis x2": SSEWidgetsRedisPair,
    "seed-express": SeedExpress,
    "seed-python": SeedPython,
    "nchan": Nchan,
}


def run_one(make: type[Server], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    results = {}
    for scenario in ("blast", "steady"):
        server = make().start()
        try:
            target = server.target()
            if scenario == "blast":
                results[scenario] = asyncio.run(blast(target, args.subscribers, args.events, args.batch))
            else:
                results[scenario] = asyncio.run(steady(target, args.subscribers, args.rate, 10, args.duration))
        except Exception as exc:  # noqa: BLE001 - one peer failing must not lose the others' figures
            print(f"{make.name} {scenario}: failed: {exc}", file=sys.stderr)
        finally:
            server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--only", default=",".join(SERVERS))
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    table = {}
    for name in names:
        make = SERVERS[name]
        if make is Nchan and not Nchan.available():
            print("nchan: nginx with the nchan module is not installed; skipped", file=sys.stderr)
            continue
        print(f"running {name}...", file=sys.stderr, flush=True)
        table[name] = run_one(make, args)

    print(f"\n{args.subscribers} subscribers; blast: {args.events} events in {args.batch}-event batches; "
          f"steady: {args.rate} events/s offered in 10-event batches for {args.duration:g} s\n")
    print("| server | blast delivered/s | blast p50 ms | blast p99 ms | steady sustained ev/s | steady delivered | steady p50 ms | steady p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, result in table.items():
        b, s = result.get("blast", {}), result.get("steady", {})
        def f(d: dict[str, float], k: str, fmt: str) -> str:
            return format(d[k], fmt) if k in d else "failed"
        print(f"| {name} | {f(b, 'delivered_per_s', ',.0f')} | {f(b, 'p50_ms', '.1f')} | {f(b, 'p99_ms', '.1f')} | "
              f"{f(s, 'sustained_events_per_s', ',.0f')} | {f(s, 'delivered_fraction', '.1%')} | "
              f"{f(s, 'p50_ms', '.1f')} | {f(s, 'p99_ms', '.1f')} |")
    base = table.get("seed-express", {}).get("blast", {}).get("delivered_per_s")
    ours = table.get("sse-widgets", {}).get("blast", {}).get("delivered_per_s")
    if base and ours:
        print(f"\nsse-widgets blast delivery rate = {ours / base:.1f}x seed-express")
    on_redis = table.get("sse-widgets+redis", {}).get("blast", {}).get("delivered_per_s")
    if ours and on_redis:
        print(f"sse-widgets on Redis (one server) keeps {on_redis / ours:.0%} of the in-memory blast rate")


if __name__ == "__main__":
    main()
