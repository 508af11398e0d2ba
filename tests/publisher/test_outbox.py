"""The bounded, coalescing queue: order, coalescing, final states kept, bounds."""

from __future__ import annotations

import pytest

from sse_widgets.publisher.outbox import QUEUE_FULL, Outbox


def names(items: list) -> list:  # type: ignore[type-arg]
    return [item[1] for item in items]


def test_drain_merges_the_lanes_back_into_call_order() -> None:
    box = Outbox()
    with box.lock:
        box.put("m1", 1)
        box.put_progress(("p", "a"), "a@1", 1)
        box.put_urgent("toast", 1)
        box.put("m2", 1)
        assert names(box.drain(100, 1 << 20)) == ["m1", "a@1", "toast", "m2"]
        assert len(box) == 0


def test_progress_keeps_only_the_latest_state_at_its_latest_position() -> None:
    box = Outbox()
    with box.lock:
        box.put_progress(("p", "a"), "a@1", 1)
        box.put("m1", 1)
        box.put_progress(("p", "a"), "a@2", 1)
        box.put_progress(("p", "b"), "b@1", 1)
        assert names(box.drain(100, 1 << 20)) == ["m1", "a@2", "b@1"]


def test_a_final_state_is_never_overwritten_by_a_later_update() -> None:
    box = Outbox()
    with box.lock:
        box.put_progress(("p", "a"), "a running", 1)
        box.put_urgent("a done", 1, supersedes=("p", "a"))
        box.put_progress(("p", "a"), "a running again", 1)
        assert names(box.drain(100, 1 << 20)) == ["a done", "a running again"]


def test_metrics_beyond_the_bound_drop_the_oldest_and_count_them() -> None:
    box = Outbox(max_events=10)
    for i in range(25):
        box.put(i, 1)  # lock-free: metric()'s path
    with box.lock:
        assert len(box) == 10
        assert names(box.drain(100, 1 << 20)) == list(range(15, 25))
        assert box.take_dropped() == {QUEUE_FULL: 15}
        assert box.take_dropped() == {}


def test_the_byte_bound_sheds_old_metrics_too() -> None:
    box = Outbox(max_bytes=1000)
    for i in range(10):
        box.put(i, 300)
    with box.lock:
        assert names(box.drain(100, 1 << 20)) == [7, 8, 9]


def test_a_full_urgent_lane_refuses_instead_of_dropping_silently() -> None:
    box = Outbox(max_urgent=2)
    with box.lock:
        assert box.put_urgent("a", 1) and box.put_urgent("b", 1)
        assert not box.put_urgent("c", 1)
        assert box.take_dropped() == {QUEUE_FULL: 1}
        assert names(box.drain(100, 1 << 20)) == ["a", "b"]


def test_too_many_distinct_tasks_forget_the_stalest_running_state() -> None:
    box = Outbox(max_events=3)
    with box.lock:
        for task in "abcde":
            box.put_progress(("p", task), task, 1)
        assert names(box.drain(100, 1 << 20)) == ["c", "d", "e"]


@pytest.mark.parametrize(("limit", "max_bytes", "expected"), [(2, 1 << 20, [0, 1]), (100, 250, [0, 1]), (100, 50, [0])])
def test_drain_respects_count_and_byte_limits_but_always_makes_progress(limit: int, max_bytes: int, expected: list[int]) -> None:
    box = Outbox()
    for i in range(5):
        box.put(i, 100)
    with box.lock:
        assert names(box.drain(limit, max_bytes)) == expected
