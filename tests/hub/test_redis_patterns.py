"""The Lua channel matcher inside the Redis scripts: linear, and the same as a brute force."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from redis_servers import RedisServer

from sse_widgets.hub import Cursor
from sse_widgets.hub import _redis_scripts as scripts
from sse_widgets.hub.event import Draft
from sse_widgets.hub.patterns import ChannelSet

pytestmark = pytest.mark.redis


def reference(pattern: str, name: str) -> bool:
    """Brute force: ``*`` takes every possible run of characters, all else is literal."""

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(name)
        if pattern[i] == "*":
            return any(match(i + 1, k) for k in range(j, len(name) + 1))
        return j < len(name) and pattern[i] == name[j] and match(i + 1, j + 1)

    return match(0, 0)


PATTERNS = [
    "*", "**", "a", "a*", "*a", "*a*", "a*b", "a*b*c", "a**b", "*/*", "train/*", "train/*/loss",
    "a.b", "a.*", "a-b*", "a+b", "x*x", "x*x*x", "ab*ab", "*ab*ab*", "a*a", "aa*aa", "*b",
    "jobs/*", "jobs/*/*", "*.log", "a*%", "%*", "(*)", "[*]", "^a*$",
]
NAMES = [
    "a", "aa", "aaa", "ab", "abc", "acb", "aXbYc", "b", "ba", "a/b", "train/x", "train/x/loss",
    "train/loss", "train/", "a.b", "aXb", "a-bc", "a+b", "aab", "x", "xx", "xxx", "xax", "abab",
    "ababab", "abXab", "jobs/1", "jobs/1/2", "jobs/", "x.log", "log", "a%", "%", "(a)", "[]",
    "^ab$", "aaaa", "aabaa", "aaXaa",
]


@pytest.fixture(scope="module")
def busy_sensitive_redis() -> Iterator[RedisServer]:
    """A Redis that answers BUSY to everyone else as soon as a script runs for 50 ms."""
    server = RedisServer(options={"busy-reply-threshold": "50"}).start()
    try:
        yield server
    finally:
        server.cleanup()


def lua_table(server: RedisServer, patterns: list[str], names: list[str]) -> list[list[int]]:
    client = server.client()
    try:
        rows: Any = client.eval(scripts.MATCH_TABLE, 0, *patterns, "", *names)
    finally:
        client.close()
    return [list(row) for row in rows]


def test_lua_matcher_agrees_with_a_brute_force_on_a_table_of_cases(busy_sensitive_redis: RedisServer) -> None:
    got = lua_table(busy_sensitive_redis, PATTERNS, NAMES)
    for name, row in zip(NAMES, got):
        for pattern, hit in zip(PATTERNS, row):
            assert bool(hit) == reference(pattern, name), (pattern, name)


def test_lua_matcher_agrees_with_a_brute_force_on_every_short_pattern(busy_sensitive_redis: RedisServer) -> None:
    patterns = ["".join(p) for n in range(1, 5) for p in itertools.product("ab*", repeat=n)]
    names = ["".join(p) for n in range(6) for p in itertools.product("ab", repeat=n)]
    names = [n for n in names if n]  # channel names are never empty
    got = lua_table(busy_sensitive_redis, patterns, names)
    wrong = [
        (pattern, name)
        for name, row in zip(names, got)
        for pattern, hit in zip(patterns, row)
        if bool(hit) != reference(pattern, name)
    ]
    assert wrong == []


def test_star_heavy_pattern_that_backtracked_for_hours_replays_at_once(busy_sensitive_redis: RedisServer, io_loop: Any) -> None:
    """``train/`` + 24 ``*`` + ``Z`` against a long name without ``Z``: the Lua-pattern
    translation (``.*`` 24 times) backtracked exponentially inside Redis. Now the answer
    comes back, and Redis (BUSY for everyone after 50 ms of script) answers a PING."""
    from sse_widgets.hub.redis_streams import RedisBackend

    async def run() -> None:
        backend = RedisBackend(busy_sensitive_redis.url, prefix=f"glob-{uuid.uuid4().hex[:8]}:")
        await backend.start()
        try:
            long_name = "train/" + "a" * 190
            ids = await backend.append([Draft(long_name, "message", "1"), Draft("train/aZ", "message", "2")])
            worst = "train/" + "*" * 24 + "Z"
            starry = "train/" + "*a" * 24 + "*"
            replay = await backend.replay(ChannelSet([worst]), Cursor(None, 0), ChannelSet([]))
            assert [e.id for e in replay.events] == ids[1:]  # only train/aZ ends in Z
            replay = await backend.replay(ChannelSet([starry]), Cursor(None, 0), ChannelSet([]))
            assert [e.id for e in replay.events] == ids[:1]  # train/aZ has one a, not 24
            assert await backend._commands.ping()
        finally:
            await backend.close()

    io_loop.run_sync(lambda: asyncio.wait_for(run(), 120))
