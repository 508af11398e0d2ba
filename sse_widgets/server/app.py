"""The Jupyter server extension: configuration, the hub's lifetime, kernels' environment."""

from __future__ import annotations

import asyncio
import gc
import hmac
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Int, List, Unicode, default

from ..hub import Backend, Hub, MemoryBackend
from ..hub.backend import UnavailableBackend
from ..protocol import (
    API_PREFIX,
    KEY_ENV,
    LEGACY_TICKET_PARAM,
    STATIC_PREFIX,
    TICKET_PARAM,
    URL_ENV,
    ProtocolError,
    verify_ticket,
)
from .handlers import (
    AssetHandler,
    CancelHandler,
    ChannelEventsHandler,
    ChannelHandler,
    ChannelsHandler,
    PublishHandler,
    StreamHandler,
    ViewersHandler,
)
from .listen import (
    FD_RESERVE,
    default_backlog,
    raise_open_files_limit,
    streams_within,
    widen_backlog,
)
from .static import (
    PAGE_PREFIX,
    TICKET_PATH,
    DashboardTicketHandler,
    StaticDashboardHandler,
    StaticDashboards,
)

STATIC_ASSETS = Path(__file__).resolve().parent.parent / "static"

if TYPE_CHECKING:
    from ..hub.redis_streams import RedisBackend

#: The built browser code (js/ → sse_widgets/static).
STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static")

_ANY_ADDRESS = {"", "0.0.0.0", "*", "localhost", "::"}
#: How long stop_extension waits for the hub to close before letting the server go on.
STOP_TIMEOUT = 10.0


