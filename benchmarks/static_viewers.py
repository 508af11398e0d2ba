"""Viewers of one shared dashboard: ``serve --static`` side by side with Voila mode.

Both modes serve ``notebooks/voila_dashboard.ipynb`` through the real ``sse-widgets serve``
command, in the same run. Viewers open the share link one after another, each in a
Chromium context of its own (separate people), and stay open:

- **memory**: RSS of everything the command runs (the Jupyter server, and in Voila mode
  one kernel per viewer), after the first viewer and after the last; per extra viewer is
  the difference divided by the viewers added;
- **time to render**: from the navigation to the page's chart streaming live (Voila: the
  kernel starts and runs the notebook first), for viewer 1 and viewer N.

Then, for ``--static`` only, an HTTP+SSE load client stands in for a browser: each of
1,000 viewers fetches the page with the share link (its own viewer cookie and the page's
ticket), and opens the stream with that ticket; its time to render is until the first
event of the history arrives. (Voila mode would need a kernel per viewer: 1,000 of them
are beyond this machine; its line says so rather than a figure.)

    python benchmarks/static_viewers.py --markdown            # 1, 10, 30 browsers; 1,000 HTTP
    python benchmarks/static_viewers.py --browsers 1 5 --http 200   # small
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from _report import note, run_line, table

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "voila_dashboard.ipynb"
CHROMIUM = os.environ.get("SSE_WIDGETS_CHROMIUM", "/usr/bin/chromium")
LIVE = """() => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes('etl/throughput') && s.state === 'live')"""
CHANNELS = ["etl/notify", "etl/progress", "etl/throughput"]
_TICKET = re.compile(r'"ticket":"([A-Za-z0-9_.-]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Serve:
    """``sse-widgets serve`` as a user runs it; stopped with Ctrl-C (SIGINT to its group)."""

    def __init__(self, static: bool):
        self.port = free_port()
        args = [sys.executable, "-m", "sse_widgets.cli", "serve", str(NOTEBOOK), "--no-browser",
                "--port", str(self.port), *(["--static"] if static else [])]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
        self.process = subprocess.Popen(args, env=env, cwd=REPO, start_new_session=True,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if line.startswith("Press Ctrl-C"):
                break
        else:
            raise RuntimeError("serve ended:\n" + "\n".join(self.lines))
        text = "\n".join(self.lines)
        self.share = re.search(r"^Share \([^)]*\): (\S+)", text, re.MULTILINE).group(1)  # type: ignore[union-attr]
        self.key = re.search(r"SSE_WIDGETS_KEY=(\S+)", text).group(1)  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{self.port}/"

    def rss(self) -> int:
        """Bytes resident in every process under the command but the command itself."""
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            pid, ppid = int(entry), int(fields["PPid"])
            children.setdefault(ppid, []).append(pid)
            rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
        total, todo = 0, list(children.get(self.process.pid, []))
        while todo:
            pid = todo.pop()
            total += rss.get(pid, 0)
            todo.extend(children.get(pid, []))
        return total

    def feed(self) -> None:
        """A short run of the producer, so every viewer renders a history."""
        env = {**os.environ, "SSE_WIDGETS_URL": self.base, "SSE_WIDGETS_KEY": self.key}
        subprocess.run([sys.executable, str(REPO / "notebooks" / "producer.py"), "--batches", "5",
                        "--interval", "0"], env=env, check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def browsers(server: Serve, levels: list[int]) -> dict[int, dict[str, float]]:
    """Open viewers one after another up to max(levels); figures at each level."""
    from playwright.sync_api import sync_playwright

    out: dict[int, dict[str, float]] = {}
    times: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            for n in range(1, max(levels) + 1):
                context = browser.new_context(viewport={"width": 1000, "height": 700})
                page = context.new_page()
                start = time.perf_counter()
                page.goto(server.share)
                page.wait_for_function(LIVE, timeout=300_000)
                times.append(time.perf_counter() - start)
                if n in levels:
                    out[n] = {"rss": server.rss(), "first": times[0], "last": times[-1]}
                    note(f"  {n} viewers: {out[n]['rss'] / 2**20:.0f} MB, viewer {n} {times[-1]:.2f} s")
        finally:
            browser.close()
    return out


def http_viewers(server: Serve, n: int) -> dict[str, float]:
    """``n`` load-client viewers, one after another, each keeping its stream open."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 256)), hard))
    share = urllib.parse.urlsplit(server.share)
    streams: list[socket.socket] = []
    times: list[float] = []
    rss1 = 0
    try:
        for i in range(n):
            start = time.perf_counter()
            page = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            page.request("GET", f"{share.path}?{share.query}")
            response = page.getresponse()
            body = response.read().decode()
            cookie = (response.getheader("Set-Cookie") or "").split(";", 1)[0]
            page.close()
            ticket = _TICKET.search(body)
            assert response.status == 200 and ticket, (response.status, body[:300])
            query = urllib.parse.urlencode([*(("channel", c) for c in CHANNELS),
                                            ("last_event_id", "0"), ("auth_ticket", ticket.group(1))])
            stream = socket.create_connection(("127.0.0.1", server.port), timeout=60)
            stream.sendall(f"GET /sse-widgets/api/stream?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           f"Cookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n".encode())
            got = b""
            while b"\ndata: " not in got:
                chunk = stream.recv(65536)
                if not chunk:
                    raise RuntimeError(f"stream closed: {got[:300]!r}")
                got += chunk
            times.append(time.perf_counter() - start)
            streams.append(stream)
            if i == 0:
                rss1 = server.rss()
        rss_n = server.rss()
    finally:
        for stream in streams:
            stream.close()
    tail = times[-max(1, n // 100):]
    return {"rss1": rss1, "rss": rss_n, "first": times[0], "last": statistics.median(tail),
            "p99": sorted(times)[int(0.99 * (len(times) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browsers", type=int, nargs="+", default=[1, 10, 30],
                        help="viewer counts measured with Chromium (default 1 10 30)")
    parser.add_argument("--http", type=int, default=1000, help="load-client viewers (static)")
    parser.add_argument("--markdown", action="store_true", help="print only the README's markdown")
    args = parser.parse_args()
    levels = sorted(set(args.browsers))

    results: dict[str, dict[int, dict[str, float]]] = {}
    loadclient: dict[str, float] = {}
    for mode, static in (("static", True), ("voila", False)):
        note(f"{mode}: starting serve{' --static' if static else ''}")
        server = Serve(static)
        try:
            server.feed()
            results[mode] = browsers(server, levels)
            if static and args.http:
                note(f"static: {args.http} load-client viewers")
                loadclient = http_viewers(server, args.http)
        finally:
            server.stop()

    rows = []
    for mode, label in (("static", "`serve --static`"), ("voila", "`serve` (Voilà, a kernel per viewer)")):
        data = results[mode]
        one = data[levels[0]]
        for n in levels:
            per = (data[n]["rss"] - one["rss"]) / (n - levels[0]) if n > levels[0] else float("nan")
            rows.append([label, f"{n} (Chromium)", f"{data[n]['rss'] / 2**20:,.0f}",
                         "–" if math.isnan(per) else f"{per / 1024:,.0f}",
                         f"{one['first']:.2f}", f"{data[n]['last']:.2f}"])
    if loadclient:
        n = args.http
        per = (loadclient["rss"] - loadclient["rss1"]) / (n - 1) if n > 1 else float("nan")
        rows.append(["`serve --static`", f"{n:,} (HTTP+SSE client)", f"{loadclient['rss'] / 2**20:,.0f}",
                     f"{per / 1024:,.1f}", f"{loadclient['first']:.3f}",
                     f"{loadclient['last']:.3f} (p99 {loadclient['p99']:.3f})"])
        rows.append(["`serve` (Voilà)", f"{n:,} (HTTP+SSE client)", "not run: a kernel per viewer", "", "", ""])

    if not args.markdown:
        print("The README's markdown:\n")
    print(run_line(1))
    print()
    print(table(["mode", "viewers", "server RSS MB", "KB per extra viewer",
                 "viewer 1 renders (s)", "viewer N renders (s)"],
                "llrrrr", rows))


if __name__ == "__main__":
    main()
