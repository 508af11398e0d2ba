"""An independent Server-Sent Events client for tests: it shares no code with the hub.

The parser follows the WHATWG "event stream interpretation" rules directly (lines end in
CR, LF or CRLF; ``field: value`` with one optional space; comments start with ``:``; an
event is dispatched at a blank line only if it had ``data``), so that the tests check the
server's bytes against the spec rather than against our own encoder.
"""

from __future__ import annotations

import http.client
import io
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
    """One GET on the stream endpoint over a plain socket.

    The HTTP head is parsed here and the body decoded (chunked or close-delimited), so a
    read timeout is just "no event yet": http.client cannot read again after one.
    """

    def __init__(
        self,
        base: str,
        channels: list[str],
        *,
        token: str | None = None,
        last_event_id: str | None = None,
        header_cursor: str | None = None,
        tickets: list[str] = (),  # type: ignore[assignment]
        ticket_param: str = "auth_ticket",
        since: list[str] = (),  # type: ignore[assignment]
        headers: dict[str, str] | None = None,
        path: str = "sse-widgets/api/stream",
        timeout: float = 10.0,
        extra: list[tuple[str, str]] = (),  # type: ignore[assignment]
    ):
        params: list[tuple[str, str]] = [("channel", c) for c in channels] + list(extra)
        params += [(ticket_param, t) for t in tickets] + [("since", s) for s in since]
        if token is not None:
            params.append(("token", token))
        if last_event_id is not None:
            params.append(("last_event_id", last_event_id))
        url = urllib.parse.urlsplit(base)
        request_headers = {"Host": f"{url.hostname}:{url.port}", "Accept": "text/event-stream", **(headers or {})}
        if header_cursor is not None:
            request_headers["Last-Event-ID"] = header_cursor
        head = f"GET {url.path}{path}?{urllib.parse.urlencode(params)} HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in request_headers.items()) + "\r\n"
        self.sock = socket.create_connection((url.hostname, url.port), timeout=timeout)
        self.sock.sendall(head.encode("latin-1"))
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"connection closed before the response head: {buffer!r}")
            buffer += data
        raw_head, _, self._pending = buffer.partition(b"\r\n\r\n")
        status_line, _, header_block = raw_head.partition(b"\r\n")
        self.status = int(status_line.split(b" ", 2)[1])
        self.headers = http.client.parse_headers(io.BytesIO(header_block + b"\r\n\r\n"))
        self.chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        self._chunk_state = "size"
        self._chunk_left = 0
        self._chunk_buffer = b""
        self.parser = SSEParser()
        self.ended = False
        self.raw = bytearray()

    def _decode(self, data: bytes) -> bytes:
        """Undo chunked framing incrementally (identity for a close-delimited body)."""
        if not self.chunked:
            return data
        self._chunk_buffer += data
        out = bytearray()
        while True:
            if self._chunk_state == "size":
                line, sep, rest = self._chunk_buffer.partition(b"\r\n")
                if not sep:
                    break
                self._chunk_buffer = rest
                self._chunk_left = int(line.split(b";")[0], 16)
                if self._chunk_left == 0:
                    self.ended = True
                    break
                self._chunk_state = "data"
            elif self._chunk_state == "data":
                take = self._chunk_buffer[: self._chunk_left]
                if not take:
                    break
                out += take
                self._chunk_buffer = self._chunk_buffer[len(take):]
                self._chunk_left -= len(take)
                if self._chunk_left == 0:
                    self._chunk_state = "crlf"
            else:
                if len(self._chunk_buffer) < 2:
                    break
                self._chunk_buffer = self._chunk_buffer[2:]
                self._chunk_state = "size"
        return bytes(out)

    def _recv(self, timeout: float) -> bytes | None:
        """Body bytes; b"" at the end of the stream; None on a timeout."""
        if self._pending:
            data, self._pending = self._pending, b""
            return self._decode(data)
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:  # socket.timeout is its alias since 3.10
            return None
        except ConnectionError:
            data = b""
        if not data:
            self.ended = True
            return b""
        return self._decode(data)

    def body(self, timeout: float = 10.0) -> bytes:
        """For a refused stream: the whole (JSON) body."""
        length = int(self.headers.get("Content-Length", "-1"))
        out = b""
        deadline = time.monotonic() + timeout
        while (length < 0 or len(out) < length) and not self.ended and time.monotonic() < deadline:
            chunk = self._recv(1.0)
            if chunk:
                out += chunk
        return out

    def read(self, until: Callable[[list[ParsedEvent]], bool], timeout: float = 10.0) -> list[ParsedEvent]:
        """Read events until ``until(events)`` is true, the stream ends, or ``timeout``."""
        events: list[ParsedEvent] = []
        deadline = time.monotonic() + timeout
        while not until(events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"stream: condition not met in {timeout}s; got {len(events)} events")
            chunk = self._recv(min(remaining, 1.0))
            if chunk is None:
                continue
            if chunk:
                self.raw += chunk
                events.extend(self.parser.feed(chunk))
            if self.ended:
                break
        return events

    def read_count(self, n: int, timeout: float = 10.0) -> list[ParsedEvent]:
        return self.read(lambda events: len(events) >= n, timeout)

    def close(self) -> None:
        self.sock.close()

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
