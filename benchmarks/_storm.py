"""The storm scenario: N clients connecting to one server at the same instant.

The clients are ``stormclient.c`` (C, epoll), built here with the machine's C compiler into
a cache folder, so that the client is not what limits a 10,000-client storm on two cores.
Each client counts as done once it has a 200 and the events it is owed (the channel's
retained events, or the peer's greeting when it keeps none); the figures are the time until
the last is done and the errors by kind.

Each side of 10,000 sockets needs 10,000 file descriptors: ``raise_nofile`` lifts this
process's soft RLIMIT_NOFILE to its hard limit before any server starts, so that the servers
(children inherit it) and the client (it raises its own too) can hold them; the table says
what limit the run had.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from _report import cell, note, run_line, summary, table
from _servers import Server, SSEWidgets

SOURCE = Path(__file__).with_name("stormclient.c")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sse-widgets-bench"


class NoCompiler(RuntimeError):
    """No C compiler on this machine: the storm table cannot be measured."""


def build_client(source: Path = SOURCE) -> Path:
    """A C load client's executable (the storm client by default), compiled once per
    version of its source."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    binary = CACHE / f"{source.stem}-{digest}"
    if binary.exists():
        return binary
    compiler = next((c for c in (os.environ.get("CC"), "cc", "gcc", "clang") if c and shutil.which(c)), None)
    if compiler is None:
        raise NoCompiler(f"benchmarks/{source.name} needs a C compiler "
                         "(apt-get install gcc, or set CC)")
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(".partial")
    built = subprocess.run([compiler, "-O2", "-o", str(partial), str(source)], check=False,
                           capture_output=True, text=True)
    if built.returncode != 0:
        raise NoCompiler(f"{compiler} could not build {source.name}:\n{built.stderr}")
    partial.replace(binary)
    return binary


def raise_nofile() -> tuple[int, int, int]:
    """Lift the soft RLIMIT_NOFILE to the hard limit; returns (soft before, soft, hard)."""
    before, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(before, 1 << 20)
    if before < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return before, soft, hard


