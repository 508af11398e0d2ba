"""The Lightning logger's and progress bar's work, apart from Lightning's base classes.

``lightning.py`` mixes these into ``lightning.pytorch``'s ``Logger`` and ``ProgressBar``.
They are kept apart so that the hook logic can be exercised where Lightning (which needs
torch) is not installed: they touch only the trainer attributes Lightning documents
(``max_epochs``, ``current_epoch``, ``num_training_batches``, ``global_step``,
``is_global_zero``).

Lightning's order (``lightning/pytorch/trainer/call.py``): on success the callbacks'
``on_train_end`` then ``logger.finalize("success")`` at teardown; on an exception
``on_exception(trainer, module, exc)`` on every callback, then ``logger.finalize("failed")``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any

from ..publisher import events
from ..publisher.progress import PROGRESS_CHANNEL
from ._run import METRIC_CHANNEL, NOTIFY_CHANNEL, Run, channels, numbers, summary


def global_rank() -> int:
    """This process's rank, read as ``lightning_utilities``' ``rank_zero_only`` reads it."""
    for key in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        value = os.environ.get(key)
        if value is not None:
            try:
                return int(value)
            except ValueError:
                continue
    return 0


def _count(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number >= 0 else None


class LoggerCore:
    """Metric points from ``log_metrics`` (x = the step); hyperparameters as one event."""

    def __init__(self, channel: str = METRIC_CHANNEL, *, notify_channel: str | None = None, name: str = "Lightning") -> None:
        super().__init__()
        self.where = channels(channel, PROGRESS_CHANNEL, notify_channel)
        self.label = name

    @property
    def name(self) -> str:
        return self.label

    @property
    def version(self) -> str:
        return self.where.metrics

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        if global_rank() != 0:
            return
        values = numbers(metrics)
        if values:
            events.metric(self.where.metrics, x=step, values=values)  # type: ignore[arg-type]  # None is a gap

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        if global_rank() != 0:
            return
        items = params if isinstance(params, Mapping) else vars(params) if hasattr(params, "__dict__") else {}
        data = json.loads(json.dumps(dict(items), default=str))
        try:
            events.publish(self.where.metrics, data, type="hparams")
        except ValueError:
            # Over the hub's event size (a whole config): the values cut short, never a
            # failure inside the user's fit.
            short = {str(k): str(v)[:200] for k, v in list(data.items())[:200]}
            events.publish(self.where.metrics, {**short, "_cut": True}, type="hparams")

    def finalize(self, status: str) -> None:
        if global_rank() != 0 or self.where.notify is None:
            return
        ok = status != "failed"
        events.notify(f"{self.label} {'finished' if ok else 'failed'}", level="success" if ok else "error",
                      title=self.label, channel=self.where.notify)  # fmt: skip


class ProgressBarCore:
    """An "epochs" bar with a "steps" bar under it; failed with the exception's message."""

    def __init__(
        self,
        *,
        progress_channel: str = PROGRESS_CHANNEL,
        notify_channel: str | None = NOTIFY_CHANNEL,
        name: str = "Lightning",
    ) -> None:
        super().__init__()
        self.where = channels(METRIC_CHANNEL, progress_channel, notify_channel)
        self.label = name
        self.run: Run | None = None
        self.enabled = True

    @property
    def is_enabled(self) -> bool:
        return self.enabled

    @property
    def is_disabled(self) -> bool:
        return not self.enabled

    def disable(self) -> None:
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    def _live(self, trainer: Any) -> Run | None:
        return self.run if self.enabled and trainer.is_global_zero else None

    def _postfix(self, trainer: Any, pl_module: Any) -> str:
        get_metrics = getattr(self, "get_metrics", None)  # Lightning's ProgressBar has it
        metrics = get_metrics(trainer, pl_module) if callable(get_metrics) else getattr(trainer, "progress_bar_metrics", {})
        return summary(numbers(metrics))

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        if not self.enabled or not trainer.is_global_zero:
            return
        self.run = run = Run(self.label, self.where)
        epochs = _count(trainer.max_epochs)
        run.bar("epochs", epochs if epochs else None, f"{self.label}: epochs", unit="epoch")
        run.bar("steps", _count(trainer.num_training_batches), "epoch 1", unit="step", parent="epochs")

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        run = self._live(trainer)
        if run is None:
            return
        steps = run.bars["steps"]
        steps.reset(total=_count(trainer.num_training_batches))
        epochs = _count(trainer.max_epochs)
        steps.set_description(f"epoch {trainer.current_epoch + 1}" + (f"/{epochs}" if epochs else ""))

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        run = self._live(trainer)
        if run is not None:
            steps = run.bars["steps"]
            steps.set_postfix_str(self._postfix(trainer, pl_module), refresh=False)
            steps.update(batch_idx + 1 - steps.n)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        run = self._live(trainer)
        if run is not None:
            epochs = run.bars["epochs"]
            epochs.set_postfix_str(self._postfix(trainer, pl_module), refresh=False)
            epochs.update(1)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        run = self._live(trainer)
        if run is not None:
            run.finish(self._postfix(trainer, pl_module))

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        if self.run is not None and trainer.is_global_zero:
            self.run.fail(exception)
