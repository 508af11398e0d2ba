"""Logging from a kernel, one of its threads and a forked worker into an EventLog in Chromium (Notebook 7)."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import pytest
from browser_support import WidgetPage, chromium, require_built_js
from servers import JupyterServer

from .support import events

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = ".jp-Notebook .jp-Cell"


def write_notebook(server: JupyterServer, cells: list[str]) -> str:
    name = f"log-{uuid.uuid4().hex[:8]}.ipynb"
    (server.root_dir / name).write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:8],
                   "metadata": {}, "outputs": [], "source": source} for source in cells],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }))  # fmt: skip
    return name


def run_cell(page: Any, index: int, timeout: float = 120.0) -> None:
    """Shift+Enter on cell ``index`` until its prompt shows an execution count."""
    prompt = page.locator(CELLS).nth(index).locator(".jp-InputPrompt")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        prompt.click(timeout=30_000)
        page.keyboard.press("Shift+Enter")
        pressed = time.monotonic()
        while time.monotonic() < deadline:
            text = prompt.inner_text().strip()
            if re.search(r"\[\d+\]", text):
                return
            if "*" not in text and time.monotonic() - pressed > 8:
                break  # the key press landed before the kernel session was ready
            page.wait_for_timeout(200)
    raise AssertionError(f"cell {index} did not run")


def test_log_records_from_kernel_thread_and_worker_show_as_lines_with_filters_and_pause(
    live_server: JupyterServer,
) -> None:
    require_built_js()
    p = f"b{uuid.uuid4().hex[:6]}"
    name = write_notebook(live_server, [
        f"""
import logging, multiprocessing, threading
import sse_widgets as sw
sw.Dashboard([sw.EventLog("{p}/logs", title="logs"), sw.ProgressBoard("{p}/progress")])
""",
        f"""
sw.capture_logging("DEBUG", loggers="job", channel="{p}/logs")
log = logging.getLogger("job")
log.debug("debug detail")
for i in sw.tqdm(range(3), desc="work", channel="{p}/progress", task="work"):
    log.info("kernel step %d", i)
t = threading.Thread(target=lambda: log.warning("thread says <b>hi</b>"), name="loader")
t.start(); t.join()
w = multiprocessing.get_context("fork").Process(target=lambda: log.error("worker failed"), name="worker-1")
w.start(); w.join()
try:
    {{}}["key"]
except KeyError:
    log.exception("lookup failed")
sw.flush()
""",
    ])
    with chromium() as browser:
        wp = WidgetPage(browser)
        try:
            page = wp.page
            page.goto(f"{live_server.url}notebooks/{name}?token={live_server.token}")
            page.locator(CELLS).first.wait_for(timeout=60_000)
            run_cell(page, 0)
            run_cell(page, 1)
            rows = page.locator(".sse-eventlog .sse-log-record")
            playwright_api.expect(rows).to_have_count(7, timeout=60_000)
            lines = [
                (rows.nth(i).get_attribute("data-level"),
                 rows.nth(i).locator(".sse-log-logger").inner_text(),
                 rows.nth(i).locator(".sse-log-message").inner_text())
                for i in range(7)
            ]  # fmt: skip
            # Kernel and thread records are in order; the worker's arrives when it flushes.
            assert sorted(lines) == sorted([
                ("DEBUG", "job", "debug detail"), ("INFO", "job", "kernel step 0"),
                ("INFO", "job", "kernel step 1"), ("INFO", "job", "kernel step 2"),
                ("WARNING", "job", "thread says <b>hi</b>"), ("ERROR", "job", "worker failed"),
                ("ERROR", "job", "lookup failed"),
            ])  # fmt: skip
            by_message = {m: i for i, (_, _, m) in enumerate(lines)}
            # The message is text, never HTML; thread and process names show beside it.
            assert rows.locator("b").count() == 0
            thread_row = rows.nth(by_message["thread says <b>hi</b>"])
            assert thread_row.locator(".sse-log-where").inner_text() == "loader"
            assert rows.nth(by_message["worker failed"]).locator(".sse-log-where").inner_text() == "worker-1"
            exc = rows.nth(by_message["lookup failed"]).locator(".sse-log-exc")
            assert "KeyError: 'key'" in exc.inner_text()
            # the level colour comes from the level's class
            error_colour = rows.nth(by_message["worker failed"]).locator(".sse-log-level").evaluate(
                "el => getComputedStyle(el).color")
            info_colour = rows.nth(by_message["kernel step 0"]).locator(".sse-log-level").evaluate(
                "el => getComputedStyle(el).color")
            assert error_colour != info_colour
            # level filter: WARNING and above
            page.locator(".sse-log-level-filter").select_option("30")
            playwright_api.expect(rows).to_have_count(3)
            # text filter (case-insensitive) on top of it
            page.locator(".sse-log-search").fill("WORKER")
            playwright_api.expect(rows).to_have_count(1)
            playwright_api.expect(rows.first.locator(".sse-log-message")).to_have_text("worker failed")
            page.locator(".sse-log-search").fill("")
            page.locator(".sse-log-level-filter").select_option("0")
            playwright_api.expect(rows).to_have_count(7)
            # pause: new records are held, then drawn on resume
            page.locator(".sse-log-pause").click()
            live_publish(live_server, f"{p}/logs", "while paused")
            playwright_api.expect(page.locator(".sse-log-info")).to_have_text("paused · 1 new", timeout=30_000)
            assert rows.count() == 7
            page.locator(".sse-log-pause").click()
            playwright_api.expect(rows).to_have_count(8)
            playwright_api.expect(rows.last.locator(".sse-log-message")).to_have_text("while paused")
            # the bar ran alongside
            task = page.locator(".sse-task[data-task='work']")
            playwright_api.expect(task.locator(".sse-task-status")).to_have_text("done")
            # Notebook 7 itself raises one about a settings schema now and then; ours name sse.
            assert not [e for e in wp.errors if "sse" in e.lower()], wp.errors
        finally:
            wp.close()
    assert len(events(live_server, f"{p}/logs", "log")) == 8


def live_publish(server: JupyterServer, channel: str, message: str) -> None:
    """Publish one log record the way LogHandler would, over the HTTP API."""
    import urllib.request

    record = {"time": time.time(), "level": "INFO", "levelno": 20, "logger": "outside",
              "message": message, "process": "MainProcess", "pid": 1, "thread": "MainThread",
              "module": "x", "line": 1, "exc": None}  # fmt: skip
    request = urllib.request.Request(
        server.url + "sse-widgets/api/publish",
        data=json.dumps({"channel": channel, "type": "log", "data": record}).encode(), method="POST",
        headers={"X-SSE-Widgets-Key": server.key, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
