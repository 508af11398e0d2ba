"""The steady scenario on the compiled client: ``steadyclient.c`` subscribes and publishes.

The Python client (``_loadclient.steady``) needs about half a core or more for 1,000
streams at 1,000 events/s, on a 2-core machine whose other core the server needs; its
latencies are also read only on 20 streams, the first to connect (which the hub writes to
first in each pass). The C client takes a few percent of a core and reads the publish time
of every event on every stream, so its percentiles cover every delivery. This module builds
the requests for one batch (the target's own bodies, with a placeholder where each event's
publish time goes), runs the client, and reads the servers' CPU time meanwhile.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from _loadclient import Target
from _storm import build_client, group_processes

SOURCE = Path(__file__).with_name("steadyclient.c")
#: What the client writes each batch's publish time over (17 characters, as "%.6f" of now).
STAMP = 1111111111.111111
CLIENT_NAME = "C (epoll), on the same machine"


def client() -> Path:
    """The compiled steady client; raises ``NoCompiler`` without a C compiler."""
    return build_client(SOURCE)


def batch_requests(target: Target, batch: int) -> list[str]:
    """The HTTP requests that publish one batch to ``target``, as the Python client sends
    them (``Publisher._post``), with ``STAMP`` where each event's time goes."""
    items: list[dict[str, object]] = [{"t": STAMP, "i": k, "values": {"loss": 0.25, "acc": 0.875}}
                                      for k in range(batch)]
    extra = "".join(f"{k}: {v}\r\n" for k, v in target.pub_headers.items())
    requests = []
    for body in target.bodies(items):
        if repr(STAMP).encode() not in body:
            raise ValueError(f"{target.name}: the request body does not carry the publish time as sent")
        requests.append(f"POST {target.pub_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
                        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                        + body.decode())
    return requests


def process_group_cpu_s(pgids: list[int]) -> float:
    """CPU seconds (user and system) used so far by every process in ``pgids``, from /proc."""
    total = sum(int(fields[11]) + int(fields[12]) for _, fields in group_processes(set(pgids)))
    return total / os.sysconf("SC_CLK_TCK")


def steady(binary: Path, target: Target, server_pgids: list[int], subscribers: int, rate: int,
           batch: int, duration: float) -> dict[str, float]:
    """One steady run; the client's figures, and ``server_cpu``: the servers' CPU share of
    one core while the batches went out and arrived."""
    ports = ",".join(str(p) for p in target.sub_ports) or "-"
    process = subprocess.Popen(
        [str(binary), str(target.port), target.sub_path, str(subscribers), ports, str(rate), str(batch),
         f"{duration:g}", *batch_requests(target, batch)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    try:
        started = process.stdout.readline()
        if '"publishing"' not in started:
            process.wait(30)
            raise RuntimeError(f"the steady client stopped: {process.stderr.read().strip() or started}")
        cpu0 = process_group_cpu_s(server_pgids)
        figures: dict[str, float] = json.loads(process.stdout.readline())
        cpu1 = process_group_cpu_s(server_pgids)
        if process.wait(30) != 0:
            raise RuntimeError(f"the steady client failed: {process.stderr.read().strip()}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # The client's own wall time is the span it measured; the servers' CPU is over about the same.
    span = figures.get("span_s", 0.0)
    if span > 0:
        figures["server_cpu"] = (cpu1 - cpu0) / span
    return figures
