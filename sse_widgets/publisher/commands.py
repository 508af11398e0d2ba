"""``sse-widgets publish | notify | progress | info``: the publisher's command-line side."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any

from .. import protocol
from .._warnings import SSEWidgetsWarning
from . import _process, api, events
from .connection import HubConfigError
from .progress import PROGRESS_CHANNEL, progress

STATUSES = ("running", "done", "failed", "cancelled")


def register(subparsers: Any) -> None:
    """Add the publisher commands to the ``sse-widgets`` parser."""
    hub = argparse.ArgumentParser(add_help=False)
    group = hub.add_argument_group("hub (default: SSE_WIDGETS_URL/SSE_WIDGETS_KEY, then a running Jupyter server)")
    group.add_argument("--url", help="the Jupyter server's URL with its base_url")
    group.add_argument("--key", help="the server's publish key (SSE_WIDGETS_KEY)")
    group.add_argument("--token", help="a Jupyter token, instead of the key")
    group.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for delivery (default 10)")

    p = subparsers.add_parser(
        "publish", parents=[hub], help="publish events to a channel",
        description="Publish one event (--data) or one per JSON line read from stdin.",
    )
    p.add_argument("channel")
    p.add_argument("--type", default="message", help="event type (default: message)")
    p.add_argument("--data", help="the event's data as JSON; without it, read JSON lines from stdin")
    p.set_defaults(func=run_publish)

    n = subparsers.add_parser("notify", parents=[hub], help="show a toast")
    n.add_argument("message")
    n.add_argument("--level", default="info", choices=events.NOTIFY_LEVELS)
    n.add_argument("--title")
    n.add_argument("--timeout-ms", type=int, default=5000, help="how long the toast stays (0: until dismissed)")
    n.add_argument("--channel", default=events.NOTIFY_CHANNEL)
    n.set_defaults(func=run_notify)

    g = subparsers.add_parser(
        "progress", parents=[hub], help="report progress from a shell loop or a pipe",
        description=(
            "With --n or --status: publish one state of task --task (call it in each turn "
            "of a shell loop). Otherwise: copy stdin to stdout, counting lines, like tqdm."
        ),
    )
    g.add_argument("--task", help="task id; required with --n/--status")
    g.add_argument("--n", type=float, help="items done so far")
    g.add_argument("--total", type=float, help="items expected")
    g.add_argument("--status", choices=STATUSES)
    g.add_argument("--desc", default="", help="label")
    g.add_argument("--unit", default="it")
    g.add_argument("--message", default="")
    g.add_argument("--parent", help="parent task id")
    g.add_argument("--channel", default=PROGRESS_CHANNEL)
    g.set_defaults(func=run_progress)

    i = subparsers.add_parser("info", parents=[hub], help="show the hub this shell would publish to")
    i.add_argument("--show-key", action="store_true", help="print the key itself (it grants publishing)")
    i.set_defaults(func=run_info)


def _connect(args: argparse.Namespace, required: bool = True) -> bool:
    """Point the process at the hub named by the options; False (after a message) if none."""
    from ..cli import UsageError

    try:
        if args.url or args.key or args.token:
            api.connect(args.url, args.key, token=args.token)
        elif _process.transport() is None:
            if required:
                print(
                    f"sse-widgets {args.command}: no hub: set {protocol.URL_ENV} and {protocol.KEY_ENV} "
                    "(run `sse-widgets info --show-key` in a kernel's terminal to see them), or pass --url and --key",
                    file=sys.stderr,
                )
            return False
    except HubConfigError as exc:
        raise UsageError(str(exc)) from None
    return True


def _deliver(args: argparse.Namespace, send: Callable[[], None]) -> int:
    """Queue what ``send`` publishes, wait for delivery, and turn the outcome into an exit status."""
    from ..cli import UsageError

    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    if not _connect(args):
        return 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SSEWidgetsWarning)  # the outcome is reported below
        try:
            send()
        except (ValueError, TypeError) as exc:
            raise UsageError(str(exc)) from None
        finally:
            report = api.flush(args.timeout)
    if report.ok:
        return 0
    lost = report.undelivered + sum(report.dropped.values())
    print(f"sse-widgets {args.command}: {lost} event(s) not delivered: {report.error or report}", file=sys.stderr)
    return 1


def _json(text: str, where: str) -> Any:
    from ..cli import UsageError

    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where} is not valid JSON: {exc}") from None


def run_publish(args: argparse.Namespace) -> int:
    from ..cli import UsageError

    def send() -> None:
        if args.data is not None:
            events.publish(args.channel, _json(args.data, "--data"), type=args.type)
            return
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("give --data JSON, or pipe JSON lines on stdin")
        events.check_channel(args.channel)
        protocol.check_type(args.type)
        for number, line in enumerate(sys.stdin, 1):
            if line.strip():
                events.publish(args.channel, _json(line, f"stdin line {number}"), type=args.type)

    return _deliver(args, send)


def run_notify(args: argparse.Namespace) -> int:
    timeout_ms = args.timeout_ms if args.timeout_ms > 0 else None
    return _deliver(
        args,
        lambda: events.notify(args.message, args.level, title=args.title, timeout_ms=timeout_ms, channel=args.channel),
    )


def run_progress(args: argparse.Namespace) -> int:
    from ..cli import UsageError

    if args.n is None and args.status is None:
        return _pipe_progress(args)
    if not args.task:
        raise UsageError("--task is required with --n or --status, so that later calls update the same bar")
    data = {
        "task": protocol.check_channel(args.task),
        "label": args.desc,
        "n": _int_if_whole(args.n or 0),
        "total": None if args.total is None else _int_if_whole(args.total),
        "unit": args.unit,
        "status": args.status or "running",
        "parent": args.parent,
        "message": args.message,
    }
    return _deliver(args, lambda: events.publish(args.channel, data, type="progress"))


def _int_if_whole(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def _pipe_progress(args: argparse.Namespace) -> int:
    # Without a hub this still works, drawing on stderr: a pipe must never break.
    if args.url or args.key or args.token:
        _connect(args)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SSEWidgetsWarning)
        with progress(desc=args.desc, total=args.total, unit=args.unit, channel=args.channel, task=args.task) as bar:
            for line in source:
                sink.write(line)
                bar.update(1)
        sink.flush()
        report = api.flush(args.timeout)
    if not report.ok and _process.transport() is not None:
        print(f"sse-widgets progress: updates not delivered: {report.error or report}", file=sys.stderr)
    return 0


def run_info(args: argparse.Namespace) -> int:
    if args.url or args.key or args.token:
        _connect(args)
    info = api.connection_info(show_key=args.show_key)
    print(info)
    return 0 if info.connection is not None else 1
