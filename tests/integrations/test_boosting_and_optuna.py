"""LightGBM and XGBoost training a few rounds, and an Optuna study of a few trials, read back from the hub."""

from __future__ import annotations

import pytest
from servers import JupyterServer

from .support import events, final_states, metrics, run_script

pytestmark = pytest.mark.slow

DATA = """
import numpy as np
import sse_widgets as sw
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 5)); y = X @ np.arange(1.0, 6.0) + rng.normal(scale=0.1, size=200)
"""


def test_lightgbm_publishes_each_rounds_evaluation_and_finishes_the_bar(live_server: JupyterServer) -> None:
    run_script(DATA + """
import lightgbm as lgb
from sse_widgets.integrations import LightGBMCallback
train, valid = lgb.Dataset(X[:150], y[:150]), lgb.Dataset(X[150:], y[150:])
params = {"objective": "regression", "metric": ["l2", "l1"], "verbose": -1, "num_leaves": 4}
cb = LightGBMCallback("lgb/train", progress_channel="lgb/progress", notify_channel="lgb/notify")
lgb.train(params, train, num_boost_round=8, valid_sets=[train, valid], valid_names=["train", "valid"], callbacks=[cb])
sw.flush(10)
""", live_server)
    points = metrics(live_server, "lgb/train")
    assert [p["x"] for p in points] == list(range(1, 9))
    assert set(points[0]["values"]) == {"train-l2", "train-l1", "valid-l2", "valid-l1"}
    assert points[-1]["values"]["train-l2"] < points[0]["values"]["train-l2"]
    bar = next(iter(final_states(live_server, "lgb/progress").values()))
    assert (bar["label"], bar["n"], bar["total"], bar["status"]) == ("LightGBM: rounds", 8, 8, "done")
    assert events(live_server, "lgb/notify", "notify")[-1]["data"]["level"] == "success"


def test_lightgbm_early_stopping_ends_the_bar_done_when_the_script_ends(live_server: JupyterServer) -> None:
    run_script(DATA + """
import lightgbm as lgb
from sse_widgets.integrations import LightGBMCallback
noise = rng.normal(size=200)  # nothing to learn: the validation score stops improving at once
train, valid = lgb.Dataset(X[:150], noise[:150]), lgb.Dataset(X[150:], noise[150:])
params = {"objective": "regression", "verbose": -1, "learning_rate": 0.5}
cb = LightGBMCallback("lgbe/train", progress_channel="lgbe/progress", notify_channel=None)
booster = lgb.train(params, train, num_boost_round=200, valid_sets=[valid], callbacks=[lgb.early_stopping(3, verbose=False), cb])
assert booster.current_iteration() < 200
""", live_server)
    bar = next(iter(final_states(live_server, "lgbe/progress").values()))
    assert bar["status"] == "done" and bar["n"] < 200 and bar["total"] == 200


def test_xgboost_publishes_each_rounds_evaluation_reads_the_round_count_and_finishes(live_server: JupyterServer) -> None:
    run_script(DATA + """
import xgboost as xgb
from sse_widgets.integrations import XGBoostCallback
dtrain, dvalid = xgb.DMatrix(X[:150], label=y[:150]), xgb.DMatrix(X[150:], label=y[150:])
cb = XGBoostCallback("xgb/train", progress_channel="xgb/progress", notify_channel="xgb/notify")
xgb.train({"max_depth": 2, "eval_metric": ["rmse", "mae"]}, dtrain, num_boost_round=6,
          evals=[(dtrain, "train"), (dvalid, "eval")], callbacks=[cb], verbose_eval=False)
# early stopping: XGBoost still calls after_training
noise = xgb.DMatrix(X[150:], label=rng.normal(size=50))
xgb.train({"max_depth": 2}, xgb.DMatrix(X[:150], label=rng.normal(size=150)), num_boost_round=50,
          evals=[(noise, "eval")], early_stopping_rounds=2, verbose_eval=False,
          callbacks=[XGBoostCallback("xgb/early", progress_channel="xgb/progress2", notify_channel=None)])
sw.flush(10)
""", live_server)
    points = metrics(live_server, "xgb/train")
    assert [p["x"] for p in points] == list(range(1, 7))
    assert set(points[0]["values"]) == {"train-rmse", "train-mae", "eval-rmse", "eval-mae"}
    bar = next(iter(final_states(live_server, "xgb/progress").values()))
    assert (bar["label"], bar["n"], bar["total"], bar["status"]) == ("XGBoost: rounds", 6, 6, "done")
    toast = events(live_server, "xgb/notify", "notify")[-1]["data"]
    assert toast["level"] == "success" and "eval-rmse=" in toast["message"]
    early = next(iter(final_states(live_server, "xgb/progress2").values()))
    assert early["status"] == "done" and early["total"] == 50 and early["n"] < 50
    assert len(metrics(live_server, "xgb/early")) == early["n"]


