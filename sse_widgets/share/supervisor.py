"""Run a Jupyter server with Voila and sse-widgets as a child process, and stop it cleanly.

The command stays in the foreground, prints where to look, and on Ctrl-C (SIGINT) or
SIGTERM stops every process it started: each child runs in its own process group, which
is signalled as a whole (so multiprocessing workers of a producer go too), politely first
and by force after a grace period. Kernels, which jupyter_client puts in sessions of their
own, are shut down by the server, and found through an environment marker if it fails to
(see ``processes``). Signals only set a flag that every wait here checks, so a Ctrl-C at
any moment (during start-up too) leads to the same orderly stop, and a second Ctrl-C
skips the grace periods.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from . import links, processes
from .links import ShareSettings

GRACE_SECONDS = 15.0
#: Kernels idle this long with no page connected are shut down: a viewer whose browser
#: died never sends Voila's shutdown-on-unload, and each visit starts a kernel.
CULL_IDLE_SECONDS = 3600


class ServeError(RuntimeError):
    """The server could not be started; the message says why and what to do."""


class Interrupted(Exception):
    """A stop was requested (Ctrl-C, SIGTERM) while the supervisor was waiting."""


class StopRequest:
    """Set by SIGINT/SIGTERM while ``handle_signals`` is active; a second signal hurries."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signals = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        self.event.set()

    @property
    def requested(self) -> bool:
        return self.event.is_set()

    @property
    def hurry(self) -> bool:
        """A second Ctrl-C: stop waiting for children to finish politely."""
        return self.signals >= 2

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early on a stop request."""
        self.event.wait(seconds)


@contextmanager
def handle_signals() -> Iterator[StopRequest]:
    """Turn SIGINT and SIGTERM into a StopRequest for the duration of the block."""
    stop = StopRequest()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def port_is_free(ip: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((ip, port))
        except OSError:
            return False
    return True


class Child:
    """A subprocess in its own process group, carrying the run's environment marker."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], cwd: Path, log: Path | None = None):
        self.name = name
        self._log = open(log, "ab") if log else None  # noqa: SIM115 - closed in stop()
        # A session of its own: the terminal's Ctrl-C reaches only the supervisor, which
        # then stops the children in order instead of everything dying at once.
        self.process = subprocess.Popen(
            args, env=env, cwd=cwd, start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=self._log or None, stderr=subprocess.STDOUT if self._log else None,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = GRACE_SECONDS, stop: StopRequest | None = None) -> None:
        """SIGTERM the group (the server shuts its kernels down), SIGKILL what remains."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + grace
        while self.alive() and time.monotonic() < deadline and not (stop and stop.hurry):
            try:
                self.process.wait(0.1)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever is left in the group, workers included
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        if self._log:
            self._log.close()
            self._log = None


class DashboardServer:
    """A ``jupyter server`` with the Voila and sse-widgets extensions on ``ip:port``.

    Parameters
    ----------
    root
        Folder served (notebooks are rendered from it).
    notebook
        Path of the dashboard notebook, relative to ``root``.
    port, ip
        Where the server listens.
    key
        The publish key (SSE_WIDGETS_KEY) for producers; random if None.
    token
        The Jupyter token in the dashboard URL; random if None, none if "".
    marker
        Value of ``processes.MARKER_ENV`` in the server's environment (and so its kernels').
    notebooks
        Every notebook served (``notebook`` first); several only with ``static``.
    static
        Run the notebooks once at start and serve their pages with no kernel per viewer.
    refresh_on_change
        With ``static``: run a notebook again when its file changes.
    ticket_ttl
        With ``static``: seconds the pages' stream tickets last (the server's default if None).
    """

    def __init__(self, root: Path, notebook: str, port: int, ip: str = "127.0.0.1", key: str | None = None,
                 token: str | None = None, extra_args: list[str] | None = None, marker: str | None = None,
                 share: ShareSettings | None = None, notebooks: list[str] | None = None,
                 static: bool = False, refresh_on_change: bool = False,
                 ticket_ttl: float | None = None):
        self.root = root.resolve()
        self.notebook = notebook
        self.notebooks = notebooks or [notebook]
        self.static = static
        self.refresh_on_change = refresh_on_change
        self.ticket_ttl = ticket_ttl
        self.ip = ip
        self.port = port
        self.key = key or secrets.token_urlsafe(24)
        self.token = secrets.token_urlsafe(16) if token is None else token
        self.share = share or ShareSettings()
        self.extra_args = extra_args or []
        self.marker = marker or processes.new_marker()
        self.runtime = Path(tempfile.mkdtemp(prefix="sse-widgets-serve-"))
        self.log = self.runtime / "server.log"
        self.child: Child | None = None

    @property
    def base(self) -> str:
        host = "127.0.0.1" if self.ip in ("0.0.0.0", "", "*", "::") else self.ip
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    @property
    def dashboard_url(self) -> str:
        """The owner's link: it carries the Jupyter token, so it opens the whole server."""
        query = f"?token={self.token}" if self.token else ""
        return f"{self.render_url}{query}"

    @property
    def render_url(self) -> str:
        return f"{self.base}{self.render_path}"

    @property
    def render_path(self) -> str:
        """Path of the printed page: Voila's render, or the static page (the index of several)."""
        if not self.static:
            return f"voila/render/{urllib.request.pathname2url(self.notebook)}"
        if len(self.notebooks) > 1:
            return "sse-widgets/dashboard/"
        return f"sse-widgets/dashboard/{urllib.request.pathname2url(self.notebook)}"

    @property
    def share_url(self) -> str:
        """The link to hand out: view this dashboard, nothing else, until it expires."""
        credential = links.mint_link(self.share.secret, self.notebooks, self.share.ttl,
                                     now=max(time.time(), self.share.not_before))
        return f"{self.render_url}?{links.LINK_PARAM}={credential}"

    @property
    def producer_env(self) -> dict[str, str]:
        """What a producer process needs to publish here."""
        return {"SSE_WIDGETS_URL": self.base, "SSE_WIDGETS_KEY": self.key}

    def start(self, timeout: float = 120.0, stop: StopRequest | None = None) -> None:
        """Start the server and wait until it answers.

        Raises
        ------
        ServeError
            The port is taken, or the server died or did not answer in time (with its log).
        Interrupted
            ``stop`` was requested meanwhile (the caller still calls ``stop()``).
        """
        if not port_is_free(self.ip, self.port):
            raise ServeError(f"port {self.port} on {self.ip} is in use: pass --port with a free one")
        config = {
            "ServerApp": {
                # Voila renders the dashboards; sse-widgets serves the hub beside it, so the
                # page streams from the same server and origin.
                # Static: no Voila at all, or a share link could still start a kernel per
                # visit at /voila/render/.
                "jpserver_extensions": {"voila.server_extension": not self.static, "sse_widgets": True},
                "ip": self.ip, "port": self.port, "port_retries": 0, "open_browser": False,
                # Explicit, so that a base_url in the user's own config cannot move the
                # dashboard away from the URL printed.
                "base_url": "/",
                "root_dir": str(self.root), "allow_root": True,
                "default_url": f"/{self.render_path}",
                # The share link's viewers: who they are, and the little they may do.
                "identity_provider_class": "sse_widgets.server.viewers.ShareIdentityProvider",
                "authorizer_class": "sse_widgets.server.viewers.ViewerAuthorizer",
                "kernel_manager_class": "sse_widgets.server.viewers.ViewerKernelManager",
                "kernel_websocket_connection_class": "sse_widgets.server.viewers.ViewerKernelConnection",
            },
            "IdentityProvider": {"token": self.token},
            "ShareIdentityProvider": {
                "share_secret": self.share.secret, "share_not_before": self.share.not_before,
            },
            "SSEWidgetsApp": {
                "publish_key": self.key,
                **({"static_notebooks": self.notebooks} if self.static else {}),
                **({"static_refresh_interval": 1.0} if self.static and self.refresh_on_change else {}),
                **({"static_ticket_ttl": self.ticket_ttl} if self.static and self.ticket_ttl else {}),
            },
            "MappingKernelManager": {
                "cull_idle_timeout": CULL_IDLE_SECONDS, "cull_interval": 300, "cull_connected": False,
            },
        }
        config_file = self.runtime / "jupyter_server_config.json"
        config_file.write_text(json.dumps(config))
        # A hub this command was run under (a Jupyter terminal) is not the one it serves.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
        env[processes.MARKER_ENV] = self.marker
        args = [sys.executable, "-m", "jupyter_server", f"--config={config_file}", *self.extra_args]
        self.child = Child("jupyter server", args, env, self.root, self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stop is not None and stop.requested:
                raise Interrupted()
            if not self.child.alive():
                raise ServeError(f"the Jupyter server stopped during start-up:\n{self.log_tail()}")
            try:
                urllib.request.urlopen(f"{self.base}api/status?token={self.token}", timeout=2).read()
            except (urllib.error.URLError, OSError):
                if stop is not None:
                    stop.sleep(0.2)
                else:
                    time.sleep(0.2)
                continue
            if self.static:
                self._wait_for_static_pages(stop)
            return
        raise ServeError(f"the Jupyter server did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def _wait_for_static_pages(self, stop: StopRequest | None) -> None:
        """Each static notebook's first run: its page answers once it is done (or failed)."""
        for notebook in self.notebooks:
            print(f"Running {notebook} once for its static page...", flush=True)
            url = f"{self.base}sse-widgets/dashboard/{urllib.request.pathname2url(notebook)}"
            request = urllib.request.Request(url, headers={"Authorization": f"token {self.token}"})
            while True:
                if stop is not None and stop.requested:
                    raise Interrupted()
                try:
                    # Long: the request waits for the run, which a cell may make long.
                    urllib.request.urlopen(request, timeout=30).read()
                    break
                except urllib.error.HTTPError as exc:
                    detail = exc.read().decode(errors="replace")
                    raise ServeError(f"{notebook} could not be rendered (HTTP {exc.code}):\n{detail}") from None
                except (urllib.error.URLError, OSError):
                    if not self.child or not self.child.alive():
                        raise ServeError(f"the Jupyter server stopped:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, stop: StopRequest | None = None) -> None:
        """Stop the server (it shuts its kernels down), then any process left with our marker."""
        if self.child is not None:
            self.child.stop(stop=stop)
        leftovers = processes.stop_marked(self.marker, hurry=lambda: bool(stop and stop.hurry))
        if leftovers:
            print(f"sse-widgets: stopped {len(leftovers)} process(es) the server left behind "
                  f"(pids {', '.join(map(str, leftovers))})", file=sys.stderr)
        shutil.rmtree(self.runtime, ignore_errors=True)


def wait_for_interrupt(children: list[Child], stop: StopRequest) -> int:
    """Block until a stop is requested (status 0) or a child dies on its own (status 1)."""
    while not stop.requested:
        for child in children:
            if not child.alive():
                print(f"sse-widgets: {child.name} exited with status {child.process.returncode}",
                      file=sys.stderr)
                return 1
        stop.sleep(0.2)
    return 0


def describe(server: DashboardServer, producer_hint: bool = True) -> str:
    lines = [
        f"Share (view only, {links.describe_ttl(server.share.ttl)}): {server.share_url}",
        f"Owner (full access, keep private): {server.dashboard_url}",
    ]
    if server.ip in ("0.0.0.0", "", "*", "::"):
        lines.append(f"  (listening on every address: from other machines use this one's name, port {server.port})")
    if producer_hint:
        lines += [
            "Feed it from another process (a script, a cron job, a worker):",
            f"  export SSE_WIDGETS_URL={shlex.quote(server.base)}",
            f"  export SSE_WIDGETS_KEY={shlex.quote(server.key)}",
        ]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def open_in_browser(url: str) -> None:
    """Open ``url`` without blocking: on a headless machine the default may be a text
    browser that would take the terminal over (Jupyter opens its browser in a thread too)."""
    import webbrowser

    threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
