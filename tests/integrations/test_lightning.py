"""The Lightning logger's and progress bar's hooks, driven in Lightning's order.

Lightning imports torch, which these tests do not install, so this drives the hook logic
(``_lightning_core``, which ``LightningLogger`` and ``LightningProgressBar`` mix into
Lightning's ``Logger`` and ``ProgressBar``) with a stand-in trainer holding the attributes
Lightning documents. It is not a run of Lightning itself.
"""

from __future__ import annotations

import pytest
from servers import JupyterServer

from .support import events, final_states, metrics, run_script

pytestmark = pytest.mark.slow

DRIVE = """
import sse_widgets as sw
from sse_widgets.integrations._lightning_core import LoggerCore, ProgressBarCore

class TrainerStandIn:
    def __init__(self, max_epochs, batches):
        self.max_epochs, self.num_training_batches = max_epochs, batches
        self.current_epoch, self.global_step, self.is_global_zero = 0, 0, True
        self.progress_bar_metrics = {}

def fit(trainer, bar, logger, fail_at=None):
    # Lightning's order: hparams, on_train_start, per epoch start/batches/end, on_train_end,
    # then logger.finalize("success"); on an exception on_exception then finalize("failed").
    try:
        logger.log_hyperparams({"lr": 0.01, "layers": [4, 8]})
        bar.on_train_start(trainer, None)
        for epoch in range(trainer.max_epochs):
            trainer.current_epoch = epoch
            bar.on_train_epoch_start(trainer, None)
            for i in range(trainer.num_training_batches):
                if trainer.global_step + 1 == fail_at:
                    raise ValueError("loss is NaN")
                trainer.global_step += 1
                trainer.progress_bar_metrics = {"loss": 1.0 / trainer.global_step, "v_num": 0}
                logger.log_metrics({"train_loss": 1.0 / trainer.global_step, "epoch": epoch}, step=trainer.global_step)
                bar.on_train_batch_end(trainer, None, None, None, i)
            logger.log_metrics({"val_loss": 0.5 / (epoch + 1)}, step=trainer.global_step)
            bar.on_train_epoch_end(trainer, None)
        bar.on_train_end(trainer, None)
        logger.finalize("success")
    except BaseException as exc:
        bar.on_exception(trainer, None, exc)
        logger.finalize("failed")
        raise
"""


def test_lightning_hooks_publish_points_hyperparameters_bars_and_a_toast(live_server: JupyterServer) -> None:
    run_script(DRIVE + """
fit(TrainerStandIn(2, 4), ProgressBarCore(progress_channel="pl/progress", notify_channel="pl/notify"), LoggerCore("pl/train"))
sw.flush(10)
""", live_server)
    points = metrics(live_server, "pl/train")
    assert [p["x"] for p in points if "train_loss" in p["values"]] == list(range(1, 9))
    assert [(p["x"], p["values"]["val_loss"]) for p in points if "val_loss" in p["values"]] == [(4, 0.5), (8, 0.25)]
    assert events(live_server, "pl/train", "hparams")[0]["data"] == {"lr": 0.01, "layers": [4, 8]}
    bars = {s["label"]: s for s in final_states(live_server, "pl/progress").values()}
    assert (bars["Lightning: epochs"]["n"], bars["Lightning: epochs"]["total"], bars["Lightning: epochs"]["status"]) == (2, 2, "done")
    assert (bars["epoch 2/2"]["n"], bars["epoch 2/2"]["total"], bars["epoch 2/2"]["status"]) == (4, 4, "done")
    assert bars["epoch 2/2"]["message"] == "loss=0.125, v_num=0"
    assert [e["data"]["level"] for e in events(live_server, "pl/notify", "notify")] == ["success"]


def test_lightning_on_exception_ends_the_bars_failed_with_the_message(live_server: JupyterServer) -> None:
    run_script(DRIVE + """
try:
    fit(TrainerStandIn(3, 4), ProgressBarCore(progress_channel="plf/progress", notify_channel="plf/notify"),
        LoggerCore("plf/train", notify_channel="plf/notify"), fail_at=6)
except ValueError:
    pass
sw.flush(10)
""", live_server)
    bars = {s["label"]: s for s in final_states(live_server, "plf/progress").values()}
    assert (bars["epoch 2/3"]["status"], bars["epoch 2/3"]["message"], bars["epoch 2/3"]["n"]) == ("failed", "ValueError: loss is NaN", 1)
    assert bars["Lightning: epochs"]["status"] == "failed"
    toasts = [e["data"] for e in events(live_server, "plf/notify", "notify")]
    assert [t["message"] for t in toasts] == ["Lightning failed: ValueError: loss is NaN", "Lightning failed"]


def test_the_public_lightning_classes_say_what_to_install_when_lightning_is_missing() -> None:
    import importlib.util

    if importlib.util.find_spec("lightning") is not None:
        pytest.skip("lightning is installed here")
    from sse_widgets import integrations

    with pytest.raises(ImportError, match=r"LightningLogger needs lightning, which is not installed"):
        integrations.LightningLogger  # noqa: B018
