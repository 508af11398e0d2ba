"""Fan-out benchmark: sse-widgets against the seed's Express and Starlette designs (and
Nchan where installed), same loads, same clients, one run. Prints markdown tables.

    python benchmarks/fanout.py [--subscribers 1000] [--repeats 3] [--only sse-widgets,seed-express]
    python benchmarks/fanout.py --scenarios storm --storm-clients 1000,3000,10000
    python benchmarks/fanout.py --markdown     # only what the README carries, to paste as is

blast:  N subscribers; 2,000 events published in 100-event batches, each request waiting
        for its reply; delivered events/s (deliveries over all subscribers) and
        publish-to-receive latency (p50/p99, from 20 sampled subscribers). A blast that
        has not delivered everything within 120 s says so in its cell.
steady: N subscribers; 1,000 events/s offered as 10-event batches every 10 ms by a
        publisher that waits for each reply; the event rate actually sustained, the share
        delivered, and p50/p99 publish-to-receive latency over every delivery to every
        subscriber. The client is ``steadyclient.c`` (C, epoll; ``--steady-client python``
        runs the Python one, which reads latency on 20 streams only): the publisher stamps
        each batch with its wall clock as it sends it, and each subscriber reads that stamp
        back from the event right after the ``recv`` that got it: one clock, one process.
        The servers' CPU share (of one core) is measured meanwhile (see ``_steady.py``).
storm:  1,000, 3,000 and 10,000 clients connecting at the same instant to a channel that
        retains 10 events (``--storm-only`` peers: sse-widgets, seed-express, nchan); the
        time until every client has a 200 and its replay, errors by kind, the server's
        memory per open stream and whether heartbeats stay on time (see ``_storm.py``).
        Needs a C compiler (the client is ``stormclient.c``); raises RLIMIT_NOFILE to the
        hard limit first, and the table says what it was.

Each figure is the median over ``--repeats`` runs (peers interleaved, so that a busy spell
on the machine falls on all of them), with the largest deviation of a run from it. The
"client CPU" column is the load client's own CPU share of one core: near 100%, the client
is what limits the row (on 2 cores, a client that takes one leaves the server the other). A peer that fails to start or run loses only its own cells.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _loadclient import LOOP, blast, run, steady
from _report import cell, note, run_line, table
from _servers import (
    Nchan,
    SeedExpress,
    SeedPython,
    Server,
    SSEWidgets,
    SSEWidgetsRedis,
    SSEWidgetsRedisPair,
)
from _steady import CLIENT_NAME as STEADY_C_CLIENT
from _steady import client as steady_client
from _steady import steady as steady_c
from _storm import NoCompiler, StormRuns, build_client, raise_nofile, run_storm, storm_report

SERVERS = {
    "sse-widgets": SSEWidgets,
    "sse-widgets+redis": SSEWidgetsRedis,
    "sse-widgets+redis x2": SSEWidgetsRedisPair,
    "seed-express": SeedExpress,
    "seed-python": SeedPython,
    "nchan": Nchan,
}


Results = dict[str, list[dict[str, float]]]


def run_one(make: type[Server], args: argparse.Namespace, results: Results) -> None:
    """One repeat of the fan-out scenarios on a fresh server each, appended to ``results``."""
    for scenario in [s for s in ("blast", "steady") if s in args.scenarios]:
        server: Server | None = None
        try:
            server = make()
            server.start()
            target = server.target()
            if scenario == "blast":
                figures = run(blast(target, args.subscribers, args.events, args.batch))
            elif args.steady_binary is not None:
                figures = steady_c(args.steady_binary, target, server.process_groups(), args.subscribers,
                                   args.rate, 10, args.duration)
            else:
                figures = run(steady(target, args.subscribers, args.rate, 10, args.duration))
            results.setdefault(scenario, []).append(figures)
            note(f"  {make.name} {scenario}: " + ", ".join(f"{k}={v:.4g}" for k, v in figures.items()))
        except Exception as exc:  # noqa: BLE001 - one peer failing must not lose the others' figures
            note(f"  {make.name} {scenario}: failed: {type(exc).__name__}: {exc}")
        finally:
            if server is not None:
                server.stop()


def values(runs: list[dict[str, float]], key: str) -> list[float]:
    return [r[key] for r in runs if key in r]


def blast_rate(runs: list[dict[str, float]]) -> str:
    """The delivery rate, or what an unfinished blast delivered: it has no rate to report."""
    if not runs:
        return "failed"
    unfinished = [r for r in runs if not r.get("complete")]
    if unfinished:
        worst = min(r["delivered_fraction"] for r in unfinished)
        return f"unfinished in {len(unfinished)}/{len(runs)} runs ({worst:.1%} delivered)"
    return cell(values(runs, "delivered_per_s"), ",.0f")


def client_cpu(runs: list[dict[str, float]], key: str = "client_cpu") -> str:
    return cell([100 * v for v in values(runs, key)], ".0f", "%")


def report(table_: dict[str, Results], args: argparse.Namespace) -> str:
    """The markdown the README carries: the run line, the table and the comparisons."""
    rows = []
    for name, result in table_.items():
        b, s = result.get("blast", []), result.get("steady", [])
        rows.append([
            SERVERS[name].label, blast_rate(b),
            cell(values(b, "p50_ms"), ".1f"), cell(values(b, "p99_ms"), ".1f"), client_cpu(b),
            cell(values(s, "sustained_events_per_s"), ",.0f"),
            cell([100 * v for v in values(s, "delivered_fraction")], ".1f", "%"),
            cell(values(s, "p50_ms"), ".1f"), cell(values(s, "p99_ms"), ".1f"), client_cpu(s),
            *([client_cpu(s, "server_cpu")] if args.steady_binary is not None else []),
        ])
    out = [
        run_line(args.repeats),
        "",
        (f"{args.subscribers:,} subscribers. *blast*: {args.events:,} events in {args.batch}-event "
        f"batches, load client Python on {LOOP}, latency read on 20 streams. *steady*: "
        f"{args.rate:,} events/s offered as 10-event batches for {args.duration:g} s, "
        + (f"load client {STEADY_C_CLIENT} (`benchmarks/steadyclient.c`), latency over every "
           "delivery: the publish time the client stamps on each batch as it sends it, against "
           "its own clock right after the `recv` that got the event. Server CPU: the server's "
           "processes (and Redis), of one core."
           if args.steady_binary is not None else
           f"load client Python on {LOOP}, latency read on 20 streams.")
        + " Every client on the same machine."),
        "",
        table(["server", "blast delivered/s", "blast p50 ms", "blast p99 ms", "blast client CPU",
               "steady sustained ev/s", "steady delivered", "steady p50 ms", "steady p99 ms",
               "steady client CPU", *(["steady server CPU"] if args.steady_binary is not None else [])],
              "l" + "r" * (len(rows[0]) - 1 if rows else 9), rows),
    ]

    def median_of(name: str, scenario: str, key: str) -> float | None:
        runs = table_.get(name, {}).get(scenario, [])
        if not runs or any(not r.get("complete", 1.0) for r in runs):
            return None
        found = sorted(values(runs, key))
        return found[len(found) // 2] if found else None

    comparisons: list[tuple[str, str, str, Callable[[float], str]]] = [
        ("sse-widgets", "seed-express", "blast",
         lambda r: f"sse-widgets delivers {r:.1f}× as much as seed-express in *blast* (target ≥ 8×)"),
        ("sse-widgets+redis", "sse-widgets", "blast",
         lambda r: f"one server on Redis keeps {r:.0%} of the in-memory *blast* rate"),
    ]
    lines = []
    for ours, theirs, scenario, say in comparisons:
        a = median_of(ours, scenario, "delivered_per_s")
        b = median_of(theirs, scenario, "delivered_per_s")
        if a and b:
            lines.append(f"- {say(a / b)}.")
    ours_steady = median_of("sse-widgets", "steady", "sustained_events_per_s")
    redis_steady = median_of("sse-widgets+redis", "steady", "sustained_events_per_s")
    if ours_steady and redis_steady:
        lines.append(f"- one server on Redis keeps {redis_steady / ours_steady:.0%} of the "
                     "in-memory *steady* rate (target ≥ 50%).")
    p99 = median_of("sse-widgets", "steady", "p99_ms")
    if ours_steady and p99:
        lines.append(f"- sse-widgets sustains {ours_steady:,.0f} of {args.rate:,} events/s offered in "
                     f"*steady*, p99 {p99:.0f} ms (target: all of it, p99 ≤ 25 ms).")
    if lines:
        out += ["", *lines]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=",".join(SERVERS))
    parser.add_argument("--scenarios", default="blast,steady,storm",
                        help="which of blast, steady, storm to run (comma-separated)")
    parser.add_argument("--storm-clients", default="1000,3000,10000",
                        help="clients per storm, one table row each (comma-separated)")
    parser.add_argument("--storm-only", default=",".join(STORM_SERVERS),
                        help="servers the storm runs against (of those in --only)")
    parser.add_argument("--storm-retained", type=int, default=10,
                        help="events the channel retains, which each storm client must receive")
    parser.add_argument("--storm-timeout", type=float, default=60.0,
                        help="seconds a storm client may take before it counts as an error")
    parser.add_argument("--steady-client", choices=("c", "python"), default="c",
                        help="the steady scenario's load client: steadyclient.c (built with the "
                             "machine's C compiler; Python if there is none) or _loadclient.py")
    parser.add_argument("--markdown", action="store_true",
                        help="print only the README's markdown (per-run figures go to stderr anyway)")
    args = parser.parse_args()
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    names = server_names(parser, args.only)
    storm_names = [n for n in server_names(parser, args.storm_only) if n in names]
    args.steady_binary = None
    if args.steady_client == "c" and "steady" in args.scenarios:
        try:
            args.steady_binary = steady_client()
        except NoCompiler as exc:
            note(f"steady: {exc}; the Python client runs it instead")
    if not args.markdown:
        print("Per-run figures go to stderr. The README's markdown follows each table.\n")
    if "blast" in args.scenarios or "steady" in args.scenarios:
        results: dict[str, Results] = {name: {} for name in names}
        for repeat in range(args.repeats):
            for name in names:
                note(f"run {repeat + 1}/{args.repeats}: {name}...")
                run_one(SERVERS[name], args, results[name])
        print(report(results, args))
    if "storm" in args.scenarios:
        storms(args, storm_names)


STORM_SERVERS = ("sse-widgets", "seed-express", "nchan")


def server_names(parser: argparse.ArgumentParser, listed: str) -> list[str]:
    """The servers named in ``listed`` that can run here (nchan needs nginx with its module)."""
    names = [n for n in listed.split(",") if n]
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        parser.error(f"unknown server(s) {', '.join(unknown)}; known: {', '.join(SERVERS)}")
    if "nchan" in names and not Nchan.available():
        note("nchan: nginx with the nchan module is not installed (Debian: nginx-light "
             "libnginx-mod-nchan); skipped")
        names.remove("nchan")
    return names


def storms(args: argparse.Namespace, names: list[str]) -> None:
    """The storm table: every size against every server, peers interleaved per repeat."""
    try:
        client = build_client()
    except NoCompiler as exc:
        note(f"storm: {exc}; skipped")
        return
    nofile = raise_nofile()  # before any server starts: they inherit it
    sizes = [int(n) for n in args.storm_clients.split(",") if n]
    too_many = [n for n in sizes if n + 64 > nofile[1]]
    if too_many:
        note(f"storm: RLIMIT_NOFILE is {nofile[1]:,} (hard limit {nofile[2]:,}); storms of "
             f"{', '.join(f'{n:,}' for n in too_many)} clients will run out of file descriptors")
    runs: StormRuns = {}
    for repeat in range(args.repeats):
        for clients in sizes:
            for name in names:
                note(f"storm run {repeat + 1}/{args.repeats}: {name}, {clients:,} clients...")
                run_storm(client, SERVERS[name], clients, args.storm_retained, args.storm_timeout, runs)
    labels = {name: SERVERS[name].label for name in names}
    print()
    print(storm_report(runs, names, sizes, labels, args.repeats, args.storm_retained, nofile))


if __name__ == "__main__":
    main()
