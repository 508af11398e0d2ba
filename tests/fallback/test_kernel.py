"""The comm path in a real ipykernel with no hub: what a widget's frontend receives over IOPub.

The kernel is started by jupyter_client, without a Jupyter server, in an environment with
no SSE_WIDGETS_* and an empty runtime directory, as a VS Code or Colab kernel would be.
These tests read the raw IOPub messages, so they check the protocol itself: one custom
message per tick, envelopes in a binary buffer, events from threads, replay on request.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

pytestmark = pytest.mark.slow


class LocalKernel:
    """A python3 kernel with no hub; ``run`` executes code and returns its IOPub messages."""

    def __init__(self, tmp: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
        env.update(JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), IPYTHONDIR=str(tmp / "ipython"))
        self.manager = jupyter_client.KernelManager(kernel_name="python3")
        self.manager.start_kernel(env=env, cwd=str(tmp))
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 120) -> tuple[str, list[dict[str, Any]]]:
        """Run ``code``; return (stdout, every IOPub message up to its idle)."""
        msg_id = self.client.execute(textwrap.dedent(code))
        messages = []
        while True:
            msg = self.client.get_iopub_msg(timeout=timeout)
            messages.append(msg)
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"):
                break
        errors = [m["content"] for m in messages if m["msg_type"] == "error"]
        if errors:
            raise AssertionError("\n".join(errors[0]["traceback"]))
        stdout = "".join(m["content"]["text"] for m in messages
                         if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")
        return stdout, messages

    def send_custom(self, comm_id: str, content: dict[str, Any]) -> None:
        """What a widget's frontend does with ``model.send(content)``."""
        msg = self.client.session.msg(
            "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}})
        self.client.shell_channel.send(msg)

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKernel]:
    k = LocalKernel(tmp_path_factory.mktemp("kernel"))
    try:
        yield k
    finally:
        k.stop()


