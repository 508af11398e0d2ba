"""Browser render benchmark: the LiveChart frontend under load, in headless Chromium.

Three runs against a real server (the hub, over SSE, as in a notebook):

1. throughput, single plot: 10,000 points/s published into a LiveChart with one series,
   one plot (``panels=None``) and a 100,000-point window for 20 s; frames per second
   (median of per-second counts, overall and once the window is full) and the longest
   frame, from a requestAnimationFrame loop in the page;
2. throughput, panels: the same rate and window into a LiveChart with four series in four
   panels (``panels="auto"``) and smoothing 0.6, so each frame draws eight lines (raw and
   smoothed) of up to 100,000 points and smooths four series; same measures, same run.
   The series are training-like curves (a trend, noise 5-20% of the panel's range); a
   third run sends pure noise over each panel's whole height, the worst case for drawing:
   every pixel column then holds a full-height stroke in every line;
3. latency: 1,000 events/s for 10 s into a LiveChart; publish-to-DOM time per event (the
   POST that carries it leaves the publisher -> the legend shows a value at least as new),
   p50 / p99.

The page is the built ``sse_widgets/static/chart.js`` mounted with a minimal stand-in for
the anywidget model, served by the Jupyter server itself (``extra_static_paths``, so the
EventSource is same-origin as in JupyterLab), without JupyterLab's own work in the frame.
Chromium runs as a plain process and the DevTools protocol is attached only after the run
to read the page's numbers: an attached driver receives one Network message per SSE event,
which at 10,000 events/s costs as much CPU as drawing.

Run: ``python benchmarks/render.py [--seconds 20] [--rate 10000] [--markdown]``; prints the
markdown table the README carries, under a line giving the run's date and machine and saying
that the page mounts the chart with a stand-in model, not in JupyterLab.
Targets from the issue: >= 55 fps median, p99 latency <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from _report import run_line
from _servers import SSEWidgets

from sse_widgets.protocol import mint_ticket

STATIC = Path(__file__).resolve().parents[1] / "sse_widgets" / "static"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<script id="jupyter-config-data" type="application/json">{"baseUrl": "/"}</script>
<link rel="stylesheet" href="chart.css">
</head><body style="margin:0"><div id="root" style="width:1000px"></div>
<script type="module">
const attrs = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const model = {
  get: (k) => attrs[k], set: (k, v) => { attrs[k] = v; }, save_changes() {}, send() {},
  on() {}, off() {},
};
const chart = (await import("./chart.js")).default;
await chart.initialize({ model });
chart.render({ model, el: document.getElementById("root") });
// Frame clock: one timestamp per animation frame.
window.__frames = [];
const tick = (t) => { window.__frames.push(t); requestAnimationFrame(tick); };
requestAnimationFrame(tick);
// DOM clock: when the legend shows a new latest value (wall-clock ms).
window.__shown = [];
const legend = document.querySelector(".sse-legend");
new MutationObserver(() => {
  const value = legend.querySelector(".sse-legend-value");
  if (value && value.textContent) {
    window.__shown.push([Number(value.textContent), performance.timeOrigin + performance.now()]);
  }
}).observe(legend, { childList: true, characterData: true, subtree: true });
window.__ready = true;
</script></body></html>
"""


def one_series(k: int) -> dict[str, float]:
    return {"y": k}


def four_series(k: int) -> dict[str, float]:
    # Four metrics in four panels under panels="auto" (no val_/test_ pairs): trends with
    # noise of 5-20% of their panel's range, as training curves have, so that the smoothed
    # line differs from the raw one.
    wobble = ((k * 7919) % 1000) / 1000
    return {"loss": 2.0 / (1 + k / 5000) + wobble * 0.2, "acc": 1 - 1 / (1 + k / 3000) - wobble * 0.05,
            "lr": 1e-3 * (1 - k / 250_000), "grad_norm": 4.0 / (1 + k / 20_000) + wobble * 0.5}


def four_noise(k: int) -> dict[str, float]:
    # The worst case: every series pure noise over its whole panel, so that each pixel
    # column holds a full-height min-max stroke in every line.
    wobble = ((k * 7919) % 1000) / 1000
    return {"loss": wobble, "acc": 1 - wobble, "lr": wobble * 1e-3, "grad_norm": 1 + wobble}


