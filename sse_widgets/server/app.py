"""The Jupyter server extension: configuration, the hub's lifetime, kernels' environment."""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Float, Int, Unicode, default

from ..hub import Backend, Hub, MemoryBackend
from ..hub.backend import UnavailableBackend
from ..protocol import API_PREFIX, KEY_ENV, LEGACY_TICKET_PARAM, TICKET_PARAM, URL_ENV
from .handlers import (
    CancelHandler,
    ChannelEventsHandler,
    ChannelHandler,
    ChannelsHandler,
    PublishHandler,
    StreamHandler,
)

_ANY_ADDRESS = {"", "0.0.0.0", "*", "localhost", "::"}
#: How long stop_extension waits for the hub to close before letting the server go on.
STOP_TIMEOUT = 10.0


class SSEWidgetsApp(ExtensionApp):
    """Serves the event hub as Server-Sent Events under ``{base_url}sse-widgets/api/``."""

    name = "sse_widgets"
    load_other_extensions = True

    heartbeat_interval = Float(
        15.0, config=True,
        help="Seconds between ': ping' comment lines on every stream (0 disables). Keeps "
             "proxies from closing idle streams; never moves the browser's cursor.",
    )
    retry_ms = Int(
        2000, config=True, help="Reconnection delay sent to browsers in the stream's retry: line."
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
        5000, config=True, help="Streams open at once, at most; more get 503."
    )
    subscriber_buffer_bytes = Int(
        4 << 20, config=True,
        help="Unsent bytes a stream may queue before it is cut off (it reconnects and replays).",
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
    publish_key = Unicode(
        config=True,
        help="Secret that lets processes publish (header X-SSE-Widgets-Key) and signs stream "
             "tickets; exported to kernels as SSE_WIDGETS_KEY. Random per start by default; set "
             "the same value on servers that share a backend.",
    )

    @default("publish_key")
    def _default_publish_key(self) -> str:
        if self.backend == "redis":
            return self._shared_redis_key()
        return secrets.token_urlsafe(32)

    def _shared_redis_key(self) -> str:
        """One key for every server on this Redis, so that tickets minted in a kernel of
        one server verify on the others. Kept in Redis, whose readers could publish anyway."""
        try:
            import redis
        except ImportError:
            return secrets.token_urlsafe(32)  # make_backend says what is missing

        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=5)
        try:
            name = self.redis_prefix + "publish-key"
            client.set(name, secrets.token_urlsafe(32), nx=True)
            value = client.get(name)
        except redis.RedisError as exc:
            raise RuntimeError(
                f"sse_widgets: backend='redis' but Redis at {self.redis_url} is unreachable: {exc}"
            ) from exc
        finally:
            client.close()
        return value.decode() if isinstance(value, bytes) else str(value)

    @property
    def key(self) -> str:
        return self.publish_key

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
            return RedisBackend(
                self.redis_url,
                prefix=self.redis_prefix,
                history_size=self.history_size,
                history_bytes=self.history_bytes,
                max_channels=self.max_channels,
                total_bytes=self.total_history_bytes,
                live_length=self.redis_live_length,
            )
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

    def initialize_handlers(self) -> None:
        api = "/" + API_PREFIX
        self.handlers.extend(
            [
                (api + "stream", StreamHandler),
                (api + "publish", PublishHandler),
                (api + "channels", ChannelsHandler),
                (api + "cancel", CancelHandler),
                (api + "channels/(?P<name>.+)/events", ChannelEventsHandler),
                (api + "channels/(?P<name>.+)", ChannelHandler),
            ]
        )

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # The port is final only once the server has bound it.
        self.export_environment()
        if not isinstance(self.hub.backend, UnavailableBackend):  # that one has said why
            await self.hub.start()

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
        hub: Hub | None = getattr(self, "hub", None)
        if hub is None:
            return
        try:
            await asyncio.wait_for(hub.close(), STOP_TIMEOUT)
        except Exception:
            self.log.exception("sse_widgets: closing the hub failed; the server stops anyway")