class SSEWidgetsApp(ExtensionApp):
    """Serves the event hub as Server-Sent Events under ``{base_url}sse-widgets/api/``."""

    name = "sse_widgets"
    #: Served at {base_url}static/sse_widgets/ by Jupyter's FileFindHandler: the static
    #: dashboard page's bundle (static_page.js/.css) and the widgets' own bundles.
    static_paths = [str(STATIC_ASSETS)]  # noqa: RUF012 - ExtensionApp's trait, set as it documents
    load_other_extensions = True

    heartbeat_interval = Float(
        15.0, config=True,
        help="Seconds between ': ping' comment lines on every stream (0 disables). Keeps "
             "proxies from closing idle streams; never moves the browser's cursor.",
    )
    retry_ms = Int(
        2000, min=0, config=True,
        help="Reconnection delay sent to browsers in the stream's retry: line, at least.",
    )
    retry_jitter_ms = Int(
        3000, min=0, config=True,
        help="Each stream's retry: is retry_ms plus a random part up to this, so that "
             "EventSource clients cut off together (a server restart) do not all come back "
             "at the same moment.",
    )
    history_size = Int(10_000, config=True, help="Events retained per channel, at most.")
    history_bytes = Int(
        4 << 20, config=True, help="Encoded bytes retained per channel, at most."
    )
    max_channels = Int(
        1024, config=True,
        help="Channels with retained history, at most; past it the channel published to least "
             "recently is dropped.",
    )
    total_history_bytes = Int(
        256 << 20, config=True,
        help="Encoded bytes retained over all channels, at most; past it the channel published "
             "to least recently is dropped.",
    )
    max_event_bytes = Int(64 << 10, config=True, help="Largest event accepted, encoded, in bytes.")
    max_request_bytes = Int(
        4 << 20, config=True, help="Largest publish request body accepted, in bytes (413 past it)."
    )
    max_subscribers = Int(
        20_000, min=1, config=True,
        help="Streams open at once, at most; more get 503. An open stream costs the server "
             "about 6 KiB and a file descriptor: the server raises its soft RLIMIT_NOFILE "
             "towards this at start, and where the hard limit is lower, allows only what it "
             "leaves room for (1,024 descriptors kept back), and logs so.",
    )
    subscriber_buffer_bytes = Int(
        4 << 20, config=True,
        help="Unsent bytes a stream may queue before it is cut off (it reconnects and replays).",
    )
    listen_backlog = Int(
        min=1, config=True,
        help="Backlog of the server's listening sockets, set again at start: how many "
             "connections the kernel queues until the server accepts them (Tornado binds "
             "with 128, which a storm of reconnecting browsers overflows; the kernel caps "
             "it at net.core.somaxconn). Default: somaxconn, at most 4096.",
    )
    freeze_startup_objects = Bool(
        True, config=True,
        help="At start, collect garbage once and then exempt every object the server holds "
             "by then (modules, classes, configuration) from later garbage collections "
             "(gc.freeze). A storm of reconnects allocates fast, and each full collection "
             "walked all of them: measured, 35% of the server's CPU during a 3,000-stream "
             "storm was the collector, 17% with this. Objects alive at start that later "
             "become cyclic garbage are then never freed.",
    )
    backend = Enum(
        ["memory", "redis"], "memory", config=True,
        help="Where history lives and how events fan out: 'memory' (this process) or 'redis' "
             "(Redis Streams, shared by every server on the same redis_url and redis_prefix).",
    )
    redis_url = Unicode(
        "redis://127.0.0.1:6379/0", config=True, help="Redis to use when backend='redis'."
    )
    redis_prefix = Unicode(
        "sse-widgets:", config=True,
        help="Prefix of every Redis key; servers with the same prefix share channels.",
    )
    redis_live_length = Int(
        10_000, config=True,
        help="Approximate length of the Redis live stream: how far a server's reader may lag "
             "before its streams are reset (they reconnect and replay).",
    )
    redis_socket_timeout = Float(
        10.0, config=True,
        help="Seconds to wait for an answer from Redis. A publish that gets none in time is "
             "answered 504 (outcome unknown: retry with the same idempotency key), and the "
             "live reader reconnects. Keep it above the slowest expected Redis command.",
    )
    publish_key = Unicode(
        config=True,
        help="Secret that lets processes publish (header X-SSE-Widgets-Key) and signs stream "
             "tickets; exported to kernels as SSE_WIDGETS_KEY. Random per start by default; set "
             "the same value on servers that share a backend.",
    )

    static_notebooks = List(
        Unicode(), config=True,
        help="Notebooks (paths under the server's root) run once at start and served as static "
             "dashboards at sse-widgets/dashboard/<path>, with no kernel per viewer "
             "(`sse-widgets serve --static`).",
    )
    static_ticket_ttl = Float(
        3600.0, config=True,
        help="Seconds a static dashboard's stream tickets stay valid; pages renew them before.",
    )
    static_refresh_interval = Float(
        0.0, config=True,
        help="Seconds between checks of the static notebooks' files; a changed one is run "
             "again and its page replaced (0: never, the default).",
    )
    static_cell_timeout = Int(
        600, config=True, help="Seconds a cell of a static notebook may run during its render."
    )

    #: True when the key is shared through Redis (publish_key not configured).
    _key_shared = False

    @default("listen_backlog")
    def _default_listen_backlog(self) -> int:
        return default_backlog()

    @default("publish_key")
    def _default_publish_key(self) -> str:
        if self.backend == "redis":
            self._key_shared = True
            return self._shared_redis_key()
        return secrets.token_urlsafe(32)

    def _shared_redis_key(self) -> str:
        """One key for every server on this Redis, so that tickets minted in a kernel of
        one server verify on the others. Kept in Redis, whose readers could publish anyway."""
        try:
            import redis
        except ImportError:
            return secrets.token_urlsafe(32)  # make_backend says what is missing

        client = redis.Redis.from_url(
            self.redis_url, socket_connect_timeout=5, socket_timeout=self.redis_socket_timeout
        )
        try:
            name = self.redis_prefix + "publish-key"
            value = client.get(name)
            if value is None:
                client.set(name, secrets.token_urlsafe(32), nx=True)
                value = client.get(name)
            key = value.decode() if isinstance(value, bytes) else str(value)
            # Every key handed out stays valid on every server (see RedisBackend.keys).
            if not client.sismember(self.redis_prefix + "publish-keys", key):
                client.sadd(self.redis_prefix + "publish-keys", key)
        except redis.RedisError as exc:
            raise RuntimeError(
                f"sse_widgets: backend='redis' but Redis at {self.redis_url} is unreachable: {exc}"
            ) from exc
        finally:
            client.close()
        return key

    @property
    def key(self) -> str:
        return self.publish_key

    def _adopt_key(self, key: str) -> None:
        # The servers on this Redis converged on another key (after Redis lost its data):
        # new kernels get it; the old one stays valid (RedisBackend.known_key).
        self.publish_key = key
        self.export_environment()

    async def accepts_key(self, sent: str) -> bool:
        """True if ``sent`` is this server's publish key, or (keys shared through Redis)
        one that a server on the same Redis handed out to its kernels."""
        if hmac.compare_digest(sent.encode(), self.key.encode()):
            return True
        backend = self._redis_backend()
        return backend is not None and await backend.known_key(sent)

    def _redis_backend(self) -> RedisBackend | None:
        """The Redis backend, when the key is shared through it."""
        if not self._key_shared:
            return None
        from ..hub.redis_streams import RedisBackend  # optional dependency, then installed

        backend = self.hub.backend
        return backend if isinstance(backend, RedisBackend) else None

    async def ticket_patterns(self, ticket: str) -> list[str]:
        """The patterns ``ticket`` grants, verified with this server's key or, when keys
        are shared through Redis, any key handed out there; ProtocolError if refused."""
        try:
            return verify_ticket(self.key, ticket)
        except ProtocolError as exc:
            backend = self._redis_backend()
            if backend is None or "signature" not in str(exc):
                raise  # expired or malformed whatever the key
            first = exc
        for key in await backend.all_keys():
            try:
                return verify_ticket(key, ticket)
            except ProtocolError as exc:
                if "signature" not in str(exc):
                    raise
        raise first

    def make_backend(self) -> Backend:
        """The history backend this server uses."""
        if self.backend == "redis":
            try:
                from ..hub.redis_streams import RedisBackend
            except ImportError as exc:
                # Load anyway, so that every sse-widgets URL answers 503 saying this,
                # rather than 404 after a traceback in the log.
                message = f"backend='redis' cannot be used: {exc}"
                self.log.error("sse_widgets: %s; every sse-widgets request gets 503 until then", message)
                return UnavailableBackend(message)
            key = self.publish_key  # first: its default decides whether it is shared
            backend = RedisBackend(
                self.redis_url,
                prefix=self.redis_prefix,
                history_size=self.history_size,
                history_bytes=self.history_bytes,
                max_channels=self.max_channels,
                total_bytes=self.total_history_bytes,
                live_length=self.redis_live_length,
                socket_timeout=self.redis_socket_timeout,
                shared_key=key if self._key_shared else None,
            )
            backend.on_key_change = self._adopt_key
            return backend
        return MemoryBackend(
            history_size=self.history_size,
            history_bytes=self.history_bytes,
            max_channels=self.max_channels,
            total_bytes=max(self.total_history_bytes, self.history_bytes),
        )

    def initialize_settings(self) -> None:
        self.hub = Hub(
            self.make_backend(),
            max_event_bytes=self.max_event_bytes,
            max_subscribers=self.max_subscribers,
            subscriber_buffer_bytes=self.subscriber_buffer_bytes,
            heartbeat_interval=self.heartbeat_interval,
        )
        # ExtensionApp puts this app in the settings as settings["sse_widgets"], where the
        # handlers find it. Scripts send tickets in the query string (browsers in cookies).
        # The handlers take them out of request.uri before anything logs it (JupyterHub's
        # logger ignores this setting); naming them here too covers a request for our paths
        # that never reaches our handlers (self.settings is merged into the web app's).
        scrub = list(self.settings.get("extra_log_scrub_param_keys", []))
        self.settings["extra_log_scrub_param_keys"] = [*scrub, TICKET_PARAM, LEGACY_TICKET_PARAM]
        self.export_environment()
        self.dashboards = StaticDashboards(self, list(self.static_notebooks))

    def initialize_handlers(self) -> None:
        api = "/" + API_PREFIX
        self.handlers.extend(
            [
                (api + "stream", StreamHandler),
                (api + "publish", PublishHandler),
                (api + "channels", ChannelsHandler),
                (api + "viewers", ViewersHandler),
                (api + "cancel", CancelHandler),
                (api + "channels/(?P<name>.+)/events", ChannelEventsHandler),
                (api + "channels/(?P<name>.+)", ChannelHandler),
                ("/" + TICKET_PATH, DashboardTicketHandler),
                ("/" + PAGE_PREFIX + "(?P<path>.*)", StaticDashboardHandler),
                ("/" + STATIC_PREFIX + "(.*)", AssetHandler, {"path": STATIC_DIR}),
            ]
        )

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # The sockets are bound by now (ServerApp binds in a loop callback queued before
        # the one that starts extensions); see listen.py for why the backlog matters.
        for sock in widen_backlog(serverapp, self.listen_backlog):
            self.log.debug("sse_widgets: listen backlog %d on %s", self.listen_backlog, sock.getsockname())
        self.make_room_for_streams()
        # The port is final only once the server has bound it.
        self.export_environment()
        if not isinstance(self.hub.backend, UnavailableBackend):  # that one has said why
            await self.hub.start()
        # After the environment export: the run's kernel publishes to this hub.
        self.dashboards.start()
        if self.freeze_startup_objects:
            gc.collect()
            gc.freeze()

    def stream_retry_ms(self) -> int:
        """A stream's ``retry:``: ``retry_ms`` plus its own random share of the jitter."""
        return self.retry_ms + secrets.randbelow(self.retry_jitter_ms + 1)

    def make_room_for_streams(self) -> None:
        """Raise the open-files limit for ``max_subscribers`` streams; where the system
        allows fewer, lower the hub's bound so that the excess gets 503, not EMFILE."""
        limit = raise_open_files_limit(self.max_subscribers + FD_RESERVE)
        allowed = streams_within(limit, self.max_subscribers)
        if allowed < self.max_subscribers:
            self.log.warning(
                "sse_widgets: RLIMIT_NOFILE allows %d open files (hard limit), room for %d of "
                "max_subscribers=%d streams; more get 503 (raise the limit, e.g. ulimit -n)",
                limit, allowed, self.max_subscribers,
            )
        self.hub.max_subscribers = allowed

    def export_environment(self) -> None:
        """Put the publish URL and key in os.environ, which every kernel inherits."""
        os.environ[KEY_ENV] = self.key
        url = self.loopback_url()
        if url is not None:
            os.environ[URL_ENV] = url

    def loopback_url(self) -> str | None:
        """The URL a process on this machine reaches the server at (with base_url)."""
        server = self.serverapp
        if server is None or server.sock:
            return None
        scheme = "https" if server.certfile else "http"
        host = server.ip
        if host in _ANY_ADDRESS:
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{server.port}{server.base_url}"

    async def stop_extension(self) -> None:
        """End every open stream cleanly, so that browsers reconnect once a server is back.

        Never raises and never hangs: the server's shutdown (SIGTERM, Ctrl-C) waits for
        it, whatever state this extension is in (it may have failed to load: no hub).
        """
        dashboards: StaticDashboards | None = getattr(self, "dashboards", None)
        if dashboards is not None:
            try:
                await dashboards.stop()
            except Exception:
                self.log.exception("sse_widgets: stopping the static renders failed")
        hub: Hub | None = getattr(self, "hub", None)
        if hub is None:
            return
        try:
            await asyncio.wait_for(hub.close(), STOP_TIMEOUT)
        except Exception:
            self.log.exception("sse_widgets: closing the hub failed; the server stops anyway")
