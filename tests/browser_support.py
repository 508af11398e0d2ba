"""What browser tests share: launching Debian's Chromium with Playwright, and reading the
widgets' state through the test hook on ``globalThis.__sseWidgets``.

Copied from tests/widgets/test_browser.py (which keeps its own copy for now), so that the
sharing tests drive pages the same way; new browser tests should import from here.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("SSE_WIDGETS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
STATIC = Path(__file__).resolve().parents[1] / "sse_widgets" / "static"
WIDGET_BUNDLES = ("chart", "progress", "toasts", "eventlog", "dashboard", "static_page")

# True once a chart following `channel` holds at least `count` points.
CHART_HAS = """([channel, count]) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes(channel) && s.count >= count)"""

# The state of every store of one kind: its snapshot, connection state and channels.
STORES = """(kind) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .filter(s => s.kind === kind).map(s => ({...s.snapshot(), state: s.state, channels: s.channels}))"""

# What the shared client holds, for failure messages.
DEBUG = """() => {
  const r = globalThis.__sseWidgets;
  if (!r) return "no registry";
  return {
    connections: [...r.connections.values()].map(c => ({state: c.state, states: c.states,
      connects: c.connects, cursor: c.cursor})),
    stores: [...r.stores.values()].map(s => [s.kind, s.channels, s.state, s.received]),
  };
}"""


# Counts `new Notification(...)` (the page still makes the real one), and lets a test say the
# page is hidden. Playwright keeps every page it drives visible, in headless and headed
# Chromium alike ("all pages behave as if they are active foreground tabs",
# microsoft/playwright#2286, #12099; checked here: neither another tab in front, a minimised
# window, Emulation.setFocusEmulationEnabled nor Page.setWebLifecycleState changes
# `document.visibilityState`), so the page's visibility is set the way the Playwright
# maintainers suggest: `visibilityState`/`hidden` overridden and `visibilitychange` dispatched.
DESKTOP_PROBE = """
(() => {
  const Native = window.Notification;
  window.__notifications = [];
  if (typeof Native === "function") {
    window.Notification = class extends Native {
      constructor(title, options) {
        super(title, options);
        window.__notifications.push({title, body: options?.body ?? ""});
      }
    };
  }
  let state = "visible";
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => state === "hidden" });
  window.__setVisibility = (next) => {
    state = next;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""


def desktop_summary(page: Any) -> Any:
    """What the stream's host knows of desktop notifications: tabs, visible ones, opted in."""
    return page.evaluate("async () => (await globalThis.__sseWidgets.connection().info()).desktop")


def notebook(*cells: str) -> str:
    """An .ipynb text with one code cell per source, for a Lab, Notebook 7 or Voila page."""
    return json.dumps({
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:8],
             "metadata": {}, "outputs": [], "source": source}
            for source in cells
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    })


def lab_user_settings(server: Any, plugin: str, settings: dict[str, Any]) -> None:
    """Write JupyterLab user settings for ``plugin`` ("package:plugin") in the server's config
    dir, where Lab and Notebook 7 read them (``lab/user-settings/<package>/<plugin>``)."""
    package, name = plugin.split(":")
    folder = Path(server.process_env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / package
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(settings))


def require_built_js() -> None:
    """Fail (not skip) when the widgets' JavaScript was not built: the tests would be empty."""
    missing = [n for n in WIDGET_BUNDLES if not (STATIC / f"{n}.js").is_file()]
    if missing:
        pytest.fail(f"JS not built ({missing}): run 'npm ci && npm run build' in js/ or 'pip install .'")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium from /usr/bin (a test tool's own browser download fails here)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        # Only on a machine set up by hand: scripts/test (and so CI) installs Chromium.
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class WidgetPage:
    """One browser context and page, with readers for the widgets' test hook."""

    def __init__(self, browser: Any, viewport: tuple[int, int] = (1400, 1000)):
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait(self, expression: str, arg: Any = None, timeout: float = 30_000) -> Any:
        """Poll ``expression`` in the page until it is truthy; fail with the client's state."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            return self.page.wait_for_function(expression, arg=arg, timeout=timeout).json_value()
        except PlaywrightTimeout:
            raise AssertionError(
                f"timed out waiting for {expression} {arg}; page: {self.debug()}; errors: {self.errors}"
            ) from None

    def debug(self) -> Any:
        try:
            return self.js(DEBUG)
        except Exception as exc:  # noqa: BLE001 - only for a failure message
            return f"(could not read the page: {exc})"

    def stores(self, kind: str) -> list[dict[str, Any]]:
        """Snapshots of the widgets of one kind (chart, progress, toasts, eventlog)."""
        return list(self.js(STORES, kind))

    def snapshots(self, kind: str) -> list[Any]:
        """The raw ``snapshot()`` of each widget of one kind (a progress board's is its task list)."""
        return list(self.js(
            "(kind) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]"
            ".filter(s => s.kind === kind).map(s => s.snapshot())", kind))

    def chart(self, channel: str, series: str | None = None, limit: int = 100_000) -> dict[str, Any]:
        """A chart following ``channel`` (the one drawing ``series``, when given): its count,
        x and series, up to ``limit`` points. Stores are in the order widgets started, which
        differs from page to page, so pick by series where several charts share a channel."""
        found = self.js(
            """([channel, series, limit]) => { const s = [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
                 .find(s => s.kind === 'chart' && s.channels.includes(channel)
                       && (series === null || series in s.snapshot(1).series));
               return s ? s.snapshot(limit) : null; }""", [channel, series, limit])
        assert found is not None, f"no chart follows {channel} (series {series}); page: {self.debug()}"
        return dict(found)

    def close(self) -> None:
        self.context.close()


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """Replace pytest-jupyter's autouse loop fixture with a loop that is never current.

    Playwright's sync API runs the thread's current asyncio loop for the whole module;
    pytest-jupyter's fixture makes its loop current and closes it after each test, under
    Playwright ("Cannot close a running event loop"). Import this into a conftest.py of
    tests that use no ``jp_*`` server fixture.
    """
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    """pytest-jupyter's cleanup of its in-process server; these tests start none."""
    yield None
