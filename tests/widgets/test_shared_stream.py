"""One stream per browser, not per tab: the widgets' and the public client's pages in real
Chromium share one EventSource per server (a SharedWorker; else a Web Locks leader tab;
else one per tab), against a real Jupyter server.

The server's own count (``GET sse-widgets/api/channels`` stats with the owner's token) is
what the tests assert on: streams open, and browsers watching.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import chromium, require_built_js

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A plain page served by the same Jupyter, using the public module. `MODE` forces a mode.
PLAIN_PAGE = """<!doctype html>
<html><body><pre id="log"></pre>
<script>MODE</script>
<script type="module">
import { subscribe, SSEClient } from "BASEsse-widgets/static/sse-client.js";
window.received = [];
window.states = [];
const params = new URLSearchParams(location.search);
window.sub = subscribe({
  channels: params.getAll("channel"),
  baseUrl: "BASE",
  onEvent: (e) => { window.received.push(e); },
  onState: (s) => { window.states.push(s); },
});
window.client = new SSEClient({ baseUrl: "BASE" });
</script></body></html>
"""

MODES = {"worker": "", "leader": 'globalThis.__sseWidgetsStreamMode = "leader";',
         "tab": 'globalThis.__sseWidgetsStreamMode = "tab";'}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: Any) -> Iterator[Any]:
    """A server that also serves plain pages from a folder (``{base}static/<page>``): pages
    under ``files/`` are sandboxed (an opaque origin: no worker, no cookies)."""
    from servers import JupyterServer

    pages = tmp_path_factory.mktemp("pages")
    server = JupyterServer(config={"ServerApp": {"extra_static_paths": [str(pages)]}})
    server.pages = pages  # type: ignore[attr-defined]
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_built_js()
    with chromium() as launched:
        yield launched


def publish(server: Any, events: Any) -> list[str]:
    request = urllib.request.Request(
        server.url + "sse-widgets/api/publish", data=json.dumps(events).encode(), method="POST",
        headers={"X-SSE-Widgets-Key": server.key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return list(json.load(response)["ids"])


def viewers(server: Any, pattern: str) -> int:
    """``sw.viewers`` as a kernel of that server would call it."""
    import subprocess
    import sys

    code = f"import sse_widgets as sw; print(sw.viewers({pattern!r}))"
    env = {**server.process_env, **server.env}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def stats(server: Any) -> dict[str, Any]:
    return dict(server.api("GET", "sse-widgets/api/channels")["stats"])


def wait_for(server: Any, page: Any, predicate: Any, what: str) -> None:
    """Wait (in the page's event loop, so the browser keeps running) until ``predicate()``."""
    for _ in range(300):
        if predicate():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}: {stats(server)}")


def plain_pages(server: Any, context: Any, channel: str, count: int, mode: str = "worker") -> list[Any]:
    name = f"plain-{mode}.html"
    html = PLAIN_PAGE.replace("BASE", server.base_url).replace("MODE", MODES[mode])
    (server.pages / name).write_text(html)
    pages = []
    for _ in range(count):
        page = context.new_page()
        if not pages:
            page.goto(f"{server.url}api/status?token={server.token}")  # the login cookie
        page.goto(f"{server.url}static/{name}?channel={channel}")
        pages.append(page)
    return pages


RECEIVED = "(n) => window.received && window.received.length >= n"


def test_public_module_pages_of_one_browser_share_one_stream(browser: Any, live_server: Any) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    publish(live_server, [{"channel": f"{p}/a", "type": "m", "data": {"i": i}} for i in range(3)])
    context = browser.new_context()
    other = browser.new_context()
    try:
        pages = plain_pages(live_server, context, f"{p}/*", 8)
        for page in pages:
            page.wait_for_function(RECEIVED, arg=3, timeout=30_000)
        assert {page.evaluate("() => globalThis.__sseWidgets.mode") for page in pages} == {"worker"}
        # No tab was taken for gone and had to join again (a tab that said hello before it
        # held its lock was dropped when the worker got the lock first; it rendered only
        # after its next ping, 5 s later).
        assert [page.evaluate("() => globalThis.__sseWidgets.connection().rejoins") for page in pages] == [0] * 8
        # Eight tabs, more than the browser's six connections per host: one stream.
        wait_for(live_server, pages[0], lambda: stats(live_server)["subscribers"] == 1, "one stream")
        assert stats(live_server)["browsers"] == 1
        publish(live_server, {"channel": f"{p}/b", "type": "m", "data": {"i": 3}})
        for page in pages:
            page.wait_for_function(RECEIVED, arg=4, timeout=30_000)
            got = page.evaluate("() => window.received.map(e => e.data.i)")
            assert got == [0, 1, 2, 3]
        # A second browser (context): a second stream, and a second browser watching.
        second = plain_pages(live_server, other, f"{p}/*", 2)
        for page in second:
            page.wait_for_function(RECEIVED, arg=4, timeout=30_000)
        wait_for(live_server, pages[0], lambda: stats(live_server)["subscribers"] == 2, "two streams")
        channels = {c["name"]: c for c in live_server.api("GET", "sse-widgets/api/channels")["channels"]}
        assert channels[f"{p}/b"]["browsers"] == 2
        assert channels[f"{p}/b"]["subscribers"] == 2
        # Every tab of the first browser gone: its worker closes its stream.
        context.close()
        wait_for(live_server, second[0], lambda: stats(live_server)["subscribers"] == 1, "one stream left")
        assert stats(live_server)["browsers"] == 1
    finally:
        context.close()
        other.close()


