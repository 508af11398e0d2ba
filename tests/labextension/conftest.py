"""Fixtures for the JupyterLab extension's tests: a browser, and a server whose Lab shows no
news prompt (it would cover the notifications)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import (
    chromium,
    jp_asyncio_loop,
    jp_server_cleanup,
    lab_user_settings,
    require_built_js,
)
from servers import LAB_EXTENSION, JupyterServer

__all__ = ["jp_asyncio_loop", "jp_server_cleanup"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_built_js()
    if not (LAB_EXTENSION / "package.json").is_file():
        pytest.fail("the JupyterLab extension is not built: run 'npm run build' in js/ or 'pip install .'")
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def lab_server() -> Iterator[JupyterServer]:
    server = JupyterServer().start()
    try:
        lab_user_settings(server, "@jupyterlab/apputils-extension:notification", {"fetchNews": "false"})
        yield server
    finally:
        server.stop()
