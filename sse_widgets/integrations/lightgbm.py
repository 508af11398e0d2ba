"""LightGBMCallback: boosting rounds as a bar, evaluation results as metric points, toasts."""

from __future__ import annotations

from typing import Any

from ..publisher.progress import PROGRESS_CHANNEL
from ._run import METRIC_CHANNEL, NOTIFY_CHANNEL, Run, channels


class LightGBMCallback:
    """Show ``lightgbm.train`` live: ``lgb.train(params, data, valid_sets=[...], callbacks=[sw.integrations.LightGBMCallback()])``.

    Publishes, per boosting round, one ``metric`` point (x = the round, from 1) with every
    evaluation result named ``<data>-<metric>`` (``valid_0-l2``; ``cv_agg-valid l2`` in
    ``lgb.cv``), moves a "rounds" bar, and toasts at the end.

    Parameters
    ----------
    channel : str, default "train"
    progress_channel : str, default "progress"
    notify_channel : str or None, default "notify"
    name : str, default "LightGBM"

    Notes
    -----
    LightGBM calls no callback when early stopping ends training; the bar is then closed
    ``done`` when the cell (or script) ends. Also usable with the scikit-learn API:
    ``LGBMRegressor().fit(X, y, eval_set=[...], callbacks=[...])``.
    """

    #: LightGBM runs callbacks in this order; after its own (log 10, record 20, early stopping 30).
    order = 40
    before_iteration = False

    def __init__(
        self,
        channel: str = METRIC_CHANNEL,
        *,
        progress_channel: str = PROGRESS_CHANNEL,
        notify_channel: str | None = NOTIFY_CHANNEL,
        name: str = "LightGBM",
    ) -> None:
        self.where = channels(channel, progress_channel, notify_channel)
        self.label = name
        self.run: Run | None = None

    def __call__(self, env: Any) -> None:
        if self.run is None or self.run.closed or env.iteration == env.begin_iteration:
            if self.run is not None and not self.run.closed:
                self.run.finish()
            self.run = Run(self.label, self.where, ends_unseen=True)
            self.run.bar("rounds", env.end_iteration - env.begin_iteration, f"{self.label}: rounds", unit="round")
        run = self.run
        values = {f"{item[0]}-{item[1]}": item[2] for item in env.evaluation_result_list or ()}
        run.metric(env.iteration + 1, values)
        run.bars["rounds"].update(1)
        if env.iteration + 1 >= env.end_iteration:
            run.finish()
