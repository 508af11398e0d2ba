"""Fixtures for the fallback tests: Playwright's sync API beside pytest-jupyter (see tests/widgets/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

STATIC = Path(__file__).resolve().parents[2] / "sse_widgets" / "static"


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """Replace pytest-jupyter's autouse loop fixture with a loop that is never current.

    Playwright's sync API runs the thread's current asyncio loop for the whole module (one
    browser per module); pytest-jupyter's fixture makes its loop current and closes it after
    each test, under Playwright ("Cannot close a running event loop"). These tests use no
    ``jp_*`` server fixture, so a private loop is enough for pytest-jupyter's cleanup.
    """
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    """pytest-jupyter's cleanup of its in-process server; these tests start none."""
    yield None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), one per test module; the JS must be built."""
    from widgets.test_browser import CHROMIUM, CHROMIUM_ARGS

    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    if not all((STATIC / f"{n}.js").is_file() for n in ("chart", "progress", "toasts", "dashboard")):
        pytest.fail("JS not built: run 'npm ci && npm run build' in js/ or 'pip install .'")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
