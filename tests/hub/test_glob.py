"""The ``*`` matcher: the semantics of the old regex, in linear time, in Python and in the browser."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from node_support import run_module

from sse_widgets._glob import Glob, glob_match
from sse_widgets.protocol import covers


def reference(pattern: str, name: str) -> bool:
    """The old definition: a backtracking regex (fine on the tiny inputs used here)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name, re.DOTALL) is not None


@given(st.text("ab/*", max_size=8), st.text("ab/", max_size=10))
@settings(max_examples=2000)
def test_glob_agrees_with_the_regex_it_replaces(pattern: str, name: str) -> None:
    assert glob_match(pattern, name) == reference(pattern, name)


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("train", "train", True), ("train", "train/x", False), ("train/*", "train/", True),
        ("train/*", "train/a/b", True), ("*", "", True), ("*", "anything/at/all", True),
        ("a*a", "a", False), ("a*a", "aa", True), ("*ab*ab*", "abab", True),
        ("*ab*ab*", "aba", False), ("a**b***c", "abc", True), ("jobs/*/done", "jobs/x/y/done", True),
    ],
)
def test_glob_table(pattern: str, name: str, expected: bool) -> None:
    assert Glob(pattern).fullmatch(name) is expected


class CountingName(str):
    """A name that records each search made in it: (start, end) of every find."""

    searches: list[tuple[int, int]]

    def find(self, sub: str, start: int = 0, end: int | None = None) -> int:  # type: ignore[override]
        self.searches.append((start, len(self) if end is None else end))
        return str.find(self, sub, start, end)


def test_worst_case_patterns_take_one_forward_pass() -> None:
    # The old regex needed about n**k steps here: hours for this pattern.
    pattern = "t/" + "*a" * 98 + "*Z"
    name = CountingName("t/" + "a" * 198)
    name.searches = []
    assert not Glob(pattern).fullmatch(name)
    name = CountingName("t/" + "a" * 197 + "Z")
    name.searches = []
    assert Glob(pattern).fullmatch(name)
    # One search per middle piece, each starting where the previous one stopped.
    assert len(name.searches) == 98
    starts = [start for start, _ in name.searches]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert sum(end - start for start, end in name.searches) <= len(name) * 98


def test_covers_treats_the_requested_pattern_as_text() -> None:
    assert covers("train/*", "train/" + "*" * 24 + "Z")
    assert covers("*", "*" * 199 + "Z")
    assert not covers("train/*", "*")
    assert not covers("t/one", "t/*")


def test_browser_matcher_agrees_with_python(tmp_path: Path) -> None:
    rng = random.Random(7)
    cases = [("".join(rng.choice("ab/*") for _ in range(rng.randint(0, 8))),
              "".join(rng.choice("ab/") for _ in range(rng.randint(0, 10)))) for _ in range(3000)]
    cases.append(("t/" + "*a" * 98 + "*Z", "t/" + "a" * 198))  # hours for a backtracking RegExp
    script = (
        "import(%(bundle)s).then((m) => {"
        "const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(cases.map(([p, n]) => m.patternMatcher(p)(n))));});"
    )
    matched = run_module(tmp_path, "stream.ts", script, stdin=json.dumps(cases))
    assert matched == [Glob(p).fullmatch(n) for p, n in cases]
