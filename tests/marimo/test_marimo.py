"""sse-widgets in a real ``marimo run`` app, seen by a real Chromium: with no hub (the widgets'
comm through marimo), with a Jupyter server whose CORS settings admit the app's page (SSE
across origins), and with one whose settings do not (the widgets fall back and say why).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import CHART_HAS, WidgetPage
from servers import JupyterServer, free_port

from .app import STOPPABLE_THREAD, TICKING_THREAD, TRAIN_IN_THE_CELL, MarimoApp

playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("marimo")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The page's messages to marimo's kernel for its widgets (POST api/kernel/set_model_value).
MODEL_MESSAGES = "/api/kernel/set_model_value"

BOARD_DONE = """([n]) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'progress' && s.snapshot().some(t => t.n === n && t.total === n && t.status === 'done'))"""

TASK_ENDED = """([desc, status]) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'progress' && s.snapshot().some(t => t.label === desc && t.status === status))"""

CHART_ON = """([channel, transport, count]) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes(channel) && s.transport === transport && s.count >= count)"""


class AppPage(WidgetPage):
    """A marimo app's page, recording what it sends to marimo for its widgets."""

    def __init__(self, browser: Any, app: MarimoApp) -> None:
        super().__init__(browser)
        self.sent: list[dict[str, Any]] = []
        self.page.on("request", self._record)
        self.page.goto(app.url, timeout=60_000)

    def _record(self, request: Any) -> None:
        if request.url.endswith(MODEL_MESSAGES) and request.post_data:
            self.sent.append(json.loads(request.post_data)["message"])

    def told_cursor(self) -> bool:
        """The page has told the kernel how far its widgets got: what used to be a trait update."""
        cursor = [m for m in self.sent if m.get("method") == "update" and "last_event_id" in m.get("state", {})]
        return bool(cursor) or any(m.get("content", {}).get("kind") == "cursor" for m in self.sent)

    def wait_for_cursor(self, timeout: float = 15_000) -> None:
        """Until the page has reported its cursor (about a second after its last event)."""
        while not self.told_cursor():
            self.page.wait_for_event("request", predicate=lambda r: r.url.endswith(MODEL_MESSAGES),
                                     timeout=timeout)

    def status(self, kind: str) -> Any:
        return self.page.locator(f".sse-{kind} .sse-status").first


def assert_nothing_reran(app: MarimoApp, page: AppPage) -> None:
    updates = [m for m in page.sent if m.get("method") == "update"]
    assert updates == [], "the page changed widget traits, which makes marimo run the cells that use them"
    assert sorted(app.runs()) == ["publish", "show"], f"cells ran {app.runs()}"


@pytest.fixture
def no_hub_app(tmp_path: Path) -> Iterator[MarimoApp]:
    app = MarimoApp(tmp_path, TRAIN_IN_THE_CELL)
    try:
        yield app
    finally:
        app.stop()


def test_without_a_hub_the_widgets_live_over_marimos_comm_and_no_cell_runs_twice(
    no_hub_app: MarimoApp, browser: Any
) -> None:
    page = AppPage(browser, no_hub_app)
    try:
        page.wait(CHART_HAS, ["train", 50])
        assert page.chart("train")["x"] == list(range(50))
        page.wait(BOARD_DONE, [50])
        playwright_api.expect(page.status("chart")).to_have_text("live · comm")
        playwright_api.expect(page.status("progress")).to_have_text("live · comm")
        page.wait_for_cursor()
        assert_nothing_reran(no_hub_app, page)
        assert page.errors == []
    finally:
        page.close()


