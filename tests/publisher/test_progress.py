"""progress: exact counts, done/failed/cancelled, nesting, tqdm arguments, the text bar without a hub."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

import sse_widgets.publisher as sw
from sse_widgets.publisher.textbar import format_line

from .conftest import FakeHub


def states(hub: FakeHub, task: str | None = None) -> list[dict[str, Any]]:
    return [e["data"] for e in hub.events if e["type"] == "progress" and (task is None or e["data"]["task"] == task)]


def final(hub: FakeHub, task: str) -> dict[str, Any]:
    return states(hub, task)[-1]


def gen(n: int) -> Iterator[int]:
    yield from range(n)


@pytest.mark.parametrize("make", [lambda n: range(n), lambda n: list(range(n)), gen, lambda n: iter(list(range(n))), lambda n: map(int, range(n))])
@pytest.mark.parametrize("n", [0, 1, 7, 100_003])
def test_counts_are_exact_whatever_the_iterable(fake_hub: FakeHub, make: Any, n: int) -> None:
    sw.connect(fake_hub.url, "k")
    seen = list(sw.progress(make(n), task="t", mininterval=0 if n < 100 else 0.1))
    assert seen == list(range(n))
    sw.flush(5)
    last = final(fake_hub, "t")
    assert (last["n"], last["status"]) == (n, "done")


def test_event_shape_and_total_from_len(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    for _ in sw.progress([1, 2, 3], desc="epoch 1", unit="batch", task="e1", leave=False):
        pass
    sw.flush(5)
    last = final(fake_hub, "e1")  # the running states before it may be coalesced away
    assert {k: last[k] for k in ("task", "label", "n", "total", "unit", "status", "parent", "message", "leave")} == {
        "task": "e1", "label": "epoch 1", "n": 3, "total": 3, "unit": "batch",
        "status": "done", "parent": None, "message": "", "leave": False,
    }  # fmt: skip
    assert {e["channel"] for e in fake_hub.events} == {"progress"}


def test_break_ends_done_as_tqdm_counting_finished_items(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    for i in sw.progress(range(10), task="b"):
        if i == 3:
            break
    sw.flush(5)
    assert (final(fake_hub, "b")["status"], final(fake_hub, "b")["n"]) == ("done", 3)


def test_a_raising_loop_body_ends_failed_and_the_exception_goes_on(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    with pytest.raises(ZeroDivisionError):
        for i in sw.progress(range(10), task="f"):
            if i == 4:
                1 / 0  # noqa: B018
    sw.flush(5)
    assert final(fake_hub, "f")["status"] == "failed"


def test_inside_a_with_block_the_failure_carries_the_exception_message(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    with pytest.raises(RuntimeError, match="out of memory"), sw.progress(range(10), task="w") as bar:
        for i in bar:
            if i == 2:
                raise RuntimeError("out of memory")
    sw.flush(5)
    assert final(fake_hub, "w")["status"] == "failed"
    assert final(fake_hub, "w")["message"] == "RuntimeError: out of memory"


def test_an_iterable_that_raises_fails_the_task_with_its_message(fake_hub: FakeHub) -> None:
    def loader() -> Iterator[int]:
        yield 1
        raise OSError("disk gone")

    sw.connect(fake_hub.url, "k")
    with pytest.raises(OSError, match="disk gone"):
        for _ in sw.progress(loader(), task="l"):
            pass
    sw.flush(5)
    assert (final(fake_hub, "l")["status"], final(fake_hub, "l")["message"]) == ("failed", "OSError: disk gone")


def test_keyboard_interrupt_in_manual_mode_is_cancelled(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    with pytest.raises(KeyboardInterrupt), sw.progress(total=5, task="k") as bar:
        bar.update(2)
        raise KeyboardInterrupt
    sw.flush(5)
    assert (final(fake_hub, "k")["status"], final(fake_hub, "k")["n"]) == ("cancelled", 2)


def test_nested_bars_name_their_parent_automatically_or_explicitly(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    for _ in sw.progress(range(2), task="outer"):
        for _ in sw.trange(3, task="inner", leave=False):
            pass
    side = sw.progress(total=1, task="side", parent="outer")
    side.close()
    alone = sw.progress(total=1, task="alone")
    alone.close()
    sw.flush(5)
    assert final(fake_hub, "inner")["parent"] == "outer"
    assert final(fake_hub, "side")["parent"] == "outer"
    assert final(fake_hub, "alone")["parent"] is None
    assert final(fake_hub, "outer")["parent"] is None


def test_manual_updates_postfix_and_description(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    bar = sw.tqdm(total=100, desc="download", unit="B", mininterval=0, task="m", ncols=80, position=1, dynamic_ncols=True)
    for _ in range(10):
        bar.update(10)
    bar.set_description("downloaded")
    bar.set_postfix(loss=0.123456, step=3)
    bar.close()
    bar.close()  # idempotent
    sw.flush(5)
    last = final(fake_hub, "m")
    assert (last["n"], last["total"], last["label"], last["status"]) == (100, 100, "downloaded", "done")
    assert last["message"] == "loss=0.123, step=3"
    assert [s["n"] for s in states(fake_hub, "m")] == sorted(s["n"] for s in states(fake_hub, "m"))


def test_explicit_failure_and_cancel(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    sw.progress(total=3, task="x").fail("bad shard")
    sw.progress(total=3, task="y").cancel()
    sw.flush(5)
    assert (final(fake_hub, "x")["status"], final(fake_hub, "x")["message"]) == ("failed", "bad shard")
    assert final(fake_hub, "y")["status"] == "cancelled"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"colour_typo": 1}, TypeError, "unexpected keyword argument"),
        ({"total": "ten"}, TypeError, "total must be"),
        ({"total": -1}, TypeError, "total must be"),
        ({"mininterval": -1}, ValueError, "mininterval"),
        ({"task": "bad id!"}, ValueError, "bad channel name"),
        ({"channel": "a b"}, ValueError, "bad channel name"),
        ({"parent": 3}, TypeError, "parent must be"),
        ({"desc": 3}, TypeError, "desc must be"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        sw.progress(range(3), **kwargs)


def test_iterating_without_an_iterable_says_how_to_use_it() -> None:
    with pytest.raises(TypeError, match="use update"):
        iter(sw.progress(total=3)).__next__()


def test_disable_is_a_plain_passthrough(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    assert list(sw.progress(gen(5), disable=True)) == [0, 1, 2, 3, 4]
    sw.flush(5)
    assert fake_hub.events == []


def test_without_a_hub_a_text_bar_goes_to_the_file() -> None:
    out = io.StringIO()
    assert sum(sw.progress(range(50), desc="work", file=out, mininterval=0, ascii=True)) == 1225
    text = out.getvalue()
    assert text.startswith("\rwork:   0%|")
    # The last state: full bar, 50/50, nothing left, a rate (whatever this machine's speed).
    last = text.rsplit("\r", 1)[-1]
    assert re.fullmatch(r"work: 100%\|#+\| 50/50 \[00:00<00:00, [0-9.]+(it/s|s/it)\]\s*\n", last), last


def test_text_bar_layout_matches_tqdm() -> None:
    assert format_line(40, 100, 4.0, "epoch", "it", "", width=60, ascii_only=True) == (
        "epoch:  40%|######         | 40/100 [00:04<00:06, 10.00it/s]"
    )
    assert format_line(7, None, 2.0, "", "B", "loss=1") == "7B [00:02, 3.50B/s, loss=1]"
    assert format_line(0, 10, 0.0, width=0) == "  0%|          | 0/10 [00:00<?, ?it/s]"
