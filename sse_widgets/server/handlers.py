"""HTTP handlers: the event stream, publishing, and the channel endpoints."""

from __future__ import annotations

import functools
import hmac
import json
from http.client import responses
from typing import TYPE_CHECKING, NoReturn

from jupyter_server import CallContext
from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.base.handlers import APIHandler, FileFindHandler
from tornado import web

from ..hub import (
    BackendUnavailable,
    EventTooLarge,
    HubClosed,
    HubFull,
    IdempotencyConflict,
    InvalidEvent,
    OutcomeUnknown,
    TaskFinished,
    parse_json,
)
from ..hub.encoding import encode_retry
from ..hub.patterns import ChannelSet
from ..protocol import (
    BROWSER_PARAM,
    CANCEL_RIGHT,
    IDEMPOTENCY_HEADER,
    KEY_HEADER,
    LEGACY_TICKET_PARAM,
    MAX_STREAM_PATTERNS,
    TICKET_COOKIE_PREFIX,
    TICKET_COOKIES_PARAM,
    TICKET_HEADER,
    TICKET_PARAM,
    ProtocolError,
    check_browser_id,
    check_channel,
    check_idempotency_key,
    check_ticket_jar,
    covers,
    scrub_tickets,
    ticket_grant,
)
from . import cors
from .sink import ResponseSink

if TYPE_CHECKING:
    from .app import SSEWidgetsApp

AUTH_RESOURCE = "sse_widgets"


class BaseHandler(APIHandler):
    """Shared access rules; errors are JSON ``{"message", "reason"}`` like Jupyter's API."""

    auth_resource = AUTH_RESOURCE

    def initialize(self) -> None:
        super().initialize()
        # Every log line about a request prints request.uri: Jupyter's and JupyterHub's
        # request loggers (which scrub only some names), Tornado's "Uncaught exception GET
        # /..." and its repr of the request. The arguments are parsed already, so the
        # tickets leave the URI here, before anything can log it.
        self.request.uri = scrub_tickets(self.request.uri or "")

    @property
    def app(self) -> SSEWidgetsApp:
        return self.settings["sse_widgets"]  # type: ignore[no-any-return]

    def check_origin(self, origin_to_satisfy_tornado: str = "") -> bool:
        """Jupyter's cross-origin rule, unchanged; a refused page's origin is logged with what to set."""
        allowed = bool(super().check_origin(origin_to_satisfy_tornado))
        origin = self.request.headers.get("Origin")
        if origin is not None and cors.cross_origin(origin, self.request.headers.get("Host")):
            if not allowed:
                cors.refused(self.log, origin, self.request.path)
            elif not self.allow_credentials or self.allow_origin == "*":
                cors.dropped_by_browser(self.log, origin, self.request.path, self.allow_origin == "*")
        return allowed

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        try:
            await self.app.hub.start()
        except BackendUnavailable as exc:
            self.fail(503, str(exc))

    def fail(self, status: int, message: str, **fields: object) -> NoReturn:
        """Answer ``status`` with a message that says what is wrong (and ``fields``), and stop."""
        self.clear()
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"message": message, "reason": responses.get(status, ""), **fields}))
        raise web.Finish()

    async def has_valid_key(self) -> bool:
        sent = self.request.headers.get(KEY_HEADER)
        if sent is None:
            return False
        if hmac.compare_digest(sent.encode(), self.app.key.encode()):
            return True
        try:
            # Keys shared through Redis: one handed out by another server (or before a
            # Redis data loss) stays valid.
            return await self.app.accepts_key(sent)
        except BackendUnavailable as exc:
            self.fail(503, f"cannot check {KEY_HEADER}: {exc}")

    def jupyter_allows(self, action: str) -> bool:
        user = self.current_user
        return user is not None and bool(
            self.authorizer.is_authorized(self, user, action, AUTH_RESOURCE)
        )

    def tickets(self) -> list[str]:
        """The tickets sent in the query and, where it names a jar, in that jar's cookies."""
        tickets = self.get_arguments(TICKET_PARAM) + self.get_arguments(LEGACY_TICKET_PARAM)
        jar = self.get_argument(TICKET_COOKIES_PARAM, None)
        if jar is None:
            return tickets
        try:
            prefix = f"{TICKET_COOKIE_PREFIX}{check_ticket_jar(jar)}-"
        except ProtocolError as exc:
            self.fail(403, f"ticket refused: {exc}")
        in_cookies = [m.value for name, m in self.request.cookies.items() if name.startswith(prefix)]
        if not in_cookies:
            self.fail(403, f"ticket refused: {TICKET_COOKIES_PARAM}={jar} but no cookie "
                           f"{prefix}N came with the request (are cookies blocked for this page?)")
        return tickets + in_cookies

    async def require_read(self, patterns: list[str]) -> None:
        """Allow reading ``patterns`` by Jupyter auth, or by tickets that cover every one.

        A browser's shared stream carries the tickets of every widget in every tab, so one
        bad ticket (expired, its kernel gone) must not refuse the channels the others
        cover: a refused ticket only grants nothing. The 403 names the patterns left
        uncovered (``uncovered``), so that the browser takes off the stream only the
        subscribers that follow them.
        """
        if self.jupyter_allows("read"):
            return
        tickets = self.tickets()
        if not tickets:
            self.fail(403, f"not logged in to Jupyter and no ticket given; pass {TICKET_PARAM}=... "
                           "(widgets carry one) or log in", uncovered=patterns)
        granted: list[str] = []
        refusals: list[str] = []
        for ticket in tickets:
            try:
                granted.extend(await self.app.ticket_patterns(ticket))
            except ProtocolError as exc:
                refusals.append(str(exc))
            except BackendUnavailable as exc:
                self.fail(503, f"cannot check the ticket: {exc}")
        uncovered = [p for p in patterns if not any(covers(g, p) for g in granted)]
        if not uncovered:
            return
        if not granted:
            self.fail(403, f"ticket refused: {refusals[0]}", uncovered=uncovered)
        refused = f" ({len(refusals)} ticket(s) refused: {refusals[0]})" if refusals else ""
        self.fail(403, f"the tickets given do not cover channel(s) {uncovered}{refused}", uncovered=uncovered)


