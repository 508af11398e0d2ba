"""TransformersCallback driven through transformers' own CallbackHandler, in the order Trainer
calls the hooks (Trainer itself needs torch, which these tests do not install)."""

from __future__ import annotations

import pytest
from servers import JupyterServer

from .support import events, final_states, metrics, run_script

pytestmark = pytest.mark.slow

DRIVE = """
import tempfile
import sse_widgets as sw
from transformers import TrainingArguments, TrainerState, TrainerControl
from transformers.trainer_callback import CallbackHandler, DefaultFlowCallback, ProgressCallback
from transformers.utils.notebook import NotebookProgressCallback
from sse_widgets.integrations import TransformersCallback


class TrainerStandIn:
    '''The part of Trainer that callbacks see: its handler and add/remove_callback.'''
    def __init__(self, args):
        self.args, self.state, self.control = args, TrainerState(), TrainerControl()
        self.callback_handler = CallbackHandler([DefaultFlowCallback, NotebookProgressCallback], None, None, None, None)
    def add_callback(self, callback):
        self.callback_handler.add_callback(callback)
    def remove_callback(self, callback):
        self.callback_handler.remove_callback(callback)

    def train(self, epochs=2, steps_per_epoch=3, fail_at=None):
        # As Trainer._inner_training_loop: hooks in its order, flow decided by DefaultFlowCallback.
        h, args, state = self.callback_handler, self.args, self.state
        state.max_steps, state.num_train_epochs = epochs * steps_per_epoch, epochs
        state.logging_steps, state.eval_steps, state.save_steps = args.logging_steps, args.eval_steps, args.save_steps
        self.control = h.on_train_begin(args, state, self.control)
        for epoch in range(epochs):
            self.control = h.on_epoch_begin(args, state, self.control)
            for step in range(steps_per_epoch):
                self.control = h.on_step_begin(args, state, self.control)
                if state.global_step + 1 == fail_at:
                    raise RuntimeError("CUDA out of memory")
                state.global_step += 1
                state.epoch = epoch + (step + 1) / steps_per_epoch
                self.control = h.on_step_end(args, state, self.control)
                if self.control.should_log:
                    self.log({"loss": 1.0 / state.global_step, "grad_norm": 0.5, "learning_rate": 1e-3})
            self.control = h.on_epoch_end(args, state, self.control)
            if self.control.should_evaluate:
                metrics = {"eval_loss": 0.9 / (epoch + 1), "eval_runtime": 0.1}
                self.log(dict(metrics))
                self.control = h.on_evaluate(args, state, self.control, metrics)
        self.control = h.on_train_end(args, state, self.control)

    def log(self, logs):
        logs["epoch"] = self.state.epoch
        self.control = self.callback_handler.on_log(self.args, self.state, self.control, logs)
        self.control.should_log = False


args = TrainingArguments(output_dir=tempfile.mkdtemp(), report_to=[], logging_steps=2, eval_strategy="epoch", num_train_epochs=2)
"""


def test_trainer_hooks_publish_logs_eval_metrics_bars_and_replace_the_notebook_progress(live_server: JupyterServer) -> None:
    out = run_script(DRIVE + """
trainer = TrainerStandIn(args)
cb = TransformersCallback("tf/train", progress_channel="tf/progress", notify_channel="tf/notify").attach(trainer)
print(sorted(type(c).__name__ for c in trainer.callback_handler.callbacks))
trainer.train()
sw.flush(10)
""", live_server)
    assert out.strip() == "['DefaultFlowCallback', 'TransformersCallback']"
    points = metrics(live_server, "tf/train")
    train_points = [p for p in points if "loss" in p["values"]]
    assert [p["x"] for p in train_points] == [2, 4, 6]
    assert train_points[0]["values"] == {"loss": 0.5, "grad_norm": 0.5, "learning_rate": 0.001, "epoch": pytest.approx(2 / 3)}
    eval_points = [p for p in points if "eval_loss" in p["values"]]
    # once per evaluation, although Trainer both logs and hands the metrics to on_evaluate
    assert [(p["x"], p["values"]["eval_loss"]) for p in eval_points] == [(3, 0.9), (6, 0.45)]
    bars = {s["label"]: s for s in final_states(live_server, "tf/progress").values()}
    assert (bars["Trainer: epochs"]["n"], bars["Trainer: epochs"]["total"], bars["Trainer: epochs"]["status"]) == (2, 2, "done")
    assert (bars["steps"]["n"], bars["steps"]["total"], bars["steps"]["parent"]) == (6, 6, bars["Trainer: epochs"]["task"])
    assert events(live_server, "tf/notify", "notify")[-1]["data"]["level"] == "success"


def test_a_trainer_run_stopped_by_an_exception_ends_failed_and_other_ranks_publish_nothing(live_server: JupyterServer) -> None:
    run_script(DRIVE + """
rank1 = TrainerStandIn(args)
rank1.state.is_world_process_zero = False
TransformersCallback("tfr/train", progress_channel="tfr/progress", notify_channel="tfr/notify").attach(rank1)
rank1.train()
trainer = TrainerStandIn(args)
TransformersCallback("tff/train", progress_channel="tff/progress", notify_channel="tff/notify").attach(trainer)
trainer.train(fail_at=5)
""", live_server, expect_failure=True)
    assert events(live_server, "tfr/train") == events(live_server, "tfr/progress") == []
    bars = {s["label"]: s for s in final_states(live_server, "tff/progress").values()}
    assert (bars["steps"]["status"], bars["steps"]["message"], bars["steps"]["n"]) == ("failed", "RuntimeError: CUDA out of memory", 4)
    assert bars["Trainer: epochs"]["status"] == "failed"
    assert events(live_server, "tff/notify", "notify")[-1]["data"]["level"] == "error"
