"""EventLog: a scrolling, bounded list of events; ``log`` records as log lines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import traitlets

from ._base import StreamWidget, static_asset

LEVELS = ("", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class EventLog(StreamWidget):
    """The events of the followed channels, newest at the bottom.

    Records published by :class:`sse_widgets.LogHandler` (type ``log``) show as log lines:
    time, level in its colour, logger, message, and the traceback under it. Other events
    show as time, channel, type and their JSON. Above the list: a level filter, a text
    filter and a pause button (events keep arriving, within the bound, while paused).

    Parameters
    ----------
    channels
        Channel name(s) or ``*`` pattern(s); every channel by default. Log records go to
        ``"logs"`` unless told otherwise.
    max_events
        Rows kept; older ones drop off the top.
    types
        Only these event types (all when empty).
    level
        Lowest log level shown at first ("" for all); the widget's selector changes it.
    filter
        Text a row must contain (case-insensitive) to be shown; the widget's box changes it.
    """

    _esm = static_asset("eventlog", ".js")
    _css = static_asset("eventlog", ".css")
    _default_channels = ("*",)

    max_events = traitlets.Int(500, help="rows kept").tag(sync=True)
    types = traitlets.List(traitlets.Unicode(), help="event types shown; all if empty").tag(sync=True)
    height = traitlets.Int(240, help="list height in pixels").tag(sync=True)
    level = traitlets.Unicode("", help="lowest log level shown; all if empty").tag(sync=True)
    filter = traitlets.Unicode("", help="text a shown row contains").tag(sync=True)

    def __init__(self, channels: str | Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(channels, **kwargs)

    @traitlets.validate("level")
    def _valid_level(self, proposal: dict[str, Any]) -> str:
        value = str(proposal["value"]).upper()
        if value not in LEVELS:
            raise traitlets.TraitError(f"EventLog level must be one of {', '.join(LEVELS[1:])} or '', not {proposal['value']!r}")
        return value

    @traitlets.validate("max_events")
    def _valid_max_events(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if not 1 <= value <= 100_000:
            raise traitlets.TraitError(f"EventLog max_events must be between 1 and 100000, not {value}")
        return value
