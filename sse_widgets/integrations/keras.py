"""KerasCallback: a Keras 3 fit as bars (epochs, steps), a metric point per step, and toasts."""

from __future__ import annotations

from typing import Any

import keras

from ..publisher.progress import PROGRESS_CHANNEL
from ._run import METRIC_CHANNEL, NOTIFY_CHANNEL, Run, channels, numbers, summary


class KerasCallback(keras.callbacks.Callback):  # type: ignore[misc]  # keras ships no types
    """Show ``model.fit`` live: ``model.fit(x, y, epochs=5, callbacks=[sw.integrations.KerasCallback()])``.

    Publishes, per training step, one ``metric`` point (x = the global step) with the
    batch logs (``loss``, ``accuracy``...); at each epoch's end the validation logs
    (``val_*``) at the same x; an "epochs" bar and a "steps" bar under it; and a toast when
    training ends or fails.

    Parameters
    ----------
    channel : str, default "train"
        Metric points; ``LiveChart("train")`` draws them.
    progress_channel : str, default "progress"
    notify_channel : str or None, default "notify"
        None for no toast.
    every : int, default 1
        Publish a point every ``every`` steps (the bars move every step).
    name : str, default "Keras"
        Bar label and toast title.
    """

    def __init__(
        self,
        channel: str = METRIC_CHANNEL,
        *,
        progress_channel: str = PROGRESS_CHANNEL,
        notify_channel: str | None = NOTIFY_CHANNEL,
        every: int = 1,
        name: str = "Keras",
    ) -> None:
        super().__init__()
        if type(every) is not int or every < 1:
            raise ValueError(f"KerasCallback every must be a positive int, not {every!r}")
        self.where = channels(channel, progress_channel, notify_channel)
        self.every = every
        self.label = name
        self.run: Run | None = None
        self.step = 0
        self.epochs: int | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        params = self.params or {}
        self.epochs = params.get("epochs")
        self.step = 0
        self.run = run = Run(self.label, self.where)
        run.bar("epochs", self.epochs, f"{self.label}: epochs", unit="epoch")
        run.bar("steps", params.get("steps"), "epoch 1", unit="step", parent="epochs")

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.run is None:
            return
        steps = self.run.bars["steps"]
        steps.reset(total=(self.params or {}).get("steps"))
        steps.set_description(f"epoch {epoch + 1}/{self.epochs}" if self.epochs else f"epoch {epoch + 1}")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.run is None:
            return
        self.step += 1
        self.run.bars["steps"].update(1)
        if self.step % self.every == 0:
            self.run.metric(self.step, logs or {})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.run is None:
            return
        values = numbers(logs)
        validation = {k: v for k, v in values.items() if k.startswith("val_")}
        if validation:
            self.run.metric(self.step, validation)
        self.run.last.update(values)
        epochs = self.run.bars["epochs"]
        epochs.set_postfix_str(summary(values), refresh=False)
        epochs.update(1)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.run is not None:
            self.run.last.update(numbers(logs))
            self.run.finish()
