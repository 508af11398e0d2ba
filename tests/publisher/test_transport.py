"""The sender: batching, keep-alive, bisecting a refused batch, refusal, retries and bounds."""

from __future__ import annotations

import socket
import threading
import tracemalloc

import pytest

import sse_widgets.publisher as sw
from sse_widgets import SSEWidgetsWarning
from sse_widgets.publisher import _process, transport
from sse_widgets.publisher.outbox import QUEUE_FULL

from .conftest import FakeHub


def test_many_calls_share_few_requests(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    fake_hub.gate.clear()  # the first request waits for its reply: the calls below queue
    sw.metric("train", x=0, loss=1.0)
    assert fake_hub.arrived.wait(10)
    for i in range(1, 5000):
        sw.metric("train", x=i, loss=1.0)
    fake_hub.gate.set()
    report = sw.flush(10)
    assert report.ok and report.delivered == 5000
    assert [e["data"]["x"] for e in fake_hub.events] == list(range(5000))
    # What queued meanwhile goes in full requests of MAX_REQUEST_EVENTS, not one per call.
    full = transport.MAX_REQUEST_EVENTS
    assert [len(r) for r in fake_hub.requests] == [1] + [min(full, 4999 - k) for k in range(0, 4999, full)]


def test_calls_from_many_threads_all_arrive(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")

    def work(t: int) -> None:
        for i in range(500):
            sw.metric(f"t{t}", x=i, v=1)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sw.flush(10).ok
    events = fake_hub.events
    assert len(events) == 4000
    for t in range(8):  # each thread's events stay in its call order
        assert [e["data"]["x"] for e in events if e["channel"] == f"t{t}"] == list(range(500))


def test_an_event_the_hub_rejects_is_isolated_and_the_rest_delivered(fake_hub: FakeHub) -> None:
    fake_hub.reject_if = lambda event: event["data"] == "poison"
    sw.connect(fake_hub.url, "k")
    for i in range(50):
        sw.publish("c", "poison" if i == 17 else i)
    report = sw.flush(10)
    assert [e["data"] for e in fake_hub.events] == [i for i in range(50) if i != 17]
    assert report.delivered == 49
    assert report.dropped == {"rejected by the hub (400: no)": 1}


def test_an_event_the_hub_fails_on_does_not_block_the_events_behind_it(fake_hub: FakeHub) -> None:
    # A hub answering 500 to one request's content would answer it again on every retry.
    fake_hub.reject_if = lambda event: event["data"] == "poison"
    fake_hub.reject_status = 500
    sw.connect(fake_hub.url, "k")
    for i in range(50):
        sw.publish("c", "poison" if i == 17 else i)
    report = sw.flush(10)
    assert [e["data"] for e in fake_hub.events] == [i for i in range(50) if i != 17]
    assert report.dropped == {"failed on the hub (500: no)": 1}
    sw.publish("c", "later")
    assert sw.flush(10).ok and fake_hub.events[-1]["data"] == "later"


def nested(depth: int) -> object:
    data: object = 0
    for _ in range(depth):
        data = [data]
    return data


def test_too_deeply_nested_data_is_refused_at_the_call_site(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    sw.publish("c", nested(64))
    with pytest.raises(ValueError, match="nested more than 64 levels"):
        sw.publish("c", nested(990))
    with pytest.raises(ValueError, match="nested more than 64 levels"):
        sw.publish("c", {"a": nested(64)})
    assert sw.flush(10).ok and len(fake_hub.events) == 1


def test_a_refused_key_warns_once_drops_and_reports(fake_hub: FakeHub) -> None:
    fake_hub.script = [403] * 1000
    sw.connect(fake_hub.url, "wrong")
    sw.publish("c", 1)
    report = sw.flush(10)
    assert report.dropped == {"refused by the hub (403)": 1}
    assert "refused the credential" in (report.error or "")
    # Two calls in one block on purpose: they warn once in all.
    with pytest.warns(SSEWidgetsWarning, match="refused the credential") as caught:  # noqa: PT031
        sw.publish("c", 2)
        sw.publish("c", 3)
    assert len(caught) == 1


def test_a_503_is_retried_until_delivered(fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "BACKOFF_FIRST", 0.01)
    fake_hub.script = [503, 503]
    sw.connect(fake_hub.url, "k")
    sw.notify("survives a restart")
    report = sw.flush(10)  # the first attempt fails: flush returns with the report, not at the timeout
    assert report.undelivered == 1 and "503" in (report.error or "")
    report = sw.flush(10)
    for _ in range(50):
        if report.ok and fake_hub.events:
            break
        report = sw.flush(1)
    assert [e["data"]["message"] for e in fake_hub.events] == ["survives a restart"]
    sw.publish("c", 1)  # the outage is over: nothing left to warn about


def test_a_retried_batch_carries_the_same_idempotency_key_and_the_next_batch_a_new_one(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "BACKOFF_FIRST", 0.01)
    fake_hub.script = [504, 503]  # outcome unknown, then down: the same request both times
    sw.connect(fake_hub.url, "k")
    sw.publish("c", 1)
    for _ in range(100):
        if sw.flush(1).ok and fake_hub.events:
            break
    sw.publish("c", 2)
    assert sw.flush(10).ok
    first, retry, again, second = fake_hub.attempt_keys
    assert first is not None and first == retry == again
    assert second is not None and second != first
    assert [e["data"] for e in fake_hub.events] == [1, 2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_hub_never_raises_in_the_loop_warns_once_and_stays_bounded() -> None:
    sw.connect(f"http://127.0.0.1:{closed_port()}/", "k")
    tracemalloc.start()
    try:
        # Many calls in one block on purpose: they warn once in all.
        with pytest.warns(SSEWidgetsWarning, match="cannot reach the hub") as caught:  # noqa: PT031
            for i in range(100_000):
                sw.metric("train", x=i, loss=0.5, acc=0.9)
            report = sw.flush(5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(caught) == 1
    t = _process.transport()
    assert t is not None
    bound = t.outbox.max_events + transport.MAX_REQUEST_EVENTS
    assert report.undelivered <= bound
    assert report.dropped[QUEUE_FULL] >= 100_000 - bound
    assert report.undelivered + report.dropped[QUEUE_FULL] == 100_000
    assert peak < 40 << 20  # 100,000 queued metrics would need far more


def test_connect_rejects_bad_urls_and_both_credentials() -> None:
    with pytest.raises(ValueError, match="not an http"):
        sw.connect("ftp://x/", "k")
    with pytest.raises(ValueError, match="not both"):
        sw.connect("http://127.0.0.1:1/", "k", token="t")
    with pytest.raises(ValueError, match="no hub found"):
        sw.connect()


def test_token_connections_send_jupyter_auth(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, token="tok")
    sw.publish("c", 1)
    assert sw.flush(5).ok
    assert fake_hub.headers[0]["Authorization"] == "token tok"
    assert "X-SSE-Widgets-Key" not in fake_hub.headers[0]


@pytest.mark.parametrize(
    ("url", "key"),
    [("http://127.0.0.1:8888/", "clé"), ("http://127.0.0.1:8888/", "two words"),
     ("http://127.0.0.1:8888/bäse/", "k"), ("http://127.0.0.1:8888/a b/", "k")],
)
def test_non_ascii_key_or_url_is_refused_where_it_is_given(url: str, key: str) -> None:
    # These used to kill the sender thread (UnicodeEncodeError inside http.client).
    with pytest.raises(ValueError, match="ASCII|percent-encode"):
        sw.connect(url, key)


def test_non_ascii_key_in_the_environment_is_refused_at_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSE_WIDGETS_URL", "http://127.0.0.1:8888/")
    monkeypatch.setenv("SSE_WIDGETS_KEY", "clé")
    with pytest.raises(ValueError, match="SSE_WIDGETS_KEY must be printable ASCII"):
        sw.publish("c", 1)


def test_sender_thread_survives_an_unexpected_error(fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "BACKOFF_FIRST", 0.01)
    real_post = transport.HubClient.post
    calls = []

    def post_that_fails_once(self: transport.HubClient, body: bytes, idempotency_key: str | None = None) -> transport.Reply:
        calls.append(body)
        if len(calls) == 1:
            raise UnicodeEncodeError("ascii", "é", 0, 1, "a stand-in for any bug in the sender")
        return real_post(self, body, idempotency_key)

    monkeypatch.setattr(transport.HubClient, "post", post_that_fails_once)
    sw.connect(fake_hub.url, "k")
    sw.publish("c", "lost")
    report = sw.flush(10)
    assert report.dropped == {"sender error (UnicodeEncodeError)": 1}
    assert "unexpected error" in (report.error or "")

    def publish_twice() -> None:
        sw.publish("c", "after")
        sw.publish("c", "and after")

    with pytest.warns(SSEWidgetsWarning, match="unexpected error") as caught:
        publish_twice()
    assert len(caught) == 1
    report = sw.flush(10)
    assert report.ok and [e["data"] for e in fake_hub.events] == ["after", "and after"]


def test_urgent_lane_is_bounded_by_bytes_when_the_hub_is_down() -> None:
    sw.connect(f"http://127.0.0.1:{closed_port()}/", "k")
    t = _process.transport()
    assert t is not None
    message = "x" * 60_000
    def notify_many() -> None:
        for _ in range(400):  # 24 MB of notifications, over the 16 MiB bound
            sw.notify(message)

    with pytest.warns(SSEWidgetsWarning) as caught:
        notify_many()
    assert any("not queued because the queue is full" in str(w.message) for w in caught)
    assert t.outbox._urgent_bytes <= t.outbox.max_urgent_bytes
    assert len(t.outbox) < 400
