"""What the README's widget table says each widget shows, in JupyterLab's dark theme in
real Chromium, against a real server and kernel: the chart's x from the event time and its
legend of latest values; the progress board's rate and ETA, status colours and
``collapse_finished``; ``Toasts(max_visible=)``; ``EventLog(max_events=, types=)``; the
theme's colours; and the offline state once the server is gone."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import JupyterServer
from test_browser import CHART_HAS, SETUP, Page, browser, built

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

__all__ = ["browser", "built"]  # fixtures used here, defined beside the other browser tests


def lab_settings(server: JupyterServer, plugin: str, name: str, text: str) -> None:
    """A JupyterLab user setting, in the server's config dir (read when the page loads)."""
    folder = Path(server.process_env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / "@jupyterlab" / plugin
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jupyterlab-settings").write_text(text)


@pytest.fixture
def dark_lab(start_server: Any) -> JupyterServer:
    """A server of this test's own (it is stopped midway), JupyterLab in its dark theme."""
    server: JupyterServer = start_server()
    lab_settings(server, "apputils-extension", "notification", '{"fetchNews": "false"}')
    lab_settings(server, "apputils-extension", "themes", '{"theme": "JupyterLab Dark"}')
    return server


@pytest.fixture
def page_on(browser: Any, built: None) -> Iterator[Any]:
    pages: list[Page] = []

    def open_(server: JupyterServer, cells: list[str]) -> Page:
        page = Page(browser, server, "lab", f"d-{uuid.uuid4().hex[:8]}.ipynb", cells)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


# The colour a CSS expression resolves to on this page (a probe element, then removed).
RESOLVE = """(css) => { const probe = document.createElement('div');
  probe.style.background = css; document.body.append(probe);
  const colour = getComputedStyle(probe).backgroundColor; probe.remove(); return colour; }"""


def luminance(rgb: str) -> float:
    r, g, b = (int(v) / 255 for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_widgets_show_what_the_readme_says_in_the_dark_theme_then_offline(
    dark_lab: JupyterServer, page_on: Any
) -> None:
    p = f"d{uuid.uuid4().hex[:6]}"
    page = page_on(dark_lab, [
        SETUP + f"""
import time
sw.Dashboard([
    sw.LiveChart("{p}/t", series=["loss"], title="by time"),
    sw.ProgressBoard("{p}/jobs", title="all"),
    sw.ProgressBoard("{p}/jobs", collapse_finished=True, title="collapsed"),
    sw.Toasts("{p}/notes", max_visible=2, timeout_ms=0),
    sw.EventLog("{p}/log", max_events=3, types=["keep"], title="log"),
], title="details")
""",
        f"""
ids = publish([{{"channel": "{p}/t", "type": "metric", "data": {{"values": {{"loss": 0.5}}}}}}])
ids += publish([{{"channel": "{p}/t", "type": "metric", "data": {{"values": {{"loss": 0.25}}}}}}])
def state(task, n, status="running"):
    return {{"channel": "{p}/jobs", "type": "progress",
             "data": {{"task": task, "label": task, "n": n, "total": 10, "status": status}}}}
publish([state("ok", 10, "done"), state("bad", 4, "failed"), state("stop", 2, "cancelled"), state("run", 1)])
time.sleep(0.5)  # a second state later: the board derives a rate from n over time
publish([state("run", 5)])
publish([{{"channel": "{p}/notes", "type": "notify",
           "data": {{"level": "info", "message": f"note {{i}}", "timeout_ms": 0}}}} for i in range(4)])
publish([{{"channel": "{p}/log", "type": "keep" if i % 3 else "drop", "data": i}} for i in range(9)])
""",
    ])
    page.run_cell(0)
    page.run_cell(1)
    page.wait(CHART_HAS, [f"{p}/t", 2])
    events = dark_lab.api("GET", f"sse-widgets/api/channels/{p}/t/events")["events"]

    # LiveChart: no x given, so x is each event's time; the legend shows the latest value.
    chart = page.stores("chart")[0]
    assert chart["x"] == pytest.approx([e["ts"] for e in events])
    legend = page.page.locator(".sse-chart .sse-legend-item")
    playwright_api.expect(legend.locator(".sse-legend-name")).to_have_text("loss")
    playwright_api.expect(legend.locator(".sse-legend-value")).to_have_text("0.25")

    # ProgressBoard: rate and ETA for the running task; a colour per status.
    boards = page.page.locator(".sse-progress")
    full, collapsed = boards.nth(0), boards.nth(1)
    run = full.locator(".sse-task[data-task='run']")
    playwright_api.expect(run.locator(".sse-task-percent")).to_have_text("50%")
    playwright_api.expect(run.locator(".sse-task-timing")).to_have_text(
        re.compile(r"elapsed \S+ · [0-9.e+]+ it/s · ETA \S+"))
    for status, colour in (("done", "--jp-success-color1"), ("failed", "--jp-error-color1"),
                           ("cancelled", "--jp-warn-color1")):
        fill = full.locator(f".sse-task[data-status='{status}'] .sse-bar-fill")
        assert fill.evaluate("e => getComputedStyle(e).backgroundColor") == page.js(RESOLVE, f"var({colour})")
    playwright_api.expect(full.locator(".sse-task")).to_have_count(4)
    # collapse_finished=True: only the running task until "show finished" is pressed.
    playwright_api.expect(collapsed.locator(".sse-task")).to_have_count(1)
    playwright_api.expect(collapsed.locator(".sse-task")).to_have_attribute("data-task", "run")
    toggle = collapsed.locator(".sse-progress-controls .sse-link")
    playwright_api.expect(toggle).to_have_text("show finished (3)")
    toggle.click()
    playwright_api.expect(collapsed.locator(".sse-task")).to_have_count(4)

    # Toasts(max_visible=2): the two newest, newest first, and how many wait.
    toasts = page.page.locator(".sse-toast .sse-toast-message")
    playwright_api.expect(toasts).to_have_text(["note 3", "note 2"])
    playwright_api.expect(page.page.locator(".sse-toast-more")).to_have_text("+2 more")

    # EventLog(max_events=3, types=["keep"]): the last three "keep" events only.
    rows = page.page.locator(".sse-eventlog .sse-log-row")
    playwright_api.expect(rows.locator(".sse-log-type")).to_have_text(["keep"] * 3)
    playwright_api.expect(rows.locator(".sse-log-data")).to_have_text(["5", "7", "8"])

    # Dark theme: the widgets take the theme's colours.
    assert page.js("() => document.body.dataset.jpThemeLight") == "false"
    frame = page.page.locator(".sse-chart").first
    background = frame.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == page.js(RESOLVE, "var(--jp-layout-color1)")
    assert luminance(background) < 0.3

    # The server goes away: the indicator ends "offline" after its reconnection attempts.
    dark_lab.stop()
    status = page.page.locator(".sse-chart .sse-status")
    playwright_api.expect(status).to_have_text("offline", timeout=120_000)
    assert status.get_attribute("data-state") == "offline"
