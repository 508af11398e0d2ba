"""Browser render benchmark: LiveChart under load in headless Chromium, beside the previous chart.

The chart as built now and the one of an earlier revision run one after the other in one run.

No kernel: the page mounts the built ``chart.js`` with a stand-in for the anywidget model
(a few lines of JavaScript holding the traits), outside JupyterLab, so JupyterLab's own
work is not in the frames. The events are real: they are published over HTTP to the hub of
a real Jupyter server and reach the page over SSE (same origin, ``extra_static_paths``).

Charts, one after another (each in a Chromium process of its own):

1. single plot: 10,000 points/s into a LiveChart with one series, one plot
   (``panels=None``) and a 100,000-point window, for 20 s;
2. 4 panels: the same rate and window into four series in four panels (``panels="auto"``)
   with smoothing 0.6, so each frame draws eight lines (raw and smoothed). Training-like
   curves (a trend, noise 5-20% of the panel's range). Drawn by the previous chart (built
   from ``--baseline-rev`` into a temporary directory) and by this one, side by side;
3. the same, pure noise over each panel's height, the worst case for drawing (every pixel
   column a full-height stroke in every line): previous and this one;
4. latency: 1,000 events/s for 10 s into a single-series chart; publish-to-DOM time per
   event (the POST that carries it leaves the publisher -> the legend shows a value at
   least as new), p50 / p99.

Measures per chart:

- fps: median of per-second counts of animation frames, over the whole run and once the
  window is full (from when the window's worth of points was sent until the trace below
  starts; "nan" when a loaded machine never got there); the longest frame;
- script ms per frame: the time the chart's animation-frame callbacks take, timed in the
  page (``requestAnimationFrame`` is wrapped before the chart loads), median over the
  frames in which the chart drew. It moves much less with the machine's load than fps;
  and the share of frames in which the chart drew (it draws only when data arrived);
- from a 3 s Chromium trace at the end of the run (DevTools protocol, Tracing domain only),
  CPU time per frame (the trace's thread time, so time the thread waited for a core is
  not in it): the page's main thread, of which the animation-frame callbacks (the chart's
  script, uPlot's drawing included), the canvases' software rasterisation (cc
  ``LayerTreeHost::DoUpdateLayers``, where a 2D canvas's recorded drawing is played into
  its bitmap) and the events arriving from the stream's SharedWorker; and the display
  compositor (viz ``Display::DrawAndSwap``, which composites the page in software). These
  are the figures to compare on a loaded machine.

Chromium runs as a plain process; the DevTools protocol is attached only for the trace
and after the run. Never the Network domain: a driver that enables it receives one
message per SSE event, which at 10,000 events/s costs as much CPU as drawing.

Run: ``python benchmarks/render.py [--seconds 20] [--rate 10000] [--baseline-rev REV]
[--markdown]``; prints the markdown table the README carries, under a line giving the
run's date and machine, the load average during the run and which revision the previous
chart is. Targets: >= 55 fps median, p99 latency <= 50 ms.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _report import run_line
from _servers import SSEWidgets

from sse_widgets.protocol import mint_ticket

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "sse_widgets" / "static"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
#: The previous chart: the last revision before lines were binned from per-chunk extremes
#: kept up as points arrive (it binned every point of every line in every frame).
BASELINE_REV = "54bcfe708576ee17b37ef5cddad7c83ebf899420"
#: Seconds traced at the end of each throughput run.
TRACE_SECONDS = 3.0
#: What the trace records: tasks (toplevel), animation frames and messages (blink), the
#: compositor's phases (cc) and the display compositor (viz). Not counted in the fps.
TRACE_CATEGORIES = ["toplevel", "blink", "cc", "viz"]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<script id="jupyter-config-data" type="application/json">{"baseUrl": "/"}</script>
<link id="css" rel="stylesheet">
</head><body style="margin:0"><div id="root" style="width:1000px"></div>
<script type="module">
const [variant, attrs] = JSON.parse(decodeURIComponent(location.hash.slice(1)));
document.getElementById("css").href = `${variant}/chart.css`;
// The stand-in model: the traits, and no kernel behind them.
const model = {
  get: (k) => attrs[k], set: (k, v) => { attrs[k] = v; }, save_changes() {}, send() {},
  on() {}, off() {},
};
// Script time of every animation-frame callback but the frame clock's own: the chart's,
// with the microtasks it queued (uPlot draws in one), which run before this one's.
const raf = window.requestAnimationFrame.bind(window);
let script = 0;
let calls = 0;
window.requestAnimationFrame = (callback) => raf((t) => {
  const start = performance.now();
  try { callback(t); } finally {
    calls += 1;
    queueMicrotask(() => { script += performance.now() - start; });
  }
});
const chart = (await import(`./${variant}/chart.js`)).default;
await chart.initialize({ model });
chart.render({ model, el: document.getElementById("root") });
// Frame clock: per animation frame, its time (epoch ms), the chart's script ms before it
// and whether the chart drew.
window.__frames = [];
window.__script = [];
window.__drew = [];
const tick = (t) => {
  window.__frames.push(performance.timeOrigin + t);
  window.__script.push(script);
  window.__drew.push(calls > 0 ? 1 : 0);
  script = 0;
  calls = 0;
  raf(tick);
};
raf(tick);
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
    """A headless Chromium process showing one LiveChart (``variant``: which build)."""

    def __init__(self, server: SSEWidgets, channel: str, window: int, variant: str = "now", **traits: Any):
        self.server, self.channel = server, channel
        attrs = {
            "channels": [channel], "series": ["y"], "window": window, "height": 300,
            "title": "bench", "_uid": f"bench-{channel}", "last_event_id": "",
            "ticket": mint_ticket(server.key, [channel], 3600),
            "_panels": None, "smoothing": 0.0, "log_y": False, "x_axis": "auto", "x_label": "",
            "max_runs": 10, **traits,
        }
        url = (f"http://127.0.0.1:{server.port}/static/bench.html"
               f"#{urllib.parse.quote(json.dumps([variant, attrs]))}")
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

    def trace(self, seconds: float) -> tuple[list[dict[str, Any]], float, float]:
        """Trace the browser for ``seconds`` over the DevTools protocol's Tracing domain alone;
        the events, and when the trace started and ended (epoch ms)."""
        import websocket  # websocket-client, a dependency of jupyter-server

        with urllib.request.urlopen(f"http://127.0.0.1:{self.devtools}/json/version") as r:
            endpoint = json.load(r)["webSocketDebuggerUrl"]
        ws = websocket.create_connection(endpoint, suppress_origin=True, timeout=60)
        try:
            ws.send(json.dumps({"id": 1, "method": "Tracing.start", "params": {
                "traceConfig": {"includedCategories": TRACE_CATEGORIES}, "transferMode": "ReportEvents"}}))
            while json.loads(ws.recv()).get("id") != 1:
                pass
            started = time.time() * 1000
            time.sleep(seconds)
            ended = time.time() * 1000
            ws.send(json.dumps({"id": 2, "method": "Tracing.end"}))
            events: list[dict[str, Any]] = []
            while True:
                message = json.loads(ws.recv())
                if message.get("method") == "Tracing.dataCollected":
                    events += message["params"]["value"]
                elif message.get("method") == "Tracing.tracingComplete":
                    return events, started, ended
        finally:
            ws.close()

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
    """Median frames per whole second in [t0, t1) (epoch ms), and the longest frame (ms)."""
    inside = [f for f in frames if t0 <= f < t1]
    per_second: dict[int, int] = {}
    for f in inside:
        per_second[int((f - t0) // 1000)] = per_second.get(int((f - t0) // 1000), 0) + 1
    whole = [per_second.get(s, 0) for s in range(int((t1 - t0) // 1000))]
    longest = max((b - a for a, b in itertools.pairwise(inside)), default=float("nan"))
    return (statistics.median(whole) if whole else float("nan")), longest


def cpu_ms(events: list[dict[str, Any]], thread: tuple[int, int], name: str) -> float:
    """CPU time (the trace's thread duration) of the ``name`` events of ``thread``, an event
    inside another of the same name counted once."""
    spans = sorted((e["ts"], e["ts"] + e["dur"], e.get("tdur", e["dur"])) for e in events
                   if e.get("ph") == "X" and e.get("name") == name and "dur" in e
                   and (e["pid"], e["tid"]) == thread)
    total, end = 0.0, -1.0
    for a, b, cpu in spans:
        if a >= end:
            total += cpu
            end = b
    return total / 1000


def trace_figures(events: list[dict[str, Any]], frames: int) -> dict[str, float]:
    """CPU ms per frame: the chart page's main thread, and of it the animation-frame callbacks
    (the chart's script, uPlot's drawing included), the canvases' rasterisation and the
    events coming in from the stream's worker; the display compositor."""
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}

    def threads(name: str) -> list[tuple[int, int]]:
        return [t for t, n in names.items() if n == name]

    task = "ThreadControllerImpl::RunTask"
    mains = threads("CrRendererMain")
    if not mains or frames == 0:
        return dict.fromkeys(("main", "callbacks", "raster", "events", "display"), float("nan"))
    main = max(mains, key=lambda t: cpu_ms(events, t, task))
    display = sum(cpu_ms(events, t, "Display::DrawAndSwap") for t in threads("VizCompositorThread"))
    return {"main": cpu_ms(events, main, task) / frames,
            "callbacks": cpu_ms(events, main, "FrameRequestCallbackCollection::ExecuteFrameCallbacks") / frames,
            "raster": cpu_ms(events, main, "LayerTreeHost::DoUpdateLayers") / frames,
            "events": cpu_ms(events, main, "MessagePort::Accept") / frames,
            "display": display / frames}


