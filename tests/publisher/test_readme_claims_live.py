"""README promises checked against a real Jupyter server: ``concurrent.futures`` workers,
the command line's ``notify --title``, ``progress --status done`` and ``info --show-key``,
and a kernel whose hub stays silent past the probe's 1 s at its first call."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))

from servers import JupyterServer
from sse_client import SSEStream

import sse_widgets.publisher as sw
from sse_widgets.publisher import _process

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "sse_widgets.cli"]


def retained(server: JupyterServer, channel: str) -> list[dict[str, Any]]:
    """Every retained event of ``channel``, read back through the stream."""
    count = next((c["retained"] for c in server.api("GET", "sse-widgets/api/channels")["channels"]
                  if c["name"] == channel), 0)
    if not count:
        return []
    with SSEStream(server.url, [channel], token=server.token, last_event_id="0") as stream:
        return [e.json for e in stream.read_count(count, timeout=30)]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
    return subprocess.run([*CLI, *args], env={**clean, **env}, capture_output=True, text=True,
                          timeout=120, check=False)


def test_concurrent_futures_workers_publish_with_the_inherited_environment(
    live_server: JupyterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a kernel of this server has; its workers inherit it. No flush in the workers:
    # what they queued is sent as they exit.
    for name, value in live_server.env.items():
        monkeypatch.setenv(name, value)
    import multiprocessing

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(functools.partial(sw.metric, loss=0.5), ["cf/work"] * 20, range(20)))
    xs = sorted(e["data"]["x"] for e in retained(live_server, "cf/work"))
    assert xs == list(range(20))


def test_cli_notify_title_and_progress_status_done(live_server: JupyterServer) -> None:
    env = live_server.env
    done = cli(env, "notify", "Backup finished", "--title", "Nightly", "--level", "success",
               "--channel", "cf/notify")
    assert done.returncode == 0, done.stderr
    (toast,) = retained(live_server, "cf/notify")
    assert (toast["data"]["title"], toast["data"]["message"], toast["data"]["level"]) == (
        "Nightly", "Backup finished", "success")
    for args in (["--n", "3", "--total", "10"], ["--n", "10", "--total", "10", "--status", "done"]):
        assert cli(env, "progress", "--task", "build", "--channel", "cf/progress", *args).returncode == 0
    states = [e["data"] for e in retained(live_server, "cf/progress")]
    assert [(s["n"], s["status"]) for s in states] == [(3, "running"), (10, "done")]


def test_cli_info_shows_the_key_only_with_show_key(live_server: JupyterServer) -> None:
    hidden = cli(live_server.env, "info")
    shown = cli(live_server.env, "info", "--show-key")
    assert hidden.returncode == shown.returncode == 0
    assert live_server.key not in hidden.stdout
    assert f"export SSE_WIDGETS_KEY={live_server.key}" in shown.stdout
    assert f"export SSE_WIDGETS_URL={live_server.url}" in shown.stdout


class SilentHub:
    """Accepts connections and never answers: a hub that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.held: list[socket.socket] = []
        self.accepted = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            self.accepted.set()

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent_hub() -> Iterator[SilentHub]:
    hub = SilentHub()
    yield hub
    hub.close()


def test_a_kernel_whose_hub_is_silent_past_1_s_publishes_to_its_widgets(
    silent_hub: SilentHub, tmp_path: Path
) -> None:
    jupyter_client = pytest.importorskip("jupyter_client")
    assert _process.PROBE_TIMEOUT == 1.0
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
    env.update(SSE_WIDGETS_URL=silent_hub.url, SSE_WIDGETS_KEY="k",
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), IPYTHONDIR=str(tmp_path / "ipython"))
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel(env=env, cwd=str(tmp_path))
    client = manager.blocking_client()
    client.start_channels()
    out: list[dict[str, Any]] = []
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(textwrap.dedent("""
            import sse_widgets as sw
            from sse_widgets.publisher import _process
            chart = sw.LiveChart("silent/train")
            sw.metric("silent/train", x=1, loss=0.5)
            t = _process.transport()
            print(type(t).__name__, "|", t.reason, "|", sw.flush(10).ok)
        """), timeout=60, output_hook=lambda msg: out.append(msg))
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
    kind, reason, ok = (part.strip() for part in text.split("|"))
    assert silent_hub.accepted.is_set()  # it was asked, and did not answer
    assert kind == "LocalTransport" and "timed out" in reason and ok == "True"

