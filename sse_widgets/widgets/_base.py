"""The base of every sse-widgets widget: channels, stream ticket, title, cursor, fallbacks."""

from __future__ import annotations

import html
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..protocol import KEY_ENV, ProtocolError, check_pattern, mint_ticket

STATIC = Path(__file__).resolve().parent.parent / "static"

#: How long a ticket minted for a widget stays valid. A page that outlives it asks the
#: kernel for a fresh one (the frontend sends ``{"kind": "refresh_ticket"}``).
TICKET_TTL = 24 * 3600.0

_NOT_BUILT = """
export default {
  render({ el }) {
    el.textContent = "sse-widgets: the browser code of this widget was not built " +
      "(missing sse_widgets/static/%s.js). Install the package with pip, or run " +
      "'npm ci && npm run build' in js/.";
  },
};
"""


def static_asset(name: str, suffix: str) -> Path | str:
    """``static/<name><suffix>`` if built, else an inline module that says how to build it.

    anywidget reads a ``Path`` when the class is made and raises if the file is missing;
    an import must not fail only because the JS build was skipped (a source checkout).
    """
    path = STATIC / f"{name}{suffix}"
    if path.is_file():
        return path
    return _NOT_BUILT % name if suffix == ".js" else ""


def as_patterns(channels: str | Iterable[str]) -> list[str]:
    """Accept one channel or pattern, or several; validated as the server would."""
    items = [channels] if isinstance(channels, str) else list(channels)
    return [check_pattern(c) for c in items]


class StreamWidget(anywidget.AnyWidget):
    """Base class: a widget that follows channels of the hub through the page's shared stream.

    Parameters
    ----------
    channels
        Channel names or ``*`` patterns (``"jobs/*"``) to follow; one string or a list.
    title
        Shown in the widget's header.
    """

    channels = traitlets.List(traitlets.Unicode(), help="channel names or * patterns").tag(sync=True)
    title = traitlets.Unicode("", help="shown in the header").tag(sync=True)
    ticket = traitlets.Unicode(
        "", help="stream ticket for the channels, minted with SSE_WIDGETS_KEY when set"
    ).tag(sync=True)
    last_event_id = traitlets.Unicode(
        "", help="id of the newest event the frontend has taken (synced back, ~1/s)"
    ).tag(sync=True)
    _uid = traitlets.Unicode().tag(sync=True)

    _kind = "widget"

    def __init__(self, channels: str | Iterable[str] = (), **kwargs: Any) -> None:
        kwargs.setdefault("_uid", uuid.uuid4().hex)
        super().__init__(channels=as_patterns(channels), **kwargs)
        self._mint()
        self.on_msg(self._on_frontend_msg)

    @traitlets.validate("channels")
    def _valid_channels(self, proposal: dict[str, Any]) -> list[str]:
        return as_patterns(proposal["value"])

    @traitlets.observe("channels")
    def _channels_changed(self, change: dict[str, Any]) -> None:
        self._mint()

    def _mint(self) -> None:
        key = os.environ.get(KEY_ENV)
        if not key or not self.channels:
            # No key: this kernel was not started by a server with the extension. The
            # page's Jupyter login may still allow the stream.
            self.ticket = ""
            return
        try:
            self.ticket = mint_ticket(key, self.channels, TICKET_TTL)
        except ProtocolError:
            self.ticket = ""

    def _on_frontend_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("kind") == "refresh_ticket":
            self._mint()

    # --- representations where the widget cannot render (exported notebooks) ----------

    def _describe(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the plain-text and HTML fallbacks."""
        return [("channels", ", ".join(self.channels) or "(none)")]

    def _text(self) -> str:
        name = type(self).__name__
        head = f"{name} {self.title!r}" if self.title else name
        details = "; ".join(f"{k} {v}" for k, v in self._describe())
        return f"{head} ({details}) - live sse-widgets view; shown in JupyterLab, Notebook 7 or Voila"

    def _html(self) -> str:
        name = html.escape(type(self).__name__)
        title = f" <b>{html.escape(self.title)}</b>" if self.title else ""
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in self._describe()
        )
        return (
            f'<div class="sse-widgets-fallback" style="border:1px solid #ccc;padding:4px 8px">'
            f"<code>{name}</code>{title}<table>{rows}</table>"
            f"<small>live widget: open the notebook in JupyterLab, Notebook 7 or Voila with "
            f"sse-widgets installed to see it</small></div>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        data = {**data, "text/plain": self._text(), "text/html": self._html()}
        return data, metadata
