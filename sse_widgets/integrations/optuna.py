"""OptunaCallback: trials as a bar, each trial's value and the best so far as metric points."""

from __future__ import annotations

import threading
from typing import Any

import optuna

from ..publisher.progress import PROGRESS_CHANNEL
from ._run import NOTIFY_CHANNEL, Run, caller_local, channels


class OptunaCallback:
    """Show a study live: ``study.optimize(objective, n_trials=50, callbacks=[sw.integrations.OptunaCallback()])``.

    Publishes, per finished trial, one ``metric`` point (x = the trial number) with
    ``value`` (complete trials) and ``best`` (the study's best value so far); multi-objective
    studies publish ``value_0``, ``value_1``... A "trials" bar counts finished trials (its
    message counts pruned and failed ones); a toast gives the best value and parameters.

    Parameters
    ----------
    channel : str, default "optuna"
    progress_channel : str, default "progress"
    notify_channel : str or None, default "notify"
    n_trials : int, optional
        Trials expected; by default the ``n_trials`` given to ``study.optimize``. Without
        one (a ``timeout`` only) the bar counts up and closes when the cell ends.
    name : str, default "Optuna"
    """

    def __init__(
        self,
        channel: str = "optuna",
        *,
        progress_channel: str = PROGRESS_CHANNEL,
        notify_channel: str | None = NOTIFY_CHANNEL,
        n_trials: int | None = None,
        name: str = "Optuna",
    ) -> None:
        self.where = channels(channel, progress_channel, notify_channel)
        self.n_trials = n_trials
        self.label = name
        self.run: Run | None = None
        self.states: dict[str, int] = {}
        # With n_jobs > 1, Optuna calls callbacks from its worker threads.
        self._lock = threading.Lock()

    def __call__(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> None:
        with self._lock:
            run = self.run
            if run is None or run.closed:
                total = self.n_trials if self.n_trials is not None else caller_local("optuna", "_optimize", "n_trials")
                # Ends unseen without a total; the cell's end (in the main thread) closes it.
                run = self.run = Run(self.label, self.where, ends_unseen=total is None)
                run.thread = threading.main_thread()
                run.bar("trials", total, f"{self.label}: {study.study_name}", unit="trial")
                self.states = {}
            state = trial.state.name.lower()
            self.states[state] = self.states.get(state, 0) + 1
            values: dict[str, Any] = {}
            if trial.values is not None:
                if len(trial.values) == 1:
                    values["value"] = trial.values[0]
                else:
                    values.update({f"value_{i}": v for i, v in enumerate(trial.values)})
            if len(study.directions) == 1:
                try:
                    values["best"] = study.best_value
                except ValueError:
                    pass  # no complete trial yet
            run.metric(trial.number, values)
            bar = run.bars["trials"]
            bar.set_postfix_str(", ".join(f"{n} {s}" for s, n in sorted(self.states.items())), refresh=False)
            bar.update(1)
            if bar.total is not None and bar.n >= bar.total:
                run.finish(self._result(study))

    @staticmethod
    def _result(study: optuna.study.Study) -> str:
        if len(study.directions) != 1:
            return f"{len(study.best_trials)} Pareto-optimal trials"
        try:
            best = study.best_trial
        except ValueError:
            return "no trial completed"
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items())
        return f"best {best.value:.6g} (trial {best.number}: {params})"
