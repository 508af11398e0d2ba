"""ProgressBoard and ProgressBar: live progress bars from ``progress`` events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import traitlets

from ._base import StreamWidget, static_asset

#: Where ``sw.progress`` / ``sw.tqdm`` publish unless told otherwise.
DEFAULT_CHANNELS = ("progress",)


class ProgressBoard(StreamWidget):
    """One bar per task on the followed channels: label, n/total, percent, rate, ETA.

    Parameters
    ----------
    channels
        Channel name(s) or ``*`` pattern(s); ``"progress"`` (where ``sw.progress`` publishes)
        by default.
    collapse_finished
        Start with finished top-level tasks hidden (a button in the widget toggles it).
    title
        Shown in the header.
    cancel
        Show a Stop button on each running task. The click goes to the server (never
        through the busy kernel); the task's process raises ``sw.Cancelled`` in its loop.
        The widget's ticket then carries the right to stop its channels' tasks, so that a
        Voila viewer of the dashboard may stop them too.

    Notes
    -----
    Tasks with a ``parent`` are indented under it; a finished parent folds its children.
    Without the server extension (``transport == "comm"``) the Stop button is disabled:
    the click could only reach the kernel after the running cell.
    """

    _esm = static_asset("progress", ".js")
    _css = static_asset("progress", ".css")
    _default_channels = DEFAULT_CHANNELS

    task = traitlets.Unicode("", help="show only this task (and its children)").tag(sync=True)
    collapse_finished = traitlets.Bool(False, help="hide finished tasks at first").tag(sync=True)
    cancel = traitlets.Bool(False, help="offer a Stop button on running tasks").tag(sync=True)

    @traitlets.observe("cancel")
    def _cancel_changed(self, change: dict[str, Any]) -> None:
        self._mint()  # the ticket carries the cancel right only while this is on

    def __init__(self, channels: str | Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(channels, **kwargs)

    def _describe(self) -> list[tuple[str, str]]:
        extra = [("task", self.task)] if self.task else []
        return [*super()._describe(), *extra]


class ProgressBar(ProgressBoard):
    """A single task's bar (and its sub-tasks'): ``ProgressBar("jobs/a", task="download")``."""

    def __init__(
        self, channels: str | Iterable[str] | None = None, task: str = "", **kwargs: Any
    ) -> None:
        if not task:
            raise ValueError("ProgressBar needs the task to show: ProgressBar(channel, task='name')")
        super().__init__(channels, task=task, **kwargs)
