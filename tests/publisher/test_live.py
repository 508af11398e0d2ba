"""Against a real Jupyter server and real kernels: what a user sees in a notebook, a pool, a script, a shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))

from kernel_client import Kernel, KernelError
from servers import JupyterServer
from sse_client import SSEStream

pytestmark = pytest.mark.slow


def retained(server: JupyterServer, channel: str) -> list[dict[str, Any]]:
    """Every retained event of ``channel``, read back through the stream (a real subscriber)."""
    count = next((c["retained"] for c in server.api("GET", "sse-widgets/api/channels")["channels"] if c["name"] == channel), 0)
    if not count:
        return []
    with SSEStream(server.url, [channel], token=server.token, last_event_id="0") as stream:
        return [e.json for e in stream.read_count(count, timeout=30)]


def run_script(code: str, env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
    return subprocess.run(
        [sys.executable, *(["-c", textwrap.dedent(code)] if code else []), *args],
        env={**clean, **env}, capture_output=True, text=True, timeout=120, input=stdin, check=False,
    )  # fmt: skip


def test_a_kernel_cell_with_progress_and_metrics_reaches_a_subscriber_in_order(live_server: JupyterServer) -> None:
    with Kernel(live_server) as kernel, SSEStream(live_server.url, ["k/progress", "k/train"], token=live_server.token) as stream:
        kernel.execute(textwrap.dedent("""
            import time
            import sse_widgets.publisher as sw
            for step in sw.progress(range(20), desc="epoch 1", channel="k/progress", task="epoch1"):
                time.sleep(0.02)
                sw.metric("k/train", x=step, loss=1 / (step + 1))
        """))
        events = [e.json for e in stream.read(lambda evs: any('"done"' in e.data for e in evs), timeout=30)]
    metrics = [e["data"]["x"] for e in events if e["channel"] == "k/train"]
    bars = [e["data"] for e in events if e["channel"] == "k/progress"]
    assert metrics == list(range(20))
    assert [b["n"] for b in bars] == sorted(b["n"] for b in bars) and len(bars) >= 2
    assert bars[-1]["status"] == "done" and bars[-1]["n"] == 20 and bars[-1]["total"] == 20
    assert all(b["status"] == "running" for b in bars[:-1])
    ids = [int(e["id"].split("-")[1]) for e in events]
    assert ids == sorted(ids)


def test_a_raising_loop_in_a_kernel_ends_failed_with_the_exception_message(live_server: JupyterServer) -> None:
    with Kernel(live_server) as kernel:
        with pytest.raises(KernelError, match="ValueError"):
            kernel.execute(textwrap.dedent("""
                import sse_widgets.publisher as sw
                for i in sw.progress(range(10), channel="k/fail", task="boom"):
                    if i == 5:
                        raise ValueError("bad batch 5")
            """))
        kernel.execute("sw.flush(10)")
    states = [e["data"] for e in retained(live_server, "k/fail")]
    assert states[-1]["status"] == "failed"
    assert states[-1]["message"] == "ValueError: bad batch 5"
    assert states[-1]["n"] == 5


def test_a_pool_of_four_workers_brings_four_tasks_to_their_totals(live_server: JupyterServer) -> None:
    with Kernel(live_server) as kernel:
        kernel.execute(textwrap.dedent("""
            import multiprocessing, time
            import sse_widgets.publisher as sw

            def work(i):
                for _ in sw.progress(range(50 + i), channel="k/pool", task=f"worker{i}"):
                    time.sleep(0.001)
                return i

            with multiprocessing.Pool(4) as pool:
                assert sorted(pool.map(work, range(4))) == [0, 1, 2, 3]
        """), timeout=120)
    final = {}
    for event in retained(live_server, "k/pool"):
        final[event["data"]["task"]] = event["data"]
    assert sorted(final) == ["worker0", "worker1", "worker2", "worker3"]
    for i in range(4):
        assert (final[f"worker{i}"]["n"], final[f"worker{i}"]["total"], final[f"worker{i}"]["status"]) == (50 + i, 50 + i, "done")


def test_with_the_hub_stopped_100k_metrics_finish_warn_once_and_stay_bounded(start_server: Any) -> None:
    server = start_server()
    env = dict(server.env)
    server.stop()
    result = run_script(
        """
        import tracemalloc, warnings
        import sse_widgets.publisher as sw
        from sse_widgets import SSEWidgetsWarning
        tracemalloc.start()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i in range(100_000):
                sw.metric("train", x=i, loss=0.5)
        peak = tracemalloc.get_traced_memory()[1]
        report = sw.flush(2)
        print(sum(issubclass(w.category, SSEWidgetsWarning) for w in caught), peak, report.undelivered,
              sum(report.dropped.values()))
        print(caught[0].message)
        """,
        env,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    warned, peak, undelivered, dropped = map(int, lines[0].split())
    assert warned == 1
    assert "cannot reach the hub" in lines[1]
    assert peak < 40 << 20
    assert undelivered + dropped == 100_000 and undelivered <= 11_000


def test_a_script_finds_the_one_running_server_through_its_runtime_file(live_server: JupyterServer) -> None:
    runtime = live_server.process_env["JUPYTER_RUNTIME_DIR"]
    result = run_script(
        """
        import sse_widgets.publisher as sw
        print(sw.connection_info().source)
        for _ in sw.progress(range(3), channel="k/found", task="found"):
            pass
        print(sw.flush(10).ok)
        """,
        {"JUPYTER_RUNTIME_DIR": runtime},
    )
    assert result.returncode == 0, result.stderr
    assert "runtime file" in result.stdout and result.stdout.rstrip().endswith("True")
    assert retained(live_server, "k/found")[-1]["data"]["status"] == "done"


def test_tickets_minted_in_a_process_open_the_stream(live_server: JupyterServer) -> None:
    result = run_script("import sse_widgets.publisher as sw; print(sw.ticket(['k/tick/*'], ttl=60))", live_server.env)
    ticket = result.stdout.strip()
    run_script("import sse_widgets.publisher as sw; sw.publish('k/tick/a', {'v': 1}); sw.flush(10)", live_server.env)
    with SSEStream(live_server.url, ["k/tick/a"], tickets=[ticket], last_event_id="0") as stream:
        assert stream.status == 200
        assert stream.read_count(1, timeout=10)[0].json["data"] == {"v": 1}


CLI = ["-m", "sse_widgets.cli"]


def test_cli_round_trips_publish_notify_and_progress(live_server: JupyterServer) -> None:
    env = live_server.env
    assert run_script("", env, *CLI, "publish", "k/cli", "--data", '{"a": 1}').returncode == 0
    lines = '{"b": 2}\n\n[3]\n'
    assert run_script("", env, *CLI, "publish", "k/cli", "--type", "row", stdin=lines).returncode == 0
    assert run_script("", env, *CLI, "notify", "built", "--level", "success", "--channel", "k/cli-n").returncode == 0
    assert run_script("", env, *CLI, "progress", "--task", "sh", "--n", "3", "--total", "10", "--channel", "k/cli-p").returncode == 0
    piped = run_script("", env, *CLI, "progress", "--task", "pipe", "--total", "4", "--channel", "k/cli-p", stdin="a\nb\nc\nd\n")
    assert piped.returncode == 0 and piped.stdout == "a\nb\nc\nd\n"
    assert [(e["type"], e["data"]) for e in retained(live_server, "k/cli")] == [
        ("message", {"a": 1}), ("row", {"b": 2}), ("row", [3]),
    ]  # fmt: skip
    toast = retained(live_server, "k/cli-n")[0]["data"]
    assert (toast["level"], toast["message"]) == ("success", "built")
    bars = {e["data"]["task"]: e["data"] for e in retained(live_server, "k/cli-p")}
    assert (bars["sh"]["n"], bars["sh"]["total"], bars["sh"]["status"]) == (3, 10, "running")
    assert (bars["pipe"]["n"], bars["pipe"]["status"]) == (4, "done")


def test_cli_fails_clearly_when_the_hub_refuses_or_is_away(live_server: JupyterServer) -> None:
    wrong = run_script("", live_server.env, *CLI, "notify", "x", "--key", "not-the-key")
    assert wrong.returncode == 1 and "refused the credential" in wrong.stderr
    away = run_script("", {}, *CLI, "notify", "x", "--url", "http://127.0.0.1:9/", "--key", "k")
    assert away.returncode == 1 and "cannot reach the hub" in away.stderr
    bad = run_script("", live_server.env, *CLI, "publish", "k/cli", "--data", "{nope")
    assert bad.returncode == 2 and "--data is not valid JSON" in bad.stderr
    info = run_script("", live_server.env, *CLI, "info")
    assert info.returncode == 0 and live_server.key not in info.stdout and "SSE_WIDGETS_URL" in info.stdout
    assert json.dumps(live_server.url)[1:-1] in info.stdout


def test_the_kernels_probe_finds_the_hub_and_says_why_when_there_is_none(live_server: JupyterServer) -> None:
    from sse_widgets.publisher.connection import Connection
    from sse_widgets.publisher.hubclient import probe

    assert probe(Connection(live_server.url)) is None  # answered without credentials
    missing = probe(Connection(live_server.url + "nowhere/"))
    assert missing is not None and "no sse-widgets extension" in missing and "404" in missing
    away = probe(Connection("http://127.0.0.1:9/"), timeout=2)
    assert away is not None and "cannot reach" in away
