"""A widget as a sink of the in-kernel transport: events reach its frontend as custom messages, through its host."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from .._glob import Glob
from ..protocol import compile_pattern
from ..publisher.hosts import WidgetHost

if TYPE_CHECKING:
    from ._base import StreamWidget


class WidgetSink:
    """What ``LocalTransport`` holds for one widget: its channel patterns and a way to send.

    Messages go through ``host`` (``publisher/hosts.py``), which knows how its runtime
    carries them and when a widget's frontend is gone. The widget is held weakly: a widget
    dropped without ``close()`` stops receiving (``send`` says it is gone) instead of being
    kept alive by the sender.
    """

    def __init__(self, widget: StreamWidget, host: WidgetHost) -> None:
        self._widget = weakref.ref(widget)
        self.host = host
        self._globs: list[Glob] = []
        self.follow(widget.channels)

    def follow(self, patterns: list[str]) -> None:
        self._globs = [compile_pattern(p) for p in patterns]

    def matches(self, channel: str) -> bool:
        return any(glob.fullmatch(channel) for glob in self._globs)

    def send(self, content: dict[str, Any], payload: bytes) -> bool:
        # Called from the sender thread; every host here takes sends from any thread.
        widget = self._widget()
        return widget is not None and self.host.send(widget, content, payload)
