"""EventLog: a scrolling, bounded list of raw events of any type."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import traitlets

from ._base import StreamWidget, static_asset


class EventLog(StreamWidget):
    """The raw events of the followed channels, newest at the bottom.

    Parameters
    ----------
    channels
        Channel name(s) or ``*`` pattern(s); every channel by default.
    max_events
        Rows kept; older ones drop off the top.
    types
        Only these event types (all when empty).
    """

    _esm = static_asset("eventlog", ".js")
    _css = static_asset("eventlog", ".css")
    _default_channels = ("*",)

    max_events = traitlets.Int(500, help="rows kept").tag(sync=True)
    types = traitlets.List(traitlets.Unicode(), help="event types shown; all if empty").tag(sync=True)
    height = traitlets.Int(240, help="list height in pixels").tag(sync=True)

    def __init__(self, channels: str | Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(channels, **kwargs)
