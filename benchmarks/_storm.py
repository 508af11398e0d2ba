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
from dataclasses import dataclass, field
from pathlib import Path

SOURCE = Path(__file__).with_name("stormclient.c")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sse-widgets-bench"


class NoCompiler(RuntimeError):
    """No C compiler on this machine: the storm table cannot be measured."""


def build_client() -> Path:
    """The storm client's executable, compiled once per version of its source."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    binary = CACHE / f"stormclient-{digest}"
    if binary.exists():
        return binary
    compiler = next((c for c in (os.environ.get("CC"), "cc", "gcc", "clang") if c and shutil.which(c)), None)
    if compiler is None:
        raise NoCompiler("the storm table needs a C compiler to build benchmarks/stormclient.c "
                         "(apt-get install gcc, or set CC); skipped")
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(".partial")
    built = subprocess.run([compiler, "-O2", "-o", str(partial), str(SOURCE)], check=False,
                           capture_output=True, text=True)
    if built.returncode != 0:
        raise NoCompiler(f"{compiler} could not build {SOURCE.name}:\n{built.stderr}")
    partial.replace(binary)
    return binary


def raise_nofile() -> tuple[int, int]:
    """Lift the soft RLIMIT_NOFILE to the hard limit; returns (soft, hard) after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def group_rss_kib(pgid: int) -> int:
    """The resident memory of every process in process group ``pgid`` (a server and its
    workers), in KiB, from /proc."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # Fields after the command (which may hold spaces) start after its last ')'.
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) != pgid:
                continue
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
    result = StormResult(rss_before_kib=group_rss_kib(server_pgid))
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