def settled_rss_kib(pgid: int, timeout: float = 10.0) -> int:
    """The group's RSS once it has stopped changing (a server frees much of what its start
    used within a second or two), or after ``timeout``."""
    deadline = time.monotonic() + timeout
    previous = group_rss_kib(pgid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = group_rss_kib(pgid)
        if current == previous:
            return current
        previous = current
    return previous


def group_processes(pgids: set[int]) -> Iterator[tuple[Path, list[str]]]:
    """Each live process in one of the process groups ``pgids`` (a server and its
    workers): its /proc directory and the fields of its ``stat`` after the command."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # Fields after the command (which may hold spaces) start after its last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) in pgids:
            yield entry, fields


def group_rss_kib(pgid: int) -> int:
    """The resident memory of every process in process group ``pgid``, in KiB, from /proc."""
    total = 0
    for entry, _ in group_processes({pgid}):
        try:
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total


@dataclass
class StormResult:
    """What one storm measured (the client's JSON lines, and the server's memory)."""

    figures: dict[str, float] = field(default_factory=dict)
    rss_before_kib: int = 0
    rss_after_kib: int = 0

    @property
    def all_done(self) -> bool:
        return self.figures.get("done") == self.figures.get("clients")

    @property
    def rss_per_stream_kib(self) -> float:
        done = self.figures.get("done", 0)
        return (self.rss_after_kib - self.rss_before_kib) / done if done else float("nan")


def storm(client: Path, port: int, path: str, clients: int, need: int, server_pgid: int,
          timeout: float = 60.0, hold: float = 0.0) -> StormResult:
    """Run one storm against 127.0.0.1:``port``; with ``hold``, keep the streams open that
    long after the last is done and measure the server's RSS with all of them open."""
    result = StormResult(rss_before_kib=settled_rss_kib(server_pgid))
    process = subprocess.Popen([str(client), str(port), path, str(clients), str(need), f"{timeout:g}",
                                f"{hold:g}"], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        first = process.stdout.readline()
        if not first:
            raise RuntimeError(f"the storm client printed nothing (exit {process.wait()})")
        result.figures.update(json.loads(first))
        if hold > 0:
            result.rss_after_kib = group_rss_kib(server_pgid)
            result.figures.update(json.loads(process.stdout.readline()))
        if process.wait(timeout + hold + 30) != 0:
            raise RuntimeError(f"the storm client failed (exit {process.returncode})")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return result


# --- the storm table ------------------------------------------------------------------


#: Heartbeat interval the storm's sse-widgets server runs with, and how long its streams
#: are held open after the storm: long enough for two heartbeats to be late or on time.
HEARTBEAT_S = 2.0
HOLD_S = 2.5 * HEARTBEAT_S
#: Hold for peers: long enough to read their memory with every stream open.
PEER_HOLD_S = 1.0
WARM_UP_CLIENTS = 50

StormRuns = dict[tuple[str, int], list[StormResult]]


def storm_server(make: type[Server], clients: int) -> Server:
    """The server for one storm: sse-widgets allowed ``clients`` streams, with heartbeats
    often enough that the hold sees whether they are on time."""
    if issubclass(make, SSEWidgets):
        return make([f"--SSEWidgetsApp.max_subscribers={clients + 100}",
                     f"--SSEWidgetsApp.heartbeat_interval={HEARTBEAT_S:g}"])
    return make()


def run_storm(client: Path, make: type[Server], clients: int, retained: int, timeout: float,
              runs: StormRuns) -> None:
    """One storm on a fresh server, appended to ``runs``; a peer that fails to start or
    run loses only its own row."""
    server: Server | None = None
    try:
        server = storm_server(make, clients)
        server.start()
        path, need = server.storm_stream(retained)
        assert server.process is not None
        hold = HOLD_S if issubclass(make, SSEWidgets) else PEER_HOLD_S
        # A few streams first, so that "RSS before" counts what the first requests load
        # once (code paths, caches) and the difference is what the streams themselves hold.
        storm(client, server.port, path, WARM_UP_CLIENTS, need, server.process.pid, timeout)
        result = storm(client, server.port, path, clients, need, server.process.pid, timeout, hold)
        runs.setdefault((make.name, clients), []).append(result)
        f = result.figures
        note(f"  {make.name} storm {clients:,}: done {f['done']:.0f}, all in {f['all_done_s']:.2f} s, "
             f"errors {f['errors']:.0f}, {result.rss_per_stream_kib:.1f} KiB/stream, "
             f"longest silence {f.get('hold_max_silence_s', float('nan')):.2f} s")
    except Exception as exc:  # noqa: BLE001 - one peer failing must not lose the others' rows
        note(f"  {make.name} storm {clients:,}: failed: {type(exc).__name__}: {exc}")
    finally:
        if server is not None:
            server.stop()


ERROR_KINDS = {"timed_out": "timed out", "err_connect": "connect", "err_reset": "reset",
               "err_closed": "closed early", "err_status": "non-200", "err_socket": "no socket"}


def errors_cell(results: list[StormResult]) -> str:
    """The errors of the worst run, by kind: ``0``, or ``2,344 (timed out 2,344)``."""
    worst = max(results, key=lambda r: r.figures.get("errors", 0))
    total = int(worst.figures.get("errors", 0))
    if total == 0:
        return "0"
    kinds = ", ".join(f"{label} {int(worst.figures[k]):,}" for k, label in ERROR_KINDS.items()
                      if worst.figures.get(k))
    return f"{total:,} ({kinds})" + ("" if len(results) == 1 else " in the worst run")


def all_done_cell(results: list[StormResult]) -> str:
    unfinished = [r for r in results if not r.all_done]
    if unfinished:
        fewest = min(int(r.figures.get("done", 0)) for r in unfinished)
        return f"unfinished in {len(unfinished)}/{len(results)} runs ({fewest:,} done)"
    return cell([r.figures["all_done_s"] for r in results], ".2f")


def median_all_done(results: list[StormResult]) -> float | None:
    if not results or not all(r.all_done for r in results):
        return None
    return summary([r.figures["all_done_s"] for r in results])[0]


def storm_report(runs: StormRuns, names: list[str], sizes: list[int], labels: dict[str, str],
                 repeats: int, retained: int, nofile: tuple[int, int, int]) -> str:
    """The storm table's markdown: the run line, what was measured, the rows, the ratios."""
    before, soft, hard = nofile
    rows = []
    for clients in sizes:
        for name in names:
            results = runs.get((name, clients), [])
            if not results:
                rows.append([labels[name], f"{clients:,}", "failed", "", "", "", "", ""])
                continue
            silences = [r.figures["hold_max_silence_s"] for r in results if name.startswith("sse-widgets")]
            rows.append([
                labels[name], f"{clients:,}", all_done_cell(results),
                cell([r.figures["p50_s"] for r in results if r.figures.get("p50_s", -1) >= 0], ".2f"),
                errors_cell(results),
                cell([r.rss_per_stream_kib for r in results if r.figures.get("done")], ".1f"),
                cell(silences, ".2f") if silences else "—",
                cell([100 * r.figures["client_cpu_s"] / max(r.figures["elapsed_s"], 1e-9) for r in results],
                     ".0f", "%"),
            ])
    raised = f"raised from {before:,}" if before < soft else "not raised: it was already there"
    out = [
        run_line(repeats),
        "",
        (f"*storm*: N clients connect at the same instant (one C epoll client, "
         f"`benchmarks/stormclient.c`, on the same machine); a client is done once it has a 200 "
         f"and the {retained} events the channel retains (sse-widgets with `last_event_id=0`, "
         f"nchan from its oldest message; seed-express keeps no history, so its greeting event). "
         f"Errors: dial timeouts, resets, non-200, streams closed early, clients not done within "
         f"the timeout. Memory: the server's RSS with every stream open, less its RSS before, per "
         f"stream. Longest silence: sse-widgets runs with {HEARTBEAT_S:g} s heartbeats and the "
         f"streams are held {HOLD_S:g} s after the storm; on time, no stream hears nothing for "
         f"much longer than {HEARTBEAT_S:g} s. RLIMIT_NOFILE for the servers and the client: "
         f"{soft:,} (hard limit {hard:,}; {raised})."),
        "",
        table(["server", "clients", "all done, s", "p50 done, s", "errors", "RSS per stream, KiB",
               "longest silence, s", "client CPU"], "lrrrrrrr", rows),
    ]
    lines = []
    for clients, target in ((3000, 1.25), (10000, 1.5)):
        ours = median_all_done(runs.get(("sse-widgets", clients), []))
        theirs = median_all_done(runs.get(("seed-express", clients), []))
        if ours and theirs:
            lines.append(f"- {clients:,} clients: sse-widgets takes {ours / theirs:.2f}× seed-express's "
                         f"time to have them all (target ≤ {target}×).")
    if lines:
        out += ["", *lines]
    return "\n".join(out)