#: The chart of the panels runs: four series in four panels, smoothing on.
PANELS = {"series": [], "_panels": "auto", "smoothing": 0.6, "height": 180}


def throughput(server: SSEWidgets, rate: int, seconds: float, window: int, variant: str,
               traits: dict[str, Any], values: Any) -> dict[str, Any]:
    channel = f"bench/{uuid.uuid4().hex[:8]}"
    page = ChartPage(server, channel, window, variant, **traits)
    try:
        publisher = Publisher(server, channel, rate, seconds, batch=max(1, rate // 200), values=values)
        started = time.time() * 1000
        publisher.start()
        time.sleep(max(0.0, seconds - TRACE_SECONDS - 0.5))
        events, trace_from, trace_to = page.trace(TRACE_SECONDS)
        publisher.join()
        time.sleep(0.3)
        result = page.read("""() => ({
          frames: window.__frames, script: window.__script, drew: window.__drew,
          held: [...globalThis.__sseWidgets.stores.values()].find(s => s.kind === 'chart').count,
          panels: document.querySelectorAll('.sse-panel').length,
          lines: [...document.querySelectorAll('.sse-plot')].reduce((n, p) => n + Number(p.dataset.lines || 0), 0),
        })""")
    finally:
        page.close()
    frames, held = result["frames"], result["held"]
    ended = started + 1000 * seconds
    # Full once the window's worth of points was sent (a loaded machine may never get there).
    full_at = publisher.sent_at.get(window - 1, float("inf"))
    fps, longest = fps_stats(frames, started, ended)
    enough = full_at < trace_from - 2000
    fps_full, longest_full = fps_stats(frames, full_at, trace_from) if enough else (float("nan"),) * 2

    def script_ms(t0: float, t1: float) -> float:
        """Median script ms of the frames in [t0, t1) in which the chart drew."""
        drawn = [ms for f, ms, drew in zip(frames, result["script"], result["drew"]) if t0 <= f < t1 and drew]
        return statistics.median(drawn) if drawn else float("nan")

    inside = [drew for f, drew in zip(frames, result["drew"]) if started <= f < ended]
    traced = sum(1 for f in frames if trace_from <= f < trace_to)
    return {"published": publisher.count, "held": held, "fps": fps, "longest": longest,
            "panels": result["panels"], "lines": result["lines"], "fps_full": fps_full,
            "longest_full": longest_full, "script": script_ms(started, ended),
            "script_full": script_ms(full_at, ended), "drew": sum(inside) / len(inside) if inside else float("nan"),
            **trace_figures(events, traced)}


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
    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    return {"events": len(latencies), "p50": pick(0.50), "p99": pick(0.99), "max": latencies[-1]}


def build_chart(rev: str, into: Path) -> Path:
    """Build the frontends of revision ``rev`` into ``into``; returns its static directory."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, "js"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "js" / "node_modules").symlink_to(REPO / "js" / "node_modules", target_is_directory=True)
    static = into / "sse_widgets" / "static"
    # --widgets-only: the Lab extension is not measured, and its builder needs more than
    # this temporary tree has. Revisions older than the flag build it and fail at its
    # step, after the widgets are written: what they wrote is what is measured.
    built = subprocess.run(["node", "build.mjs", "--widgets-only"], cwd=into / "js", check=False,
                           capture_output=True, text=True)
    if built.returncode != 0 and not (static / "chart.js").exists():
        raise RuntimeError(f"building {rev}'s frontends failed:\n{built.stderr[-2000:]}")
    return static


def describe(rev: str) -> str:
    out = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h (%cs)", rev],
                         check=True, capture_output=True, text=True).stdout.strip()
    return out or rev


class LoadAverage(threading.Thread):
    """The 1-minute load average, sampled every 2 s while the benchmark runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples = [os.getloadavg()[0]]
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(2.0):
            self.samples.append(os.getloadavg()[0])

    def text(self) -> str:
        return f"{min(self.samples):.1f}-{max(self.samples):.1f}"


def caption(markdown: bool, baseline: str, load: str) -> str:
    """The lines above the table: when and where, the load, and what the page is."""
    lines = [
        run_line(1),
        "",
        (f"LiveChart in headless Chromium ({CHROMIUM}, software rendering), hub over SSE on "
         "loopback. No kernel: the page mounts the built `chart.js` with a stand-in for the "
         "anywidget model, outside JupyterLab, so JupyterLab's own work is not in the frames. "
         f"*Previous* is the chart built from {baseline}, in the same run. Load average "
         f"(1 min) during the run: {load} on {os.cpu_count()} cores."),
        "",
    ]
    if not markdown:
        lines.insert(0, "The README's markdown:\n")
    return "\n".join(lines)


def row(label: str, columns: list[dict[str, Any]], fmt: Any, target: str = "") -> str:
    # A figure the run never reached (the window never full long enough) shows as a dash.
    return f"| {label} | " + " | ".join(fmt(t).replace("nan", "–") for t in columns) + f" | {target} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=10_000, help="points/s for the fps runs")
    parser.add_argument("--window", type=int, default=100_000)
    parser.add_argument("--latency-rate", type=int, default=1_000)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--baseline-rev", default=BASELINE_REV,
                        help="git revision whose chart is the previous one (default: the chart "
                        "before incremental binning)")
    parser.add_argument("--markdown", action="store_true", help="print only the README's markdown")
    args = parser.parse_args()
    if not (STATIC / "chart.js").is_file():
        sys.exit("build the frontends first: cd js && npm ci && npm run build")
    if args.seconds < TRACE_SECONDS + 3:
        sys.exit(f"--seconds must be at least {TRACE_SECONDS + 3:g} (the trace takes the last {TRACE_SECONDS:g})")

    pages = Path(tempfile.mkdtemp(prefix="sse-widgets-bench-static-"))
    load = LoadAverage()
    try:
        previous = build_chart(args.baseline_rev, pages / "build")
        (pages / "bench.html").write_text(PAGE)
        for variant, static in (("now", STATIC), ("previous", previous)):
            (pages / variant).mkdir()
            for name in ("chart.js", "chart.css"):
                shutil.copy(static / name, pages / variant / name)
        server = SSEWidgets(extra=[f"--ServerApp.extra_static_paths={json.dumps([str(pages)])}"])
        server.start()
        load.start()
        try:
            def run(variant: str, traits: dict[str, Any], values: Any) -> dict[str, Any]:
                return throughput(server, args.rate, args.seconds, args.window, variant, traits, values)

            single = run("now", {}, one_series)
            panels_previous = run("previous", PANELS, four_series)
            panels_now = run("now", PANELS, four_series)
            noise_previous = run("previous", PANELS, four_noise)
            noise_now = run("now", PANELS, four_noise)
            lat = latency(server, args.latency_rate, args.latency_seconds)
        finally:
            server.stop()
            load.done.set()
    finally:
        shutil.rmtree(pages, ignore_errors=True)

    print(caption(args.markdown, describe(args.baseline_rev), load.text()))
    print("| measure | single plot (`panels=None`, 1 series) | 4 panels, smoothing 0.6: previous "
          "| 4 panels: now | pure noise (worst case): previous | pure noise: now | target |")
    print("|---|---|---|---|---|---|---|")
    columns = [single, panels_previous, panels_now, noise_previous, noise_now]
    print(row("points published / held per series", columns, lambda t: f"{t['published']:,} / {t['held']:,}",
              f"{args.rate:,}/s for {args.seconds:g} s, window {args.window:,}"))
    print(row("panels / lines drawn", columns, lambda t: f"{t['panels']} / {t['lines']}"))
    print(row("fps, median of per-second counts (whole run)", columns, lambda t: f"{t['fps']:.0f}", ">= 55"))
    print(row("fps, median once the window is full", columns, lambda t: f"{t['fps_full']:.0f}", ">= 55"))
    print(row("longest frame (whole run / window full)", columns,
              lambda t: f"{t['longest']:.0f} / {t['longest_full']:.0f} ms"))
    print(row("chart script per frame drawn, median (whole run / window full)", columns,
              lambda t: f"{t['script']:.1f} / {t['script_full']:.1f} ms"))
    print(row("frames the chart drew in (whole run)", columns, lambda t: f"{t['drew']:.0%}"))
    print(row("CPU per frame, page main thread (trace, window full)", columns, lambda t: f"{t['main']:.1f} ms"))
    print(row("of which animation-frame callbacks (the chart, uPlot included)", columns,
              lambda t: f"{t['callbacks']:.1f} ms"))
    print(row("of which canvas rasterisation", columns, lambda t: f"{t['raster']:.1f} ms"))
    print(row("of which events from the stream's worker", columns, lambda t: f"{t['events']:.1f} ms"))
    print(row("CPU per frame, display compositor", columns, lambda t: f"{t['display']:.1f} ms"))
    print()
    print("| measure (single plot) | value | target |")
    print("|---|---|---|")
    print(f"| publish-to-DOM latency p50 ({args.latency_rate:,} events/s, {lat['events']:,} events)"
          f" | {lat['p50']:.1f} ms | |")
    print(f"| publish-to-DOM latency p99 | {lat['p99']:.1f} ms | <= 50 ms |")
    print(f"| publish-to-DOM latency max | {lat['max']:.1f} ms | |")


if __name__ == "__main__":
    main()
