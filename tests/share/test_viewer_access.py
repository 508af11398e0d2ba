"""The share link of ``sse-widgets serve`` views the dashboard and does nothing else.

A real ``sse-widgets serve`` with a fixed ``--share-secret``, real Chromium opening the
printed share link, and requests made with that browser's viewer cookie: from the page
itself, over the kernel websocket, and to every route the server registers.
"""

from __future__ import annotations

import asyncio
import html
import http.client
import json
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from browser_support import WidgetPage, chromium, require_built_js
from servers import free_port
from share_support import NOTEBOOKS, Command

from sse_widgets.share.links import mint_link

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET = "a share secret only these tests know"
NOTEBOOK = "voila_dashboard.ipynb"
SHARE_LINE = r"^Share \(view only, valid 1 week\): (\S+)"
OWNER_LINE = r"^Owner \(full access, keep private\): (\S+)"
LIVE = """() => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes('etl/throughput') && s.state === 'live')"""
HERE = Path(__file__).resolve().parent


class Served:
    """One ``serve`` command: its links, and HTTP requests to it with any cookie."""

    def __init__(self, *extra: str, data_dir: Path):
        self.port = free_port()
        self.command = Command("serve", str(NOTEBOOKS / NOTEBOOK), "--no-browser", "--port",
                               str(self.port), *extra, env={"JUPYTER_DATA_DIR": str(data_dir)})
        self.base = f"http://127.0.0.1:{self.port}/"
        self.share = self.command.wait_for(SHARE_LINE).group(1)
        self.owner = self.command.wait_for(OWNER_LINE).group(1)
        self.command.wait_for("Press Ctrl-C to stop")
        self.token = urllib.parse.parse_qs(urllib.parse.urlsplit(self.owner).query)["token"][0]

    def request(self, method: str, path: str, cookie: str = "", token: str = "",
                body: bytes | None = None, timeout: float = 120) -> tuple[int, str, str]:
        """(status, reason, body as text) of one request; no redirects followed; status 0
        if no answer came in ``timeout`` seconds."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Cookie": cookie} if cookie else {}
        if token:
            headers["Authorization"] = f"token {token}"
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b"{}"
        try:
            connection.request(method, "/" + path.lstrip("/"), body=body, headers=headers)
            response = connection.getresponse()
            text = html.unescape(response.read(65536).decode(errors="replace"))
            return response.status, response.reason, text
        except TimeoutError:
            return 0, "no answer", ""
        finally:
            connection.close()

    def stop(self) -> None:
        self.command.kill_all()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Jupyter's data folder, shared by every start (the rotation state lives there)."""
    return tmp_path_factory.mktemp("jupyter-data")


