"""Find and stop every process a supervisor started, including those that left its groups.

Each child of the supervisor runs in its own process group, which ``killpg`` stops whole
(a producer's multiprocessing workers included). Kernels are the exception: jupyter_client
starts every kernel in a session of its own, so they are not in the server's group. The
server shuts them down when it gets SIGTERM; if it hangs and has to be killed, they would
outlive it, reparented and unrelated to us by group or parent. So every child gets a
marker in its environment, which kernels and everything they start inherit, and the
supervisor finally stops whatever still carries it. Linux only (``/proc``); elsewhere the
server's own shutdown is all there is.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Callable
from pathlib import Path

#: The environment variable whose value marks the processes of one supervisor run.
MARKER_ENV = "SSE_WIDGETS_SUPERVISOR"

_PROC = Path("/proc")


def new_marker() -> str:
    """A value for MARKER_ENV that no other run of the supervisor uses."""
    return f"{os.getpid()}-{secrets.token_hex(8)}"


def _exited(pid: int) -> bool:
    """True if ``pid`` is gone or a zombie (it has exited; only its parent's wait is left)."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return True
    # The state follows the command name, which is in parentheses and may contain spaces.
    return stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] in ("Z", "X")


def marked(marker: str) -> list[int]:
    """PIDs of live processes whose environment carries ``MARKER_ENV=marker``.

    Only processes of our own user can be read, which is all we could start anyway.
    """
    if not _PROC.is_dir():
        return []
    needle = f"{MARKER_ENV}={marker}".encode()
    found = []
    me = os.getpid()
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or another user's
            continue
        if needle in environ.split(b"\0") and not _exited(int(entry.name)):
            found.append(int(entry.name))
    return found


def _signal(pid: int, signum: int) -> None:
    """Signal ``pid``, and its whole group when it leads one (a kernel and its workers)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def stop_marked(marker: str, grace: float = 5.0, hurry: Callable[[], bool] = lambda: False) -> list[int]:
    """SIGTERM every process carrying ``marker``, SIGKILL those left after ``grace`` seconds.

    Returns the PIDs that had to be stopped (empty when the children cleaned up after
    themselves, as they should). ``hurry()`` returning True skips the rest of the grace.
    """
    pids = marked(marker)
    if not pids:
        return []
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not hurry():
        if all(_exited(pid) for pid in pids):
            return pids
        time.sleep(0.1)
    # Marked processes started meanwhile are caught too.
    for pid in set(pids) | set(marked(marker)):
        _signal(pid, signal.SIGKILL)
    return pids