class StreamHandler(BaseHandler):
    """``GET .../stream``: Server-Sent Events for one or more channels and patterns."""

    sink: ResponseSink | None = None

    @allow_unauthenticated
    async def get(self) -> None:
        app = self.app
        channels = self.get_arguments("channel")
        since = self.get_arguments("since")
        cursor = self.request.headers.get("Last-Event-ID") or self.get_argument("last_event_id", None)
        browser = self.get_argument(BROWSER_PARAM, None)
        try:
            wanted = ChannelSet(channels)
            from_oldest = ChannelSet(since, "since")
            if browser is not None:
                check_browser_id(browser)
        except ProtocolError as exc:
            self.fail(400, str(exc))
        if not wanted:
            self.fail(400, "name at least one channel: ?channel=NAME (repeatable, * allowed)")
        # since= selects channels too (it is matched against every channel's name), so it
        # needs the same right to read as channel=.
        await self.require_read([*wanted.patterns, *from_oldest.patterns])

        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Accel-Buffering", "no")
        self.sink = sink = ResponseSink(self, app.subscriber_buffer_bytes, encode_retry(app.stream_retry_ms()))
        # jupyter_server keeps the handler in a ContextVar (CallContext, set in prepare), and
        # every callback registered from here on (the socket's reader, a write's future)
        # copies the context: the stream would keep this handler and its request alive.
        CallContext.set(CallContext.JUPYTER_HANDLER, None)
        try:
            subscriber = await app.hub.subscribe(wanted.patterns, sink, cursor, since, browser)
        except ProtocolError as exc:
            self.fail(400, str(exc))
        except HubFull as exc:
            self.fail(503, f"{exc}; try again later")
        except (HubClosed, BackendUnavailable) as exc:
            if sink.started:
                sink.close(abort=True)
                return
            self.fail(503, str(exc))
        # From here the sink owns the subscription: whatever happens to the client (gone
        # before the stream starts, reset mid-write, cut off by the hub), its end ends it.
        # This handler returns at once, so that an open stream keeps no request (sink.py).
        sink.hand_over(functools.partial(app.hub.unsubscribe, subscriber))
        try:
            sink.start()
        except BaseException:
            sink.close(abort=True)
            raise

    def on_connection_close(self) -> None:
        # Before the stream starts (e.g. during a long replay wait) Tornado still owns it.
        if self.sink is not None:
            self.sink.close(abort=True)


