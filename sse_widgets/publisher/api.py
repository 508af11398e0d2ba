"""connect, connection_info, ticket and flush: the process's link to its hub."""

from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

from .. import protocol
from . import _process
from . import connection as _connection
from .connection import Connection, HubConfigError
from .local import LocalTransport
from .transport import FlushReport

DEFAULT_TICKET_TTL = 24 * 3600.0


def connect(url: str | None = None, key: str | None = None, *, token: str | None = None) -> ConnectionInfo:
    """Publish to the hub at ``url`` from now on.

    Parameters
    ----------
    url : str, optional
        The Jupyter server's URL with its base_url (``http://127.0.0.1:8888/``). Without it,
        discovery runs again (environment, then the one running Jupyter server).
    key : str, optional
        The server's sse-widgets publish key (its ``SSE_WIDGETS_KEY``).
    token : str, optional
        A Jupyter token instead of the key (publishing works; tickets need the key).

    Returns
    -------
    ConnectionInfo

    Raises
    ------
    ValueError
        A URL that is not http(s), both key and token, or nothing found to connect to.
    """
    if url is None and key is None and token is None:
        _connection.reset()
        found = _connection.current()
        if found is None:
            raise HubConfigError(
                f"no hub found: {protocol.URL_ENV} is not set and there is not exactly one running "
                "Jupyter server on this machine; pass connect(url, key)"
            )
        conn = found
    else:
        conn = _connection.make(url, key, token)
    _process.use(conn)
    return ConnectionInfo(conn)


@dataclass(frozen=True)
class ConnectionInfo:
    """Where this process publishes, and what to export elsewhere to publish there too.

    ``str()`` gives shell ``export`` lines; the key is hidden unless ``show_key=True``.
    """

    connection: Connection | None
    show_key: bool = False
    #: In a kernel with no reachable hub: why, for the message (events go to its widgets).
    fallback: str | None = None

    @property
    def url(self) -> str | None:
        return self.connection.url if self.connection else None

    @property
    def source(self) -> str | None:
        return self.connection.source if self.connection else None

    @property
    def auth(self) -> str | None:
        """``"key"``, ``"token"`` or None."""
        if self.connection is None:
            return None
        return "key" if self.connection.key else "token" if self.connection.token else None

    def exports(self) -> dict[str, str]:
        """The environment variables that point another process at this hub."""
        conn = self.connection
        if conn is None:
            return {}
        out = {protocol.URL_ENV: conn.url}
        if conn.key is not None:
            out[protocol.KEY_ENV] = conn.key if self.show_key else "<hidden: connection_info(show_key=True)>"
        elif conn.token is not None:
            out[_connection.TOKEN_ENV] = conn.token if self.show_key else "<hidden: connection_info(show_key=True)>"
        return out

    def __str__(self) -> str:
        if self.fallback is not None:
            return (
                f"no hub ({self.fallback}): events go to this kernel's widgets over their comm, "
                "with a bounded history in the kernel for widgets shown later"
            )
        if self.connection is None:
            return (
                f"no hub: {protocol.URL_ENV} is not set and no single running Jupyter server was "
                "found (progress draws text on stderr; metric and publish events are discarded)"
            )
        lines = [f"# sse-widgets hub from {self.connection.source}"]
        lines += [f"export {name}={shlex.quote(value)}" for name, value in self.exports().items()]
        if "127.0.0.1" in self.connection.url or "localhost" in self.connection.url:
            lines.append("# a loopback URL: from another machine, tunnel the port (ssh -L) or use the server's address")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(str(self))  # type: ignore[attr-defined]


def connection_info(show_key: bool = False) -> ConnectionInfo:
    """Describe the hub this process publishes to.

    Parameters
    ----------
    show_key : bool, default False
        Include the key (or token) itself in ``str()``/``exports()``.

    Returns
    -------
    ConnectionInfo
        ``print()`` it for the ``export`` lines to run on another machine.
    """
    t = _process.transport()
    if isinstance(t, LocalTransport):
        return ConnectionInfo(None, show_key=show_key, fallback=t.reason or "unreachable")
    return ConnectionInfo(t.connection if t is not None else _connection.current(), show_key=show_key)


def ticket(channels: str | Iterable[str], ttl: float = DEFAULT_TICKET_TTL) -> str:
    """Mint a stream ticket that lets a browser follow ``channels`` for ``ttl`` seconds.

    A client passes it as ``auth_ticket=`` on ``sse-widgets/api/stream`` or on a channel's
    ``events``: every Jupyter and JupyterHub request logger scrubs that name.

    Parameters
    ----------
    channels : str or iterable of str
        Channel names or ``*`` patterns.
    ttl : float, default one day

    Returns
    -------
    str

    Raises
    ------
    ValueError
        Bad patterns or ttl, or no publish key (a token connection cannot mint tickets).
    """
    patterns = [channels] if isinstance(channels, str) else list(channels)
    t = _process.transport()
    conn = (t.connection if t is not None else None) or _connection.current()
    if conn is None or conn.key is None:
        raise HubConfigError(
            f"tickets are signed with the publish key, and this process has none: run in a kernel of "
            f"the Jupyter server, or set {protocol.KEY_ENV} (or connect(url, key))"
        )
    return protocol.mint_ticket(conn.key, patterns, ttl)


def viewers(pattern: str, timeout: float = 10.0) -> int:
    """How many browsers watch ``pattern`` (a channel name or ``*`` pattern) now.

    Browsers, not tabs: every tab of a browser shares one stream per server, and the hub
    counts the streams' browsers (``GET {base_url}sse-widgets/api/viewers``). A channel
    name counts the browsers whose streams would get its events; a ``*`` pattern those
    that asked for a pattern overlapping it as written (``train/*`` counts a stream of
    ``train/loss`` and one of ``*``). A count, not an identity.

    Parameters
    ----------
    pattern : str
        A channel name, or a pattern with ``*``.
    timeout : float, default 10
        Seconds to wait for the hub.

    Returns
    -------
    int
        Browsers watching.

    Raises
    ------
    ProtocolError
        ``pattern`` is not a valid channel pattern.
    HubConfigError
        This process has no hub, or the hub cannot be reached or refused the request.
    """
    protocol.check_pattern(pattern)
    conn = _connection.current()
    if conn is None:
        raise HubConfigError(
            f"no hub to ask: {protocol.URL_ENV} is not set and no single running Jupyter server was found"
        )
    url = f"{conn.url}{protocol.VIEWERS_PATH}?{urllib.parse.urlencode({'channel': pattern})}"
    request = urllib.request.Request(url, headers=conn.headers())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(json.load(response)["browsers"])
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", exc.reason)
        except (ValueError, AttributeError):
            message = exc.reason
        raise HubConfigError(f"the hub at {conn.url} refused to count viewers ({exc.code}): {message}") from exc
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise HubConfigError(f"could not ask the hub at {conn.url} for viewers: {exc}") from exc


def flush(timeout: float | None = 10.0) -> FlushReport:
    """Deliver what is queued, and report what could not be delivered.

    Waits until the events queued before the call reach the hub, a delivery attempt fails,
    or ``timeout`` seconds pass. Counters in the report cover the time since the previous
    ``flush()``.

    Parameters
    ----------
    timeout : float or None, default 10
        Seconds to wait at most; None waits as long as it takes.

    Returns
    -------
    FlushReport
        ``delivered``, ``undelivered``, ``dropped`` (by reason), ``error`` and ``ok``.
    """
    return _process.flush(timeout)
