"""The sse-widgets command's parsing and failure modes (round trips are in test_live.py)."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from sse_widgets import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        status = cli.main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "COMMAND"),
        (("frobnicate",), "invalid choice"),
        (("publish",), "required: channel"),
        (("notify", "hi", "--level", "loud"), "invalid choice: 'loud'"),
        (("progress", "--n", "3"), "--task is required"),
        (("progress", "--status", "finished", "--task", "t"), "invalid choice: 'finished'"),
        (("publish", "c", "--data", "{", "--url", "http://127.0.0.1:1/", "--key", "k"), "--data is not valid JSON"),
        (("publish", "bad channel", "--data", "1", "--url", "http://127.0.0.1:1/", "--key", "k"), "bad channel name"),
        (("notify", "hi", "--url", "ftp://x", "--key", "k"), "not an http(s) URL"),
        (("notify", "hi", "--timeout", "0", "--url", "http://127.0.0.1:1/", "--key", "k"), "--timeout must be positive"),
    ],
)
def test_bad_usage_exits_2_with_a_message(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str) -> None:
    status, err = run(capsys, *argv)
    assert status == 2
    assert message in err


def test_without_a_hub_commands_exit_1_and_say_what_to_set(capsys: pytest.CaptureFixture[str]) -> None:
    status, err = run(capsys, "notify", "hi")
    assert status == 1
    assert "no hub: set SSE_WIDGETS_URL and SSE_WIDGETS_KEY" in err


def test_info_without_a_hub_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info"]) == 1
    assert "no hub" in capsys.readouterr().out


def test_commands_are_registered_by_modules_so_others_can_add_theirs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A module of someone else's, listed beside ours, adds a command that then runs.
    extra = types.ModuleType("extra_commands")

    def register(subparsers: Any) -> None:
        hello = subparsers.add_parser("hello")
        hello.add_argument("name")
        hello.set_defaults(func=lambda args: print(f"hello {args.name}") or 7)

    extra.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "extra_commands", extra)
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "extra_commands"))
    assert cli.main(["hello", "world"]) == 7
    assert capsys.readouterr().out == "hello world\n"
    # Ours are still there, each with its own handler.
    actions = cli.build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in ("publish", "notify", "progress", "info", "hello"):
        assert callable(actions[name].get_default("func")), name
