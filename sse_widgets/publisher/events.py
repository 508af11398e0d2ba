"""publish, metric and notify: validate at the call site, queue, return."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Mapping
from typing import Any

from .. import protocol
from .._warnings import SSEWidgetsWarning
from . import _process
from .local import LocalTransport
from .outbox import FAST, FAST_SERIES, metric_payload, metric_size
from .transport import MAX_EVENT_BYTES

NOTIFY_LEVELS = ("info", "success", "warning", "error")
NOTIFY_CHANNEL = "notify"

# Channel names already checked; bounded so that generated names cannot grow it forever.
_checked_channels: set[str] = set()
_MAX_CHECKED = 4096


def check_channel(channel: object) -> str:
    """Return ``channel`` if valid, else raise ProtocolError (a ValueError) saying why."""
    if type(channel) is str and channel in _checked_channels:
        return channel
    name = protocol.check_channel(channel)
    if len(_checked_channels) < _MAX_CHECKED:
        _checked_channels.add(name)
    return name


def encode(channel: str, event_type: str, data: object, what: str) -> str:
    """Serialise one event now, so that a bad value fails here and never poisons a batch."""
    too_deep = protocol.data_depth_error(data)
    if too_deep is not None:
        raise ValueError(f"{what} {too_deep}")
    try:
        text = json.dumps(
            {"channel": channel, "type": event_type, "data": data}, separators=(",", ":"), allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} data must be JSON-serialisable (no NaN or infinity): {exc}") from None
    size = len(text.encode())
    if size > MAX_EVENT_BYTES:
        raise ValueError(
            f"{what} event is {size} bytes; the hub accepts at most {MAX_EVENT_BYTES} bytes per "
            "event: send less per event or split it"
        )
    return text


def publish(channel: str, data: Any = None, type: str = "message") -> None:
    """Publish one raw event.

    Parameters
    ----------
    channel : str
        Channel name (letters, digits and ``_-.:/@+=``).
    data : JSON-serialisable, optional
        The event's payload, serialised now (later changes to ``data`` are not seen).
    type : str, default "message"
        Event type; widgets understand ``metric``, ``progress`` and ``notify``, an event log
        shows any other.

    Raises
    ------
    ValueError
        Bad channel or type, an event over 64 KiB, or ``data`` nested more than 64 levels
        deep (``protocol.MAX_DATA_DEPTH``).
    TypeError
        ``data`` is not JSON-serialisable.
    """
    name = check_channel(channel)
    event_type = protocol.check_type(type)
    text = encode(name, event_type, data, "publish()")
    t = _process.transport()
    if t is None:
        _process.discard_without_hub(stacklevel=2)
        return
    if t.warning is not None:
        _process.emit_warning(t, stacklevel=2)
    if event_type == "notify":
        _queue_urgent(t, text, stacklevel=2)
    else:
        t.put(text, len(text))


def _number(name: str, value: object) -> float | int | None:
    if value is None or type(value) is int:
        return value
    if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        raise TypeError(f"metric value {name}={value!r} is not a number (int, float, numpy scalar)")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metric value {name}={value!r} is not a number: {exc}") from None
    return number if number - number == 0.0 else None


def metric(channel: str, /, x: float | None = None, *, values: Mapping[str, float] | None = None, **series: float) -> None:
    """Publish one point per series on ``channel``.

    ``sw.metric("train", x=step, loss=0.31, acc=0.9)`` publishes
    ``{"x": step, "values": {"loss": 0.31, "acc": 0.9}}`` as a ``metric`` event.

    Parameters
    ----------
    channel : str
        Channel name; a ``LiveChart`` subscribed to it draws the series.
    x : number, optional
        The point's x value (a step, an epoch); by default the event's time.
    values : mapping, optional
        Series given as a dict, for names that are not Python identifiers.
    **series : number
        Series name to value; NaN and infinities are sent as gaps (``null``).

    Raises
    ------
    ValueError
        Bad channel name, or no value at all.
    TypeError
        A value (or ``x``) that is not a number.
    """
    # The fast path: plain ints and floats on a channel seen before, appended in this frame
    # to the sender's queue (see outbox.FastLane); the sender builds and serialises the
    # event, and turns NaN into null. Anything else takes _checked_metric.
    lane = _FAST.queue
    if (
        lane is not None
        and values is None
        and type(channel) is str
        and channel in _checked_channels
        and 0 < len(series) <= FAST_SERIES
        and len(lane) < _FAST.limit
        and (x is None or type(x) is int or type(x) is float)
    ):
        for value in series.values():
            if type(value) is not float and type(value) is not int:
                break
        else:
            lane.append((next(_FAST.counter), channel, x, series))
            if _FAST.queue is None:  # the sender went idle meanwhile: wake it
                _wake_sender()
            return
    _checked_metric(channel, x, values, series)


_FAST = FAST


def _wake_sender() -> None:
    t = _process._transport
    if t is not None:
        t.wake()


def _checked_metric(channel: object, x: object, values: Mapping[str, float] | None, series: dict[str, Any]) -> None:
    """metric() for any arguments: every check, with the error that says what is wrong."""
    name = check_channel(channel)
    if values is not None:
        series = {**values, **series}
    if not series:
        raise ValueError("metric() needs at least one value, for example sw.metric('train', loss=0.3)")
    for key, value in series.items():
        kind = type(value)
        if kind is float:
            if value - value != 0.0:  # NaN or infinity: JSON has neither
                series[key] = None
        elif kind is not int:
            if type(key) is not str:
                raise TypeError(f"metric series names must be strings, not {key!r}")
            series[key] = _number(key, value)
    if x is not None and type(x) is not int and type(x) is not float:
        x = _number("x", x)
    elif type(x) is float and x - x != 0.0:
        x = None
    t = _process._transport or _process.transport()
    if t is None:
        _process.discard_without_hub(stacklevel=3, metric=True)
        return
    if t.warning is not None:
        _process.emit_warning(t, stacklevel=3)
    if len(series) > FAST_SERIES:
        # Wide events go where bytes are counted; the metric lane is bounded by count only.
        t.put(metric_payload(name, x, series), metric_size(name, series))
    else:
        t.put_metric(name, x, series)
    t.arm()


def notify(
    message: str,
    level: str = "info",
    *,
    title: str | None = None,
    timeout_ms: int | None = 5000,
    channel: str = NOTIFY_CHANNEL,
) -> None:
    """Show a toast in every ``Toasts`` widget following ``channel``.

    Notifications are never dropped silently: without a hub they are printed to stderr,
    and if the queue cannot take them a warning says so.

    Parameters
    ----------
    message : str
        The text (rendered as text, never HTML).
    level : {"info", "success", "warning", "error"}
    title : str, optional
    timeout_ms : int or None, default 5000
        How long the toast stays; None keeps it until dismissed.
    channel : str, default "notify"
    """
    if not isinstance(message, str):
        raise TypeError(f"notify() message must be a string, not {type(message).__name__}")
    if level not in NOTIFY_LEVELS:
        raise ValueError(f"notify() level must be one of {', '.join(NOTIFY_LEVELS)}, not {level!r}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"notify() title must be a string or None, not {type(title).__name__}")
    if timeout_ms is not None and (type(timeout_ms) is not int or timeout_ms < 0):
        raise ValueError(f"notify() timeout_ms must be a non-negative int or None, not {timeout_ms!r}")
    name = check_channel(channel)
    data = {"level": level, "title": title or "", "message": message, "timeout_ms": timeout_ms}
    text = encode(name, "notify", data, "notify()")
    t = _process.transport()
    if t is None or (isinstance(t, LocalTransport) and not t.watched(name)):
        # Nowhere to show it (yet): say it on stderr too. In a kernel the history keeps it
        # for a Toasts widget made later.
        heading = f"{title}: " if title else ""
        print(f"[{level}] {heading}{message}", file=sys.stderr, flush=True)
        if t is None:
            return
    if t.warning is not None:
        _process.emit_warning(t, stacklevel=2)
    _queue_urgent(t, text, stacklevel=2)


def _queue_urgent(t: Any, text: str, stacklevel: int) -> None:
    if not t.put_urgent(text, len(text)):
        why = (
            f"the hub at {t.connection.url} has been unreachable for a while"
            if t.connection is not None
            else "this kernel's widgets are not keeping up"
        )
        warnings.warn(
            f"sse-widgets: a notification was not queued because the queue is full ({why}): {text[:200]}",
            SSEWidgetsWarning,
            stacklevel=stacklevel + 1,
        )
