"""The supervisor's stop, without a browser: Ctrl-C during start-up, a busy port, and the
environment marker that finds processes which left the supervisor's process groups."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from servers import free_port
from share_support import NOTEBOOKS, Command, still_running, wait_until

from sse_widgets.share import processes
from sse_widgets.share.supervisor import DashboardServer, describe

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def test_stop_marked_stops_marked_processes_in_other_sessions_and_only_those() -> None:
    marker = processes.new_marker()
    # A new session each, as jupyter_client starts kernels: out of reach of any killpg of ours.
    marked = subprocess.Popen(SLEEPER, env={**os.environ, processes.MARKER_ENV: marker},
                              start_new_session=True)
    other = subprocess.Popen(SLEEPER, env={**os.environ, processes.MARKER_ENV: "someone-else"},
                             start_new_session=True)
    try:
        wait_until(lambda: processes.marked(marker) == [marked.pid], 10,
                   lambda: f"marked: {processes.marked(marker)}")
        assert processes.stop_marked(marker, grace=5) == [marked.pid]
        assert marked.wait(10) == -signal.SIGTERM
        assert other.poll() is None
        assert processes.marked(marker) == []
        assert processes.stop_marked(marker) == []
    finally:
        for p in (marked, other):
            p.kill()
            p.wait()


@pytest.mark.slow
def test_ctrl_c_while_the_server_starts_stops_it() -> None:
    serve = Command("serve", str(NOTEBOOKS / "voila_dashboard.ipynb"), "--no-browser", "--port", str(free_port()))
    try:
        serve.wait_for("Starting the dashboard server")

        def server_started() -> object:
            tree = serve.record()
            return tree if any("jupyter_server" in p.cmd for p in tree.values()) else None

        tree = wait_until(server_started, 60, lambda: f"no server started: {serve.output}")
        serve.interrupt()
        assert serve.wait(60) == 0, serve.output
        assert "Share (view only" not in serve.output
        assert still_running(tree) == []
    finally:
        serve.kill_all()


def test_serve_refuses_a_busy_port_and_a_missing_notebook() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        serve = Command("serve", str(NOTEBOOKS / "voila_dashboard.ipynb"), "--no-browser", "--port", str(port))
        try:
            assert serve.wait(60) == 1
            assert f"port {port} on 127.0.0.1 is in use: pass --port with a free one" in serve.output
        finally:
            serve.kill_all()
    missing = Command("serve", "no-such.ipynb", "--no-browser")
    try:
        assert missing.wait(60) == 2
        assert "no-such.ipynb is not a notebook file" in missing.output
    finally:
        missing.kill_all()


def test_export_lines_are_shell_quoted() -> None:
    server = DashboardServer(NOTEBOOKS, "voila_dashboard.ipynb", 8866, key="it's a key")
    try:
        text = describe(server)
    finally:
        server.stop()
    assert "export SSE_WIDGETS_URL=http://127.0.0.1:8866/" in text
    assert "export SSE_WIDGETS_KEY='it'\"'\"'s a key'" in text


@pytest.mark.slow
def test_a_crashed_server_ends_the_command_and_leaves_no_kernel_behind() -> None:
    serve = Command("serve", str(NOTEBOOKS / "voila_dashboard.ipynb"), "--no-browser", "--port", str(free_port()))
    try:
        url = serve.wait_for(r"^Owner \(full access, keep private\): (\S+)").group(1)
        base, token = url.split("voila/render/")[0], url.split("token=")[1]
        request = urllib.request.Request(f"{base}api/kernels", data=b"{}", method="POST",
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 201

        def kernel_started() -> object:
            tree = serve.record()
            return tree if any("ipykernel" in p.cmd for p in tree.values()) else None

        tree = wait_until(kernel_started, 60, lambda: f"no kernel: {serve.record()}")
        server = next(p for p in tree.values() if "jupyter_server" in p.cmd)
        os.kill(server.pid, signal.SIGKILL)  # no chance to shut its kernels down
        assert serve.wait(60) == 1
        assert "jupyter server exited with status -9" in serve.output
        assert still_running(tree) == [], serve.output
    finally:
        serve.kill_all()
