"""Fixtures for the fallback tests: Playwright's sync API beside pytest-jupyter (browser_support)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import chromium, jp_asyncio_loop, jp_server_cleanup, require_built_js

__all__ = ["jp_asyncio_loop", "jp_server_cleanup"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), one per test module; the JS must be built."""
    require_built_js()
    with chromium() as launched:
        yield launched
