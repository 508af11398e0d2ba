"""Mirror: publish to the hub and, for pages that cannot reach it, to this kernel's widgets too."""

from __future__ import annotations

from typing import Any

from .connection import Connection
from .hosts import WidgetHost
from .local import LocalTransport
from .outbox import Payload
from .transport import FlushReport, Transport


class Mirror:
    """Both transports behind the producer interface of one; the hub's is the one that reports.

    Made the first time a widget's frontend asks for its events over the comm although this
    kernel publishes to a hub: the page cannot reach that hub (a standalone Voila started
    from a terminal that inherited ``SSE_WIDGETS_URL``, a remote browser). From then on the
    kernel's events also go to its widgets; earlier ones are only in the hub's history.
    Either side's messages to widgets go through the local side's ``host``.
    """

    def __init__(self, hub: Transport, local: LocalTransport) -> None:
        self.hub = hub
        self.local = local

    @property
    def connection(self) -> Connection:
        return self.hub.connection

    @property
    def host(self) -> WidgetHost:
        """Where the widgets are shown (the in-kernel side's host); their sinks send through it."""
        return self.local.host

    @property
    def warning(self) -> str | None:
        return self.hub.warning

    @warning.setter
    def warning(self, value: str | None) -> None:
        self.hub.warning = value

    @property
    def healthy(self) -> bool:
        return self.hub.healthy

    def put(self, payload: Payload, size: int) -> None:
        self.hub.put(payload, size)
        self.local.put(payload, size)

    def put_metric(self, channel: str, x: float | None, series: dict[str, Any]) -> None:
        self.hub.put_metric(channel, x, series)
        self.local.put_metric(channel, x, series)

    def arm(self) -> None:
        """Never armed: ``metric()``'s fast path appends to one queue, and this has two."""

    def wake(self) -> None:
        self.hub.wake()
        self.local.wake()

    def put_progress(self, key: tuple[str, str], payload: Payload, size: int) -> None:
        self.hub.put_progress(key, payload, size)
        self.local.put_progress(key, payload, size)

    def put_urgent(self, payload: Payload, size: int, supersedes: tuple[str, str] | None = None) -> bool:
        self.local.put_urgent(payload, size, supersedes)
        return self.hub.put_urgent(payload, size, supersedes)

    def wait(self, timeout: float | None = 10.0) -> None:
        self.local.wait(timeout)
        self.hub.wait(timeout)

    def flush(self, timeout: float | None = 10.0) -> FlushReport:
        self.local.wait(timeout)
        return self.hub.flush(timeout)

    def close(self) -> None:
        self.hub.close()
        self.local.close()
