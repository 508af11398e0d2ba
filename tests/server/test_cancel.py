"""Stop from the dashboard, end to end: a real server, a real kernel, worker and script processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))

from kernel_client import Kernel
from servers import JupyterServer
from sse_client import SSEStream

from sse_widgets.protocol import KEY_HEADER, TICKET_HEADER, mint_ticket

pytestmark = pytest.mark.slow


def cancel(server: JupyterServer, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """POST sse-widgets/api/cancel; (status, JSON body)."""
    request = urllib.request.Request(
        server.url + "sse-widgets/api/cancel", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", **({KEY_HEADER: server.key} if headers is None else headers)},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_running(stream: SSEStream, task: str) -> None:
    stream.read(lambda evs: any(e.json["type"] == "progress" and e.json["data"]["task"] == task for e in evs), timeout=60)


def final_state(stream: SSEStream, task: str) -> dict[str, Any]:
    return final_states(stream, [task])[task]


def final_states(stream: SSEStream, tasks: list[str]) -> dict[str, dict[str, Any]]:
    """The final progress state of each of ``tasks``, read from the stream (which consumes it)."""
    def states(evs: list[Any]) -> dict[str, dict[str, Any]]:
        return {e.json["data"]["task"]: e.json["data"] for e in evs
                if e.json["type"] == "progress" and e.json["data"]["status"] != "running"}  # fmt: skip
    events = stream.read(lambda evs: set(tasks) <= set(states(evs)), timeout=60)
    return states(events)


def start_script(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], env={**clean, **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


LOOP = """
    import time
    import sse_widgets as sw
    try:
        for i in sw.progress(range(10**6), desc="long loop", channel="{channel}", task="{task}"):
            time.sleep(0.01)
    except sw.Cancelled as exc:
        print("caught", type(exc).__name__, exc, flush=True)
    print("after the loop", flush=True)
