"""Property-based fuzz of the publish body and the stream query against a real server:
whatever a client sends, the answer is never a 5xx and the server stays healthy."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import JupyterServer
from sse_client import SSEStream, publish

from sse_widgets.protocol import mint_ticket

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

names = st.one_of(
    st.sampled_from(["t/fuzz", "t/*", "*", "a" * 201, "", "t//x", "Ünï", "t/a b", "*" * 40 + "Z"]),
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.text("ab/*Z", max_size=60),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)
events = st.dictionaries(
    st.sampled_from(["channel", "type", "data", "extra"]) | st.text(max_size=6),
    st.one_of(names, json_values),
    max_size=4,
)


def nested(depth: int) -> bytes:
    return b'{"channel": "t/fuzz", "data": ' + b"[" * depth + b"]" * depth + b"}"


bodies = st.one_of(
    st.binary(max_size=200),
    events.map(lambda e: json.dumps(e).encode()),
    st.lists(events, max_size=5).map(lambda e: json.dumps(e).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 3000).map(nested),
)


@FUZZ
@given(body=bodies)
def test_publish_body_never_gets_a_5xx(live_server: JupyterServer, body: bytes) -> None:
    status, reply = publish(live_server.url, live_server.key, body)
    assert status < 500, (body[:200], reply)
    if status == 200:
        sent = json.loads(body)
        assert len(reply["ids"]) == (len(sent) if isinstance(sent, list) else 1)
    else:
        assert reply["message"]


params = st.lists(
    st.tuples(st.sampled_from(["channel", "since", "last_event_id", "ticket", "limit", "x"]), names),
    max_size=6,
)


def stream_status(server: JupyterServer, query: list[tuple[str, str]], header_cursor: str | None) -> int:
    head = f"GET /sse-widgets/api/stream?{urllib.parse.urlencode(query)} HTTP/1.1\r\n"
    head += f"Host: 127.0.0.1:{server.port}\r\n"
    if header_cursor is not None:
        head += f"Last-Event-ID: {header_cursor}\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head.encode("utf-8") + b"\r\n")
        line = b""
        while b"\r\n" not in line:
            chunk = sock.recv(4096)
            if not chunk:
                break
            line += chunk
    return int(line.split(b" ", 2)[1])


@FUZZ
@given(query=params, authed=st.sampled_from(["token", "ticket", "none"]),
       header_cursor=st.none() | st.text("0123456789abcdef-", max_size=20))
def test_stream_query_never_gets_a_5xx(live_server: JupyterServer, query: list[tuple[str, str]],
                                      authed: str, header_cursor: str | None) -> None:
    if authed == "token":
        query = [*query, ("token", live_server.token)]
    elif authed == "ticket":
        query = [*query, ("ticket", mint_ticket(live_server.key, ["t/*"], ttl=60))]
    status = stream_status(live_server, query, header_cursor)
    assert status < 500 and status in (200, 400, 403), (query, status)


def test_server_is_healthy_after_the_fuzz(live_server: JupyterServer) -> None:
    # Runs after the two fuzz tests in this module (pytest keeps file order).
    with SSEStream(live_server.url, ["t/after"], token=live_server.token) as stream:
        assert publish(live_server.url, live_server.key, {"channel": "t/after", "data": 1})[0] == 200
        assert stream.read_count(1)[0].json["data"] == 1
    deadline = time.monotonic() + 60
    while live_server.api("GET", "sse-widgets/api/channels")["stats"]["subscribers"] != 0:
        assert time.monotonic() < deadline, "fuzzed streams are still counted"
        time.sleep(0.05)
    log = live_server.log()
    assert "Traceback" not in log and " 500 " not in log
