"""sse-widgets behind a real JupyterHub, as a user meets it, in real Chromium.

One Hub for the module (configurable-http-proxy, DummyAuthenticator,
SimpleLocalProcessSpawner, all on 127.0.0.1), and one user. The user logs in, opens
JupyterLab, runs a dashboard cell; the widgets stream over SSE with tickets, keep their
history across a reload, and follow a script that publishes from outside the Hub with a Hub
API token. Then the user's server stops while the page still reconnects, so the Hub itself
answers the stream's requests (302, 424), and the page is logged out of the Hub too (302 to
the login page with the whole URI in ``next``). Neither the single-user server's log nor the
Hub's (with its proxy's) may hold a ticket at any point.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import CHART_HAS, chromium, require_built_js
from hub_support import JupyterHub

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USER = "alice"
# Every ticket starts so: base64url of '{"c":[' (protocol.mint_ticket).
TICKET_HEAD = "eyJjIjpb"

DASHBOARD = """\
import sse_widgets as sw
chart = sw.LiveChart("hub/train", series=["loss"], title="Training")
board = sw.ProgressBoard("hub/jobs", title="Jobs")
sw.Dashboard([chart, board], title="Behind JupyterHub")
"""

LOOP = """\
for step in sw.progress(range(20), desc="fit", channel="hub/jobs"):
    sw.metric("hub/train", x=step, loss=1 / (step + 1))
report = sw.flush()
assert report.ok, report

# The history endpoint, with a ticket under each parameter name, and a bad one: requests
# the single-user server logs (JupyterHub's logger writes 2xx at info level).
import os, urllib.error, urllib.request
base = os.environ["SSE_WIDGETS_URL"] + "sse-widgets/api/channels/hub/train/events?limit=1&"
for query in ("auth_ticket=" + sw.ticket("hub/train"), "ticket=" + sw.ticket("hub/*"),
              "auth_ticket=" + sw.ticket("other")):
    try:
        urllib.request.urlopen(base + query).read()
    except urllib.error.HTTPError as exc:
        assert exc.code == 403, exc
