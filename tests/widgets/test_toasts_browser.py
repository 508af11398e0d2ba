"""Toasts in real Chromium (Notebook 7, a real kernel): where the stack sits in a Dashboard
(``position``), the history bell with its unread count, and the desktop opt-in button."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

import pytest
from browser_support import DESKTOP_PROBE, desktop_summary
from widgets.test_browser import SETUP, browser, built, open_page, quiet_lab

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

__all__ = ["browser", "built", "open_page", "quiet_lab"]

HISTORY = "() => [...globalThis.__sseWidgets.stores.values()].filter(s => s.kind === 'toasts').map(s => s.historySnapshot())"


def notes(p: str, messages: list[str], level: str = "info", timeout_ms: int | None = 0) -> str:
    events = [{"channel": f"{p}/notes", "type": "notify",
               "data": {"level": level, "message": m, "timeout_ms": timeout_ms}} for m in messages]
    return f"publish({events!r})"


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not laid out"
    return dict(found)


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (inner["x"] >= outer["x"] - 1 and inner["y"] >= outer["y"] - 1
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1)


def test_inline_toasts_are_laid_out_in_the_dashboard_grid_and_corner_ones_over_it(open_page: Any) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    page = open_page("notebook", [
        SETUP + f"""
inline = sw.Toasts("{p}/notes", position="inline", title="Notes")
corner = sw.Toasts("{p}/notes", position="bottom-right")
sw.Dashboard([sw.LiveChart("{p}/train", title="Loss"), inline, corner], title="Run", columns=2)
""",
        notes(p, ["first note"]),
    ])
    page.run_cell(0)
    page.run_cell(1)
    inline = page.page.locator(".widget-gridbox .sse-toasts[data-position='inline'] .sse-toast-message")
    playwright_api.expect(inline).to_have_text("first note")
    grid = box(page, ".sse-dashboard .widget-gridbox")
    assert inside(box(page, ".widget-gridbox .sse-toasts[data-position='inline'] .sse-toast"), grid)
    # The bottom-right stack floats over the dashboard (not a cell), in its lower half.
    corner = page.page.locator(".sse-toasts-overlay-bottom .sse-toast")
    playwright_api.expect(corner).to_have_count(1)
    assert page.page.locator(".widget-gridbox .sse-toasts-overlay-bottom").count() == 0
    dashboard = box(page, ".sse-dashboard")
    toast = box(page, ".sse-toasts-overlay-bottom .sse-toast")
    assert toast["y"] + toast["height"] <= dashboard["y"] + dashboard["height"] + 1
    assert toast["y"] > dashboard["y"] + dashboard["height"] / 2


def test_the_bell_counts_unread_notifications_and_keeps_the_last_50(open_page: Any) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    page = open_page("notebook", [
        SETUP + f'toasts = sw.Toasts("{p}/notes", max_visible=2)\ntoasts',
        notes(p, [f"note {i}" for i in range(55)], timeout_ms=60_000),
    ])
    page.run_cell(0)
    page.run_cell(1)
    bell = page.page.locator(".sse-toast-bell")
    playwright_api.expect(bell).to_have_attribute("data-unread", "50")
    # max_visible still applies to the stack.
    playwright_api.expect(page.page.locator(".sse-toast-stack .sse-toast")).to_have_count(2)
    bell.click()
    history = page.page.locator(".sse-toast-history .sse-toast-message")
    playwright_api.expect(history).to_have_count(50)
    assert history.first.inner_text() == "note 54" and history.last.inner_text() == "note 5"
    playwright_api.expect(bell).to_have_attribute("data-unread", "0")
    snapshot = page.js(HISTORY)[0]
    assert snapshot["unread"] == 0 and len(snapshot["history"]) == 50


def test_enable_desktop_notifications_asks_on_click_then_shows_them_while_hidden(
    open_page: Any, live_server: Any
) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    where = urllib.parse.urlsplit(live_server.url)

    def grant_and_probe(context: Any) -> None:
        context.grant_permissions(["notifications"], origin=f"{where.scheme}://{where.netloc}")
        context.add_init_script(DESKTOP_PROBE)

    page = open_page("notebook", [
        SETUP + f'sw.Toasts("{p}/notes", desktop_level="warning")',
        notes(p, ["disk almost full"], level="warning", timeout_ms=5000),
        notes(p, ["just info"], level="info", timeout_ms=5000) + "\n" + notes(p, ["marker"], level="error"),
    ], prepare=grant_and_probe)
    page.run_cell(0)
    button = page.page.locator(".sse-toast-desktop")
    playwright_api.expect(button).to_have_text("Enable desktop notifications")
    button.click()
    playwright_api.expect(button).to_have_text("Disable desktop notifications")
    page.page.wait_for_function(
        "async () => (await globalThis.__sseWidgets.connection().info()).desktop?.opted === 1", timeout=30_000)
    page.js("() => window.__setVisibility('hidden')")
    page.page.wait_for_function(
        "async () => (await globalThis.__sseWidgets.connection().info()).desktop?.visible === 0", timeout=30_000)
    page.run_cell(1)
    page.page.wait_for_function("() => window.__notifications.length === 1", timeout=30_000)
    page.run_cell(2)
    page.page.wait_for_function(
        "() => [...document.querySelectorAll('.sse-toast-message')].some(e => e.textContent === 'marker')")
    # desktop_level="warning": the info is not shown on the desktop, the error is.
    page.page.wait_for_function("() => window.__notifications.length === 2", timeout=30_000)
    assert page.js("() => window.__notifications.map(n => n.title)") == ["disk almost full", "marker"]
    assert desktop_summary(page.page)["opted"] == 1
