"""No hub, so no Stop: the button is there, disabled, and says why (the comm waits behind the cell)."""

from __future__ import annotations

from typing import Any

import pytest
from servers import JupyterServer
from widgets.test_browser import Page

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_without_a_hub_the_stop_button_is_disabled_and_says_why(lab_without_extension: JupyterServer, browser: Any) -> None:
    page = Page(browser, lab_without_extension, "lab", "no-hub-stop.ipynb", [
        'import sse_widgets as sw\nsw.ProgressBoard("p", cancel=True)',
        'bar = sw.progress(total=10, desc="manual", channel="p", task="m")\nbar.update(3)\nbar.refresh()',
    ])  # fmt: skip
    try:
        page.run_cell(0)
        page.run_cell(1)
        stop = page.page.get_by_role("button", name="Stop manual")
        playwright_api.expect(stop).to_be_disabled(timeout=30_000)
        assert "only after the running cell ends" in (stop.get_attribute("title") or "")
    finally:
        page.close()
