"""Fixtures for the browser tests of the widgets: the loop fixtures Playwright needs."""

from __future__ import annotations

from browser_support import jp_asyncio_loop, jp_server_cleanup

__all__ = ["jp_asyncio_loop", "jp_server_cleanup"]
