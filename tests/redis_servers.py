"""Real redis-server processes for tests, on 127.0.0.1, started and stopped here."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from servers import free_port


class RedisServer:
    """``redis-server`` with an append-only file, so a restart keeps what it acknowledged.

    ``options`` are extra ``redis-server`` arguments (``{"maxmemory": "64mb"}``). For fault
    tests: ``pause``/``resume`` (SIGSTOP/SIGCONT), ``kill`` (SIGKILL), and ``client()``.
    """

    def __init__(
        self, port: int | None = None, directory: Path | None = None,
        options: dict[str, str] | None = None,
    ):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/test installs it)")
        self.binary = binary
        self.port = port or free_port()
        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="sse-widgets-redis-")
        self.directory = directory or Path(self._tmp.name)  # type: ignore[union-attr]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.options = dict(options or {})
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory),
             "--daemonize", "no", "--protected-mode", "no",
             *[arg for name, value in self.options.items() for arg in (f"--{name}", value)]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()  # a frozen server would never see the SIGTERM
            self.process.terminate()  # SIGTERM: redis flushes its append-only file and exits
            self.process.wait(20)
        self.process = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: what was fsynced to the append-only file is all that survives."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(20)
        self.process = None

    def client(self, **kwargs: Any) -> redis.Redis:
        """A plain redis-py client for the test itself."""
        return redis.Redis.from_url(self.url, **kwargs)

    def cleanup(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
