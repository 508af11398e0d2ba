"""Byte-exact SSE encoding (sse_widgets/hub/encoding.py), checked against the spec's parser."""

from __future__ import annotations

import pytest
from sse_client import SSEParser

from sse_widgets.hub.encoding import encode_comment, encode_event, encode_retry


@pytest.mark.parametrize(
    ("data", "kwargs", "expected"),
    [
        ("hello", {}, b"data: hello\n\n"),
        ("", {}, b"data: \n\n"),
        ("a\nb", {}, b"data: a\ndata: b\n\n"),
        ("a\rb", {}, b"data: a\ndata: b\n\n"),
        ("a\r\nb", {}, b"data: a\ndata: b\n\n"),
        ("a\n\nb", {}, b"data: a\ndata: \ndata: b\n\n"),
        ("trailing\n", {}, b"data: trailing\ndata: \n\n"),
        ("\r\n", {}, b"data: \ndata: \n\n"),
        ("caf\u00e9 \u2603 \U0001f600", {}, "data: caf\u00e9 \u2603 \U0001f600\n\n".encode()),
        ("line\u2028sep", {}, "data: line\u2028sep\n\n".encode()),
        ("x", {"id": "e1-5"}, b"id: e1-5\ndata: x\n\n"),
        ("x", {"event": "reset"}, b"event: reset\ndata: x\n\n"),
        ("x", {"id": "a\r\nb", "event": "t\ny\rz"}, b"id: ab\nevent: tyz\ndata: x\n\n"),
        ("x", {"id": "nul\0id"}, b"id: nulid\ndata: x\n\n"),
        (" leading space", {}, b"data:  leading space\n\n"),
        (": not a comment", {}, b"data: : not a comment\n\n"),
    ],
)
def test_encode_event_bytes(data: str, kwargs: dict[str, str], expected: bytes) -> None:
    assert encode_event(data, **kwargs) == expected


@pytest.mark.parametrize(
    "data", ["", "one", "a\nb\nc", "a\r\nb", "a\rb", "\n", "x\n\n\ny", "\u00e9\u2028\U0001f600"]
)
def test_parser_recovers_data_with_line_breaks_normalised(data: str) -> None:
    (event,) = SSEParser().feed(encode_event(data, id="e-1", event="metric"))
    assert event.data == data.replace("\r\n", "\n").replace("\r", "\n")
    assert (event.type, event.id) == ("metric", "e-1")


def test_event_split_across_chunks_at_every_byte() -> None:
    encoded = encode_event("caf\u00e9\nline2", id="e-9")
    for cut in range(1, len(encoded)):
        parser = SSEParser()
        events = parser.feed(encoded[:cut]) + parser.feed(encoded[cut:])
        assert [(e.data, e.id) for e in events] == [("caf\u00e9\nline2", "e-9")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ping", b": ping\n\n"), ("", b": \n\n"), ("a\nb", b": a\n: b\n\n")],
)
def test_comment_bytes(text: str, expected: bytes) -> None:
    assert encode_comment(text) == expected
    parser = SSEParser()
    assert parser.feed(expected) == []


def test_retry_bytes_and_bad_value() -> None:
    assert encode_retry(2000) == b"retry: 2000\n\n"
    parser = SSEParser()
    parser.feed(encode_retry(2000))
    assert parser.retry == 2000
    with pytest.raises(ValueError, match="retry must be >= 0"):
        encode_retry(-1)
