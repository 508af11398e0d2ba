"""The widgets in real Chromium, in JupyterLab 4 and Notebook 7, against a real server and kernel.

One server and one browser per module. Each test writes its own notebook (channels under a
prefix of its own, so tests sharing the hub do not see each other's events), opens it,
runs its cells with Shift+Enter and reads what the widgets hold through the test hook on
``globalThis.__sseWidgets`` and through the DOM.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import chromium, notebook, require_built_js

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UIS = ["lab", "notebook"]

# The cells of the notebook in view (JupyterLab keeps other tabs in the DOM, hidden).
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"

# Counts the page's stream EventSources independently of the widgets' own bookkeeping.
COUNT_EVENTSOURCES = """
(() => {
  const Native = window.EventSource;
  const made = [];
  window.__streamSources = made;
  window.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      if (String(url).includes("sse-widgets/api/stream")) made.push(this);
    }
  };
})();
"""

# The URLs of the streams the page's shared client holds (in the worker, where it has one).
STREAM_URLS = "async () => (await globalThis.__sseWidgets.connection().info()).urls"

SETUP = """\
import json, os, urllib.request
import sse_widgets as sw

def publish(events):
    request = urllib.request.Request(
        os.environ["SSE_WIDGETS_URL"] + "sse-widgets/api/publish",
        data=json.dumps(events).encode(), method="POST",
        headers={"X-SSE-Widgets-Key": os.environ["SSE_WIDGETS_KEY"],
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)["ids"]
"""


@pytest.fixture(scope="module")
def built() -> None:
    require_built_js()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


class Page:
    """A notebook opened in JupyterLab or Notebook 7, with helpers to run cells and read widgets."""

    def __init__(self, browser: Any, server: Any, ui: str, name: str, cells: list[str],
                 prepare: Callable[[Any], None] | None = None):
        (server.root_dir / name).write_text(notebook(*cells))
        self.server, self.ui, self.name = server, ui, name
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.add_init_script(COUNT_EVENTSOURCES)
        if prepare is not None:
            prepare(self.context)  # permissions, init scripts: before the first load, no reload
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.open()

    @property
    def url(self) -> str:
        # ?reset: JupyterLab would otherwise restore the previous test's notebook beside this one.
        path = f"lab/tree/{self.name}?reset&" if self.ui == "lab" else f"notebooks/{self.name}?"
        return f"{self.server.url}{path}token={self.server.token}"

    def open(self) -> None:
        self.page.goto(self.url, wait_until="domcontentloaded", timeout=60_000)
        self.page.locator(CELLS).first.wait_for(timeout=60_000)
        # The kernel is up once the toolbar's kernel status says idle.
        self.page.wait_for_function(
            "() => document.querySelector('.jp-Notebook') !== null", timeout=60_000)

    def reload(self) -> None:
        # "load" waits for every subresource of the page, which a loaded machine can hold past
        # the default 30 s; the cells being drawn is what the tests need.
        self.page.reload(wait_until="domcontentloaded", timeout=60_000)
        self.page.locator(CELLS).first.wait_for(timeout=60_000)

    def run_cell(self, index: int, timeout: float = 90.0) -> None:
        """Select cell ``index``, press Shift+Enter, and wait until it has run."""
        cell = self.page.locator(CELLS).nth(index)
        prompt = cell.locator(".jp-InputPrompt")
        deadline = time.monotonic() + timeout
        # A key press that lands before the notebook's kernel session is ready is lost (the
        # cell stays "[ ]"); pressing again until the cell is queued or ran is harmless.
        while time.monotonic() < deadline:
            self.accept_kernel_dialog()
            try:
                prompt.click(timeout=10_000)
            except playwright_api.TimeoutError:
                if self.accept_kernel_dialog():
                    continue  # the dialog came up after the check above and hid the cell
                break
            self.page.keyboard.press("Shift+Enter")
            pressed = time.monotonic()
            while time.monotonic() < deadline:
                text = prompt.inner_text().strip()
                if re.search(r"\[\d+\]", text):
                    return
                if "*" not in text and time.monotonic() - pressed > 8:
                    break
                self.page.wait_for_timeout(200)
        shot = Path(os.environ.get("TMPDIR", "/tmp")) / f"sse-widgets-{self.name}.png"
        self.page.screenshot(path=str(shot))
        raise AssertionError(f"cell {index} did not run; screenshot: {shot}")

    def accept_kernel_dialog(self) -> bool:
        """Answer JupyterLab's "Select Kernel" dialog with its default (the notebook's python3).

        It shows now and then when a notebook opens before the kernel specs have loaded; left
        alone, it blocks every key press and the cells never run.
        """
        accept = self.page.locator(".jp-Dialog:has-text('Select Kernel') .jp-mod-accept")
        if accept.count() and accept.first.is_visible():
            accept.first.click()
            return True
        return False

    def save(self) -> None:
        self.page.keyboard.press("Control+s")
        self.page.wait_for_timeout(500)

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait(self, expression: str, arg: Any = None, timeout: float = 30_000) -> Any:
        try:
            return self.page.wait_for_function(expression, arg=arg, timeout=timeout).json_value()
        except playwright_api.TimeoutError:
            raise AssertionError(f"timed out waiting for {expression} {arg}; page: {self.debug()}")

    def debug(self) -> Any:
        """What the shared client holds: for failure messages."""
        return self.js("""() => {
          const r = globalThis.__sseWidgets;
          if (!r) return "no registry";
          return {
            connections: [...r.connections.values()].map(c => ({state: c.state, states: c.states,
              connects: c.connects, cursor: c.cursor})),
            sources: (window.__streamSources || []).map(s => [s.url, s.readyState]),
            stores: [...r.stores.values()].map(s => [s.kind, s.channels, s.state, s.received]),
            errors: undefined,
          };
        }""")

    def stores(self, kind: str) -> list[dict[str, Any]]:
        return self.js(
            "(kind) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]"
            ".filter(s => s.kind === kind).map(s => ({...s.snapshot(), state: s.state,"
            " channels: s.channels}))", kind)

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def quiet_lab(live_server: Any) -> None:
    """No "Jupyter news?" popup over the cells (user settings live in the server's config dir)."""
    config = Path(live_server.process_env["JUPYTER_CONFIG_DIR"])
    settings = config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')


@pytest.fixture
def open_page(browser: Any, live_server: Any, built: None, quiet_lab: None) -> Iterator[Any]:
    pages: list[Page] = []

    def open_(ui: str, cells: list[str], prepare: Callable[[Any], None] | None = None) -> Page:
        page = Page(browser, live_server, ui, f"t-{uuid.uuid4().hex[:8]}.ipynb", cells, prepare)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


# Waits, in the page, for a chart whose channel list includes `channel` to hold `count` points.
CHART_HAS = """([channel, count]) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes(channel) && s.count >= count)"""


@pytest.mark.parametrize("ui", UIS)
def test_dashboard_shows_points_progress_and_toasts_then_history_after_reload(
    open_page: Any, live_server: Any, ui: str
) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    page = open_page(ui, [
        SETUP + f"""
chart = sw.LiveChart("{p}/train", series=["loss", "acc"], window=1000, title="Training")
board = sw.ProgressBoard("{p}/jobs", title="Jobs")
toasts = sw.Toasts("{p}/notes")
sw.Dashboard([chart, board, toasts], title="Run 42")
""",
        f"""
publish([{{"channel": "{p}/train", "type": "metric", "data": {{"x": i, "values": {{"loss": 1 / (i + 1), "acc": i / 10}}}}}} for i in range(10)])
publish([{{"channel": "{p}/jobs", "type": "progress", "data": {{"task": "fit", "label": "fitting", "n": n, "total": 40, "unit": "batch", "status": "running"}}}} for n in (10, 20, 30)])
publish({{"channel": "{p}/jobs", "type": "progress", "data": {{"task": "fit", "label": "fitting", "n": 40, "total": 40, "unit": "batch", "status": "done"}}}})
publish({{"channel": "{p}/jobs", "type": "progress", "data": {{"task": "eval", "label": "evaluating", "n": 5, "total": 20, "status": "running"}}}})
publish({{"channel": "{p}/notes", "type": "notify", "data": {{"level": "success", "title": "Epoch 1", "message": "loss went down", "timeout_ms": 0}}}})
""",
    ])
    page.run_cell(0)
    page.run_cell(1)
    page.wait(CHART_HAS, [f"{p}/train", 10])
    charts = [c for c in page.stores("chart") if c["channels"] == [f"{p}/train"]]
    assert charts[0]["x"] == list(range(10))
    assert charts[0]["series"]["loss"] == pytest.approx([1 / (i + 1) for i in range(10)])
    assert charts[0]["series"]["acc"] == pytest.approx([i / 10 for i in range(10)])

    fit = page.page.locator(".sse-task[data-task='fit']")
    playwright_api.expect(fit.locator(".sse-task-status")).to_have_text("done")
    playwright_api.expect(fit.locator(".sse-task-percent")).to_have_text("100%")
    evaluation = page.page.locator(".sse-task[data-task='eval']")
    playwright_api.expect(evaluation.locator(".sse-task-percent")).to_have_text("25%")
    playwright_api.expect(evaluation.locator(".sse-task-counts")).to_have_text("5/20 it")
    toast = page.page.locator(".sse-toast")
    playwright_api.expect(toast.locator(".sse-toast-title")).to_have_text("Epoch 1")
    playwright_api.expect(toast.locator(".sse-toast-message")).to_have_text("loss went down")
    playwright_api.expect(page.page.locator(".sse-dashboard-title")).to_have_text("Run 42")
    playwright_api.expect(page.page.locator(".sse-chart .sse-status")).to_have_text("live")
    # The chart draws into uPlot's canvas.
    assert page.page.locator(".sse-chart canvas").count() >= 1

    if ui == "lab" and os.environ.get("SSE_WIDGETS_SCREENSHOT"):
        page.page.locator(".sse-dashboard").screenshot(path=os.environ["SSE_WIDGETS_SCREENSHOT"])

    # Reload: the models come back from the kernel, the points from the hub's history.
    page.save()
    page.reload()
    page.wait(CHART_HAS, [f"{p}/train", 10], timeout=60_000)
    charts = [c for c in page.stores("chart") if c["channels"] == [f"{p}/train"]]
    assert charts[0]["x"] == list(range(10)), "history replayed once, without duplicates"
    playwright_api.expect(
        page.page.locator(".sse-task[data-task='fit'] .sse-task-status")).to_have_text("done")
    playwright_api.expect(page.page.locator(".sse-toast-message")).to_have_text("loss went down")
    assert page.dialogs == []


def test_eight_widgets_share_one_eventsource_and_late_chart_gets_history(
    open_page: Any,
) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    page = open_page("lab", [
        SETUP + f"""
widgets = [sw.LiveChart("{p}/c{{}}".format(i), title=f"chart {{i}}") for i in range(5)]
widgets += [sw.ProgressBoard("{p}/jobs"), sw.Toasts("{p}/notes"), sw.EventLog("{p}/*")]
sw.Dashboard(widgets, title="eight")
""",
        f"""
publish([{{"channel": "{p}/c{{}}".format(i), "type": "metric", "data": {{"x": 1, "values": {{"v": i}}}}}} for i in range(5)])
""",
        # Published while the page streams, to a channel no widget follows yet; then one
        # event on a followed channel moves the connection's cursor past them.
        f"""
publish([{{"channel": "{p}/late", "type": "metric", "data": {{"x": i, "values": {{"y": i * i}}}}}} for i in range(6)])
publish({{"channel": "{p}/c0", "type": "metric", "data": {{"x": 2, "values": {{"v": 9}}}}}})
""",
        f'sw.LiveChart("{p}/late", title="late")',
    ])
    page.run_cell(0)
    page.run_cell(1)
    for i in range(5):
        page.wait(CHART_HAS, [f"{p}/c{i}", 1])
    # One stream, in the browser's shared worker; the page itself opens none.
    assert page.js(STREAM_URLS) and len(page.js(STREAM_URLS)) == 1
    assert page.js("() => window.__streamSources.length") == 0
    assert len(page.stores("chart")) == 5
    assert len(page.stores("progress")) == 1
    assert len(page.stores("toasts")) == 1
    assert len(page.stores("eventlog")) == 1

    page.run_cell(2)
    page.wait(CHART_HAS, [f"{p}/c0", 2])
    page.run_cell(3)
    page.wait(CHART_HAS, [f"{p}/late", 6])
    late = next(c for c in page.stores("chart") if c["channels"] == [f"{p}/late"])
    assert late["x"] == list(range(6))
    assert late["series"]["y"] == [float(i * i) for i in range(6)]
    # The widgets that had those channels' events already did not get them twice.
    c0 = next(c for c in page.stores("chart") if c["channels"] == [f"{p}/c0"])
    assert c0["x"] == [1, 2]
    log = page.stores("eventlog")[0]
    ids = [e["id"] for e in page.js(
        "() => [...globalThis.__sseWidgets.stores.values()].find(s => s.kind === 'eventlog')"
        ".snapshot()")]
    assert len(ids) == len(set(ids)) == 12, log
    assert len(page.js(STREAM_URLS)) == 1


def test_toast_message_is_text_not_html(open_page: Any) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    payload = "<img src=x onerror=alert(1)>"
    page = open_page("notebook", [
        SETUP + f'sw.Toasts("{p}/notes")',
        f"""publish({{"channel": "{p}/notes", "type": "notify", "data": {{"level": "error", "title": "<b>bold?</b>", "message": {payload!r}, "timeout_ms": 0}}}})""",
    ])
    page.run_cell(0)
    page.run_cell(1)
    message = page.page.locator(".sse-toast .sse-toast-message")
    playwright_api.expect(message).to_have_text(payload)
    playwright_api.expect(page.page.locator(".sse-toast .sse-toast-title")).to_have_text("<b>bold?</b>")
    assert page.page.locator(".sse-toast img, .sse-toast b").count() == 0
    page.page.wait_for_timeout(500)
    assert page.dialogs == []


def test_widget_shows_reconnecting_then_live_when_the_server_drops_the_stream(
    open_page: Any, live_server: Any
) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    page = open_page("lab", [
        SETUP + f"""
publish({{"channel": "{p}/drop", "type": "message", "data": {{"n": 1}}}})
sw.LiveChart("{p}/train", title="dropped")
""",
        f"""publish({{"channel": "{p}/train", "type": "metric", "data": {{"x": 1, "values": {{"a": 1}}}}}})""",
        f'sw.EventLog("{p}/drop")',
    ])
    page.run_cell(0)
    page.run_cell(1)
    page.wait(CHART_HAS, [f"{p}/train", 1])
    page.run_cell(2)
    status = page.page.locator(".sse-chart .sse-status")
    playwright_api.expect(status).to_have_text("live")
    page.wait("() => [...globalThis.__sseWidgets.stores.values()].some(s => s.kind === 'eventlog' && s.total >= 1)")
    before = page.js("() => [...globalThis.__sseWidgets.connections.values()][0].states.length")
    # Deleting a followed channel's history ends every stream that follows it, server-side.
    live_server.api("DELETE", f"sse-widgets/api/channels/{p}/drop")
    page.wait(
        "(n) => { const s = [...globalThis.__sseWidgets.connections.values()][0].states.slice(n);"
        " return s.includes('reconnecting') && s[s.length - 1] === 'live'; }", before)
    playwright_api.expect(status).to_have_text("live")
    states = page.js("() => [...globalThis.__sseWidgets.connections.values()][0].states")
    assert re.search(r"reconnecting(,\w+)*,live$", ",".join(states)), states
    # The chart still holds its point after the reset that follows the deleted history.
    page.wait(CHART_HAS, [f"{p}/train", 1])


def test_the_kernel_side_api_feeds_the_widgets(open_page: Any) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    page = open_page("notebook", [
        f"""
import sse_widgets as sw
chart = sw.LiveChart("{p}/train", series=["loss"], title="api")
sw.Dashboard([chart, sw.ProgressBoard("{p}/progress"), sw.Toasts("{p}/notify")], title="api")
""",
        f"""
for i in range(5):
    sw.metric("{p}/train", x=i, loss=1 / (i + 1))
for _ in sw.progress(range(8), desc="loop", channel="{p}/progress", task="loop"):
    pass
sw.notify("all done", level="success", title="finished", channel="{p}/notify")
sw.flush()
""",
    ])
    page.run_cell(0)
    page.run_cell(1)
    page.wait(CHART_HAS, [f"{p}/train", 5])
    chart = page.stores("chart")[0]
    assert chart["x"] == [0, 1, 2, 3, 4]
    assert chart["series"]["loss"] == pytest.approx([1 / (i + 1) for i in range(5)])
    loop = page.page.locator(".sse-task[data-task='loop']")
    playwright_api.expect(loop.locator(".sse-task-status")).to_have_text("done")
    playwright_api.expect(loop.locator(".sse-task-percent")).to_have_text("100%")
    playwright_api.expect(loop.locator(".sse-task-label")).to_have_text("loop")
    playwright_api.expect(page.page.locator(".sse-toast-message")).to_have_text("all done")
