"""What the server logs when a page of another origin is refused (server/cors.py)."""

from __future__ import annotations

import logging

import pytest

from sse_widgets.server import cors


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cors, "_told", set())


def test_a_refused_origin_is_told_the_settings_once(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test-cors")
    with caplog.at_level(logging.WARNING, "test-cors"):
        for _ in range(3):
            cors.refused(log, "http://127.0.0.1:2718", "/sse-widgets/api/stream")
        cors.refused(log, "http://localhost:2718", "/sse-widgets/api/stream")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "--ServerApp.allow_origin=http://127.0.0.1:2718 --ServerApp.allow_credentials=True" in lines[0]


def test_an_admitted_origin_without_credentials_or_with_a_wildcard_is_told_why_browsers_drop_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("test-cors")
    with caplog.at_level(logging.WARNING, "test-cors"):
        cors.dropped_by_browser(log, "http://a:1", "/x", wildcard=False)
        cors.dropped_by_browser(log, "http://b:1", "/x", wildcard=True)
    off, star = (r.getMessage() for r in caplog.records)
    assert "allow_credentials is off" in off and "'*'" in star


def test_the_origins_told_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test-cors")
    with caplog.at_level(logging.WARNING, "test-cors"):
        for i in range(cors.MAX_ORIGINS + 50):
            cors.refused(log, f"http://h{i}:1", "/x")
    assert len(caplog.records) == cors.MAX_ORIGINS and len(cors._told) == cors.MAX_ORIGINS


@pytest.mark.parametrize(("origin", "host", "cross"), [
    ("http://127.0.0.1:2718", "127.0.0.1:8888", True),
    ("http://127.0.0.1:8888", "127.0.0.1:8888", False),
    ("HTTP://Example.org", "example.org", False),
    (None, "127.0.0.1:8888", False),
])
def test_cross_origin_compares_host_and_port(origin: str | None, host: str, cross: bool) -> None:
    assert cors.cross_origin(origin, host) is cross
