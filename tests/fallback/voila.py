"""A standalone ``python -m voila notebook.ipynb`` on 127.0.0.1 for the browser tests, stopped by them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from servers import free_port


class Voila:
    """``python -m voila notebook.ipynb`` on 127.0.0.1, in an environment with no SSE_WIDGETS_*.

    ``env`` adds variables (a hub for the kernel, say) after those are removed.
    """

    def __init__(self, tmp: Path, notebook: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        (tmp / "notebook.ipynb").write_text(notebook)
        extra = env or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
        env.update(JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
                   IPYTHONDIR=str(tmp / "ipython"), PYTHONUNBUFFERED="1", **extra)
        self.log_path = tmp / "voila.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - open while voila runs, closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voila", "--no-browser", f"--port={self.port}",
             "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "notebook.ipynb"],
            cwd=tmp, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"voila exited early:\n{self.log()}")
            try:
                # A connect, not a GET: every GET of the page runs the notebook in a new kernel.
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"voila did not listen in 60s:\n{self.log()}") from None
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
