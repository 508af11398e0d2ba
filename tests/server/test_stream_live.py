"""The extension in a real ``jupyter server`` subprocess, read by an independent SSE client."""

from __future__ import annotations

import http.client
import json
import textwrap
import urllib.parse

import pytest
from kernel_client import Kernel
from servers import JupyterServer
from sse_client import SSEStream, publish

from sse_widgets.protocol import mint_ticket


def test_stream_headers_retry_and_live_events(live_server: JupyterServer) -> None:
    with SSEStream(live_server.url, ["t/headers"], token=live_server.token) as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        assert stream.headers["Cache-Control"] == "no-store"
        assert stream.headers["X-Accel-Buffering"] == "no"
        assert "Content-Encoding" not in stream.headers
        status, reply = publish(live_server.url, live_server.key, [
            {"channel": "t/headers", "type": "metric", "data": {"x": 1, "values": {"loss": 0.5}}},
            {"channel": "t/headers", "data": "two\nlines"},
        ])
        assert status == 200 and len(reply["ids"]) == 2
        events = stream.read_count(2)
        assert stream.parser.retry is not None and stream.raw.startswith(b"retry: ")
        assert [e.id for e in events] == reply["ids"]
        assert events[0].json["data"] == {"x": 1, "values": {"loss": 0.5}}
        assert events[0].json["type"] == "metric" and events[1].json["data"] == "two\nlines"


def test_killed_connection_resumes_exactly_with_last_event_id(live_server: JupyterServer) -> None:
    channel = "t/resume"
    first = SSEStream(live_server.url, [channel], token=live_server.token)
    ids = publish(live_server.url, live_server.key, [{"channel": channel, "data": i} for i in range(50)])[1]["ids"]
    got = first.read_count(20)
    first.sock.close()  # type: ignore[union-attr]  # killed mid-stream
    more = publish(live_server.url, live_server.key, [{"channel": channel, "data": i} for i in range(50, 80)])[1]["ids"]
    cursor = got[19].id
    with SSEStream(live_server.url, [channel], token=live_server.token, header_cursor=cursor) as second:
        rest = second.read_count(60)
    assert [e.id for e in got[:20]] + [e.id for e in rest] == ids + more
    assert [e.json["data"] for e in rest] == list(range(20, 80))


def test_query_cursor_zero_replays_everything_retained(live_server: JupyterServer) -> None:
    ids = publish(live_server.url, live_server.key, [{"channel": "t/zero", "data": i} for i in range(5)])[1]["ids"]
    with SSEStream(live_server.url, ["t/zero"], token=live_server.token, last_event_id="0") as stream:
        assert [e.id for e in stream.read_count(5)] == ids


def test_foreign_epoch_cursor_gets_reset_first(live_server: JupyterServer) -> None:
    publish(live_server.url, live_server.key, {"channel": "t/epoch", "data": 1})
    with SSEStream(live_server.url, ["t/epoch"], token=live_server.token, last_event_id="abc-1") as stream:
        events = stream.read_count(2)
    assert events[0].type == "reset" and events[0].json["reason"] == "epoch"
    assert events[1].json["channel"] == "t/epoch"


def test_heartbeat_comments_arrive(start_server: object) -> None:
    server = start_server(options={"SSEWidgetsApp.heartbeat_interval": 0.2})  # type: ignore[operator]
    with SSEStream(server.url, ["t/beat"], token=server.token) as stream:
        events = stream.read(lambda _: stream.parser.comments.count("ping") >= 3, timeout=30)
        # Three pings and no event: comments never move the browser's cursor.
        assert events == [] and not stream.ended
        assert stream.parser.last_event_id is None


def test_no_gzip_even_when_the_server_compresses(start_server: object) -> None:
    server = start_server(config={"ServerApp": {"tornado_settings": {"compress_response": True}}})  # type: ignore[operator]
    for i in range(40):
        (server.root_dir / f"file-{i:02}.txt").write_text("x")
    # The server does compress its own JSON API...
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", f"/api/contents?token={server.token}", headers={"Accept-Encoding": "gzip"})
    assert connection.getresponse().headers.get("Content-Encoding") == "gzip"
    # ...but never the stream.
    with SSEStream(server.url, ["t/gz"], token=server.token, headers={"Accept-Encoding": "gzip"}) as stream:
        publish(server.url, server.key, {"channel": "t/gz", "data": "plain"})
        assert stream.read_count(1)[0].json["data"] == "plain"
        assert "Content-Encoding" not in stream.headers


