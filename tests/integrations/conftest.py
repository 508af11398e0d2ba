"""Integration tests: fresh processes and kernels publishing to a real Jupyter server per
module; the browser test needs the loop fixtures Playwright wants."""

from __future__ import annotations

from browser_support import jp_asyncio_loop, jp_server_cleanup

__all__ = ["jp_asyncio_loop", "jp_server_cleanup"]
