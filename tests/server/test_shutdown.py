"""A server stops on SIGTERM whatever state the extension is in, and a missing optional
package is one clear log line and 503s that say what to install."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from servers import JupyterServer, free_port
from sse_client import SSEStream, publish


def assert_sigterm_stops(server: JupyterServer) -> None:
    assert server.process is not None and server.process.poll() is None
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server was still running 60 s after SIGTERM:\n{server.log()[-3000:]}")


def dead_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


def get(server: JupyterServer, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", f"{server.base_url}{path}", headers={"Authorization": f"token {server.token}"})
    reply = connection.getresponse()
    return reply.status, reply.read().decode()


@pytest.fixture
def without_redis_package(tmp_path: Path) -> str:
    """A PYTHONPATH under which ``import redis`` fails exactly as when it is not installed.

    The test environment has redis-py (the Redis tests need it), so the server process gets
    a directory first on its path whose ``redis`` package raises the ModuleNotFoundError
    that Python raises for a missing package; nothing else about the process changes.
    """
    shim = tmp_path / "no-redis" / "redis"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(
        'raise ModuleNotFoundError("No module named \'redis\'", name="redis")\n'
    )
    return os.pathsep.join([str(shim.parent), os.environ.get("PYTHONPATH", "")])


def test_missing_redis_package_gives_503s_saying_what_to_install_and_sigterm_stops(without_redis_package: str) -> None:
    server = JupyterServer(options={"SSEWidgetsApp.backend": "redis", "SSEWidgetsApp.redis_url": dead_redis_url()})
    server.process_env["PYTHONPATH"] = without_redis_package
    try:
        server.start()
        with SSEStream(server.url, ["t/x"], token=server.token) as stream:
            assert stream.status == 503
            assert "pip install 'sse-widgets[redis]'" in json.loads(stream.body())["message"]
        status, reply = publish(server.url, server.key, {"channel": "t/x", "data": 1})
        assert status == 503 and "sse-widgets[redis]" in reply["message"]
        status, body = get(server, "sse-widgets/api/channels")
        assert status == 503 and "sse-widgets[redis]" in body
        log = server.log()
        assert sum("sse-widgets[redis]" in line for line in log.splitlines()) == 1, log
        assert "Traceback" not in log
        assert_sigterm_stops(server)
    finally:
        server.stop()


def test_server_whose_extension_failed_to_load_stops_on_sigterm() -> None:
    # history_size=0 is refused while the extension loads, before it has a hub.
    server = JupyterServer(options={"SSEWidgetsApp.history_size": 0})
    try:
        server.start()
        assert "history bounds must be positive" in server.log()
        assert get(server, "sse-widgets/api/channels")[0] == 404  # not loaded
        assert_sigterm_stops(server)
    finally:
        server.stop()


def test_server_whose_backend_is_unreachable_stops_on_sigterm() -> None:
    server = JupyterServer(options={"SSEWidgetsApp.backend": "redis", "SSEWidgetsApp.redis_url": dead_redis_url()})
    try:
        server.start()
        status, reply = publish(server.url, server.key, {"channel": "t/x", "data": 1})
        assert status == 503, reply
        assert_sigterm_stops(server)
    finally:
        server.stop()
