"""The hub: validates what publishers send, and fans events out to subscribers.

Fan-out is one pass per event-loop turn: events delivered by the backend collect in a
pending list, and one scheduled ``_flush`` writes, to each group of subscribers with the
same channel set, one chunk joined from the events' shared bytes. There is no coroutine
or queue per subscriber, and no per-subscriber encoding.

No subscriber can stop a pass. A sink that raises is a broken sink: it is ended (as a
slow one is) and the pass goes on to the others; the heartbeat loop logs whatever its
pass raised and keeps beating. Who removes a subscriber is fixed: the hub, when it ends
one (slow, broken, deleted, shutdown); otherwise whoever called ``subscribe``, once its
sink is done (the stream handler, in a ``finally``).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from ..protocol import (
    MAX_DATA_DEPTH,
    ProtocolError,
    check_channel,
    check_pattern,
    check_type,
    covers,
    data_depth_error,
)
from .backend import Backend, ChannelInfo, Replay, ReplayInterrupted
from .cancels import FINISHED, CancelBoard
from .encoding import encode_comment, encode_event
from .event import Cursor, Draft, Event
from .memory import MemoryBackend
from .patterns import ChannelSet
from .subscriber import Sink, Subscriber

log = logging.getLogger(__name__)

HEARTBEAT = encode_comment("ping")
_EVENT_FIELDS = frozenset({"channel", "type", "data"})
#: Room for the envelope around an event's data (id, channel, type, ts, field names).
_ENVELOPE_BYTES = 120
#: Fan-out may take this share of the loop's time, on average (see ``Hub.deliver``)...
FAN_OUT_SHARE = 0.5
#: ...and this many seconds of fan-out beyond it at once, before passes are spaced out.
FAN_OUT_BURST = 0.05


class InvalidEvent(ProtocolError):
    """An event a publisher sent breaks the contract; nothing of its request is published."""


class EventTooLarge(InvalidEvent):
    """An event's encoding is over ``max_event_bytes``."""


class HubFull(RuntimeError):
    """``max_subscribers`` streams are already open."""


class TaskFinished(RuntimeError):
    """A stop request for a task that has already ended."""