def test_tabs_recover_from_their_last_ids_when_the_browser_ends_the_worker(browser: Any, live_server: Any) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    publish(live_server, [{"channel": f"{p}/a", "type": "m", "data": {"i": i}} for i in range(3)])
    context = browser.new_context()
    try:
        pages = plain_pages(live_server, context, f"{p}/*", 2)
        for page in pages:
            page.wait_for_function(RECEIVED, arg=3, timeout=30_000)
        host = "() => globalThis.__sseWidgets.connection().hostId"
        before = {page.evaluate(host) for page in pages}
        assert len(before) == 1 and None not in before
        # As the browser would end it: the DevTools protocol closes the worker's target.
        cdp = browser.new_browser_cdp_session()
        workers = [t for t in cdp.send("Target.getTargets")["targetInfos"]
                   if t["type"] == "shared_worker" and "stream-worker.js" in t["url"]]
        assert len(workers) == 1, workers
        cdp.send("Target.closeTarget", {"targetId": workers[0]["targetId"]})
        publish(live_server, {"channel": f"{p}/b", "type": "m", "data": {"i": 3}})  # while it is gone
        for page in pages:
            page.wait_for_function("(old) => { const id = globalThis.__sseWidgets.connection().hostId;"
                                   " return id && id !== old; }", arg=next(iter(before)),
                                   timeout=60_000)
            page.wait_for_function(RECEIVED, arg=4, timeout=30_000)
        publish(live_server, {"channel": f"{p}/b", "type": "m", "data": {"i": 4}})
        for page in pages:
            page.wait_for_function("() => window.received.some(e => e.data.i === 4)", timeout=30_000)
            assert page.evaluate("() => window.received.map(e => e.data.i)") == [0, 1, 2, 3, 4]
        assert len({page.evaluate(host) for page in pages}) == 1  # both on the new worker
        wait_for(live_server, pages[0], lambda: stats(live_server)["browsers"] == 1, "one browser")
    finally:
        context.close()


@pytest.mark.parametrize("mode", ["leader", "tab"])
def test_fallbacks_stream_to_every_tab_and_the_leader_hands_over(
    browser: Any, live_server: Any, mode: str
) -> None:
    """No SharedWorker in the page: a Web Locks leader tab hosts the stream for the others;
    with that forced off too, every tab has its own (as before)."""
    p = f"t{uuid.uuid4().hex[:6]}"
    publish(live_server, [{"channel": f"{p}/a", "type": "m", "data": {"i": i}} for i in range(3)])
    context = browser.new_context()
    context.add_init_script("delete window.SharedWorker")
    try:
        pages = plain_pages(live_server, context, f"{p}/*", 3, mode)
        for page in pages:
            page.wait_for_function(RECEIVED, arg=3, timeout=30_000)
        modes = sorted(page.evaluate("() => globalThis.__sseWidgets.mode") for page in pages)
        streams = 1 if mode == "leader" else 3
        assert modes == (["follower", "follower", "leader"] if mode == "leader" else ["tab"] * 3)
        wait_for(live_server, pages[0], lambda: stats(live_server)["subscribers"] == streams, f"{streams} streams")
        assert stats(live_server)["browsers"] == 1
        # The leader (or any tab) goes: the others keep receiving, no gap, no duplicate.
        leader = next(page for page in pages if page.evaluate("() => globalThis.__sseWidgets.mode") in ("leader", "tab"))
        leader.close()
        rest = [page for page in pages if page is not leader]
        publish(live_server, {"channel": f"{p}/b", "type": "m", "data": {"i": 3}})
        for page in rest:
            page.wait_for_function(RECEIVED, arg=4, timeout=30_000)
        if mode == "leader":
            assert sorted(page.evaluate("() => globalThis.__sseWidgets.mode") for page in rest) == ["follower", "leader"]
        publish(live_server, {"channel": f"{p}/b", "type": "m", "data": {"i": 4}})
        publish(live_server, {"channel": f"{p}/b", "type": "m", "data": {"i": 5}})
        for page in rest:
            # A duplicate or a gap would be in the list by the time the last event came.
            page.wait_for_function("() => window.received.some(e => e.data.i === 5)", timeout=30_000)
            assert page.evaluate("() => window.received.map(e => e.data.i)") == [0, 1, 2, 3, 4, 5]
        wait_for(live_server, rest[0], lambda: stats(live_server)["subscribers"] == streams - (mode == "tab"),
                 "the streams left")
    finally:
        context.close()


