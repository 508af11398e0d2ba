"""Run ``sse-widgets serve`` / ``demo`` as a real command, read what it prints, and watch
its processes through ``/proc`` (no psutil needed): what it started, and that it all went.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
PRODUCER = NOTEBOOKS / "producer.py"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any hub of ours (a test run inside Jupyter has one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
    env.update(extra)
    return env


# --- processes, from /proc ------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    sid: int
    state: str
    start: int  # clock ticks after boot: tells a reused PID from the one recorded
    cmd: str


def read_proc(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return Proc(pid, int(fields[1]), int(fields[2]), int(fields[3]), fields[0], int(fields[19]), cmd.strip())


def all_procs() -> dict[int, Proc]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            proc = read_proc(int(entry))
            if proc is not None:
                out[proc.pid] = proc
    return out


def process_tree(root: int) -> dict[int, Proc]:
    """``root`` and all its descendants that are alive now, by PID."""
    procs = all_procs()
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    tree: dict[int, Proc] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in procs and pid not in tree:
            tree[pid] = procs[pid]
            todo.extend(children.get(pid, []))
    return tree


def still_running(recorded: dict[int, Proc]) -> list[Proc]:
    """Recorded processes that still run (same PID and start time, not a zombie), and any
    other live process in a process group or session that a recorded one led."""
    groups = {p.pgid for p in recorded.values()} | {p.sid for p in recorded.values()}
    groups &= set(recorded)  # only groups and sessions our processes lead, never pytest's
    left = []
    for proc in all_procs().values():
        if proc.state in ("Z", "X"):
            continue  # exited; only its (possibly gone) parent's wait is missing
        same = recorded.get(proc.pid)
        if (same is not None and same.start == proc.start) or proc.pgid in groups or proc.sid in groups:
            left.append(proc)
    return left


# --- the command ----------------------------------------------------------------------


def command_args() -> list[str]:
    """The ``sse-widgets`` console script of this interpreter (the one a user runs)."""
    script = Path(sys.executable).parent / "sse-widgets"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "sse_widgets.cli"]


class Command:
    """``sse-widgets ARGS`` in a session of its own (as a terminal's foreground job),
    with Jupyter's per-user folders moved to a temporary directory (``env`` may name others)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None):
        self._tmp = tempfile.mkdtemp(prefix="sse-widgets-share-test-")
        env = clean_env(**{
            "JUPYTER_RUNTIME_DIR": f"{self._tmp}/runtime", "JUPYTER_CONFIG_DIR": f"{self._tmp}/config",
            "JUPYTER_DATA_DIR": f"{self._tmp}/data", "IPYTHONDIR": f"{self._tmp}/ipython",
            "PYTHONUNBUFFERED": "1", **(env or {}),
        })
        self.process = subprocess.Popen(
            [*command_args(), *args], env=env, cwd=REPO, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.pid = self.process.pid
        self.lines: list[str] = []
        self._changed = threading.Condition()
        # Read continuously: a full pipe would block the command (and its demo workload).
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.seen: dict[int, Proc] = {}

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 120.0) -> re.Match[str]:
        """The first printed line matching ``pattern``; fails if the command ends first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        checked = 0
        with self._changed:
            while True:
                for line in self.lines[checked:]:
                    match = regex.search(line)
                    if match:
                        return match
                checked = len(self.lines)
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"command exited ({self.process.returncode}) before printing "
                                         f"{pattern!r}:\n{self.output}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no line matching {pattern!r} in {timeout}s:\n{self.output}")
                self._changed.wait(min(remaining, 0.5))

    def record(self) -> dict[int, Proc]:
        """Every process under the command now, added to what ``kill_all`` will clean up."""
        tree = process_tree(self.pid)
        self.seen.update(tree)
        return tree

    def interrupt(self) -> None:
        """Ctrl-C as a terminal sends it: SIGINT to the foreground process group."""
        os.killpg(self.pid, signal.SIGINT)

    def wait(self, timeout: float) -> int:
        """Wait for the command to exit (and its last lines to be read); its status."""
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"command still running after {timeout}s:\n{self.output}") from None
        self._reader.join(10)
        return status

    def kill_all(self) -> None:
        """Clean up after a failed test: only processes this command started, by PID/group.

        Ctrl-C first, so that the command removes its own files; then force what is left.
        """
        self.seen.update(process_tree(self.pid))
        if self.process.poll() is None:
            try:
                self.interrupt()
                self.process.wait(30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        for proc in still_running(self.seen):
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self._reader.join(5)
        shutil.rmtree(self._tmp, ignore_errors=True)


def wait_until(predicate: Any, timeout: float, message: Any) -> Any:
    """Poll ``predicate()`` until it returns something truthy; fail with ``message()``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(0.2)


def hub_get(base: str, path: str, token: str) -> Any:
    """GET a hub API path of the server at ``base`` with its Jupyter token."""
    request = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def last_progress(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The latest state of each task in a channel's ``progress`` events, by task id."""
    out: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["type"] == "progress":
            out[event["data"]["task"]] = event["data"]
    return out
