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
import math
import re
import time
from collections.abc import Iterable
from urllib.parse import unquote_plus

from ._glob import Glob

API_PREFIX = "sse-widgets/api/"
STREAM_PATH = API_PREFIX + "stream"
PUBLISH_PATH = API_PREFIX + "publish"
CHANNELS_PATH = API_PREFIX + "channels"
VIEWERS_PATH = API_PREFIX + "viewers"
#: Where the extension serves the browser's shared stream worker and the public client.
STATIC_PREFIX = "sse-widgets/static/"
#: Query parameter naming the browser a stream is for (one per browser, shared by its tabs),
#: so that the hub counts browsers, not tabs. A count, not an identity: never trusted.
BROWSER_PARAM = "browser"
#: POST ``{"channel", "task"}`` stops a task; GET (publishers) long-polls for stop requests.
CANCEL_PATH = API_PREFIX + "cancel"
#: Header a page sends its widget's ticket in when it asks to stop a task (no cookie
#: login needed, and never in a URL that a log could print).
TICKET_HEADER = "X-SSE-Widgets-Ticket"
#: The right a ticket's ``r`` list names when its widget was made with ``cancel=True``.
CANCEL_RIGHT = "cancel"

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
#: Distinct ``channel`` patterns one stream may ask for, and likewise ``since`` patterns.
#: Every pattern is matched against each new channel, so the number is bounded like the
#: length; a page's shared stream carries the patterns of all its widgets.
MAX_STREAM_PATTERNS = 256
#: Nesting of an event's ``data`` (arrays and objects inside one another), at most.
#: Deeper data is refused by publish/metric at the call site and by the server (400),
#: well before the recursion limit of the JSON parsers on either side.
MAX_DATA_DEPTH = 64
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


def check_patterns(patterns: Iterable[object], what: str = "channel") -> list[str]:
    """Validate the patterns of one stream request, at most ``MAX_STREAM_PATTERNS`` distinct."""
    unique = sorted({check_pattern(p) for p in patterns})
    if len(unique) > MAX_STREAM_PATTERNS:
        raise ProtocolError(
            f"{len(unique)} distinct {what} patterns asked for; a stream takes at most "
            f"{MAX_STREAM_PATTERNS} (MAX_STREAM_PATTERNS)"
        )
    return unique


def compile_pattern(pattern: str) -> Glob:
    """A ``*`` pattern ready to match names: ``compile_pattern(p).fullmatch(name)``.

    ``*`` matches any run of characters (``/`` included); everything else is literal.
    Matching takes linear time, with no backtracking (see ``sse_widgets._glob``).
    """
    return Glob(pattern)


def covers(granted: str, requested: str) -> bool:
    """True when every channel that ``requested`` can match is matched by ``granted``.

    Channel names cannot contain ``*``, so the literal characters of ``granted`` can never
    consume a ``*`` of ``requested``; each of those is consumed by a ``*`` of ``granted``,
    which would consume any expansion as well. Matching ``requested`` as text (its ``*``
    as plain characters) is therefore exact, and as linear as matching a name.
    """
    return Glob(granted).fullmatch(requested)


def data_depth_error(data: object, limit: int = MAX_DATA_DEPTH) -> str | None:
    """None when ``data`` is nested at most ``limit`` levels deep, else what is wrong.

    Iterative, so that it cannot itself hit the recursion limit; it stops at the first
    container past the limit. A scalar is depth 0, ``[1]`` depth 1.
    """
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Iterable[object] = value.values()
        elif isinstance(value, (list, tuple)):
            children = value
        else:
            continue
        depth += 1
        if depth > limit:
            return f"data is nested more than {limit} levels deep (MAX_DATA_DEPTH); flatten it"
        stack.extend((child, depth) for child in children if isinstance(child, (dict, list, tuple)))
    return None


# --- stream tickets -------------------------------------------------------------------
# A ticket is ``b64url(json({"c": [patterns], "e": expiry}))`` "." ``b64url(HMAC-SHA256)``
# keyed with the publish key; ``"r": ["cancel"]`` in the body adds the right to stop the
# tasks of those channels (tickets without ``r``, minted before it existed, grant reading). It lets a browser stream exactly the channels it names,
# where Jupyter auth cannot reach (Voila pages without a token, JupyterHub's XSRF rule on
# cookie GETs that EventSource cannot satisfy).

#: Query parameter that carries stream tickets. Every request logger on the way scrubs a
#: parameter whose name *contains* ``auth`` (substring match in jupyter_server ``log.py``
#: ``_scrub_uri`` and in jupyterhub ``log.py`` ``_scrub_uri``, which the single-user
#: extension installs and which also logs the Hub's redirects while a user's server is
#: down), so the ticket never reaches a log line there; ``ticket`` is scrubbed by nobody
#: but this extension.
TICKET_PARAM = "auth_ticket"
#: The parameter's name before 0.2: still accepted, scrubbed only by this server.
LEGACY_TICKET_PARAM = "ticket"
#: Query parameter of a browser that sends its tickets as cookies: names the jar, the
#: cookies ``TICKET_COOKIE_PREFIX + jar + "-" + n``. Not a secret.
TICKET_COOKIES_PARAM = "ticket_cookies"
TICKET_COOKIE_PREFIX = "sse-widgets-ticket-"
#: Longest ticket accepted (and minted): a few dozen long patterns.
MAX_TICKET_LENGTH = 8192