class HubClosed(RuntimeError):
    """The hub is shutting down."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes | str) -> Any:
    """Parse a request body as strict JSON (no NaN/Infinity); raise InvalidEvent if bad."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEvent(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except ValueError as exc:
        raise InvalidEvent(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        # The parser recurses per nesting level; far past MAX_DATA_DEPTH in any case.
        raise InvalidEvent(
            f"body is nested too deeply to parse; event data may be nested at most "
            f"{MAX_DATA_DEPTH} levels deep (MAX_DATA_DEPTH)"
        ) from None


class _Group:
    """Subscribers with the same channel set: one match and one join per flush."""

    __slots__ = ("channels", "subscribers")

    def __init__(self, channels: ChannelSet):
        self.channels = channels
        self.subscribers: dict[Subscriber, None] = {}


class Hub:
    """Channels, ids, history (through a backend) and fan-out to SSE subscribers.

    Parameters
    ----------
    backend
        Where ids and history live; in-memory by default.
    max_event_bytes
        Largest encoded event accepted from a publisher.
    max_subscribers
        Streams open at once; more are refused with ``HubFull``.
    subscriber_buffer_bytes
        Unsent bytes a subscriber may have queued before it is disconnected.
    heartbeat_interval
        Seconds between ``: ping`` comments on every stream (0 disables).
    """

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        max_event_bytes: int = 64 << 10,
        max_subscribers: int = 20_000,
        subscriber_buffer_bytes: int = 4 << 20,
        heartbeat_interval: float = 15.0,
    ):
        self.backend = backend if backend is not None else MemoryBackend()
        self.backend.bind(self)
        self.max_event_bytes = max_event_bytes
        self.max_subscribers = max_subscribers
        self.subscriber_buffer_bytes = subscriber_buffer_bytes
        self.heartbeat_interval = heartbeat_interval
        # Replay is written in pieces, waiting for each to drain, so that a long history
        # never passes the subscriber's buffer bound by itself.
        self.replay_chunk_bytes = max(1, min(64 << 10, subscriber_buffer_bytes // 2))
        self._groups: dict[tuple[str, ...], _Group] = {}
        self._subscriber_count = 0
        self._pending: list[Event] = []
        self._last_delivered = 0
        self._flush_handle: asyncio.Handle | asyncio.TimerHandle | None = None
        # Seconds of fan-out the loop may spend now, as of loop time _fan_out_credit_at.
        self._fan_out_credit = FAN_OUT_BURST
        self._fan_out_credit_at = 0.0
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._starting: asyncio.Future[None] | None = None
        self._closed = False
        self._published = 0
        self._deliveries = 0
        self._dropped_slow = 0
        self._dropped_broken = 0
        #: Stop requests waiting for their task's process (see ``cancels``).
        self.cancels = CancelBoard()

    @property
    def epoch(self) -> str:
        return self.backend.epoch

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start the backend and the heartbeat, once; safe to await from every handler."""
        starting = self._starting
        failed = starting is not None and starting.done() and (
            starting.cancelled() or starting.exception() is not None
        )
        if starting is None or failed:
            # A failed start (e.g. Redis unreachable at boot) is tried again next time.
            # In a context of its own: a task keeps its context, and the context of the
            # request that started the hub (a web handler, in a server) would live as long.
            fresh = contextvars.Context()
            self._starting = starting = fresh.run(asyncio.ensure_future, self._start())
        await asyncio.shield(starting)

    async def _start(self) -> None:
        await self.backend.start()
        if self.heartbeat_interval > 0:
            self._heartbeat_task = asyncio.create_task(self._heartbeat())

    async def close(self) -> None:
        """End every stream cleanly (browsers reconnect later) and stop the backend."""
        self._closed = True
        self.cancels.close()
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        self._flush()
        for subscriber in list(self._subscribers()):
            self._end(subscriber, "shutdown", abort=False)
        await self.backend.close()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                self.heartbeat()
            except Exception:  # the loop must outlive any one pass
                log.exception("sse_widgets: a heartbeat pass failed; the next one runs as usual")

    def heartbeat(self) -> None:
        """Write one ``: ping`` comment to every stream not in the middle of its replay."""
        for subscriber in [s for s in self._subscribers() if s.holding is None]:
            self._write(subscriber, HEARTBEAT)

    def _write(self, subscriber: Subscriber, data: bytes) -> bool:
        """Write to one subscriber; end it if it is slow or its sink is broken. True if written."""
        try:
            if subscriber.sink.write(data):
                return True
        except Exception:  # noqa: BLE001 - any sink failure means "drop this one"; logged there
            self._broken(subscriber)
            return False
        self._end(subscriber, "slow", abort=True)
        return False

    def _broken(self, subscriber: Subscriber) -> None:
        self._dropped_broken += 1
        log.exception("sse_widgets: dropping %r, its sink failed", subscriber)
        self._end(subscriber, "broken", abort=True)

    # --- publishing --------------------------------------------------------------------

    def validate(self, items: object) -> list[Draft]:
        """Check a parsed body (one event or a list) and return drafts, or raise InvalidEvent.

        All events are checked before any is published, so a request is all or nothing.
        """
        if isinstance(items, Mapping):
            items = [items]
        if not isinstance(items, list):
            raise InvalidEvent(
                f"expected an event object or a list of them, not {type(items).__name__}"
            )
        if not items:
            raise InvalidEvent("expected at least one event, got an empty list")
        many = len(items) > 1
        return [self._draft(item, f"event {i}: " if many else "") for i, item in enumerate(items)]

    def _draft(self, item: object, where: str) -> Draft:
        if not isinstance(item, Mapping):
            raise InvalidEvent(f"{where}an event must be an object, not {type(item).__name__}")
        unknown = set(item) - _EVENT_FIELDS
        if unknown:
            raise InvalidEvent(
                f"{where}unknown field(s) {sorted(unknown)}; an event has channel, type and data"
            )
        if "channel" not in item:
            raise InvalidEvent(f"{where}missing 'channel'")
        try:
            channel = check_channel(item["channel"])
            event_type = check_type(item.get("type", "message"))
        except ProtocolError as exc:
            raise InvalidEvent(f"{where}{exc}") from None
        too_deep = data_depth_error(item.get("data"))
        if too_deep is not None:
            raise InvalidEvent(f"{where}'data' on {channel!r}: {too_deep}")
        try:
            data_json = json.dumps(
                item.get("data"), ensure_ascii=False, separators=(",", ":"), allow_nan=False
            )
            size = len(data_json.encode("utf-8")) + len(channel) + len(event_type) + _ENVELOPE_BYTES
        except UnicodeEncodeError:
            raise InvalidEvent(f"{where}'data' holds an unpaired UTF-16 surrogate") from None
        except (TypeError, ValueError) as exc:
            raise InvalidEvent(f"{where}'data' cannot be encoded as JSON: {exc}") from None
        if size > self.max_event_bytes:
            raise EventTooLarge(
                f"{where}event on {channel!r} is about {size} bytes encoded, over the limit of "
                f"{self.max_event_bytes} (max_event_bytes)"
            )
        return Draft(channel, event_type, data_json)

    async def publish(self, items: object, idempotency_key: str | None = None) -> list[str]:
        """Validate and publish one event or a list of them; return their ids in order.

        A retry that carries the ``idempotency_key`` of a request already stored publishes
        nothing and gets that request's ids (see ``Backend.append``).
        """
        drafts = self.validate(items)
        if self._closed:
            raise HubClosed("the hub is shutting down")
        ids = await self.backend.append(drafts, idempotency_key)
        self._published += len(ids)
        return ids

    def deliver(self, events: list[Event]) -> None:
        """Backend callback: queue live events for the next fan-out pass.

        The pass runs on the next loop turn while fan-out stays within its budget: a
        token bucket that earns ``FAN_OUT_SHARE`` (half) of the loop's time and holds at
        most ``FAN_OUT_BURST`` (50 ms), and that each pass pays for with its duration.
        In debt, the pass waits until the debt is earned back, so that fan-out takes at
        most about half of the loop's time. Light load gets the lowest latency, and one
        long pass (the process preempted, a garbage collection) costs the next batch
        nothing; sustained heavy load gets fewer, larger writes (one ``send`` per
        subscriber carries more events), which is what keeps a thousand streams fed when
        the kernel-level cost of a send dominates.
        """
        self.cancels.observe(events)
        self._pending.extend(events)
        self._last_delivered = events[-1].seq
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            debt = -self._earn_fan_out_credit(loop.time())
            if debt > 0:
                self._flush_handle = loop.call_later(debt / FAN_OUT_SHARE, self._flush)
            else:
                self._flush_handle = loop.call_soon(self._flush)

    def _earn_fan_out_credit(self, now: float) -> float:
        """The fan-out credit at loop time ``now`` (negative: in debt)."""
        earned = (now - self._fan_out_credit_at) * FAN_OUT_SHARE
        self._fan_out_credit = min(FAN_OUT_BURST, self._fan_out_credit + earned)
        self._fan_out_credit_at = now
        return self._fan_out_credit

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        events, self._pending = self._pending, []
        if not events:
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        self._earn_fan_out_credit(started)
        self._fan_out(events)
        self._fan_out_credit -= loop.time() - started

    def _fan_out(self, events: list[Event]) -> None:
        everything: bytes | None = None
        slow: list[Subscriber] = []
        broken: list[Subscriber] = []
        for group in self._groups.values():
            matches = group.channels.matches
            matched = [e for e in events if matches(e.channel)]
            if not matched:
                continue
            if len(matched) == len(events):
                if everything is None:
                    everything = b"".join([e.sse for e in events])
                chunk = everything
            else:
                chunk = b"".join([e.sse for e in matched])
            first_seq = matched[0].seq
            for subscriber in group.subscribers:
                if subscriber.holding is not None:
                    if subscriber.floor < first_seq:
                        subscriber.holding.extend(matched)
                        subscriber.holding_bytes += len(chunk)
                    else:
                        # Its replay already carries these (a lagging reader delivers them
                        # late): holding them would only count against its bound.
                        fresh = [e for e in matched if e.seq > subscriber.floor]
                        subscriber.holding.extend(fresh)
                        subscriber.holding_bytes += sum(len(e.sse) for e in fresh)
                    if subscriber.holding_bytes > self.subscriber_buffer_bytes and subscriber.floor >= 0:
                        slow.append(subscriber)
                    continue
                data = chunk
                if subscriber.floor >= first_seq:
                    # Only right after a replay: skip what the replay already carried.
                    data = b"".join([e.sse for e in matched if e.seq > subscriber.floor])
                    if not data:
                        continue
                try:
                    if not subscriber.sink.write(data):
                        slow.append(subscriber)
                except Exception:  # noqa: BLE001 - logged by _broken, after the pass
                    broken.append(subscriber)
            self._deliveries += len(matched) * len(group.subscribers)
        # Ended after the loop: ending one changes the group being iterated.
        for subscriber in slow:
            self._end(subscriber, "slow", abort=True)
        for subscriber in broken:
            self._broken(subscriber)

    # --- subscribing -------------------------------------------------------------------

    async def subscribe(
        self,
        channels: Iterable[str],
        sink: Sink,
        cursor: str | None = None,
        since: Iterable[str] = (),
        browser: str | None = None,
    ) -> Subscriber:
        """Open a stream: retained events after ``cursor``, then live ones, no gap, no repeat.

        ``cursor`` is an event id, ``"0"`` for everything retained, or None for live only;
        channels matching a ``since`` pattern replay from their oldest retained event. If
        the cursor is from another epoch, or events after it were dropped, a ``reset``
        event comes first and then everything retained. ``browser`` names the browser the
        stream is for, so that :meth:`viewers` counts browsers rather than streams.
        """
        wanted = ChannelSet(channels)
        if not wanted:
            raise ProtocolError("subscribe to at least one channel (channel=NAME)")
        position = None if cursor is None else Cursor.parse(cursor)
        from_oldest = ChannelSet(since, "since")
        if self._closed:
            raise HubClosed("the hub is shutting down")
        if self._subscriber_count >= self.max_subscribers:
            raise HubFull(f"{self.max_subscribers} streams are open, the most allowed")
        subscriber = Subscriber(wanted, sink, browser)
        delivered_at_open = self._last_delivered
        self._add(subscriber)
        # Until the backend says what its replay covers, what arrives is held uncounted
        # (floor -1): a lagging reader may deliver events that the replay carries anyway.
        subscriber.floor = -1
        try:
            # Registered first, replayed second: whatever is appended from here on is
            # either in the replay or held, and the seq filter below removes the overlap.
            replay = await self.backend.replay(wanted, position, from_oldest)
            covered = replay.upto if position is not None and replay.upto is not None else 0
            # Every matching event up to `covered` is in the replay: hold only later ones.
            subscriber.floor = covered
            held = subscriber.holding or []
            if covered and held:
                subscriber.holding = held = [e for e in held if e.seq > covered]
                subscriber.holding_bytes = sum(len(e.sse) for e in held)
            if subscriber.holding_bytes > self.subscriber_buffer_bytes:
                self._end(subscriber, "slow", abort=True)
                return subscriber
            seen = max(covered, await self._write_replay(subscriber, replay))
        except BaseException:
            self.unsubscribe(subscriber)
            raise
        if subscriber.closed:
            return subscriber
        if position is None:
            # Live only: nothing the hub had already received when the stream opened.
            seen = max(seen, delivered_at_open)
        elif position.epoch == self.epoch and replay.reset is None:
            seen = max(seen, position.seq)
        held = subscriber.holding or []
        subscriber.holding = None
        subscriber.floor = seen
        fresh = [e.sse for e in held if e.seq > seen]
        if held:
            subscriber.floor = max(subscriber.floor, held[-1].seq)
        if fresh:
            self._write(subscriber, b"".join(fresh))
        return subscriber

    async def _write_replay(self, subscriber: Subscriber, replay: Replay) -> int:
        """Write the replay, page by page, in pieces that each wait for the socket to drain;
        return the seq of the last event written (0 if none)."""
        sink = subscriber.sink
        if replay.reset is not None:
            notice = json.dumps({"reason": replay.reset, "epoch": self.epoch})
            if not self._write(subscriber, encode_event(notice, event="reset")):
                return 0
        piece: list[bytes] = []
        size = 0
        last = 0
        page = replay.events
        while page:
            for event in page:
                piece.append(event.sse)
                size += len(event.sse)
                if size >= self.replay_chunk_bytes:
                    if not self._write(subscriber, b"".join(piece)):
                        return last
                    piece, size = [], 0
                    await sink.drain()
                    if subscriber.closed:
                        return last
            last = page[-1].seq
            if replay.more is None:
                break
            # The next page is read only now, once this one is mostly written: a stream
            # that does not read holds its socket buffer plus one page.
            page = []
            try:
                page = await replay.more()
            except ReplayInterrupted:
                if piece and not self._write(subscriber, b"".join(piece)):
                    return last
                # Cleanly: the browser reconnects with its cursor and gets a reset.
                self._end(subscriber, "gap", abort=False)
                return last
            if subscriber.closed:
                return last
        if piece:
            self._write(subscriber, b"".join(piece))
        return last

    def _add(self, subscriber: Subscriber) -> None:
        key = subscriber.channels.patterns
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(subscriber.channels)
        else:
            # Share the group's ChannelSet, and so its match cache.
            subscriber.channels = group.channels
        group.subscribers[subscriber] = None
        self._subscriber_count += 1

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a stream (its connection closed); safe to call more than once."""
        key = subscriber.channels.patterns
        group = self._groups.get(key)
        if group is None or subscriber not in group.subscribers:
            return
        del group.subscribers[subscriber]
        self._subscriber_count -= 1
        subscriber.closed = True
        if not group.subscribers:
            del self._groups[key]

    def _end(self, subscriber: Subscriber, reason: str, abort: bool) -> None:
        if subscriber.closed:
            return
        subscriber.reason = reason
        if reason == "slow":
            self._dropped_slow += 1
        self.unsubscribe(subscriber)
        try:
            subscriber.sink.close(abort=abort)
        except Exception:
            log.exception("sse_widgets: closing the sink of %r failed", subscriber)

    def _subscribers(self) -> Iterable[Subscriber]:
        for group in self._groups.values():
            yield from group.subscribers

    # --- channels ----------------------------------------------------------------------

    async def channels(self) -> list[dict[str, Any]]:
        """Each channel with retained events: count, bytes, first and last id, subscribers."""
        infos: list[ChannelInfo] = await self.backend.channels()
        return [
            {
                "name": info.name,
                "retained": info.retained,
                "bytes": info.bytes,
                "first_id": info.first_id,
                "last_id": info.last_id,
                "subscribers": sum(
                    len(g.subscribers) for g in self._groups.values() if g.channels.matches(info.name)
                ),
                "browsers": self._browsers(
                    g for g in self._groups.values() if g.channels.matches(info.name)
                ),
            }
            for info in infos
        ]

    @staticmethod
    def _browsers(groups: Iterable[_Group]) -> int:
        """Distinct browsers among the groups' streams; a stream that names none counts alone."""
        named: set[str] = set()
        unnamed = 0
        for group in groups:
            for subscriber in group.subscribers:
                if subscriber.browser is None:
                    unnamed += 1
                else:
                    named.add(subscriber.browser)
        return len(named) + unnamed

    def viewers(self, pattern: str | Iterable[str]) -> int:
        """How many browsers watch ``pattern`` (a channel name or ``*`` pattern), or any of several.

        A stream watches a channel name its patterns match; it watches a ``*`` pattern when
        it asked for that very pattern, or for one that covers it or that it covers
        (``train/*`` is watched by a stream of ``train/loss`` and by one of ``*``).
        """
        wanted = [check_pattern(p) for p in ([pattern] if isinstance(pattern, str) else pattern)]

        def watches(group: _Group) -> bool:
            for one in wanted:
                if "*" not in one and group.channels.matches(one):
                    return True
                if "*" in one and any(covers(one, p) or covers(p, one) for p in group.channels.patterns):
                    return True
            return False

        return self._browsers(g for g in self._groups.values() if watches(g))

    async def history(self, channel: str, after: str | None = None, limit: int = 1000) -> Replay:
        """One channel's retained events after ``after`` (an id, or None for all), oldest first."""
        check_channel(channel)
        if not 1 <= limit <= 100_000:
            raise ProtocolError(f"limit must be between 1 and 100000, not {limit}")
        position = None if after is None else Cursor.parse(after)
        return await self.backend.history(channel, position, limit)

    async def delete(self, channel: str) -> bool:
        """Drop a channel's history; its open streams end and reconnect to a ``gap`` reset."""
        check_channel(channel)
        return await self.backend.delete(channel)

    # --- stop requests -----------------------------------------------------------------

    async def task_status(self, channel: str, task: str) -> str | None:
        """The status of ``task``'s newest ``progress`` event on ``channel``; None if none retained.

        Read from the channel's history (the one record every server of a shared backend
        has), newest first; a click is rare enough for a scan of one channel's history.
        """
        check_channel(channel)
        replay = await self.backend.history(channel, None, 100_000)
        for event in reversed(replay.events):
            if event.type != "progress":
                continue
            data = event.to_dict().get("data")
            if isinstance(data, dict) and data.get("task") == task:
                status = data.get("status")
                return status if isinstance(status, str) else "running"
        return None

    async def cancel(self, channel: str, task: str, by: str) -> str:
        """Ask the process running ``task`` on ``channel`` to stop it.

        Returns ``"stopping"`` (a ``cancel`` event was published), or ``"already stopping"``
        (one is pending: a second click changes nothing). Raises ``LookupError`` for a task
        with no retained progress, ``TaskFinished`` for one that has ended.
        """
        status = await self.task_status(channel, task)
        if status is None:
            raise LookupError(f"no task {task!r} on channel {channel!r} (none retained)")
        if status in FINISHED:
            raise TaskFinished(f"task {task!r} on channel {channel!r} has already ended ({status})")
        if self.cancels.pending(channel, task):
            return "already stopping"
        await self.publish({"channel": channel, "type": "cancel", "data": {"task": task, "by": by}})
        return "stopping"

    def deleted(self, channel: str) -> None:
        """Backend callback: end the streams that read ``channel`` (after what is pending),
        so that they reconnect, and their cursor, now older than the deletion, resets."""
        self._flush()
        for subscriber in [s for s in self._subscribers() if s.channels.matches(channel)]:
            self._end(subscriber, "deleted", abort=False)

    def interrupted(self, reason: str) -> None:
        """Backend callback: live delivery broke; end every stream so that it replays."""
        self._flush()
        for subscriber in list(self._subscribers()):
            self._end(subscriber, reason, abort=False)

    def stats(self) -> dict[str, Any]:
        """Counters: streams, events published, deliveries, slow streams cut, history."""
        return {
            "subscribers": self._subscriber_count,
            "browsers": self._browsers(self._groups.values()),
            "subscriber_groups": len(self._groups),
            "published": self._published,
            "deliveries": self._deliveries,
            "dropped_slow": self._dropped_slow,
            "dropped_broken": self._dropped_broken,
            **self.cancels.stats(),
            **self.backend.stats(),
        }


