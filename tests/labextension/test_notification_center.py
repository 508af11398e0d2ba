"""The JupyterLab extension in real Chromium: ``sse-widgets notify`` from a shell shows in the
notification center of every JupyterLab and Notebook 7 window of the server, once per window,
with no widget on screen; and as one desktop notification per browser while no tab is visible.

What the tests read: the toasts' DOM (``.jp-toast-message``), the notification center's list,
the extension's hook (``globalThis.__sseWidgetsLab.shown``: the ids it handed to JupyterLab),
and, for the desktop, the calls to ``window.Notification`` counted by an init script that
wraps the real constructor.
"""

from __future__ import annotations

import os
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import DESKTOP_PROBE, desktop_summary, lab_user_settings
from publisher.test_readme_claims_live import cli
from servers import JupyterServer

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FOLLOWING = """() => globalThis.__sseWidgetsLab?.state === 'following'
  && globalThis.__sseWidgets?.connection().state === 'live'"""
TOASTS = "(text) => [...document.querySelectorAll('.jp-toast-message')].filter(e => e.textContent.includes(text)).length"
SHOWN = "() => globalThis.__sseWidgetsLab.shown.length"



def open_window(context: Any, server: JupyterServer, ui: str) -> Any:
    """A JupyterLab (own workspace, so windows do not share a layout) or Notebook 7 window."""
    page = context.new_page()
    path = f"lab/workspaces/w{uuid.uuid4().hex[:6]}?reset&" if ui == "lab" else "tree?"
    page.goto(f"{server.url}{path}token={server.token}")
    page.wait_for_function(FOLLOWING, timeout=90_000)
    return page


def notify(server: JupyterServer, message: str, *args: str) -> None:
    done = cli(server.env, "notify", message, *args)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    made = browser.new_context(viewport={"width": 1300, "height": 800})
    try:
        yield made
    finally:
        made.close()


def test_a_notify_from_a_shell_shows_once_in_every_lab_window_with_no_widget(
    context: Any, lab_server: JupyterServer
) -> None:
    windows = [open_window(context, lab_server, "lab") for _ in range(2)]
    dialogs: list[str] = []
    for window in windows:
        window.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    before = [window.evaluate(SHOWN) for window in windows]
    payload = f"<img src=x onerror=alert(1)> backup done {uuid.uuid4().hex[:6]}"
    notify(lab_server, payload, "--level", "success", "--title", "<b>Backup</b>")
    for window in windows:
        window.wait_for_function(TOASTS, arg=payload, timeout=30_000)
        toast = window.locator(".jp-toast-message", has_text=payload)
        # Text, never HTML: the markup is shown as characters and makes no element.
        playwright_api.expect(toast).to_have_text(f"<b>Backup</b>: {payload}")
        assert toast.locator("img, b").count() == 0
        assert window.locator(".Toastify__toast--success", has_text=payload).count() == 1
    # An error: it stays until dismissed, and a later event shows after it.
    failure = f"backup failed {uuid.uuid4().hex[:6]}"
    notify(lab_server, failure, "--level", "error")
    for i, window in enumerate(windows):
        window.wait_for_function(TOASTS, arg=failure, timeout=30_000)
        assert window.locator(".Toastify__toast--error", has_text=failure).count() == 1
        # Once per window: two events, two notifications, whatever the number of windows.
        assert window.evaluate(SHOWN) == before[i] + 2
        assert window.evaluate(TOASTS, payload) == 1
    # The notification center (the status bar's bell) lists both.
    first = windows[0]
    first.locator(".jp-Notification-Status").click()
    center = first.locator(".jp-Notification-Center")
    playwright_api.expect(center).to_contain_text(payload)
    playwright_api.expect(center).to_contain_text(failure)
    assert dialogs == []
    # The README's picture: SSE_WIDGETS_LAB_SCREENSHOT=docs/lab_notifications.png
    if os.environ.get("SSE_WIDGETS_LAB_SCREENSHOT"):
        notify(lab_server, "40 epochs, val_loss 0.031", "--level", "success", "--title", "Training finished")
        notify(lab_server, "nightly ETL: 3 tables refreshed", "--level", "info", "--title", "Backup done")
        playwright_api.expect(center).to_contain_text("val_loss 0.031")
        first.wait_for_function(TOASTS, arg="3 tables refreshed", timeout=30_000)
        first.screenshot(path=os.environ["SSE_WIDGETS_LAB_SCREENSHOT"])