def test_base_url_prefix(start_server: object) -> None:
    server = start_server(base_url="/user/alice/")  # type: ignore[operator]
    with SSEStream(server.url, ["t/base"], token=server.token) as stream:
        assert stream.status == 200
        status, _ = publish(server.url, server.key, {"channel": "t/base", "data": 7})
        assert status == 200
        assert stream.read_count(1)[0].json["data"] == 7
    with SSEStream(f"http://127.0.0.1:{server.port}/", ["t/base"], token=server.token) as wrong:
        assert wrong.status == 404


def test_kernel_started_by_the_server_publishes_with_inherited_env(start_server: object) -> None:
    # No publish_key given: the extension makes a random one and exports it to kernels.
    server = start_server(base_url="/user/bob/")  # type: ignore[operator]
    with Kernel(server) as kernel, SSEStream(server.url, ["t/kernel"], token=server.token) as stream:
        code = textwrap.dedent("""
            import json, os, urllib.request
            url, key = os.environ["SSE_WIDGETS_URL"], os.environ["SSE_WIDGETS_KEY"]
            print(url)
            req = urllib.request.Request(url + "sse-widgets/api/publish", method="POST",
                data=json.dumps({"channel": "t/kernel", "data": "from the kernel"}).encode(),
                headers={"X-SSE-Widgets-Key": key, "Content-Type": "application/json"})
            print(json.load(urllib.request.urlopen(req))["ids"][0])
        """)
        url, event_id = kernel.execute(code).split()
        assert url == server.url
        (event,) = stream.read_count(1)
        assert event.id == event_id and event.json["data"] == "from the kernel"


def test_ticket_grants_its_channels_and_nothing_else(live_server: JupyterServer) -> None:
    ticket = mint_ticket(live_server.key, ["t/tick/*", "t/one"], ttl=60)
    with SSEStream(live_server.url, ["t/tick/a", "t/one"], tickets=[ticket]) as stream:
        assert stream.status == 200
        publish(live_server.url, live_server.key, [{"channel": "t/tick/a", "data": 1}, {"channel": "t/one", "data": 2}])
        assert [e.json["data"] for e in stream.read_count(2)] == [1, 2]
    for channels in (["t/tick/a", "t/other"], ["t/*"], ["t/one/x"]):
        with SSEStream(live_server.url, channels, tickets=[ticket]) as refused:
            assert refused.status == 403
            assert "do not cover" in json.loads(refused.body())["message"]
    # The JSON history endpoint takes tickets too.
    query = urllib.parse.urlencode({"ticket": ticket})
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
    connection.request("GET", f"/sse-widgets/api/channels/t/one/events?{query}")
    reply = connection.getresponse()
    assert reply.status == 200 and [e["data"] for e in json.loads(reply.read())["events"]] == [2]


@pytest.mark.parametrize(
    ("ticket", "message"),
    [
        (lambda key: mint_ticket(key, ["t/x"], ttl=10, now=0), "expired"),
        (lambda key: mint_ticket("another-key", ["t/x"], ttl=60), "signature does not match"),
        (lambda key: mint_ticket(key, ["t/x"], ttl=60)[:-3] + "AAA", "signature does not match"),
        (lambda key: "garbage", "malformed"),
    ],
)
def test_bad_tickets_are_refused(live_server: JupyterServer, ticket: object, message: str) -> None:
    with SSEStream(live_server.url, ["t/x"], tickets=[ticket(live_server.key)]) as stream:  # type: ignore[operator]
        assert stream.status == 403
        assert message in json.loads(stream.body())["message"]
    assert "ticket=" not in live_server.log().replace("ticket=[secret]", "")


def test_unauthenticated_stream_and_publish_are_refused(live_server: JupyterServer) -> None:
    with SSEStream(live_server.url, ["t/auth"]) as stream:
        assert stream.status == 403
        assert "no ticket" in json.loads(stream.body())["message"]
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
    connection.request("POST", "/sse-widgets/api/publish", body=b'{"channel": "t/auth"}')
    reply = connection.getresponse()
    assert reply.status == 403
    assert "X-SSE-Widgets-Key" in json.loads(reply.read())["message"]
    status, body = publish(live_server.url, "wrong-key", {"channel": "t/auth"})
    assert status == 403 and "wrong X-SSE-Widgets-Key" in body["message"]
    assert all(c["name"] != "t/auth" for c in live_server.api("GET", "sse-widgets/api/channels")["channels"])


