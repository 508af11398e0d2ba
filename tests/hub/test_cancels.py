"""The hub's board of pending stop requests: bounded, expiring, answered once per poller."""

from __future__ import annotations

import asyncio
import json

from sse_widgets.hub.cancels import CancelBoard
from sse_widgets.hub.event import Event


def event(channel: str, type: str, data: object) -> Event:
    return Event("e", 1, channel, type, 0.0, json.dumps(data))


def test_a_cancel_event_is_pending_until_its_task_ends() -> None:
    board = CancelBoard()
    board.observe([event("jobs", "cancel", {"task": "t"})])
    board.observe([event("jobs", "cancel", {"task": "t"})])  # a second click
    assert board.pending("jobs", "t") and len(board) == 1
    board.observe([event("jobs", "progress", {"task": "t", "status": "running"})])
    assert board.pending("jobs", "t")
    board.observe([event("jobs", "progress", {"task": "t", "status": "cancelled"})])
    assert not board.pending("jobs", "t") and len(board) == 0


def test_the_board_is_bounded_and_entries_expire() -> None:
    board = CancelBoard(ttl=0.0, max_pending=3)
    board.observe([event("c", "cancel", {"task": str(i)}) for i in range(5)])
    assert len(board) <= 3
    assert board.matching(frozenset({"c"}), 0) == []  # ttl 0: all expired
    bounded = CancelBoard(max_pending=3)
    bounded.observe([event("c", "cancel", {"task": str(i)}) for i in range(5)])
    assert [m["task"] for m in bounded.matching(frozenset({"c"}), 0)] == ["2", "3", "4"]


def test_a_poll_wakes_for_its_channels_and_skips_what_it_has_seen() -> None:
    async def run() -> None:
        board = CancelBoard()
        waiting = asyncio.ensure_future(board.wait(frozenset({"a"}), 0, 30))
        await asyncio.sleep(0)
        board.observe([event("b", "cancel", {"task": "other"})])
        await asyncio.sleep(0)
        assert not waiting.done()
        board.observe([event("a", "cancel", {"task": "mine"})])
        found = await asyncio.wait_for(waiting, 5)
        assert [(f["channel"], f["task"]) for f in found] == [("a", "mine")]
        seen = int(found[0]["seq"])  # type: ignore[call-overload]
        assert await board.wait(frozenset({"a"}), seen, 0) == []
        assert board.stats() == {"cancels_pending": 2, "cancel_polls": 0}

    asyncio.run(run())


def test_malformed_cancel_events_are_ignored() -> None:
    board = CancelBoard()
    board.observe([event("c", "cancel", {"task": ""}), event("c", "cancel", [1]), event("c", "cancel", {"task": 3})])
    assert len(board) == 0
