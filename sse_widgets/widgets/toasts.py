"""Toasts: ``notify`` events as a stack of notifications."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import traitlets

from ._base import StreamWidget, static_asset

#: Where ``sw.notify`` publishes unless told otherwise.
DEFAULT_CHANNELS = ("notify",)


class Toasts(StreamWidget):
    """Notifications from ``notify`` events: level colours, title, text message, auto-close.

    Parameters
    ----------
    channels
        Channel name(s) or ``*`` pattern(s); ``"notify"`` (where ``sw.notify`` publishes)
        by default.
    max_visible
        How many toasts show at once; the rest wait (a "+N more" line counts them).
    timeout_ms
        Auto-close time for events that do not give ``timeout_ms``; 0 keeps them open
        (as does ``timeout_ms=None`` in an event).

    Notes
    -----
    Messages are always shown as text, never as HTML.
    """

    _esm = static_asset("toasts", ".js")
    _css = static_asset("toasts", ".css")
    _default_channels = DEFAULT_CHANNELS

    max_visible = traitlets.Int(5, help="toasts shown at once").tag(sync=True)
    timeout_ms = traitlets.Int(5000, help="default auto-close time; 0 = stay").tag(sync=True)

    def __init__(self, channels: str | Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(channels, **kwargs)
