"""The hub (sse_widgets/hub/hub.py): hand-over, patterns, resets, slow subscribers, input."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from sse_client import ParsedEvent, SSEParser

from sse_widgets.hub import (
    Backend,
    BufferSink,
    EventTooLarge,
    Hub,
    HubFull,
    IdempotencyConflict,
    InvalidEvent,
    MemoryBackend,
)
from sse_widgets.protocol import ProtocolError


def parse(sink: BufferSink) -> list[ParsedEvent]:
    return SSEParser().feed(sink.data)


def seqs(events: list[ParsedEvent]) -> list[int]:
    return [int(e.id.rsplit("-", 1)[1]) for e in events if e.type == "message"]  # type: ignore[union-attr]


@pytest.fixture(params=["memory", "redis"])
def make_hub(request: pytest.FixtureRequest, io_loop: Any) -> Iterator[Callable[..., Awaitable[Hub]]]:
    """Build hubs on the in-memory backend and on a real Redis (the same suite for both)."""
    hubs: list[Hub] = []

    async def make(**kwargs: Any) -> Hub:
        names = ("history_size", "history_bytes", "max_channels", "total_bytes")
        bounds = {k: kwargs.pop(k) for k in names if k in kwargs}
        if request.param == "memory":
            backend: Backend = MemoryBackend(**bounds)
        else:
            from sse_widgets.hub.redis_streams import RedisBackend

            url = request.getfixturevalue("redis_server").url
            backend = RedisBackend(url, prefix=f"test-{uuid.uuid4().hex}:", **bounds)
            # Small pages, so that every replay here is read from Redis in many of them.
            backend.replay_page_bytes = 600
            backend.replay_window = 37
        hub = Hub(backend, heartbeat_interval=0, **kwargs)
        await hub.start()
        hubs.append(hub)
        return hub

    yield make

    async def close_all() -> None:
        await asyncio.gather(*(hub.close() for hub in hubs))

    io_loop.run_sync(close_all)


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for live delivery, which is asynchronous with Redis (its reader)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.002)
    await settle()


async def caught_up(hub: Hub, event_id: str) -> None:
    """Wait until the hub has received ``event_id`` from its backend."""
    seq = int(event_id.rsplit("-", 1)[1])
    await eventually(lambda: hub.stats()["last_seq"] >= seq)


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_replay_then_live_has_no_gap_and_no_duplicate_under_concurrent_publishing(make_hub: Any) -> None:
    hub = await make_hub(subscriber_buffer_bytes=1 << 20)
    hub.replay_chunk_bytes = 512  # many drain waits while publishing goes on
    total = 3000
    rng = random.Random(7)

    async def publisher() -> None:
        sent = 0
        while sent < total:
            size = rng.randint(1, 40)
            batch = [{"channel": rng.choice(["a", "b", "c"]), "data": sent + i} for i in range(min(size, total - sent))]
            await hub.publish(batch)
            sent += len(batch)
            await asyncio.sleep(0)

    class SlowSink(BufferSink):
        async def drain(self) -> None:
            for _ in range(rng.randint(1, 4)):
                await asyncio.sleep(0)

    async def subscriber(delay: int, cursor_from_first: bool) -> list[int]:
        for _ in range(delay):
            await asyncio.sleep(0)
        # A subscriber that saw some events and comes back with the last id it saw.
        sink = SlowSink()
        if cursor_from_first:
            first = BufferSink()
            sub = await hub.subscribe(["a", "b", "c"], first, cursor="0")
            for _ in range(rng.randint(1, 30)):
                await asyncio.sleep(0)
            hub.unsubscribe(sub)
            seen = seqs(parse(first))
            cursor = f"{hub.epoch}-{seen[-1]}" if seen else "0"
            await hub.subscribe(["a", "b", "c"], sink, cursor=cursor)
            await finish.wait()
            await settle()
            return seen + seqs(parse(sink))
        await hub.subscribe(["*"], sink, cursor="0")
        await finish.wait()
        await settle()
        return seqs(parse(sink))

    finish = asyncio.Event()
    tasks = [asyncio.create_task(subscriber(d, d % 2 == 0)) for d in range(0, 400, 13)]
    await publisher()
    await eventually(lambda: hub.stats()["last_seq"] >= total)
    await settle()
    finish.set()
    for result in await asyncio.gather(*tasks):
        assert result == list(range(1, total + 1))


async def test_live_only_subscriber_gets_exactly_what_follows(make_hub: Any) -> None:
    hub = await make_hub()
    await caught_up(hub, (await hub.publish({"channel": "a", "data": 1}))[0])
    sink = BufferSink()
    await hub.subscribe(["a"], sink)
    await hub.publish([{"channel": "a", "data": 2}, {"channel": "a", "data": 3}])
    await eventually(lambda: len(parse(sink)) >= 2)
    assert [e.json["data"] for e in parse(sink)] == [2, 3]


async def test_patterns_and_multiple_channels(make_hub: Any) -> None:
    hub = await make_hub()
    jobs, mixed, exact = BufferSink(), BufferSink(), BufferSink()
    await hub.subscribe(["jobs/*"], jobs)
    await hub.subscribe(["train", "jobs/*/done"], mixed)
    await hub.subscribe(["jobs"], exact)
    names = ["jobs/a", "jobs/b/done", "jobs", "train", "jobsx", "other/jobs/a"]
    ids = await hub.publish([{"channel": n} for n in names])
    await caught_up(hub, ids[-1])
    assert [e.json["channel"] for e in parse(jobs)] == ["jobs/a", "jobs/b/done"]
    assert [e.json["channel"] for e in parse(mixed)] == ["jobs/b/done", "train"]
    assert [e.json["channel"] for e in parse(exact)] == ["jobs"]


async def test_history_bounded_by_count_and_bytes(make_hub: Any) -> None:
    hub = await make_hub(history_size=5, history_bytes=10_000)
    await hub.publish([{"channel": "a", "data": i} for i in range(12)])
    replay = await hub.history("a")
    assert [e.to_dict()["data"] for e in replay.events] == [7, 8, 9, 10, 11]
    big = "x" * 1500
    ids = await hub.publish([{"channel": "b", "data": big} for _ in range(10)])
    retained = (await hub.history("b")).events
    # The newest events whose cost fits in history_bytes, all of them that fit.
    cost = retained[0].cost
    assert 1500 < cost <= 10_000 and all(e.cost == cost for e in retained)
    assert [e.id for e in retained] == ids[-(10_000 // cost):]
    assert sum(c["retained"] for c in await hub.channels()) == 5 + len(retained)


async def test_total_bounds_drop_least_recent_channel_and_old_cursor_resets(make_hub: Any) -> None:
    hub = await make_hub(history_size=100, history_bytes=4000, max_channels=2, total_bytes=4000)
    ids = await hub.publish({"channel": "old", "data": 0})
    await hub.publish({"channel": "mid", "data": 1})
    await hub.publish({"channel": "new", "data": 2})  # third channel: "old" is dropped
    assert [c["name"] for c in await hub.channels()] == ["mid", "new"]
    sink = BufferSink()
    await hub.subscribe(["old", "new"], sink, cursor=f"{hub.epoch}-0")
    events = parse(sink)
    assert events[0].type == "reset" and events[0].json["reason"] == "gap"
    assert [e.json["data"] for e in events[1:]] == [2]
    # A cursor at the dropped channel's last event lost nothing: no reset.
    ok = BufferSink()
    await hub.subscribe(["old", "new"], ok, cursor=ids[0])
    assert [e.type for e in parse(ok)] == ["message"]


async def test_reset_on_foreign_epoch_and_on_future_cursor(make_hub: Any) -> None:
    hub = await make_hub()
    await hub.publish([{"channel": "a", "data": i} for i in range(3)])
    for cursor in ["zz99-2", f"{hub.epoch}-99"]:
        sink = BufferSink()
        await hub.subscribe(["a"], sink, cursor=cursor)
        events = parse(sink)
        assert events[0].type == "reset"
        assert events[0].json == {"reason": "epoch", "epoch": hub.epoch}
        assert [e.json["data"] for e in events[1:]] == [0, 1, 2]


async def test_reset_on_gap_after_trimming(make_hub: Any) -> None:
    hub = await make_hub(history_size=3)
    ids = await hub.publish([{"channel": "a", "data": i} for i in range(3)])
    await hub.publish([{"channel": "a", "data": i} for i in range(3, 6)])
    sink = BufferSink()
    await hub.subscribe(["a"], sink, cursor=ids[0])
    events = parse(sink)
    assert events[0].type == "reset" and events[0].json["reason"] == "gap"
    assert [e.json["data"] for e in events[1:]] == [3, 4, 5]
    # A cursor inside what is retained continues without a reset.
    fine = BufferSink()
    await hub.subscribe(["a"], fine, cursor=f"{hub.epoch}-4")
    assert [e.json["data"] for e in parse(fine)] == [4, 5]


async def test_delete_ends_streams_and_their_cursor_then_resets(make_hub: Any) -> None:
    hub = await make_hub()
    ids = await hub.publish([{"channel": "a", "data": 1}, {"channel": "b", "data": 2}])
    sink = BufferSink()
    sub = await hub.subscribe(["a", "b"], sink, cursor="0")
    other = BufferSink()
    await hub.subscribe(["b"], other)
    assert await hub.delete("a") is True
    await eventually(lambda: sink.closed)
    assert sink.closed and not sink.aborted and sub.reason == "deleted"
    assert not other.closed
    again = BufferSink()
    await hub.subscribe(["a", "b"], again, cursor=ids[-1])
    events = parse(again)
    assert [e.type for e in events] == ["reset", "message"]
    assert events[1].json["channel"] == "b"
    assert await hub.delete("a") is False


async def test_since_replays_new_channel_from_oldest_despite_later_cursor(make_hub: Any) -> None:
    hub = await make_hub()
    await hub.publish({"channel": "chart", "data": "old"})
    ids = await hub.publish({"channel": "log", "data": "seen"})
    await hub.publish({"channel": "log", "data": "missed"})
    sink = BufferSink()
    await hub.subscribe(["log", "chart"], sink, cursor=ids[0], since=["chart"])
    assert [e.json["data"] for e in parse(sink)] == ["old", "missed"]


async def test_stalled_subscriber_is_cut_off_while_others_keep_receiving(make_hub: Any) -> None:
    hub = await make_hub(subscriber_buffer_bytes=20_000)
    stalled = BufferSink(limit=20_000, stalled=True)
    healthy = BufferSink()
    stalled_sub = await hub.subscribe(["a"], stalled)
    await hub.subscribe(["a"], healthy)
    for i in range(200):
        ids = await hub.publish({"channel": "a", "data": "x" * 200 + str(i)})
        await asyncio.sleep(0)
    await caught_up(hub, ids[0])
    await eventually(lambda: len(parse(healthy)) == 200)
    assert stalled.closed and stalled.aborted and stalled_sub.reason == "slow"
    assert len(parse(healthy)) == 200
    assert hub.stats()["dropped_slow"] == 1
    assert hub.stats()["subscribers"] == 1


class BrokenSink(BufferSink):
    """A sink whose writes raise, as a socket-less stream's did (AssertionError)."""

    def write(self, data: bytes) -> bool:
        raise AssertionError("no socket")


