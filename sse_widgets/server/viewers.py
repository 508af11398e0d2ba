"""Viewers of a shared dashboard: who they are, and the little they may do.

``sse-widgets serve`` hands out two links. The owner's carries the Jupyter token and opens
everything. The share link carries a signed grant (``share.links``) that lets a browser
*view* the served notebooks and nothing else. This module enforces that with
jupyter-server's own extension points, configured by ``serve``, never by patching routes:

- :class:`ShareIdentityProvider` (``ServerApp.identity_provider_class``) recognises the
  owner as Jupyter does (token, login cookie), else a share link or viewer cookie. It is
  called by every Jupyter handler before anything else, so it is also where a viewer's
  request for a route outside :func:`viewer_refusal`'s short list ends with 403: Voila's
  handlers (render, tree, contents, shutdown) ask only "is someone logged in?", never the
  authorizer, so the identity step is the one place that sees every route.
- Static dashboards (``serve --static``, ``server.static``): a viewer may GET the page of a
  notebook its grant names (and the index, which lists only those) and fresh stream
  tickets for that page's channels; the assets come from ``FileFindHandler``.
- :class:`ViewerAuthorizer` (``ServerApp.authorizer_class``) answers every ``@authorized``
  check for a viewer with "no", except opening the websocket of a kernel started for that
  viewer's own page. Jupyter's APIs (contents, kernels, sessions, terminals...) and the
  hub's owner endpoints therefore refuse viewers even if the route list missed one.
- :class:`ViewerKernelManager` (``ServerApp.kernel_manager_class``) remembers which viewer
  each kernel was started for. Voila starts a page's kernel inside the page's request,
  whose handler jupyter-server keeps in ``CallContext``.
- :class:`ViewerKernelConnection` (``ServerApp.kernel_websocket_connection_class``) lets a
  viewer's websocket carry only widget (comm) and kernel-info messages. Voila's own
  application restricts every kernel so; as a server extension it restricts none, and an
  ``execute_request`` from a viewer's page would run code as the owner.

Event streams stay governed by tickets: the authorizer never grants a viewer ``read`` on
``sse_widgets``, so a viewer's page streams exactly the channels its widgets' tickets name,
and a widget's channels cannot be changed from the page (``widgets._base``).
"""

from __future__ import annotations

import datetime
import json
import re
import typing as t
from dataclasses import dataclass, field

from jupyter_server import CallContext
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
)
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from tornado.websocket import WebSocketHandler
from traitlets import Int, Unicode

from ..share.links import (
    COOKIE_NAME,
    LINK_PARAM,
    Grant,
    ShareRefused,
    mint_cookie,
    verify_cookie,
    verify_link,
)

#: What a viewer's page may send to its kernel: the widget protocol and kernel info
#: (the list Voila's own application allows every page, voila ``app.py``).
VIEWER_MESSAGE_TYPES = frozenset({
    "comm_open", "comm_close", "comm_msg", "comm_info_request", "kernel_info_request",
    "shutdown_request",
})
#: Kernels remembered as started for a viewer, at most (entries of gone kernels are pruned).
MAX_VIEWER_KERNELS = 10_000

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


@dataclass
class ViewerUser(User):
    """Someone who opened a share link: may view ``grant.notebooks``, nothing else."""

    grant: Grant = field(default_factory=lambda: Grant((), 0, 0))


def is_viewer(user: object) -> bool:
    return isinstance(user, ViewerUser)


def _refused(handler: web.RequestHandler, message: str) -> web.HTTPError:
    # The error page asks who is logged in; refused during the identity step, nobody is
    # yet, and Jupyter raises if that was never said (the page would come out empty).
    handler.current_user = handler._jupyter_current_user = None  # type: ignore[attr-defined]
    # Jupyter's JSON errors show the log message; Voila's error page shows only the status
    # line, so the reason carries it as well.
    return web.HTTPError(403, message, reason=f"View only: {message}")


