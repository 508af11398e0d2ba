"""LightningLogger and LightningProgressBar: ``lightning.pytorch`` runs as points, bars and toasts."""

from __future__ import annotations

from lightning.pytorch.callbacks.progress.progress_bar import ProgressBar
from lightning.pytorch.loggers.logger import Logger

from ._lightning_core import LoggerCore, ProgressBarCore


class LightningLogger(LoggerCore, Logger):  # type: ignore[misc]
    """A Lightning ``Logger``: ``Trainer(logger=sw.integrations.LightningLogger())``.

    Every ``self.log(...)`` value that Lightning hands its loggers becomes one ``metric``
    point at x = the global step; hyperparameters are published once as an ``hparams``
    event. Only global rank zero publishes.

    Parameters
    ----------
    channel : str, default "train"
    notify_channel : str or None, default None
        A toast at ``finalize`` ("success" or "failed"); the progress bar toasts already.
    name : str, default "Lightning"
    """


class LightningProgressBar(ProgressBarCore, ProgressBar):  # type: ignore[misc]
    """A Lightning progress bar: ``Trainer(callbacks=[sw.integrations.LightningProgressBar()])``.

    Replaces Lightning's own bar (a ``Trainer`` uses the ``ProgressBar`` in its callbacks).
    An "epochs" bar with a "steps" bar under it, the progress-bar metrics as their message,
    ``failed`` with the exception's message from ``on_exception``, and a toast at the end.

    Parameters
    ----------
    progress_channel : str, default "progress"
    notify_channel : str or None, default "notify"
    name : str, default "Lightning"
    """
