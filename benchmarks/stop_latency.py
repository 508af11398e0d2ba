"""Stop latency: from the Stop request to the process learning it (on_cancel) and to sw.Cancelled in its loop.

Run: ``python benchmarks/stop_latency.py [--repeats 10]``. Starts a real ``jupyter server``
with the extension and, per repeat, a script in a separate process looping over
``sw.progress(range(10**6))`` with a 10 ms sleep per item, as a notebook cell would. When
its bar is running, it POSTs ``sse-widgets/api/cancel`` with the publish key (what the
Stop button does) and reads from the script the wall-clock time its ``on_cancel`` ran and
the time the loop raised ``sw.Cancelled``. Both processes are on this machine: one clock.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from servers import JupyterServer
from sse_client import SSEStream

SCRIPT = """
    import sys, time
    import sse_widgets as sw
    learned = []
    try:
        for i in sw.progress(range(10**6), channel="bench/stop", task=sys.argv[1],
                             on_cancel=lambda bar: learned.append(time.time())):
            time.sleep(0.01)
    except sw.Cancelled:
        print(learned[0], time.time(), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    learned, raised = [], []
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}}
    with JupyterServer() as server, SSEStream(server.url, ["bench/stop"], token=server.token) as stream:
        for i in range(args.repeats):
            task = f"run{i}"
            proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SCRIPT), task],
                                    env={**env, **server.env}, stdout=subprocess.PIPE, text=True)
            stream.read(lambda evs, task=task: any(e.json["data"].get("task") == task for e in evs), timeout=60)
            time.sleep(0.5)  # let the poll settle into its idle wait, the usual state at a click
            request = urllib.request.Request(
                server.url + "sse-widgets/api/cancel", method="POST",
                data=json.dumps({"channel": "bench/stop", "task": task}).encode(),
                headers={"Content-Type": "application/json", "X-SSE-Widgets-Key": server.key})
            clicked = time.time()
            urllib.request.urlopen(request, timeout=30).read()
            out, _ = proc.communicate(timeout=60)
            t_learned, t_raised = map(float, out.split())
            learned.append((t_learned - clicked) * 1000)
            raised.append((t_raised - clicked) * 1000)
    for name, values in (("request -> on_cancel (process learns it)", learned),
                         ("request -> sw.Cancelled raised in the loop", raised)):
        print(f"{name}: median {statistics.median(values):.1f} ms, max {max(values):.1f} ms "
              f"over {len(values)} runs")


if __name__ == "__main__":
    main()