# --- widgets: Voilà dashboards and Notebook 7 notebooks in one browser -------------------

# A chart following `channel` holds `count` points (and says how it streams).
CHART = """([channel, count]) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes(channel) && s.count >= count && s.state === 'live')"""
CHART_X = """(channel) => [...globalThis.__sseWidgets.stores.values()]
  .find(s => s.kind === 'chart' && s.channels.includes(channel)).snapshot().x"""

WATCHING = "(n) => document.querySelector('.sse-watching')?.dataset.count === String(n)"
VOILA_TABS = 5
NOTEBOOK_TABS = 2  # with the Voilà tabs, more tabs than the browser's six connections


def dashboard_notebook(server: Any, name: str, channel: str) -> None:
    from test_browser import notebook

    (server.root_dir / name).write_text(notebook(
        f'import sse_widgets as sw\nsw.Dashboard([sw.LiveChart("{channel}", title="load")], title="dash")'))


def open_voila(context: Any, server: Any, name: str, channel: str, count: int) -> Any:
    page = context.new_page()
    page.goto(f"{server.url}voila/render/{name}")
    page.wait_for_function(CHART, arg=[channel, count], timeout=120_000)
    return page


def point(server: Any, channel: str, x: int) -> None:
    publish(server, {"channel": channel, "type": "metric", "data": {"x": x, "values": {"v": x}}})


def login(context: Any, server: Any) -> None:
    page = context.new_page()
    page.goto(f"{server.url}api/status?token={server.token}")
    page.close()


def test_dashboards_and_notebooks_in_many_tabs_share_one_stream_per_browser(
    browser: Any, live_server: Any
) -> None:
    from test_browser import CELLS, Page, notebook

    p = f"t{uuid.uuid4().hex[:6]}"
    channel = f"{p}/load"
    dashboard_notebook(live_server, f"{p}.ipynb", channel)
    for x in range(3):
        point(live_server, channel, x)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    other = browser.new_context()
    try:
        login(context, live_server)
        tabs = [open_voila(context, live_server, f"{p}.ipynb", channel, 3) for _ in range(VOILA_TABS)]
        notebooks = []
        for i in range(NOTEBOOK_TABS):
            name = f"{p}-nb{i}.ipynb"
            (live_server.root_dir / name).write_text(notebook(
                f'import sse_widgets as sw\nsw.LiveChart("{channel}", title="nb")'))
            tab = Page.__new__(Page)
            tab.server, tab.ui, tab.name, tab.context = live_server, "notebook", name, context
            tab.page, tab.dialogs, tab.errors = context.new_page(), [], []
            tab.open()
            tab.run_cell(0)
            tab.page.wait_for_function(CHART, arg=[channel, 3], timeout=60_000)
            notebooks.append(tab)
        every = tabs + [n.page for n in notebooks]
        assert {t.evaluate("() => globalThis.__sseWidgets.mode") for t in every} == {"worker"}
        wait_for(live_server, every[0], lambda: stats(live_server)["subscribers"] == 1, "one stream")
        assert stats(live_server)["browsers"] == 1

        # Saving works in each notebook: its requests are not stuck behind streams.
        for tab in notebooks:
            path = live_server.root_dir / tab.name
            tab.page.locator(CELLS).first.click()
            tab.page.keyboard.press("Control+s")
            wait_for(live_server, tab.page,
                     lambda path=path: "application/vnd.jupyter.widget-view+json" in path.read_text(), f"{tab.name} saved")

        point(live_server, channel, 3)
        for tab in every:
            tab.wait_for_function(CHART, arg=[channel, 4], timeout=30_000)
            assert tab.evaluate(CHART_X, channel) == [0, 1, 2, 3]

        # A second browser: a second stream.
        login(other, live_server)
        second = open_voila(other, live_server, f"{p}.ipynb", channel, 4)
        wait_for(live_server, second, lambda: stats(live_server)["subscribers"] == 2, "two streams")
        assert stats(live_server)["browsers"] == 2
        # Who is watching: browsers, not tabs, in the header and from the kernel's side.
        tabs[1].wait_for_function(WATCHING, arg=2, timeout=30_000)
        assert tabs[1].locator(".sse-watching").inner_text() == "2 watching"
        assert viewers(live_server, channel) == 2
        assert viewers(live_server, f"{p}/*") == 2

        # The tab that made the worker closes: the others go on, no gap, no duplicate.
        tabs[0].close()
        point(live_server, channel, 4)
        for tab in every[1:]:
            tab.wait_for_function(CHART, arg=[channel, 5], timeout=30_000)
            assert tab.evaluate(CHART_X, channel) == [0, 1, 2, 3, 4]
        # A reload gets its history (a new Voilà kernel, new widgets), on the same stream.
        tabs[1].reload()
        tabs[1].wait_for_function(CHART, arg=[channel, 5], timeout=120_000)
        assert tabs[1].evaluate(CHART_X, channel) == [0, 1, 2, 3, 4]
        wait_for(live_server, second, lambda: stats(live_server)["subscribers"] == 2, "still two streams")
    finally:
        context.close()
        other.close()


