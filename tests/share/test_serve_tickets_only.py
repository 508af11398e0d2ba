"""A Voilà dashboard from ``sse-widgets serve`` whose stream requests carry no usable login
cookie (``tests/cookieless_proxy.py`` takes it off, as JupyterHub ignores it): the widgets,
made in a Voilà kernel, stream with the tickets they carry, in Chromium."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
from browser_support import CHART_HAS, WidgetPage, chromium, require_built_js
from cookieless_proxy import CookielessProxy
from servers import free_port
from share_support import NOTEBOOKS, Command
from sse_client import publish

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DASHBOARD_LIVE = """() => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes('etl/throughput') && s.state === 'live')"""

# The public client, from the page: a subscription with no ticket for its channel.
REFUSED_SUBSCRIBER = """async () => {
  const client = await import(new URL("/sse-widgets/static/sse-client.js", location.origin).href);
  window.__refusedEvents = 0;
  client.subscribe({
    channels: ["t/not-yours"],
    onEvent: () => { window.__refusedEvents += 1; },
    onRefused: (reason) => { window.__refused = reason; },
  });
}"""


def test_a_voila_dashboard_streams_with_its_widgets_tickets_alone() -> None:
    require_built_js()
    port = free_port()
    serve = Command("serve", str(NOTEBOOKS / "voila_dashboard.ipynb"), "--no-browser", "--port", str(port))
    proxy: CookielessProxy | None = None
    page: WidgetPage | None = None
    try:
        url = serve.wait_for(r"^Owner \(full access, keep private\): (\S+)").group(1)
        key = serve.wait_for(r"export SSE_WIDGETS_KEY=(\S+)").group(1)
        proxy = CookielessProxy(port)
        through = url.replace(f"127.0.0.1:{port}", f"127.0.0.1:{proxy.port}", 1)
        with chromium() as browser:
            page = WidgetPage(browser)
            page.page.goto(through)
            page.wait(DASHBOARD_LIVE, timeout=90_000)

            def point_reaches_the_chart(x: int) -> None:
                status, _ = publish(f"http://127.0.0.1:{port}/", key, {
                    "channel": "etl/throughput", "type": "metric",
                    "data": {"x": x, "values": {"rows_per_s": 40.0 + x}}})
                assert status == 200
                page.wait(CHART_HAS, ["etl/throughput", x])

            point_reaches_the_chart(1)
            # A subscriber this page's tickets do not cover joins the browser's shared
            # stream. It is refused and taken off; the widgets stream on. (It refused the
            # whole stream before: every widget of every tab went offline.)
            page.js(REFUSED_SUBSCRIBER)
            reason = page.wait("() => window.__refused", timeout=60_000)
            assert "do not cover" in reason and "t/not-yours" in reason, reason
            point_reaches_the_chart(2)
            page.wait(DASHBOARD_LIVE)
            assert page.js("() => window.__refusedEvents") == 0
            streams: list[Any] = list(proxy.streams)
            page.close()
            page = None
        opened = [r for r in streams if r.status == 200]
        assert opened and all(r.had_cookie for r in streams), streams  # taken off by the proxy
        for request in opened:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query)
            # Tickets ride in cookies the URL names, never in the URL itself.
            assert query.get("ticket_cookies") and not {"ticket", "auth_ticket", "token"} & set(query), request
        # The Lab extension asks once whether this page may follow `notify` without a ticket;
        # with no Jupyter login the answer is no, and it then stays off the shared stream.
        probes = [r for r in streams if r.target.endswith("stream?channel=notify") and not r.ticket_cookies]
        assert [r.status for r in probes] in ([], [403]), probes
        asked_too_much = [r for r in streams if "t%2Fnot-yours" in r.target or "t/not-yours" in r.target]
        assert asked_too_much and all(r.status == 403 for r in asked_too_much), asked_too_much
        assert not [r for r in streams if r.status not in (200, None) and r not in probes + asked_too_much], streams
    finally:
        if page is not None:
            page.close()
        if proxy is not None:
            proxy.close()
        serve.kill_all()
