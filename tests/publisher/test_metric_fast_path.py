"""metric()'s fast path: one append in the caller's frame, everything else in the sender.

These pin the mechanism (outbox.FastLane): when the lane is armed, what the sender makes
of the appended tuples, and that a call never strands an event behind an idle sender.
"""

from __future__ import annotations

import math
import threading

import pytest

import sse_widgets.publisher as sw
from sse_widgets import SSEWidgetsWarning
from sse_widgets.publisher import _process, hosts
from sse_widgets.publisher.outbox import FAST, FAST_SERIES, QUEUE_FULL

from .conftest import FakeHub


def held_sender(fake_hub: FakeHub) -> None:
    """Connect, and hold the first request unanswered so that the sender stays busy."""
    sw.connect(fake_hub.url, "k")
    fake_hub.gate.clear()
    sw.metric("train", x=-1, loss=0.0)  # the slow path: checks, queues, wakes and arms
    assert fake_hub.arrived.wait(10)


def test_the_lane_is_armed_while_the_sender_runs_and_disarmed_when_it_idles(fake_hub: FakeHub) -> None:
    held_sender(fake_hub)
    assert FAST.queue is not None  # the sender is busy: the next calls append directly
    sw.metric("train", x=0, loss=1.0)
    assert len(FAST.queue) == 1
    fake_hub.gate.set()
    assert sw.flush(10).ok
    idle = threading.Event()
    t = _process.transport()
    assert t is not None
    with t.outbox.lock:  # the sender marks itself idle (and disarms) before it waits
        while not t._idle:  # type: ignore[union-attr]
            t._settle.wait(0.05)  # type: ignore[union-attr]
        idle.set()
    assert FAST.queue is None
    sw.metric("train", x=1, loss=0.5)  # slow path again: wakes the sender
    assert sw.flush(10).ok
    assert [e["data"]["x"] for e in fake_hub.events] == [-1, 0, 1]


def test_nan_and_infinity_from_the_fast_path_arrive_as_gaps(fake_hub: FakeHub) -> None:
    held_sender(fake_hub)
    assert FAST.queue is not None
    sw.metric("train", x=1, loss=math.nan, acc=0.5)
    sw.metric("train", x=2.0, loss=math.inf, acc=-math.inf)
    sw.metric("train", x=math.nan, loss=1)
    fake_hub.gate.set()
    assert sw.flush(10).ok
    assert [e["data"] for e in fake_hub.events[1:]] == [
        {"x": 1, "values": {"loss": None, "acc": 0.5}},
        {"x": 2.0, "values": {"loss": None, "acc": None}},
        {"x": None, "values": {"loss": 1}},
    ]


def test_fast_path_metrics_keep_call_order_with_notifications_and_messages(fake_hub: FakeHub) -> None:
    held_sender(fake_hub)
    sw.metric("train", x=1, loss=1.0)
    sw.notify("half way", channel="train")
    sw.metric("train", x=2, loss=0.5)
    sw.publish("train", {"note": "x"})
    sw.metric("train", x=3, loss=0.25, **{f"s{i}": i for i in range(FAST_SERIES)})  # wide: another lane
    sw.metric("train", x=4, loss=0.1)
    fake_hub.gate.set()
    assert sw.flush(10).ok
    assert [(e["type"], e["data"].get("x")) for e in fake_hub.events[1:]] == [
        ("metric", 1), ("notify", None), ("metric", 2), ("message", None), ("metric", 3), ("metric", 4)
    ]


def test_a_full_metric_lane_drops_the_oldest_and_counts_them(fake_hub: FakeHub) -> None:
    held_sender(fake_hub)
    t = _process.transport()
    assert t is not None
    limit = t.outbox.max_events
    for i in range(limit + 500):
        sw.metric("train", x=i, loss=0.5)
    assert len(t.outbox) == limit  # nothing grows past the bound, on the fast path either
    fake_hub.gate.set()
    report = sw.flush(30)
    xs = [e["data"]["x"] for e in fake_hub.events[1:]]
    assert report.dropped == {QUEUE_FULL: 500}
    assert xs == list(range(500, limit + 500))  # the newest kept, in order


def test_bad_values_are_refused_at_the_call_even_with_the_lane_armed(fake_hub: FakeHub) -> None:
    held_sender(fake_hub)
    assert FAST.queue is not None
    for call in (lambda: sw.metric("train", loss="high"), lambda: sw.metric("train", x="now", loss=1),
                 lambda: sw.metric("bad channel!", loss=1), lambda: sw.metric(["train"], loss=1)):
        try:
            call()
        except (TypeError, ValueError):
            pass
        else:
            raise AssertionError("a bad metric() was accepted")
    assert len(FAST.queue) == 0
    fake_hub.gate.set()
    assert sw.flush(10).ok


def test_threads_racing_the_sender_to_idle_strand_no_event(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    per_thread, threads = 2_000, 4

    def work(n: int) -> None:
        for i in range(per_thread):
            sw.metric("train", x=n * per_thread + i, loss=0.5)
            if i % 200 == 199:
                sw.flush(10)  # the sender goes idle here and there while others append

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    report = sw.flush(30)
    assert report.ok and report.undelivered == 0
    assert sorted(e["data"]["x"] for e in fake_hub.events) == list(range(per_thread * threads))


def test_with_no_hub_the_fast_path_discards_and_flush_counts_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hosts, "HOSTS", ())  # a plain script: no widget host can appear
    with pytest.warns(SSEWidgetsWarning, match="no hub to publish to"):
        sw.metric("train", x=0, loss=1.0)  # the slow path warns once, then arms the discard
    assert FAST.queue is not None and FAST.queue.maxlen == 0
    for i in range(1, 1_000):
        sw.metric("train", x=i, loss=0.5)
    assert sw.flush(1).dropped == {_process.NO_HUB: 1_000}
    sw.metric("train", x=0, loss=1.0)
    assert sw.flush(1).dropped == {_process.NO_HUB: 1}
    assert sw.flush(1).dropped == {}
