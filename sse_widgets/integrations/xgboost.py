"""XGBoostCallback: boosting rounds as a bar, evaluation results as metric points, toasts."""

from __future__ import annotations

from typing import Any

import xgboost

from ..publisher.progress import PROGRESS_CHANNEL
from ._run import METRIC_CHANNEL, NOTIFY_CHANNEL, Run, caller_local, channels


class XGBoostCallback(xgboost.callback.TrainingCallback):
    """Show XGBoost training live: ``xgb.train(params, dtrain, evals=[...], callbacks=[sw.integrations.XGBoostCallback()])``.

    Publishes, per boosting round, one ``metric`` point (x = the round, from 1) with the
    last value of every evaluation, named ``<data>-<metric>`` (``eval-rmse``); a "rounds"
    bar; a toast at the end (early stopping included).

    Parameters
    ----------
    channel : str, default "train"
    progress_channel : str, default "progress"
    notify_channel : str or None, default "notify"
    total : int, optional
        Rounds expected. By default read from the ``num_boost_round`` of the
        ``xgboost.train`` call that runs the callback (the scikit-learn API calls it too).
    name : str, default "XGBoost"
    """

    def __init__(
        self,
        channel: str = METRIC_CHANNEL,
        *,
        progress_channel: str = PROGRESS_CHANNEL,
        notify_channel: str | None = NOTIFY_CHANNEL,
        total: int | None = None,
        name: str = "XGBoost",
    ) -> None:
        super().__init__()
        self.where = channels(channel, progress_channel, notify_channel)
        self.total = total
        self.label = name
        self.run: Run | None = None

    def before_training(self, model: Any) -> Any:
        total = self.total if self.total is not None else caller_local("xgboost", "train", "num_boost_round")
        start = model.num_boosted_rounds() if hasattr(model, "num_boosted_rounds") else 0
        if isinstance(total, int) and total >= start:
            total -= start  # training continued from a model already boosted
        else:
            total = None
        self.run = Run(self.label, self.where)
        self.run.bar("rounds", total, f"{self.label}: rounds", unit="round")
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, list[Any]]]) -> bool:
        if self.run is None:
            return False
        values: dict[str, Any] = {}
        for data, results in evals_log.items():
            for name, history in results.items():
                if history:
                    last = history[-1]
                    values[f"{data}-{name}"] = last[0] if isinstance(last, tuple) else last  # cv: (mean, std)
        self.run.metric(epoch + 1, values)
        self.run.bars["rounds"].update(1)
        return False

    def after_training(self, model: Any) -> Any:
        if self.run is not None:
            self.run.finish()
        return model
