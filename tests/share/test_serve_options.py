"""``sse-widgets serve --ip`` and ``--key``, as the README's "Share a dashboard" section
promises: the address it listens on, and a key that stays the same across restarts."""

from __future__ import annotations

import secrets
import urllib.error

import pytest
from servers import free_port
from share_support import NOTEBOOKS, Command
from sse_client import publish

pytestmark = pytest.mark.slow


def serve(*args: str) -> tuple[Command, str, dict[str, str]]:
    """Start ``serve`` on the bundled dashboard; (command, page URL, the export lines' values)."""
    command = Command("serve", str(NOTEBOOKS / "voila_dashboard.ipynb"), "--no-browser", *args)
    url = command.wait_for(r"^Owner \(full access, keep private\): (\S+)").group(1)
    exports = {name: command.wait_for(rf"export {name}=(\S+)").group(1)
               for name in ("SSE_WIDGETS_URL", "SSE_WIDGETS_KEY")}
    return command, url, exports


def test_serve_listens_on_ip_and_keeps_the_key_given_across_restarts() -> None:
    # Another loopback address than the default 127.0.0.1: the whole of 127/8 is loopback.
    key = secrets.token_urlsafe(16)
    for _ in range(2):  # the cron job's view: the same key works after a restart
        port = free_port()
        command, url, exports = serve("--ip", "127.0.0.2", "--port", str(port), f"--key={key}")
        try:
            base = f"http://127.0.0.2:{port}/"
            assert url.startswith(f"{base}voila/render/voila_dashboard.ipynb?token=")
            assert exports == {"SSE_WIDGETS_URL": base, "SSE_WIDGETS_KEY": key}
            status, reply = publish(base, key, {"channel": "cron/backup", "data": "done"})
            assert status == 200 and len(reply["ids"]) == 1
            # Nothing listens on the default address.
            with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
                publish(f"http://127.0.0.1:{port}/", key, {"channel": "cron/backup", "data": 0}, timeout=5)
            command.interrupt()
            assert command.wait(60) == 0, command.output
        finally:
            command.kill_all()
