"""Fixtures for the browser tests of the widgets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """Replace pytest-jupyter's autouse loop fixture with a loop that is never current.

    Playwright's sync API runs the thread's current asyncio loop for the whole module (one
    browser per module); pytest-jupyter's fixture makes its loop current and closes it after
    each test, under Playwright ("Cannot close a running event loop"). These tests use no
    ``jp_*`` server fixture, so a private loop is enough for pytest-jupyter's cleanup.
    """
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    """pytest-jupyter's cleanup of its in-process server; these tests start none."""
    yield None