def publish_from_another_process(env: dict[str, str], channel: str, count: int) -> None:
    code = (
        "import sse_widgets as sw\n"
        f"for i in range({count}):\n"
        f"    sw.metric({channel!r}, x=i, loss=1.0 / (i + 1))\n"
        "report = sw.flush(10)\n"
        "assert report.ok, report\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
    subprocess.run([sys.executable, "-c", code], env={**clean, **env}, check=True, timeout=60)


@pytest.fixture(scope="module")
def admitted_port() -> int:
    """The port of the one app whose origin the hub admits."""
    return free_port()


@pytest.fixture(scope="module")
def hub(admitted_port: int) -> Iterator[JupyterServer]:
    """A Jupyter server whose CORS settings admit pages of http://127.0.0.1:<admitted_port> only."""
    origin = f"http://127.0.0.1:{admitted_port}"
    with JupyterServer(options={"ServerApp.allow_origin": origin, "ServerApp.allow_credentials": "True"}) as server:
        yield server


def test_with_a_hub_that_admits_the_apps_origin_the_widgets_stream_from_it(
    tmp_path: Path, browser: Any, hub: JupyterServer, admitted_port: int
) -> None:
    app = MarimoApp(tmp_path, TRAIN_IN_THE_CELL, env=hub.env, port=admitted_port)
    page = AppPage(browser, app)
    try:
        page.wait(CHART_ON, ["train", "sse", 50])
        assert page.chart("train")["x"] == list(range(50))
        page.wait(BOARD_DONE, [50])
        playwright_api.expect(page.status("chart")).to_have_text("live")
        # Straight from the hub, across origins, with the tickets in the URL (the page
        # cannot set the hub's cookies); one tab, so it hosts the browser's stream itself.
        urls = page.js("() => [...globalThis.__sseWidgets.eventSources].map(s => s.url)")
        assert urls and all(u.startswith(f"{hub.url}sse-widgets/api/stream?") and "auth_ticket=" in u for u in urls)
        assert page.js("() => globalThis.__sseWidgets.mode") == "leader"
        publish_from_another_process(hub.env, "other", 20)
        page.wait(CHART_ON, ["other", "sse", 20])
        assert page.chart("other")["x"] == list(range(20))
        page.wait_for_cursor()
        assert_nothing_reran(app, page)
        assert f"sse_widgets: a page at {app.origin}" not in hub.log()
    finally:
        page.close()
        app.stop()


def test_with_a_hub_that_refuses_the_apps_origin_the_widgets_fall_back_to_the_comm_and_say_why(
    tmp_path: Path, browser: Any, hub: JupyterServer
) -> None:
    app = MarimoApp(tmp_path, TICKING_THREAD, env=hub.env)  # another port: not admitted
    page = AppPage(browser, app)
    try:
        page.wait(CHART_ON, ["train", "comm", 5])
        x = page.chart("train")["x"]
        assert x == list(range(x[0], x[0] + len(x))), "in order, once each"
        # The kernel reached its hub; only this page could not.
        assert page.js("() => [...globalThis.__sseWidgets.stores.values()][0].model.get('transport')") == "sse"
        status = page.status("chart")
        playwright_api.expect(status).to_have_text("live · comm")
        advice = f"--ServerApp.allow_origin={app.origin} --ServerApp.allow_credentials=True"
        playwright_api.expect(status).to_have_attribute("title", f"events come over the kernel's comm: "
                                                        f"the hub at {hub.url} did not answer this page, "
                                                        f"or refused it as another origin (CORS). To stream "
                                                        f"from it, start that server with {advice}")
        log = hub.log()
        assert f"sse_widgets: a page at {app.origin} asked for /sse-widgets/api/stream and Jupyter refused it" in log
        assert advice in log
    finally:
        page.close()
        app.stop()


def test_stop_on_a_marimo_page_reaches_the_hub_across_origins_and_ends_the_loop(
    tmp_path: Path, browser: Any, hub: JupyterServer, admitted_port: int
) -> None:
    app = MarimoApp(tmp_path, STOPPABLE_THREAD, env=hub.env, port=admitted_port)
    page = AppPage(browser, app)
    try:
        stop = page.page.get_by_role("button", name="Stop long")
        playwright_api.expect(stop).to_be_enabled(timeout=60_000)
        stop.click()
        page.wait(TASK_ENDED, ["long", "cancelled"], timeout=30_000)
        # The click went to the hub across origins (a preflighted POST with the widget's
        # ticket in a header), not to marimo, and the loop in the app's thread ended.
        deadline = time.monotonic() + 30
        while "cancelled" not in app.runs() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "cancelled" in app.runs(), app.runs()
        assert page.js("() => globalThis.__sseWidgets.mode") == "leader"
        assert f"sse_widgets: a page at {app.origin}" not in hub.log()
    finally:
        page.close()
        app.stop()