async def test_broken_sink_is_dropped_and_never_stops_fan_out_or_heartbeat() -> None:
    hub = Hub(heartbeat_interval=0.01)
    await hub.start()
    before, after = BufferSink(), BufferSink()
    await hub.subscribe(["a"], before)
    broken = await hub.subscribe(["a"], BrokenSink())  # registered between the two healthy ones
    await hub.subscribe(["a"], after)
    await hub.publish({"channel": "a", "data": 1})
    await eventually(lambda: len(parse(before)) == 1 and len(parse(after)) == 1)
    assert broken.closed and broken.reason == "broken"
    assert hub.stats()["subscribers"] == 2 and hub.stats()["dropped_broken"] == 1
    # The heartbeat outlives a pass that raises, whatever raised.
    counted = after.data.count(b": ping")
    await hub.subscribe(["b"], BrokenSink())
    await eventually(lambda: after.data.count(b": ping") >= counted + 3)
    assert hub.stats()["subscribers"] == 2
    await hub.close()


async def test_long_replay_waits_for_drain_instead_of_overflowing(make_hub: Any) -> None:
    hub = await make_hub(subscriber_buffer_bytes=8_000)
    await hub.publish([{"channel": "a", "data": "y" * 300} for _ in range(100)])  # ~40 kB

    class WatchedSink(BufferSink):
        """Says when the hub waits for it to drain."""

        def __init__(self) -> None:
            super().__init__(limit=8_000, stalled=True)
            self.waited = asyncio.Event()

        async def drain(self) -> None:
            self.waited.set()
            await super().drain()

    sink = WatchedSink()
    task = asyncio.create_task(hub.subscribe(["a"], sink, cursor="0"))
    await asyncio.wait_for(sink.waited.wait(), 10)
    # The replay waits for the stalled sink (until resume), instead of overflowing it.
    assert not task.done() and not sink.closed
    assert 0 < len(parse(sink)) < 100
    sink.resume()
    await task
    assert len(parse(sink)) == 100 and not sink.closed


