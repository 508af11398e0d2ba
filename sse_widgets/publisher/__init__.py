"""Kernel-side API: publish events to the sse-widgets hub from cells, threads, workers and scripts (stdlib only)."""

from __future__ import annotations

from .api import ConnectionInfo, connect, connection_info, flush, ticket, viewers
from .control import Cancelled
from .events import metric, notify, publish
from .logs import LogCapture, LogHandler, capture_logging
from .progress import progress, tqdm, trange
from .transport import FlushReport

__all__ = [
    "Cancelled",
    "ConnectionInfo",
    "FlushReport",
    "LogCapture",
    "LogHandler",
    "capture_logging",
    "connect",
    "connection_info",
    "flush",
    "metric",
    "notify",
    "progress",
    "publish",
    "ticket",
    "tqdm",
    "trange",
    "viewers",
]
