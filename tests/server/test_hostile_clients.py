"""Clients that misbehave (reset connections, upload, ask for pathological patterns) against
a real server: none of them may hurt the other streams or the server."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from servers import JupyterServer
from sse_client import SSEStream, publish

from sse_widgets.protocol import MAX_DATA_DEPTH, MAX_STREAM_PATTERNS, mint_ticket


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait until ``condition()`` holds; the timeout only turns a hang into a failure."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def subscribers(server: JupyterServer) -> int:
    return int(server.api("GET", "sse-widgets/api/channels")["stats"]["subscribers"])


def stream_request(server: JupyterServer, params: list[tuple[str, str]]) -> bytes:
    query = urllib.parse.urlencode(params)
    return (
        f"GET {server.base_url}sse-widgets/api/stream?{query} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()


def reset_at_once(port: int, request: bytes, pause: float) -> None:
    """Send ``request``, then close with RST (SO_LINGER 0) after ``pause`` seconds."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    try:
        sock.sendall(request)
        if pause:
            time.sleep(pause)
    finally:
        sock.close()


def test_early_disconnect_does_not_leak_subscriber_or_stop_heartbeat(start_server: Any) -> None:
    server = start_server(options={"SSEWidgetsApp.heartbeat_interval": 0.2})
    ticket = mint_ticket(server.key, ["*"], ttl=600)
    request = stream_request(server, [("channel", "*"), ("ticket", ticket)])
    with SSEStream(server.url, ["*"], tickets=[ticket]) as healthy:
        assert healthy.status == 200
        stop = threading.Event()
        published: list[str] = []

        def churn(index: int) -> None:
            pauses = (0.0, 0.0002, 0.001, 0.0)
            for i in range(150):
                reset_at_once(server.port, request, pauses[(i + index) % len(pauses)])

        def publisher() -> None:
            n = 0
            while not stop.is_set():
                status, reply = publish(server.url, server.key, {"channel": "t/churn", "data": n})
                assert status == 200
                published.extend(reply["ids"])
                n += 1
                time.sleep(0.01)

        threads = [threading.Thread(target=churn, args=(i,)) for i in range(4)]
        feeder = threading.Thread(target=publisher)
        feeder.start()
        for thread in threads:
            thread.start()
        received = []
        while any(t.is_alive() for t in threads):
            received += healthy.read(lambda events: bool(events), timeout=10)
        stop.set()
        feeder.join()
        pings_after_churn = healthy.parser.comments.count("ping")
        # Every event published during the churn reaches the healthy stream, in order...
        received += healthy.read(lambda events: bool(published) and
                                 published[-1] in [e.id for e in received + events], timeout=30)
        assert [e.id for e in received] == published
        # ...and the heartbeat still beats.
        healthy.read(lambda events: healthy.parser.comments.count("ping") >= pings_after_churn + 3,
                     timeout=30)
        # Every reset connection is forgotten: one stream is open, one is counted.
        wait_for(lambda: subscribers(server) == 1, "subscriber count back to the 1 open stream")
    wait_for(lambda: subscribers(server) == 0, "subscriber count back to 0")
    assert "Traceback" not in server.log()


def vm_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS line")


def test_stream_upload_is_not_buffered_by_the_server(start_server: Any) -> None:
    server = start_server()
    pid = server.process.pid
    uploader = SSEStream(server.url, ["t/upload"], token=server.token)
    bystander = SSEStream(server.url, ["t/bystander"], token=server.token)
    try:
        assert uploader.status == 200 and bystander.status == 200
        before = vm_rss_kib(pid)
        block = b"x" * (1 << 20)
        uploader.sock.settimeout(60)
        for _ in range(200):  # 200 MiB up a stream that never asked for any
            uploader.sock.sendall(block)
        status, _ = publish(server.url, server.key, {"channel": "t/bystander", "data": "still here"})
        assert status == 200
        assert bystander.read_count(1)[0].json["data"] == "still here"
        grown_mib = (vm_rss_kib(pid) - before) / 1024
        assert grown_mib < 32, f"the server's RSS grew by {grown_mib:.0f} MiB"
        # The uploading stream still works too.
        publish(server.url, server.key, {"channel": "t/upload", "data": "down"})
        assert uploader.read_count(1)[0].json["data"] == "down"
    finally:
        uploader.close()
        bystander.close()


