"""Fixtures for the publisher: an isolated process state, and a scriptable stand-in hub for transport tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sse_widgets.publisher import _process


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No hub from the environment or from this machine's running Jupyter servers."""
    for name in ("SSE_WIDGETS_URL", "SSE_WIDGETS_KEY", "JUPYTER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    _process.reset()
    yield
    _process.reset()


class FakeHub:
    """A throwaway HTTP server that records publish requests and answers as told.

    Only for transport behaviour (batching, refusal, bisecting, retries): the contract
    itself is tested against the real server in test_live.py.
    """

    def __init__(self) -> None:
        self.requests: list[list[dict[str, Any]]] = []
        self.headers: list[dict[str, str]] = []
        #: The idempotency key of every request, answered 200 or not.
        self.attempt_keys: list[str | None] = []
        #: statuses to answer, in order; 200 once exhausted. A callable decides per body.
        self.script: list[int] = []
        self.reject_if: Any = None
        #: what an event matching reject_if gets: 400, or 500 for a hub that fails on it.
        self.reject_status = 400
        self.lock = threading.Lock()
        #: Cleared: a POST is held unanswered (after ``arrived`` is set) until it is set again.
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = threading.Event()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_OPTIONS(self) -> None:
                # What a kernel's probe asks before it relies on the hub (publish/_process.py).
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                events = json.loads(body)
                hub.arrived.set()
                hub.gate.wait(30)
                with hub.lock:
                    hub.attempt_keys.append(self.headers.get("X-SSE-Widgets-Idempotency-Key"))
                    status = hub.script.pop(0) if hub.script else 200
                    if status == 200 and hub.reject_if is not None and any(map(hub.reject_if, events)):
                        status = hub.reject_status
                    if status == 200:
                        hub.requests.append(events)
                        hub.headers.append(dict(self.headers))
                reply = json.dumps(
                    {"ids": [f"e-{i}" for i in range(len(events))]} if status == 200 else {"message": "no", "reason": ""}
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/base/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [event for request in self.requests for event in request]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    try:
        yield hub
    finally:
        _process.reset()
        hub.stop()
