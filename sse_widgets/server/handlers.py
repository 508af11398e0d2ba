"""HTTP handlers: the event stream, publishing, and the channel endpoints."""

from __future__ import annotations

import hmac
import json
from http.client import responses
from typing import TYPE_CHECKING, NoReturn

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..hub import (
    BackendUnavailable,
    EventTooLarge,
    HubClosed,
    HubFull,
    IdempotencyConflict,
    InvalidEvent,
    OutcomeUnknown,
    parse_json,
)
from ..hub.encoding import encode_retry
from ..hub.patterns import ChannelSet
from ..protocol import IDEMPOTENCY_HEADER, KEY_HEADER, ProtocolError, check_idempotency_key, covers
from .sink import ResponseSink

if TYPE_CHECKING:
    from .app import SSEWidgetsApp

AUTH_RESOURCE = "sse_widgets"


class BaseHandler(APIHandler):
    """Shared access rules; errors are JSON ``{"message", "reason"}`` like Jupyter's API."""

    auth_resource = AUTH_RESOURCE

    @property
    def app(self) -> SSEWidgetsApp:
        return self.settings["sse_widgets"]  # type: ignore[no-any-return]

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        try:
            await self.app.hub.start()
        except BackendUnavailable as exc:
            self.fail(503, str(exc))

    def fail(self, status: int, message: str) -> NoReturn:
        """Answer ``status`` with a message that says what is wrong, and stop."""
        self.clear()
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"message": message, "reason": responses.get(status, "")}))
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

    async def require_read(self, patterns: list[str]) -> None:
        """Allow reading ``patterns`` by Jupyter auth, or by tickets that cover every one."""
        if self.jupyter_allows("read"):
            return
        tickets = self.get_arguments("ticket")
        if not tickets:
            self.fail(403, "not logged in to Jupyter and no ticket given; pass ticket=... "
                           "(widgets carry one) or log in")
        granted: list[str] = []
        for ticket in tickets:
            try:
                granted.extend(await self.app.ticket_patterns(ticket))
            except ProtocolError as exc:
                self.fail(403, f"ticket refused: {exc}")
            except BackendUnavailable as exc:
                self.fail(503, f"cannot check the ticket: {exc}")
        uncovered = [p for p in patterns if not any(covers(g, p) for g in granted)]
        if uncovered:
            self.fail(403, f"the tickets given do not cover channel(s) {uncovered}")


class StreamHandler(BaseHandler):
    """``GET .../stream``: Server-Sent Events for one or more channels and patterns."""

    sink: ResponseSink | None = None

    @allow_unauthenticated
    async def get(self) -> None:
        app = self.app
        channels = self.get_arguments("channel")
        since = self.get_arguments("since")
        cursor = self.request.headers.get("Last-Event-ID") or self.get_argument("last_event_id", None)
        try:
            wanted = ChannelSet(channels)
            ChannelSet(since)
        except ProtocolError as exc:
            self.fail(400, str(exc))
        if not wanted:
            self.fail(400, "name at least one channel: ?channel=NAME (repeatable, * allowed)")
        await self.require_read(list(wanted.patterns))

        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Accel-Buffering", "no")
        self.sink = sink = ResponseSink(self, app.subscriber_buffer_bytes, encode_retry(app.retry_ms))
        try:
            subscriber = await app.hub.subscribe(wanted.patterns, sink, cursor, since)
        except ProtocolError as exc:
            self.fail(400, str(exc))
        except HubFull as exc:
            self.fail(503, f"{exc}; try again later")
        except (HubClosed, BackendUnavailable) as exc:
            if sink.started:
                sink.close(abort=True)
                return
            self.fail(503, str(exc))
        sink.start()
        try:
            clean = await sink.done
        finally:
            app.hub.unsubscribe(subscriber)
        if clean:
            await sink.finish()

    def on_connection_close(self) -> None:
        # Before the stream starts (e.g. during a long replay wait) Tornado still owns it.
        if self.sink is not None:
            self.sink.close(abort=True)


class PublishHandler(BaseHandler):
    """``POST .../publish``: one event or a list, by key header or Jupyter auth."""

    def check_xsrf_cookie(self) -> None:
        # XSRF protects cookie-authenticated requests. The key travels in a custom header,
        # which a cross-site page cannot set without a CORS preflight, and a request with
        # no cookie cannot ride on a login: both are judged in post(), with a clearer
        # message than "_xsrf missing".
        headers = self.request.headers
        if headers.get(KEY_HEADER) is not None or "Cookie" not in headers:
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


class ChannelEventsHandler(BaseHandler):
    """``GET .../channels/<name>/events?after=ID&limit=N``: retained events as JSON."""

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


class ChannelHandler(BaseHandler):
    """``DELETE .../channels/<name>``: clear one channel's history."""

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        try:
            existed = await self.app.hub.delete(name)
        except ProtocolError as exc:
            self.fail(400, str(exc))
        except BackendUnavailable as exc:
            self.fail(503, str(exc))
        if not existed:
            self.fail(404, f"no channel {name!r} with retained events")
        self.set_status(204)
        self.finish()
