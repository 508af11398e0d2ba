"""What to tell the server's owner when a page of another origin (marimo, VS Code) is refused.

Widgets shown by a page that this Jupyter server did not serve stream from it across
origins: ``EventSource(url, {withCredentials: true})`` and a ``fetch`` probe. jupyter-server
decides who may (``JupyterHandler.check_origin`` and ``set_cors_headers``,
jupyter_server/base/handlers.py): an API request whose ``Origin`` is not the server's own
and not admitted by ``allow_origin``/``allow_origin_pat`` is answered 404 with only
"Blocking Cross Origin API request" in the log; and without ``allow_credentials`` the
browser drops a credentialed reply however the origin was admitted. The page sees neither
status (a CORS failure is a network error there), falls back to the kernel's comm, and
says so; the server's log, here, says what to set. Once per origin and kind, for at most
``MAX_ORIGINS`` origins, so a page that retries cannot flood the log.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

#: Origins told about, at most; later ones are not logged.
MAX_ORIGINS = 256

_told: set[tuple[str, str]] = set()
_lock = threading.Lock()


def _first_time(origin: str, kind: str) -> bool:
    with _lock:
        if (origin, kind) in _told or len(_told) >= MAX_ORIGINS:
            return False
        _told.add((origin, kind))
        return True


def cross_origin(origin: str | None, host: str | None) -> bool:
    """True when a request's ``Origin`` names another host and port than the one it was sent to."""
    if not origin or not host:
        return False
    return urlsplit(origin.lower()).netloc != host.lower()


def settings_for(origin: str) -> str:
    """The command-line options that let pages of ``origin`` stream."""
    return f"--ServerApp.allow_origin={origin} --ServerApp.allow_credentials=True"


def refused(log: logging.Logger, origin: str, path: str) -> None:
    """Log, once per origin, that a page of ``origin`` was refused and what to set."""
    if not _first_time(origin, "refused"):
        return
    log.warning(
        "sse_widgets: a page at %s asked for %s and Jupyter refused it (cross-origin request; "
        "its widgets fall back to their kernel's comm, without other processes' events). To let "
        "pages of that origin stream from this server, start it with %s (or set "
        "ServerApp.allow_origin_pat for several origins).",
        origin, path, settings_for(origin),
    )


def dropped_by_browser(log: logging.Logger, origin: str, path: str, wildcard: bool) -> None:
    """Log, once per origin, that ``origin`` is admitted but browsers will drop the reply.

    Widgets send credentials, and a browser takes a credentialed cross-origin reply only
    with ``Access-Control-Allow-Credentials: true`` and the page's own origin (never ``*``)
    in ``Access-Control-Allow-Origin``.
    """
    if not _first_time(origin, "dropped"):
        return
    why = ("ServerApp.allow_origin is '*', which browsers never accept for a request with "
           "credentials" if wildcard else "ServerApp.allow_credentials is off")
    log.warning(
        "sse_widgets: a page at %s asked for %s; its origin is allowed but %s, so the browser "
        "drops the stream and the widgets fall back to their kernel's comm. Start the server "
        "with %s.",
        origin, path, why, settings_for(origin),
    )
