"""Streams that only the widgets' tickets open, in Chromium: JupyterLab with the login cookie
taken off every stream request (as JupyterHub ignores it for EventSource), and an expired
ticket renewed through the kernel.

Every other browser test opens its page with ``?token=``, so the login cookie also rides
on the stream's EventSource and Jupyter's own auth lets it in before any ticket is read.
Here the page goes through ``tests/cookieless_proxy.py``, which removes the Cookie header
from each ``sse-widgets/api/stream`` request; the widgets must stream with their tickets.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cookieless_proxy import CookielessProxy, StreamRequest
from servers import JupyterServer
from test_browser import CHART_HAS, SETUP, Page, browser, built, quiet_lab

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

__all__ = ["browser", "built", "quiet_lab"]  # fixtures, defined beside the other browser tests

# Whether the chart on `channel` holds a ticket whose expiry has passed (`expired` true) or not.
TICKET_EXPIRED = """([channel, expired]) => {
  const s = [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
    .find(s => s.kind === 'chart' && s.channels.includes(channel));
  const ticket = s && s.model.get('ticket');
  if (!ticket) return false;
  const payload = JSON.parse(atob(ticket.split('.')[0].replace(/-/g, '+').replace(/_/g, '/')));
  return (payload.e < Date.now() / 1000) === expired;
}"""


class ThroughProxy:
    """The server as the browser sees it: every request through the cookieless proxy."""

    def __init__(self, server: JupyterServer, proxy: CookielessProxy) -> None:
        self.root_dir, self.token = server.root_dir, server.token
        self.url = f"http://127.0.0.1:{proxy.port}{server.base_url}"


def tickets(entry: StreamRequest) -> list[str]:
    """The tickets a stream request carried: in the cookies its URL names (browsers), or
    in the URL where cookies cannot go."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(entry.target).query)
    return [c.split("=", 1)[1] for c in entry.ticket_cookies] + query.get("auth_ticket", [])


@pytest.fixture
def cookieless(browser: Any, live_server: JupyterServer, built: None, quiet_lab: None) -> Iterator[Any]:
    proxy = CookielessProxy(live_server.port)
    pages: list[Page] = []

    def open_(cells: list[str]) -> tuple[Page, CookielessProxy]:
        page = Page(browser, ThroughProxy(live_server, proxy), "lab", f"k-{uuid.uuid4().hex[:8]}.ipynb", cells)
        pages.append(page)
        return page, proxy

    yield open_
    for page in pages:
        page.close()
    proxy.close()


def status_without_cookie(url: str) -> int:
    """The status a stream URL gets with no cookie and no token (the headers only)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "text/event-stream"}),
                                    timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_lab_streams_with_tickets_alone_and_renews_an_expired_one_through_the_kernel(
    cookieless: Any, live_server: JupyterServer
) -> None:
    p = f"k{uuid.uuid4().hex[:6]}"
    page, proxy = cookieless([
        SETUP + f'chart = sw.LiveChart("{p}/train", title="tickets only")\nchart',
        f'publish([{{"channel": "{p}/train", "type": "metric", "data": {{"x": 1, "values": {{"v": 1}}}}}}])',
        # An expired ticket, as a page left open past TICKET_TTL would hold.
        f"""
import time
from sse_widgets.protocol import mint_ticket
chart.ticket = mint_ticket(os.environ["SSE_WIDGETS_KEY"], ["{p}/train"], 60, now=time.time() - 3600)
expired = chart.ticket
""",
        f"""
from sse_widgets.protocol import verify_ticket
print(chart.ticket != expired, verify_ticket(os.environ["SSE_WIDGETS_KEY"], chart.ticket))
publish([{{"channel": "{p}/train", "type": "metric", "data": {{"x": 2, "values": {{"v": 2}}}}}}])
""",
    ])
    page.run_cell(0)
    page.run_cell(1)
    page.wait(CHART_HAS, [f"{p}/train", 1])
    opened = [r for r in proxy.streams if r.status == 200]
    assert opened, proxy.streams
    assert all(r.had_cookie for r in proxy.streams), "the browser sent its login cookie; the proxy took it off"
    assert all(tickets(r) and "token=" not in r.target for r in opened), proxy.streams
    # Without its ticket the same request is refused: the ticket is what opened it.
    url = f"{live_server.url}{opened[-1].target.lstrip('/')}"
    assert status_without_cookie(url) == 403
    ticket = urllib.parse.quote(tickets(opened[-1])[0])
    in_url = re.sub(r"&ticket_cookies=[^&]*", "", url) + f"&auth_ticket={ticket}"
    assert status_without_cookie(in_url) == 200

    # The kernel swaps in an expired ticket; deleting the channel's history ends the stream,
    # so the page reconnects with it, is refused, asks the kernel, and streams again.
    page.run_cell(2)
    page.wait(TICKET_EXPIRED, [f"{p}/train", True])  # the page has the expired ticket
    before = len(proxy.streams)
    live_server.api("DELETE", f"sse-widgets/api/channels/{p}/train")
    page.wait(TICKET_EXPIRED, [f"{p}/train", False], timeout=60_000)  # renewed by the kernel
    page.wait(
        "() => [...globalThis.__sseWidgets.connections.values()][0].state === 'live'")
    later = proxy.streams[before:]
    refused = [r for r in later if r.status == 403]
    reopened = [r for r in later if r.status == 200]
    assert refused and reopened, later
    assert tickets(refused[0]) != tickets(reopened[-1])
    page.run_cell(3)
    page.wait(
        "(channel) => [...globalThis.__sseWidgets.stores.values()].some(s => s.kind === 'chart'"
        " && s.channels.includes(channel) && s.snapshot().x.includes(2))", f"{p}/train")
    output = page.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(3)
    stdout = output.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']")
    playwright_api.expect(stdout).to_contain_text(f"True ['{p}/train']")
    assert page.errors == []