async def test_heartbeat_is_a_comment_that_never_moves_the_cursor() -> None:
    hub = Hub(heartbeat_interval=0.01)
    await hub.start()
    sink = BufferSink()
    await hub.subscribe(["a"], sink)
    await hub.publish({"channel": "a"})

    def pings() -> int:
        parser = SSEParser()
        parser.feed(sink.data)
        return parser.comments.count("ping")

    await eventually(lambda: pings() >= 2)
    parser = SSEParser()
    events = parser.feed(sink.data)
    assert len(events) == 1 and parser.comments.count("ping") >= 2
    assert parser.last_event_id == events[0].id
    await hub.close()


async def test_close_ends_streams_cleanly(make_hub: Any) -> None:
    hub = await make_hub()
    sink = BufferSink()
    await hub.subscribe(["a"], sink)
    await hub.close()
    assert sink.closed and not sink.aborted


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("text", "expected an event object or a list"),
        ([], "at least one event"),
        ([{"channel": "ok"}, {"channel": "bad name"}], "event 1: bad channel name"),
        ([{"channel": "ok"}, 5], "event 1: an event must be an object"),
        ({"channel": 5}, "channel name must be a string"),
        ({"data": 1}, "missing 'channel'"),
        ({"channel": "a", "type": "re\nset"}, "bad event type"),
        ({"channel": "a", "type": "reset"}, "reserved"),
        ({"channel": "a", "type": 3}, "event type must be a string"),
        ({"channel": "a*"}, "bad channel name"),
        ({"channel": "a", "colour": 1}, "unknown field"),
        ({"channel": "a", "data": "\ud800"}, "unpaired UTF-16 surrogate"),
    ],
)
async def test_bad_events_are_refused_whole_with_a_message(make_hub: Any, body: object, message: str) -> None:
    hub = await make_hub()
    before = hub.stats()["last_seq"]
    with pytest.raises(InvalidEvent, match=message):
        await hub.publish(body)
    assert hub.stats()["last_seq"] == before


