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
from sse_widgets.publisher.kernelhistory import KernelHistory
from sse_widgets.publisher.local import NOT_JSON, LocalTransport


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


def test_each_widget_gets_its_channels_in_one_message_per_tick(local: LocalTransport) -> None:
    chart, other = FakeSink("train"), FakeSink("jobs/*")
    local.attach(chart)
    local.attach(other)
    for i in range(1000):
        sw.metric("train", x=i, loss=1 / (i + 1))
    report = sw.flush(10)
    assert report.ok and report.delivered == 1000
    assert [e["data"]["x"] for e in chart.events] == list(range(1000))
    assert other.events == []
    first = chart.events[0]
    assert set(first) == {"id", "channel", "type", "ts", "data"}
    assert (first["channel"], first["type"], first["data"]) == ("train", "metric", {"x": 0, "values": {"loss": 1.0}})
    epoch = local.history.epoch
    assert epoch.startswith("k") and [e["id"] for e in chart.events] == [f"{epoch}-{n}" for n in range(1, 1001)]
    # A replay (empty: nothing was published yet) then few, large messages, numbered in order.
    contents = [c for c, _, _ in chart.messages]
    assert contents[0]["replay"] is True and contents[0]["n"] == 0
    assert [c["n"] for c in contents] == list(range(len(contents)))
    assert len(contents) < 100


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


def test_ticks_to_one_widget_are_paced_whatever_the_call_rate(local: LocalTransport) -> None:
    sink = FakeSink("fast")
    local.attach(sink)
    for i in range(100_000):
        sw.metric("fast", x=i, v=i)
    report = sw.flush(30)
    # The outbox's bound may shed the oldest metrics if the loop outruns the sender.
    assert report.delivered + sum(report.dropped.values()) == 100_000
    stamps = [t for _, _, t in sink.messages]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    # An invariant of the sender, not a speed: it sleeps min_interval between two ticks.
    assert all(gap >= local.min_interval * 0.9 for gap in gaps), gaps
    assert sink.events[-1]["data"] == {"x": 99_999, "values": {"v": 99_999}}
    assert len(sink.messages) < 1000


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
    local.put({"channel": "p", "type": "x", "data": math.inf}, 10)
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
print(sorted(m for m in ("anywidget", "ipykernel", "ipywidgets", "traitlets") if m in sys.modules))
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
        monkeypatch.setattr(_process, "in_kernel", lambda: True)
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
