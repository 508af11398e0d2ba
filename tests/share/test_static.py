"""``sse-widgets serve --static``: one run of the notebook, any number of viewers, no kernel.

Real commands, real Chromium (one browser context per viewer, as separate people), a
producer outside Jupyter, and requests made with a viewer's own cookie. Kernels are
counted twice: as the server reports them (``GET api/kernels`` with the owner's token) and
as processes under the command (``/proc``).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from browser_support import CHART_HAS, WidgetPage, chromium, require_built_js
from servers import free_port
from share_support import NOTEBOOKS, PRODUCER, Command, hub_get, wait_until

from sse_widgets.protocol import ProtocolError, verify_ticket

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET = "a share secret only the static tests know"
SHARE_LINE = r"^Share \(view only, [^)]*\): (\S+)"
OWNER_LINE = r"^Owner \(full access, keep private\): (\S+)"
KEY_LINE = r"export SSE_WIDGETS_KEY=(\S+)"
VIEWERS = 20
# The page rendered its saved widget state, and the chart of `channel` streams.
LIVE = """(channel) => document.body.dataset.sseStatic === 'rendered'
  && [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
     .some(s => s.kind === 'chart' && s.channels.includes(channel) && s.state === 'live')"""


class Static:
    """One ``serve --static`` command: its links, key, and requests with any cookie."""

    def __init__(self, *notebooks: str, extra: tuple[str, ...] = ()):
        self.port = free_port()
        self.command = Command("serve", *notebooks, "--static", "--no-browser", "--port",
                               str(self.port), "--share-secret", SECRET, *extra)
        self.base = f"http://127.0.0.1:{self.port}/"
        self.share = self.command.wait_for(SHARE_LINE, timeout=240).group(1)
        self.owner = self.command.wait_for(OWNER_LINE).group(1)
        self.key = self.command.wait_for(KEY_LINE).group(1)
        self.command.wait_for("Press Ctrl-C to stop")
        self.token = urllib.parse.parse_qs(urllib.parse.urlsplit(self.owner).query)["token"][0]

    def request(self, path: str, cookie: str = "", token: str = "") -> tuple[int, str]:
        """(status, body) of a GET; a stream's body is not read (only its status)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": cookie} if cookie else {}
        if token:
            headers["Authorization"] = f"token {token}"
        try:
            connection.request("GET", "/" + path.lstrip("/"), headers=headers)
            response = connection.getresponse()
            if response.getheader("Content-Type", "").startswith("text/event-stream"):
                return response.status, ""
            return response.status, response.read().decode(errors="replace")
        finally:
            connection.close()

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Publish as a producer outside Jupyter does: the key header, nothing else."""
        request = urllib.request.Request(
            self.base + "sse-widgets/api/publish", data=json.dumps(events).encode(),
            headers={"X-SSE-Widgets-Key": self.key, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200

    def kernels(self) -> tuple[list[Any], list[str]]:
        """The kernels the server reports, and the kernel processes under the command."""
        reported = hub_get(self.base, "api/kernels", self.token)
        processes = [p.cmd for p in self.command.record().values() if "ipykernel" in p.cmd]
        return reported, processes

    def stop(self) -> None:
        self.command.kill_all()


def viewer_cookie(page: WidgetPage) -> str:
    cookie = next(c for c in page.context.cookies() if c["name"].startswith("sse-widgets-viewer"))
    return f"{cookie['name']}={cookie['value']}"


def metric(channel: str, x: int, **values: float) -> dict[str, Any]:
    return {"channel": channel, "type": "metric", "data": {"x": x, "values": values}}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_built_js()
    with chromium() as browser:
        yield browser


# --- twenty viewers of the bundled dashboard ------------------------------------------


@pytest.fixture(scope="module")
def dashboard() -> Iterator[Static]:
    server = Static(str(NOTEBOOKS / "voila_dashboard.ipynb"))
    try:
        yield server
    finally:
        server.stop()


def test_twenty_viewers_render_stream_and_get_history_with_no_kernel_running(
        browser: Any, dashboard: Static) -> None:
    # The run's kernel is gone before the link is printed, and no viewer starts one.
    assert dashboard.kernels() == ([], [])
    pages = []
    try:
        for _ in range(VIEWERS):
            page = WidgetPage(browser, viewport=(1000, 700))
            page.page.goto(dashboard.share)
            pages.append(page)
        for page in pages:
            page.wait(LIVE, "etl/throughput", timeout=120_000)
        assert dashboard.kernels() == ([], []), "a viewer started a kernel"
        cookies = {viewer_cookie(page) for page in pages}
        assert len(cookies) == VIEWERS, "each context is a viewer of its own"

        env = {"SSE_WIDGETS_URL": dashboard.base, "SSE_WIDGETS_KEY": dashboard.key,
               "PATH": "/usr/bin:/bin"}
        producer = subprocess.run(
            [sys.executable, str(PRODUCER), "--batches", "3", "--interval", "0.01"],
            env=env, capture_output=True, text=True, timeout=180, check=False)
        assert producer.returncode == 0, producer.stderr
        points = 4 * 3  # four sources, three batches each
        for page in pages:
            page.wait(CHART_HAS, ["etl/throughput", points], timeout=60_000)
            assert page.errors == []
        for page in pages:
            page.page.reload()
        for page in pages:
            page.wait(LIVE, "etl/throughput", timeout=120_000)
            page.wait(CHART_HAS, ["etl/throughput", points], timeout=60_000)
            # The progress board got its bars from the history as well.
            page.wait("() => [...globalThis.__sseWidgets.stores.values()]"
                      ".some(s => s.kind === 'progress' && s.snapshot().length >= 5)")
        assert dashboard.kernels() == ([], []), "a reload started a kernel"
    finally:
        for page in pages:
            page.context.close()


def test_the_viewer_page_reaches_nothing_but_its_dashboard(browser: Any, dashboard: Static) -> None:
    page = WidgetPage(browser)
    try:
        page.page.goto(dashboard.share)
        page.wait(LIVE, "etl/throughput", timeout=120_000)
        cookie = viewer_cookie(page)
    finally:
        page.context.close()
    for path in ("api/kernels", "api/contents", "lab", "sse-widgets/api/channels",
                 "voila/render/voila_dashboard.ipynb", "sse-widgets/dashboard/quickstart.ipynb",
                 "sse-widgets/api/dashboard-ticket?notebook=quickstart.ipynb"):
        status, body = dashboard.request(path, cookie=cookie)
        assert status in (403, 404), (path, status, body[:200])
    # Voila is not even loaded: a share link cannot start a kernel per visit there.
    assert dashboard.request("voila/render/voila_dashboard.ipynb", token=dashboard.token)[0] == 404
    assert dashboard.kernels() == ([], [])


# --- two notebooks of our own: the index, tickets, renewal, refresh -------------------


def write_notebook(path: Path, title: str, channel: str, extra: str = "") -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\nRendered once."),
        nbformat.v4.new_code_cell(
            "import ipywidgets as w\nimport sse_widgets as sw\n"
            f"print('printed by {title}')\n{extra}"
            f"sw.Dashboard([sw.LiveChart({channel!r}, series=['v'], title='V'), "
            "w.IntSlider(value=7, description='seven')], title='Board')"),
    ]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def boards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Static, Path]]:
    folder = tmp_path_factory.mktemp("boards")
    write_notebook(folder / "alpha.ipynb", "Alpha", "alpha/metrics")
    write_notebook(folder / "beta.ipynb", "Beta", "beta/metrics")
    server = Static(str(folder / "alpha.ipynb"), str(folder / "beta.ipynb"),
                    extra=("--refresh-on-change", "--ticket-ttl", "6"))
    try:
        yield server, folder
    finally:
        server.stop()


def test_several_notebooks_get_an_index_and_pages_with_their_outputs(
        browser: Any, boards: tuple[Static, Path]) -> None:
    server, _ = boards
    assert urllib.parse.urlsplit(server.share).path == "/sse-widgets/dashboard/"
    page = WidgetPage(browser)
    try:
        page.page.goto(server.share)
        links = page.js("() => [...document.querySelectorAll('.sse-static-index a')].map(a => a.textContent)")
        assert links == ["Alpha", "Beta"]
        page.page.click(".sse-static-index a >> nth=0")
        page.wait(LIVE, "alpha/metrics", timeout=120_000)
        text = page.js("() => document.body.innerText")
        assert "printed by Alpha" in text and "Rendered once." in text
        # Another ipywidget: drawn from its saved state by the bundled manager.
        assert page.js("() => document.querySelector('.widget-slider .widget-readout')?.textContent") == "7"
        server.publish([metric("alpha/metrics", x, v=float(x)) for x in range(5)])
        page.wait(CHART_HAS, ["alpha/metrics", 5])
        assert page.errors == []
    finally:
        page.context.close()


def test_a_page_ticket_opens_its_channels_and_no_other(browser: Any, boards: tuple[Static, Path]) -> None:
    server, _ = boards
    page = WidgetPage(browser)
    try:
        page.page.goto(server.share.replace("/dashboard/", "/dashboard/alpha.ipynb"))
        page.wait(LIVE, "alpha/metrics", timeout=120_000)
        cookie = viewer_cookie(page)
        in_page = page.js("() => [...globalThis.__sseWidgets.stores.values()].map(s => s.model.get('ticket'))")
    finally:
        page.context.close()
    assert in_page and all(in_page), "the page came with tickets"
    status, body = server.request("sse-widgets/api/dashboard-ticket?notebook=alpha.ipynb", cookie=cookie)
    assert status == 200, body
    reply = json.loads(body)
    assert reply["channels"] == ["alpha/metrics"]
    # Those in the page may have expired meanwhile (6 s): what they grant is in their body.
    assert {tuple(granted(t)) for t in in_page} == {("alpha/metrics",)}
    for ticket in reply["tickets"]:
        assert verify_ticket(server.key, ticket) == ["alpha/metrics"]
        stream = "sse-widgets/api/stream?auth_ticket=" + urllib.parse.quote(ticket)
        assert server.request(stream + "&channel=alpha/metrics")[0] == 200
        for other in ("beta/metrics", "*", "alpha/*", "etl/throughput"):
            status, body = server.request(stream + "&channel=" + urllib.parse.quote(other))
            assert status == 403 and "do not cover" in body, (other, status, body)
        status, _ = server.request(f"sse-widgets/api/channels/{urllib.parse.quote('beta/metrics')}/events"
                                   f"?auth_ticket={urllib.parse.quote(ticket)}")
        assert status == 403


def test_an_expired_ticket_is_renewed_without_a_reload(browser: Any, boards: tuple[Static, Path]) -> None:
    server, _ = boards
    page = WidgetPage(browser)
    try:
        page.page.goto(server.share.replace("/dashboard/", "/dashboard/beta.ipynb"))
        page.wait(LIVE, "beta/metrics", timeout=120_000)
        first = page.js("() => [...globalThis.__sseWidgets.stores.values()][0].model.get('ticket')")
        navigations = page.js("() => performance.getEntriesByType('navigation').length")
        # Until the page's first ticket (6 s) has expired, and the page renewed it.
        wait_until(lambda: _expired(server.key, first), 30, "the first ticket never expired")
        page.wait("() => globalThis.__sseWidgetsStatic.tickets.renewals >= 2")
        # The stream restarts now (a DELETE ends it): it must open with a renewed ticket.
        before = page.js("() => globalThis.__sseWidgets.connection().connects")
        request = urllib.request.Request(server.base + "sse-widgets/api/channels/beta/metrics",
                                         method="DELETE", headers={"Authorization": f"token {server.token}"})
        server.publish([metric("beta/metrics", 0, v=0.0)])
        urllib.request.urlopen(request, timeout=30).read()
        page.wait("(n) => globalThis.__sseWidgets.connection().connects > n", before)
        server.publish([metric("beta/metrics", x, v=float(x)) for x in range(1, 4)])
        page.wait(CHART_HAS, ["beta/metrics", 3])
        page.wait(LIVE, "beta/metrics")
        now = page.js("() => [...globalThis.__sseWidgets.stores.values()][0].model.get('ticket')")
        assert now != first and not _expired(server.key, now)
        assert page.js("() => performance.getEntriesByType('navigation').length") == navigations
        assert page.js("() => globalThis.__sseWidgetsStatic.tickets.renewals") >= 2, "no reload"
    finally:
        page.context.close()


def granted(ticket: str) -> list[str]:
    """The patterns a ticket names (its body, unverified)."""
    payload = ticket.partition(".")[0]
    return list(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["c"])


def _expired(key: str, ticket: str) -> bool:
    try:
        verify_ticket(key, ticket)
    except ProtocolError as exc:
        assert "expired" in str(exc)
        return True
    return False


def test_refresh_on_change_picks_up_an_edited_notebook(browser: Any, boards: tuple[Static, Path]) -> None:
    server, folder = boards
    page_path = "sse-widgets/dashboard/alpha.ipynb"
    status, body = server.request(page_path, token=server.token)
    assert status == 200 and "printed by Alpha" in body
    before = (folder / "alpha.ipynb").stat().st_mtime
    write_notebook(folder / "alpha.ipynb", "Alpha two", "alpha/second",
                   extra="print('a new cell output')\n")
    # A file time of its own, even where the filesystem counts whole seconds.
    os.utime(folder / "alpha.ipynb", (before + 10, before + 10))
    wait_until(lambda: "a new cell output" in server.request(page_path, token=server.token)[1], 180,
               lambda: f"the page was never rendered again:\n{server.command.output[-3000:]}")
    page = WidgetPage(browser)
    try:
        page.page.goto(server.share.replace("/dashboard/", "/dashboard/alpha.ipynb"))
        page.wait(LIVE, "alpha/second", timeout=120_000)
        assert "Alpha two" in page.js("() => document.title")
    finally:
        page.context.close()
    status, body = server.request("sse-widgets/api/dashboard-ticket?notebook=alpha.ipynb", token=server.token)
    assert status == 200 and json.loads(body)["channels"] == ["alpha/second"]
    assert server.kernels() == ([], [])


# --- bad input ------------------------------------------------------------------------


def test_several_notebooks_or_refresh_without_static_are_refused(tmp_path: Path) -> None:
    write_notebook(tmp_path / "a.ipynb", "A", "a")
    write_notebook(tmp_path / "b.ipynb", "B", "b")
    for args in ([str(tmp_path / "a.ipynb"), str(tmp_path / "b.ipynb")],
                 [str(tmp_path / "a.ipynb"), "--refresh-on-change"]):
        command = Command("serve", *args, "--no-browser", "--port", str(free_port()))
        try:
            assert command.wait(60) == 2
            assert "need --static" in command.output
        finally:
            command.kill_all()


def test_a_notebook_that_fails_to_run_stops_serve_with_the_cell_error(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("raise RuntimeError('no data source configured')")]
    nbformat.write(nb, tmp_path / "broken.ipynb")
    command = Command("serve", str(tmp_path / "broken.ipynb"), "--static", "--no-browser",
                      "--port", str(free_port()))
    try:
        assert command.wait(240) == 1
        assert "broken.ipynb could not be rendered" in command.output
        assert "no data source configured" in command.output
        assert "Share (" not in command.output, "no link to a page that does not exist"
    finally:
        command.kill_all()
