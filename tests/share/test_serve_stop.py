"""Stop from a shared dashboard (``sse-widgets serve``): a viewer may stop what a cancel=True widget shows, nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import WidgetPage, chromium, require_built_js
from servers import free_port
from share_support import Command, clean_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOTH_LIVE = """() => ['s/a', 's/b'].every(c => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'progress' && s.channels.includes(c) && s.state === 'live'))"""

# The page's own Stop request, with the ticket of the board that follows `channel`.
POST_WITH_TICKET = """async ([channel, task]) => {
  const store = [...globalThis.__sseWidgets.stores.values()].find(s => s.kind === 'progress' && s.channels.includes(channel));
  const response = await fetch('/sse-widgets/api/cancel', {method: 'POST',
    headers: {'Content-Type': 'application/json', 'X-SSE-Widgets-Ticket': store.model.get('ticket')},
    body: JSON.stringify({channel, task})});
  return [response.status, await response.json()];
}"""

LOOP = """
    import sys, time
    import sse_widgets as sw
    try:
        for i in sw.progress(range(10**6), desc=sys.argv[2], channel=sys.argv[1], task=sys.argv[2]):
            time.sleep(0.01)
    except sw.Cancelled as exc:
        print("caught", exc, flush=True)
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_built_js()
    with chromium() as launched:
        yield launched


def test_a_viewer_stops_a_task_of_a_cancel_board_and_is_refused_elsewhere(browser: Any, tmp_path: Path) -> None:
    book = tmp_path / f"stop-{uuid.uuid4().hex[:6]}.ipynb"
    cells = ['import sse_widgets as sw\nsw.ProgressBoard("s/a", cancel=True, title="may stop")',
             'sw.ProgressBoard("s/b", title="view only")']
    book.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                   "outputs": [], "source": c} for i, c in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }))  # fmt: skip
    port = free_port()
    serve = Command("serve", str(book), "--no-browser", "--port", str(port))
    producers: list[subprocess.Popen[str]] = []
    page: WidgetPage | None = None
    try:
        url = serve.wait_for(r"^Share \(view only, valid 1 week\): (\S+)").group(1)
        exports = {n: serve.wait_for(rf"export {n}=(\S+)").group(1) for n in ("SSE_WIDGETS_URL", "SSE_WIDGETS_KEY")}
        for channel, task in (("s/a", "stoppable"), ("s/b", "protected")):
            producers.append(subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(LOOP), channel, task],
                env=clean_env(**exports), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))  # fmt: skip
        page = WidgetPage(browser)
        page.page.goto(url)
        page.wait(BOTH_LIVE, timeout=90_000)
        from playwright.sync_api import expect

        expect(page.page.locator(".sse-task[data-task='protected'] .sse-task-status")).to_have_text("running", timeout=30_000)
        assert page.page.get_by_role("button", name="Stop protected").count() == 0
        status, body = page.js(POST_WITH_TICKET, ["s/b", "protected"])
        assert status == 403 and "without cancel=True" in body["message"]
        # A cancel=True ticket covers only its own channels.
        status, body = page.js(POST_WITH_TICKET, ["s/a", "protected"])
        assert status == 404  # allowed on s/a, and there is no such task there

        page.page.get_by_role("button", name="Stop stoppable").click(timeout=30_000)
        out, _ = producers[0].communicate(timeout=60)
        assert "caught stopped from the dashboard" in out
        expect(page.page.locator(".sse-task[data-task='stoppable'] .sse-task-status")).to_have_text("cancelled")
        assert producers[1].poll() is None  # the other task runs on
    finally:
        if page is not None:
            page.context.close()
        for proc in producers:
            proc.kill()
        serve.kill_all()
