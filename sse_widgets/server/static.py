"""Static dashboards: a notebook run once, its widgets served to any number of viewers.

``sse-widgets serve NOTEBOOK --static`` sets :attr:`SSEWidgetsApp.static_notebooks`. At
start the server runs each notebook once with nbclient (a real kernel, which then exits),
keeping the outputs and the widget state (``store_widget_state``, the notebook's
``application/vnd.jupyter.widget-state+json`` metadata). Every viewer then gets the same
page: the outputs as they were, and the widget state, which ``static_page.js`` (the
ipywidgets HTML manager with anywidget's frontend, bundled in the wheel) renders. Our
widgets stream from the hub like everywhere else; nothing runs per viewer but a stream.

Tickets. The state says which channels the page's widgets follow. The server mints a
ticket for exactly those (read-only, ``protocol.mint_ticket`` with the publish key) into
every page it serves, and renews it at ``sse-widgets/api/dashboard-ticket`` for a caller
that may view that notebook (the owner, or a viewer whose share link names it). The
kernel-minted tickets of the run are removed from the state: they would outlive a link.

Other ipywidgets render from their saved state (a snapshot of the run: there is no
kernel to compute anything); outputs that are not widgets are shown as they were.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from ..protocol import ProtocolError, mint_ticket
from .handlers import BaseHandler

if TYPE_CHECKING:
    from .app import SSEWidgetsApp

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
#: Where the page is served, under base_url; the index of several dashboards is its root.
PAGE_PREFIX = "sse-widgets/dashboard/"
TICKET_PATH = "sse-widgets/api/dashboard-ticket"
#: Stand-ins in a rendered page for what each request gets of its own.
_TICKET = "@@sse-widgets-ticket@@"
_EXPIRES = "@@sse-widgets-expires@@"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

log = logging.getLogger(__name__)


class RenderFailed(RuntimeError):
    """The notebook could not be run (or read); the message says where and why."""


@dataclass
class Rendered:
    """One notebook's page, built once per run and served to everyone."""

    path: str
    title: str
    #: The whole page, with the ticket and its expiry left as stand-ins.
    template: str
    #: Channels the page's stream widgets follow (what its tickets grant).
    channels: list[str]
    mtime: float
    rendered_at: float = field(default_factory=time.time)


def _json_in_script(value: Any) -> str:
    # Escaped so that no string in it ("</script>" in a widget's _esm, "<!--") can end
    # the script element early; \u003c is still the same JSON.
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def is_stream_widget(state: dict[str, Any]) -> bool:
    """A model of one of our stream widgets (``widgets._base.StreamWidget``)."""
    return isinstance(state.get("channels"), list) and "ticket" in state and "_uid" in state


def page_state(nb: Any) -> tuple[dict[str, Any], list[str]]:
    """The widget state to serve (our widgets' tickets as stand-ins) and their channels."""
    saved = nb.get("metadata", {}).get("widgets", {}).get(STATE_MIME)
    if not saved:
        return {"version_major": 2, "version_minor": 0, "state": {}}, []
    state = json.loads(json.dumps(saved))  # a copy, plain dicts
    channels: set[str] = set()
    for model in state.get("state", {}).values():
        values = model.get("state", {})
        if not is_stream_widget(values):
            continue
        channels.update(c for c in values["channels"] if isinstance(c, str))
        values["ticket"] = _TICKET
        # No kernel behind the page: always the hub, this page's own (the run's loopback
        # hub URL is for pages no Jupyter server serves). A cursor synced by an older
        # version means nothing here.
        values["transport"] = "sse"
        values["hub_url"] = ""
        values.pop("last_event_id", None)
    return state, sorted(channels)


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_html(output: Any, models: dict[str, Any]) -> str:
    """One cell output as HTML: a widget's view tag, or what the output showed at render time."""
    kind = output.get("output_type")
    if kind == "stream":
        return f'<pre class="sse-static-stream">{html.escape(_text(output.get("text", "")))}</pre>'
    if kind == "error":
        trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
        return f'<pre class="sse-static-error">{html.escape(trace)}</pre>'
    data = output.get("data", {})
    view = data.get(VIEW_MIME)
    if isinstance(view, dict) and view.get("model_id") in models:
        return f'<script type="{VIEW_MIME}">{_json_in_script(view)}</script>'
    if "text/html" in data:
        return f'<div class="sse-static-html">{_text(data["text/html"])}</div>'
    if "image/svg+xml" in data:
        return f'<div class="sse-static-svg">{_text(data["image/svg+xml"])}</div>'
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in data:
            source = _text(data[mime]).replace("\n", "")
            return f'<img class="sse-static-image" src="data:{mime};base64,{html.escape(source)}">'
    if "text/markdown" in data:
        return f'<div class="sse-static-markdown">{_markdown(_text(data["text/markdown"]))}</div>'
    if "text/plain" in data:  # a widget whose model is gone shows its text too
        return f'<pre class="sse-static-text">{html.escape(_text(data["text/plain"]))}</pre>'
    return ""


