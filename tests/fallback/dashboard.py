"""The notebook the fallback browser tests run, and what its widgets must then show."""

from __future__ import annotations

from typing import Any

import pytest
from widgets.test_browser import notebook

playwright_api = pytest.importorskip("playwright.sync_api")

CELLS = [
    """
import threading
import sse_widgets as sw
chart = sw.LiveChart("demo/train", series=["loss"], title="Training")
fast = sw.LiveChart("demo/fast", window=2000, title="100k")
board = sw.ProgressBoard("demo/jobs", title="Jobs")
toasts = sw.Toasts("demo/notes")
sw.Dashboard([chart, fast, board, toasts], title="No hub")
""",
    """
for i in range(20):
    sw.metric("demo/train", x=i, loss=1 / (i + 1))
for _ in sw.progress(range(40), desc="fitting", channel="demo/jobs", task="fit"):
    pass

def from_a_thread():
    for i in range(20, 30):
        sw.metric("demo/train", x=i, loss=1 / (i + 1))
    sw.notify("from a thread", level="success", title="thread", channel="demo/notes", timeout_ms=None)

worker = threading.Thread(target=from_a_thread)
worker.start()
worker.join()
sw.flush()
""",
    """
for i in range(100_000):
    sw.metric("demo/fast", x=i, v=i % 1000)
print("loop done:", sw.flush(60))
""",
]

NOTEBOOK = notebook(*CELLS)

RATE_LIMITED = "IOPub message rate exceeded"

CHART_HAS = """([channel, count]) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes(channel) && s.count >= count)"""
LAST_X = """([channel, x]) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes(channel) && s.count > 0
        && s.snapshot(1).x[0] === x)"""


def charts(page: Any) -> dict[str, dict[str, Any]]:
    """Each chart's points (the last 2,000), by its channel."""
    found = page.evaluate(
        "() => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]"
        ".filter(s => s.kind === 'chart').map(s => ({...s.snapshot(2000), channels: s.channels,"
        " transport: s.transport}))")
    return {c["channels"][0]: c for c in found}


def wait(page: Any, expression: str, arg: Any, timeout: float = 60_000) -> None:
    try:
        page.wait_for_function(expression, arg=arg, timeout=timeout)
    except playwright_api.TimeoutError:
        raise AssertionError(f"timed out waiting for {expression} {arg}; charts: {charts(page)}") from None


def check_dashboard(page: Any) -> None:
    """The chart, progress bar and toast show what CELLS[1] published, and CELLS[2] ended right."""
    expect = playwright_api.expect
    wait(page, CHART_HAS, ["demo/train", 30])
    train = charts(page)["demo/train"]
    assert train["x"] == list(range(30)), "every point once, in order, the thread's included"
    assert train["series"]["loss"] == pytest.approx([1 / (i + 1) for i in range(30)])
    assert train["transport"] == "comm"
    fit = page.locator(".sse-task[data-task='fit']")
    expect(fit.locator(".sse-task-status")).to_have_text("done")
    expect(fit.locator(".sse-task-percent")).to_have_text("100%")
    expect(fit.locator(".sse-task-label")).to_have_text("fitting")
    expect(page.locator(".sse-toast .sse-toast-message")).to_have_text("from a thread")
    expect(page.locator(".sse-toast .sse-toast-title")).to_have_text("thread")
    expect(page.locator(".sse-chart .sse-status").first).to_have_text("live · comm")
    expect(page.locator(".sse-dashboard-header .sse-status")).to_have_text("live · comm")
    wait(page, LAST_X, ["demo/fast", 99_999])
    fast = charts(page)["demo/fast"]
    assert fast["x"] == sorted(fast["x"]) and fast["x"][-1] == 99_999
    assert fast["series"]["v"][-1] == 99_999 % 1000
    # No hub on this page: the widgets never tried one.
    assert page.evaluate("() => (window.__streamSources || []).length") == 0
