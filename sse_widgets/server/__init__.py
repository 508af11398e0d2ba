"""The Jupyter server extension: the only part that imports tornado and jupyter_server."""

from __future__ import annotations

from .app import SSEWidgetsApp

__all__ = ["SSEWidgetsApp"]
