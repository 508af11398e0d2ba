"""The Stop button in real Chromium, in JupyterLab 4 and Notebook 7, stopping a cell that keeps the kernel busy."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

import pytest
import test_browser
from test_browser import CELLS, UIS, playwright_api

# The browser tests' fixtures: one server and one browser per module, pages per test.
browser, built, open_page, quiet_lab = (
    test_browser.browser, test_browser.built, test_browser.open_page, test_browser.quiet_lab)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def retained_types(server: Any, channel: str) -> list[str]:
    request = urllib.request.Request(
        f"{server.url}sse-widgets/api/channels/{channel}/events",
        headers={"Authorization": f"token {server.token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return [e["type"] for e in json.loads(response.read())["events"]]


@pytest.mark.parametrize("ui", UIS)
def test_stop_clicked_twice_ends_a_busy_cell_once_and_the_kernel_stays_usable(
    open_page: Any, live_server: Any, ui: str
) -> None:
    channel = f"t{uuid.uuid4().hex[:6]}/progress"
    page = open_page(ui, [
        f'import sse_widgets as sw\nsw.ProgressBoard("{channel}", cancel=True, title="jobs")',
        ("import time\n"
        "try:\n"
        f'    for i in sw.progress(range(10**6), desc="long loop", channel="{channel}", task="loop"):\n'
        "        time.sleep(0.01)\n"
        "except sw.Cancelled as exc:\n"
        '    print("caught", type(exc).__name__, exc)\n'),
        "print(6 * 7)",
    ])  # fmt: skip
    page.run_cell(0)
    # Start the loop without waiting for it: it keeps the kernel busy until stopped.
    page.page.locator(CELLS).nth(1).locator(".jp-InputPrompt").click()
    page.page.keyboard.press("Shift+Enter")
    stop = page.page.get_by_role("button", name="Stop long loop")
    stop.wait_for(timeout=60_000)
    stop.dblclick()
    output = page.page.locator(CELLS).nth(1).locator(".jp-OutputArea-output")
    playwright_api.expect(output).to_contain_text("caught Cancelled stopped from the dashboard", timeout=30_000)
    row = page.page.locator(".sse-task[data-task='loop']")
    playwright_api.expect(row.locator(".sse-task-status")).to_have_text("cancelled")
    playwright_api.expect(row.locator(".sse-task-message")).to_have_text("stopped from the dashboard")
    playwright_api.expect(row.locator(".sse-stop")).to_be_hidden()
    assert retained_types(live_server, channel).count("cancel") == 1  # two clicks, one request
    page.run_cell(2)
    playwright_api.expect(page.page.locator(CELLS).nth(2).locator(".jp-OutputArea-output")).to_have_text("42")


def test_a_board_without_cancel_has_no_stop_button(open_page: Any) -> None:
    channel = f"t{uuid.uuid4().hex[:6]}/progress"
    page = open_page("lab", [
        f'import sse_widgets as sw\nsw.ProgressBoard("{channel}")',
        f'bar = sw.progress(total=10, desc="manual", channel="{channel}", task="m")\nbar.update(3)\nbar.refresh()',
    ])  # fmt: skip
    page.run_cell(0)
    page.run_cell(1)
    row = page.page.locator(".sse-task[data-task='m']")
    playwright_api.expect(row.locator(".sse-task-percent")).to_have_text("30%")
    playwright_api.expect(row.locator(".sse-stop")).to_be_hidden()
    assert page.page.get_by_role("button", name="Stop manual").count() == 0