def test_notebook_7_windows_show_the_notification_too(context: Any, lab_server: JupyterServer) -> None:
    window = open_window(context, lab_server, "notebook")
    message = f"report ready {uuid.uuid4().hex[:6]}"
    notify(lab_server, message, "--level", "info")
    window.wait_for_function(TOASTS, arg=message, timeout=30_000)
    assert window.locator(".Toastify__toast--info", has_text=message).count() == 1
    assert window.evaluate(SHOWN) >= 1


def test_a_reload_does_not_show_the_same_notification_again(context: Any, lab_server: JupyterServer) -> None:
    window = open_window(context, lab_server, "lab")
    message = f"only once {uuid.uuid4().hex[:6]}"
    notify(lab_server, message, "--level", "warning", "--timeout-ms", "60000")
    window.wait_for_function(TOASTS, arg=message, timeout=30_000)
    window.reload()
    window.wait_for_function(FOLLOWING, timeout=90_000)
    later = f"after the reload {uuid.uuid4().hex[:6]}"
    notify(lab_server, later, "--level", "info")
    window.wait_for_function(TOASTS, arg=later, timeout=30_000)
    # The window resumed after the last event it showed: the first one is not shown again,
    # though its minute is not over.
    assert window.evaluate(TOASTS, message) == 0


def total(windows: list[Any]) -> int:
    return sum(int(window.evaluate("() => window.__notifications.length")) for window in windows)


# What the stream's host knows of desktop notifications, asked of a window that can tell:
# any, with a SharedWorker; the leader tab, without one.
HOST_DESKTOP_IS = """async ([opted, visible]) => {
  const d = (await globalThis.__sseWidgets.connection().info()).desktop;
  return d !== undefined && d !== null && (opted === null || d.opted === opted) && d.visible === visible;
}"""


@pytest.mark.parametrize("host", ["worker", "leader"])
def test_desktop_notifications_show_once_per_browser_and_only_while_no_tab_is_visible(
    browser: Any, lab_server: JupyterServer, host: str
) -> None:
    lab_user_settings(lab_server, "sse-widgets-lab:plugin", {"desktopNotifications": True, "desktopLevel": "success"})
    context = browser.new_context(viewport={"width": 1300, "height": 800})
    try:
        where = urllib.parse.urlsplit(lab_server.url)
        context.grant_permissions(["notifications"], origin=f"{where.scheme}://{where.netloc}")
        context.add_init_script(DESKTOP_PROBE)
        if host == "leader":  # browsers without SharedWorker: a Web Locks leader tab hosts it
            context.add_init_script("delete window.SharedWorker")
        windows = [open_window(context, lab_server, "lab") for _ in range(3)]
        modes = [window.evaluate("() => globalThis.__sseWidgets.mode") for window in windows]
        assert sorted(modes) == (["worker"] * 3 if host == "worker" else ["follower", "follower", "leader"]), modes
        hosting = windows[modes.index(host)]
        # Every window opted in with the stream's host, all visible.
        hosting.wait_for_function(HOST_DESKTOP_IS, arg=[3, 3], timeout=30_000)

        def barrier(level: str) -> None:
            """An event every window shows in Lab: by then each has had what came before it."""
            marker = f"barrier {uuid.uuid4().hex[:6]}"
            notify(lab_server, marker, "--level", level)
            for window in windows:
                window.wait_for_function(TOASTS, arg=marker, timeout=30_000)

        # Visible tabs: the toasts say it; nothing on the desktop.
        notify(lab_server, "while looking", "--level", "success")
        barrier("info")
        assert total(windows) == 0

        for window in windows:
            window.evaluate("() => window.__setVisibility('hidden')")
        hosting.wait_for_function(HOST_DESKTOP_IS, arg=[None, 0], timeout=30_000)
        notify(lab_server, "build finished", "--level", "success", "--title", "CI")
        for _ in range(300):  # in the pages' event loop, so the browser keeps running
            if total(windows) >= 1:
                break
            windows[0].wait_for_timeout(100)
        barrier("info")  # below the chosen level: no desktop notification for it
        shown = [window.evaluate("() => window.__notifications") for window in windows]
        assert sum(len(s) for s in shown) == 1, shown
        assert [n for s in shown for n in s] == [{"title": "CI", "body": "build finished"}]

        # One tab visible again: no desktop notification.
        windows[1].evaluate("() => window.__setVisibility('visible')")
        hosting.wait_for_function(HOST_DESKTOP_IS, arg=[None, 1], timeout=30_000)
        notify(lab_server, "another build", "--level", "error")
        barrier("info")
        assert total(windows) == 1
        assert desktop_summary(hosting)["opted"] == 3
    finally:
        context.close()
        lab_user_settings(lab_server, "sse-widgets-lab:plugin", {})
