"""An independent Server-Sent Events client for tests: it shares no code with the hub.

The parser follows the WHATWG "event stream interpretation" rules directly (lines end in
CR, LF or CRLF; ``field: value`` with one optional space; comments start with ``:``; an
event is dispatched at a blank line only if it had ``data``), so that the tests check the
server's bytes against the spec rather than against our own encoder.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ParsedEvent:
    type: str
    data: str
    id: str | None

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SSEParser:
    """Incremental parser: ``feed(bytes)`` returns the events completed by those bytes."""

    last_event_id: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)
    _buffer: str = ""
    _pending_cr: bool = False
    _data: list[str] = field(default_factory=list)
    _type: str = ""
    _decoder: Any = None

    def feed(self, chunk: bytes) -> list[ParsedEvent]:
        if self._decoder is None:
            import codecs

            self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        text = self._decoder.decode(chunk)
        events: list[ParsedEvent] = []
        for char in text:
            if self._pending_cr:
                self._pending_cr = False
                if char == "\n":
                    continue  # CRLF: the CR already ended the line
            if char == "\r":
                self._pending_cr = True
                self._line(self._buffer, events)
                self._buffer = ""
            elif char == "\n":
                self._line(self._buffer, events)
                self._buffer = ""
            else:
                self._buffer += char
        return events

    def _line(self, line: str, events: list[ParsedEvent]) -> None:
        if line == "":
            if self._data:
                events.append(ParsedEvent(self._type or "message", "\n".join(self._data), self.last_event_id))
            self._data, self._type = [], ""
            return
        if line.startswith(":"):
            self.comments.append(line[1:].lstrip(" "))
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry = int(value)


class SSEStream:
    """One GET on the stream endpoint, read with http.client (which undoes chunking)."""

    def __init__(
        self,
        base: str,
        channels: list[str],
        *,
        token: str | None = None,
        last_event_id: str | None = None,
        header_cursor: str | None = None,
        tickets: list[str] = (),  # type: ignore[assignment]
        since: list[str] = (),  # type: ignore[assignment]
        headers: dict[str, str] | None = None,
        path: str = "sse-widgets/api/stream",
        timeout: float = 10.0,
    ):
        params: list[tuple[str, str]] = [("channel", c) for c in channels]
        params += [("ticket", t) for t in tickets] + [("since", s) for s in since]
        if token is not None:
            params.append(("token", token))
        if last_event_id is not None:
            params.append(("last_event_id", last_event_id))
        url = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        request_headers = {"Accept": "text/event-stream", **(headers or {})}
        if header_cursor is not None:
            request_headers["Last-Event-ID"] = header_cursor
        self.connection.request("GET", f"{url.path}{path}?{urllib.parse.urlencode(params)}", headers=request_headers)
        # http.client lets go of the socket for a Connection: close response; keep it to
        # set read timeouts and to kill the connection in tests.
        self.sock = self.connection.sock
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        self.parser = SSEParser()
        self.ended = False
        self.raw = bytearray()

    def body(self) -> bytes:
        """For a refused stream: the whole (JSON) body."""
        return self.response.read()

    def read(self, until: Callable[[list[ParsedEvent]], bool], timeout: float = 10.0) -> list[ParsedEvent]:
        """Read events until ``until(events)`` is true, the stream ends, or ``timeout``."""
        events: list[ParsedEvent] = []
        deadline = time.monotonic() + timeout
        while not until(events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"stream: condition not met in {timeout}s; got {len(events)} events")
            self.sock.settimeout(min(remaining, 1.0))  # type: ignore[union-attr]
            try:
                chunk = self.response.read1(65536)
            except (socket.timeout, TimeoutError):
                continue
            if not chunk:
                self.ended = True
                break
            self.raw += chunk
            events.extend(self.parser.feed(chunk))
        return events

    def read_count(self, n: int, timeout: float = 10.0) -> list[ParsedEvent]:
        return self.read(lambda events: len(events) >= n, timeout)

    def close(self) -> None:
        self.response.close()
        self.connection.close()
        self.sock.close()  # type: ignore[union-attr]

    def __enter__(self) -> SSEStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def publish(base: str, key: str, events: Any, timeout: float = 10.0) -> tuple[int, Any]:
    """POST events with the key header; returns (status, parsed JSON body)."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    body = events if isinstance(events, bytes) else json.dumps(events).encode()
    connection.request(
        "POST", f"{url.path}sse-widgets/api/publish", body=body,
        headers={"X-SSE-Widgets-Key": key, "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, json.loads(payload) if payload else None
