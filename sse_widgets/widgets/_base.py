"""The base of every sse-widgets widget: channels, stream ticket, transport, title, cursor, fallbacks."""

from __future__ import annotations

import difflib
import html
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..protocol import KEY_ENV, ProtocolError, check_pattern, mint_ticket
from ..publisher import _process
from ._comm import WidgetSink

STATIC = Path(__file__).resolve().parent.parent / "static"

#: How long a ticket minted for a widget stays valid. A page that outlives it asks the
#: kernel for a fresh one (the frontend sends ``{"kind": "refresh_ticket"}``).
TICKET_TTL = 24 * 3600.0
#: Longest cursor a page may report (an ``<epoch>-<seq>`` id is far shorter).
MAX_CURSOR_LENGTH = 200

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


def check_keywords(cls: type[traitlets.HasTraits], kwargs: dict[str, Any], *extra: str) -> None:
    """Raise TypeError for a keyword that is not one of ``cls``'s traits (or ``extra``).

    traitlets would take an unknown keyword with only a DeprecationWarning, so a typo
    (``serie=``) would be ignored without a word.
    """
    traits = set(cls.class_trait_names())
    unknown = sorted(k for k in kwargs if k not in traits and k not in extra)
    if not unknown:
        return
    valid = sorted({*extra, *(n for n in traits if not n.startswith("_"))})
    hints = [f"{k!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(k, valid, 1)) else repr(k)
             for k in unknown]
    raise TypeError(
        f"{cls.__name__}() got unexpected keyword argument(s) {', '.join(hints)}; "
        f"valid keywords: {', '.join(valid)}"
    )


def as_patterns(channels: str | Iterable[str]) -> list[str]:
    """Accept one channel or pattern, or several; validated as the server would."""
    items = [channels] if isinstance(channels, str) else list(channels)
    return [check_pattern(c) for c in items]


