"""Fixtures for the sharing tests: the browser tests' loop fixtures, shared with tests/widgets."""

from __future__ import annotations

from browser_support import jp_asyncio_loop, jp_server_cleanup

__all__ = ["jp_asyncio_loop", "jp_server_cleanup"]
