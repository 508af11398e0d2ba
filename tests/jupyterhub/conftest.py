"""Fixtures for the JupyterHub tests: their support module on sys.path, Playwright's loop fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from browser_support import jp_asyncio_loop, jp_server_cleanup

__all__ = ["jp_asyncio_loop", "jp_server_cleanup"]
