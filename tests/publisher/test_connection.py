"""Discovery (environment, runtime files), connection_info, tickets, and what importing costs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sse_widgets.publisher as sw
from sse_widgets.protocol import verify_ticket
from sse_widgets.publisher import connection


def test_environment_comes_first_and_the_url_is_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSE_WIDGETS_URL", "http://127.0.0.1:8888/user/alice")
    monkeypatch.setenv("SSE_WIDGETS_KEY", "sekrit")
    conn = connection.current()
    assert conn is not None
    assert conn.url == "http://127.0.0.1:8888/user/alice/"
    assert conn.publish_url == "http://127.0.0.1:8888/user/alice/sse-widgets/api/publish"
    assert conn.headers() == {"X-SSE-Widgets-Key": "sekrit"}


def test_a_jupyter_token_is_used_when_there_is_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSE_WIDGETS_URL", "http://host:1/")
    monkeypatch.setenv("JUPYTER_TOKEN", "tok")
    assert connection.current().headers() == {"Authorization": "token tok"}  # type: ignore[union-attr]


def write_runtime(directory: Path, name: str, pid: int, port: int, base_url: str = "/") -> None:
    info = {"base_url": base_url, "hostname": "localhost", "pid": pid, "port": port, "secure": False,
            "sock": "", "token": f"tok{port}", "url": f"http://localhost:{port}{base_url}"}  # fmt: skip
    (directory / f"jpserver-{name}.json").write_text(json.dumps(info))


def test_one_live_server_in_the_runtime_dir_is_used_with_its_token() -> None:
    runtime = Path(os.environ["JUPYTER_RUNTIME_DIR"])
    write_runtime(runtime, "1", os.getpid(), 8899, "/lab/")
    write_runtime(runtime, "2", 2**22 + 12345, 8900)  # a stale file: no such process
    conn = connection.current()
    assert conn is not None
    assert (conn.url, conn.token, conn.key) == ("http://127.0.0.1:8899/lab/", "tok8899", None)
    assert "runtime file" in conn.source


def test_two_live_servers_are_ambiguous_so_none_is_chosen() -> None:
    runtime = Path(os.environ["JUPYTER_RUNTIME_DIR"])
    write_runtime(runtime, "1", os.getpid(), 8899)
    write_runtime(runtime, "2", os.getppid(), 8900)
    assert connection.current() is None
    assert "no hub" in str(sw.connection_info())


@pytest.mark.parametrize("url", ["", "127.0.0.1:8888", "ftp://h/", "http:///x", "http://h:99999/", "http://h/?token=x"])
def test_bad_urls_are_refused_with_a_reason(url: str) -> None:
    with pytest.raises(ValueError, match="hub URL"):
        connection.normalise_url(url)


def test_connection_info_hides_the_key_unless_asked() -> None:
    info = sw.connect("http://127.0.0.1:1/base", "sekrit")
    assert "sekrit" not in str(info) and "export SSE_WIDGETS_URL=http://127.0.0.1:1/base/" in str(info)
    shown = sw.connection_info(show_key=True)
    assert "export SSE_WIDGETS_KEY=sekrit" in str(shown)
    assert shown.exports() == {"SSE_WIDGETS_URL": "http://127.0.0.1:1/base/", "SSE_WIDGETS_KEY": "sekrit"}
    assert (shown.auth, shown.source) == ("key", "connect()")


def test_tickets_verify_with_the_key_and_need_one() -> None:
    sw.connect("http://127.0.0.1:1/", "sekrit")
    assert verify_ticket("sekrit", sw.ticket("train", ttl=60)) == ["train"]
    assert verify_ticket("sekrit", sw.ticket(["a", "jobs/*"])) == ["a", "jobs/*"]
    with pytest.raises(ValueError, match="ttl"):
        sw.ticket("train", ttl=0)
    sw.connect("http://127.0.0.1:1/", token="tok")
    with pytest.raises(ValueError, match="signed with the publish key"):
        sw.ticket("train")


def test_importing_the_publisher_loads_no_server_or_widget_library() -> None:
    code = (
        "import sys, sse_widgets, sse_widgets.publisher, sse_widgets.cli;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tornado', 'jupyter_server', 'anywidget', 'traitlets', 'IPython'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sw_publish_is_the_function_even_after_the_subpackage_is_imported() -> None:
    code = "import sse_widgets as sw, sse_widgets.publisher; print(callable(sw.publish), callable(sw.metric))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True True"