class Publisher(threading.Thread):
    """POSTs ``rate`` metric events per second in small batches; records send times."""

    def __init__(self, server: SSEWidgets, channel: str, rate: int, seconds: float, batch: int,
                 values: Any = one_series):
        super().__init__(daemon=True)
        self.values = values
        self.url = f"http://127.0.0.1:{server.port}/sse-widgets/api/publish"
        self.headers = {"X-SSE-Widgets-Key": server.key, "Content-Type": "application/json"}
        self.channel, self.rate, self.seconds, self.batch = channel, rate, seconds, batch
        self.sent_at: dict[int, float] = {}
        self.count = 0

    def run(self) -> None:
        start = time.perf_counter()
        k = 0
        while True:
            elapsed = time.perf_counter() - start
            if elapsed >= self.seconds:
                break
            due = int(elapsed * self.rate)
            if k >= due:
                time.sleep(min(0.002, (k + 1) / self.rate - elapsed))
                continue
            n = min(self.batch * 4, due - k)  # catch up in bigger posts when behind
            events = [
                {"channel": self.channel, "type": "metric",
                 "data": {"x": k + i, "values": self.values(k + i)}}
                for i in range(n)
            ]
            request = urllib.request.Request(
                self.url, data=json.dumps(events).encode(), headers=self.headers, method="POST")
            sent = time.time() * 1000
            with urllib.request.urlopen(request) as response:
                response.read()
            for i in range(n):
                self.sent_at[k + i] = sent
            k += n
        self.count = k


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ChartPage:
    """A headless Chromium process showing one LiveChart; CDP attached only by ``read``."""

    def __init__(self, server: SSEWidgets, channel: str, window: int, **traits: Any):
        self.server, self.channel = server, channel
        attrs = {
            "channels": [channel], "series": ["y"], "window": window, "height": 300,
            "title": "bench", "_uid": f"bench-{channel}", "last_event_id": "",
            "ticket": mint_ticket(server.key, [channel], 3600),
            "_panels": None, "smoothing": 0.0, "log_y": False, "x_axis": "auto", "x_label": "",
            "max_runs": 10, **traits,
        }
        url = (f"http://127.0.0.1:{server.port}/static/bench.html"
               f"#{urllib.request.quote(json.dumps(attrs))}")
        self.devtools = free_port()
        self.profile = tempfile.mkdtemp(prefix="sse-widgets-bench-chromium-")
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", *CHROMIUM_ARGS, f"--user-data-dir={self.profile}",
             f"--remote-debugging-port={self.devtools}", "--window-size=1100,1000", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        # Streaming once the hub counts a subscriber.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stats = server_api(server, "sse-widgets/api/channels")["stats"]
            if stats.get("subscribers", 0) >= 1:
                break
            time.sleep(0.2)
        else:
            self.close()
            raise RuntimeError("the benchmark page did not connect to the stream in 60 s")
        time.sleep(1.0)

    def read(self, expression: str) -> Any:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.connect_over_cdp(f"http://127.0.0.1:{self.devtools}")
            page = browser.contexts[0].pages[0]
            return page.evaluate(expression)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def server_api(server: SSEWidgets, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/{path}?token={server.token}") as r:
        return json.load(r)


def fps_stats(frames: list[float], t0: float, t1: float) -> tuple[float, float]:
    """Median frames per whole second in [t0, t1) (page ms), and the longest frame (ms)."""
    inside = [f for f in frames if t0 <= f < t1]
    per_second: dict[int, int] = {}
    for f in inside:
        per_second[int((f - t0) // 1000)] = per_second.get(int((f - t0) // 1000), 0) + 1
    whole = [per_second.get(s, 0) for s in range(int((t1 - t0) // 1000))]
    longest = max((b - a for a, b in itertools.pairwise(inside)), default=float("nan"))
    return (statistics.median(whole) if whole else float("nan")), longest


#: The chart of the panels run: four series in four panels, smoothing on.
PANELS = {"series": [], "_panels": "auto", "smoothing": 0.6, "height": 180}


def throughput(server: SSEWidgets, rate: int, seconds: float, window: int, panels: bool,
               traits: dict[str, Any] | None = None, values: Any = None) -> dict[str, Any]:
    channel = f"bench/{uuid.uuid4().hex[:8]}"
    traits = traits if traits is not None else PANELS if panels else {}
    page = ChartPage(server, channel, window, **traits)
    try:
        publisher = Publisher(server, channel, rate, seconds, batch=max(1, rate // 200),
                              values=values or (four_series if panels else one_series))
        publisher.start()
        publisher.join()
        time.sleep(0.3)
        result = page.read("""() => ({
          frames: window.__frames, now: performance.now(),
          held: [...globalThis.__sseWidgets.stores.values()].find(s => s.kind === 'chart').count,
          panels: document.querySelectorAll('.sse-panel').length,
          lines: [...document.querySelectorAll('.sse-plot')].reduce((n, p) => n + Number(p.dataset.lines || 0), 0),
        })""")
    finally:
        page.close()
    t1 = result["now"] - 300
    t0 = t1 - 1000 * seconds
    frames, held = result["frames"], result["held"]
    full_at = t0 + 1000 * window / rate
    fps, longest = fps_stats(frames, t0, t1)
    fps_full, longest_full = fps_stats(frames, full_at, t1) if full_at < t1 - 2000 else (float("nan"),) * 2
    return {"published": publisher.count, "held": held, "fps": fps, "longest": longest,
            "panels": result["panels"], "lines": result["lines"],
            "fps_full": fps_full, "longest_full": longest_full, "seconds": (t1 - t0) / 1000}


def latency(server: SSEWidgets, rate: int, seconds: float) -> dict[str, Any]:
    page = ChartPage(server, "bench/latency", 10_000)
    try:
        publisher = Publisher(server, "bench/latency", rate, seconds, batch=max(1, rate // 200))
        publisher.start()
        publisher.join()
        time.sleep(0.5)
        shown: list[list[float]] = page.read("window.__shown")
    finally:
        page.close()
    shown.sort(key=lambda item: item[1])
    latencies = []
    j = 0
    best = -1.0
    # For each event, the first DOM update showing it or a newer one.
    for k in sorted(publisher.sent_at):
        while j < len(shown) and best < k:
            best = max(best, shown[j][0])
            j += 1
        if best < k:
            break
        latencies.append(shown[j - 1][1] - publisher.sent_at[k])
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    return {"events": len(latencies), "p50": pick(0.50), "p99": pick(0.99), "max": latencies[-1]}


def caption(markdown: bool) -> str:
    """The lines above the table: when and where, and what the page is (a stand-in model)."""
    lines = [
        run_line(1),
        "",
        (f"LiveChart in headless Chromium ({CHROMIUM}, software rendering), hub over SSE on "
        "loopback. The page mounts the built `chart.js` with a minimal stand-in for the "
        "anywidget model, outside JupyterLab: JupyterLab's own work is not in the frames."),
        "",
    ]
    if not markdown:
        lines.insert(0, "The README's markdown:\n")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=10_000, help="points/s for the fps run")
    parser.add_argument("--window", type=int, default=100_000)
    parser.add_argument("--latency-rate", type=int, default=1_000)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--markdown", action="store_true", help="print only the README's markdown")
    args = parser.parse_args()
    if not (STATIC / "chart.js").is_file():
        sys.exit("build the frontends first: cd js && npm ci && npm run build")

    pages = Path(tempfile.mkdtemp(prefix="sse-widgets-bench-static-"))
    (pages / "bench.html").write_text(PAGE)
    for name in ("chart.js", "chart.css"):
        shutil.copy(STATIC / name, pages / name)
    server = SSEWidgets(extra=[f"--ServerApp.extra_static_paths={json.dumps([str(pages)])}"]).start()
    load_before = os.getloadavg()
    try:
        single = throughput(server, args.rate, args.seconds, args.window, panels=False)
        panels = throughput(server, args.rate, args.seconds, args.window, panels=True)
        noise = throughput(server, args.rate, args.seconds, args.window, panels=True, values=four_noise)
        lat = latency(server, args.latency_rate, args.latency_seconds)
    finally:
        server.stop()
        shutil.rmtree(pages, ignore_errors=True)
    load_after = os.getloadavg()

    print(caption(args.markdown))
    print(f"Load average {load_before[0]:.1f} before / {load_after[0]:.1f} after.\n")
    print("| measure | single plot (`panels=None`, 1 series) | 4 panels, smoothing 0.6 "
          "| same, pure noise (worst case) | target |")
    print("|---|---|---|---|---|")
    columns = (single, panels, noise)
    print("| points published / held per series | " + " | ".join(
        f"{t['published']:,} / {t['held']:,}" for t in columns)
        + f" | {args.rate:,}/s for {args.seconds:g} s, window {args.window:,} |")
    print("| panels / lines drawn | " + " | ".join(f"{t['panels']} / {t['lines']}" for t in columns) + " | |")
    print("| fps, median of per-second counts (whole run) | " + " | ".join(f"{t['fps']:.0f}" for t in columns)
          + " | >= 55 |")
    print("| fps, median once the window is full | " + " | ".join(f"{t['fps_full']:.0f}" for t in columns)
          + " | >= 55 |")
    print("| longest frame (whole run / window full) | " + " | ".join(
        f"{t['longest']:.1f} ms / {t['longest_full']:.1f} ms" for t in columns) + " | |")
    print()
    print("| measure (single plot) | value | target |")
    print("|---|---|---|")
    print(f"| publish-to-DOM latency p50 ({args.latency_rate:,} events/s, {lat['events']:,} events)"
          f" | {lat['p50']:.1f} ms | |")
    print(f"| publish-to-DOM latency p99 | {lat['p99']:.1f} ms | <= 50 ms |")
    print(f"| publish-to-DOM latency max | {lat['max']:.1f} ms | |")


if __name__ == "__main__":
    main()