def viewer_refusal(handler: web.RequestHandler, viewer: ViewerUser) -> str | None:
    """None if ``viewer`` may use the route ``handler`` serves, else why not.

    Judged by the handler's class and what its route captured, so a route added later,
    by any extension, is refused until it is listed here.
    """
    # Imports here: Voila is installed wherever ``serve`` runs, not everywhere this
    # package is; the hub's handlers import this module's package.
    from jupyter_server.base.handlers import FileFindHandler
    from jupyter_server.services.kernels.handlers import KernelHandler
    from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

    from .handlers import CancelHandler, ChannelEventsHandler, StreamHandler, ViewersHandler
    from .static import DashboardTicketHandler, StaticDashboardHandler

    method = handler.request.method
    if isinstance(handler, (StreamHandler, ChannelEventsHandler, ViewersHandler)):
        return None  # tickets decide which channels (the authorizer grants viewers none)
    # A static dashboard (serve --static): its page, and fresh tickets for its channels,
    # for the grant's notebooks only. The bare prefix is the index, which lists only
    # those. Its assets are Jupyter's FileFindHandler (below).
    if isinstance(handler, StaticDashboardHandler) and method in ("GET", "HEAD"):
        path = str(handler.path_kwargs.get("path") or "").strip("/")
        if not path or path in viewer.grant.notebooks:
            return None
        return f"the share link opens {', '.join(viewer.grant.notebooks)}, not {path}"
    if isinstance(handler, DashboardTicketHandler) and method == "GET":
        path = handler.get_query_argument("notebook", "") or ""
        if path in viewer.grant.notebooks:
            return None
        return f"the share link opens {', '.join(viewer.grant.notebooks)}, not {path or 'nothing'}"
    if isinstance(handler, CancelHandler) and method == "POST":
        return None  # the Stop button: the handler wants a ticket with the cancel right
    if isinstance(handler, FileFindHandler) and method in ("GET", "HEAD"):
        # Jupyter's, Voila's and extensions' static assets (ours: the stream worker and the
        # public client, handlers.AssetHandler), never user files.
        return None
    # The page's kernel: its model (Voila's page reads it before connecting) and websocket.
    if isinstance(handler, KernelWebsocketHandler) or (
        isinstance(handler, KernelHandler) and method == "GET"
    ):
        kernel_id = handler.path_kwargs.get("kernel_id", "")
        return None if _owns(handler, viewer, kernel_id) else "that kernel is not your page's"
    name = f"{type(handler).__module__}.{type(handler).__qualname__}"
    if name == "voila.tornado.handler.TornadoVoilaHandler" and method == "GET":
        path = (handler.path_args[0] if handler.path_args else "").lstrip("/")
        if path in viewer.grant.notebooks:
            return None
        return f"the share link opens {', '.join(viewer.grant.notebooks)}, not {path or 'the index'}"
    if name == "voila.shutdown_kernel_handler.VoilaShutdownKernelHandler":
        kernel_id = handler.path_args[0] if handler.path_args else ""
        return None if _owns(handler, viewer, kernel_id) else "that kernel is not your page's"
    return "a share link lets you view the dashboard, nothing else; this needs the owner's link"


def _owns(handler: web.RequestHandler, viewer: ViewerUser, kernel_id: str) -> bool:
    manager = handler.settings.get("kernel_manager")
    return isinstance(manager, ViewerKernelManager) and manager.viewer_of(kernel_id) == viewer.grant.viewer


