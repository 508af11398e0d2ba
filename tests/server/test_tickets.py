"""Stream tickets against a real server: any malformed ticket is a 403 that says why, and no
ticket ever reaches a log line (the access log, Tornado's error lines), whatever the answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import random
import string
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from servers import JupyterServer
from sse_client import SSEStream, publish
from tornado.httpclient import HTTPClientError

from sse_widgets.protocol import (
    LEGACY_TICKET_PARAM,
    MAX_TICKET_LENGTH,
    TICKET_COOKIE_PREFIX,
    TICKET_PARAM,
    ProtocolError,
    mint_ticket,
    scrub_tickets,
    verify_ticket,
)


@pytest.fixture(scope="module")
def debug_server() -> Iterator[JupyterServer]:
    """A server that logs every request (Jupyter logs 2xx at debug level)."""
    server = JupyterServer(extra_args=["--debug"]).start()
    try:
        yield server
    finally:
        server.stop()


def signed(key: str, body: bytes) -> str:
    """A correctly signed ticket around any body: what a buggy or foreign minter could send."""
    payload = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    mac = hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest()
    return payload + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def get(server: JupyterServer, path: str, params: list[tuple[str, str]]) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        connection.request("GET", f"/{path}?{urllib.parse.urlencode(params)}")
        reply = connection.getresponse()
        body = reply.read() if reply.status != 200 else b""
        return reply.status, body.decode("utf-8", "replace")
    finally:
        connection.close()


def body(patterns: Any, expiry: Any = 4_000_000_000) -> bytes:
    return json.dumps({"c": patterns, "e": expiry}).encode()


MALFORMED = [
    # (the ticket, given the key; words of the message)
    (lambda key: "é.é", "two base64url parts"),
    (lambda key: mint_ticket(key, ["t/x"], ttl=60) + "é", "two base64url parts"),
    (lambda key: "\x00.\x00", "two base64url parts"),
    (lambda key: "\U0001f600" * 40, "two base64url parts"),
    (lambda key: "A" * (MAX_TICKET_LENGTH + 1), "over the limit"),
    (lambda key: ("A" * 999 + ".") * 20, "over the limit"),
    (lambda key: "a.b.c.d.e.f", "two base64url parts"),
    (lambda key: "." * 50, "two base64url parts"),
    (lambda key: "abc.", "two base64url parts"),
    (lambda key: ".abc", "two base64url parts"),
    (lambda key: "", "two base64url parts"),
    (lambda key: "ab+c/d==.ef", "two base64url parts"),
    (lambda key: "abc def.ghi", "two base64url parts"),
    (lambda key: "A.B", "signature does not match"),
    (lambda key: signed(key, b"\xff\xfe not utf-8"), "not base64url JSON"),
    (lambda key: signed(key, b"{not json"), "not base64url JSON"),
    (lambda key: signed(key, b"[1, 2]"), "not a JSON object"),
    (lambda key: signed(key, b'"a string"'), "not a JSON object"),
    (lambda key: signed(key, b"{}"), "'c' must be"),
    (lambda key: signed(key, body([])), "'c' must be"),
    (lambda key: signed(key, body("t/x")), "'c' must be"),
    (lambda key: signed(key, body([1, 2])), "channel pattern must be a string"),
    (lambda key: signed(key, body([None])), "channel pattern must be a string"),
    (lambda key: signed(key, body(["bad name"])), "bad channel pattern"),
    (lambda key: signed(key, body(["t/x"], "soon")), "'e' must be"),
    (lambda key: signed(key, body(["t/x"], True)), "'e' must be"),
    (lambda key: signed(key, body(["t/x"], None)), "'e' must be"),
]


@pytest.mark.parametrize(("make", "words"), MALFORMED)
def test_malformed_ticket_gets_403_with_a_message_not_500(
    debug_server: JupyterServer, make: Any, words: str
) -> None:
    ticket = make(debug_server.key)
    for path in ("sse-widgets/api/stream", "sse-widgets/api/channels/t/x/events"):
        for name in (TICKET_PARAM, LEGACY_TICKET_PARAM):
            status, reply = get(debug_server, path, [("channel", "t/x"), (name, ticket)])
            assert status == 403, (path, name, status, reply)
            message = json.loads(reply)["message"]
            assert message.startswith("ticket refused") and words in message, message
    # The server is fine afterwards.
    assert publish(debug_server.url, debug_server.key, {"channel": "t/x", "data": 1})[0] == 200


def test_verify_ticket_judges_any_value_with_protocol_error() -> None:
    for value in (None, 5, b"a.b", ["a.b"], "x" * 100_000, "\udcff.\udcff"):
        with pytest.raises(ProtocolError, match="malformed ticket"):
            verify_ticket("key", value)


def test_verify_ticket_fuzz_gives_only_protocol_errors() -> None:
    rng = random.Random(10)
    alphabet = "Aa0-_.+/=%é\x00 \ud800\U0001f600" + string.printable
    values: list[Any] = [None, 1.5, True, {}, []]
    for body_value in (1, "x", None, [], {"c": None}, {"c": [1]}, {"c": ["ok"], "e": []},
                       {"c": ["a b"], "e": 1e30}, {"c": [""], "e": 1e30}, {"e": 1e30},
                       {"c": ["ok"] * 5, "e": float("nan")}):
        values.append(signed("k", json.dumps(body_value).encode()))
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 5, 40, 300, 9000])))
        values.append(text)
        values.append(signed("k", text.encode("utf-8", "surrogatepass")))
    for value in values:
        try:
            verify_ticket("k", value)
        except ProtocolError:
            continue
        except Exception as exc:
            raise AssertionError(f"{type(exc).__name__} for {value!r:.200}") from exc
        raise AssertionError(f"accepted {value!r:.200}")


@pytest.mark.parametrize("ttl", [0, -1, float("inf"), float("nan"), "60", None, True])
def test_minting_refuses_a_ttl_that_is_not_a_positive_number(ttl: Any) -> None:
    with pytest.raises(ProtocolError, match="ttl must be a positive number"):
        mint_ticket("key", ["a"], ttl=ttl)


def test_minting_refuses_a_ticket_over_the_limit() -> None:
    patterns = [f"t/{i:03d}/" + "x" * 180 for i in range(60)]
    with pytest.raises(ProtocolError, match="over the limit"):
        mint_ticket("key", patterns, ttl=60)


def test_scrub_tickets_hides_every_ticket_parameter_and_keeps_the_rest() -> None:
    uri = "/s?channel=a&auth_ticket=T1&ticket=T2&t%69cket=T3&auth_ticket&since=b&ticketx=keep"
    assert scrub_tickets(uri) == (
        "/s?channel=a&auth_ticket=[secret]&ticket=[secret]&t%69cket=[secret]&auth_ticket"
        "&since=b&ticketx=keep"
    )
    assert scrub_tickets("/s") == "/s"


@pytest.mark.parametrize("name", [TICKET_PARAM, LEGACY_TICKET_PARAM])
def test_both_parameter_names_stream(debug_server: JupyterServer, name: str) -> None:
    ticket = mint_ticket(debug_server.key, ["t/names"], ttl=60)
    with SSEStream(debug_server.url, ["t/names"], tickets=[ticket], ticket_param=name) as stream:
        assert stream.status == 200
        publish(debug_server.url, debug_server.key, {"channel": "t/names", "data": name})
        assert stream.read_count(1)[0].json["data"] == name


def test_tickets_in_cookies_named_by_the_jar_stream(debug_server: JupyterServer) -> None:
    key = debug_server.key
    a, b = mint_ticket(key, ["t/jar/a"], ttl=60), mint_ticket(key, ["t/jar/b"], ttl=60)
    stale = mint_ticket(key, ["t/jar/a"], ttl=10, now=0)  # another page's jar: not read
    cookie = (f"{TICKET_COOKIE_PREFIX}p1-0={a}; {TICKET_COOKIE_PREFIX}p1-1={b}; "
              f"{TICKET_COOKIE_PREFIX}p2-0={stale}; _xsrf=whatever")
    # since= must be covered by the tickets too, as channel= is.
    with SSEStream(debug_server.url, ["t/jar/a", "t/jar/b"], since=["t/jar/b"], headers={"Cookie": cookie},
                   ticket_param="ticket_cookies", tickets=["p1"]) as stream:
        assert stream.status == 200
        publish(debug_server.url, key, {"channel": "t/jar/b", "data": "b"})
        assert stream.read_count(1)[0].json["data"] == "b"
    for jar, words in (("p3", "no cookie sse-widgets-ticket-p3-N came"), ("p-1", "bad ticket_cookies"),
                       ("p2", "expired")):
        with SSEStream(debug_server.url, ["t/jar/a"], headers={"Cookie": cookie},
                       ticket_param="ticket_cookies", tickets=[jar]) as refused:
            assert refused.status == 403
            assert words in json.loads(refused.body())["message"]


def test_server_log_holds_no_ticket_after_valid_invalid_and_500_requests(debug_server: JupyterServer) -> None:
    key = debug_server.key
    valid = mint_ticket(key, ["t/log/*"], ttl=60)
    other = mint_ticket(key, ["t/log/b"], ttl=60)
    publish(debug_server.url, key, {"channel": "t/log/a", "data": 1})
    requests = []
    for name in (TICKET_PARAM, LEGACY_TICKET_PARAM):
        requests += [
            ("sse-widgets/api/channels/t/log/a/events", [(name, valid)]),               # 200
            ("sse-widgets/api/channels/t/other/events", [(name, valid)]),               # 403: not covered
            ("sse-widgets/api/stream", [("channel", "t/other"), (name, valid), (name, other)]),
            ("sse-widgets/api/stream", [("channel", "t/log/a"), (name, valid + "x")]),  # forged
            # A valid ticket beside a non-ASCII one: a 500 before, whose Tornado error line
            # printed the whole URI (now the bad one grants nothing, so t/other is uncovered).
            ("sse-widgets/api/stream", [("channel", "t/other"), (name, valid), (name, "é.é")]),
            ("sse-widgets/api/stream", [("channel", "bad name"), (name, valid)]),       # 400
        ]
    statuses = [get(debug_server, path, params)[0] for path, params in requests]
    assert statuses == [200, 403, 403, 403, 403, 400] * 2
    with SSEStream(debug_server.url, ["t/log/a"], tickets=[valid]) as stream:
        assert stream.status == 200
    log = debug_server.log()
    assert "auth_ticket=[secret]" in log and "&ticket=[secret]" in log  # the requests were logged
    for ticket in (valid, other):
        payload, _, signature = ticket.partition(".")
        assert payload not in log and signature not in log
    assert "é.é" not in log and "%C3%A9" not in log


# --- an unexpected 500, in-process so that the hub can be made to fail ---------------


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"sse_widgets": True}},
            "SSEWidgetsApp": {"publish_key": "test-key"}}


async def test_uncaught_exception_log_lines_hold_no_ticket(
    jp_serverapp: Any, jp_fetch: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = jp_serverapp.extension_manager.extension_apps["sse_widgets"].pop()

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the hub broke")

    monkeypatch.setattr(app.hub, "history", broken)
    ticket = mint_ticket("test-key", ["t/boom"], ttl=60)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("sse-widgets", "api", "channels", "t/boom", "events",
                       params={TICKET_PARAM: ticket, LEGACY_TICKET_PARAM: ticket})
    assert info.value.code == 500
    lines = "\n".join(record.getMessage() for record in caplog.records)
    assert "Uncaught exception GET" in lines and "the hub broke" in caplog.text
    assert ticket not in lines and ticket.partition(".")[2] not in caplog.text


def test_an_expired_ticket_beside_valid_ones_does_not_refuse_the_channels_they_cover(
    debug_server: JupyterServer,
) -> None:
    # A browser's shared stream carries every tab's tickets: one tab whose kernel is gone
    # (its ticket expired, never renewed) refused the stream of every other tab.
    key = debug_server.key
    live = mint_ticket(key, ["t/mixed/live"], ttl=60)
    gone = mint_ticket(key, ["t/mixed/gone"], ttl=10, now=0)
    with SSEStream(debug_server.url, ["t/mixed/live"], tickets=[live, gone]) as stream:
        assert stream.status == 200
        publish(debug_server.url, key, {"channel": "t/mixed/live", "data": "still here"})
        assert stream.read_count(1)[0].json["data"] == "still here"
    # Asked for the expired one's channel too: 403, naming exactly the uncovered pattern.
    with SSEStream(debug_server.url, ["t/mixed/live", "t/mixed/gone"], tickets=[live, gone]) as refused:
        assert refused.status == 403
        answer = json.loads(refused.body())
        assert answer["uncovered"] == ["t/mixed/gone"]
        assert "do not cover" in answer["message"] and "expired" in answer["message"]
    # Every ticket refused: the reason is the ticket's, and every pattern is uncovered.
    with SSEStream(debug_server.url, ["t/mixed/gone"], tickets=[gone]) as alone:
        assert alone.status == 403
        answer = json.loads(alone.body())
        assert answer["message"].startswith("ticket refused:") and answer["uncovered"] == ["t/mixed/gone"]
