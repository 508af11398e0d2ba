"""Widget hosts (publisher/hosts.py): which runtime carries a process's widget messages, and when it is asked."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import sse_widgets as sw
from sse_widgets.publisher import _process, hosts
from sse_widgets.publisher.local import LocalTransport


class SwitchableHost:
    """A host that is present only while ``on`` (marimo's context is per thread)."""

    name = "a test host"
    runtime = "sse_widgets"  # loaded: a host may appear, so every call asks again

    def __init__(self) -> None:
        self.on = False
        self.sent: list[dict[str, Any]] = []

    def present(self) -> bool:
        return self.on

    def send(self, widget: Any, content: dict[str, Any], payload: bytes) -> bool:
        self.sent.append(content)
        return True


def test_a_process_that_first_published_outside_its_host_feeds_its_widgets_once_inside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`marimo run` runs sessions as threads of one process: a plain thread may publish
    first (no marimo context there), which used to settle "no hub, no widgets" for good."""
    host = SwitchableHost()
    monkeypatch.setattr(hosts, "HOSTS", (host,))
    with pytest.warns(sw.SSEWidgetsWarning, match="no hub"):
        sw.metric("train", x=0, loss=1.0)
    assert _process.transport() is None
    host.on = True
    local = _process.local()
    assert isinstance(local, LocalTransport) and local.host is host
    assert _process.transport() is local
    host.on = False
    assert _process.transport() is local, "decided for the process, not per call"


def test_hosts_are_asked_in_order_and_none_is_present_in_a_plain_process() -> None:
    assert [type(h).__name__ for h in hosts.HOSTS] == ["IPythonKernel", "Marimo"]
    assert hosts.current() is None


def test_marimo_is_a_host_only_inside_its_notebook_runtime_and_is_never_imported() -> None:
    pytest.importorskip("marimo")
    code = (
        "import sys\n"
        "from sse_widgets.publisher import hosts\n"
        "print(hosts.Marimo().present(), 'marimo' in sys.modules)\n"
        "import marimo\n"
        "print(hosts.Marimo().present())\n"  # loaded, but this is no marimo kernel
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_a_closed_marimo_comm_means_the_widgets_frontend_is_gone() -> None:
    class Comm:
        _closed = True

    class Widget:
        comm = Comm()

        def send(self, content: Any, buffers: Any) -> None:
            raise AssertionError("sent to a closed comm")

    assert hosts.Marimo().send(Widget(), {"kind": "events"}, b"[]") is False
    Widget.comm._closed = False
    with pytest.raises(AssertionError, match="closed comm"):
        hosts.Marimo().send(Widget(), {"kind": "events"}, b"[]")