class StreamWidget(anywidget.AnyWidget):
    """Base class: a widget that follows channels, from the hub or from its own kernel.

    With a hub, the page's shared SSE stream carries the events. In a kernel with no
    reachable hub (``transport == "comm"``), the kernel sends the events it publishes to
    its widgets as custom comm messages, and keeps a bounded history for late views.

    Parameters
    ----------
    channels
        Channel names or ``*`` patterns (``"jobs/*"``) to follow; one string or a list.
        ``channel=`` is the same keyword, spelled as the publishing calls spell it.
    title
        Shown in the widget's header.

    Raises
    ------
    TypeError
        An unknown keyword (naming the valid ones), or both ``channels`` and ``channel``.
    """

    channels = traitlets.List(traitlets.Unicode(), help="channel names or * patterns").tag(sync=True)
    title = traitlets.Unicode("", help="shown in the header").tag(sync=True)
    ticket = traitlets.Unicode(
        "", help="stream ticket for the channels, minted with SSE_WIDGETS_KEY when set"
    ).tag(sync=True)
    hub_url = traitlets.Unicode(
        "",
        help="the hub this process publishes to (its Jupyter server's URL), for a page that "
        "a Jupyter server did not serve (marimo, VS Code); empty without a hub",
    ).tag(sync=True)
    transport = traitlets.Unicode(
        "sse",
        help="how this kernel publishes: 'sse' (to a hub, which the browser streams from) or "
        "'comm' (no reachable hub: the kernel sends events to this widget itself)",
    ).tag(sync=True)
    _uid = traitlets.Unicode().tag(sync=True)

    _kind = "widget"
    _sink: WidgetSink | None = None
    #: The id of the newest event the frontend has taken, as it last said (a custom
    #: message ``{"kind": "cursor", "id"}``, about once a second); "" until then.
    last_event_id = ""
    #: The only traits a page may change. Anyone viewing a page (a shared dashboard's
    #: viewers too) can send the kernel widget updates; were ``channels`` among them, a
    #: page could make the kernel mint a ticket for channels the dashboard never showed.
    #: Only what a user sets by hand belongs here: a reactive host (marimo) re-runs the
    #: cells that use a widget whenever its page updates a trait, so what the frontend
    #: reports on its own (the cursor) travels as a custom message instead.
    _frontend_writable: frozenset[str] = frozenset()
    #: What to follow when no channel is given; None when the widget needs one.
    _default_channels: tuple[str, ...] | None = ()

    def __init__(self, channels: str | Iterable[str] | None = None, **kwargs: Any) -> None:
        if "channel" in kwargs:
            if channels is not None:
                raise TypeError(
                    f"{type(self).__name__}() got both channels= and channel=, which are the "
                    "same; pass one"
                )
            channels = kwargs.pop("channel")
        check_keywords(type(self), kwargs, "channel")
        if channels is None:
            if self._default_channels is None:
                name = type(self).__name__
                raise TypeError(
                    f"{name}() needs the channel(s) to follow: {name}('train') or "
                    f"{name}(channel='train')"
                )
            channels = self._default_channels
        kwargs.setdefault("_uid", uuid.uuid4().hex)
        t = _process.transport()
        local = _process.local()
        # In the state the comm opens with, so the frontend never starts on the wrong path.
        kwargs["transport"] = "comm" if local is not None else "sse"
        connection = getattr(t, "connection", None)
        kwargs["hub_url"] = connection.url if connection is not None else ""
        super().__init__(channels=as_patterns(channels), **kwargs)
        self._mint()
        self.on_msg(self._on_frontend_msg)
        if local is not None:
            # After super().__init__: the comm is open, so our messages follow its comm_open.
            self._sink = WidgetSink(self, local.host)
            local.attach(self._sink)

    @traitlets.validate("channels")
    def _valid_channels(self, proposal: dict[str, Any]) -> list[str]:
        return as_patterns(proposal["value"])

    @traitlets.observe("channels")
    def _channels_changed(self, change: dict[str, Any]) -> None:
        self._mint()
        local = _process.local() if self._sink is not None else None
        if local is not None and self._sink is not None:
            self._sink.follow(self.channels)
            local.replay(self._sink)

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply a page's update (ipywidgets calls this for them): writable traits only."""
        allowed = {k: v for k, v in sync_data.items() if k in self._frontend_writable}
        if allowed:
            super().set_state(allowed)

    def _mint(self) -> None:
        key = os.environ.get(KEY_ENV)
        if not key or not self.channels:
            # No key: this kernel was not started by a server with the extension. The
            # page's Jupyter login may still allow the stream.
            self.ticket = ""
            return
        try:
            # Widgets with a Stop button (ProgressBoard(cancel=True)) mint the right to use it.
            cancel = bool(getattr(self, "cancel", False))
            self.ticket = mint_ticket(key, self.channels, TICKET_TTL, cancel=cancel)
        except ProtocolError:
            self.ticket = ""

    def _on_frontend_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        kind = content.get("kind") if isinstance(content, dict) else None
        if kind == "refresh_ticket":
            self._mint()
        elif kind == "cursor":
            cursor = content.get("id")
            if isinstance(cursor, str) and len(cursor) <= MAX_CURSOR_LENGTH:
                self.last_event_id = cursor
        elif kind == "subscribe":
            # A frontend that joined late (a reload, a Voila page connecting after the run)
            # asks for the history it missed; or a page that cannot reach this kernel's hub
            # asks for the events over the comm, which the kernel then sends as well.
            local = _process.local() or _process.mirror()
            if local is None:
                return
            if self._sink is None:
                self._sink = WidgetSink(self, local.host)
            local.replay(self._sink)

    def close(self) -> None:
        """Close the widget; the in-kernel transport stops sending to it."""
        local = _process.local() if self._sink is not None else None
        if local is not None and self._sink is not None:
            local.detach(self._sink)
        super().close()

    # --- representations where the widget cannot render (exported notebooks) ----------

    def _describe(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the plain-text and HTML fallbacks."""
        return [("channels", ", ".join(self.channels) or "(none)")]

    def _text(self) -> str:
        name = type(self).__name__
        head = f"{name} {self.title!r}" if self.title else name
        details = "; ".join(f"{k} {v}" for k, v in self._describe())
        return f"{head} ({details}) - live sse-widgets view; shown in JupyterLab, Notebook 7, Voila or marimo"

    def _html(self) -> str:
        name = html.escape(type(self).__name__)
        title = f" <b>{html.escape(self.title)}</b>" if self.title else ""
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in self._describe()
        )
        return (
            f'<div class="sse-widgets-fallback" style="border:1px solid #ccc;padding:4px 8px">'
            f"<code>{name}</code>{title}<table>{rows}</table>"
            f"<small>live widget: open the notebook in JupyterLab, Notebook 7, Voila or marimo with "
            f"sse-widgets installed to see it</small></div>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        data = {**data, "text/plain": self._text(), "text/html": self._html()}
        return data, metadata
