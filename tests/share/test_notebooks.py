"""Every notebook in notebooks/ runs top to bottom with nbclient and publishes to a real hub.

Each notebook gets a Jupyter server of its own (so that channel counts are exact) and a
kernel whose environment points at it, as a kernel that server started would have; the
test then reads what arrived from the hub's channel listing and history.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from servers import JupyterServer
from share_support import NOTEBOOKS, PRODUCER, clean_env, last_progress

pytestmark = [pytest.mark.slow]


def run_notebook(path: Path, server: JupyterServer) -> Any:
    """Execute ``path`` in a fresh kernel publishing to ``server``; return the executed notebook."""
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute(env=clean_env(**server.env))
    return book


def channels(server: JupyterServer) -> dict[str, int]:
    """Retained events per channel."""
    return {c["name"]: c["retained"] for c in server.api("GET", "sse-widgets/api/channels")["channels"]}


def events(server: JupyterServer, channel: str) -> list[dict[str, Any]]:
    return list(server.api("GET", f"sse-widgets/api/channels/{channel}/events?limit=10000")["events"])


def outputs_text(book: Any) -> str:
    return "".join(o.get("text", "") for cell in book.cells if cell.cell_type == "code"
                   for o in cell.outputs)


def check_quickstart(server: JupyterServer, book: Any) -> None:
    counts = channels(server)
    assert set(counts) == {"quickstart/train", "progress", "notify"}
    assert (counts["quickstart/train"], counts["notify"]) == (200, 1)
    xs = [e["data"]["x"] for e in events(server, "quickstart/train")]
    assert xs == list(range(200))
    tasks = last_progress(events(server, "progress"))
    labels = sorted(t["label"] for t in tasks.values())
    assert labels == ["epoch 1", "epoch 2", "epoch 3", "epochs"]
    assert all(t["status"] == "done" for t in tasks.values())
    epochs = next(t for t in tasks.values() if t["label"] == "epochs")
    assert all(t["parent"] == epochs["task"] for t in tasks.values() if t is not epochs)
    assert "0 undelivered" in outputs_text(book)


def check_training(server: JupyterServer, book: Any) -> None:
    counts = channels(server)
    # 20 batches per epoch, 8 epochs, plus one validation point per epoch.
    assert counts["training/curves"] == 8 * 20 + 8
    assert counts["training/schedule"] == 8 * 20
    assert counts["notify"] == 8 + 1
    curves = events(server, "training/curves")
    val = [e["data"]["values"] for e in curves if "val_loss" in e["data"]["values"]]
    assert len(val) == 8 and val[-1]["val_accuracy"] > 0.8, val
    tasks = last_progress(events(server, "progress"))
    by_label = {t["label"]: t for t in tasks.values()}
    assert by_label["training"]["status"] == "done" and by_label["training"]["n"] == 8
    assert by_label["a run with a bad batch"]["status"] == "failed"
    assert by_label["a run with a bad batch"]["message"] == "FloatingPointError: loss is NaN at batch 20"
    assert by_label["a run with a bad batch"]["n"] == 20
    levels = [e["data"]["level"] for e in events(server, "notify")]
    assert levels[-1] == "error" and "success" in levels


def check_parallel(server: JupyterServer, book: Any) -> None:
    tasks = last_progress(events(server, "progress"))
    jobs = {t["label"]: t for t in tasks.values() if t["parent"] is None}
    assert set(jobs) == {"multiprocessing.Pool: 8 files", "joblib: 8 shards"}
    for job in jobs.values():
        assert (job["status"], job["n"]) == ("done", 8)
        children = [t for t in tasks.values() if t["parent"] == job["task"]]
        assert len(children) == 8, children
        assert all(c["status"] == "done" and c["n"] == c["total"] for c in children)
    pool = jobs["multiprocessing.Pool: 8 files"]["task"]
    assert {t["label"] for t in tasks.values() if t["parent"] == pool} == {f"file-{i:02d}.csv" for i in range(8)}
    assert channels(server)["notify"] == 2


def check_voila_dashboard(server: JupyterServer, book: Any) -> None:
    # The notebook only makes widgets; the producer, a separate process, feeds them.
    assert channels(server) == {}
    producer = subprocess.run(
        [sys.executable, str(PRODUCER), "--batches", "3", "--interval", "0"],
        env=clean_env(**server.env), check=False, capture_output=True, text=True, timeout=120,
    )
    assert producer.returncode == 0, producer.stderr
    counts = channels(server)
    assert counts["etl/throughput"] == 4 * 3
    assert counts["etl/notify"] == 4 + 1
    tasks = last_progress(events(server, "etl/progress"))
    assert {t: (s["status"], s["parent"]) for t, s in tasks.items()} == {
        "import": ("done", None),
        **{f"import/{s}": ("done", "import") for s in ("orders", "customers", "inventory", "payments")},
    }


def check_integrations(server: JupyterServer, book: Any) -> None:
    tasks = {t["label"]: t for t in last_progress(events(server, "progress")).values()}
    expected = {"thread_map": 8, "a library's tqdm.auto bar": 500, "Keras: epochs": 4,
                "LightGBM: rounds": 50, "XGBoost: rounds": 40, "Optuna: quadratic": 30,
                **{f"item {i}": 200 for i in range(8)}}  # fmt: skip
    for label, n in expected.items():
        assert (tasks[label]["status"], tasks[label]["n"], tasks[label]["total"]) == ("done", n, n), tasks[label]
    assert all(t["status"] == "done" for t in tasks.values()), tasks
    counts = channels(server)
    # Keras: 384 samples / 32 = 12 steps x 4 epochs + 4 validation points; 50 LightGBM and 40 XGBoost rounds
    assert (counts["train"], counts["optuna"]) == (48 + 4 + 50 + 40, 30)
    logged = [e["data"]["message"] for e in events(server, "logs") if e["data"]["logger"] == "pipeline"]
    assert logged == ["loaded 10000 rows", "3 rows had no label", "lookup failed"]
    toasts = [e["data"] for e in events(server, "notify")]
    assert [t["title"] for t in toasts] == ["Keras", "LightGBM", "XGBoost", "Optuna"]
    assert all(t["level"] == "success" for t in toasts)
    assert "0 undelivered" in outputs_text(book)


CHECKS: dict[str, Callable[[JupyterServer, Any], None]] = {
    "integrations": check_integrations,
    "quickstart": check_quickstart,
    "training_dashboard": check_training,
    "parallel_progress": check_parallel,
    "voila_dashboard": check_voila_dashboard,
}


def test_every_notebook_has_a_check() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_notebook_is_stored_without_outputs(name: str) -> None:
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(book)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_notebook_runs_and_publishes(name: str, start_server: Callable[..., JupyterServer]) -> None:
    server = start_server()
    book = run_notebook(NOTEBOOKS / f"{name}.ipynb", server)
    CHECKS[name](server, book)


def test_producer_without_a_hub_says_how_to_get_one(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(PRODUCER), "--batches", "1"],
        env=clean_env(JUPYTER_RUNTIME_DIR=str(tmp_path)), check=False, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "sse-widgets serve notebooks/voila_dashboard.ipynb" in result.stderr
