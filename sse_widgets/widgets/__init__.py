"""The widgets: anywidget classes whose browser code is built from js/ into static/."""

from __future__ import annotations

from ._base import StreamWidget
from .chart import LiveChart
from .dashboard import Dashboard, DashboardHeader
from .eventlog import EventLog
from .progress import ProgressBar, ProgressBoard
from .toasts import Toasts

__all__ = [
    "Dashboard",
    "DashboardHeader",
    "EventLog",
    "LiveChart",
    "ProgressBar",
    "ProgressBoard",
    "StreamWidget",
    "Toasts",
]