def test_cookie_post_without_xsrf_is_refused_and_with_xsrf_accepted(live_server: JupyterServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
    cookies = []
    for path in (f"/api/status?token={live_server.token}", "/login"):  # login cookie, _xsrf cookie
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        cookies += [h.split(";", 1)[0] for h in response.headers.get_all("Set-Cookie") or []]
    cookie = "; ".join(cookies)
    xsrf = next(c.split("=", 1)[1] for c in cookies if c.startswith("_xsrf="))
    body = b'{"channel": "t/cookie", "data": 1}'
    connection.request("POST", "/sse-widgets/api/publish", body=body, headers={"Cookie": cookie})
    refused = connection.getresponse()
    assert refused.status == 403 and "_xsrf" in json.loads(refused.read())["message"]
    connection.request("POST", "/sse-widgets/api/publish", body=body, headers={"Cookie": cookie, "X-XSRFToken": xsrf})
    accepted = connection.getresponse()
    assert accepted.status == 200 and len(json.loads(accepted.read())["ids"]) == 1


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{nope", 400, "not valid JSON"),
        (b'{"channel": "a b"}', 400, "bad channel name"),
        (b'{"channel": "ok", "type": 5}', 400, "event type must be a string"),
        (b'[{"channel": "ok"}, {"channel": "ok", "data": NaN}]', 400, "NaN is not valid JSON"),
        (json.dumps({"channel": "t/big", "data": "x" * 70_000}).encode(), 413, "max_event_bytes"),
        (json.dumps([{"channel": "t/big", "data": "x" * 60_000}] * 80).encode(), 413, "max_request_bytes"),
        (b"\xff\xfe", 400, "not UTF-8"),
    ],
)
def test_bad_publish_gets_4xx_and_publishes_nothing(live_server: JupyterServer, body: bytes, status: int, message: str) -> None:
    before = live_server.api("GET", "sse-widgets/api/channels")["stats"]["last_seq"]
    got, reply = publish(live_server.url, live_server.key, body)
    assert got == status and message in reply["message"]
    after = live_server.api("GET", "sse-widgets/api/channels")["stats"]["last_seq"]
    assert after == before
    # ...and the server keeps serving.
    assert publish(live_server.url, live_server.key, {"channel": "t/still", "data": 1})[0] == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "at least one channel"),
        ({"channel": "bad name"}, "bad channel pattern"),
        ({"channel": "ok", "last_event_id": "nope"}, "bad cursor"),
        ({"channel": "ok", "since": "a b"}, "bad channel pattern"),
    ],
)
def test_bad_stream_requests_get_400(live_server: JupyterServer, params: dict[str, str], message: str) -> None:
    query = urllib.parse.urlencode({**params, "token": live_server.token})
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
    connection.request("GET", f"/sse-widgets/api/stream?{query}")
    reply = connection.getresponse()
    assert reply.status == 400 and message in json.loads(reply.read())["message"]


def test_too_many_subscribers_get_503(start_server: object) -> None:
    server = start_server(options={"SSEWidgetsApp.max_subscribers": 2})  # type: ignore[operator]
    streams = [SSEStream(server.url, ["t/full"], token=server.token) for _ in range(2)]
    try:
        with SSEStream(server.url, ["t/full"], token=server.token) as third:
            assert third.status == 503 and "most allowed" in json.loads(third.body())["message"]
    finally:
        for stream in streams:
            stream.close()


def test_channel_list_history_and_delete(live_server: JupyterServer) -> None:
    ids = publish(live_server.url, live_server.key, [{"channel": "t/hist", "data": i} for i in range(4)])[1]["ids"]
    listing = {c["name"]: c for c in live_server.api("GET", "sse-widgets/api/channels")["channels"]}
    assert listing["t/hist"]["retained"] == 4 and listing["t/hist"]["last_id"] == ids[-1]
    page = live_server.api("GET", f"sse-widgets/api/channels/t/hist/events?after={ids[1]}&limit=1")
    assert [e["id"] for e in page["events"]] == [ids[2]] and page["reset"] is None
    with SSEStream(live_server.url, ["t/hist"], token=live_server.token, last_event_id="0") as stream:
        stream.read_count(4)
        live_server.api("DELETE", "sse-widgets/api/channels/t/hist")
        stream.read(lambda events: False, timeout=5) if not stream.ended else None
    assert stream.ended  # ended cleanly so that the browser reconnects
    with SSEStream(live_server.url, ["t/hist"], token=live_server.token, header_cursor=ids[-1]) as again:
        publish(live_server.url, live_server.key, {"channel": "t/hist", "data": "new"})
        events = again.read_count(2)
    assert events[0].type == "reset" and events[1].json["data"] == "new"
