"""The ``sse-widgets`` command: argparse subcommands, each registered by its own module.

A command module defines ``register(subparsers)``, which adds its subparser(s) and sets
``func`` (``args -> exit status``) with ``set_defaults``. To add a command (``demo``,
``serve``...), write such a module and list it in ``COMMAND_MODULES``; keep heavy imports
(jupyter_server, anywidget) inside its ``func`` so that ``sse-widgets publish`` stays light.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__

#: Modules that each add subcommands with ``register(subparsers)``.
COMMAND_MODULES: tuple[str, ...] = ("sse_widgets.publisher.commands", "sse_widgets.share.commands")


class UsageError(Exception):
    """A bad argument found after parsing (bad JSON...): exit status 2, like argparse."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sse-widgets",
        description="Publish live events to sse-widgets dashboards from the shell.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 failed, 2 bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args))
    except UsageError as exc:
        print(f"sse-widgets {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # Run the importable module, not this __main__ copy, so that command modules and this
    # one share one UsageError class.
    from sse_widgets.cli import main as _main

    sys.exit(_main())
