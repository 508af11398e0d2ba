"""A widget as a sink of the in-kernel transport: events reach its frontend as custom comm messages."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from .._glob import Glob
from ..protocol import compile_pattern

if TYPE_CHECKING:
    from ._base import StreamWidget


class WidgetSink:
    """What ``LocalTransport`` holds for one widget: its channel patterns and a way to send.

    The widget is held weakly: a widget dropped without ``close()`` stops receiving (``send``
    says it is gone) instead of being kept alive by the sender.
    """

    def __init__(self, widget: StreamWidget) -> None:
        self._widget = weakref.ref(widget)
        self._globs: list[Glob] = []
        self.follow(widget.channels)

    def follow(self, patterns: list[str]) -> None:
        self._globs = [compile_pattern(p) for p in patterns]

    def matches(self, channel: str) -> bool:
        return any(glob.fullmatch(channel) for glob in self._globs)

    def send(self, content: dict[str, Any], payload: bytes) -> bool:
        # Called from the sender thread. ipykernel's IOPub socket is thread-safe: a send
        # from any thread is queued to its IO thread, so this works while a cell runs.
        widget = self._widget()
        if widget is None or widget.comm is None:
            return False
        widget.send(content, buffers=[payload])
        return True
