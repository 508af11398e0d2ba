"""KerasCallback: a tiny model fitted for a few epochs on the JAX backend, read back from the hub."""

from __future__ import annotations

import pytest
from servers import JupyterServer

from .support import events, final_states, metrics, run_script

pytestmark = pytest.mark.slow

FIT = """
import numpy as np
import keras
import sse_widgets as sw
from sse_widgets.integrations import KerasCallback

assert keras.backend.backend() == "jax"
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""


def test_a_keras_fit_publishes_a_point_per_step_validation_per_epoch_bars_and_a_toast(live_server: JupyterServer) -> None:
    run_script(FIT + """
callback = KerasCallback("k/train", progress_channel="k/progress", notify_channel="k/notify")
model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0, callbacks=[callback])
sw.flush(10)
""", live_server)
    points = metrics(live_server, "k/train")
    steps = [p for p in points if "loss" in p["values"]]
    validation = [p for p in points if "val_loss" in p["values"]]
    # 48 training samples in batches of 16: 3 steps per epoch, 3 epochs
    assert [p["x"] for p in steps] == list(range(1, 10))
    assert all(isinstance(p["values"]["loss"], float) and "accuracy" in p["values"] for p in steps)
    assert [p["x"] for p in validation] == [3, 6, 9]
    assert set(validation[0]["values"]) == {"val_loss", "val_accuracy"}
    bars = {s["label"]: s for s in final_states(live_server, "k/progress").values()}
    epochs = bars["Keras: epochs"]
    assert (epochs["n"], epochs["total"], epochs["status"]) == (3, 3, "done")
    assert "val_loss=" in epochs["message"]
    steps_bar = bars["epoch 3/3"]
    assert (steps_bar["n"], steps_bar["total"], steps_bar["status"], steps_bar["parent"]) == (3, 3, "done", epochs["task"])
    toast = events(live_server, "k/notify", "notify")[-1]["data"]
    assert toast["level"] == "success" and toast["title"] == "Keras" and toast["message"].startswith("Keras finished: ")


def test_a_keras_fit_stopped_by_an_exception_ends_failed_with_its_message(live_server: JupyterServer) -> None:
    out = run_script(FIT + """
def boom(epoch, logs):
    if epoch == 1:
        raise RuntimeError("diverged at epoch 2")

callback = KerasCallback("kf/train", progress_channel="kf/progress", notify_channel="kf/notify")
try:
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[callback, keras.callbacks.LambdaCallback(on_epoch_end=boom)])
except RuntimeError:
    print("caught")
sw.flush(10)
# An uncaught exception, as in a script that dies: the excepthook ends the run with its message.
callback2 = KerasCallback("kf/train", progress_channel="kf/progress2", notify_channel="kf/notify")
model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[callback2, keras.callbacks.LambdaCallback(on_epoch_end=boom)])
""", live_server, expect_failure=True)
    assert out.startswith("caught")
    first = {s["label"]: s for s in final_states(live_server, "kf/progress").values()}
    # caught by the caller: the end hook never came, so the script's end says how it stopped
    assert first["Keras: epochs"]["status"] == "failed"
    second = {s["label"]: s for s in final_states(live_server, "kf/progress2").values()}
    assert second["Keras: epochs"]["status"] == "failed"
    assert second["Keras: epochs"]["message"] == "RuntimeError: diverged at epoch 2"
    assert second["Keras: epochs"]["n"] == 2  # the failing callback ran after ours at the end of epoch 2
    assert second["epoch 2/3"]["status"] == "failed"
    toasts = [e["data"] for e in events(live_server, "kf/notify", "notify")]
    assert toasts[-1]["level"] == "error" and toasts[-1]["message"] == "Keras failed: RuntimeError: diverged at epoch 2"