async def test_event_over_max_bytes_is_refused(make_hub: Any) -> None:
    hub = await make_hub(max_event_bytes=1000)
    with pytest.raises(EventTooLarge, match="over the limit of 1000"):
        await hub.publish([{"channel": "a"}, {"channel": "a", "data": "z" * 2000}])
    assert hub.stats()["last_seq"] == 0
    assert len(await hub.publish({"channel": "a", "data": "z" * 500})) == 1


async def test_subscribe_refuses_bad_input_and_too_many(make_hub: Any) -> None:
    hub = await make_hub(max_subscribers=1)
    with pytest.raises(ProtocolError, match="bad cursor"):
        await hub.subscribe(["a"], BufferSink(), cursor="nope")
    with pytest.raises(ProtocolError, match="at least one channel"):
        await hub.subscribe([], BufferSink())
    with pytest.raises(ProtocolError, match="bad channel pattern"):
        await hub.subscribe(["a b"], BufferSink())
    await hub.subscribe(["a"], BufferSink())
    with pytest.raises(HubFull):
        await hub.subscribe(["a"], BufferSink())
    assert hub.stats()["subscribers"] == 1


async def test_one_encoding_shared_by_every_subscriber(make_hub: Any) -> None:
    hub = await make_hub()
    sinks = [BufferSink() for _ in range(5)]
    for sink in sinks:
        await hub.subscribe(["a"], sink)
    ids = await hub.publish([{"channel": "a", "data": {"k": [1, 2]}}, {"channel": "a"}])
    await caught_up(hub, ids[-1])
    chunks = [sink.chunks[0] for sink in sinks]
    assert all(chunk is chunks[0] for chunk in chunks)
    envelope = json.loads(parse(sinks[0])[0].data)
    assert set(envelope) == {"id", "channel", "type", "ts", "data"}