REACT_PAGE = """
import React from "react";
import { createRoot } from "react-dom/client";
import { useChannel } from "SRC/sse-react.ts";

function Points() {
  const { events, state } = useChannel(["CHANNEL"], { baseUrl: "/" });
  window.reactView = { values: events.map((e) => e.data.i), state };
  return React.createElement("ul", { id: "points", "data-state": state },
    events.map((e) => React.createElement("li", { key: e.id }, String(e.data.i))));
}
createRoot(document.getElementById("root")).render(React.createElement(Points));
"""


def test_use_channel_in_a_react_page_receives_events_on_the_shared_stream(
    browser: Any, live_server: Any, tmp_path: Any
) -> None:
    """A small React page (React bundled by the page, a peer of the hook) with `useChannel`."""
    import subprocess
    from pathlib import Path

    js = Path(__file__).resolve().parents[2] / "js"
    p = f"t{uuid.uuid4().hex[:6]}"
    entry = tmp_path / "page.js"
    entry.write_text(REACT_PAGE.replace("SRC", str(js / "src")).replace("CHANNEL", f"{p}/r"))
    bundle = live_server.pages / f"{p}.js"
    built = subprocess.run(
        [str(js / "node_modules" / ".bin" / "esbuild"), str(entry), "--bundle", "--format=esm",
         f"--outfile={bundle}", '--define:process.env.NODE_ENV="production"', "--log-level=error"],
        cwd=js, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "NODE_PATH": str(js / "node_modules")})
    assert built.returncode == 0, built.stderr
    (live_server.pages / f"{p}.html").write_text(
        f'<!doctype html><div id="root"></div><script type="module" src="{p}.js"></script>')
    publish(live_server, [{"channel": f"{p}/r", "type": "m", "data": {"i": i}} for i in range(2)])
    context = browser.new_context()
    try:
        login(context, live_server)
        page = context.new_page()
        page.goto(f"{live_server.url}static/{p}.html")
        page.wait_for_function("() => window.reactView && window.reactView.values.length === 2"
                               " && window.reactView.state === 'live'", timeout=30_000)
        publish(live_server, {"channel": f"{p}/r", "type": "m", "data": {"i": 2}})
        page.wait_for_function("() => document.querySelectorAll('#points li').length === 3", timeout=30_000)
        assert page.locator("#points li").all_inner_texts() == ["0", "1", "2"]
        assert page.evaluate("() => globalThis.__sseWidgets.mode") == "worker"
    finally:
        context.close()


