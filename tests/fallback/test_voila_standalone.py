"""Standalone ``voila notebook.ipynb`` (no sse-widgets server extension, no hub): the widgets work over the comm."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from widgets.test_browser import COUNT_EVENTSOURCES

from .dashboard import NOTEBOOK, RATE_LIMITED, check_dashboard
from .voila import Voila

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Voila]:
    server = Voila(tmp_path_factory.mktemp("voila"), NOTEBOOK)
    try:
        yield server
    finally:
        server.stop()


def test_standalone_voila_shows_chart_progress_and_toast_over_the_comm(voila: Voila, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(COUNT_EVENTSOURCES)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        # Voila runs the whole notebook, 100k-metric loop included, before it sends the page.
        page.goto(voila.url, timeout=120_000)
        page.locator(".sse-chart").first.wait_for(timeout=60_000)
        check_dashboard(page)
    finally:
        context.close()
    assert RATE_LIMITED not in voila.log()
    assert not [e for e in errors if "sse-widgets" in e], errors
