"""Channel patterns: ``*`` globs matched in linear time, without backtracking (stdlib only).

A pattern is literal text in which ``*`` matches any run of characters, ``/`` included
(``jobs/*`` follows ``jobs/a`` and ``jobs/a/b``); there is no other metacharacter.

A backtracking matcher (a regex ``a.*b.*c``, Lua's ``.-``, fnmatch) tries every way of
splitting the name among the stars: ``k`` stars against a name of length ``n`` cost up to
``n ** k`` steps, so ``channel=train/`` + 24 ``*`` + ``Z`` could freeze a server for hours.
This module never revisits a position:

1. Split the pattern at ``*``. Empty pieces come from runs of ``*`` (``a**b`` is ``a*b``)
   and are dropped, so a run of stars is one star.
2. With no ``*``, the name must equal the pattern.
3. Otherwise the first piece must be a prefix of the name and the last piece a suffix,
   and they must not overlap (the name is at least as long as both together).
4. The middle pieces are found left to right with ``str.find``, each in what is left
   between the end of the previous one and the start of the suffix.

Step 4 is greedy: each middle piece is taken at its leftmost place. That is always right
for ``*``-only globs: if any match exists, the leftmost occurrence of a piece leaves the
most room (a superset of positions) for every later piece, and a star can absorb whatever
lies between. So one left-to-right pass decides it; the work is one ``startswith``, one
``endswith`` and one ``find`` per piece over the rest of the name, at most
``len(name) * len(pattern)`` character comparisons and usually ``len(name)``.

The browser's shared client matches with the same algorithm (``patternMatcher`` in
``js/src/stream.ts``).
"""

from __future__ import annotations

__all__ = ["Glob", "glob_match"]


class Glob:
    """A compiled ``*`` pattern; ``fullmatch(name)`` says whether the whole name matches.

    Parameters
    ----------
    pattern
        Literal text with ``*`` wildcards (validated by the caller).
    """

    __slots__ = ("_middle", "_min_length", "_prefix", "_suffix", "pattern", "wild")

    def __init__(self, pattern: str):
        self.pattern = pattern
        pieces = pattern.split("*")
        #: False for a plain name, which matches only itself.
        self.wild = len(pieces) > 1
        self._prefix = pieces[0]
        self._suffix = pieces[-1] if self.wild else ""
        self._middle = tuple(p for p in pieces[1:-1] if p)
        self._min_length = len(self._prefix) + len(self._suffix)

    def fullmatch(self, name: str) -> bool:
        """True when ``name`` as a whole matches the pattern."""
        if not self.wild:
            return name == self.pattern
        if (
            len(name) < self._min_length
            or not name.startswith(self._prefix)
            or not name.endswith(self._suffix)
        ):
            return False
        position = len(self._prefix)
        end = len(name) - len(self._suffix)
        for piece in self._middle:
            found = name.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"


def glob_match(pattern: str, name: str) -> bool:
    """True when ``name`` matches the ``*`` pattern ``pattern`` (see the module docstring)."""
    return Glob(pattern).fullmatch(name)