"""


def test_a_script_in_another_process_stops_when_the_dashboard_asks(live_server: JupyterServer) -> None:
    with SSEStream(live_server.url, ["c/script"], token=live_server.token) as stream:
        proc = start_script(LOOP.format(channel="c/script", task="loop"), live_server.env)
        try:
            wait_running(stream, "loop")
            status, body = cancel(live_server, {"channel": "c/script", "task": "loop"})
            assert (status, body["status"]) == (202, "stopping")
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
        state = final_state(stream, "loop")
    assert "caught Cancelled stopped from the dashboard" in out, err
    assert "after the loop" in out
    assert state["status"] == "cancelled" and state["message"] == "stopped from the dashboard"
    assert 0 < state["n"] < 10**6


def test_a_kernel_busy_in_a_cell_stops_and_stays_usable(live_server: JupyterServer) -> None:
    with Kernel(live_server) as kernel, SSEStream(live_server.url, ["c/kernel"], token=live_server.token) as stream:
        output: list[str] = []
        cell = threading.Thread(target=lambda: output.append(kernel.execute(textwrap.dedent(
            LOOP.format(channel="c/kernel", task="cell")), timeout=120)))  # fmt: skip
        cell.start()
        wait_running(stream, "cell")
        assert cancel(live_server, {"channel": "c/kernel", "task": "cell"})[0] == 202
        cell.join(120)
        assert "caught Cancelled stopped from the dashboard" in output[0]
        assert final_state(stream, "cell")["status"] == "cancelled"
        assert kernel.execute("print(6 * 7)").strip() == "42"


def test_nested_bars_stop_with_their_parent(live_server: JupyterServer) -> None:
    code = """
        import time
        import sse_widgets as sw
        try:
            for epoch in sw.progress(range(100), channel="c/nested", task="outer"):
                for batch in sw.progress(range(10**6), channel="c/nested", task=f"inner-{epoch}"):
                    time.sleep(0.01)
        except sw.Cancelled:
            print("stopped", flush=True)
    """
    with SSEStream(live_server.url, ["c/nested"], token=live_server.token) as stream:
        proc = start_script(code, live_server.env)
        try:
            wait_running(stream, "inner-0")
            assert cancel(live_server, {"channel": "c/nested", "task": "outer"})[0] == 202
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
        ended = final_states(stream, ["inner-0", "outer"])
        inner, outer = ended["inner-0"], ended["outer"]
    assert "stopped" in out, err
    assert inner["status"] == "cancelled" and outer["status"] == "cancelled"


def test_a_process_pool_worker_stops_and_the_pool_goes_on(live_server: JupyterServer) -> None:
    code = """
        import time
        from concurrent.futures import ProcessPoolExecutor
        import sse_widgets as sw

        def work(name):
            for i in sw.progress(range(10**6 if name == "slow" else 5), channel="c/pool", task=name):
                time.sleep(0.01)
            return name

        if __name__ == "__main__":
            with ProcessPoolExecutor(2) as pool:
                slow = pool.submit(work, "slow")
                print("slow:", type(slow.exception(timeout=60)).__name__, flush=True)
                print("next:", pool.submit(work, "quick").result(timeout=60), flush=True)
    """
    script = Path(live_server.root_dir) / "pool_job.py"
    script.write_text(textwrap.dedent(code))
    with SSEStream(live_server.url, ["c/pool"], token=live_server.token) as stream:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
        proc = subprocess.Popen([sys.executable, str(script)], env={**clean, **live_server.env},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            wait_running(stream, "slow")
            assert cancel(live_server, {"channel": "c/pool", "task": "slow"})[0] == 202
            out, err = proc.communicate(timeout=90)
        finally:
            proc.kill()
        assert final_state(stream, "slow")["status"] == "cancelled"
    assert "slow: Cancelled" in out, err
    assert "next: quick" in out
    assert proc.returncode == 0


def test_a_cancel_for_an_unknown_or_finished_task_is_refused_and_changes_nothing(live_server: JupyterServer) -> None:
    proc = start_script("""
        import sse_widgets as sw
        for i in sw.progress(range(3), channel="c/done", task="finished"):
            pass
    """, live_server.env)  # fmt: skip
    assert proc.wait(60) == 0
    status, body = cancel(live_server, {"channel": "c/done", "task": "nobody"})
    assert status == 404 and "no task 'nobody'" in body["message"]
    status, body = cancel(live_server, {"channel": "c/done", "task": "finished"})
    assert status == 409 and "already ended (done)" in body["message"]
    with SSEStream(live_server.url, ["c/done"], token=live_server.token, last_event_id="0") as stream:
        events = stream.read(lambda evs: any(e.json["data"].get("status") == "done" for e in evs), timeout=30)
    assert [e.json["type"] for e in events] == ["progress"] * len(events)  # no cancel event published
    status, body = cancel(live_server, {"task": 3})
    assert status == 400 and "task" in body["message"]


def test_who_may_stop_a_task(live_server: JupyterServer) -> None:
    proc = start_script(LOOP.format(channel="c/rights", task="t"), live_server.env)
    try:
        with SSEStream(live_server.url, ["c/rights"], token=live_server.token) as stream:
            wait_running(stream, "t")
        body = {"channel": "c/rights", "task": "t"}
        status, reply = cancel(live_server, body, {})
        assert status == 403 and "needs a Jupyter login" in reply["message"]
        bare = mint_ticket(live_server.key, ["c/*"], 60)
        status, reply = cancel(live_server, body, {TICKET_HEADER: bare})
        assert status == 403 and "without cancel=True" in reply["message"]
        other = mint_ticket(live_server.key, ["elsewhere"], 60, cancel=True)
        status, reply = cancel(live_server, body, {TICKET_HEADER: other})
        assert status == 403 and "does not cover channel 'c/rights'" in reply["message"]
        status, reply = cancel(live_server, body, {KEY_HEADER: "wrong"})
        assert status == 403
        assert proc.poll() is None  # none of those stopped it
        right = mint_ticket(live_server.key, ["c/*"], 60, cancel=True)
        assert cancel(live_server, body, {TICKET_HEADER: right}) == (
            202, {"status": "stopping", "channel": "c/rights", "task": "t"})  # fmt: skip
        # A second click while it stops changes nothing.
        status, reply = cancel(live_server, body, {"Authorization": f"token {live_server.token}"})
        assert status in (202, 409) and reply.get("status", "already stopping") == "already stopping"
        out, _ = proc.communicate(timeout=60)
        assert out.count("caught Cancelled") == 1
    finally:
        proc.kill()


def test_the_poll_runs_only_while_a_cancellable_task_runs(live_server: JupyterServer) -> None:
    proc = start_script("""
        import threading, time
        import sse_widgets as sw
        from sse_widgets.publisher import control
        print("before", control.watching())
        for i in sw.progress(range(3), channel="c/poll", task="opted-out", cancellable=False):
            print("opted out", control.watching())
        for i in sw.progress(range(3), channel="c/poll", task="t"):
            print("during", control.watching())
        for _ in range(100):  # the thread is cut when the last task ends, not after a poll
            if not control.watching():
                break
            time.sleep(0.05)
        print("after", control.watching(), [t.name for t in threading.enumerate() if "cancel" in t.name])
    """, live_server.env)  # fmt: skip
    out, err = proc.communicate(timeout=60)
    assert "before False" in out and "opted out False" in out and "during True" in out, err
    assert "after False []" in out
    with SSEStream(live_server.url, ["c/poll"], token=live_server.token, last_event_id="0") as stream:
        states = final_states(stream, ["opted-out", "t"])
    assert states["opted-out"]["cancellable"] is False and "cancellable" not in states["t"]


def test_a_manual_bar_hears_the_stop_through_on_cancel_and_cancel_requested(live_server: JupyterServer) -> None:
    code = """
        import threading, time
        import sse_widgets as sw
        heard = threading.Event()
        bar = sw.progress(total=10**6, channel="c/manual", task="m", on_cancel=lambda b: heard.set())
        bar.refresh()
        while not bar.cancel_requested:
            bar.update(1)
            time.sleep(0.01)
        print("heard", heard.wait(10), flush=True)
        bar.close()
    """
    with SSEStream(live_server.url, ["c/manual"], token=live_server.token) as stream:
        proc = start_script(code, live_server.env)
        try:
            wait_running(stream, "m")
            assert cancel(live_server, {"channel": "c/manual", "task": "m"})[0] == 202
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
        state = final_state(stream, "m")
    assert "heard True" in out, err
    assert (state["status"], state["message"]) == ("cancelled", "stopped from the dashboard")


def test_polling_for_stop_requests_needs_the_key_or_a_login(live_server: JupyterServer) -> None:
    """The poll tells which tasks are being stopped: no credential, no answer (the check
    is async; called without ``await`` it was always true and let everyone in)."""
    url = f"{live_server.url}sse-widgets/api/cancel?channel=c/poll&wait=0"
    for headers in ({}, {KEY_HEADER: "not-the-key"}):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30)
        assert refused.value.code == 403
    with urllib.request.urlopen(urllib.request.Request(url, headers={KEY_HEADER: live_server.key}),
                                timeout=30) as response:
        assert response.status == 200