@pytest.mark.parametrize("mode", ["leader", "tab"])
def test_voila_dashboards_stream_in_each_fallback(browser: Any, live_server: Any, mode: str) -> None:
    """SharedWorker removed from the page: the dashboards stream through the Web Locks
    leader (one stream), or with that off too, one stream per tab; the header says which."""
    p = f"t{uuid.uuid4().hex[:6]}"
    channel = f"{p}/load"
    dashboard_notebook(live_server, f"{p}.ipynb", channel)
    for x in range(2):
        point(live_server, channel, x)
    context = browser.new_context()
    context.add_init_script("delete window.SharedWorker" + ("; globalThis.__sseWidgetsStreamMode = 'tab'"
                                                            if mode == "tab" else ""))
    try:
        login(context, live_server)
        tabs = [open_voila(context, live_server, f"{p}.ipynb", channel, 2) for _ in range(2)]
        modes = sorted(tab.locator(".sse-dashboard-header").get_attribute("data-mode") for tab in tabs)
        assert modes == (["follower", "leader"] if mode == "leader" else ["tab", "tab"])
        streams = 1 if mode == "leader" else 2
        wait_for(live_server, tabs[0], lambda: stats(live_server)["subscribers"] == streams, f"{streams} streams")
        tabs[0].wait_for_function(WATCHING, arg=1, timeout=30_000)  # one browser, whatever the streams
        first = tabs[0] if modes[0] == "tab" or tabs[0].evaluate("() => globalThis.__sseWidgets.mode") == "leader" \
            else tabs[1]
        first.close()
        rest = tabs[1] if first is tabs[0] else tabs[0]
        point(live_server, channel, 2)
        rest.wait_for_function(CHART, arg=[channel, 3], timeout=30_000)
        assert rest.evaluate(CHART_X, channel) == [0, 1, 2]
    finally:
        context.close()


def test_a_closed_tab_takes_its_channels_off_the_shared_stream(browser: Any, live_server: Any) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    publish(live_server, [{"channel": f"{p}/{name}", "type": "m", "data": {"i": 0}} for name in "ab"])
    context = browser.new_context()

    def following() -> dict[str, int]:
        listing = live_server.api("GET", "sse-widgets/api/channels")["channels"]
        return {c["name"]: c["subscribers"] for c in listing if c["name"].startswith(p)}

    try:
        [a] = plain_pages(live_server, context, f"{p}/a", 1)
        [b] = plain_pages(live_server, context, f"{p}/b", 1)
        for page in (a, b):
            page.wait_for_function(RECEIVED, arg=1, timeout=30_000)
        wait_for(live_server, b, lambda: following() == {f"{p}/a": 1, f"{p}/b": 1}, "one stream with both")
        a.close()
        # Nobody follows p/a any more: the worker's stream reconnects without it.
        wait_for(live_server, b, lambda: following() == {f"{p}/a": 0, f"{p}/b": 1}, "p/a dropped")
        assert stats(live_server)["subscribers"] == 1
        publish(live_server, {"channel": f"{p}/b", "type": "m", "data": {"i": 1}})
        b.wait_for_function(RECEIVED, arg=2, timeout=30_000)
        assert b.evaluate("() => window.received.map(e => e.data.i)") == [0, 1]
    finally:
        context.close()


def test_jupyterlab_pages_with_notebooks_open_use_one_stream(browser: Any, live_server: Any) -> None:
    """JupyterLab in two tabs of one browser, a notebook with a widget in each: one stream."""
    from test_browser import Page, notebook

    p = f"t{uuid.uuid4().hex[:6]}"
    channel = f"{p}/lab"
    point(live_server, channel, 0)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        login(context, live_server)
        labs = []
        for i in range(2):
            name = f"{p}-lab{i}.ipynb"
            (live_server.root_dir / name).write_text(notebook(
                f'import sse_widgets as sw\nsw.LiveChart("{channel}", title="lab")'))
            lab = Page.__new__(Page)
            lab.server, lab.ui, lab.name, lab.context = live_server, "lab", name, context
            lab.page, lab.dialogs, lab.errors = context.new_page(), [], []
            lab.open()
            lab.run_cell(0)
            lab.page.wait_for_function(CHART, arg=[channel, 1], timeout=60_000)
            labs.append(lab)
        assert {lab.page.evaluate("() => globalThis.__sseWidgets.mode") for lab in labs} == {"worker"}
        wait_for(live_server, labs[0].page, lambda: stats(live_server)["subscribers"] == 1, "one stream")
        point(live_server, channel, 1)
        for lab in labs:
            lab.page.wait_for_function(CHART, arg=[channel, 2], timeout=30_000)
            assert lab.page.evaluate(CHART_X, channel) == [0, 1]
    finally:
        context.close()
