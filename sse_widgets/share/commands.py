"""``sse-widgets serve NOTEBOOK`` and ``sse-widgets demo``."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .links import ShareSettings, parse_duration, secret_fingerprint
from .processes import MARKER_ENV
from .supervisor import (
    Child,
    DashboardServer,
    Interrupted,
    ServeError,
    describe,
    handle_signals,
    open_in_browser,
    wait_for_interrupt,
)

DEMO = Path(__file__).resolve().parent / "demo"
#: Read for --share-secret, so that the secret need not appear in a process listing.
SHARE_SECRET_ENV = "SSE_WIDGETS_SHARE_SECRET"


def register(subparsers: Any) -> None:
    """Add ``serve`` and ``demo`` to the ``sse-widgets`` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    common.add_argument("--no-browser", action="store_true", help="do not open a browser")
    common.add_argument("--share-ttl", default="7d", metavar="DURATION",
                        help="how long the share link works: seconds, or 90m, 12h, 7d, 2w "
                             "(default 7d)")
    common.add_argument("--share-secret", default=os.environ.get(SHARE_SECRET_ENV),
                        metavar="SECRET",
                        help="signs share links, so that they keep working across restarts "
                             f"(default: ${SHARE_SECRET_ENV}, else random per start)")
    common.add_argument("--rotate-share", action="store_true",
                        help="invalidate every share link given out so far with this "
                             "--share-secret, and print a new one")

    serve = subparsers.add_parser(
        "serve", parents=[common], help="share a notebook as a live Voila dashboard",
        description="Serve NOTEBOOK with Voila beside the sse-widgets hub: every viewer sees the "
                    "same live channels, with history; producers anywhere can feed it. With "
                    "--static the notebook runs once and viewers need no kernel.",
    )
    serve.add_argument("notebook", type=Path, nargs="+",
                       help="the dashboard notebook; several with --static (an index page lists them)")
    serve.add_argument("--static", action="store_true",
                       help="run the notebook once at start and serve its widgets to every viewer "
                            "with no kernel per viewer (see the README: static or Voila)")
    serve.add_argument("--refresh-on-change", action="store_true",
                       help="with --static: run a notebook again when its file changes (viewers "
                            "get the new page on reload)")
    serve.add_argument("--ticket-ttl", default="1h", metavar="DURATION",
                       help="with --static: how long a page's stream tickets last before the page "
                            "renews them (default 1h)")
    serve.add_argument("--port", type=int, default=8866, help="port (default 8866)")
    # No default from $SSE_WIDGETS_KEY: run from a Jupyter terminal, that is another
    # server's key, and reusing it silently would be a surprise.
    serve.add_argument("--key", help="publish key for producers (default: random per start; "
                                     "set one to keep cron jobs working across restarts)")
    serve.set_defaults(func=run_serve)

    demo = subparsers.add_parser(
        "demo", parents=[common], help="a live demo dashboard fed by a simulated workload",
        description="Start a dashboard fed by a simulated training run and a data pipeline "
                    "running in worker processes.",
    )
    demo.add_argument("--port", type=int, default=8867, help="port (default 8867)")
    demo.set_defaults(func=run_demo)


def voila_missing(command: str) -> bool:
    """Say how to install Voila when it is not (the dashboards would be a 404 page)."""
    if importlib.util.find_spec("voila") is not None:
        return False
    print(f"sse-widgets {command}: Voila is not installed; pip install 'sse-widgets[voila]'",
          file=sys.stderr)
    return True


def static_missing() -> bool:
    """Say how to install what ``--static`` runs notebooks with, when it is missing."""
    missing = [m for m in ("nbclient", "ipykernel") if importlib.util.find_spec(m) is None]
    if not missing:
        return False
    print(f"sse-widgets serve --static: {' and '.join(missing)} not installed; "
          "pip install 'sse-widgets[static]'", file=sys.stderr)
    return True