def custom_messages(messages: list[dict[str, Any]], comm_id: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(content, events) of each events message sent to the widget ``comm_id``."""
    out = []
    for m in messages:
        if m["msg_type"] != "comm_msg" or m["content"]["comm_id"] != comm_id:
            continue
        data = m["content"]["data"]
        if data.get("method") == "custom" and data["content"].get("kind") == "events":
            out.append((data["content"], json.loads(bytes(m["buffers"][0]))))
    return out


def test_without_widgets_nothing_heavy_is_imported_and_a_widget_made_later_catches_up(kernel: LocalKernel) -> None:
    out, _ = kernel.run("""
        import sys
        import sse_widgets as sw
        for i in range(5):
            sw.metric("late/train", x=i, loss=i / 10)
        sw.flush(10)
        print(sorted(m for m in ("anywidget", "ipywidgets") if m in sys.modules))
        print(sw.connection_info())
    """)
    first, info = out.splitlines()[:2]
    assert first == "[]"
    assert "this kernel's widgets over their comm" in info and "no hub configured" in info
    out, messages = kernel.run("""
        from sse_widgets import publish
        chart = sw.LiveChart("late/train")
        publish("late/train", {"after": True})  # not a metric: the chart ignores it, the comm carries it
        sw.flush(10)
        print(chart.model_id, chart.transport)
    """)
    comm_id, transport = out.split()
    assert transport == "comm"
    sent = custom_messages(messages, comm_id)
    assert sent[0][0]["replay"] is True and sent[0][0]["n"] == 0
    events = [e for _, evs in sent for e in evs]
    assert [e["data"].get("x") for e in events[:5]] == [0, 1, 2, 3, 4]
    assert events[-1]["data"] == {"after": True}
    ids = [int(e["id"].rsplit("-", 1)[1]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == 6


def test_events_published_from_a_thread_arrive_while_the_cell_still_runs(kernel: LocalKernel) -> None:
    out, messages = kernel.run("""
        import threading
        import sse_widgets as sw
        chart = sw.LiveChart("thread/train")
        def work():
            for i in range(50):
                sw.metric("thread/train", x=i, loss=1 / (i + 1))
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        sw.flush(10)  # returns once the sender thread has handed them to IOPub
        print(chart.model_id)
        print("cell still running")
    """)
    comm_id = out.split()[0]
    order = [m for m in messages if (m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id)
             or (m["msg_type"] == "stream" and "cell still running" in m["content"]["text"])]
    events = [e for _, evs in custom_messages(messages, comm_id) for e in evs]
    assert [e["data"]["x"] for e in events] == list(range(50))
    # They left the kernel before the cell's own later output: no wait for the cell to end.
    last_events = max(i for i, m in enumerate(order) if m["msg_type"] == "comm_msg")
    printed = next(i for i, m in enumerate(order) if m["msg_type"] == "stream")
    assert last_events < printed


def test_100k_metrics_in_a_loop_take_few_messages_and_end_with_the_last_point(kernel: LocalKernel) -> None:
    out, messages = kernel.run("""
        import sse_widgets as sw
        from sse_widgets.publisher import _process
        from sse_widgets.publisher.local import TICK_EVENTS
        fast = sw.LiveChart("loop/fast")
        pacer = _process.local()
        # The pacer's clock stands still during the loop, so however slow this machine is,
        # the loop's calls wait for the same tick (time is not what is under test here).
        frozen = pacer.clock()
        real, pacer.clock = pacer.clock, lambda: frozen
        for i in range(100_000):
            sw.metric("loop/fast", x=i, v=i * 2)
        pacer.clock = real
        report = sw.flush(60)
        print(fast.model_id, report.delivered, sum(report.dropped.values()), TICK_EVENTS)
    """)
    comm_id, delivered, dropped, tick_events = out.split()
    sent = custom_messages(messages, comm_id)
    events = [e for _, evs in sent for e in evs]
    assert int(delivered) + int(dropped) == 100_000
    assert events[-1]["data"] == {"x": 99_999, "values": {"v": 199_998}}
    xs = [e["data"]["x"] for e in events]
    assert xs == sorted(xs)
    # Batched: the replay, at most one tick that began before the clock stood still, then
    # the queued calls in ticks of up to TICK_EVENTS; not one message per call.
    assert len(sent) <= 2 + -(-100_000 // int(tick_events))
    # Nothing else on IOPub grows with the calls: the widget's comms opening, the print.
    others = [m["msg_type"] for m in messages if m["msg_type"] not in ("status", "execute_input", "comm_msg")]
    assert others.count("stream") == 1 and set(others) == {"comm_open", "stream"}
    comm_msgs = [m for m in messages if m["msg_type"] == "comm_msg"]
    assert len(comm_msgs) - len(sent) <= others.count("comm_open")  # at most a state update each


def test_a_frontend_that_asks_gets_the_history_again(kernel: LocalKernel) -> None:
    out, _ = kernel.run("""
        import sse_widgets as sw
        board = sw.ProgressBoard("ask/jobs")
        for _ in sw.progress(range(3), channel="ask/jobs", task="t"):
            pass
        sw.flush(10)
        print(board.model_id)
    """)
    comm_id = out.strip()
    kernel.send_custom(comm_id, {"kind": "subscribe"})  # handled before the next cell
    _, messages = kernel.run("""
        sw.publish("ask/jobs", {"marker": 1}, type="note")
        sw.flush(10)
    """)
    sent = custom_messages(messages, comm_id)
    replay = next((c, evs) for c, evs in sent if c["replay"])
    assert replay[0]["gen"] == 1 and replay[0]["n"] == 0
    assert [e["data"].get("status") for e in replay[1] if e["type"] == "progress"][-1] == "done"
    assert replay[1][-1]["data"] == {"marker": 1}


def test_a_forked_worker_of_the_kernel_publishes_as_any_worker_does(kernel: LocalKernel) -> None:
    out, _ = kernel.run("""
        import multiprocessing
        import sse_widgets as sw
        from sse_widgets.publisher import _process

        def child(queue):
            queue.put(repr(_process.transport()))  # the kernel's comm is not the child's

        sw.flush(1)
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        worker = context.Process(target=child, args=(queue,))
        worker.start()
        print(queue.get(timeout=30))
        worker.join(30)
        print(type(_process.transport()).__name__)
    """)
    assert out.split() == ["None", "LocalTransport"]
