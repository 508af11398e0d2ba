"""The kernel's own bounded event history: ids, envelopes and replay for widgets fed over the comm."""

from __future__ import annotations

import heapq
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable

from .encoding import to_json
from .outbox import Payload

#: ``(seq, envelope JSON text)``: what a widget is sent.
Record = tuple[int, str]

_CHANNEL_PREFIX = '{"channel":"'


class NotEncodable(ValueError):
    """An event that cannot be written as strict JSON (NaN, infinity, a non-JSON object)."""


def channel_of(text: str) -> str:
    """The channel of an event serialised by ``events.encode`` (it always comes first).

    Channel names never need JSON escaping (letters, digits and ``_-.:/@+=``), so the name
    runs from the prefix to the next quote: cheaper than parsing the event again.
    """
    if not text.startswith(_CHANNEL_PREFIX):
        raise NotEncodable(f"not an event serialised by sse_widgets: {text[:80]!r}")
    return text[len(_CHANNEL_PREFIX) : text.index('"', len(_CHANNEL_PREFIX))]


class KernelHistory:
    """Events published in this process, numbered and kept within fixed bounds.

    Ids are ``<epoch>-<seq>`` like the hub's, with an epoch of this process's own (``k`` and
    random hex), so a browser never mistakes a kernel's cursor for a hub's.

    Parameters
    ----------
    channel_events, channel_bytes
        What one channel keeps at most; past either, its oldest events go.
    max_channels, total_bytes
        What the whole history keeps at most; past either, the channel published to least
        recently goes whole.
    """

    def __init__(
        self,
        channel_events: int = 10_000,
        channel_bytes: int = 4 << 20,
        max_channels: int = 256,
        total_bytes: int = 64 << 20,
    ) -> None:
        if min(channel_events, channel_bytes, max_channels, total_bytes) < 1:
            raise ValueError("kernel history bounds must be positive")
        self.channel_events = channel_events
        self.channel_bytes = channel_bytes
        self.max_channels = max_channels
        self.total_bytes = total_bytes
        self.epoch = "k" + secrets.token_hex(4)
        self.seq = 0
        # channel -> its events, oldest first; the dict is in least-recently-published order.
        self._channels: OrderedDict[str, deque[tuple[int, str, int]]] = OrderedDict()
        self._channel_size: dict[str, int] = {}
        self.size = 0

    def __len__(self) -> int:
        return sum(len(events) for events in self._channels.values())

    def channels(self) -> list[str]:
        return list(self._channels)

    def append(self, payload: Payload, ts: float) -> tuple[str, Record]:
        """Number one queued event, keep it, and return ``(channel, (seq, envelope))``.

        Raises
        ------
        NotEncodable
            The event has NaN, infinity or a non-JSON value (nothing is kept).
        """
        try:
            text = to_json(payload)
        except (TypeError, ValueError) as exc:
            raise NotEncodable(str(exc)) from None
        channel = channel_of(text)
        self.seq += 1
        seq = self.seq
        envelope = f'{{"id":"{self.epoch}-{seq}","ts":{ts:.3f},{text[1:]}'
        size = len(envelope)
        events = self._channels.get(channel)
        if events is None:
            events = self._channels[channel] = deque()
            self._channel_size[channel] = 0
        else:
            self._channels.move_to_end(channel)
        events.append((seq, envelope, size))
        self._channel_size[channel] += size
        self.size += size
        self._trim(channel, events)
        return channel, (seq, envelope)

    def _trim(self, channel: str, events: deque[tuple[int, str, int]]) -> None:
        while len(events) > 1 and (
            len(events) > self.channel_events or self._channel_size[channel] > self.channel_bytes
        ):
            dropped = events.popleft()[2]
            self._channel_size[channel] -= dropped
            self.size -= dropped
        while len(self._channels) > 1 and (
            len(self._channels) > self.max_channels or self.size > self.total_bytes
        ):
            oldest = next(iter(self._channels))
            if oldest == channel:
                break
            del self._channels[oldest]
            self.size -= self._channel_size.pop(oldest)

    def retained(self, matches: Callable[[str], bool], max_bytes: int) -> list[Record]:
        """Every kept event of the channels ``matches`` accepts, in id order.

        When they add up to more than ``max_bytes``, the newest that fit are returned.
        """
        # Newest first across channels (seq is one sequence for all), so the work is bounded
        # by what fits in max_bytes, not by the whole history.
        newest_first = [reversed(events) for channel, events in self._channels.items() if matches(channel)]
        out: list[Record] = []
        total = 0
        for seq, envelope, size in heapq.merge(*newest_first, key=lambda item: -item[0]):
            if total + size > max_bytes:
                break
            out.append((seq, envelope))
            total += size
        out.reverse()
        return out
