"""Integrations in a real kernel: a cell's end says how a run ended (post_run_cell)."""

from __future__ import annotations

import textwrap

import pytest
from kernel_client import Kernel, KernelError
from servers import JupyterServer

from .support import events, final_states

pytestmark = pytest.mark.slow


def test_a_failing_cell_ends_its_run_failed_and_early_stopping_ends_done_at_the_cells_end(
    live_server: JupyterServer,
) -> None:
    with Kernel(live_server) as kernel:
        kernel.execute(textwrap.dedent("""
            import numpy as np, lightgbm as lgb, optuna
            import sse_widgets as sw
            from sse_widgets.integrations import LightGBMCallback, OptunaCallback
            optuna.logging.set_verbosity(optuna.logging.ERROR)
            rng = np.random.default_rng(0)
            X, noise = rng.normal(size=(200, 5)), rng.normal(size=200)
        """))
        kernel.execute(textwrap.dedent("""
            cb = LightGBMCallback("kn/train", progress_channel="kn/early", notify_channel="kn/notify")
            lgb.train({"objective": "regression", "verbose": -1, "learning_rate": 0.5}, lgb.Dataset(X[:150], noise[:150]),
                      num_boost_round=300, valid_sets=[lgb.Dataset(X[150:], noise[150:])],
                      callbacks=[lgb.early_stopping(3, verbose=False), cb])
        """))
        with pytest.raises(KernelError, match="ZeroDivisionError"):
            kernel.execute(textwrap.dedent("""
                def objective(trial):
                    return 1 / (trial.number - 2)
                optuna.create_study().optimize(objective, n_trials=5, callbacks=[
                    OptunaCallback("kn/optuna", progress_channel="kn/failed", notify_channel="kn/notify")])
            """))
        kernel.execute("sw.flush(10)")
    early = next(iter(final_states(live_server, "kn/early").values()))
    assert early["status"] == "done" and early["n"] < 300
    failed = next(iter(final_states(live_server, "kn/failed").values()))
    assert (failed["status"], failed["message"], failed["n"]) == ("failed", "ZeroDivisionError: division by zero", 2)
    toasts = [e["data"] for e in events(live_server, "kn/notify", "notify")]
    assert [t["level"] for t in toasts] == ["success", "error"]