@pytest.fixture(scope="module")
def served(data_dir: Path) -> Iterator[Served]:
    server = Served("--share-secret", SECRET, data_dir=data_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_built_js()
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def viewer(browser: Any, served: Served) -> Iterator[dict[str, Any]]:
    """A fresh browser that opened the share link: its page, cookie and kernel."""
    page = WidgetPage(browser)
    sockets: list[str] = []
    page.page.on("websocket", lambda ws: sockets.append(ws.url))
    try:
        page.page.goto(served.share)
        page.wait(LIVE, timeout=90_000)
        # The viewer cookie, beside the stream's short-lived ticket cookies.
        cookies = [c for c in page.context.cookies() if not c["name"].startswith("sse-widgets-ticket-")]
        assert [c["name"] for c in cookies] == [f"sse-widgets-viewer-127-0-0-1-{served.port}"]
        assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Lax"
        kernels = {m.group(1) for url in sockets if (m := re.search(r"/api/kernels/([\w-]+)/channels", url))}
        assert len(kernels) == 1, sockets
        yield {"page": page, "cookie": f"{cookies[0]['name']}={cookies[0]['value']}",
               "kernel": kernels.pop()}
    finally:
        page.close()


@pytest.fixture(scope="module")
def owner_kernel(served: Served) -> str:
    """A kernel the owner started through Jupyter's API (not a viewer's)."""
    status, _, body = served.request("POST", "api/kernels", token=served.token)
    assert status == 201, body
    return str(json.loads(body)["id"])


def refused(response: tuple[int, str, str]) -> bool:
    """Refused by the viewer rule itself (not by some other check that happens to 403)."""
    status, reason, _ = response
    return status == 403 and reason.startswith("View only")


def test_the_share_link_renders_the_dashboard_live_and_keeps_history_on_reload(
        viewer: dict[str, Any], served: Served) -> None:
    page: WidgetPage = viewer["page"]
    env = {"SSE_WIDGETS_URL": served.base,
           "SSE_WIDGETS_KEY": served.command.wait_for(r"export SSE_WIDGETS_KEY=(\S+)").group(1)}
    producer = subprocess.run(
        [sys.executable, str(NOTEBOOKS / "producer.py"), "--batches", "3", "--interval", "0.01"],
        env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120, check=False,
    )
    assert producer.returncode == 0, producer.stderr
    page.wait("""() => [...globalThis.__sseWidgets.stores.values()]
      .some(s => s.kind === 'chart' && s.channels.includes('etl/throughput') && s.count >= 12)""")
    page.page.reload()
    page.wait(LIVE, timeout=90_000)
    page.wait("""() => [...globalThis.__sseWidgets.stores.values()]
      .some(s => s.kind === 'chart' && s.channels.includes('etl/throughput') && s.count >= 12)""")
    names = {c["name"]: c["value"] for c in page.context.cookies()}
    assert names[f"sse-widgets-viewer-127-0-0-1-{served.port}"] in viewer["cookie"], "the reload kept the viewer"


FORBIDDEN = [
    ("GET", "api/contents"), ("GET", f"api/contents/{NOTEBOOK}"), ("GET", "api/kernels"),
    ("POST", "api/kernels"), ("GET", "api/sessions"), ("POST", "api/sessions"),
    ("GET", "api/terminals"), ("POST", "api/terminals"), ("GET", "lab"), ("GET", "tree"),
    ("GET", f"notebooks/{NOTEBOOK}"), ("GET", f"files/{NOTEBOOK}"),
    ("GET", f"nbconvert/html/{NOTEBOOK}"), ("POST", "sse-widgets/api/publish"),
    ("GET", "sse-widgets/api/channels"), ("DELETE", "sse-widgets/api/channels/etl/throughput"),
    ("GET", "voila/tree"), ("GET", "voila/api/contents"), ("GET", "voila/render/quickstart.ipynb"),
    ("GET", "api/me"), ("POST", "api/shutdown"), ("GET", "api/kernelspecs"),
]


def test_the_viewer_page_gets_403_from_everything_but_viewing(
        viewer: dict[str, Any], served: Served, owner_kernel: str) -> None:
    page: WidgetPage = viewer["page"]
    requests = [*FORBIDDEN, ("GET", f"api/kernels/{owner_kernel}"),
                ("DELETE", f"api/kernels/{owner_kernel}"),
                ("POST", f"voila/api/shutdown/{owner_kernel}"),
                ("DELETE", f"api/kernels/{viewer['kernel']}")]
    answers = page.js("""async ([base, requests]) => Promise.all(requests.map(async ([method, path]) => {
        const r = await fetch(base + path, {method, credentials: 'same-origin', redirect: 'manual',
          headers: {'Content-Type': 'application/json'}, body: method === 'GET' ? undefined : '{}'});
        return [method, path, r.status, await r.text()];
      }))""", [served.base, requests])
    for method, path, status, text in answers:
        assert status == 403, (method, path, status, text[:300])
        if text.startswith("{"):  # JSON errors carry the reason (some HTML pages render none)
            assert "share link" in text or "kernel is not your page" in text, (method, path, text[:300])
    # The page's own kernel is still there: the refused DELETE changed nothing.
    status, _, _ = served.request("GET", f"api/kernels/{viewer['kernel']}", token=served.token)
    assert status == 200
    status, _, body = served.request("GET", "sse-widgets/api/channels", token=served.token)
    assert status == 200 and "etl/throughput" in body, "the refused DELETE changed nothing"


def _in_thread(coroutine: Any) -> Any:
    """Run a coroutine on a loop of its own: Playwright's sync API holds this thread's."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _message(msg_type: str, content: dict[str, Any]) -> str:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": uuid.uuid4().hex,
              "username": "viewer", "version": "5.3", "date": "2026-01-01T00:00:00Z"}
    return json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                       "buffers": [], "channel": "shell"})


async def _shell_replies(port: int, kernel: str, headers: dict[str, str], messages: list[str]) -> list[str]:
    """Open a kernel websocket as a browser does (legacy JSON protocol), send ``messages``,
    and return the shell replies up to the kernel_info_reply."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels?session_id={uuid.uuid4()}"
    socket = await asyncio.wait_for(websocket_connect(HTTPRequest(url, headers=headers)), 60)
    try:
        for message in messages:
            await socket.write_message(message)
        replies: list[str] = []
        while not replies or replies[-1] != "kernel_info_reply":
            raw = await asyncio.wait_for(socket.read_message(), 60)
            assert raw is not None, "the kernel websocket closed"
            reply = json.loads(raw)
            if reply.get("channel") == "shell":
                replies.append(reply["header"]["msg_type"])
        return replies
    finally:
        socket.close()


def test_a_viewer_kernel_websocket_carries_widget_messages_but_runs_no_code(
        viewer: dict[str, Any], served: Served, owner_kernel: str, tmp_path: Path) -> None:
    from tornado.httpclient import HTTPClientError

    marker = tmp_path / "ran"
    execute = _message("execute_request", {
        "code": f"open({str(marker)!r}, 'w').write('code ran')", "silent": False,
        "store_history": False, "user_expressions": {}, "allow_stdin": False})
    info = _message("kernel_info_request", {})
    # The shell channel answers in order: an execute_reply, had the request reached the
    # kernel, would come before the kernel_info_reply.
    as_viewer = {"Cookie": viewer["cookie"]}
    replies = _in_thread(_shell_replies(served.port, viewer["kernel"], as_viewer, [execute, info]))
    assert replies == ["kernel_info_reply"]
    assert not marker.exists()
    # The same messages from the owner run: what the test looks for is there to see.
    as_owner = {"Authorization": f"token {served.token}"}
    replies = _in_thread(_shell_replies(served.port, owner_kernel, as_owner, [execute, info]))
    assert replies == ["execute_reply", "kernel_info_reply"]
    assert marker.read_text() == "code ran"
    with pytest.raises(HTTPClientError) as refused_socket:
        _in_thread(_shell_replies(served.port, owner_kernel, as_viewer, [info]))
    assert refused_socket.value.code == 403


def test_an_expired_or_tampered_share_link_gets_403_with_a_message(served: Served) -> None:
    render = f"voila/render/{NOTEBOOK}?share_token="
    expired = mint_link(SECRET, [NOTEBOOK], ttl=60, now=time.time() - 3600)
    status, _, body = served.request("GET", render + expired)
    assert status == 403 and "has expired; ask the dashboard's owner for a new link" in body
    credential = urllib.parse.parse_qs(urllib.parse.urlsplit(served.share).query)["share_token"][0]
    mac = credential.partition(".")[2]
    tampered = mint_link("another secret", ["quickstart.ipynb"]).partition(".")[0] + "." + mac
    status, _, body = served.request("GET", render + tampered)
    assert status == 403 and "signature does not match" in body
    status, _, body = served.request("GET", render + "not-a-link")
    assert status == 403 and "malformed share link" in body


def test_the_owner_link_still_opens_everything(served: Served) -> None:
    assert served.request("GET", "api/contents", token=served.token)[0] == 200
    assert served.request("GET", "lab", token=served.token)[0] == 200
    assert served.request("GET", "sse-widgets/api/channels", token=served.token)[0] == 200
    status, _, body = served.request("POST", "api/kernels", token=served.token)
    assert status == 201
    kernel = json.loads(body)["id"]
    assert served.request("DELETE", f"api/kernels/{kernel}", token=served.token)[0] == 204


def test_links_survive_a_restart_with_the_same_secret_and_die_with_a_rotation(
        served: Served, data_dir: Path) -> None:
    old = urllib.parse.urlsplit(served.share)
    old_link = f"{old.path}?{old.query}"
    again = Served("--share-secret", SECRET, data_dir=data_dir)
    try:
        status, _, body = again.request("GET", old_link)
        assert status == 200 and "voila" in body.lower(), body[:300]
    finally:
        again.stop()
    rotated = Served("--share-secret", SECRET, "--rotate-share", data_dir=data_dir)
    try:
        assert "Share links given out so far no longer work." in rotated.command.output
        status, _, body = rotated.request("GET", old_link)
        assert status == 403 and "revoked" in body
        new = urllib.parse.urlsplit(rotated.share)
        assert rotated.request("GET", f"{new.path}?{new.query}")[0] == 200
        owner = urllib.parse.urlsplit(rotated.owner)
        assert rotated.request("GET", f"{owner.path}?{owner.query}")[0] == 200
    finally:
        rotated.stop()


# --- every route the server registers -------------------------------------------------

# Handlers a viewer's request may pass the identity step on, and when (``path`` with its
# query; ``own_kernel`` None on a static dashboard, which has none).
def viewer_may(handler: str, method: str, path: str, own_kernel: str | None) -> bool:
    path, _, query = path.partition("?")
    if handler.endswith(("FileFindHandler", "ThemesHandler")) or handler == "sse_widgets.server.handlers.AssetHandler":
        return method == "GET"
    # The hub's viewer routes, where tickets decide which channels.
    if handler in ("sse_widgets.server.handlers.StreamHandler",
                   "sse_widgets.server.handlers.ChannelEventsHandler",
                   "sse_widgets.server.handlers.ViewersHandler"):
        return True
    if handler == "sse_widgets.server.handlers.CancelHandler":
        return method == "POST"  # the Stop button; the handler then wants the ticket's cancel right
    if handler == "sse_widgets.server.static.StaticDashboardHandler":
        # The grant's notebooks, and the index (which lists only those).
        return method == "GET" and path in (f"/sse-widgets/dashboard/{NOTEBOOK}", "/sse-widgets/dashboard/")
    if handler == "sse_widgets.server.static.DashboardTicketHandler":
        return method == "GET" and urllib.parse.parse_qs(query).get("notebook") == [NOTEBOOK]
    if own_kernel is None:
        return False  # a static dashboard: no kernel of the viewer's, no Voila page
    if handler == "voila.tornado.handler.TornadoVoilaHandler":
        return method == "GET" and path == f"/voila/render/{NOTEBOOK}"
    if handler in ("jupyter_server.services.kernels.websocket.KernelWebsocketHandler",
                   "voila.shutdown_kernel_handler.VoilaShutdownKernelHandler"):
        return own_kernel in path
    if handler == "jupyter_server.services.kernels.handlers.KernelHandler":
        return method == "GET" and own_kernel in path
    return False


_PATH_GROUP = r"(?P<path>(?:(?:/[^/]+)+|/?))"


def _groups(pattern: str) -> list[str]:
    """The text of each top-level capturing group of a route's regex (with the ``?`` that
    makes it optional, if any), in order."""
    groups, depth, start = [], 0, 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "(":
            if depth == 0:
                start = i
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0 and not pattern[start:].startswith("(?:"):
                optional = pattern[i + 1:i + 2] == "?"
                groups.append(pattern[start:i + 1] + ("?" if optional else ""))
        i += 1
    return groups


def sample_paths(regex: str, kernels: list[str]) -> list[str]:
    """A concrete path the route serves, per kernel where it takes one."""
    pattern = regex.replace(_PATH_GROUP, f"/{NOTEBOOK}").rstrip("$")
    groups = _groups(pattern)
    literal = re.compile(regex)
    paths = set()
    for kernel in kernels:
        options = []
        for group in groups:
            inner = re.sub(r"^\((\?P<\w+>)?", "", group.rstrip("?"))[:-1]
            fallback = re.sub(r"\\(.)", r"\1", inner.split("|")[0]).replace(".*", "x")
            options.append([NOTEBOOK, kernel, "python3", "x", fallback,
                            *([""] if group.endswith("?") else [])])
        for values in product(*options):
            path = pattern
            for group, value in zip(groups, values):
                path = path.replace(group, value, 1)
            path = re.sub(r"\\(.)", r"\1", path.replace("/?", "/")).replace(".*", "x")
            path = "/" + path.lstrip("/")
            if literal.fullmatch(path):
                paths.add(path)
                break
    return sorted(paths)


def test_a_viewer_reaches_only_the_routes_that_serve_viewing(
        viewer: dict[str, Any], served: Served, owner_kernel: str) -> None:
    walk_every_route(served, viewer["cookie"], viewer["kernel"], owner_kernel)


def test_a_static_dashboard_viewer_reaches_only_its_page_its_tickets_and_streams(
        browser: Any, data_dir: Path) -> None:
    static = Served("--share-secret", SECRET, "--static", data_dir=data_dir)
    page = WidgetPage(browser)
    try:
        page.page.goto(static.share)
        page.wait(LIVE, timeout=120_000)
        cookie = next(c for c in page.context.cookies() if c["name"].startswith("sse-widgets-viewer"))
        page.close()
        # No kernel of the viewer's (there is none): a made-up id stands for other kernels.
        walk_every_route(static, f"{cookie['name']}={cookie['value']}", None, str(uuid.uuid4()))
    finally:
        static.stop()


def walk_every_route(served: Served, cookie: str, own_kernel: str | None, other_kernel: str) -> None:
    """Ask every route the server registers, as the viewer with ``cookie``, and compare
    what passed the viewer rule with ``viewer_may``."""
    config = next(re.search(r"--config=(\S+)", p.cmd).group(1)  # type: ignore[union-attr]
                  for p in served.command.record().values() if "--config=" in p.cmd)
    table = subprocess.run(
        [sys.executable, str(HERE / "route_table.py"), f"--config={config}",
         f"--ServerApp.port={free_port()}"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    routes = json.loads(table.stdout)
    assert len(routes) > 40 and any(r["handler"].endswith("TerminalRootHandler") for r in routes)
    walked = 0
    problems = []
    for route in routes:
        if route["handler"] == "voila.tornado.handler.TornadoVoilaHandler":
            paths = [f"/voila/render/{NOTEBOOK}", "/voila/render/quickstart.ipynb"]
        elif route["handler"] == "sse_widgets.server.static.StaticDashboardHandler":
            paths = [f"/sse-widgets/dashboard/{NOTEBOOK}", "/sse-widgets/dashboard/quickstart.ipynb",
                     "/sse-widgets/dashboard/"]
        elif route["handler"] == "sse_widgets.server.static.DashboardTicketHandler":
            paths = [f"/sse-widgets/api/dashboard-ticket?notebook={NOTEBOOK}",
                     "/sse-widgets/api/dashboard-ticket?notebook=quickstart.ipynb",
                     "/sse-widgets/api/dashboard-ticket"]
        else:
            paths = sample_paths(route["regex"], [k for k in (own_kernel, other_kernel) if k])
        assert paths, f"no sample path for {route}"
        for path, method in product(paths, ("GET", "POST")):
            if path.endswith("/stream") and method == "GET":
                path += "?channel=*"  # no ticket: refused by the ticket check, not the viewer rule
            as_viewer = served.request(method, path, cookie=cookie, timeout=15)
            walked += 1
            if as_viewer[0] == 0:
                # Some handlers never answer an error (jupyterlab_server's LicensesHandler
                # overrides finish() with a required argument): nothing reached, if a
                # request with no credential gets no answer either.
                if served.request(method, path, timeout=15)[0] != 0:
                    problems.append((route["handler"], method, path, "no answer to the viewer only"))
            elif route["jupyter"]:
                expected = viewer_may(route["handler"], method, path, own_kernel)
                # 405: Tornado refused the method before any handler code ran.
                if refused(as_viewer) == expected and not (as_viewer[0] == 405 and not expected):
                    problems.append((route["handler"], method, path, as_viewer[:2]))
            else:
                # Plain Tornado handlers never ask who is calling: public to anyone, so a
                # viewer must get exactly what a request with no credential gets.
                anonymous = served.request(method, path)
                if as_viewer[0] != anonymous[0]:
                    problems.append((route["handler"], method, path, as_viewer[:2], anonymous[:2]))
    assert walked > 100
    assert problems == [], "\n".join(map(str, problems))
