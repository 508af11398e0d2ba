"""``sse-widgets serve`` for real: Voila pages in Chromium, a producer in another process.

Every viewer opens the share link, as the people it is sent to would. Two viewers watch while ``notebooks/producer.py`` (run with the two variables ``serve``
printed, as a user would in another shell) publishes; both see the same points and bars.
A third viewer who comes after the producer finished gets the whole history, and so does
a reload. Ctrl-C then stops the command and everything it started: the Jupyter server and
every Voila kernel.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import CHART_HAS, WidgetPage, chromium, require_built_js
from servers import free_port
from share_support import (
    NOTEBOOKS,
    PRODUCER,
    Command,
    clean_env,
    hub_get,
    last_progress,
    still_running,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SOURCES = ["orders", "customers", "inventory", "payments"]
BATCHES = 12
POINTS = len(SOURCES) * BATCHES

# True once the page's chart for the producer's channel exists and its stream is live.
DASHBOARD_LIVE = """() => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes('etl/throughput') && s.state === 'live')"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_built_js()
    with chromium() as browser:
        yield browser


def open_dashboard(browser: Any, url: str) -> WidgetPage:
    page = WidgetPage(browser)
    page.page.goto(url)
    # Voila runs the notebook in a fresh kernel for each visit before the widgets appear.
    page.wait(DASHBOARD_LIVE, timeout=90_000)
    return page


def board(page: WidgetPage) -> dict[str, tuple[Any, ...]]:
    """The progress board's tasks as (n, total, status, parent), by task id."""
    boards = page.snapshots("progress")
    assert len(boards) == 1, boards
    return {t["task"]: (t["n"], t["total"], t["status"], t["parent"]) for t in boards[0]}


def test_two_viewers_a_producer_a_late_viewer_a_reload_then_ctrl_c_stops_everything(browser: Any) -> None:
    port = free_port()
    serve = Command("serve", str(NOTEBOOKS / "voila_dashboard.ipynb"), "--no-browser", "--port", str(port))
    pages: list[WidgetPage] = []
    try:
        # Viewers get the share link; the owner's (with the server's token) stays private.
        url = serve.wait_for(r"^Share \(view only, valid 1 week\): (\S+)").group(1)
        owner = serve.wait_for(r"^Owner \(full access, keep private\): (\S+)").group(1)
        exports = {name: serve.wait_for(rf"export {name}=(\S+)").group(1)
                   for name in ("SSE_WIDGETS_URL", "SSE_WIDGETS_KEY")}
        base = f"http://127.0.0.1:{port}/"
        assert url.startswith(f"{base}voila/render/voila_dashboard.ipynb?share_token=")
        assert owner.startswith(f"{base}voila/render/voila_dashboard.ipynb?token=")
        assert exports["SSE_WIDGETS_URL"] == base
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(owner).query)["token"][0]
        assert token not in url

        pages = [open_dashboard(browser, url), open_dashboard(browser, url)]

        producer = subprocess.run(
            [sys.executable, str(PRODUCER), "--batches", str(BATCHES), "--interval", "0.05"],
            env=clean_env(**exports), check=False, capture_output=True, text=True, timeout=120,
        )
        assert producer.returncode == 0, producer.stderr

        # What the hub holds is the reference every viewer must match.
        history = hub_get(base, "sse-widgets/api/channels/etl/throughput/events", token)["events"]
        assert [e["data"]["x"] for e in history] == list(range(1, POINTS + 1))
        rows_per_s = [e["data"]["values"]["rows_per_s"] for e in history]
        tasks = last_progress(hub_get(base, "sse-widgets/api/channels/etl/progress/events", token)["events"])
        assert {t: s["status"] for t, s in tasks.items()} == {
            "import": "done", **{f"import/{s}": "done" for s in SOURCES}}

        from playwright.sync_api import expect

        def check(page: WidgetPage) -> None:
            page.wait(CHART_HAS, ["etl/throughput", POINTS])
            chart = page.chart("etl/throughput", "rows_per_s")
            assert chart["count"] == POINTS, "each point once: no duplicates from replay and live"
            assert chart["x"] == list(range(1, POINTS + 1))
            assert chart["series"]["rows_per_s"] == pytest.approx(rows_per_s)
            page.wait("() => [...globalThis.__sseWidgets.stores.values()].some(s => s.kind === 'progress'"
                      " && s.snapshot().some(t => t.task === 'import' && t.status === 'done'))")
            tasks_shown = board(page)
            assert tasks_shown["import"] == (len(SOURCES), len(SOURCES), "done", None)
            for source in SOURCES:
                n, total, status, parent = tasks_shown[f"import/{source}"]
                assert (n == total, status, parent) == (True, "done", "import")
            row = page.page.locator(".sse-task[data-task='import']")
            expect(row.locator(".sse-task-status")).to_have_text("done")
            expect(row.locator(".sse-task-percent")).to_have_text("100%")
            page.wait("() => [...globalThis.__sseWidgets.stores.values()].some(s => s.kind === 'eventlog'"
                      " && s.total >= 5)")

        # The two pages that watched live, then one opened after the producer finished.
        for page in pages:
            check(page)
        assert board(pages[0]) == board(pages[1])
        for series in ("rows_per_s", "rejected_pct"):
            assert pages[0].chart("etl/throughput", series) == pages[1].chart("etl/throughput", series)
        late = open_dashboard(browser, url)
        pages.append(late)
        check(late)
        assert board(late) == board(pages[0])

        # A reload is a new visit: a new kernel, new widgets, the same history.
        late.page.reload()
        late.wait(DASHBOARD_LIVE, timeout=90_000)
        check(late)
        assert all(not p.errors for p in pages), [p.errors for p in pages]

        started = serve.record()
        kernels = [p for p in started.values() if "ipykernel" in p.cmd]
        servers = [p for p in started.values() if "jupyter_server" in p.cmd]
        assert len(servers) == 1, started
        assert len(kernels) >= 3, f"one Voila kernel per open page: {started}"

        serve.interrupt()
        assert serve.wait(60) == 0, serve.output
        assert "Stopping" in serve.output
        assert still_running(started) == [], serve.output
    finally:
        for page in pages:
            page.close()
        serve.kill_all()
