"""Queued events to strict JSON text, in the sender thread, without building dicts for metrics.

``metric()`` queues ``(seq, channel, x, series)`` tuples (see ``outbox.FastLane``); the text
of such an event is put together here from its parts. That makes no container the garbage
collector tracks, so a busy queue does not drive full collections of the user's heap (each
one stalls every thread), and it is a few times cheaper than building and encoding the
event's two dicts. Channel names never need JSON escaping (``protocol.check_channel``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from .outbox import Payload

# The C encoder made once, as ``json.dumps`` makes it per call (json/encoder.py,
# ``JSONEncoder.iterencode``): for small events that setup is most of the cost.
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_chunks: Callable[[Any], Any]
if _c_make_encoder is not None:
    _c_encoder = _c_make_encoder(None, None, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False)

    def _chunks(value: Any) -> Any:
        return _c_encoder(value, 0)
else:  # an interpreter without the C accelerator
    _chunks = json.JSONEncoder(separators=(",", ":"), allow_nan=False).iterencode


def without_nonfinite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, as JSON has neither (a copy)."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: without_nonfinite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_nonfinite(v) for v in value]
    return value


def strict_json(value: Any) -> str:
    """Compact JSON with NaN and infinities as null; TypeError for a value JSON cannot hold."""
    try:
        return "".join(_chunks(value))
    except ValueError:
        return "".join(_chunks(without_nonfinite(value)))


def _number(x: float | None) -> str:
    if x is None or (type(x) is float and not math.isfinite(x)):
        return "null"
    return repr(x)  # what json writes for an int or a float


def to_json(payload: Payload) -> str:
    """One queued event as JSON text: text as it is, a queued metric put together, a dict encoded."""
    if type(payload) is str:
        return payload
    if type(payload) is tuple:
        _, channel, x, series = payload
        return f'{{"channel":"{channel}","type":"metric","data":{{"x":{_number(x)},"values":{strict_json(series)}}}}}'
    return strict_json(payload)
