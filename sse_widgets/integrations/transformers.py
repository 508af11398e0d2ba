"""TransformersCallback: a transformers ``Trainer`` run as bars, logged metrics as points, toasts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import transformers
from transformers.trainer_callback import ProgressCallback
from transformers.utils.notebook import NotebookProgressCallback

from ..publisher import events
from ..publisher.progress import PROGRESS_CHANNEL
from ._run import METRIC_CHANNEL, NOTIFY_CHANNEL, Run, channels, numbers

if TYPE_CHECKING:
    from typing_extensions import Self


class TransformersCallback(transformers.TrainerCallback):
    """Show ``Trainer.train()`` live: ``sw.integrations.TransformersCallback().attach(trainer)``.

    ``attach`` replaces the Trainer's progress callback (``NotebookProgressCallback`` in a
    notebook, which draws HTML, or the console ``ProgressCallback``) with this one. Passing
    it in ``Trainer(callbacks=[...])`` works too, beside the Trainer's own bars.

    Publishes every ``on_log`` (``loss``, ``learning_rate``, ``grad_norm``...) as one
    ``metric`` point at x = the global step, evaluation metrics (``eval_*``) from
    ``on_evaluate`` at the same x, an "epochs" bar with a "steps" bar under it, and a toast
    at the end. Only the world process zero publishes.

    Parameters
    ----------
    channel : str, default "train"
    progress_channel : str, default "progress"
    notify_channel : str or None, default "notify"
    name : str, default "Trainer"
    """

    def __init__(
        self,
        channel: str = METRIC_CHANNEL,
        *,
        progress_channel: str = PROGRESS_CHANNEL,
        notify_channel: str | None = NOTIFY_CHANNEL,
        name: str = "Trainer",
    ) -> None:
        super().__init__()
        self.where = channels(channel, progress_channel, notify_channel)
        self.label = name
        self.run: Run | None = None
        self._logged: tuple[int, frozenset[str]] = (-1, frozenset())

    def attach(self, trainer: Any) -> Self:
        """Replace ``trainer``'s notebook or console progress callback with this callback."""
        for replaced in (NotebookProgressCallback, ProgressCallback):
            trainer.remove_callback(replaced)
        trainer.add_callback(self)
        return self

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        epochs = state.num_train_epochs or args.num_train_epochs
        self.run = run = Run(self.label, self.where)
        run.bar("epochs", math.ceil(epochs) if epochs else None, f"{self.label}: epochs", unit="epoch")
        run.bar("steps", state.max_steps or None, "steps", unit="step", parent="epochs")
        if state.global_step:
            run.bars["steps"].update(state.global_step)  # resumed from a checkpoint

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.run is not None and state.is_world_process_zero:
            steps = self.run.bars["steps"]
            steps.update(state.global_step - steps.n)

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.run is not None and state.is_world_process_zero:
            self.run.bars["epochs"].update(1)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if self.run is None or not state.is_world_process_zero:
            return
        values = numbers(logs)
        self._logged = (state.global_step, frozenset(values))
        self.run.metric(state.global_step, values)

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        # Trainer.evaluate logs its metrics (on_log) just before this hook: publish only
        # what that did not, so each point is published once.
        step, seen = self._logged
        values = {k: v for k, v in numbers(metrics).items() if not (step == state.global_step and k in seen)}
        if values:
            events.metric(self.where.metrics, x=state.global_step, values=values)  # type: ignore[arg-type]  # None is a gap

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.run is not None and state.is_world_process_zero:
            self.run.finish()
