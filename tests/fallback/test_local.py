"""The in-kernel transport without a kernel: batching per widget, ids, history, replay, pacing, bounds."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

import sse_widgets.publisher as sw
from sse_widgets.protocol import compile_pattern
from sse_widgets.publisher import _process
from sse_widgets.publisher.hosts import IPythonKernel
from sse_widgets.publisher.kernelhistory import KernelHistory
from sse_widgets.publisher.local import (
    MESSAGES_PER_SECOND,
    MIN_INTERVAL,
    NOT_JSON,
    TICK_EVENTS,
    LocalTransport,
    tick_delay,
)


class FakeSink:
    """Records what a widget's frontend would receive."""

    def __init__(self, *patterns: str) -> None:
        self.regexes = [compile_pattern(p) for p in patterns]
        self.messages: list[tuple[dict[str, Any], list[dict[str, Any]], float]] = []
        self.alive = True

    def matches(self, channel: str) -> bool:
        return any(r.fullmatch(channel) for r in self.regexes)

    def send(self, content: dict[str, Any], payload: bytes) -> bool:
        if not self.alive:
            return False
        self.messages.append((content, json.loads(payload), time.monotonic()))
        return True

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for _, events, _ in self.messages for e in events]


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> Any:
    """This process publishes through a fresh in-kernel transport, as a kernel without a hub does."""
    transport = LocalTransport(reason="test")
    monkeypatch.setattr(_process, "_transport", transport)
    monkeypatch.setattr(_process, "_resolved", True)
    yield transport
    transport.close()
    _process.reset()


