"""``browser=`` on streams and ``GET sse-widgets/api/viewers`` against a real server."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from servers import JupyterServer
from sse_client import SSEStream

from sse_widgets.protocol import mint_ticket


def get(server: JupyterServer, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(server.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_a_bad_browser_id_is_a_400_that_says_what_is_allowed(live_server: JupyterServer) -> None:
    status, body = get(live_server, f"sse-widgets/api/stream?channel=v/a&browser=no!&token={live_server.token}")
    assert status == 400 and "8 to 32 letters or digits" in body["message"]


def test_viewers_counts_browsers_for_the_key_a_ticket_or_jupyter_auth_and_no_one_else(
    live_server: JupyterServer,
) -> None:
    ask = "sse-widgets/api/viewers?" + urllib.parse.urlencode([("channel", "v/*")])
    with SSEStream(live_server.url, ["v/a"], token=live_server.token, extra=[("browser", "browserone")]), \
            SSEStream(live_server.url, ["v/*"], token=live_server.token, extra=[("browser", "browserone")]), \
            SSEStream(live_server.url, ["v/b"], token=live_server.token, extra=[("browser", "browsertwo")]):
        assert get(live_server, ask, {"X-SSE-Widgets-Key": live_server.key}) == (
            200, {"channels": ["v/*"], "browsers": 2})
        ticket = mint_ticket(live_server.key, ["v/*"], 60)
        assert get(live_server, f"{ask}&auth_ticket={ticket}")[1]["browsers"] == 2
        assert get(live_server, f"{ask}&token={live_server.token}")[1]["browsers"] == 2
        status, body = get(live_server, ask)
        assert status == 403 and "ticket" in body["message"]
        narrow = mint_ticket(live_server.key, ["v/a"], 60)
        assert get(live_server, f"{ask}&auth_ticket={narrow}")[0] == 403  # v/* is wider
    status, body = get(live_server, "sse-widgets/api/viewers", {"X-SSE-Widgets-Key": live_server.key})
    assert status == 400 and "channel=" in body["message"]
