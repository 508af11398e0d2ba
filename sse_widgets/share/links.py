"""Share links: signed, expiring viewer credentials for ``sse-widgets serve`` (stdlib only).

The link a dashboard's owner hands out must let people view that dashboard and nothing
else, so it cannot carry the Jupyter server's token (which opens files, kernels and
terminals). It carries a *grant* instead::

    b64url(json({"n": [notebooks], "e": expiry, "i": issued}))  "."  b64url(HMAC-SHA256)

keyed with the share secret and a purpose label, so that a grant can never be replayed as
a viewer cookie or the other way round. ``n`` names the notebooks (paths relative to the
served folder) the link renders, ``e`` is when it stops working, ``i`` when it was issued.

- **Rotation.** The server refuses grants issued before its ``not_before`` time. Raising
  it (``sse-widgets serve --rotate-share``) invalidates every link and cookie handed out
  so far while the secret stays, so a new link can still be printed from the same
  ``--share-secret``.
- **The cookie.** On a first visit the server exchanges the link for a viewer cookie that
  carries the same grant plus a random viewer id (which kernels belong to whom), signed
  under another label. It is what the page's later requests (assets, the kernel
  websocket, the event stream) authenticate with.
- Everything that cannot be verified raises :class:`ShareRefused` with a message a viewer
  can act on; nothing here trusts the payload before the signature matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

#: Query parameter of a share link. Jupyter's request log scrubs any parameter whose name
#: contains "token" (jupyter_server ``log._scrub_uri``), as JupyterHub's does.
LINK_PARAM = "share_token"
#: Cookie the link is exchanged for.
COOKIE_NAME = "sse-widgets-viewer"

DEFAULT_TTL = 7 * 24 * 3600
#: Longest credential accepted: a grant names a few notebooks, never kilobytes.
MAX_CREDENTIAL_LENGTH = 4096

_LINK = b"sse-widgets share link v1\n"
_COOKIE = b"sse-widgets viewer cookie v1\n"
_B64 = re.compile(r"[A-Za-z0-9_-]+")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class ShareRefused(ValueError):
    """A share link or viewer cookie that does not grant viewing; the message says why."""


@dataclass(frozen=True)
class Grant:
    """What a verified link or cookie allows: viewing ``notebooks`` until ``expiry``."""

    notebooks: tuple[str, ...]
    expiry: int
    issued: int
    #: Random per browser that exchanged the link (empty in a link itself).
    viewer: str = ""


@dataclass(frozen=True)
class ShareSettings:
    """How a server signs its share links: the secret, their lifetime, the rotation floor."""

    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    ttl: int = DEFAULT_TTL
    #: Links and cookies issued before this Unix time are refused.
    not_before: int = 0


def describe_ttl(seconds: int) -> str:
    """``"valid 7 days"``, ``"valid 12 hours"``... for the printed link."""
    for unit, size in (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"valid {count} {unit}{'s' if count != 1 else ''}"
    return f"valid {seconds} s"


def parse_duration(text: str) -> int:
    """Seconds in ``"3600"``, ``"90m"``, ``"12h"``, ``"7d"`` or ``"2w"``; ValueError if not one."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"bad duration {text!r}: use seconds or a number with s, m, h, d or w "
                         "(for example 12h or 7d)")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def secret_fingerprint(secret: str) -> str:
    """A short name for a secret that does not reveal it (names its rotation state)."""
    return hashlib.sha256(b"sse-widgets share secret\n" + secret.encode()).hexdigest()[:16]


def mint_link(secret: str, notebooks: Iterable[str], ttl: float = DEFAULT_TTL,
              now: float | None = None) -> str:
    """A share credential for ``notebooks``, valid for ``ttl`` seconds."""
    issued = int(time.time() if now is None else now)
    grant = Grant(_check_notebooks(notebooks), issued + int(ttl), issued)
    return _seal(secret, _LINK, {"n": list(grant.notebooks), "e": grant.expiry, "i": grant.issued})


def verify_link(secret: str, credential: str, not_before: int = 0, now: float | None = None) -> Grant:
    """The grant of a share credential, or ShareRefused saying why it does not view."""
    return _grant(_open(secret, _LINK, credential, "share link"), not_before, now, "share link")


def mint_cookie(secret: str, grant: Grant) -> tuple[str, Grant]:
    """Exchange a verified link's grant for a viewer cookie value (and the viewer's grant)."""
    viewer = Grant(grant.notebooks, grant.expiry, grant.issued, secrets.token_hex(12))
    body = {"n": list(viewer.notebooks), "e": viewer.expiry, "i": viewer.issued, "v": viewer.viewer}
    return _seal(secret, _COOKIE, body), viewer


def verify_cookie(secret: str, value: str, not_before: int = 0, now: float | None = None) -> Grant:
    """The grant of a viewer cookie, or ShareRefused."""
    body = _open(secret, _COOKIE, value, "viewer cookie")
    grant = _grant(body, not_before, now, "viewer cookie")
    viewer = body.get("v")
    if not isinstance(viewer, str) or not _B64.fullmatch(viewer):
        raise ShareRefused("malformed viewer cookie; open the share link again")
    return Grant(grant.notebooks, grant.expiry, grant.issued, viewer)


# --- sealing --------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: str, purpose: bytes, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), purpose + payload.encode("ascii"), hashlib.sha256).digest())


def _seal(secret: str, purpose: bytes, body: dict[str, object]) -> str:
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, purpose, payload)}"


def _open(secret: str, purpose: bytes, credential: object, what: str) -> dict[str, object]:
    if not isinstance(credential, str) or len(credential) > MAX_CREDENTIAL_LENGTH:
        raise ShareRefused(f"malformed {what}")
    payload, dot, signature = credential.partition(".")
    # Checked as text first: compare_digest refuses non-ASCII str, and a payload that is
    # not base64 cannot have been minted here.
    if not dot or not _B64.fullmatch(payload) or not _B64.fullmatch(signature):
        raise ShareRefused(f"malformed {what}; copy the whole link again")
    if not hmac.compare_digest(_mac(secret, purpose, payload), signature):
        raise ShareRefused(f"{what} signature does not match: it was altered, or minted by "
                           "another server or before the share secret changed")
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise ShareRefused(f"malformed {what}") from exc
    if not isinstance(body, dict):
        raise ShareRefused(f"malformed {what}")
    return body


def _grant(body: dict[str, object], not_before: int, now: float | None, what: str) -> Grant:
    notebooks, expiry, issued = body.get("n"), body.get("e"), body.get("i")
    if not isinstance(expiry, int) or not isinstance(issued, int) or not isinstance(notebooks, list):
        raise ShareRefused(f"malformed {what}")
    if (time.time() if now is None else now) >= expiry:
        raise ShareRefused(f"this {what} has expired; ask the dashboard's owner for a new link")
    if issued < not_before:
        raise ShareRefused(f"this {what} was revoked (the owner rotated the share links); "
                           "ask for a new link")
    try:
        return Grant(_check_notebooks(notebooks), expiry, issued)
    except ValueError as exc:
        raise ShareRefused(f"malformed {what}") from exc


def _check_notebooks(notebooks: Iterable[object]) -> tuple[str, ...]:
    names = tuple(notebooks)
    if not names or not all(isinstance(n, str) and n.endswith(".ipynb") for n in names):
        raise ValueError("a share link names one or more notebooks (.ipynb paths)")
    return names  # type: ignore[return-value]
