"""``sse-widgets demo`` for real: its page moves within seconds, and Ctrl-C stops it all.

"All" is every process the command started, found under it in ``/proc`` while it runs:
the Jupyter server, the Voila kernel of the page, the simulated workload and the worker
processes of its pool (which live in the workload's process group).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import CHART_HAS, WidgetPage, chromium, require_built_js
from servers import free_port
from share_support import Command, still_running, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# True once a chart following `channel` holds more points than `before`.
CHART_GREW = """([channel, before]) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes(channel) && s.count > before)"""

# True once a progress board shows a task that is running and has counted something.
BAR_MOVING = """() => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'progress' && s.snapshot().some(t => t.status === 'running' && t.n > 0))"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_built_js()
    with chromium() as browser:
        yield browser


def test_demo_page_moves_and_ctrl_c_stops_every_process_it_started(browser: Any) -> None:
    from playwright.sync_api import expect

    demo = Command("demo", "--no-browser", "--port", str(free_port()))
    page: WidgetPage | None = None
    try:
        url = demo.wait_for(r"^Share \(view only[^)]*\): (\S+)").group(1)
        assert "share_token=" in url and "token=" not in url.replace("share_token=", "")
        demo.wait_for(r"^Owner \(full access, keep private\): \S+\?token=")
        page = WidgetPage(browser)
        page.page.goto(url)
        page.wait(CHART_HAS, ["train", 1], timeout=90_000)
        # Moving curves: more points at a second read than at the first. (A new run
        # restarts the chart, so the read is of the count, not of a fixed number.)
        first = page.chart("train")["count"]
        page.wait(CHART_GREW, ["train", first])
        page.wait(BAR_MOVING)
        expect(page.page.locator(".sse-task").first).to_be_visible()
        expect(page.page.locator(".sse-chart .sse-status").first).to_have_text("live")
        assert page.errors == []

        # Record what runs under the command once the workload's pool has its workers.
        def started() -> Any:
            tree = demo.record()
            # Pool workers are forks of the workload, with its command line: tell them by parent.
            workloads = [p for p in tree.values()
                         if "sse_widgets.share.demo.workload" in p.cmd and p.ppid == demo.pid]
            workers = [p for p in tree.values() if workloads and p.ppid == workloads[0].pid]
            kernels = [p for p in tree.values() if "ipykernel" in p.cmd]
            servers = [p for p in tree.values() if "jupyter_server" in p.cmd]
            if len(workloads) == 1 and len(workers) >= 3 and kernels and len(servers) == 1:
                return tree
            return None

        tree = wait_until(started, 60, lambda: f"expected server, kernel, workload, workers: {demo.record()}")

        demo.interrupt()
        assert demo.wait(60) == 0, demo.output
        assert still_running(tree) == [], demo.output
    finally:
        if page is not None:
            page.close()
        demo.kill_all()
