"""The Redis Streams backend: history and fan-out shared by many server processes.

Every append runs one Lua script that takes the next number from one Redis counter and
adds the event to its channel's stream (trimmed by the configured bounds) and to one
"live" stream, atomically; so ids keep the in-memory semantics (one sequence across all
channels, one epoch, both in Redis) on every server. Each server process runs one reader
(``XREAD BLOCK`` from the last id it saw, never ``$``) over the live stream and hands
events to its hub, which fans them out to its own subscribers: one Redis connection per
process for live events, not one per subscriber. Publishers are answered only after the
script returns, so an acknowledged event is in Redis.

Needs ``redis`` (redis-py >= 5, asyncio API); imported only when this backend is chosen.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import re
import secrets
import time
from typing import Any

from ..protocol import check_channel
from . import _redis_scripts as scripts
from .backend import Backend, BackendUnavailable, ChannelInfo, Replay
from .event import EVENT_OVERHEAD_BYTES, Cursor, Draft, Event
from .patterns import ChannelSet

try:
    import redis.asyncio as aioredis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the Redis backend needs redis-py: pip install 'sse-widgets[redis]'"
    ) from exc

log = logging.getLogger(__name__)

_LUA_MAGIC = re.compile(r"([\^$()%.\[\]+\-?])")
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def lua_pattern(pattern: str) -> str:
    """A channel pattern (``*`` = any run) as an anchored Lua pattern."""
    return "^" + ".*".join(_LUA_MAGIC.sub(r"%\1", part) for part in pattern.split("*")) + "$"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisBackend(Backend):
    """History and ids in Redis Streams; see the module docstring.

    Parameters
    ----------
    url
        ``redis://host:port/db``.
    prefix
        Namespace for every key, so several hubs can share one Redis.
    history_size, history_bytes, max_channels, total_bytes
        The same bounds as the in-memory backend, enforced inside Redis.
    live_length
        Approximate length of the live stream: how far a lagging reader may fall behind
        before its streams are reset.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        prefix: str = "sse-widgets:",
        history_size: int = 10_000,
        history_bytes: int = 4 << 20,
        max_channels: int = 1024,
        total_bytes: int = 256 << 20,
        live_length: int = 10_000,
    ):
        self.url = url
        self.prefix = prefix
        self.history_size = history_size
        self.history_bytes = history_bytes
        self.max_channels = max_channels
        self.total_bytes = max(total_bytes, history_bytes)
        self.live_length = live_length
        self.epoch = ""
        self._last_seq = 0
        self._connected = False
        self._outages = 0
        self._lagged = 0
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self._commands = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
        self._blocking = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
        self._append = self._commands.register_script(scripts.APPEND)
        self._delete = self._commands.register_script(scripts.DELETE)
        self._replay = self._commands.register_script(scripts.REPLAY)

    def _key(self, name: str) -> str:
        return self.prefix + name

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._sync_position()
        except _UNREACHABLE as exc:
            raise BackendUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        self._connected = True
        self._reader = asyncio.create_task(self._read_live())

    async def _sync_position(self) -> bool:
        """Read (or create) the shared epoch and the current sequence; True if the epoch
        changed (Redis lost its data, or was flushed) since we last looked."""
        await self._commands.set(self._key("epoch"), secrets.token_hex(4), nx=True)
        raw_epoch, raw_seq = await self._commands.mget(self._key("epoch"), self._key("seq"))
        epoch, seq = _text(raw_epoch), int(raw_seq or 0)
        changed = bool(self.epoch) and (epoch != self.epoch or seq < self._last_seq)
        if changed or not self.epoch:
            self._last_seq = seq
        self.epoch = epoch
        return changed

    async def close(self) -> None:
        self._closing = True
        # Disconnect first: a cancelled XREAD BLOCK would otherwise only end when its
        # block timeout runs out.
        await self._blocking.connection_pool.disconnect()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._blocking.aclose()
        await self._commands.aclose()

    # --- the one live reader -----------------------------------------------------------

    async def _read_live(self) -> None:
        live = self._key("live")
        backoff = 0.1
        while not self._closing:
            try:
                reply: Any = await self._blocking.xread({live: f"{self._last_seq}-0"}, count=1000, block=5000)
            except Exception as exc:
                if self._closing:
                    return  # whatever close() broke in the read is not an outage
                if not isinstance(exc, _UNREACHABLE):
                    raise
                if self._connected:
                    self._connected = False
                    self._outages += 1
                    log.warning("Redis at %s unreachable (%s); streams end, retrying", self.url, exc)
                    self._interrupt("backend-lost")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                try:
                    if await self._sync_position():
                        self._interrupt("epoch")
                    self._connected = True
                    backoff = 0.1
                    log.warning("Redis at %s reachable again", self.url)
                except _UNREACHABLE:
                    pass
                continue
            for _stream, entries in reply or []:
                self._take(entries)

    def _take(self, entries: list[Any]) -> None:
        events: list[Event] = []
        for raw_id, fields in entries:
            seq = int(_text(raw_id).split("-", 1)[0])
            if seq != self._last_seq + 1:
                # The live stream was trimmed past us (or Redis lost data): we may have
                # missed events, so every stream replays from the channel histories.
                self._lagged += 1
                self._deliver(events)
                events = []
                self._interrupt("gap")
            self._last_seq = seq
            channel = _text(fields[b"c"])
            if fields.get(b"x") == b"deleted":
                self._deliver(events)
                events = []
                if self.listener is not None:
                    self.listener.deleted(channel)
                continue
            events.append(
                Event(self.epoch, seq, channel, _text(fields[b"t"]), float(fields[b"ts"]), _text(fields[b"d"]))
            )
        self._deliver(events)

    def _deliver(self, events: list[Event]) -> None:
        if events and self.listener is not None:
            self.listener.deliver(events)

    def _interrupt(self, reason: str) -> None:
        if self.listener is not None:
            self.listener.interrupted(reason)

    # --- commands ----------------------------------------------------------------------

    async def append(self, drafts: list[Draft]) -> list[str]:
        args: list[Any] = [
            self.prefix, EVENT_OVERHEAD_BYTES, self.history_size, self.history_bytes,
            self.max_channels, self.total_bytes, self.live_length, repr(round(time.time(), 3)),
        ]
        for draft in drafts:
            args += [draft.channel, draft.type, draft.data_json]
        try:
            seqs = await self._append(args=args)
        except _UNREACHABLE as exc:
            raise BackendUnavailable(
                f"Redis at {self.url} is unreachable ({exc}); nothing was published, retry later"
            ) from exc
        return [f"{self.epoch}-{int(seq)}" for seq in seqs]

    async def replay(self, channels: ChannelSet, cursor: Cursor | None, since: ChannelSet) -> Replay:
        cursor_epoch = "" if cursor is None or cursor.epoch is None else cursor.epoch
        after = -1 if cursor is None else cursor.seq
        args: list[Any] = [self.prefix, EVENT_OVERHEAD_BYTES, cursor_epoch, after]
        args += [len(channels.patterns), *map(lua_pattern, channels.patterns)]
        args += [len(since.patterns), *map(lua_pattern, since.patterns)]
        try:
            reply = await self._replay(args=args)
        except _UNREACHABLE as exc:
            raise BackendUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        reset, epoch = _text(reply[0]), _text(reply[1])
        runs = []
        for i in range(3, len(reply), 2):
            name = _text(reply[i])
            runs.append([self._event(epoch, name, raw_id, fields) for raw_id, fields in reply[i + 1]])
        merged = runs[0] if len(runs) == 1 else list(heapq.merge(*runs, key=lambda e: e.seq))
        return Replay(merged, reset or None)

    @staticmethod
    def _event(epoch: str, channel: str, raw_id: bytes, flat: list[bytes]) -> Event:
        fields = dict(zip(flat[::2], flat[1::2])) if isinstance(flat, list) else flat
        seq = int(_text(raw_id).split("-", 1)[0])
        return Event(epoch, seq, channel, _text(fields[b"t"]), float(fields[b"ts"]), _text(fields[b"d"]))

    async def history(self, channel: str, after: Cursor | None, limit: int) -> Replay:
        check_channel(channel)
        replay = await self.replay(ChannelSet([channel]), after or Cursor(None, 0), ChannelSet([]))
        return Replay(replay.events[:limit], replay.reset)

    async def channels(self) -> list[ChannelInfo]:
        try:
            names = [_text(n) for n in await self._commands.zrange(self._key("channels"), 0, -1)]
            pipe = self._commands.pipeline(transaction=False)
            for name in names:
                key = self._key("ch:" + name)
                pipe.xlen(key)
                pipe.hget(self._key("bytes"), name)
                pipe.xrange(key, count=1)
                pipe.xrevrange(key, count=1)
            results = await pipe.execute()
        except _UNREACHABLE as exc:
            raise BackendUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        infos = []
        for i, name in enumerate(names):
            length, size, first, last = results[4 * i : 4 * i + 4]
            infos.append(ChannelInfo(
                name=name, retained=int(length), bytes=int(size or 0),
                first_id=f"{self.epoch}-{_text(first[0][0]).split('-')[0]}" if first else None,
                last_id=f"{self.epoch}-{_text(last[0][0]).split('-')[0]}" if last else None,
            ))
        return sorted(infos, key=lambda info: info.name)

    async def delete(self, channel: str) -> bool:
        try:
            seq = await self._delete(args=[self.prefix, EVENT_OVERHEAD_BYTES, self.live_length, channel])
        except _UNREACHABLE as exc:
            raise BackendUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        # Subscribers here learn of it from the live stream, like those of other servers.
        return int(seq) > 0

    def stats(self) -> dict[str, Any]:
        return {
            "backend": "redis",
            "epoch": self.epoch,
            "last_seq": self._last_seq,
            "redis_connected": self._connected,
            "redis_outages": self._outages,
            "reader_gaps": self._lagged,
        }