class FakeClock:
    """The pacer's clock, moved only by the test: time is what is under test here."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Paced:
    """A transport on a fake clock, with a record of its ticks: (clock at the tick, messages)."""

    def __init__(self, transport: LocalTransport, clock: FakeClock) -> None:
        self.transport, self.clock = transport, clock
        self.ticks: list[tuple[float, int]] = []
        tick = transport._tick

        def recorded(payloads: list[Any]) -> int:
            at = clock()
            sent = tick(payloads)
            self.ticks.append((at, sent))
            return sent

        transport._tick = recorded  # type: ignore[method-assign]

    def run_until(self, done: Any) -> None:
        """Move the clock to each next tick the sender allows, until ``done()``."""
        deadline = time.monotonic() + 30
        while not done():
            assert time.monotonic() < deadline, "timed out"
            due = self.transport.next_tick
            self.clock.now = max(self.clock.now, due)
            # The sender re-reads the clock at least every MIN_INTERVAL (real) seconds.
            until(lambda due=due: self.transport.next_tick != due or done())


@pytest.fixture
def paced(monkeypatch: pytest.MonkeyPatch) -> Any:
    """As ``local``, on a fake clock that stands still unless the test moves it."""
    clock = FakeClock()
    transport = LocalTransport(reason="test", clock=clock)
    monkeypatch.setattr(_process, "_transport", transport)
    monkeypatch.setattr(_process, "_resolved", True)
    yield Paced(transport, clock)
    transport.close()
    _process.reset()


def test_the_pacing_limits_are_the_documented_50_ms_and_400_messages_a_second() -> None:
    assert (MIN_INTERVAL, MESSAGES_PER_SECOND) == (0.05, 400)
    assert tick_delay(0) == tick_delay(1) == tick_delay(20) == 0.05
    assert tick_delay(40) == pytest.approx(0.1)
    assert tick_delay(400) == pytest.approx(1.0)
    for messages in range(1, 5000):
        delay = tick_delay(messages)
        assert 1 / delay <= 20  # each widget: at most one message a tick
        assert messages / delay <= 400 * (1 + 1e-12)  # all widgets together (float rounding aside)


def test_each_widget_gets_its_channels_in_one_message_per_tick(paced: Paced) -> None:
    local = paced.transport
    chart, other = FakeSink("train"), FakeSink("jobs/*")
    local.attach(chart)
    local.attach(other)
    paced.run_until(lambda: chart.messages and other.messages)
    # The clock stands still: every call below waits for the same next tick.
    for i in range(1000):
        sw.metric("train", x=i, loss=1 / (i + 1))
    paced.run_until(lambda: len(chart.events) == 1000)
    report = sw.flush(10)
    assert report.ok and report.delivered == 1000
    assert [e["data"]["x"] for e in chart.events] == list(range(1000))
    assert other.events == []
    first = chart.events[0]
    assert set(first) == {"id", "channel", "type", "ts", "data"}
    assert (first["channel"], first["type"], first["data"]) == ("train", "metric", {"x": 0, "values": {"loss": 1.0}})
    epoch = local.history.epoch
    assert epoch.startswith("k") and [e["id"] for e in chart.events] == [f"{epoch}-{n}" for n in range(1, 1001)]
    # A replay (empty: nothing was published yet), then the 1,000 calls in one message.
    contents = [c for c, _, _ in chart.messages]
    assert [(c["replay"], c["n"]) for c in contents] == [(True, 0), (False, 1)]
    assert [len(events) for _, events, _ in chart.messages] == [0, 1000]


def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_widget_made_later_gets_the_history_in_its_first_message(local: LocalTransport) -> None:
    for i in range(5):
        sw.metric("train", x=i, loss=i)
    sw.notify("hello")
    sw.flush(10)
    late = FakeSink("train", "notify")
    local.attach(late)
    until(lambda: late.messages)
    content, events, _ = late.messages[0]
    assert content["replay"] is True
    assert [e["channel"] for e in events] == ["train"] * 5 + ["notify"]
    assert events[-1]["data"]["message"] == "hello"


def test_a_frontend_that_asks_gets_a_replay_in_a_new_generation(local: LocalTransport) -> None:
    sink = FakeSink("a")
    local.attach(sink)
    sw.publish("a", 1)
    sw.flush(10)
    local.replay(sink)
    sw.publish("a", 2)

    def gen1() -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        return [(c, events) for c, events, _ in sink.messages if c["gen"] == 1]

    until(lambda: [e["data"] for _, events in gen1() for e in events][-1:] == [2])
    assert gen1()[0][0]["replay"] is True
    assert [c["n"] for c, _ in gen1()] == list(range(len(gen1())))
    # The replay repeats what was sent before; the new event comes once, in it or after it.
    assert [e["data"] for _, events in gen1() for e in events] == [1, 2]


def test_ticks_to_one_widget_are_paced_whatever_the_call_rate(paced: Paced) -> None:
    local = paced.transport
    sink = FakeSink("fast")
    local.attach(sink)
    paced.run_until(lambda: sink.messages)
    for i in range(100_000):
        sw.metric("fast", x=i, v=i)
    last = {"x": 99_999, "values": {"v": 99_999}}
    paced.run_until(lambda: sink.events and sink.events[-1]["data"] == last)
    report = sw.flush(30)
    # The outbox's bound may shed the oldest metrics while the sender waits for its tick.
    assert report.delivered + sum(report.dropped.values()) == 100_000
    # On the sender's clock, each tick starts the documented 50 ms after the one before.
    starts = [at for at, _ in paced.ticks]
    assert [b - a for a, b in itertools.pairwise(starts)] == [pytest.approx(MIN_INTERVAL)] * (len(starts) - 1)
    # One message a tick, and the queued calls in as few ticks as TICK_EVENTS allows.
    assert {sent for _, sent in paced.ticks} <= {0, 1}
    assert len(sink.messages) <= 1 + math.ceil(100_000 / TICK_EVENTS)


def test_all_widgets_together_get_at_most_400_messages_a_second(paced: Paced) -> None:
    local = paced.transport
    sinks = [FakeSink("many") for _ in range(40)]
    for sink in sinks:
        local.attach(sink)
    paced.run_until(lambda: all(sink.messages for sink in sinks))
    sw.publish("many", 1)
    paced.run_until(lambda: all(sink.events for sink in sinks))
    sw.publish("many", 2)
    paced.run_until(lambda: all(len(sink.events) == 2 for sink in sinks))
    # The tick that sent 40 messages (one per widget) is followed by 40 / 400 s, not 50 ms.
    ticks = paced.ticks
    gaps = [(sent, b - a) for (a, sent), (b, _) in itertools.pairwise(ticks)]
    assert (40, pytest.approx(0.1)) in gaps
    assert all(gap == pytest.approx(tick_delay(sent)) for sent, gap in gaps), gaps


def test_calls_from_many_threads_all_arrive_in_each_threads_order(local: LocalTransport) -> None:
    sink = FakeSink("t*")
    local.attach(sink)

    def work(t: int) -> None:
        for i in range(500):
            sw.metric(f"t{t}", x=i, v=1)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sw.flush(10).delivered == 4000
    for t in range(8):
        assert [e["data"]["x"] for e in sink.events if e["channel"] == f"t{t}"] == list(range(500))


def test_an_event_that_is_not_strict_json_is_dropped_and_reported(local: LocalTransport) -> None:
    sink = FakeSink("p")
    local.attach(sink)
    with sw.progress(total=3, channel="p", task="ok") as bar:
        bar.update(3)
    local.put({"channel": "p", "type": "x", "data": {1, 2}}, 10)  # a set: no JSON for it
    report = sw.flush(10)
    assert report.dropped == {NOT_JSON: 1}
    assert sink.events[-1]["data"]["status"] == "done"


def test_a_widget_that_is_gone_is_detached(local: LocalTransport) -> None:
    sink = FakeSink("a")
    local.attach(sink)
    sink.alive = False
    sw.publish("a", 1)
    sw.flush(10)
    assert not local.watched("a")


def test_progress_draws_text_too_when_no_widget_of_the_kernel_follows_it(
    local: LocalTransport, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in sw.progress(range(3), desc="unseen", channel="p1"):
        pass
    assert "unseen" in capsys.readouterr().err
    local.attach(FakeSink("p2"))
    for _ in sw.progress(range(3), desc="seen", channel="p2"):
        pass
    sw.notify("to a widget", channel="p2")
    assert capsys.readouterr().err == ""


def test_connection_info_says_events_go_to_the_kernels_widgets(local: LocalTransport) -> None:
    assert "this kernel's widgets" in str(sw.connection_info())


def test_history_is_bounded_per_channel_and_in_total() -> None:
    history = KernelHistory(channel_events=3, channel_bytes=10_000, max_channels=2, total_bytes=1 << 20)
    for i in range(5):
        history.append({"channel": "a", "type": "m", "data": i}, 1.0)
    everything = lambda channel: True
    assert [json.loads(t)["data"] for _, t in history.retained(everything, 1 << 20)] == [2, 3, 4]
    history.append({"channel": "b", "type": "m", "data": 0}, 1.0)
    history.append({"channel": "c", "type": "m", "data": 0}, 1.0)
    assert history.channels() == ["b", "c"]  # a, published to least recently, went whole
    small = KernelHistory(channel_events=1000, channel_bytes=500)
    for i in range(100):
        small.append({"channel": "a", "type": "m", "data": i}, 1.0)
    kept = small.retained(everything, 1 << 20)
    assert sum(len(t) for _, t in kept) <= 500 and json.loads(kept[-1][1])["data"] == 99
    newest = small.retained(everything, 200)
    assert sum(len(t) for _, t in newest) <= 200 and newest[-1] == kept[-1]


def test_outside_a_kernel_nothing_changes_and_nothing_heavy_is_imported(tmp_path: Any) -> None:
    code = """
