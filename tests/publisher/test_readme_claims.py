"""What the README's "Publishing from Python" section promises and no other test pins:
progress's initial/postfix/delay and reset(), ``from sse_widgets import tqdm, trange``,
numpy scalars, and the order in which the connection sources are tried."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sse_widgets
import sse_widgets.publisher as sw
from sse_widgets.publisher import connection

from .conftest import FakeHub


def states(hub: FakeHub, task: str) -> list[dict[str, Any]]:
    return [e["data"] for e in hub.events if e["type"] == "progress" and e["data"]["task"] == task]


class FakeClock:
    """progress's clock, moved by the test (``delay`` is a time under test)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_initial_and_postfix_start_the_bar_where_they_say(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    bar = sw.progress(total=10, initial=4, postfix={"loss": 0.5, "step": 2}, task="i", mininterval=0)
    sw.flush(5)
    first = states(fake_hub, "i")[0]
    assert (first["n"], first["total"], first["status"], first["message"]) == (4, 10, "running", "loss=0.5, step=2")
    bar.update(6)
    bar.close()
    sw.flush(5)
    assert (states(fake_hub, "i")[-1]["n"], states(fake_hub, "i")[-1]["status"]) == (10, "done")
    sw.progress(total=3, postfix="plain text", task="s").close()
    sw.flush(5)
    assert states(fake_hub, "s")[-1]["message"] == "plain text"


def test_reset_counts_again_from_zero_with_a_new_total(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    bar = sw.progress(total=5, task="r", mininterval=0)
    bar.update(5)
    sw.flush(5)
    bar.reset(total=20)
    sw.flush(5)
    after = states(fake_hub, "r")[-1]
    assert (after["n"], after["total"], after["status"]) == (0, 20, "running")
    bar.update(20)
    bar.close()
    sw.flush(5)
    assert (states(fake_hub, "r")[-1]["n"], states(fake_hub, "r")[-1]["total"]) == (20, 20)


def test_delay_publishes_nothing_until_that_many_seconds_have_passed(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    # The module, not the class that sse_widgets.publisher exports under the same name.
    monkeypatch.setattr(importlib.import_module("sse_widgets.publisher.progress"), "monotonic", clock)
    sw.connect(fake_hub.url, "k")
    bar = sw.progress(total=100, delay=5, task="d", mininterval=0, miniters=1)
    clock.now += 4.9
    bar.update(10)
    sw.flush(5)
    assert states(fake_hub, "d") == []
    clock.now += 0.2  # 5.1 s after the start
    bar.update(10)
    sw.flush(5)
    assert [s["n"] for s in states(fake_hub, "d")] == [20]


def test_tqdm_and_trange_come_from_the_top_level_package(fake_hub: FakeHub) -> None:
    from sse_widgets import tqdm, trange

    assert tqdm is sw.progress and sse_widgets.tqdm is sw.progress
    sw.connect(fake_hub.url, "k")
    assert list(trange(2, 8, 2, task="t", desc="steps")) == [2, 4, 6]
    for _ in tqdm(range(3), task="q", ncols=80, ascii=True, position=0):  # tqdm's own kwargs
        pass
    sw.flush(5)
    assert (states(fake_hub, "t")[-1]["n"], states(fake_hub, "t")[-1]["total"]) == (3, 3)
    assert states(fake_hub, "t")[-1]["label"] == "steps"
    assert states(fake_hub, "q")[-1]["status"] == "done"


def test_numpy_scalars_are_numbers_in_metric(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    sw.metric("np", x=np.int64(3), loss=np.float32(0.5), acc=np.float64(0.25), n=np.int32(7),
              gap=np.float64("nan"))
    assert sw.flush(5).ok
    (event,) = fake_hub.events
    assert event["data"] == {"x": 3, "values": {"loss": 0.5, "acc": 0.25, "n": 7, "gap": None}}


def write_runtime(port: int) -> None:
    info = {"base_url": "/", "hostname": "localhost", "pid": os.getpid(), "port": port,
            "secure": False, "sock": "", "token": "runtime-token", "url": f"http://localhost:{port}/"}
    (Path(os.environ["JUPYTER_RUNTIME_DIR"]) / "jpserver-1.json").write_text(json.dumps(info))


def test_connection_sources_are_tried_in_the_documented_order(monkeypatch: pytest.MonkeyPatch) -> None:
    write_runtime(8901)  # 3. the one running server's runtime file
    assert connection.current().url == "http://127.0.0.1:8901/"  # type: ignore[union-attr]
    monkeypatch.setenv("SSE_WIDGETS_URL", "http://127.0.0.1:8902/")
    monkeypatch.setenv("JUPYTER_TOKEN", "jt")  # 2. the URL and a Jupyter token, before 3.
    connection.reset()  # current() remembers what it found
    conn = connection.current()
    assert (conn.url, conn.headers()) == ("http://127.0.0.1:8902/", {"Authorization": "token jt"})  # type: ignore[union-attr]
    monkeypatch.setenv("SSE_WIDGETS_KEY", "sk")  # 1. the URL and the key, before 2.
    connection.reset()
    conn = connection.current()
    assert (conn.url, conn.headers()) == ("http://127.0.0.1:8902/", {"X-SSE-Widgets-Key": "sk"})  # type: ignore[union-attr]


def test_connect_is_used_where_no_other_source_is_set(fake_hub: FakeHub) -> None:
    assert connection.current() is None  # 4. nothing in the environment or the runtime dir
    sw.connect(fake_hub.url, "ck")
    sw.publish("c", 1)
    assert sw.flush(5).ok
    assert fake_hub.headers[0]["X-SSE-Widgets-Key"] == "ck"
    sw.connect(fake_hub.url, token="tt")
    sw.publish("c", 2)
    assert sw.flush(5).ok
    assert fake_hub.headers[-1]["Authorization"] == "token tt"
