"""Start and stop the servers the benchmarks compare, on 127.0.0.1, as subprocesses."""

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
import urllib.request
from pathlib import Path

from _loadclient import Target

from sse_widgets.protocol import mint_ticket

BASELINES = Path(os.environ.get("SSE_WIDGETS_BASELINES", Path(__file__).resolve().parents[2] / "shared" / "baselines"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A server subprocess on 127.0.0.1:``port``, in its own process group."""

    name = "server"
    #: The row's label in the README's table.
    label = "server"

    def __init__(self) -> None:
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        raise NotImplementedError

    def target(self) -> Target:
        raise NotImplementedError

    def storm_stream(self, retained: int) -> tuple[str, int]:
        """Make the channel keep ``retained`` events; return the path a storm client asks
        for and how many events it is owed (its replay, or the greeting of a peer that
        keeps none). Called once the server runs."""
        raise NotImplementedError(f"{self.name} has no storm scenario")

    def process_groups(self) -> list[int]:
        """The process groups the server runs in (its CPU time is theirs), once started."""
        return [self.process.pid] if self.process is not None else []

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body, method="POST",
                                         headers={"Content-Type": "application/json", **(headers or {})})
        urllib.request.urlopen(request, timeout=30).read()

    #: An HTTP path that answers once the server is ready; None: once the port accepts.
    ready_path: str | None = None

    def start(self, timeout: float = 180) -> Server:
        args, env, cwd = self.command()
        self.log = open(self.tmp / "server.log", "ab")  # noqa: SIM115 - open while it runs; closed in stop()
        self.process = subprocess.Popen(args, env={**os.environ, **env}, cwd=cwd, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {(self.tmp / 'server.log').read_text()[-2000:]}")
            if self._ready():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start")

    def _ready(self) -> bool:
        try:
            if self.ready_path is None:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            else:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}{self.ready_path}", timeout=2).read()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class SSEWidgets(Server):
    """sse-widgets inside a real ``jupyter server``."""

    name = "sse-widgets"
    label = "sse-widgets (in a Jupyter server)"

    def __init__(self, extra: list[str] = (), token: str | None = None, key: str | None = None) -> None:  # type: ignore[assignment]
        super().__init__()
        self.token = token or secrets.token_hex(8)
        self.key = key or secrets.token_hex(8)
        self.extra = list(extra)
        self.ready_path = f"/api/status?token={self.token}"

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        return [
            sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--SSEWidgetsApp.publish_key={self.key}",
            "--ServerApp.log_level=WARN", f"--ServerApp.root_dir={self.tmp}", *self.extra,
        ], {"JUPYTER_RUNTIME_DIR": str(self.tmp / "runtime"), "JUPYTER_CONFIG_DIR": str(self.tmp / "cfg")}, self.tmp

    def target(self) -> Target:
        def bodies(items: list[dict[str, object]]) -> list[bytes]:
            return [json.dumps([{"channel": "bench", "type": "tick", "data": d} for d in items]).encode()]

        return Target(self.name, self.port, f"/sse-widgets/api/stream?channel=bench&token={self.token}",
                      "/sse-widgets/api/publish", {"X-SSE-Widgets-Key": self.key}, bodies)

    def storm_stream(self, retained: int) -> tuple[str, int]:
        target = self.target()
        for body in target.bodies([{"i": i} for i in range(retained)]):
            self.post(target.pub_path, body, target.pub_headers)
        # As a dashboard's viewers connect: with a ticket for the channel, not the owner's
        # Jupyter token. last_event_id=0: everything retained, as browsers whose cursor is
        # from before a restart get (after a reset event, which this stream does not need).
        ticket = mint_ticket(self.key, ["bench"], ttl=3600)
        return f"/sse-widgets/api/stream?channel=bench&last_event_id=0&auth_ticket={ticket}", retained


def _seed_bodies(items: list[dict[str, object]]) -> list[bytes]:
    return [json.dumps([{"type": "tick", "data": d} for d in items]).encode()]


class SeedExpress(Server):
    name = "seed-express"
    label = "seed-express (Node/Express)"

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        work = self.tmp / "app"
        shutil.copytree(BASELINES / "seed-express", work)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=work, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return ["node", "server.js"], {"PORT": str(self.port)}, work


    def target(self) -> Target:
        return Target(self.name, self.port, "/events", "/broadcast", {}, _seed_bodies)

    def storm_stream(self, retained: int) -> tuple[str, int]:
        return "/events", 1  # no history: each client is owed its "connected" event


class SeedPython(Server):
    name = "seed-python"
    label = "seed-python (Starlette)"

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        return [sys.executable, str(BASELINES / "seed-python" / "server.py")], {"PORT": str(self.port)}, self.tmp


    def target(self) -> Target:
        return Target(self.name, self.port, "/events", "/broadcast", {}, _seed_bodies)


class Nchan(Server):
    """nginx + Nchan, one worker; one message per publish request."""

    name = "nchan"
    label = "nchan (nginx, C; one message per request)"

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        (self.tmp / "tmp").mkdir()
        conf = (BASELINES / "nchan" / "nginx.conf").read_text().replace("127.0.0.1:8792", f"127.0.0.1:{self.port}")
        (self.tmp / "nginx.conf").write_text(conf)
        return ["nginx", "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf"), "-e", str(self.tmp / "error.log")], {}, self.tmp


    def target(self) -> Target:
        return Target(self.name, self.port, "/sub", "/pub", {}, lambda items: [json.dumps(d).encode() for d in items])

    def storm_stream(self, retained: int) -> tuple[str, int]:
        for i in range(retained):
            self.post("/pub", json.dumps({"i": i}).encode())
        return "/sub", retained  # a new subscriber starts at the oldest message (nchan's default)

    @staticmethod
    def available() -> bool:
        return shutil.which("nginx") is not None and Path("/usr/lib/nginx/modules/ngx_nchan_module.so").exists()


class RedisProcess(Server):
    """A throwaway redis-server (append-only, as a production one should be)."""

    name = "redis"

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        return ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes", "--dir", str(self.tmp)], {}, self.tmp


    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class SSEWidgetsRedis(Server):
    """sse-widgets with backend='redis': ``servers`` Jupyter servers on one redis-server,
    subscribers spread over them, the publisher on the first."""

    name = "sse-widgets+redis"
    label = "sse-widgets, backend=redis"
    servers = 1

    def __init__(self) -> None:
        super().__init__()
        self.redis = RedisProcess()
        self.token, self.key = secrets.token_hex(8), secrets.token_hex(8)
        self.members: list[SSEWidgets] = []

    def start(self, timeout: float = 90) -> Server:
        self.redis.start()
        options = ["--SSEWidgetsApp.backend=redis", f"--SSEWidgetsApp.redis_url={self.redis.url}"]
        for _ in range(self.servers):
            self.members.append(SSEWidgets(options, token=self.token, key=self.key).start(timeout))  # type: ignore[arg-type]
        return self

    def process_groups(self) -> list[int]:
        return [g for server in (self.redis, *self.members) for g in server.process_groups()]

    def stop(self) -> None:
        for member in self.members:
            member.stop()
        self.redis.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def target(self) -> Target:
        target = self.members[0].target()
        target.name = self.name
        target.sub_ports = [m.port for m in self.members]
        return target


class SSEWidgetsRedisPair(SSEWidgetsRedis):
    name = "sse-widgets+redis x2"
    label = "sse-widgets, 2 servers on one Redis"
    servers = 2