_TICKET_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_JAR_RE = re.compile(r"[A-Za-z0-9]{1,32}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode(), payload.encode("ascii"), hashlib.sha256).digest())


def mint_ticket(
    key: str, patterns: Iterable[str], ttl: float, now: float | None = None, *, cancel: bool = False
) -> str:
    """Mint a ticket granting ``patterns`` for ``ttl`` seconds, signed with ``key``.

    With ``cancel=True`` it also grants stopping the tasks published on those channels.
    """
    granted = [check_pattern(p) for p in patterns]
    if not granted:
        raise ProtocolError("a ticket must name at least one channel or pattern")
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl < math.inf:
        raise ProtocolError(f"ticket ttl must be a positive number of seconds, not {ttl!r}")
    expiry = int((time.time() if now is None else now) + ttl)
    body: dict[str, object] = {"c": granted, "e": expiry}
    if cancel:
        body["r"] = [CANCEL_RIGHT]
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    ticket = f"{payload}.{_sign(key, payload)}"
    if len(ticket) > MAX_TICKET_LENGTH:
        raise ProtocolError(
            f"a ticket for these {len(granted)} patterns would be {len(ticket)} characters, over "
            f"the limit of {MAX_TICKET_LENGTH}: mint several tickets, or use * patterns"
        )
    return ticket


def verify_ticket(key: str, ticket: object, now: float | None = None) -> list[str]:
    """Return the patterns a ticket grants, or raise ProtocolError saying why it is refused."""
    return ticket_grant(key, ticket, now)[0]


def ticket_grant(key: str, ticket: object, now: float | None = None) -> tuple[list[str], frozenset[str]]:
    """The patterns a ticket grants and its extra rights (``{"cancel"}`` or none).

    Any input is judged, whatever its characters or size: the shape is checked before the
    signature (so ``compare_digest`` only ever sees ASCII), and the signed body after it.
    """
    if not isinstance(ticket, str):
        raise ProtocolError(f"malformed ticket: a string is needed, not {type(ticket).__name__}")
    if len(ticket) > MAX_TICKET_LENGTH:
        raise ProtocolError(
            f"malformed ticket: {len(ticket)} characters, over the limit of {MAX_TICKET_LENGTH}"
        )
    if not _TICKET_RE.fullmatch(ticket):
        raise ProtocolError(
            "malformed ticket: expected two base64url parts (A-Z a-z 0-9 - _) joined by one '.'"
        )
    payload, _, signature = ticket.partition(".")
    if not hmac.compare_digest(_sign(key, payload).encode("ascii"), signature.encode("ascii")):
        raise ProtocolError("ticket signature does not match (forged, or minted for another server)")
    # Signed by a key holder, but maybe by another version or a buggy minter: check it all.
    try:
        body = json.loads(_unb64(payload))
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise ProtocolError("malformed ticket: its body is not base64url JSON") from exc
    if not isinstance(body, dict):
        raise ProtocolError("malformed ticket: its body is not a JSON object")
    patterns, expiry = body.get("c"), body.get("e")
    if not isinstance(patterns, list) or not patterns:
        raise ProtocolError("malformed ticket: 'c' must be a non-empty list of channel patterns")
    # NaN would never compare as expired.
    if isinstance(expiry, bool) or not isinstance(expiry, (int, float)) or not math.isfinite(expiry):
        raise ProtocolError("malformed ticket: 'e' must be the expiry in epoch seconds")
    if (time.time() if now is None else now) >= expiry:
        raise ProtocolError("ticket expired; render the widget again for a fresh one")
    rights = body.get("r", [])
    if not isinstance(rights, list) or not all(isinstance(r, str) for r in rights):
        raise ProtocolError("malformed ticket: 'r' must be a list of rights")
    try:
        return [check_pattern(p) for p in patterns], frozenset(rights)
    except ProtocolError as exc:
        raise ProtocolError(f"malformed ticket: {exc}") from exc


def check_ticket_jar(jar: str) -> str:
    """Return ``jar`` if it can name ticket cookies, else raise ProtocolError."""
    if not _JAR_RE.fullmatch(jar):
        raise ProtocolError(f"bad {TICKET_COOKIES_PARAM}: use 1 to 32 letters or digits")
    return jar


_BROWSER_RE = re.compile(r"[A-Za-z0-9]{8,32}")


def check_browser_id(browser: str) -> str:
    """Return ``browser`` if it can name a browser (``browser=`` on a stream), else raise."""
    if not _BROWSER_RE.fullmatch(browser):
        raise ProtocolError(f"bad {BROWSER_PARAM}: use 8 to 32 letters or digits")
    return browser


def scrub_tickets(uri: str) -> str:
    """``uri`` with the value of every ticket parameter replaced by ``[secret]``.

    For log lines: Jupyter's scrubber matches only some names, Tornado's own error lines
    (``Uncaught exception GET /...``) match none.
    """
    path, question, query = uri.partition("?")
    if not question:
        return uri
    names = (TICKET_PARAM, LEGACY_TICKET_PARAM)
    parts = query.split("&")
    for i, part in enumerate(parts):
        name, equals, _ = part.partition("=")
        if equals and unquote_plus(name) in names:
            parts[i] = f"{name}=[secret]"
    return f"{path}?{'&'.join(parts)}"