class PublishHandler(BaseHandler):
    """``POST .../publish``: one event or a list, by key header or Jupyter auth."""

    def check_xsrf_cookie(self) -> None:
        # The key travels in a custom header, which a cross-site page cannot set without a
        # CORS preflight: such a request is judged in post(). So is a request with no user
        # at all, which post() refuses with a clearer message than "_xsrf missing".
        # Everything else follows Jupyter's own rule (jupyter_server JupyterHandler.
        # check_xsrf_cookie: XSRF unless token-authenticated), which matters most when
        # auth is off (ServerApp.token=''): then every request has a user, cookie or not.
        if self.request.headers.get(KEY_HEADER) is not None:
            return None
        if hasattr(self, "_jupyter_current_user") and self.current_user is None:
            return None
        return super().check_xsrf_cookie()

    @allow_unauthenticated
    async def post(self) -> None:
        app = self.app
        if not await self.has_valid_key():
            if self.request.headers.get(KEY_HEADER) is not None:
                self.fail(403, f"wrong {KEY_HEADER}: it must be this server's SSE_WIDGETS_KEY")
            if not self.jupyter_allows("write"):
                self.fail(403, f"publishing needs the {KEY_HEADER} header (SSE_WIDGETS_KEY) "
                               "or Jupyter auth")
        body = self.request.body
        if len(body) > app.max_request_bytes:
            self.fail(413, f"body is {len(body)} bytes, over the limit of {app.max_request_bytes} "
                           "(max_request_bytes); send fewer events per request")
        idempotency_key = self.request.headers.get(IDEMPOTENCY_HEADER)
        try:
            if idempotency_key is not None:
                check_idempotency_key(idempotency_key)
            ids = await app.hub.publish(parse_json(body), idempotency_key)
        except EventTooLarge as exc:
            self.fail(413, str(exc))
        except (InvalidEvent, ProtocolError) as exc:
            self.fail(400, str(exc))
        except IdempotencyConflict as exc:
            self.fail(422, str(exc))
        except OutcomeUnknown as exc:
            # Not 503: that says nothing was published. The retry with the same key tells.
            self.fail(504, str(exc))
        except (HubClosed, BackendUnavailable) as exc:
            self.fail(503, str(exc))
        self.finish({"ids": ids})


