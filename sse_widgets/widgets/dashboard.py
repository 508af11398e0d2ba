"""Dashboard: several widgets laid out in a grid under a title, as one displayable.

It is an ipywidgets ``VBox`` (header + ``GridBox``), not an anywidget that renders its
children itself: containers are drawn by the page's own widget manager in JupyterLab,
Notebook 7 and Voila alike, any ipywidget can sit in a dashboard, and a child keeps its
own model, so one chart can also be displayed elsewhere.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import anywidget
import ipywidgets  # type: ignore[import-untyped]
import traitlets

from ._base import check_keywords, static_asset
from .toasts import Toasts


class DashboardHeader(anywidget.AnyWidget):
    """The dashboard's title, the state of the page's shared stream, and how many browsers
    watch the dashboard's channels ("N watching", asked of the hub every few seconds with
    the page's tickets)."""

    _esm = static_asset("dashboard", ".js")
    _css = static_asset("dashboard", ".css")
    title = traitlets.Unicode("").tag(sync=True)
    #: The channels of the dashboard's widgets, for the "N watching" count.
    channels = traitlets.List(traitlets.Unicode()).tag(sync=True)


class Dashboard(ipywidgets.VBox):  # type: ignore[misc]
    """Widgets laid out in a grid under a title.

    Parameters
    ----------
    widgets
        The widgets to show, in order. ``Toasts`` float over the top-right corner (or the
        bottom-right, ``Toasts(position="bottom-right")``) instead of taking a cell;
        ``Toasts(position="inline")`` takes a cell like any widget and covers nothing.
    title
        Shown at the top, with the connection state.
    columns
        Grid columns; by default as many as fit at ``min_width`` each.
    min_width
        Smallest cell width (CSS length) when ``columns`` is not given.
    """

    title = traitlets.Unicode("", help="shown at the top")

    def __init__(
        self,
        widgets: Iterable[ipywidgets.Widget] = (),
        title: str = "",
        columns: int | None = None,
        min_width: str = "360px",
        **kwargs: Any,
    ) -> None:
        check_keywords(type(self), kwargs, "widgets", "columns", "min_width")
        items = list(widgets)
        watched = sorted({c for w in items for c in (getattr(w, "channels", None) or []) if isinstance(c, str)})
        self.header = DashboardHeader(title=title, channels=watched)
        overlays = [w for w in items if isinstance(w, Toasts) and w.position != "inline"]
        cells = [w for w in items if w not in overlays]
        for toasts in overlays:
            toasts.add_class("sse-toasts-overlay")
            if toasts.position == "bottom-right":
                toasts.add_class("sse-toasts-overlay-bottom")
        template = (
            f"repeat({int(columns)}, minmax(0, 1fr))"
            if columns
            else f"repeat(auto-fit, minmax(min({min_width}, 100%), 1fr))"
        )
        self.grid = ipywidgets.GridBox(
            cells, layout=ipywidgets.Layout(grid_template_columns=template, grid_gap="8px", width="100%")
        )
        super().__init__([self.header, *overlays, self.grid], title=title, **kwargs)
        self.add_class("sse-dashboard")
        traitlets.link((self, "title"), (self.header, "title"))

    @property
    def widgets(self) -> list[ipywidgets.Widget]:
        """The widgets shown (floating toasts, then the grid cells)."""
        return [w for w in self.children if w is not self.header and w is not self.grid] + list(
            self.grid.children
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        # ipywidgets returns the data dict alone; anywidget a (data, metadata) pair.
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        parts = [w._text() if hasattr(w, "_text") else repr(w) for w in self.widgets]
        head = f"Dashboard {self.title!r}" if self.title else "Dashboard"
        text = "\n".join([head, *("  " + p for p in parts)])
        inner = "".join(w._html() if hasattr(w, "_html") else f"<pre>{html.escape(repr(w))}</pre>"
                        for w in self.widgets)
        title = f"<h4>{html.escape(self.title)}</h4>" if self.title else ""
        return {**data, "text/plain": text, "text/html": f"<div>{title}{inner}</div>"}, metadata
