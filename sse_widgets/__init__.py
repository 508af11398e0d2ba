"""sse-widgets: live dashboards for Jupyter, fed over Server-Sent Events.

The kernel-side API (``publish``, ``metric``, ``notify``, ``progress``...) is stdlib-only
and imported eagerly; the widgets import anywidget and are loaded on first use, so that
``import sse_widgets`` stays cheap in worker processes and plain scripts.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._warnings import SSEWidgetsWarning
from .publisher import (
    Cancelled,
    LogHandler,
    capture_logging,
    connect,
    connection_info,
    flush,
    metric,
    notify,
    progress,
    publish,
    ticket,
    tqdm,
    trange,
    viewers,
)

__version__ = "0.1.0"

# name -> module that defines it; resolved lazily by __getattr__ below.
_LAZY: dict[str, str] = {
    # widgets (sse_widgets/widgets/), which import anywidget
    "LiveChart": "sse_widgets.widgets",
    "ProgressBoard": "sse_widgets.widgets",
    "ProgressBar": "sse_widgets.widgets",
    "Toasts": "sse_widgets.widgets",
    "EventLog": "sse_widgets.widgets",
    "Dashboard": "sse_widgets.widgets",
    # integrations (sse_widgets/integrations/), which import their library when used
    "capture_tqdm": "sse_widgets.integrations.capture",
}

__all__ = [
    "Cancelled",
    "Dashboard",
    "EventLog",
    "LiveChart",
    "LogHandler",
    "ProgressBar",
    "ProgressBoard",
    "SSEWidgetsWarning",
    "Toasts",
    "__version__",
    "capture_logging",
    "capture_tqdm",
    "connect",
    "connection_info",
    "flush",
    "integrations",
    "metric",
    "notify",
    "progress",
    "publish",
    "ticket",
    "tqdm",
    "trange",
    "viewers",
]


#: Subpackages loaded on first use: ``sw.integrations.KerasCallback()`` with no extra import.
_LAZY_SUBPACKAGES = frozenset({"integrations"})


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'sse_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    # Imported here, not at module level: kernels and workers import sse_widgets and
    # must not pay for jupyter_server.
    from .server.app import SSEWidgetsApp

    return [{"module": "sse_widgets", "app": SSEWidgetsApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    # The prebuilt JupyterLab extension (notifications), for `jupyter labextension develop`;
    # a wheel installs it through shared-data (pyproject.toml).
    return [{"src": "labextension", "dest": "sse-widgets-lab"}]
