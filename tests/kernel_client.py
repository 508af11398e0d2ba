"""Run code in a kernel that the Jupyter server starts, over its REST and websocket API.

The kernel is launched by the server, so it inherits the server's environment
(SSE_WIDGETS_URL, SSE_WIDGETS_KEY) as a user's kernel would.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from tornado.websocket import websocket_connect


class KernelError(RuntimeError):
    """The code raised in the kernel; the message has the traceback's last lines."""


class Kernel:
    """A kernel started by ``server`` (a tests.servers.JupyterServer); ``execute`` runs code."""

    def __init__(self, server: Any, name: str = "python3"):
        self.server = server
        self.id = server.api("POST", "api/kernels", {"name": name})["id"]
        self.session = uuid.uuid4().hex

    def execute(self, code: str, timeout: float = 60.0) -> str:
        """Run ``code``; return its stdout; raise KernelError if it raised."""
        return asyncio.run(asyncio.wait_for(self._execute(code), timeout))

    async def _execute(self, code: str) -> str:
        server = self.server
        url = (f"ws://127.0.0.1:{server.port}{server.base_url}api/kernels/{self.id}/channels"
               f"?session_id={self.session}&token={server.token}")
        ws = await websocket_connect(url)
        msg_id = uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": self.session,
                       "msg_type": "execute_request", "version": "5.3",
                       "date": datetime.now(timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        out: list[str] = []
        error: str | None = None
        idle = replied = False
        try:
            while not (idle and replied):
                raw = await ws.read_message()
                if raw is None:
                    raise KernelError("kernel websocket closed")
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["header"]["msg_type"], msg["content"]
                if kind == "stream" and content.get("name") == "stdout":
                    out.append(content["text"])
                elif kind == "error":
                    error = "\n".join(content.get("traceback", [])[-3:]) or content.get("evalue", "")
                elif kind == "status" and content.get("execution_state") == "idle":
                    idle = True
                elif kind == "execute_reply":
                    replied = True
        finally:
            ws.close()
        if error is not None:
            raise KernelError(error)
        return "".join(out)

    def shutdown(self) -> None:
        try:
            self.server.api("DELETE", f"api/kernels/{self.id}")
        except OSError:
            pass

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
