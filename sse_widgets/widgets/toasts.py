"""Toasts: ``notify`` events as a stack of notifications, a history, and desktop notifications."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import traitlets

from ._base import StreamWidget, static_asset

#: Where ``sw.notify`` publishes unless told otherwise.
DEFAULT_CHANNELS = ("notify",)
#: Where the stack sits: over a corner of the dashboard (or the output), or in a grid cell.
POSITIONS = ("top-right", "bottom-right", "inline")
LEVELS = ("info", "success", "warning", "error")


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
    position
        ``"top-right"`` (default) or ``"bottom-right"``: in a ``Dashboard`` the stack floats
        over that corner; ``"inline"``: a list in a grid cell of its own, covering nothing.
    desktop_level
        The lowest level shown as a desktop notification once the person clicked "Enable
        desktop notifications" (``"success"`` by default: finished and failed jobs, not
        every info).

    Notes
    -----
    Messages are always shown as text, never as HTML. The bell button counts the
    notifications that arrived unseen and opens the last 50. Desktop notifications show
    only while no tab of the server is visible, once per browser whatever the number of
    tabs.
    """

    _esm = static_asset("toasts", ".js")
    _css = static_asset("toasts", ".css")
    _default_channels = DEFAULT_CHANNELS

    max_visible = traitlets.Int(5, help="toasts shown at once").tag(sync=True)
    timeout_ms = traitlets.Int(5000, help="default auto-close time; 0 = stay").tag(sync=True)
    position = traitlets.Unicode("top-right", help="top-right, bottom-right or inline").tag(sync=True)
    desktop_level = traitlets.Unicode("success", help="lowest level shown on the desktop").tag(sync=True)

    def __init__(self, channels: str | Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(channels, **kwargs)

    @traitlets.validate("position", "desktop_level")
    def _check_choice(self, proposal: dict[str, Any]) -> str:
        name = proposal["trait"].name
        allowed = POSITIONS if name == "position" else LEVELS
        value = proposal["value"]
        if value not in allowed:
            raise traitlets.TraitError(f"Toasts {name} must be one of {', '.join(map(repr, allowed))}, not {value!r}")
        return str(value)

    @traitlets.validate("max_visible")
    def _check_max_visible(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise traitlets.TraitError(f"Toasts max_visible must be at least 1, not {value}")
        return value