import sys, warnings
import sse_widgets as sw
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    sw.metric("train", loss=1.0)
print(sw.connection_info().connection, len(caught))
print(sorted(m for m in ("anywidget", "ipykernel", "ipywidgets", "traitlets", "marimo") if m in sys.modules))
"""
    env = {"PATH": "/usr/bin:/bin", "JUPYTER_RUNTIME_DIR": str(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "None 1"  # no hub: one warning, as before
    assert lines[1] == "[]"


def test_a_kernel_with_a_hub_also_feeds_widgets_whose_page_cannot_reach_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from publisher.conftest import FakeHub

    for name in ("SSE_WIDGETS_URL", "SSE_WIDGETS_KEY", "JUPYTER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    hub = FakeHub()
    try:
        _process.reset()
        sw.connect(hub.url, "k")
        sw.metric("m", x=0, v=0)  # before any page asked: to the hub only
        monkeypatch.setattr(_process, "widget_host", lambda: IPythonKernel())
        local = _process.mirror()
        assert local is not None and _process.mirror() is local
        sink = FakeSink("m")
        local.attach(sink)
        for i in range(1, 4):
            sw.metric("m", x=i, v=i)
        assert sw.flush(10).delivered == 4
        local.wait(10)
        assert [e["data"]["x"] for e in hub.events] == [0, 1, 2, 3]
        assert [e["data"]["x"] for e in sink.events] == [1, 2, 3]
        assert sw.connection_info().url == hub.url
    finally:
        _process.reset()
        hub.stop()
