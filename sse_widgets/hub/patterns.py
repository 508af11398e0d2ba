"""Channel sets: several names and ``*`` patterns, matched with a bounded cache.

Matching is linear in the name and pattern lengths (``sse_widgets._glob``): a pattern
from a stream's query can never make a fan-out pass or a replay backtrack.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._glob import Glob
from ..protocol import check_patterns

_CACHE_LIMIT = 4096


class ChannelSet:
    """The channels a subscriber asked for; ``matches`` is called once per event and group."""

    __slots__ = ("_cache", "_exact", "_globs", "patterns")

    def __init__(self, patterns: Iterable[str], what: str = "channel"):
        unique = check_patterns(patterns, what)
        self.patterns: tuple[str, ...] = tuple(unique)
        self._exact = frozenset(p for p in unique if "*" not in p)
        self._globs = [Glob(p) for p in unique if "*" in p]
        self._cache: dict[str, bool] = {}

    def matches(self, channel: str) -> bool:
        """True if ``channel`` is one of the names or matches one of the patterns."""
        if channel in self._exact:
            return True
        if not self._globs:
            return False
        hit = self._cache.get(channel)
        if hit is None:
            hit = any(g.fullmatch(channel) for g in self._globs)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[channel] = hit
        return hit

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __repr__(self) -> str:
        return f"ChannelSet({list(self.patterns)!r})"
