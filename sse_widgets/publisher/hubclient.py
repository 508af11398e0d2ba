"""One keep-alive HTTP connection to the hub's publish endpoint (stdlib http.client)."""

from __future__ import annotations

# Loaded here, in the importing thread: socket.create_connection encodes host names with
# the "idna" codec, whose first lookup imports this module. Two background threads (the
# sender and the stop poll) making their first connection at once in a fresh worker
# process can race on that import, and one gets "LookupError: unknown encoding: idna".
import encodings.idna  # noqa: F401
import http.client
import json
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..protocol import IDEMPOTENCY_HEADER
from .connection import Connection

#: Errors that mean "the connection went away", as opposed to "the hub said no".
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


@dataclass(frozen=True)
class Reply:
    status: int
    message: str
    delivered: int


class HubClient:
    """POSTs JSON arrays of events; reconnects once when a kept-alive connection went stale."""

    def __init__(self, connection: Connection, timeout: float = 10.0) -> None:
        self.connection = connection
        self.timeout = timeout
        parts = urlsplit(connection.publish_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._path = parts.path
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "sse-widgets-publisher",
            **connection.headers(),
        }
        self._conn: http.client.HTTPConnection | None = None

    def _open(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def post(self, body: bytes, idempotency_key: str | None = None) -> Reply:
        """Send one request; raise OSError/HTTPException when the hub cannot be reached.

        With an ``idempotency_key`` (protocol.IDEMPOTENCY_HEADER), sending the same body
        again with the same key is safe: the hub stores it at most once.
        """
        headers = self._headers
        if idempotency_key is not None:
            headers = {**headers, IDEMPOTENCY_HEADER: idempotency_key}
        reused = self._conn is not None
        try:
            return self._post_once(body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()
            if not reused:
                raise
            # The server closed an idle keep-alive connection before reading this request.
            return self._post_once(body, headers)
        except TRANSPORT_ERRORS:
            self.close()
            raise

    def _post_once(self, body: bytes, headers: dict[str, str]) -> Reply:
        if self._conn is None:
            self._conn = self._open()
        self._conn.request("POST", self._path, body=body, headers=headers)
        response = self._conn.getresponse()
        data = response.read()
        if response.will_close:
            self.close()
        return _reply(response.status, response.reason, data)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _reply(status: int, reason: str, data: bytes) -> Reply:
    delivered = 0
    message = reason
    try:
        body = json.loads(data) if data else None
    except ValueError:
        body = None
        if status != 200:
            message = f"{reason}: {data[:200].decode('utf-8', 'replace')}".strip()
    if isinstance(body, dict):
        if status == 200 and isinstance(body.get("ids"), list):
            delivered = len(body["ids"])
        if isinstance(body.get("message"), str) and body["message"]:
            message = body["message"]
    return Reply(status, message, delivered)


def probe(connection: Connection, timeout: float = 1.0) -> str | None:
    """None when the publish endpoint answers at ``connection``; else why it does not.

    An ``OPTIONS`` request: Jupyter answers it without credentials and without a log line,
    and only a server with the sse-widgets extension has the path. The key itself is
    checked by the first real request (a refused key gets its own warning).
    """
    parts = urlsplit(connection.publish_url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request("OPTIONS", parts.path, headers={"User-Agent": "sse-widgets-publisher"})
        response = conn.getresponse()
        response.read()
    except TRANSPORT_ERRORS as exc:
        return f"cannot reach {connection.publish_url}: {str(exc) or type(exc).__name__}"
    finally:
        conn.close()
    if 200 <= response.status < 300:
        return None
    if response.status == 404:
        return f"no sse-widgets extension at {connection.url} (404)"
    return f"{connection.publish_url} answered {response.status}"
