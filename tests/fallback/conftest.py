"""Fixtures for the fallback tests: Playwright's sync API beside pytest-jupyter (browser_support)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import chromium, jp_asyncio_loop, jp_server_cleanup, require_built_js
from servers import JupyterServer

__all__ = ["jp_asyncio_loop", "jp_server_cleanup"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), one per test module; the JS must be built."""
    require_built_js()
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def lab_without_extension() -> Iterator[JupyterServer]:
    """A Jupyter server with JupyterLab but without sse-widgets: no hub, no SSE_WIDGETS_* for
    kernels; JupyterLab's news prompt switched off so that it covers nothing."""
    started = JupyterServer(config={"ServerApp": {"jpserver_extensions": {"sse_widgets": False}}}).start()
    try:
        settings = Path(started.process_env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        yield started
    finally:
        started.stop()
