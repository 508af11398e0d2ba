"""JupyterLab on a server where the sse-widgets extension is disabled: the same notebook works over the comm."""

from __future__ import annotations

import urllib.error
from typing import Any

import pytest
from servers import JupyterServer
from widgets.test_browser import CELLS as CELL_SELECTOR
from widgets.test_browser import Page

from .dashboard import CELLS, RATE_LIMITED, check_dashboard

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_lab_without_the_extension_shows_the_dashboard_over_the_comm(lab_without_extension: JupyterServer, browser: Any) -> None:
    with pytest.raises(urllib.error.HTTPError) as missing:
        lab_without_extension.api("GET", "sse-widgets/api/channels")
    assert missing.value.code == 404, "the extension must really be off for this test"
    page = Page(browser, lab_without_extension, "lab", "no-hub.ipynb", CELLS)
    try:
        for index in range(len(CELLS)):
            page.run_cell(index)
        check_dashboard(page.page)
        loop_output = page.page.locator(CELL_SELECTOR).nth(2).locator(".jp-OutputArea")
        playwright_api.expect(loop_output).to_contain_text("loop done")
        assert RATE_LIMITED not in loop_output.inner_text()
        assert RATE_LIMITED not in lab_without_extension.log()

        # A reload: new models from the kernel, the points from the kernel's history.
        page.save()
        page.reload()
        check_dashboard(page.page)
        assert page.dialogs == []
    finally:
        page.close()
