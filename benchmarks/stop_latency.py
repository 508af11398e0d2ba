"""Stop latency: from the Stop request to the process learning it (on_cancel) and to sw.Cancelled in its loop.

Run: ``python benchmarks/stop_latency.py [--repeats 10] [--browser]``. Starts a real ``jupyter server``
with the extension and, per repeat, a script in a separate process looping over
``sw.progress(range(10**6))`` with a 10 ms sleep per item, as a notebook cell would. When
its bar is running, it POSTs ``sse-widgets/api/cancel`` with the publish key (what the
Stop button does) and reads from the script the wall-clock time its ``on_cancel`` ran and
the time the loop raised ``sw.Cancelled``. Both processes are on this machine: one clock.
With ``--browser``, the click itself: ``sse-widgets serve`` shows a ``ProgressBoard(cancel=True)``
in Chromium, and the time from the Stop button's click event (``Date.now()`` in the page)
to ``sw.Cancelled`` in the script is measured.
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
        for i in sw.progress(range(10**6), desc=sys.argv[1], channel="bench/stop", task=sys.argv[1],
                             on_cancel=lambda bar: learned.append(time.time())):
            time.sleep(0.01)
    except sw.Cancelled:
        print(learned[0], time.time(), flush=True)
"""


def browser_runs(repeats: int) -> list[float]:
    """Click-to-raise times in ms, through a real Stop button on a shared dashboard."""
    import tempfile

    from browser_support import WidgetPage, chromium
    from servers import free_port
    from share_support import Command, clean_env

    book = Path(tempfile.mkdtemp()) / "stop.ipynb"
    book.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": "c0", "metadata": {}, "outputs": [],
                   "source": 'import sse_widgets as sw\nsw.ProgressBoard("bench/stop", cancel=True)'}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}))
    serve = Command("serve", str(book), "--no-browser", "--port", str(free_port()))
    times = []
    try:
        url = serve.wait_for(r"^Share \(view only, valid 1 week\): (\S+)").group(1)
        exports = {n: serve.wait_for(rf"export {n}=(\S+)").group(1) for n in ("SSE_WIDGETS_URL", "SSE_WIDGETS_KEY")}
        with chromium() as browser:
            page = WidgetPage(browser)
            page.page.add_init_script("document.addEventListener('click', () => { window.__clickedAt = Date.now(); }, true)")
            page.page.goto(url)
            for i in range(repeats):
                task = f"click{i}"
                proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SCRIPT), task],
                                        env=clean_env(**exports), stdout=subprocess.PIPE, text=True)
                button = page.page.get_by_role("button", name=f"Stop {task}")
                button.wait_for(timeout=90_000)
                time.sleep(0.5)
                button.click()
                out, _ = proc.communicate(timeout=60)
                clicked = page.js("window.__clickedAt") / 1000
                times.append((float(out.split()[1]) - clicked) * 1000)
            page.context.close()
    finally:
        serve.kill_all()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--browser", action="store_true", help="also measure from a real click")
    args = parser.parse_args()
    if args.browser:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "share"))
        clicks = browser_runs(args.repeats)
        print(f"click -> sw.Cancelled raised in the loop: median {statistics.median(clicks):.1f} ms, "
              f"max {max(clicks):.1f} ms over {len(clicks)} runs")
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
