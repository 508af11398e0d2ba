"""Where events go: the hub's URL and credential, found in the environment, a Jupyter runtime file, or connect()."""

from __future__ import annotations

import glob
import json
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import protocol

#: Standard Jupyter variable; used only when SSE_WIDGETS_KEY is absent (a script elsewhere).
TOKEN_ENV = "JUPYTER_TOKEN"


class HubConfigError(ValueError):
    """A URL or credential that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Connection:
    """A hub to publish to.

    Attributes
    ----------
    url : str
        The Jupyter server's URL including its base_url, ending with ``/``.
    key : str or None
        The publish key (``SSE_WIDGETS_KEY``), sent in ``X-SSE-Widgets-Key``.
    token : str or None
        A Jupyter token, sent as ``Authorization: token ...`` when there is no key.
    source : str
        Where this connection came from, for messages.
    """

    url: str
    key: str | None = None
    token: str | None = None
    source: str = "connect()"

    @property
    def publish_url(self) -> str:
        return self.url + protocol.PUBLISH_PATH

    def headers(self) -> dict[str, str]:
        """Authentication headers for a publish request."""
        if self.key is not None:
            return {protocol.KEY_HEADER: self.key}
        if self.token is not None:
            return {"Authorization": f"token {self.token}"}
        return {}


def normalise_url(url: object) -> str:
    """Return ``url`` as ``http(s)://host[:port]/base/``, or raise saying what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise HubConfigError(f"hub URL must be a non-empty string like http://127.0.0.1:8888/, not {url!r}")
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HubConfigError(
            f"hub URL {text!r} is not an http(s) URL; expected the Jupyter server's URL, "
            "for example http://127.0.0.1:8888/ (with its base_url, such as /user/alice/)"
        )
    if parts.query or parts.fragment:
        raise HubConfigError(f"hub URL {text!r} must not carry a query or fragment (no ?token=)")
    if not text.isascii() or any(c.isspace() or not c.isprintable() for c in text):
        # http.client sends the request line as ASCII; it would fail in the sender thread.
        raise HubConfigError(
            f"hub URL {text!r} has spaces or non-ASCII characters; percent-encode them "
            "(urllib.parse.quote) or use the host's ASCII (IDNA) name"
        )
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise HubConfigError(f"hub URL {text!r} has a bad port: {exc}") from None
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _check_secret(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise HubConfigError(f"{what} must be a non-empty string, not {type(value).__name__}")
    if any(c in value for c in "\r\n\0"):
        raise HubConfigError(f"{what} must not contain line breaks")
    secret = value.strip()
    if not all("!" <= c <= "~" for c in secret):
        # It travels in an HTTP header; the server's keys and Jupyter's tokens are ASCII.
        raise HubConfigError(
            f"{what} must be printable ASCII without spaces (it is sent in an HTTP header); "
            "copy it again from the server (sse-widgets info --show-key)"
        )
    return secret


def from_environment(environ: dict[str, str] | None = None) -> Connection | None:
    """The connection named by ``SSE_WIDGETS_URL`` and ``SSE_WIDGETS_KEY`` (or ``JUPYTER_TOKEN``)."""
    env = os.environ if environ is None else environ
    url = env.get(protocol.URL_ENV, "").strip()
    if not url:
        return None
    key = env.get(protocol.KEY_ENV, "").strip() or None
    token = None if key else (env.get(TOKEN_ENV, "").strip() or None)
    if key is not None:
        key = _check_secret(key, protocol.KEY_ENV)
    if token is not None:
        token = _check_secret(token, TOKEN_ENV)
    return Connection(
        normalise_url(url),
        key=key,
        token=token,
        source=f"environment ({protocol.URL_ENV})",
    )


def runtime_dir(environ: dict[str, str] | None = None) -> str:
    """Jupyter's runtime directory, computed as jupyter_core does, without importing it."""
    env = os.environ if environ is None else environ
    if env.get("JUPYTER_RUNTIME_DIR"):
        return env["JUPYTER_RUNTIME_DIR"]
    if env.get("JUPYTER_DATA_DIR"):
        data = env["JUPYTER_DATA_DIR"]
    elif sys.platform == "darwin":
        data = os.path.join(os.path.expanduser("~"), "Library", "Jupyter")
    elif sys.platform == "win32":
        appdata = env.get("APPDATA") or os.path.join(os.path.expanduser("~"), ".jupyter")
        data = os.path.join(appdata, "jupyter")
    else:
        xdg = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
        data = os.path.join(xdg, "jupyter")
    return os.path.join(data, "runtime")


def _pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if sys.platform == "win32":
        return True  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_servers(directory: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(path, info) of each live Jupyter server announced in the runtime directory."""
    found = []
    for path in sorted(glob.glob(os.path.join(directory or runtime_dir(), "jpserver-*.json"))):
        try:
            with open(path, encoding="utf-8") as f:
                info = json.load(f)
        except (OSError, ValueError):
            continue  # a file being written or removed right now
        if isinstance(info, dict) and not info.get("sock") and _pid_alive(info.get("pid")):
            found.append((path, info))
    return found


def from_runtime_files(directory: str | None = None) -> Connection | None:
    """The one running Jupyter server on this machine, through its token; None if 0 or many."""
    servers = running_servers(directory)
    if len(servers) != 1:
        return None
    path, info = servers[0]
    port = info.get("port")
    if not isinstance(port, int):
        return None
    scheme = "https" if info.get("secure") else "http"
    base = str(info.get("base_url") or "/")
    url = normalise_url(f"{scheme}://127.0.0.1:{port}/{base.lstrip('/')}")
    token = info.get("token") or None
    return Connection(url, token=str(token) if token else None, source=f"Jupyter runtime file {path}")


class _State:
    """The process's current connection, discovered once and replaced by connect()."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.resolved = False
        self.connection: Connection | None = None


_state = _State()


def current() -> Connection | None:
    """The connection in use, discovering it on first call (environment, then runtime files)."""
    if _state.resolved:
        return _state.connection
    with _state.lock:
        if not _state.resolved:
            _state.connection = from_environment() or from_runtime_files()
            _state.resolved = True
    return _state.connection


def set_current(connection: Connection | None) -> None:
    with _state.lock:
        _state.connection = connection
        _state.resolved = True


def reset() -> None:
    """Forget the current connection; the next call discovers again."""
    with _state.lock:
        _state.connection = None
        _state.resolved = False


def make(url: str | None, key: str | None, token: str | None) -> Connection:
    """Build a connection from explicit values, completing missing ones from discovery."""
    if key is not None and token is not None:
        raise HubConfigError("pass either key= (the sse-widgets publish key) or token= (a Jupyter token), not both")
    if url is None:
        found = from_environment() or from_runtime_files()
        if found is None:
            raise HubConfigError(
                f"no hub URL given and none found: pass the Jupyter server's URL, or set {protocol.URL_ENV}"
            )
        if key is None and token is None:
            return found
        url = found.url
    return Connection(
        normalise_url(url),
        key=None if key is None else _check_secret(key, "key"),
        token=None if token is None else _check_secret(token, "token"),
    )