class ChannelsHandler(BaseHandler):
    """``GET .../channels``: every channel with retained events, and the hub's counters."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        hub = self.app.hub
        try:
            channels = await hub.channels()
        except BackendUnavailable as exc:
            self.fail(503, str(exc))
        self.finish({"channels": channels, "stats": hub.stats()})


class ViewersHandler(BaseHandler):
    """``GET .../viewers?channel=P``: how many browsers watch ``P`` (a name or ``*`` pattern;
    ``channel`` repeatable: the browsers that watch any).

    Readable by whoever may read ``P`` (Jupyter auth, tickets that cover it, as the stream)
    and by the publish key, so that a kernel's ``sw.viewers`` and a dashboard's header in
    a shared page can ask. A count of browsers (streams name theirs with ``browser=``), not
    of tabs: every tab of a browser shares one stream.
    """

    @allow_unauthenticated
    async def get(self) -> None:
        asked = self.get_arguments("channel")
        if not asked:
            self.fail(400, "name the channel: ?channel=NAME (repeatable, * allowed)")
        try:
            patterns = ChannelSet(asked).patterns  # valid, bounded, deduplicated
        except ProtocolError as exc:
            self.fail(400, str(exc))
        if not await self.has_valid_key():
            await self.require_read(list(patterns))
        self.set_header("Cache-Control", "no-store")
        self.finish({"channels": list(patterns), "browsers": self.app.hub.viewers(patterns)})


class AssetHandler(FileFindHandler):
    """``GET {base_url}sse-widgets/static/<file>``: the shared stream worker and the public
    client modules, from the package's ``static`` folder.

    A fixed same-origin URL (a SharedWorker is shared only by tabs that load the same
    script URL; anywidget's Blob URLs differ per widget). With ``?v=<build hash>`` the
    reply may be cached for good (Tornado's versioned static URLs); without, it is
    revalidated. Only the files below are served. A ``FileFindHandler``, so share-link
    viewers may GET it like every other static asset (``viewers.viewer_refusal``).
    """

    #: The files served; the widgets' own bundles reach the page through anywidget.
    FILES = frozenset({"stream-worker.js", "sse-client.js", "sse-react.js"})
    # Our own lookup cache: FileFindHandler's is one dict for every subclass, keyed by path.
    _static_paths: dict[str, str] = {}  # noqa: RUF012 - the base declares it so

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        if self.path_args and self.path_args[0] not in self.FILES:
            raise web.HTTPError(404)
        return super().validate_absolute_path(root, absolute_path)

    def set_extra_headers(self, path: str) -> None:
        # A module script, and a worker script, must come with a JavaScript type.
        self.set_header("Content-Type", "text/javascript; charset=utf-8")


class ChannelEventsHandler(BaseHandler):
    """``GET .../channels/<name>/events?after=ID&limit=N``: retained events as JSON.

    The route also matches ``DELETE .../channels/x/events``, which is a request to clear
    the channel named ``x/events``.
    """

    @allow_unauthenticated
    async def get(self, name: str) -> None:
        await self.require_read([name])
        try:
            limit = int(self.get_argument("limit", "1000"))
        except ValueError:
            self.fail(400, "limit must be an integer")
        try:
            replay = await self.app.hub.history(name, self.get_argument("after", None), limit)
        except ProtocolError as exc:
            self.fail(400, str(exc))
        except BackendUnavailable as exc:
            self.fail(503, str(exc))
        events = b",".join(event.envelope for event in replay.events)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        reset = json.dumps(replay.reset).encode()
        self.finish(b'{"reset":' + reset + b',"events":[' + events + b"]}")

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await delete_channel(self, name + "/events")


class ChannelHandler(BaseHandler):
    """``DELETE .../channels/<name>``: clear one channel's history."""

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await delete_channel(self, name)


async def delete_channel(handler: BaseHandler, name: str) -> None:
    """Clear channel ``name``: 204, or 404 when it has nothing retained."""
    try:
        existed = await handler.app.hub.delete(name)
    except ProtocolError as exc:
        handler.fail(400, str(exc))
    except BackendUnavailable as exc:
        handler.fail(503, str(exc))
    if not existed:
        handler.fail(404, f"no channel {name!r} with retained events")
    handler.set_status(204)
    handler.finish()


#: Longest a publisher's poll for stop requests is held open, in seconds.
MAX_CANCEL_WAIT = 30.0


class CancelHandler(BaseHandler):
    """``POST .../cancel``: stop a task; ``GET .../cancel``: a publisher's poll for stop requests.

    Who may stop a task: the publish key (scripts), a Jupyter login with ``write`` on
    ``sse_widgets`` (the notebook's page), or a ticket carrying the cancel right that
    covers the task's channel (widgets made with ``cancel=True``, Voila viewers included).
    """

    def check_xsrf_cookie(self) -> None:
        # As PublishHandler: a custom header (key or ticket) cannot come from a cross-site
        # form without a CORS preflight; post() judges those requests itself.
        headers = self.request.headers
        if headers.get(KEY_HEADER) is not None or headers.get(TICKET_HEADER) is not None:
            return None
        if hasattr(self, "_jupyter_current_user") and self.current_user is None:
            return None
        return super().check_xsrf_cookie()

    @allow_unauthenticated
    def options(self, *args: object, **kwargs: object) -> None:
        """Jupyter's CORS preflight answer, admitting the ticket header too.

        A page of another origin that the server admits (``allow_origin``: a marimo app)
        sends its Stop with the ticket in ``X-SSE-Widgets-Ticket``, a header the browser
        asks leave for first; Jupyter's answer lists only its own headers.
        """
        super().options(*args, **kwargs)
        allowed = self._headers.get("Access-Control-Allow-Headers") or ""
        self.set_header("Access-Control-Allow-Headers", ", ".join(h for h in (allowed, TICKET_HEADER.lower()) if h))

    @allow_unauthenticated
    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            self.fail(400, 'the body must be JSON: {"channel": "progress", "task": "<task id>"}')
        if not isinstance(body, dict) or not isinstance(body.get("task"), str) or not body["task"]:
            self.fail(400, 'the body must be {"channel": "progress", "task": "<task id>"}')
        channel = body.get("channel", "progress")
        try:
            check_channel(channel)
        except ProtocolError as exc:
            self.fail(400, str(exc))
        by = await self._allowed_to_cancel(channel)
        try:
            status = await self.app.hub.cancel(channel, body["task"], by)
        except LookupError as exc:
            self.fail(404, str(exc))
        except TaskFinished as exc:
            self.fail(409, f"{exc}; nothing to stop")
        except (HubClosed, BackendUnavailable) as exc:
            self.fail(503, str(exc))
        self.set_status(202)
        self.finish({"status": status, "channel": channel, "task": body["task"]})

    async def _allowed_to_cancel(self, channel: str) -> str:
        """Who is asking (for the cancel event), or 403 saying what would be needed."""
        if await self.has_valid_key():
            return "key"
        if self.request.headers.get(KEY_HEADER) is not None:
            self.fail(403, f"wrong {KEY_HEADER}: it must be this server's SSE_WIDGETS_KEY")
        if self.jupyter_allows("write"):
            return "jupyter"
        sent = self.request.headers.get(TICKET_HEADER)
        if not sent:
            self.fail(403, "stopping a task needs a Jupyter login, the publish key, or the "
                           f"ticket of a widget made with cancel=True (in {TICKET_HEADER})")
        try:
            patterns, rights = ticket_grant(self.app.key, sent)
        except ProtocolError as exc:
            self.fail(403, f"ticket refused: {exc}")
        if CANCEL_RIGHT not in rights:
            self.fail(403, "this ticket may follow its channels but not stop their tasks: "
                           "the widget was made without cancel=True")
        if not any(covers(p, channel) for p in patterns):
            self.fail(403, f"the ticket given does not cover channel {channel!r}")
        return "ticket"

    @allow_unauthenticated
    async def get(self) -> None:
        if not await self.has_valid_key() and not self.jupyter_allows("read"):
            self.fail(403, f"polling for stop requests needs the {KEY_HEADER} header or Jupyter auth")
        channels = self.get_arguments("channel")
        try:
            wanted = frozenset(check_channel(c) for c in channels)
            after = int(self.get_argument("after", "0"))
            wait = float(self.get_argument("wait", "0"))
        except ProtocolError as exc:
            self.fail(400, str(exc))
        except ValueError:
            self.fail(400, "after must be an integer and wait a number of seconds")
        if not wanted or len(wanted) > MAX_STREAM_PATTERNS:
            self.fail(400, f"name 1 to {MAX_STREAM_PATTERNS} channels: ?channel=NAME (repeatable)")
        board = self.app.hub.cancels
        if self.get_argument("board", board.board_id) != board.board_id:
            after = 0  # numbered by another board (the server restarted): start over
        try:
            found = await board.wait(wanted, after, min(max(wait, 0.0), MAX_CANCEL_WAIT))
        except OverflowError as exc:
            self.fail(503, f"{exc}; try again later")
        self.set_header("Cache-Control", "no-store")
        self.finish({"board": board.board_id, "seq": board.seq, "cancel": found})
