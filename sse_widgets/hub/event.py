"""Events as the hub keeps them: encoded once, shared by every subscriber and by history."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..protocol import ProtocolError
from .encoding import encode_event

#: Bytes an event costs beyond its encoding (object, slots, index entries), for history
#: accounting; an estimate, so that many tiny events still count against the byte bound.
EVENT_OVERHEAD_BYTES = 160

_CURSOR_RE = re.compile(r"([0-9a-z]{1,32})-([0-9]{1,19})")


@dataclass(frozen=True, slots=True)
class Draft:
    """A validated event not yet given an id: what a publisher asked for."""

    channel: str
    type: str
    data_json: str


class Event:
    """One published event with its hub-wide position and its SSE bytes.

    ``sse`` is the complete wire encoding (``id:`` line, one ``data:`` line with the JSON
    envelope, blank line); ``envelope`` is that JSON, sliced from the same bytes.
    """

    __slots__ = ("_json_start", "channel", "id", "seq", "sse", "ts", "type")

    def __init__(self, epoch: str, seq: int, channel: str, type: str, ts: float, data_json: str):
        self.seq = seq
        self.id = f"{epoch}-{seq}"
        self.channel = channel
        self.type = type
        self.ts = ts
        # channel and type are restricted to JSON-safe characters (protocol.check_*), so
        # they are quoted without escaping.
        envelope = (
            f'{{"id":"{self.id}","channel":"{channel}","type":"{type}",'
            f'"ts":{ts!r},"data":{data_json}}}'
        )
        self.sse = encode_event(envelope, id=self.id)
        self._json_start = len(self.sse) - len(envelope.encode("utf-8")) - 2

    @property
    def envelope(self) -> bytes:
        """The event as one JSON object (UTF-8), as in the ``data:`` line."""
        return self.sse[self._json_start : -2]

    @property
    def cost(self) -> int:
        """Bytes charged against history bounds."""
        return len(self.sse) + EVENT_OVERHEAD_BYTES

    def to_dict(self) -> dict[str, Any]:
        """The envelope as a Python dict."""
        result: dict[str, Any] = json.loads(self.envelope)
        return result

    def __repr__(self) -> str:
        return f"Event({self.id!r}, channel={self.channel!r}, type={self.type!r})"


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in the hub's history: ``epoch`` None means "from the oldest" (``0``)."""

    epoch: str | None
    seq: int

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """Parse ``<epoch>-<seq>`` or ``0``; raise ProtocolError saying what is wrong."""
        if text == "0":
            return cls(None, 0)
        match = _CURSOR_RE.fullmatch(text)
        if match is None:
            raise ProtocolError(
                f"bad cursor {text[:80]!r}: expected an event id like 'k3x9a2-42', or 0 for "
                "the oldest retained event"
            )
        return cls(match.group(1), int(match.group(2)))

    def __str__(self) -> str:
        return "0" if self.epoch is None else f"{self.epoch}-{self.seq}"
