"""Channel sets: several names and ``*`` patterns, matched with a bounded cache."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..protocol import check_pattern, pattern_regex

_CACHE_LIMIT = 4096


class ChannelSet:
    """The channels a subscriber asked for; ``matches`` is called once per event and group."""

    __slots__ = ("_cache", "_exact", "_regexes", "patterns")

    def __init__(self, patterns: Iterable[str]):
        unique = sorted({check_pattern(p) for p in patterns})
        self.patterns: tuple[str, ...] = tuple(unique)
        self._exact = frozenset(p for p in unique if "*" not in p)
        self._regexes: list[re.Pattern[str]] = [pattern_regex(p) for p in unique if "*" in p]
        self._cache: dict[str, bool] = {}

    def matches(self, channel: str) -> bool:
        """True if ``channel`` is one of the names or matches one of the patterns."""
        if channel in self._exact:
            return True
        if not self._regexes:
            return False
        hit = self._cache.get(channel)
        if hit is None:
            hit = any(r.fullmatch(channel) for r in self._regexes)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[channel] = hit
        return hit

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __repr__(self) -> str:
        return f"ChannelSet({list(self.patterns)!r})"
