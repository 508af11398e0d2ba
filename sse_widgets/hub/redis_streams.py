"""The Redis Streams backend: history and fan-out shared by many server processes.

Every append runs one Lua script that takes the next number from one Redis counter and
adds the event to its channel's stream (trimmed by the configured bounds) and to one
"live" stream, atomically; so ids keep the in-memory semantics (one sequence across all
channels, one epoch, both in Redis) on every server. Each server process runs one reader
(``XREAD BLOCK`` from the last id it saw, never ``$``) over the live stream and hands
events to its hub, which fans them out to its own subscribers: one Redis connection per
process for live events, not one per subscriber. Publishers are answered only after the
script returns, so an acknowledged event is in Redis.

Faults: the reader never ends while the hub runs (any error is an outage: backoff,
reconnect, resync); a publish is answered 503 when nothing was stored, and
``OutcomeUnknown`` (504) when it was sent but no answer came, in which case a retry with
the same idempotency key is stored at most once; replays are read in pages.

Needs ``redis`` (redis-py >= 5, asyncio API); imported only when this backend is chosen.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from ..protocol import check_channel
from . import _redis_scripts as scripts
from .backend import (
    IDEMPOTENCY_KEYS,
    IDEMPOTENCY_TTL,
    Backend,
    BackendUnavailable,
    ChannelInfo,
    IdempotencyConflict,
    OutcomeUnknown,
    Replay,
    ReplayInterrupted,
)
from .event import EVENT_OVERHEAD_BYTES, Cursor, Draft, Event
from .patterns import ChannelSet

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import (
        BusyLoadingError,
        NoScriptError,
        OutOfMemoryError,
        RedisError,
        ResponseError,
    )
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the Redis backend needs redis-py: pip install 'sse-widgets[redis]'"
    ) from exc

log = logging.getLogger(__name__)

#: Errors of a connection (as opposed to an answer from Redis).
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
#: How many positive answers about other servers' keys are remembered.
_KNOWN_KEYS_LIMIT = 64


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _can_read(conn: Any) -> bool:
    # can_read() in redis-py >= 8; can_read_destructive() before.
    check = getattr(conn, "can_read", None) or conn.can_read_destructive
    return bool(await check())


class _NotSent(Exception):
    """No connection to Redis could be made: the command did not leave this process."""


def _refusal(exc: ResponseError) -> str | None:
    """Why Redis refused to run a command at all, or None if it may have run part of it."""
    if isinstance(exc, OutOfMemoryError):
        # redis-py drops the OOM code from the message; keep it, it is what to look up.
        return f"OOM {exc} Raise maxmemory or lower the history bounds"
    if isinstance(exc, (BusyLoadingError, NoScriptError)):
        return str(exc)
    text = str(exc)
    # BUSY (a script runs), MISCONF (cannot persist), READONLY (a replica), OOM: all are
    # answered before the script starts.
    if text.split(" ", 1)[0] in {"BUSY", "MISCONF", "READONLY", "OOM", "NOREPLICAS", "LOADING"}:
        return text
    return None


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
    socket_timeout
        Seconds to wait for Redis's answer to a command. A publish that gets no answer in
        time is ``OutcomeUnknown``; the live reader then reconnects.
    replay_page_bytes
        About how many bytes of history a replay reads from Redis at a time.
    shared_key
        The publish key, when the servers share one through Redis: it is re-asserted
        after every reconnect (see ``keys``).
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
        socket_timeout: float = 10.0,
        replay_page_bytes: int = 256 << 10,
        shared_key: str | None = None,
    ):
        if socket_timeout <= 0:
            raise ValueError("socket_timeout must be positive")
        self.url = url
        self.prefix = prefix
        self.history_size = history_size
        self.history_bytes = history_bytes
        self.max_channels = max_channels
        self.total_bytes = max(total_bytes, history_bytes)
        self.live_length = live_length
        self.socket_timeout = socket_timeout
        self.replay_page_bytes = max(1, replay_page_bytes)
        #: Seqs per page window: a window of n seqs holds at most n events in all.
        self.replay_window = 1000
        self.epoch = ""
        self._last_seq = 0
        self._connected = False
        self._outages = 0
        self._lagged = 0
        self._data_losses = 0
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self._resync_lock = asyncio.Lock()
        # The reader blocks for less than a command's timeout, so that a silent Redis is
        # noticed within one timeout, and checks the epoch after each empty block (a
        # FLUSHALL drops no connection).
        self._block = max(0.05, min(5.0, socket_timeout / 2))
        # No retries inside redis-py: a retried publish could be stored twice.
        common: dict[str, Any] = {
            "socket_connect_timeout": min(2.0, socket_timeout), "retry": Retry(NoBackoff(), 0),
        }
        # Scripts run through _script, which decides about retries itself; every plain
        # command is idempotent (reads, SET NX, SADD), so one retry on a dropped
        # connection (CLIENT KILL, a Redis restart) is safe.
        self._commands = aioredis.Redis.from_url(
            url, socket_timeout=socket_timeout, **{
                **common, "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            },
        )
        self._blocking = aioredis.Redis.from_url(
            url, socket_timeout=self._block + socket_timeout, **common
        )
        self._sources = {
            "append": scripts.APPEND, "delete": scripts.DELETE,
            "replay_start": scripts.REPLAY_START, "replay_page": scripts.REPLAY_PAGE,
        }
        self._shas = {name: hashlib.sha1(src.encode()).hexdigest() for name, src in self._sources.items()}
        #: The key new kernels get, and every key this server handed out (they stay valid).
        self.shared_key = shared_key
        self.keys: set[str] = {shared_key} if shared_key else set()
        self._known_keys: dict[str, None] = {}
        #: Called with the new key when the servers converge on another one.
        self.on_key_change: Callable[[str], None] | None = None

    def _key(self, name: str) -> str:
        return self.prefix + name

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._resync()
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            raise BackendUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        self._connected = True
        self._reader = asyncio.create_task(self._read_live())

    async def _resync(self) -> None:
        """Read (or create) the shared epoch and the current sequence, and re-assert the
        shared key. If Redis lost its data (a new epoch, or a lower seq) since we last
        looked, every stream here ends so that it replays to a reset."""
        async with self._resync_lock:
            epoch_key, seq_key = self._key("epoch"), self._key("seq")
            raw_epoch, raw_seq = await self._commands.mget(epoch_key, seq_key)
            if raw_epoch is None:
                # GET first: a SET is refused at maxmemory even when the key exists.
                await self._commands.set(epoch_key, secrets.token_hex(4), nx=True)
                raw_epoch, raw_seq = await self._commands.mget(epoch_key, seq_key)
            epoch, seq = _text(raw_epoch), int(raw_seq or 0)
            lost = bool(self.epoch) and (epoch != self.epoch or seq < self._last_seq)
            if lost or not self.epoch:
                self._last_seq = seq
            self.epoch = epoch
            await self._assert_keys()
        if lost:
            self._data_losses += 1
            log.warning("Redis at %s lost its data (epoch %s); streams reset", self.url, epoch)
            self._interrupt("epoch")
            # A reader blocked on an id of the old history would miss the new one.
            await self._wake_reader()

    async def _wake_reader(self) -> None:
        if self._reader is not None and asyncio.current_task() is not self._reader:
            with contextlib.suppress(Exception):
                await self._blocking.connection_pool.disconnect()

    async def close(self) -> None:
        """Stop the reader and release connections; never raises what the reader met."""
        self._closing = True
        # Disconnect first: a cancelled XREAD BLOCK would otherwise only end when its
        # block timeout runs out. Each step is bounded: a frozen Redis reads nothing.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._blocking.connection_pool.disconnect(), 5)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait([self._reader], timeout=5)
        for client in (self._blocking, self._commands):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.aclose(), 5)

    # --- the one live reader -----------------------------------------------------------

    async def _read_live(self) -> None:
        """Follow the live stream until close(). Nothing ends this loop but close():
        whatever goes wrong is an outage, after which it reconnects and resyncs."""
        while not self._closing:
            try:
                await self._read_once()
            except asyncio.CancelledError:
                if self._closing:
                    return
                raise
            except Exception as exc:  # noqa: BLE001 - nothing may end the reader
                if self._closing:
                    return  # whatever close() broke in the read is not an outage
                await self._recover(exc)

    async def _read_once(self) -> None:
        live = self._key("live")
        reply: Any = await self._blocking.xread(
            {live: f"{self._last_seq}-0"}, count=1000, block=int(self._block * 1000)
        )
        if not reply:
            await self._resync()
        for _stream, entries in reply or []:
            self._take(entries)

    async def _recover(self, exc: Exception) -> None:
        """After any error of the reader: a dropped connection that reconnects at once
        loses nothing (reading goes on from the last id); otherwise it is an outage, and
        every stream ends so that it replays once Redis is back."""
        with contextlib.suppress(Exception):
            await self._blocking.connection_pool.disconnect()
        if self._connected and isinstance(exc, RedisConnectionError):
            try:
                await self._resync()
                return
            except Exception as again:  # noqa: BLE001 - any failure here is the outage below
                exc = again
        if self._connected:
            self._connected = False
            self._outages += 1
            log.warning("Redis at %s failed (%s: %s); streams end, retrying",
                        self.url, type(exc).__name__, exc)
            self._interrupt("backend-lost")
        backoff = 0.1
        while not self._closing:
            await asyncio.sleep(backoff)
            try:
                await self._resync()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - still down (BUSY, OOM, timeout...): wait more
                backoff = min(backoff * 2, 5.0)
                continue
            self._connected = True
            log.warning("Redis at %s reachable again", self.url)
            return

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
            try:
                channel = _text(fields[b"c"])
                if fields.get(b"x") == b"deleted":
                    self._deliver(events)
                    events = []
                    if self.listener is not None:
                        self.listener.deleted(channel)
                    continue
                events.append(Event(
                    self.epoch, seq, channel, _text(fields[b"t"]), float(fields[b"ts"]), _text(fields[b"d"])
                ))
            except Exception:
                # Not written by this backend: skip it, and let streams replay.
                log.exception("unreadable entry %s in %s", seq, self._key("live"))
                self._interrupt("gap")
        self._deliver(events)

    def _deliver(self, events: list[Event]) -> None:
        if events and self.listener is not None:
            try:
                self.listener.deliver(events)
            except Exception:
                log.exception("delivering live events failed; streams replay")
                self._interrupt("gap")

    def _interrupt(self, reason: str) -> None:
        if self.listener is not None:
            try:
                self.listener.interrupted(reason)
            except Exception:
                log.exception("ending streams after %s failed", reason)

    # --- scripts -----------------------------------------------------------------------

    async def _script(self, name: str, args: list[Any]) -> Any:
        """Run one script on a connection of our own, so that we know whether it was sent:
        ``_NotSent`` if no connection could be made; an answer error (``ResponseError``);
        or any other error, after which the outcome is unknown."""
        pool = self._commands.connection_pool
        try:
            conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        except Exception as exc:
            raise _NotSent(f"{type(exc).__name__}: {exc}") from exc
        try:
            # A pooled connection that Redis closed while it sat idle reads as EOF (the
            # pool skips this check in some redis-py versions): reconnect before sending,
            # so that a Redis that went away is "not sent", not "outcome unknown".
            if await _can_read(conn):
                raise RedisConnectionError("stale connection")
        except Exception:  # noqa: BLE001 - any doubt about it: a new connection
            try:
                await conn.disconnect()
                await conn.connect()
            except Exception as exc:
                await pool.release(conn)
                raise _NotSent(f"{type(exc).__name__}: {exc}") from exc
        try:
            for attempt in (0, 1):
                await conn.send_command("EVALSHA", self._shas[name], 0, *args)
                try:
                    return await conn.read_response()
                except NoScriptError:
                    # Not run (a restarted Redis forgot it): load it and run it.
                    if attempt:
                        raise
                    await conn.send_command("SCRIPT", "LOAD", self._sources[name])
                    await conn.read_response()
        except ResponseError:
            raise  # an answer: the connection is in a known state
        except BaseException:
            # A late answer would be read by the next command on this connection.
            with contextlib.suppress(Exception):
                await conn.disconnect()
            raise
        finally:
            await pool.release(conn)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _read_script(self, name: str, args: list[Any]) -> Any:
        """A script that writes nothing: any failure is just "unavailable"."""
        try:
            try:
                return await self._script(name, args)
            except RedisConnectionError:
                # A pooled connection that Redis dropped (CLIENT KILL, a restart): reading
                # again on a new one is harmless.
                return await self._script(name, args)
        except _NotSent as exc:
            raise BackendUnavailable(f"Redis at {self.url} is unreachable ({exc})") from exc
        except ResponseError as exc:
            raise BackendUnavailable(f"Redis at {self.url} refused: {exc}") from exc
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            raise BackendUnavailable(
                f"Redis at {self.url} did not answer ({type(exc).__name__}: {exc})"
            ) from exc

    # --- commands ----------------------------------------------------------------------

    async def append(self, drafts: list[Draft], idempotency_key: str | None = None) -> list[str]:
        unknown: Exception | None = None  # an earlier attempt may have been stored
        for _attempt in range(3):
            args: list[Any] = [
                self.prefix, EVENT_OVERHEAD_BYTES, self.history_size, self.history_bytes,
                self.max_channels, self.total_bytes, self.live_length, repr(round(time.time(), 3)),
                self.epoch, idempotency_key or "", int(IDEMPOTENCY_TTL * 1000), IDEMPOTENCY_KEYS,
            ]
            for draft in drafts:
                args += [draft.channel, draft.type, draft.data_json]
            try:
                reply = await self._script("append", args)
            except (_NotSent, ResponseError) as exc:
                if unknown is not None:
                    # This attempt did nothing, but the one before may have stored it.
                    raise self._unknown(unknown, idempotency_key) from exc
                if isinstance(exc, _NotSent):
                    raise BackendUnavailable(
                        f"Redis at {self.url} is unreachable ({exc}); nothing was published, "
                        "retry later"
                    ) from exc
                reason = _refusal(exc)
                if reason is None:
                    raise BackendUnavailable(f"Redis at {self.url} answered an error: {exc}") from exc
                raise BackendUnavailable(
                    f"Redis at {self.url} refused the request ({reason}); nothing was published, "
                    "retry later"
                ) from exc
            except (RedisError, OSError, asyncio.TimeoutError) as exc:
                if idempotency_key and isinstance(exc, RedisConnectionError) and unknown is None:
                    # The connection dropped (e.g. CLIENT KILL): with a key, asking again
                    # on a new connection is safe, and tells us what happened.
                    unknown = exc
                    continue
                raise self._unknown(exc, idempotency_key) from exc
            status = _text(reply[0])
            if status == "epoch":
                # Redis lost its data since we looked: take the new epoch (streams reset),
                # then publish in it.
                try:
                    await self._resync()
                except (RedisError, OSError, asyncio.TimeoutError) as exc:
                    raise BackendUnavailable(
                        f"Redis at {self.url} lost its data and cannot be resynced ({exc}); "
                        "nothing was published, retry later"
                    ) from exc
                continue
            first, count = int(reply[1]), int(reply[2])
            if status == "again" and count != len(drafts):
                raise IdempotencyConflict(
                    f"idempotency key {idempotency_key!r} was used on a request of {count} "
                    f"event(s), this one has {len(drafts)}: use a new key for a new request"
                )
            return [f"{self.epoch}-{first + i}" for i in range(count)]
        raise BackendUnavailable(f"Redis at {self.url} keeps changing epoch; nothing was published")

    def _unknown(self, exc: Exception, idempotency_key: str | None) -> OutcomeUnknown:
        tip = (
            "retry with the same idempotency key" if idempotency_key else
            "retrying may publish twice: send an idempotency key "
            "(X-SSE-Widgets-Idempotency-Key) to make retries safe"
        )
        return OutcomeUnknown(
            f"Redis at {self.url} did not answer ({type(exc).__name__}: {exc}); the outcome is "
            f"unknown: the events may or may not be published; {tip}"
        )

    async def replay(self, channels: ChannelSet, cursor: Cursor | None, since: ChannelSet) -> Replay:
        cursor_epoch = "" if cursor is None or cursor.epoch is None else cursor.epoch
        after = -1 if cursor is None else cursor.seq
        args: list[Any] = [self.prefix, EVENT_OVERHEAD_BYTES, cursor_epoch, after]
        args += [len(channels.patterns), *channels.patterns]
        args += [len(since.patterns), *since.patterns]
        reply = await self._read_script("replay_start", args)
        reset, epoch, upto = _text(reply[0]), _text(reply[1]), int(reply[2])
        todo = [
            [_text(reply[i]), int(reply[i + 1]), int(reply[i + 2])] for i in range(3, len(reply), 3)
        ]
        pages = _Pages(self, epoch, upto, todo)
        first = await pages.next()
        return Replay(first, reset or None, pages.next, upto)

    async def history(self, channel: str, after: Cursor | None, limit: int) -> Replay:
        check_channel(channel)
        replay = await self.replay(ChannelSet([channel]), after or Cursor(None, 0), ChannelSet([]))
        events = list(replay.events)
        while len(events) < limit and replay.more is not None:
            page = await replay.more()
            if not page:
                break
            events += page
        return Replay(events[:limit], replay.reset)

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
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
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
        for _ in range(2):
            try:
                seq = int(await self._script(
                    "delete", [self.prefix, EVENT_OVERHEAD_BYTES, self.live_length, channel, self.epoch]
                ))
            except _NotSent as exc:
                raise BackendUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
            except (RedisError, OSError, asyncio.TimeoutError) as exc:
                raise BackendUnavailable(f"Redis at {self.url} failed: {exc}") from exc
            if seq >= 0:
                # Subscribers here learn of it from the live stream, like those elsewhere.
                return seq > 0
            try:
                await self._resync()
            except (RedisError, OSError, asyncio.TimeoutError) as exc:
                raise BackendUnavailable(f"Redis at {self.url} failed: {exc}") from exc
        return False

    # --- the shared publish key --------------------------------------------------------

    async def _assert_keys(self) -> None:
        """Keep one current key for every server, and every key handed out valid.

        ``publish-key`` is set only if missing (the first server to get there wins after a
        data loss; the others adopt it for their new kernels), and ``publish-keys`` holds
        every key any server handed out, which all servers accept: kernels started before
        a data loss keep publishing, on every server.
        """
        if self.shared_key is None:
            return
        name, known = self._key("publish-key"), self._key("publish-keys")
        current = await self._commands.get(name)
        if current is None:
            await self._commands.set(name, self.shared_key, nx=True)
            current = await self._commands.get(name)
        mine = sorted(self.keys)
        present = await self._commands.smismember(known, mine)
        missing = [k for k, there in zip(mine, present) if not there]
        if missing:
            await self._commands.sadd(known, *missing)
        value = _text(current)
        if value != self.shared_key:
            log.warning("the servers on Redis at %s share another publish key now; new "
                        "kernels get it, the old one stays valid", self.url)
            self.shared_key = value
            self.keys.add(value)
            if self.on_key_change is not None:
                self.on_key_change(value)

    async def known_key(self, key: str) -> bool:
        """True if ``key`` is one that a server on this Redis handed out."""
        if any(hmac.compare_digest(key.encode(), k.encode()) for k in self.keys):
            return True
        if key in self._known_keys:
            return True
        if self.shared_key is None:
            return False
        try:
            found = bool(await self._commands.sismember(self._key("publish-keys"), key))
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            raise BackendUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        if found:
            if len(self._known_keys) >= _KNOWN_KEYS_LIMIT:
                self._known_keys.pop(next(iter(self._known_keys)))
            self._known_keys[key] = None
        return found

    async def all_keys(self) -> list[str]:
        """Every key a server on this Redis handed out (to verify tickets signed with one)."""
        keys = set(self.keys) | set(self._known_keys)
        if self.shared_key is not None:
            try:
                keys |= {_text(k) for k in await self._commands.smembers(self._key("publish-keys"))}
            except (RedisError, OSError, asyncio.TimeoutError) as exc:
                raise BackendUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        return sorted(keys)

    def stats(self) -> dict[str, Any]:
        return {
            "backend": "redis",
            "epoch": self.epoch,
            "last_seq": self._last_seq,
            "redis_connected": self._connected,
            "redis_outages": self._outages,
            "redis_data_losses": self._data_losses,
            "reader_gaps": self._lagged,
        }


class _Pages:
    """The rest of one replay, read from Redis a page at a time (``REPLAY_PAGE``)."""

    def __init__(self, backend: RedisBackend, epoch: str, upto: int, todo: list[list[Any]]):
        self.backend = backend
        self.epoch = epoch
        self.upto = upto
        #: [channel, seq read after, last seq] per channel still to read.
        self.todo = todo

    async def next(self) -> list[Event]:
        backend = self.backend
        if not self.todo:
            return []
        args: list[Any] = [
            backend.prefix, self.epoch, self.upto, backend.replay_window, backend.replay_page_bytes,
        ]
        for name, start, _last in self.todo:
            args += [name, start]
        reply = await backend._read_script("replay_page", args)
        status = _text(reply[0])
        if status == "end":
            self.todo = []
            return []
        if status == "gap":
            raise ReplayInterrupted("events this replay had still to send were dropped meanwhile")
        position = int(reply[1])
        events = []
        for i in range(2, len(reply), 5):
            name = self.todo[int(reply[i]) - 1][0]
            events.append(Event(
                self.epoch, int(reply[i + 1]), name, _text(reply[i + 2]), float(reply[i + 3]),
                _text(reply[i + 4]),
            ))
        for item in self.todo:
            item[1] = max(item[1], position)
        self.todo = [item for item in self.todo if item[2] > item[1]]
        if not events and self.todo:
            return await self.next()
        return events