class ShareIdentityProvider(IdentityProvider):
    """Jupyter's token identity for the owner, plus view-only identities from share links."""

    share_secret = Unicode(
        "", config=True,
        help="Secret that signs share links and viewer cookies (empty: no share links).",
    )
    share_not_before = Int(
        0, config=True,
        help="Share links and viewer cookies issued before this Unix time are refused "
             "(raised by `sse-widgets serve --rotate-share`).",
    )

    async def get_user(self, handler: web.RequestHandler) -> User | None:
        owner = await self._get_user(handler)
        if owner is not None or not self.share_secret:
            return owner
        viewer = self._viewer(handler)
        if viewer is None:
            return None
        refusal = viewer_refusal(handler, viewer)
        if refusal is not None:
            raise _refused(handler, refusal)
        return viewer

    def _viewer(self, handler: web.RequestHandler) -> ViewerUser | None:
        """The viewer a share link or cookie names; 403 if one is given but not valid."""
        cookie_name = self.viewer_cookie_name(handler)
        link = handler.get_query_argument(LINK_PARAM, None)
        cookie = handler.get_cookie(cookie_name)
        try:
            if link is not None:
                grant = verify_link(self.share_secret, link, self.share_not_before)
                # A browser that already has a cookie for this link keeps its viewer id
                # (and so its kernels) when the link is opened again, e.g. on a reload.
                if cookie is not None:
                    try:
                        known = verify_cookie(self.share_secret, cookie, self.share_not_before)
                    except ShareRefused:
                        known = None
                    if known is not None and known.issued == grant.issued:
                        return _viewer_user(known)
                value, grant = mint_cookie(self.share_secret, grant)
                if not isinstance(handler, WebSocketHandler):
                    handler.set_cookie(
                        cookie_name, value, path=handler.settings.get("base_url", "/"),
                        expires=datetime.datetime.fromtimestamp(grant.expiry, datetime.timezone.utc),
                        httponly=True, samesite="Lax", secure=handler.request.protocol == "https",
                    )
                return _viewer_user(grant)
            if cookie is not None:
                return _viewer_user(verify_cookie(self.share_secret, cookie, self.share_not_before))
        except ShareRefused as exc:
            raise _refused(handler, str(exc)) from None
        return None

    def viewer_cookie_name(self, handler: web.RequestHandler) -> str:
        """Per host and port, as Jupyter names its login cookie: two servers on one host
        must not overwrite each other's viewers."""
        return _NOT_ALNUM.sub("-", f"{COOKIE_NAME}-{handler.request.host}")


def _viewer_user(grant: Grant) -> ViewerUser:
    return ViewerUser(
        username=f"viewer-{grant.viewer}", name="Viewer", display_name="Viewer", grant=grant,
    )


class ViewerAuthorizer(Authorizer):
    """Everyone else as before (allowed); a viewer only its own page's kernel (model and
    websocket), never anything else: not even ``read`` on the hub, which tickets govern."""

    def is_authorized(self, handler: web.RequestHandler, user: User, action: str, resource: str) -> bool:
        if not isinstance(user, ViewerUser):
            return True
        # viewer_refusal allows a viewer no other route that asks about kernels.
        return resource == "kernels" and action in ("read", "execute") and (
            viewer_refusal(handler, user) is None
        )


class ViewerKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager, remembering which viewer each kernel was started for."""

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._viewers: dict[str, str] = {}

    async def start_kernel(self, *args: t.Any, **kwargs: t.Any) -> str:  # type: ignore[override]
        kernel_id: str = await super().start_kernel(*args, **kwargs)
        handler = CallContext.get(CallContext.JUPYTER_HANDLER)
        user = getattr(handler, "current_user", None)
        if isinstance(user, ViewerUser):
            if len(self._viewers) >= MAX_VIEWER_KERNELS:
                self._viewers = {k: v for k, v in self._viewers.items() if k in self}
            self._viewers[kernel_id] = user.grant.viewer
        return kernel_id

    def viewer_of(self, kernel_id: str) -> str | None:
        """The viewer id a running kernel was started for, or None (the owner's, or gone)."""
        return self._viewers.get(kernel_id) if kernel_id in self else None


class ViewerKernelConnection(ZMQChannelsWebsocketConnection):
    """A kernel websocket that carries only comm and kernel-info messages from a viewer."""

    def handle_incoming_message(self, incoming_msg: str) -> None:
        if is_viewer(getattr(self.websocket_handler, "current_user", None)):
            msg_type = self._message_type(incoming_msg)
            if msg_type not in VIEWER_MESSAGE_TYPES:
                self.log.warning("Ignoring a %r message from a dashboard viewer", msg_type)
                return
        super().handle_incoming_message(incoming_msg)

    def _message_type(self, incoming_msg: str | bytes) -> str | None:
        """The message's type as the parent class would read it, or None if unreadable."""
        try:
            if self.subprotocol == "v1.kernel.websocket.jupyter.org":
                _, parts = deserialize_msg_from_ws_v1(incoming_msg)  # type: ignore[no-untyped-call]
                header = self.session.unpack(parts[0])
            elif isinstance(incoming_msg, bytes):
                header = deserialize_binary_message(incoming_msg)["header"]  # type: ignore[no-untyped-call]
            else:
                header = json.loads(incoming_msg)["header"]
            msg_type = header["msg_type"]
        except (ValueError, KeyError, IndexError, TypeError):
            return None
        return msg_type if isinstance(msg_type, str) else None