async def test_retry_with_the_same_idempotency_key_is_stored_once_with_the_original_ids(make_hub: Any) -> None:
    hub = await make_hub()
    sink = BufferSink()
    await hub.subscribe(["idem"], sink)
    batch = [{"channel": "idem", "data": i} for i in range(3)]
    first = await hub.publish(batch, idempotency_key="k-1")
    again = await hub.publish(batch, idempotency_key="k-1")
    other = await hub.publish(batch, idempotency_key="k-2")
    assert again == first and other != first
    await caught_up(hub, other[-1])
    assert [e.id for e in parse(sink)] == first + other
    replay = await hub.history("idem")
    assert [e.id for e in replay.events] == first + other


async def test_idempotency_key_reused_on_a_different_request_is_refused(make_hub: Any) -> None:
    hub = await make_hub()
    await hub.publish([{"channel": "idem", "data": 1}], idempotency_key="k")
    with pytest.raises(IdempotencyConflict, match="use a new key"):
        await hub.publish([{"channel": "idem", "data": 1}, {"channel": "idem", "data": 2}], idempotency_key="k")
    assert len((await hub.history("idem")).events) == 1


# Redis only: the in-memory replay holds its events; only a paged replay can lose them.
@pytest.mark.parametrize("make_hub", ["redis"], indirect=True)
async def test_replay_whose_unsent_history_is_trimmed_meanwhile_ends_and_resets_on_reconnect(make_hub: Any) -> None:
    hub = await make_hub(history_size=20, subscriber_buffer_bytes=4000)
    hub.replay_chunk_bytes = 500
    await hub.publish([{"channel": "t", "data": "z" * 50 + str(i)} for i in range(20)])
    sink = BufferSink(limit=4000, stalled=True)
    task = asyncio.create_task(hub.subscribe(["t"], sink, cursor="0"))
    await eventually(lambda: len(sink.chunks) > 0)
    # Everything not yet sent is trimmed away while the stream waits for its socket.
    last = await hub.publish([{"channel": "t", "data": i} for i in range(20)])
    await caught_up(hub, last[-1])
    sink.resume()
    subscriber = await task
    assert subscriber.reason == "gap" and sink.closed and not sink.aborted
    got = seqs(parse(sink))
    assert got == list(range(1, len(got) + 1)) and len(got) < 20  # a prefix, no hole
    again = BufferSink()
    await hub.subscribe(["t"], again, cursor=f"{hub.epoch}-{got[-1]}")
    events = parse(again)
    assert events[0].type == "reset" and json.loads(events[0].data)["reason"] == "gap"
    assert [e.id for e in events[1:]] == last


async def test_browsers_are_counted_once_however_many_streams_and_viewers_match_patterns(
    make_hub: Callable[..., Awaitable[Hub]],
) -> None:
    hub = await make_hub()
    await hub.publish([{"channel": "train/loss", "data": 1}, {"channel": "other", "data": 2}])
    streams = [
        await hub.subscribe(["train/*"], BufferSink(), browser="browserA1"),
        await hub.subscribe(["train/loss"], BufferSink(), browser="browserA1"),  # the same browser
        await hub.subscribe(["*"], BufferSink(), browser="browserB2"),
        await hub.subscribe(["train/loss"], BufferSink()),  # names none: counted alone
    ]
    listing = {c["name"]: c for c in await hub.channels()}
    assert (listing["train/loss"]["subscribers"], listing["train/loss"]["browsers"]) == (4, 3)
    assert (listing["other"]["subscribers"], listing["other"]["browsers"]) == (1, 1)
    assert hub.stats()["browsers"] == 3
    assert hub.viewers("train/loss") == 3
    assert hub.viewers("train/*") == 3  # overlapping patterns: train/*, train/loss, *
    assert hub.viewers("other") == 1
    assert hub.viewers(["other", "train/*"]) == 3
    assert hub.viewers("nothing/here") == 1  # the * stream
    with pytest.raises(ProtocolError):
        hub.viewers("bad name!")
    for stream in streams:
        hub.unsubscribe(stream)
    assert hub.viewers("train/loss") == 0 and hub.stats()["browsers"] == 0
