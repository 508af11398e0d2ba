"""A kernel that publishes to a hub its page cannot reach: the page's widgets fall back to the comm.

Standalone Voila started from a shell that has ``SSE_WIDGETS_URL``/``KEY`` (a terminal of a
JupyterLab with the extension): the kernel reaches the hub, so its widgets say ``sse``; the
Voila page has no hub (404), so the frontend switches to the comm and asks, and the kernel
from then on sends its events to its widgets as well. The hub here is the publisher tests'
stand-in (it records what arrives); the page, the kernel and Voila are real.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from publisher.conftest import FakeHub
from widgets.test_browser import COUNT_EVENTSOURCES, notebook

from .dashboard import charts, wait
from .voila import Voila

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = [
    """
import threading, time
import sse_widgets as sw
chart = sw.LiveChart("mixed/train", title="mixed")
chart
""",
    """
def tick():
    for i in range(1200):  # ten a second, for long enough to outlive the test
        sw.metric("mixed/train", x=i, v=i)
        time.sleep(0.1)

threading.Thread(target=tick, daemon=True).start()
print(chart.transport)
""",
]


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    stand_in = FakeHub()
    try:
        yield stand_in
    finally:
        stand_in.stop()


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory, hub: FakeHub) -> Iterator[Voila]:
    server = Voila(tmp_path_factory.mktemp("voila-hub"), notebook(*CELLS),
                   env={"SSE_WIDGETS_URL": hub.url, "SSE_WIDGETS_KEY": "k"})
    try:
        yield server
    finally:
        server.stop()


def test_a_page_without_the_kernels_hub_gets_the_kernels_events_over_the_comm(
    voila: Voila, hub: FakeHub, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.add_init_script(COUNT_EVENTSOURCES)
    page = context.new_page()
    try:
        page.goto(voila.url, timeout=120_000)
        page.locator(".sse-chart").first.wait_for(timeout=60_000)
        wait(page, """() => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
          .some(s => s.kind === 'chart' && s.transport === 'comm' && s.count >= 3)""", None)
        chart = charts(page)["mixed/train"]
        assert chart["x"] == sorted(chart["x"]) and len(set(chart["x"])) == len(chart["x"])
        playwright_api.expect(page.locator(".sse-chart .sse-status")).to_have_text("live · comm")
        # The kernel reached the hub, so the widget first tried the page's SSE, once.
        assert page.evaluate("() => window.__streamSources.length") >= 1
        assert page.evaluate("() => [...globalThis.__sseWidgets.stores.values()][0].model.get('transport')") == "sse"
    finally:
        context.close()
    # The hub gets every event, before and after the page asked for them (its sender
    # batches, so it may be a moment behind the comm).
    deadline = time.monotonic() + 30
    while True:
        xs = [e["data"]["x"] for e in hub.events if e["channel"] == "mixed/train"]
        if (xs and max(xs) >= max(chart["x"])) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert xs[: max(chart["x"]) + 1] == list(range(max(chart["x"]) + 1))