def _markdown(source: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return str(markdown2html_mistune(source))


def page_body(nb: Any, models: dict[str, Any]) -> str:
    """The cells as a dashboard shows them: markdown, and code cells' outputs (no code)."""
    parts = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            parts.append(f'<div class="sse-static-cell sse-static-md">{_markdown(_text(cell.get("source", "")))}</div>')
        elif cell.get("cell_type") == "code":
            outputs = "".join(output_html(o, models) for o in cell.get("outputs", []))
            if outputs:
                parts.append(f'<div class="sse-static-cell">{outputs}</div>')
    return "\n".join(parts)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}static_page.css">
<style>
body {{ margin: 0; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 14px; }}
main {{ max-width: 1400px; margin: 0 auto; padding: 12px 16px; }}
.sse-static-cell {{ margin: 8px 0; }}
.sse-static-stream, .sse-static-text, .sse-static-error {{ white-space: pre-wrap; font-size: 12px; }}
.sse-static-error {{ color: #b00020; }}
.sse-static-image {{ max-width: 100%; }}
.anchor-link {{ display: none; }}
</style>
<script id="jupyter-config-data" type="application/json">{jupyter_config}</script>
<script id="sse-widgets-static-config" type="application/json">{config}</script>
</head><body data-sse-static="loading"><main>
{body}
</main>
<script type="{state_mime}">{state}</script>
<script type="module" src="{assets}static_page.js?v={version}"></script>
</body></html>
"""


def build_page(nb: Any, path: str, base_url: str, assets: str, version: str,
               ticket_ttl: float = 3600.0) -> tuple[str, list[str]]:
    """The page template of an executed notebook (stand-ins for ticket and expiry) and
    the channels its widgets follow."""
    state, channels = page_state(nb)
    models = state.get("state", {})
    config = {
        "notebook": path,
        "ticketUrl": f"{base_url}{TICKET_PATH}?notebook={_quote(path)}",
        "expires": 0,
        # The page renews by lifetime, counted on its own clock: a viewer's clock that is
        # off would make an absolute expiry look past (renewing every second) or far away.
        "ttl": ticket_ttl,
    }
    config_json = _json_in_script(config).replace('"expires":0', f'"expires":{_EXPIRES}')
    title = _title(nb, path)
    page = PAGE.format(
        title=html.escape(title), assets=assets, version=version,
        jupyter_config=_json_in_script({"baseUrl": base_url}),
        config=config_json, body=page_body(nb, models), state_mime=STATE_MIME,
        state=_json_in_script(state).replace(json.dumps(_TICKET), f'"{_TICKET}"'),
    )
    return page, channels


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _title(nb: Any, path: str) -> str:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in _text(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return Path(path).stem


class StaticDashboards:
    """The notebooks a server serves statically: run them, keep their pages, re-run on change.

    Parameters
    ----------
    app
        The extension (its root folder, publish key, ticket lifetime and timeouts).
    notebooks
        Paths relative to the server's root folder.
    """

    def __init__(self, app: SSEWidgetsApp, notebooks: list[str]):
        self.app = app
        self.notebooks = list(dict.fromkeys(notebooks))
        self.pages: dict[str, Rendered] = {}
        self.errors: dict[str, str] = {}
        self.renders = 0
        self._first: dict[str, asyncio.Task[None]] = {}
        # One notebook runs at a time: each run is a kernel on a machine that serves.
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        #: The file time of a notebook whose last run failed: not retried until it changes.
        self._failed_mtime: dict[str, float] = {}

    @property
    def root(self) -> Path:
        server = self.app.serverapp
        return Path(server.root_dir if server is not None else ".").resolve()

    def start(self) -> None:
        """Render every notebook (in the background), and watch them if asked to."""
        for path in self.notebooks:
            if path not in self._first:
                self._first[path] = asyncio.ensure_future(self._render_logged(path))
        if self.app.static_refresh_interval > 0 and self._watcher is None:
            self._watcher = asyncio.ensure_future(self._watch(self.app.static_refresh_interval))

    async def get(self, path: str) -> Rendered:
        """The page of ``path``, waiting for its first render.

        Raises
        ------
        KeyError
            ``path`` is not served.
        RenderFailed
            Its first run failed (and no later one succeeded).
        """
        if path not in self.notebooks:
            raise KeyError(path)
        self.start()
        await asyncio.shield(self._first[path])
        page = self.pages.get(path)
        if page is None:
            raise RenderFailed(self.errors.get(path, f"{path} was not rendered"))
        return page

    def ticket(self, page: Rendered) -> tuple[str, int]:
        """A fresh read-only ticket for exactly the page's channels, and its expiry."""
        ttl = self.app.static_ticket_ttl
        if not page.channels:
            return "", int(time.time() + ttl)
        now = time.time()
        return mint_ticket(self.app.key, page.channels, ttl, now=now), int(now + ttl)

    def serve(self, page: Rendered) -> str:
        """The page as one request gets it: with a ticket of its own."""
        ticket, expires = self.ticket(page)
        return page.template.replace(_TICKET, ticket).replace(_EXPIRES, str(expires))

    async def _render_logged(self, path: str) -> None:
        try:
            await self.render(path)
        except RenderFailed as exc:
            self.errors[path] = str(exc)
            self.app.log.error("sse_widgets: static dashboard %s: %s", path, exc)
        except Exception as exc:  # one notebook's failure is reported, never fatal
            self.errors[path] = f"{type(exc).__name__}: {exc}"
            self.app.log.exception("sse_widgets: static dashboard %s failed to render", path)

    async def render(self, path: str) -> Rendered:
        """Run ``path`` once (a kernel that then exits) and keep its page."""
        async with self._lock:
            file = (self.root / path).resolve()
            try:
                mtime = file.stat().st_mtime
                import nbformat

                nb = nbformat.read(file, as_version=4)  # type: ignore[no-untyped-call]
            except (OSError, ValueError) as exc:
                raise RenderFailed(f"cannot read {path}: {exc}") from exc
            try:
                from nbclient import NotebookClient
                from nbclient.exceptions import CellExecutionError
            except ImportError as exc:
                raise RenderFailed(f"--static needs nbclient and ipykernel: {exc}") from exc
            client = NotebookClient(
                nb, timeout=self.app.static_cell_timeout, store_widget_state=True,
                kernel_name=nb.metadata.get("kernelspec", {}).get("name", "") or "python3",
                resources={"metadata": {"path": str(file.parent)}},
            )
            started = time.monotonic()
            try:
                await client.async_execute(cwd=str(file.parent))
            except CellExecutionError as exc:
                raise RenderFailed(f"a cell of {path} raised:\n{_ANSI.sub('', str(exc))}") from exc
            except TimeoutError as exc:
                raise RenderFailed(f"a cell of {path} ran over {self.app.static_cell_timeout} s "
                                   "(SSEWidgetsApp.static_cell_timeout)") from exc
            base_url = self.app.serverapp.base_url if self.app.serverapp is not None else "/"
            assets = f"{base_url}static/{self.app.name}/"
            template, channels = build_page(nb, path, base_url, assets, version=str(int(mtime)),
                                            ticket_ttl=self.app.static_ticket_ttl)
            page = Rendered(path, _title(nb, path), template, channels, mtime)
            self.pages[path] = page
            self.errors.pop(path, None)
            self.renders += 1
            self.app.log.info("sse_widgets: rendered static dashboard %s in %.1f s (channels %s)",
                              path, time.monotonic() - started, ", ".join(channels) or "none")
            return page

    async def _watch(self, interval: float) -> None:
        """Re-render a notebook whose file changed; viewers get the new page on reload."""
        while True:
            await asyncio.sleep(interval)
            for path in self.notebooks:
                first = self._first.get(path)
                if first is None or not first.done():
                    continue
                try:
                    mtime = (self.root / path).stat().st_mtime
                except OSError:
                    continue
                page = self.pages.get(path)
                seen = page.mtime if page is not None else None
                if seen is None or mtime != seen:
                    if path in self.errors and self._failed_mtime.get(path) == mtime:
                        continue  # the same broken file: wait for the next edit
                    await self._render_logged(path)
                    if path in self.errors:
                        self._failed_mtime[path] = mtime

    async def stop(self) -> None:
        """Stop watching and any run in progress (nbclient shuts its kernel down)."""
        tasks = [t for t in [self._watcher, *self._first.values()] if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)


def _dashboards(handler: web.RequestHandler) -> StaticDashboards:
    app: SSEWidgetsApp = handler.settings["sse_widgets"]
    return app.dashboards


def may_view(handler: web.RequestHandler, path: str) -> bool:
    """The owner (Jupyter's ``read`` on sse_widgets), or a viewer whose grant names ``path``."""
    from .viewers import ViewerUser

    user = handler.current_user
    if isinstance(user, ViewerUser):
        return path in user.grant.notebooks
    authorizer = handler.settings.get("authorizer")
    return user is not None and (authorizer is None or bool(
        authorizer.is_authorized(handler, user, "read", "sse_widgets")))


class StaticDashboardHandler(JupyterHandler):
    """``GET sse-widgets/dashboard/<notebook>``: the page; the bare prefix lists them."""

    @web.authenticated
    async def get(self, path: str = "") -> None:
        dashboards = _dashboards(self)
        path = path.strip("/")
        if not path:
            return self._index(dashboards)
        if path not in dashboards.notebooks:
            raise web.HTTPError(404, f"{path} is not served as a static dashboard")
        if not may_view(self, path):
            raise web.HTTPError(403, f"you may not view {path}")
        try:
            page = await dashboards.get(path)
        except RenderFailed as exc:
            self.set_status(500)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(f"sse-widgets: the dashboard {path} could not be rendered:\n{exc}\n")
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        # It carries a ticket of its own: never cached, never shared by a proxy.
        self.set_header("Cache-Control", "no-store")
        self.finish(dashboards.serve(page))

    def _index(self, dashboards: StaticDashboards) -> None:
        items = []
        for path in dashboards.notebooks:
            if not may_view(self, path):
                continue
            page = dashboards.pages.get(path)
            title = page.title if page is not None else Path(path).stem
            href = f"{self.base_url}{PAGE_PREFIX}{_quote(path)}"
            items.append(f'<li><a href="{html.escape(href)}">{html.escape(title)}</a> '
                         f'<small>{html.escape(path)}</small></li>')
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish("<!doctype html><html><head><meta charset='utf-8'><title>Dashboards</title>"
                    "</head><body style='font-family: system-ui, sans-serif; margin: 24px'>"
                    f"<h1>Dashboards</h1><ul class='sse-static-index'>{''.join(items)}</ul>"
                    "</body></html>")


class DashboardTicketHandler(BaseHandler):
    """``GET sse-widgets/api/dashboard-ticket?notebook=P``: a fresh ticket for the page's channels."""

    @web.authenticated
    async def get(self) -> None:
        path = self.get_argument("notebook", "")
        dashboards = self.app.dashboards
        if path not in dashboards.notebooks:
            self.fail(404, f"{path!r} is not served as a static dashboard")
        if not may_view(self, path):
            self.fail(403, f"you may not view {path}")
        try:
            page = await dashboards.get(path)
            ticket, expires = dashboards.ticket(page)
        except (RenderFailed, ProtocolError) as exc:
            self.fail(500, f"the dashboard {path} has no page: {exc}")
        self.set_header("Cache-Control", "no-store")
        self.finish({"tickets": [ticket] if ticket else [], "expires": expires,
                     "ttl": self.app.static_ticket_ttl, "channels": page.channels})
