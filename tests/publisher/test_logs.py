"""LogHandler and capture_logging: record fields, levels, bounds, attach and detach."""

from __future__ import annotations

import logging

import pytest

import sse_widgets.publisher as sw
from sse_widgets.publisher.logs import MAX_MESSAGE_CHARS

from .conftest import FakeHub


def logs(hub: FakeHub) -> list[dict]:
    return [e["data"] for e in hub.events if e["type"] == "log"]


def test_a_record_carries_time_level_logger_message_names_and_the_traceback(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    log = logging.getLogger("t.fields")
    with sw.capture_logging("INFO", loggers="t.fields", channel="t/logs"):
        log.debug("not published")
        log.info("loaded %d rows", 3)
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            log.exception("step failed")
    sw.flush(5)
    first, second = logs(fake_hub)
    assert {e["channel"] for e in fake_hub.events} == {"t/logs"}
    assert (first["level"], first["levelno"], first["logger"], first["message"]) == ("INFO", 20, "t.fields", "loaded 3 rows")
    assert first["thread"] == "MainThread" and first["process"] == "MainProcess" and first["exc"] is None
    assert isinstance(first["time"], float) and first["module"] == "test_logs"
    assert second["level"] == "ERROR" and second["message"] == "step failed"
    assert second["exc"].startswith("Traceback") and "ZeroDivisionError: division by zero" in second["exc"]


def test_capture_lowers_a_quiet_logger_and_close_restores_it(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    log = logging.getLogger("t.levels")
    log.setLevel(logging.WARNING)
    capture = sw.capture_logging("DEBUG", loggers=["t.levels"], channel="t/levels")
    assert log.level == logging.DEBUG and capture.handler in log.handlers
    log.debug("now seen")
    capture.close()
    assert log.level == logging.WARNING and capture.handler is None and not log.handlers
    log.warning("after close")
    sw.flush(5)
    assert [d["message"] for d in logs(fake_hub)] == ["now seen"]


def test_capture_logging_false_detaches_every_capture(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    log = logging.getLogger("t.off")
    sw.capture_logging("INFO", loggers="t.off", channel="t/off")
    sw.capture_logging("INFO", loggers="t.off", channel="t/off2")
    assert len(log.handlers) == 2
    sw.capture_logging(False)
    assert log.handlers == []


def test_a_huge_message_is_cut_and_still_published(fake_hub: FakeHub) -> None:
    sw.connect(fake_hub.url, "k")
    log = logging.getLogger("t.huge")
    with sw.capture_logging("INFO", loggers="t.huge", channel="t/huge"):
        log.info("x" * 1_000_000)
        log.info("é" * 100_000)  # wide characters: escaped JSON is six bytes each
    sw.flush(5)
    one, two = logs(fake_hub)
    assert len(one["message"]) == MAX_MESSAGE_CHARS and one["message"].endswith("[cut]")
    assert two["message"].startswith("é") and two["message"].endswith("[cut]")


def test_bad_levels_and_channels_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        sw.LogHandler(level="LOUD")
    with pytest.raises(TypeError, match="log level must be"):
        sw.LogHandler(level=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sw.LogHandler(channel="bad channel")


def test_with_no_hub_records_are_dropped_quietly() -> None:
    log = logging.getLogger("t.nohub")
    with sw.capture_logging("INFO", loggers="t.nohub"):
        log.info("nowhere to go")  # no warning (warnings are errors in this suite), no raise
