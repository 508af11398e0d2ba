"""Fixtures for the marimo tests: Playwright's sync API beside pytest-jupyter, the fallback tests' browser."""

from __future__ import annotations

from browser_support import jp_asyncio_loop, jp_server_cleanup
from fallback.conftest import browser

__all__ = ["browser", "jp_asyncio_loop", "jp_server_cleanup"]
