"""A standalone ``python -m voila notebook.ipynb`` on 127.0.0.1 for the browser tests, stopped by them."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from servers import LoggedProcess, free_port


class Voila(LoggedProcess):
    """``python -m voila notebook.ipynb`` on 127.0.0.1, in an environment with no SSE_WIDGETS_*.

    ``env`` adds variables (a hub for the kernel, say) after those are removed.
    """

    name = "voila"

    def __init__(self, tmp: Path, notebook: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        (tmp / "notebook.ipynb").write_text(notebook)
        extra = env or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
        env.update(JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
                   IPYTHONDIR=str(tmp / "ipython"), PYTHONUNBUFFERED="1", **extra)
        self.launch(
            [sys.executable, "-m", "voila", "--no-browser", f"--port={self.port}",
             "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "notebook.ipynb"],
            tmp, env, tmp / "voila.log",
        )
        # A connect, not a GET: every GET of the page runs the notebook in a new kernel.
        self.wait_until(lambda: socket.create_connection(("127.0.0.1", self.port), timeout=1).close())