def test_an_optuna_study_publishes_values_and_the_best_so_far_and_a_bar_of_n_trials(live_server: JupyterServer) -> None:
    run_script("""
import optuna
import sse_widgets as sw
from sse_widgets.integrations import OptunaCallback
optuna.logging.set_verbosity(optuna.logging.WARNING)

def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    if trial.number == 3:
        raise optuna.TrialPruned()
    return (x - 2) ** 2

study = optuna.create_study(study_name="quad", sampler=optuna.samplers.RandomSampler(seed=1))
study.optimize(objective, n_trials=6, callbacks=[OptunaCallback("opt/trials", progress_channel="opt/progress", notify_channel="opt/notify")])
values = [t.value for t in study.trials]
print(repr(values))
sw.flush(10)
""", live_server)
    points = metrics(live_server, "opt/trials")
    assert [p["x"] for p in points] == list(range(6))
    assert "value" not in points[3]["values"]  # pruned
    complete = [p["values"]["value"] for p in points if "value" in p["values"]]
    assert len(complete) == 5
    running, best = [], float("inf")
    for p in points:
        best = min(best, p["values"].get("value", best))
        running.append(best)
    assert [p["values"]["best"] for p in points] == running
    bar = next(iter(final_states(live_server, "opt/progress").values()))
    assert (bar["label"], bar["n"], bar["total"], bar["status"]) == ("Optuna: quad", 6, 6, "done")
    assert bar["message"] == "5 complete, 1 pruned"
    toast = events(live_server, "opt/notify", "notify")[-1]["data"]
    assert toast["level"] == "success" and toast["message"].startswith(f"Optuna finished: best {min(complete):.6g}")


def test_an_optuna_study_whose_objective_raises_ends_failed_with_the_message(live_server: JupyterServer) -> None:
    run_script("""
import optuna
from sse_widgets.integrations import OptunaCallback
optuna.logging.set_verbosity(optuna.logging.ERROR)

def objective(trial):
    if trial.number == 2:
        raise ValueError("bad trial 2")
    return trial.suggest_float("x", 0, 1)

optuna.create_study(study_name="boom").optimize(
    objective, n_trials=5, callbacks=[OptunaCallback("optf/trials", progress_channel="optf/progress", notify_channel="optf/notify")])
""", live_server, expect_failure=True)
    bar = next(iter(final_states(live_server, "optf/progress").values()))
    assert (bar["status"], bar["message"], bar["n"]) == ("failed", "ValueError: bad trial 2", 2)
    assert events(live_server, "optf/notify", "notify")[-1]["data"]["message"] == "Optuna failed: ValueError: bad trial 2"


def test_a_study_stopped_by_an_exception_the_caller_caught_ends_failed_when_the_script_ends(
    live_server: JupyterServer,
) -> None:
    out = run_script("""
import optuna
from sse_widgets.integrations import OptunaCallback
optuna.logging.set_verbosity(optuna.logging.ERROR)

def objective(trial):
    if trial.number == 1:
        raise KeyError("feature")
    return trial.suggest_float("x", 0, 1)

try:
    optuna.create_study(study_name="caught").optimize(
        objective, n_trials=4, callbacks=[OptunaCallback("optc/trials", progress_channel="optc/progress", notify_channel="optc/notify")])
except KeyError:
    print("caught")
""", live_server)
    assert out.strip() == "caught"
    bar = next(iter(final_states(live_server, "optc/progress").values()))
    assert (bar["status"], bar["message"], bar["n"]) == ("failed", "stopped before the end", 1)
    assert events(live_server, "optc/notify", "notify")[-1]["data"]["message"] == "Optuna failed: stopped before the end"
