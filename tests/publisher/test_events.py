"""publish, metric, notify: bad arguments fail at the call site; good ones arrive in shape."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

import sse_widgets.publisher as sw
from sse_widgets import SSEWidgetsWarning
from sse_widgets.protocol import ProtocolError

from .conftest import FakeHub


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: sw.metric("bad channel!", loss=1), ProtocolError, "bad channel name"),
        (lambda: sw.metric(3, loss=1), ProtocolError, "must be a string"),
        (lambda: sw.metric("train"), ValueError, "at least one value"),
        (lambda: sw.metric("train", loss="high"), TypeError, "loss='high' is not a number"),
        (lambda: sw.metric("train", loss=[1, 2]), TypeError, "not a number"),
        (lambda: sw.metric("train", x="now", loss=1), TypeError, "x='now'"),
        (lambda: sw.publish("c", {"a": object()}), TypeError, "JSON-serialisable"),
        (lambda: sw.publish("c", {"a": math.nan}), TypeError, "NaN"),
        (lambda: sw.publish("c", "x" * 70_000), ValueError, "at most 65536 bytes"),
        (lambda: sw.publish("c", 1, type="reset"), ProtocolError, "reserved"),
        (lambda: sw.publish("c", 1, type="a b"), ProtocolError, "bad event type"),
        (lambda: sw.notify("hi", level="fatal"), ValueError, "level must be one of"),
        (lambda: sw.notify(42), TypeError, "message must be a string"),
        (lambda: sw.notify("hi", timeout_ms=-1), ValueError, "timeout_ms"),
        (lambda: sw.notify("hi", channel=""), ProtocolError, "bad channel name"),
    ],
)
def test_bad_arguments_raise_clear_errors_at_the_call_site(call: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_one_bad_call_does_not_poison_the_batch_of_good_ones(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    sw.metric("train", x=0, loss=1.0)
    with pytest.raises(TypeError):
        sw.publish("train", {"bad": {1, 2}})
    sw.metric("train", x=1, loss=0.5)
    assert sw.flush(5).ok
    assert [e["data"]["x"] for e in fake_hub.events] == [0, 1]


def test_metric_shapes_coerces_numbers_and_sends_nan_as_a_gap(fake_hub: FakeHub) -> None:
    class Scalar:  # stands in for numpy/torch scalars, which have __float__
        def __float__(self) -> float:
            return 0.25

    sw.connect(fake_hub.url, "k")
    sw.metric("train", x=3, loss=Scalar(), acc=math.nan, step=7, values={"val/loss": Decimal("0.5")})
    sw.metric("train", loss=1)
    assert sw.flush(5).ok
    first, second = fake_hub.events
    assert first == {
        "channel": "train",
        "type": "metric",
        "data": {"x": 3, "values": {"val/loss": 0.5, "loss": 0.25, "acc": None, "step": 7}},
    }
    assert second["data"] == {"x": None, "values": {"loss": 1}}


def test_publish_and_notify_shapes(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    data = {"anything": [1, "two"]}
    sw.publish("custom", data)
    data["anything"].append(3)  # serialised at the call: later changes are not sent
    sw.notify("Training finished", level="success", title="Run 3", timeout_ms=None)
    sw.publish("log", "x", type="text.line")
    assert sw.flush(5).ok
    assert fake_hub.events == [
        {"channel": "custom", "type": "message", "data": {"anything": [1, "two"]}},
        {
            "channel": "notify",
            "type": "notify",
            "data": {"level": "success", "title": "Run 3", "message": "Training finished", "timeout_ms": None},
        },
        {"channel": "log", "type": "text.line", "data": "x"},
    ]
    assert fake_hub.headers[0]["X-SSE-Widgets-Key"] == "k"


def test_without_a_hub_metrics_are_discarded_with_one_warning_and_reported() -> None:
    # Many calls in one block on purpose: the point is that they warn once in all.
    with pytest.warns(SSEWidgetsWarning, match="no hub to publish to") as caught:  # noqa: PT031
        for i in range(100):
            sw.metric("train", x=i, loss=1.0)
        sw.publish("c", 1)
    assert len(caught) == 1
    report = sw.flush()
    assert report.dropped == {"no hub configured": 101}
    assert not report.ok


def test_without_a_hub_a_notification_is_printed_not_lost(capsys: pytest.CaptureFixture[str]) -> None:
    sw.notify("disk almost full", level="warning", title="Storage")
    assert capsys.readouterr().err == "[warning] Storage: disk almost full\n"
