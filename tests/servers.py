"""Real ``jupyter server`` subprocesses on 127.0.0.1 for tests, started and stopped here."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

#: The checkout's build of the JupyterLab extension (js/labextension, built by `npm run build`).
LAB_EXTENSION = Path(__file__).resolve().parents[1] / "sse_widgets" / "labextension"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoggedProcess:
    """A server a test starts (in a session of its own), its output in ``log_path``.

    Subclasses call ``launch`` and then ``wait_until`` their own readiness check; ``stop``
    ends it with SIGTERM, then SIGKILL for the whole session if it hangs.
    """

    name = "process"
    process: subprocess.Popen[bytes]
    log_path: Path

    def launch(self, args: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - open while it runs, closed in stop()
        self.process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_until(self, ready: Any, timeout: float = 60.0) -> None:
        """Call ``ready()`` until it returns without an OSError (URLError is one)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()}")
            try:
                ready()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} did not answer in {timeout:.0f}s:\n{self.log()}") from None
                time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()


class JupyterServer:
    """A ``jupyter server`` process with the sse_widgets extension (enabled by install).

    Attributes a test needs: ``url`` (``http://127.0.0.1:PORT/base/``), ``base_url``,
    ``token``, ``key`` (the publish key), ``port``, ``root_dir``, ``env`` (what a
    publishing child process needs), ``log_path``.
    """

    def __init__(
        self,
        *,
        base_url: str = "/",
        key: str | None = None,
        options: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        extra_args: list[str] = (),  # type: ignore[assignment]
        root_dir: Path | None = None,
        port: int | None = None,
    ):
        self.port = port or free_port()
        self.base_url = base_url
        self.token = secrets.token_hex(16)
        self.key = key or secrets.token_urlsafe(24)
        self._tmp = tempfile.TemporaryDirectory(prefix="sse-widgets-test-")
        tmp = Path(self._tmp.name)
        self.root_dir = root_dir or tmp / "root"
        self.root_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = tmp / "server.log"
        self.url = f"http://127.0.0.1:{self.port}{base_url}"
        self.env = {"SSE_WIDGETS_URL": self.url, "SSE_WIDGETS_KEY": self.key}
        args = [
            sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--ServerApp.base_url={base_url}",
            f"--ServerApp.root_dir={self.root_dir}", f"--IdentityProvider.token={self.token}",
        ]
        if key != "":  # key="" lets the extension choose (random, or shared through Redis)
            args.append(f"--SSEWidgetsApp.publish_key={self.key}")
        for name, value in (options or {}).items():
            args.append(f"--{name}={value}")
        if config:
            config_file = tmp / "jupyter_server_config.json"
            config_file.write_text(json.dumps(config))
            args.append(f"--config={config_file}")
        args += list(extra_args)
        self.args = args
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
        # JupyterLab and Notebook 7 load the checkout's build of the Lab extension: an editable
        # install copied it into share/jupyter/labextensions once, and JUPYTER_PATH comes first
        # in their search (jupyter_core.paths.jupyter_path), so a rebuilt js/ is what they load.
        data = tmp / "jupyter-path"
        (data / "labextensions").mkdir(parents=True)
        (data / "labextensions" / "sse-widgets-lab").symlink_to(LAB_EXTENSION, target_is_directory=True)
        env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(data), env.get("JUPYTER_PATH", "")) if p)
        env.update(
            JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
            JUPYTER_CONFIG_DIR=str(tmp / "config"),
            IPYTHONDIR=str(tmp / "ipython"),
            PYTHONUNBUFFERED="1",
        )
        self.process_env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> JupyterServer:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - open while it runs; closed in stop()
        self.process = subprocess.Popen(
            self.args, stdout=self._log, stderr=subprocess.STDOUT, env=self.process_env,
            cwd=self.root_dir, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter server exited early:\n{self.log()}")
            try:
                self.api("GET", "api/status")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"jupyter server did not answer in {timeout}s:\n{self.log()}")

    def api(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
        """Call the server's REST API with the token; returns parsed JSON (or None)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the server (it shuts its kernels down), then SIGKILL if it hangs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if getattr(self, "_log", None):
            self._log.close()
        self._tmp.cleanup()

    def __enter__(self) -> JupyterServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
