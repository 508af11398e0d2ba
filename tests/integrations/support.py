"""What the integration tests share: run code in a fresh Python process publishing to a real
hub, and read back what the hub retained through its HTTP API."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from servers import JupyterServer

ROOT = Path(__file__).resolve().parents[2]


def run_script(code: str, server: JupyterServer, timeout: float = 240, expect_failure: bool = False) -> str:
    """Run ``code`` in a new interpreter that publishes to ``server``; return its stdout.

    It must exit 0, or, with ``expect_failure``, with an error.

    A fresh process per test: the publisher's transport is process-wide, and each
    framework (Keras, LightGBM...) is imported only where it is used.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
    env.update(server.env, PYTHONPATH=str(ROOT), KERAS_BACKEND="jax")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
        timeout=timeout, check=False, cwd=str(ROOT),
    )  # fmt: skip
    if (result.returncode != 0) != expect_failure:
        raise AssertionError(f"script failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def events(server: JupyterServer, channel: str, type: str | None = None) -> list[dict[str, Any]]:
    """Every event the hub retains on ``channel`` (oldest first), optionally of one type."""
    name = urllib.parse.quote(channel, safe="")
    try:
        reply = server.api("GET", f"sse-widgets/api/channels/{name}/events?limit=10000")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise
    found = reply["events"]
    return [e for e in found if type is None or e["type"] == type]


def final_states(server: JupyterServer, channel: str = "progress") -> dict[str, dict[str, Any]]:
    """The last state of every progress task on ``channel``, by task id."""
    last: dict[str, dict[str, Any]] = {}
    for event in events(server, channel, "progress"):
        last[event["data"]["task"]] = event["data"]
    return last


def metrics(server: JupyterServer, channel: str) -> list[dict[str, Any]]:
    """The ``data`` of every metric event on ``channel``."""
    return [e["data"] for e in events(server, channel, "metric")]
