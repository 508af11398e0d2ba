"""``sse-widgets serve NOTEBOOK`` and ``sse-widgets demo``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .supervisor import Child, DashboardServer, ServeError, describe, open_in_browser, wait_for_interrupt

DEMO = Path(__file__).resolve().parent / "demo"


def register(subparsers: Any) -> None:
    """Add ``serve`` and ``demo`` to the ``sse-widgets`` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    common.add_argument("--no-browser", action="store_true", help="do not open a browser")

    serve = subparsers.add_parser(
        "serve", parents=[common], help="share a notebook as a live Voila dashboard",
        description="Serve NOTEBOOK with Voila beside the sse-widgets hub: every viewer sees the "
                    "same live channels, with history; producers anywhere can feed it.",
    )
    serve.add_argument("notebook", type=Path)
    serve.add_argument("--port", type=int, default=8866, help="port (default 8866)")
    serve.add_argument("--key", default=os.environ.get("SSE_WIDGETS_KEY"),
                       help="publish key for producers (default: $SSE_WIDGETS_KEY, else random)")
    serve.set_defaults(func=run_serve)

    demo = subparsers.add_parser(
        "demo", parents=[common], help="a live demo dashboard fed by a simulated workload",
        description="Start a dashboard fed by a simulated training run and a data pipeline "
                    "running in worker processes.",
    )
    demo.add_argument("--port", type=int, default=8867, help="port (default 8867)")
    demo.set_defaults(func=run_demo)


def run_serve(args: argparse.Namespace) -> int:
    notebook: Path = args.notebook
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        print(f"sse-widgets serve: {notebook} is not a notebook file (.ipynb)", file=sys.stderr)
        return 2
    server = DashboardServer(notebook.parent, notebook.name, args.port, args.ip, key=args.key)
    return _run(server, [], args.no_browser, producer_hint=True)


def run_demo(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="sse-widgets-demo-"))
    try:
        shutil.copy(DEMO / "dashboard.ipynb", root / "dashboard.ipynb")
        server = DashboardServer(root, "dashboard.ipynb", args.port, args.ip)
        workload = [sys.executable, "-m", "sse_widgets.share.demo.workload"]
        return _run(server, workload, args.no_browser, producer_hint=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(server: DashboardServer, producer: list[str], no_browser: bool, producer_hint: bool) -> int:
    children: list[Child] = []
    try:
        print("Starting the dashboard server...", flush=True)
        try:
            server.start()
        except ServeError as exc:
            print(f"sse-widgets: {exc}", file=sys.stderr)
            return 1
        assert server.child is not None
        children.append(server.child)
        if producer:
            env = {**os.environ, **server.producer_env}
            children.append(Child("demo workload", producer, env, server.root))
        print(describe(server, producer_hint), flush=True)
        if not no_browser:
            open_in_browser(server.dashboard_url)
        status = wait_for_interrupt(children)
        print("\nStopping...", flush=True)
        return status
    finally:
        for child in reversed(children):
            child.stop()
        server.stop()