print("published")
"""

CHART_X = """() => [...globalThis.__sseWidgets.stores.values()]
  .find(s => s.kind === 'chart' && s.channels.includes('hub/train')).snapshot(1000).x"""

STATES = """() => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .map(s => [s.kind, s.state, s.transport])"""


@pytest.fixture(scope="module")
def hub() -> Iterator[JupyterHub]:
    require_built_js()
    started = JupyterHub().start()
    try:
        started.start_server(USER)
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def wait_for_hub_log(hub: JupyterHub, page: Any, *words: str) -> None:
    """Wait until one line of the Hub's log has all of ``words``; the page reconnects at
    once rather than after its backoff."""
    page.js("() => { for (const c of globalThis.__sseWidgets.connections.values()) c.retryNow(); }")
    for _ in range(240):
        if any(all(w in line for w in words) for line in hub.log().splitlines()):
            return
        page.page.wait_for_timeout(250)  # the page's timers run meanwhile
    raise AssertionError(f"no line with {words} in the Hub's log:\n{hub.log()[-3000:]}")


def assert_no_ticket(text: str, where: str) -> None:
    at = text.find(TICKET_HEAD)
    assert at < 0, f"a ticket in the {where} log: ...{text[max(0, at - 300):at + 100]}"


def test_dashboard_streams_with_tickets_behind_jupyterhub_and_no_log_holds_a_ticket(
    hub: JupyterHub, browser: Any
) -> None:
    from widgets.test_browser import Page  # how a Lab page is driven, shared with those tests

    class HubPage(Page):
        """A notebook in the user's JupyterLab, opened through the Hub's login form."""

        @property
        def url(self) -> str:
            return f"{hub.url}user/{USER}/lab/tree/{self.name}?reset"

        def open(self) -> None:
            self.page.goto(f"{hub.url}hub/login?next=/user/{USER}/lab/tree/{self.name}%3Freset")
            self.page.fill("#username_input", USER)
            self.page.fill("#password_input", "any")
            self.page.click("#login_submit")
            self.page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)

    home = hub.dir / "home" / USER

    class Where:  # what Page needs of a server: where to write the notebook
        root_dir = home

    page = HubPage(browser, Where, "lab", "dashboard.ipynb", [DASHBOARD, LOOP])
    try:
        # Live over SSE, with tickets.
        page.run_cell(0)
        page.run_cell(1)
        page.wait(CHART_HAS, ["hub/train", 20], timeout=60_000)
        page.wait("() => [...globalThis.__sseWidgets.stores.values()].some(s => s.kind === 'progress'"
                  " && s.snapshot().some(t => t.status === 'done' && t.n === 20))")
        states = page.js(STATES)
        assert states and all(state == "live" and transport == "sse" for _, state, transport in states), states
        status = page.page.locator(".sse-status").first
        assert status.inner_text() == "live"  # not "live · comm"
        # The page sends its tickets as cookies: the URLs only name the jar.
        urls = page.js("async () => (await globalThis.__sseWidgets.connection().info()).urls")
        assert urls and all("ticket_cookies=" in url and TICKET_HEAD not in url for url in urls), urls
        cookies = [c for c in page.context.cookies() if c["name"].startswith("sse-widgets-ticket-")]
        assert cookies and all(c["value"].startswith(TICKET_HEAD) for c in cookies), cookies
        ticket = cookies[0]["value"]

        # History after a reload: nothing runs again.
        page.save()  # else "leave the page?" holds the reload
        page.reload()
        page.wait(CHART_HAS, ["hub/train", 20], timeout=90_000)
        assert page.js(CHART_X) == list(range(20))

        # A script outside the Hub publishes with a Hub API token of the user.
        token = hub.user_token(USER)
        script = textwrap.dedent(f"""
            import sse_widgets as sw
            sw.connect({hub.url + 'user/' + USER + '/'!r}, token={token!r})
            sw.metric("hub/train", x=100, loss=0.001)
            report = sw.flush(timeout=30)
            assert report.ok, report
        """)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SSE_WIDGETS_", "JUPYTER"))}
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)
        page.wait(CHART_HAS, ["hub/train", 21])
        assert page.js(CHART_X)[-1] == 100

        # The user's server stops while the page keeps reconnecting: the Hub answers the
        # stream now (302 from /user/ to /hub/user/, then 424 for a server that is not running).
        hub.stop_server(USER)
        page.wait("() => [...globalThis.__sseWidgets.stores.values()].every(s => s.state !== 'live')")
        wait_for_hub_log(hub, page, f"424 GET /hub/user/{USER}/sse-widgets/api/stream?", "ticket_cookies=")
        # A script's request, with the ticket in the query and the Hub token in a header.
        request = urllib.request.Request(
            f"{hub.url}user/{USER}/sse-widgets/api/stream?channel=hub/train&auth_ticket={ticket}",
            headers={"Authorization": f"token {token}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 424
        wait_for_hub_log(hub, page, f"424 GET /hub/user/{USER}/sse-widgets/api/stream?", "auth_ticket=[secret]")

        # Logged out of the Hub as well: the Hub redirects the stream's requests to its login
        # page with the whole URI in ?next=, which it logs unscrubbed.
        page.context.clear_cookies()
        wait_for_hub_log(hub, page, f"/hub/user/{USER}/sse-widgets/api/stream?", "-> /hub/login?next=")
    finally:
        page.close()

    hub_log, user_log = hub.log(), hub.user_log(USER)
    # The requests that would have shown tickets were logged, scrubbed.
    assert f"302 GET /user/{USER}/sse-widgets/api/stream?" in hub_log
    assert "sse-widgets/api/channels/hub/train/events?limit=1&auth_ticket=[secret]" in user_log
    assert "sse-widgets/api/channels/hub/train/events?limit=1&ticket=[secret]" in user_log
    assert_no_ticket(hub_log, "Hub's")
    assert_no_ticket(user_log, "single-user server's")
