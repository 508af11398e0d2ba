"""Byte-exact Server-Sent Events encoding (WHATWG HTML, "Server-sent events").

Every function returns the exact bytes to put on the wire. A field value may not carry a
line break, so ``data`` is split into one ``data:`` line per line (CR, LF and CRLF all end
a line, as the parser treats them), and CR/LF are removed from ``id`` and ``event``, where
they would start a new field. An ``id`` with NUL is ignored by browsers, so NUL is removed.
"""

from __future__ import annotations

import re

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FIELD_UNSAFE = str.maketrans("", "", "\r\n\0")


def encode_event(data: str, *, id: str | None = None, event: str | None = None) -> bytes:
    """Encode one event: optional ``id:`` and ``event:`` lines, ``data:`` lines, blank line.

    An empty ``data`` still yields one ``data:`` line, because a browser does not dispatch
    an event that has no ``data`` field.
    """
    parts: list[str] = []
    if id is not None:
        parts.append(f"id: {id.translate(_FIELD_UNSAFE)}\n")
    if event is not None:
        parts.append(f"event: {event.translate(_FIELD_UNSAFE)}\n")
    for line in _LINE_BREAK.split(data):
        parts.append(f"data: {line}\n")
    parts.append("\n")
    return "".join(parts).encode("utf-8")


def encode_comment(text: str = "") -> bytes:
    """Encode a comment (``: text``); parsers ignore it, proxies see traffic."""
    return "".join(f": {line}\n" for line in _LINE_BREAK.split(text)).encode("utf-8") + b"\n"


def encode_retry(milliseconds: int) -> bytes:
    """Encode the reconnection delay the browser should use."""
    if milliseconds < 0:
        raise ValueError(f"retry must be >= 0 milliseconds, not {milliseconds}")
    return f"retry: {int(milliseconds)}\n\n".encode("ascii")
