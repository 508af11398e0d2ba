"""Time to render the Nth tab: one stream per tab (before) against one per browser (after).

A real Jupyter server serves a plain page that follows one channel through the public
client (``sse-client.js``); one headless Chromium opens it in tab after tab of one
profile. For each tab: the time from ``goto`` to the page holding the channel's 100
retained events. "before" forces each tab onto its own EventSource (the per-tab
fallback, ``__sseWidgetsStreamMode = "tab"``), as every page did until now; "after" is
the default (a SharedWorker holds the browser's one stream). Browsers allow six HTTP/1.1
connections per host, shared by the tabs: with a stream per tab, the seventh tab's page
request itself waits for a free connection, which never comes.

Run: ``python benchmarks/tabs.py [--tabs 12] [--timeout 10]``; prints a markdown table.
A tab that does not render within ``--timeout`` seconds is shown as such.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _report import run_line, table
from servers import JupyterServer

CHROMIUM = "/usr/bin/chromium"
CHANNEL = "bench/tabs"
EVENTS = 100

PAGE = """<!doctype html><html><body>
<script>MODE</script>
<script type="module">
import { subscribe } from "/sse-widgets/static/sse-client.js";
window.received = 0;
subscribe({ channels: ["CHANNEL"], baseUrl: "/", onEvent: () => { window.received += 1; } });
</script></body></html>"""


def publish(server: JupyterServer, events: list[dict[str, object]]) -> None:
    request = urllib.request.Request(
        server.url + "sse-widgets/api/publish", data=json.dumps(events).encode(), method="POST",
        headers={"X-SSE-Widgets-Key": server.key, "Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).close()


def run(server: JupyterServer, pages: Path, mode: str, tabs: int, timeout: float) -> list[float | None]:
    from playwright.sync_api import sync_playwright

    script = 'globalThis.__sseWidgetsStreamMode = "tab";' if mode == "before" else ""
    (pages / f"{mode}.html").write_text(PAGE.replace("MODE", script).replace("CHANNEL", CHANNEL))
    times: list[float | None] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        context = browser.new_context()
        login = context.new_page()
        login.goto(f"{server.url}api/status?token={server.token}")
        login.close()
        for _ in range(tabs):
            page = context.new_page()
            start = time.perf_counter()
            try:
                page.goto(f"{server.url}static/{mode}.html", timeout=timeout * 1000, wait_until="commit")
                left = max(1.0, timeout * 1000 - (time.perf_counter() - start) * 1000)
                page.wait_for_function(f"() => window.received >= {EVENTS}", timeout=left)
                times.append(time.perf_counter() - start)
            except Exception:  # noqa: BLE001 - a timeout is the measurement
                times.append(None)
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        pages = Path(folder)
        server = JupyterServer(config={"ServerApp": {"extra_static_paths": [str(pages)]}}).start()
        try:
            publish(server, [{"channel": CHANNEL, "type": "m", "data": {"i": i}} for i in range(EVENTS)])
            results = {mode: run(server, pages, mode, args.tabs, args.timeout) for mode in ("before", "after")}
        finally:
            server.stop()

    def shown(value: float | None) -> str:
        return f"not rendered in {args.timeout:g} s" if value is None else f"{value * 1000:.0f} ms"

    wanted = [n for n in (1, 6, 7, 12) if n <= args.tabs]
    print(run_line(1))
    print()
    print(table(["tab", "before: a stream per tab", "after: one stream per browser"], ["r", "r", "r"],
                [[str(n), shown(results["before"][n - 1]), shown(results["after"][n - 1])] for n in wanted]))


if __name__ == "__main__":
    main()
