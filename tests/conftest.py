"""Shared fixtures: real Jupyter servers on 127.0.0.1, stopped by the fixtures themselves."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from redis_servers import RedisServer
from servers import JupyterServer

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture(scope="module")
def live_server() -> Iterator[JupyterServer]:
    """A real ``jupyter server`` subprocess with the extension, shared by a test module."""
    server = JupyterServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_server() -> Iterator[Callable[..., JupyterServer]]:
    """Start servers with particular options; every one is stopped after the test."""
    started: list[JupyterServer] = []

    def start(**kwargs: Any) -> JupyterServer:
        server = JupyterServer(**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session; tests keep apart with key prefixes."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.cleanup()
