"""The wire contract shared by the hub, the server and every publisher (stdlib only).

Names, limits, header and path constants and the stream-ticket codec live here once, so
that a publisher can reject a bad channel name at the call site with the very message the
server would send, and so that tickets minted in a kernel verify in the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable

API_PREFIX = "sse-widgets/api/"
STREAM_PATH = API_PREFIX + "stream"
PUBLISH_PATH = API_PREFIX + "publish"
CHANNELS_PATH = API_PREFIX + "channels"

#: Header that carries the publish key. Not ``Authorization``: JupyterHub would take any
#: ``Authorization: token`` as a Hub token and look it up.
KEY_HEADER = "X-SSE-Widgets-Key"
#: Header on a publish request that makes retrying it safe: a request whose key the hub
#: has seen recently publishes nothing again and is answered with the first one's ids.
#: The Python publisher sends a new key per batch, and the same one on every retry.
IDEMPOTENCY_HEADER = "X-SSE-Widgets-Idempotency-Key"
MAX_IDEMPOTENCY_KEY_LENGTH = 128
URL_ENV = "SSE_WIDGETS_URL"
KEY_ENV = "SSE_WIDGETS_KEY"

MAX_CHANNEL_LENGTH = 200
MAX_TYPE_LENGTH = 64
#: Event types the server emits itself; publishers may not use them.
RESERVED_TYPES = frozenset({"reset"})

_CHANNEL_RE = re.compile(r"[A-Za-z0-9_\-.:/@+=]+")
_PATTERN_RE = re.compile(r"[A-Za-z0-9_\-.:/@+=*]+")
_TYPE_RE = re.compile(r"[A-Za-z0-9_\-.:]+")


class ProtocolError(ValueError):
    """A name, cursor or ticket that breaks the contract; the message says what is wrong."""


def check_channel(name: object) -> str:
    """Return ``name`` if it is a valid channel name to publish to, else raise ProtocolError."""
    return _check_name(name, _CHANNEL_RE, "channel name", "letters, digits and _-.:/@+=")


def check_pattern(pattern: object) -> str:
    """Return ``pattern`` if it is a valid channel name or ``*`` pattern to subscribe to."""
    return _check_name(pattern, _PATTERN_RE, "channel pattern", "letters, digits, _-.:/@+= and *")


def check_type(event_type: object) -> str:
    """Return ``event_type`` if publishers may use it, else raise ProtocolError."""
    if not isinstance(event_type, str):
        raise ProtocolError(f"event type must be a string, not {type(event_type).__name__}")
    if not event_type or len(event_type) > MAX_TYPE_LENGTH or not _TYPE_RE.fullmatch(event_type):
        raise ProtocolError(
            f"bad event type {event_type!r}: use 1 to {MAX_TYPE_LENGTH} letters, digits or _-.:"
        )
    if event_type in RESERVED_TYPES:
        raise ProtocolError(f"event type {event_type!r} is reserved for the server")
    return event_type


_IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9_\-.:]+")


def check_idempotency_key(key: object) -> str:
    """Return ``key`` if it is a valid idempotency key, else raise ProtocolError."""
    if (
        not isinstance(key, str) or not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH
        or not _IDEMPOTENCY_KEY_RE.fullmatch(key)
    ):
        raise ProtocolError(
            f"bad {IDEMPOTENCY_HEADER}: use 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} letters, digits "
            "or _-.:"
        )
    return key


def _check_name(name: object, rule: re.Pattern[str], what: str, allowed: str) -> str:
    if not isinstance(name, str):
        raise ProtocolError(f"{what} must be a string, not {type(name).__name__}")
    if not name or len(name) > MAX_CHANNEL_LENGTH or not rule.fullmatch(name):
        raise ProtocolError(
            f"bad {what} {name[:MAX_CHANNEL_LENGTH + 1]!r}: use 1 to {MAX_CHANNEL_LENGTH} "
            f"characters from {allowed}"
        )
    return name


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Compile a ``*`` pattern: ``*`` matches any run of characters, all else is literal."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def covers(granted: str, requested: str) -> bool:
    """True when every channel that ``requested`` can match is matched by ``granted``.

    Channel names cannot contain ``*``, so the literal characters of ``granted`` can never
    consume a ``*`` of ``requested``; each of those is consumed by a ``*`` of ``granted``,
    which would consume any expansion as well. Matching ``requested`` as text is therefore
    exact.
    """
    return pattern_regex(granted).fullmatch(requested) is not None


# --- stream tickets -------------------------------------------------------------------
# A ticket is ``b64url(json({"c": [patterns], "e": expiry}))`` "." ``b64url(HMAC-SHA256)``
# keyed with the publish key. It lets a browser stream exactly the channels it names,
# where Jupyter auth cannot reach (Voila pages without a token, JupyterHub's XSRF rule on
# cookie GETs that EventSource cannot satisfy).


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint_ticket(key: str, patterns: Iterable[str], ttl: float, now: float | None = None) -> str:
    """Mint a ticket granting ``patterns`` for ``ttl`` seconds, signed with ``key``."""
    granted = [check_pattern(p) for p in patterns]
    if not granted:
        raise ProtocolError("a ticket must name at least one channel or pattern")
    if not ttl > 0:
        raise ProtocolError(f"ticket ttl must be a positive number of seconds, not {ttl!r}")
    expiry = int((time.time() if now is None else now) + ttl)
    payload = _b64(json.dumps({"c": granted, "e": expiry}, separators=(",", ":")).encode())
    mac = hmac.new(key.encode(), payload.encode("ascii"), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify_ticket(key: str, ticket: str, now: float | None = None) -> list[str]:
    """Return the patterns a ticket grants, or raise ProtocolError saying why it is refused."""
    payload, dot, signature = ticket.partition(".")
    if not dot or not payload or not signature:
        raise ProtocolError("malformed ticket")
    expected = _b64(hmac.new(key.encode(), payload.encode("ascii", "replace"), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        raise ProtocolError("ticket signature does not match (forged, or minted for another server)")
    try:
        body = json.loads(_unb64(payload))
        patterns, expiry = body["c"], body["e"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolError("malformed ticket") from exc
    if (time.time() if now is None else now) >= expiry:
        raise ProtocolError("ticket expired; render the widget again for a fresh one")
    return [check_pattern(p) for p in patterns]
