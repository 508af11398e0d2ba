"""A real JupyterHub on 127.0.0.1 for tests: configurable-http-proxy, DummyAuthenticator,
SimpleLocalProcessSpawner, a temporary state folder, and a separate log for the user's server.

The proxy comes from ``tests/jupyterhub/node_modules`` (``npm ci`` there; ``scripts/test``
does it). The Hub's log (the Hub and its proxy) and each single-user server's log are
files, so a test can read what each of them wrote.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from servers import free_port

HERE = Path(__file__).resolve().parent
PROXY = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
REPO = HERE.parents[1]


def require_proxy() -> str:
    """The configurable-http-proxy command; fail (not skip) when it is not installed."""
    if not PROXY.exists():
        import pytest

        pytest.fail(f"configurable-http-proxy missing: run 'npm ci' in {HERE} (scripts/test does)")
    return str(PROXY)


class JupyterHub:
    """A ``jupyterhub`` process and its proxy, all on 127.0.0.1 with free ports.

    ``url`` is the public (proxy) URL, ``api_token`` a service token with admin scopes,
    ``log_path`` the Hub's log (its proxy writes there too) and ``user_log(name)`` the log
    of that user's single-user server.
    """

    def __init__(self, *, singleuser_env: dict[str, str] | None = None):
        self._tmp = tempfile.TemporaryDirectory(prefix="sse-widgets-hub-")
        self.dir = Path(self._tmp.name)
        self.port, self.hub_port, self.proxy_api_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.api_token = secrets.token_hex(32)
        self.log_path = self.dir / "hub.log"
        self.process: subprocess.Popen[bytes] | None = None
        #: Single-user server processes seen, to end any the Hub left behind.
        self._user_pids: set[int] = set()
        user_config = self.dir / "user-config"
        env = {
            # The single-user server inherits only what the Spawner passes on.
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO)),
            "PYTHONUNBUFFERED": "1",
            "JUPYTER_CONFIG_DIR": str(user_config),
            "JUPYTER_RUNTIME_DIR": str(self.dir / "user-runtime"),
            "IPYTHONDIR": str(self.dir / "user-ipython"),
            **(singleuser_env or {}),
        }
        # No "Jupyter news?" popup over the cells.
        news = user_config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        news.mkdir(parents=True)
        (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        # Each user's server writes its own log file (the Spawner would mix it into the Hub's).
        singleuser = [
            "sh", "-c", f'exec "$0" "$@" >>{shlex.quote(str(self.dir))}/user-"$JUPYTERHUB_USER".log 2>&1',
            sys.executable, "-m", "jupyterhub.singleuser",
        ]
        config = f"""
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {self.hub_port}
c.JupyterHub.db_url = {f"sqlite:///{self.dir / 'jupyterhub.sqlite'}"!r}
c.JupyterHub.cookie_secret_file = {str(self.dir / 'cookie_secret')!r}
c.JupyterHub.pid_file = {str(self.dir / 'jupyterhub.pid')!r}
c.ConfigurableHTTPProxy.command = [{require_proxy()!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = {str(self.dir / 'proxy.pid')!r}
c.ConfigurableHTTPProxy.debug = True
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(self.dir / 'home' / '{username}')!r}
c.Spawner.cmd = {singleuser!r}
c.Spawner.args = ["--allow-root", "--ServerApp.port_retries=0"]
c.Spawner.default_url = "/lab"
c.Spawner.debug = True
c.Spawner.environment = {env!r}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{"name": "tests", "api_token": {self.api_token!r}}}]
c.JupyterHub.load_roles = [{{"name": "tests", "services": ["tests"],
    "scopes": ["admin:users", "admin:servers", "admin:server_state", "tokens", "access:servers"]}}]
c.JupyterHub.log_level = "DEBUG"
"""
        self.config_path = self.dir / "jupyterhub_config.py"
        self.config_path.write_text(config)

    def start(self, timeout: float = 90.0) -> JupyterHub:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(self.config_path)],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited early:\n{self.log()}")
            try:
                self.api("GET", "")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyterhub did not answer in {timeout}s:\n{self.log()}")

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """Call the Hub's REST API (``hub/api/<path>``) through the proxy."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}hub/api/{path}", data=data, method=method,
            headers={"Authorization": f"token {token or self.api_token}",
                     "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def start_server(self, user: str, timeout: float = 120.0) -> None:
        """Start ``user``'s server (creating the user) and wait until it is ready."""
        try:
            self.api("POST", f"users/{user}")
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # exists already
                raise
        try:
            self.api("POST", f"users/{user}/server")
        except urllib.error.HTTPError as exc:
            if exc.code != 400:  # already running
                raise
        self.wait_server(user, ready=True, timeout=timeout)

    def stop_server(self, user: str, timeout: float = 60.0) -> None:
        self.api("DELETE", f"users/{user}/server")
        self.wait_server(user, ready=False, timeout=timeout)

    def wait_server(self, user: str, *, ready: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"users/{user}")
            server = model.get("servers", {}).get("")
            if ready and server and server.get("ready"):
                pid = (server.get("state") or {}).get("pid")
                if pid:
                    self._user_pids.add(int(pid))
                return
            if not ready and not server:
                return
            time.sleep(0.5)
        raise AssertionError(f"{user}'s server not {'ready' if ready else 'stopped'} in {timeout}s:\n"
                             f"{self.log()[-4000:]}\n{self.user_log(user)[-4000:]}")

    def user_token(self, user: str, note: str = "test") -> str:
        """A Hub API token of ``user`` (what a script outside the Hub publishes with)."""
        reply = self.api("POST", f"users/{user}/tokens", {"note": note, "expires_in": 3600})
        return str(reply["token"])

    def log(self) -> str:
        return _read(self.log_path)

    def user_log(self, user: str) -> str:
        return _read(self.dir / f"user-{user}.log")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the Hub (it stops the proxy and the users' servers), then SIGKILL leftovers."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        # The proxy and the users' servers run in sessions of their own: if the Hub did not
        # stop them (it does on SIGTERM), end them here.
        # Only a process that is still this Hub's (a pid may have been reused since).
        _kill_pid_file(self.dir / "proxy.pid", f"127.0.0.1:{self.proxy_api_port}")
        for pid in self._user_pids:
            _kill(pid, str(self.dir))
        if getattr(self, "_log", None):
            self._log.close()
        self._tmp.cleanup()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _kill_pid_file(path: Path, marker: str) -> None:
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    _kill(pid, marker)


def _kill(pid: int, marker: str) -> None:
    """SIGTERM ``pid`` if its command line or environment mentions ``marker``."""
    try:
        described = b"".join(Path(f"/proc/{pid}/{part}").read_bytes() for part in ("cmdline", "environ"))
    except OSError:
        return  # gone, or not ours to read
    if marker.encode() in described:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