def run_serve(args: argparse.Namespace) -> int:
    """``sse-widgets serve NOTEBOOK``: the notebook as a Voila dashboard beside the hub
    (``--static``: rendered once, served to every viewer without a kernel)."""
    notebooks: list[Path] = args.notebook
    for notebook in notebooks:
        if notebook.suffix != ".ipynb" or not notebook.is_file():
            print(f"sse-widgets serve: {notebook} is not a notebook file (.ipynb)", file=sys.stderr)
            return 2
    if not args.static:
        for option, given in (("several notebooks", len(notebooks) > 1),
                              ("--refresh-on-change", args.refresh_on_change)):
            if given:
                print(f"sse-widgets serve: {option} need --static (Voila renders one notebook "
                      "per visit, from its file as it is then)", file=sys.stderr)
                return 2
        if voila_missing("serve"):
            return 1
    elif static_missing():
        return 1
    try:
        ticket_ttl = parse_duration(args.ticket_ttl)
    except ValueError as exc:
        print(f"sse-widgets serve: --ticket-ttl: {exc}", file=sys.stderr)
        return 2
    share = share_settings(args)
    if share is None:
        return 2
    files = [n.resolve() for n in notebooks]
    root = Path(os.path.commonpath([f.parent for f in files]))
    names = [f.relative_to(root).as_posix() for f in files]
    server = DashboardServer(root, names[0], args.port, args.ip, key=args.key, share=share,
                             notebooks=names, static=args.static,
                             refresh_on_change=args.refresh_on_change, ticket_ttl=ticket_ttl)
    return _run(server, [], args.no_browser, producer_hint=True)


def run_demo(args: argparse.Namespace) -> int:
    """``sse-widgets demo``: the bundled dashboard, fed by the simulated workload."""
    if voila_missing("demo"):
        return 1
    share = share_settings(args)
    if share is None:
        return 2
    root = Path(tempfile.mkdtemp(prefix="sse-widgets-demo-"))
    try:
        shutil.copy(DEMO / "dashboard.ipynb", root / "dashboard.ipynb")
        server = DashboardServer(root, "dashboard.ipynb", args.port, args.ip, share=share)
        workload = [sys.executable, "-m", "sse_widgets.share.demo.workload"]
        return _run(server, workload, args.no_browser, producer_hint=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def share_settings(args: argparse.Namespace) -> ShareSettings | None:
    """The share-link settings the options ask for; None (after saying why) if they are bad."""
    command = args.func.__name__.removeprefix("run_")
    try:
        ttl = parse_duration(args.share_ttl)
    except ValueError as exc:
        print(f"sse-widgets {command}: --share-ttl: {exc}", file=sys.stderr)
        return None
    if not args.share_secret:
        if args.rotate_share:
            print(f"sse-widgets {command}: --rotate-share has nothing to do without "
                  "--share-secret: a random secret already makes every start's links new",
                  file=sys.stderr)
        return ShareSettings(ttl=ttl)
    state = rotation_state_file(args.share_secret)
    if args.rotate_share:
        # +1: a link minted in the same second as the rotation must not survive it.
        not_before = int(time.time()) + 1
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"not_before": not_before}))
        print("Share links given out so far no longer work.", flush=True)
    else:
        try:
            not_before = int(json.loads(state.read_text())["not_before"])
        except FileNotFoundError:
            not_before = 0
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"sse-widgets {command}: cannot read {state} ({exc}); remove it, or run "
                  "with --rotate-share", file=sys.stderr)
            return None
    return ShareSettings(secret=args.share_secret, ttl=ttl, not_before=not_before)


def rotation_state_file(secret: str) -> Path:
    """Where the rotation floor of links signed with ``secret`` is kept, per user."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "sse_widgets" / "share" / f"{secret_fingerprint(secret)}.json"


def _run(server: DashboardServer, producer: list[str], no_browser: bool, producer_hint: bool) -> int:
    """Start the server (and the producer), wait for Ctrl-C, stop everything in order.

    Signals are handled for the whole run, start-up and shutdown included: a Ctrl-C while
    the server boots still stops it, and one during shutdown only hurries it along.
    """
    children: list[Child] = []
    status = 1
    with handle_signals() as stop:
        try:
            print("Starting the dashboard server...", flush=True)
            server.start(stop=stop)
            assert server.child is not None
            if producer:
                # The producer carries the server's marker too, so that its stray
                # processes are found with the kernels' if its group is not enough.
                env = {**os.environ, **server.producer_env, MARKER_ENV: server.marker}
                children.append(Child("demo workload", producer, env, server.root))
            print(describe(server, producer_hint), flush=True)
            if not no_browser:
                open_in_browser(server.dashboard_url)
            status = wait_for_interrupt([server.child, *children], stop)
            if status and not server.child.alive():
                print(f"sse-widgets: the server's log ends with:\n{server.log_tail()}", file=sys.stderr)
        except ServeError as exc:
            print(f"sse-widgets: {exc}", file=sys.stderr)
        except Interrupted:
            status = 0
        finally:
            # After a Ctrl-C the terminal shows "^C": start on a line of our own.
            print("\nStopping..." if stop.requested else "Stopping...", flush=True)
            for child in reversed(children):
                child.stop(stop=stop)
            server.stop(stop)
    return status
