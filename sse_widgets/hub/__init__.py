"""The event hub: pure asyncio and stdlib; no web framework is imported here."""

from __future__ import annotations

from .backend import (
    Backend,
    BackendListener,
    BackendUnavailable,
    ChannelInfo,
    IdempotencyConflict,
    OutcomeUnknown,
    Replay,
    ReplayInterrupted,
)
from .cancels import CancelBoard
from .encoding import encode_comment, encode_event, encode_retry
from .event import Cursor, Draft, Event
from .hub import EventTooLarge, Hub, HubClosed, HubFull, InvalidEvent, TaskFinished, parse_json
from .memory import MemoryBackend
from .patterns import ChannelSet
from .subscriber import BufferSink, Sink, Subscriber

__all__ = [
    "Backend",
    "BackendListener",
    "BackendUnavailable",
    "BufferSink",
    "CancelBoard",
    "ChannelInfo",
    "ChannelSet",
    "Cursor",
    "Draft",
    "Event",
    "EventTooLarge",
    "Hub",
    "HubClosed",
    "HubFull",
    "IdempotencyConflict",
    "InvalidEvent",
    "MemoryBackend",
    "OutcomeUnknown",
    "Replay",
    "ReplayInterrupted",
    "Sink",
    "Subscriber",
    "TaskFinished",
    "encode_comment",
    "encode_event",
    "encode_retry",
    "parse_json",
]
