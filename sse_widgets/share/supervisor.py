"""Run a Jupyter server with Voila and sse-widgets as a child process, and stop it cleanly.

The command stays in the foreground, prints where to look, and on Ctrl-C (SIGINT) or
SIGTERM stops every process it started: each child runs in its own process group, which
is signalled as a whole (so multiprocessing workers of a producer go too), politely first
and by force after a grace period.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

GRACE_SECONDS = 15.0


class ServeError(RuntimeError):
    """The server could not be started; the message says why and what to do."""


def port_is_free(ip: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((ip, port))
        except OSError:
            return False
    return True


class Child:
    """A subprocess in its own process group."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], cwd: Path, log: Path | None = None):
        self.name = name
        self._log = open(log, "ab") if log else None  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            args, env=env, cwd=cwd, start_new_session=True,
            stdout=self._log or None, stderr=subprocess.STDOUT if self._log else None,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """SIGTERM the group (the server shuts its kernels down), SIGKILL what remains."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        try:  # whatever is left in the group, workers included
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        if self._log:
            self._log.close()


class DashboardServer:
    """A ``jupyter server`` with the Voila and sse-widgets extensions on ``ip:port``.

    Parameters
    ----------
    root
        Folder served (notebooks are rendered from it).
    notebook
        Path of the dashboard notebook, relative to ``root``.
    key
        The publish key (SSE_WIDGETS_KEY) for producers; random if None.
    """

    def __init__(self, root: Path, notebook: str, port: int, ip: str = "127.0.0.1", key: str | None = None,
                 token: str | None = None, extra_args: list[str] | None = None):
        self.root = root.resolve()
        self.notebook = notebook
        self.ip = ip
        self.port = port
        self.key = key or secrets.token_urlsafe(24)
        self.token = secrets.token_urlsafe(16) if token is None else token
        self.extra_args = extra_args or []
        self.runtime = Path(tempfile.mkdtemp(prefix="sse-widgets-serve-"))
        self.child: Child | None = None

    @property
    def base(self) -> str:
        host = "127.0.0.1" if self.ip in ("0.0.0.0", "", "*") else self.ip
        return f"http://{host}:{self.port}/"

    @property
    def dashboard_url(self) -> str:
        query = f"?token={self.token}" if self.token else ""
        return f"{self.base}voila/render/{urllib.request.pathname2url(self.notebook)}{query}"

    @property
    def producer_env(self) -> dict[str, str]:
        """What a producer process needs to publish here."""
        return {"SSE_WIDGETS_URL": self.base, "SSE_WIDGETS_KEY": self.key}

    def start(self, timeout: float = 120.0) -> None:
        if not port_is_free(self.ip, self.port):
            raise ServeError(f"port {self.port} on {self.ip} is in use: pass --port with a free one")
        config = {
            "ServerApp": {
                # Voila renders the dashboards; sse-widgets serves the hub beside it, so the
                # page streams from the same server and origin.
                "jpserver_extensions": {"voila.server_extension": True, "sse_widgets": True},
                "ip": self.ip, "port": self.port, "port_retries": 0, "open_browser": False,
                "root_dir": str(self.root), "allow_root": True,
                "default_url": f"/voila/render/{urllib.request.pathname2url(self.notebook)}",
            },
            "IdentityProvider": {"token": self.token},
            "SSEWidgetsApp": {"publish_key": self.key},
        }
        config_file = self.runtime / "jupyter_server_config.json"
        config_file.write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
        args = [sys.executable, "-m", "jupyter_server", f"--config={config_file}", *self.extra_args]
        self.log = self.runtime / "server.log"
        self.child = Child("jupyter server", args, env, self.root, self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.child.alive():
                raise ServeError(f"the Jupyter server stopped during start-up:\n{self.log_tail()}")
            try:
                urllib.request.urlopen(f"{self.base}api/status?token={self.token}", timeout=2).read()
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise ServeError(f"the Jupyter server did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
        shutil.rmtree(self.runtime, ignore_errors=True)


def wait_for_interrupt(children: list[Child]) -> int:
    """Block until Ctrl-C / SIGTERM (status 0) or until a child dies on its own (status 1)."""
    stopping = {"signal": False}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping["signal"] = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping["signal"]:
            for child in children:
                if not child.alive():
                    print(f"sse-widgets: {child.name} exited with status {child.process.returncode}",
                          file=sys.stderr)
                    return 1
            time.sleep(0.2)
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def describe(server: DashboardServer, producer_hint: bool = True) -> str:
    lines = [f"Dashboard: {server.dashboard_url}"]
    if producer_hint:
        lines += [
            "Feed it from another process (a script, a cron job, a worker):",
            f"  export SSE_WIDGETS_URL={server.base}",
            f"  export SSE_WIDGETS_KEY={server.key}",
        ]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def open_in_browser(url: str) -> Any:
    import webbrowser

    return webbrowser.open(url)
