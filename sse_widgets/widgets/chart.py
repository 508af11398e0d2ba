"""LiveChart: live curves of ``metric`` events (uPlot in the browser)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import traitlets

from ._base import StreamWidget, static_asset


class LiveChart(StreamWidget):
    """A live line chart of the ``metric`` events on one or more channels.

    Parameters
    ----------
    channels
        Channel name(s) or ``*`` pattern(s), for example ``"train"``.
    series
        Names in each event's ``values`` to draw; empty draws every value seen (up to 16).
    window
        Points kept and drawn per series (a rolling window; older points fall off).
    title
        Shown above the chart.
    height
        Plot height in pixels.

    Notes
    -----
    x is the event's ``x`` when the first event has one, else the event time.
    """

    _esm = static_asset("chart", ".js")
    _css = static_asset("chart", ".css")
    _default_channels = None

    series = traitlets.List(traitlets.Unicode(), help="value names to draw").tag(sync=True)
    window = traitlets.Int(10_000, help="points kept per series").tag(sync=True)
    height = traitlets.Int(240, help="plot height in pixels").tag(sync=True)

    def __init__(
        self,
        channels: str | Iterable[str] | None = None,
        series: Iterable[str] = (),
        window: int = 10_000,
        **kwargs: Any,
    ) -> None:
        super().__init__(channels, series=list(series), window=window, **kwargs)

    @traitlets.validate("window")
    def _valid_window(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if not 2 <= value <= 10_000_000:
            raise traitlets.TraitError(f"window must be between 2 and 10,000,000 points, not {value}")
        return value

    def _describe(self) -> list[tuple[str, str]]:
        return [
            *super()._describe(),
            ("series", ", ".join(self.series) or "(all)"),
            ("window", f"{self.window:,} points"),
        ]