def test_star_heavy_pattern_does_not_freeze_the_server(live_server: JupyterServer) -> None:
    # A backtracking matcher needs about n**k steps for k stars: hours for this pattern
    # against this name, during which the server answers nothing.
    long_name = "t/" + "a" * 198
    pattern = "t/" + "*a" * 98 + "*Z"
    assert publish(live_server.url, live_server.key, {"channel": long_name, "data": 0})[0] == 200
    with SSEStream(live_server.url, [pattern], token=live_server.token, last_event_id="0",
                   since=[pattern]) as stream:
        assert stream.status == 200
        live_server.api("GET", "sse-widgets/api/channels")  # matches every channel to count streams
        matching = "t/" + "a" * 197 + "Z"
        assert publish(live_server.url, live_server.key, {"channel": matching, "data": 1})[0] == 200
        (event,) = stream.read_count(1)
        assert event.json["channel"] == matching


def test_since_needs_the_same_right_as_channel(live_server: JupyterServer) -> None:
    ticket = mint_ticket(live_server.key, ["t/mine"], ttl=60)
    for since in (["t/*"], ["*" * 16 + "Z"], ["t/other"]):
        with SSEStream(live_server.url, ["t/mine"], tickets=[ticket], since=since) as refused:
            assert refused.status == 403
            assert "do not cover" in json.loads(refused.body())["message"]
    with SSEStream(live_server.url, ["t/mine"], tickets=[ticket], since=["t/mine"]) as allowed:
        assert allowed.status == 200


@pytest.mark.parametrize("param", ["channel", "since"])
def test_too_many_patterns_get_400_saying_which(live_server: JupyterServer, param: str) -> None:
    params = [("channel", "t/a"), *[(param, f"t/{i}") for i in range(MAX_STREAM_PATTERNS + 1)]]
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
    query = urllib.parse.urlencode([*params, ("token", live_server.token)])
    connection.request("GET", f"/sse-widgets/api/stream?{query}")
    reply = connection.getresponse()
    message = json.loads(reply.read())["message"]
    assert reply.status == 400
    assert f"{param} patterns" in message and f"at most {MAX_STREAM_PATTERNS}" in message


def test_deeply_nested_publish_gets_400_not_500(live_server: JupyterServer) -> None:
    for depth in (MAX_DATA_DEPTH + 1, 990, 100_000):
        body = b'{"channel": "t/deep", "data": ' + b"[" * depth + b"]" * depth + b"}"
        status, reply = publish(live_server.url, live_server.key, body)
        assert status == 400, (depth, reply)
        assert f"{MAX_DATA_DEPTH} levels" in reply["message"]
    body = b'{"channel": "t/deep", "data": ' + b"[" * MAX_DATA_DEPTH + b"]" * MAX_DATA_DEPTH + b"}"
    assert publish(live_server.url, live_server.key, body)[0] == 200


def test_post_without_credentials_is_refused_when_jupyter_auth_is_off() -> None:
    server = JupyterServer()
    server.args = [a for a in server.args if not a.startswith("--IdentityProvider.token=")]
    server.args.append("--IdentityProvider.token=")  # no token, no password: auth is off
    with server:
        check_no_credential_post_is_refused(server)


def check_no_credential_post_is_refused(server: JupyterServer) -> None:
    body = b'{"channel": "t/open", "data": 1}'
    for path in ("/sse-widgets/api/publish", "/api/contents"):  # ours, and Jupyter's own
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        reply = connection.getresponse()
        assert reply.status == 403, (path, reply.status, reply.read())
        reply.read()
    assert all(c["name"] != "t/open" for c in server.api("GET", "sse-widgets/api/channels")["channels"])
    # The key still publishes.
    assert publish(server.url, server.key, {"channel": "t/open", "data": 2})[0] == 200


def test_channel_whose_name_ends_in_events_can_be_deleted(live_server: JupyterServer) -> None:
    publish(live_server.url, live_server.key, [{"channel": "t/x/events", "data": 1},
                                               {"channel": "t/x", "data": 2}])
    assert live_server.api("DELETE", "sse-widgets/api/channels/t/x/events") is None  # 204
    names = {c["name"] for c in live_server.api("GET", "sse-widgets/api/channels")["channels"]}
    assert "t/x/events" not in names and "t/x" in names
    events = live_server.api("GET", "sse-widgets/api/channels/t/x/events")["events"]
    assert [e["data"] for e in events] == [2]
