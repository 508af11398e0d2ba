"""LiveChart: live curves of ``metric`` events (uPlot in the browser), in panels, runs side by side."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import traitlets

from ._base import StreamWidget, static_asset

X_AXES = ("auto", "step", "time", "elapsed")
MAX_RUNS_LIMIT = 100


def _panel_spec(value: Any) -> str | list[list[Any]] | None:
    """Check ``panels`` and return what the frontend reads: "auto", None or [name, series] pairs.

    Pairs rather than an object: a JavaScript object puts integer-like keys first, which
    would reorder panels named "1", "2".
    """
    if value is None or value == "auto":
        return value  # type: ignore[no-any-return]
    if not isinstance(value, Mapping):
        raise traitlets.TraitError(
            f"panels must be 'auto', None or a dict of panel name to series names, not {value!r}"
        )
    if not value:
        raise traitlets.TraitError("panels must name at least one panel (None draws one plot)")
    pairs: list[list[Any]] = []
    owner: dict[str, str] = {}
    for name, series in value.items():
        if not isinstance(name, str) or not name:
            raise traitlets.TraitError(f"panel names must be non-empty strings, not {name!r}")
        if isinstance(series, str) or not isinstance(series, Iterable):
            raise traitlets.TraitError(
                f"panel {name!r} must list series names (a list of strings), not {series!r}"
            )
        names = list(series)
        if not names:
            raise traitlets.TraitError(f"panel {name!r} lists no series")
        for s in names:
            if not isinstance(s, str) or not s:
                raise traitlets.TraitError(f"panel {name!r}: series names must be non-empty strings, not {s!r}")
            if s in owner:
                raise traitlets.TraitError(f"series {s!r} is in two panels: {owner[s]!r} and {name!r}")
            owner[s] = name
        pairs.append([name, names])
    return pairs


class LiveChart(StreamWidget):
    """A live line chart of the ``metric`` events on one or more channels.

    Parameters
    ----------
    channels
        Channel name(s) or ``*`` pattern(s), for example ``"train"``. A chart that follows a
        pattern (``"train/*"``) or several channels draws each channel as a run: one colour
        per run, series told apart by dashes, the legend grouped by run.
    series
        Names in each event's ``values`` to draw; empty draws every value seen (up to 16).
    window
        Points kept and drawn per run and series (a rolling window; older points fall off).
    panels
        ``"auto"`` (default): one plot per metric, ``X`` with ``val_X``, ``eval_X``,
        ``train_X`` and ``test_X``; a dict ``{"loss": ["loss", "val_loss"], ...}`` to choose
        (series it does not name go to a panel "other"); ``None`` for a single plot. Panels
        are stacked and share x, cursor and zoom.
    smoothing
        Exponential moving average weight, 0 ≤ s < 1 (TensorBoard's debiased EMA); the
        smoothed line is drawn over a faded raw line. Also a slider on the chart.
    log_y
        Start every panel with a logarithmic y axis (each panel has its own toggle).
        Values ≤ 0 cannot be drawn on it and are skipped, with a note in the legend.
    x_axis
        ``"auto"`` (``x`` of the events when the first has one, else the event time),
        ``"step"`` (``x``; a counter where an event has none), ``"time"`` (clock time of the
        event) or ``"elapsed"`` (time since the run's first point, as mm:ss). Choose it
        when making the chart: a change clears the points shown (a reload replays them).
    x_label
        The x axis title; by default the axis kind.
    max_runs
        Runs held at most, newest kept. On one channel, when x goes back (a new run), the
        previous run stays as a faded line (the last 3) instead of being erased.
    title
        Shown above the chart.
    height
        Height of each panel's plot in pixels.

    Notes
    -----
    The chart has "Follow latest" (also a double-click) to leave a zoom made by dragging,
    and "Download CSV" (every point held: x, run, series, raw value) and "Download PNG"
    (the panels as drawn).
    """

    _esm = static_asset("chart", ".js")
    _css = static_asset("chart", ".css")
    _default_channels = None
    # The "Smoothing" slider syncs its value back; a view setting, never what is followed.
    _frontend_writable = StreamWidget._frontend_writable | {"smoothing"}

    series = traitlets.List(traitlets.Unicode(), help="value names to draw").tag(sync=True)
    window = traitlets.Int(10_000, help="points kept per run and series").tag(sync=True)
    height = traitlets.Int(240, help="height of each panel's plot in pixels").tag(sync=True)
    panels = traitlets.Any("auto", help="'auto', None, or a dict of panel name to series names")
    smoothing = traitlets.Float(0.0, help="EMA smoothing weight, 0 <= s < 1").tag(sync=True)
    log_y = traitlets.Bool(False, help="logarithmic y axes").tag(sync=True)
    x_axis = traitlets.Unicode("auto", help="'auto', 'step', 'time' or 'elapsed'").tag(sync=True)
    x_label = traitlets.Unicode("", help="x axis title").tag(sync=True)
    max_runs = traitlets.Int(10, help="runs held at most (newest kept)").tag(sync=True)
    _panels = traitlets.Any("auto").tag(sync=True)

    def __init__(
        self,
        channels: str | Iterable[str] | None = None,
        series: Iterable[str] = (),
        window: int = 10_000,
        *,
        panels: Mapping[str, Iterable[str]] | str | None = "auto",
        smoothing: float = 0.0,
        log_y: bool = False,
        x_axis: str = "auto",
        x_label: str = "",
        max_runs: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            channels, series=list(series), window=window, panels=panels, _panels=_panel_spec(panels),
            smoothing=smoothing, log_y=log_y, x_axis=x_axis, x_label=x_label, max_runs=max_runs,
            **kwargs,
        )

    @traitlets.validate("window")
    def _valid_window(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if not 2 <= value <= 10_000_000:
            raise traitlets.TraitError(f"window must be between 2 and 10,000,000 points, not {value}")
        return value

    @traitlets.validate("panels")
    def _valid_panels(self, proposal: dict[str, Any]) -> Any:
        value = proposal["value"]
        _panel_spec(value)
        return dict(value) if isinstance(value, Mapping) else value

    @traitlets.observe("panels")
    def _panels_changed(self, change: dict[str, Any]) -> None:
        self._panels = _panel_spec(change["new"])

    @traitlets.validate("smoothing")
    def _valid_smoothing(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not (math.isfinite(value) and 0.0 <= value < 1.0):
            raise traitlets.TraitError(f"smoothing must be at least 0 and less than 1, not {value}")
        return value

    @traitlets.validate("x_axis")
    def _valid_x_axis(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value not in X_AXES:
            raise traitlets.TraitError(f"x_axis must be one of {', '.join(map(repr, X_AXES))}, not {value!r}")
        return str(value)

    @traitlets.validate("max_runs")
    def _valid_max_runs(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if not 1 <= value <= MAX_RUNS_LIMIT:
            raise traitlets.TraitError(f"max_runs must be between 1 and {MAX_RUNS_LIMIT}, not {value}")
        return value

    def _describe(self) -> list[tuple[str, str]]:
        panels = self.panels
        shown = "one plot" if panels is None else panels if isinstance(panels, str) else ", ".join(panels)
        return [
            *super()._describe(),
            ("series", ", ".join(self.series) or "(all)"),
            ("window", f"{self.window:,} points"),
            ("panels", shown),
        ]
