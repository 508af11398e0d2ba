"""No hub, so no Stop: the button is there, disabled, and says why (the comm waits behind the cell)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import JupyterServer
from widgets.test_browser import Page

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server() -> Iterator[JupyterServer]:
    started = JupyterServer(config={"ServerApp": {"jpserver_extensions": {"sse_widgets": False}}}).start()
    try:
        settings = Path(started.process_env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        yield started
    finally:
        started.stop()


def test_without_a_hub_the_stop_button_is_disabled_and_says_why(server: JupyterServer, browser: Any) -> None:
    page = Page(browser, server, "lab", "no-hub-stop.ipynb", [
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
