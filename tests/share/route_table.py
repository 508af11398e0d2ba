"""Print, as JSON, every route a Jupyter server built from ``--config=FILE`` would serve.

Run as a script by the viewer tests, in a process of its own: the ServerApp is only
initialised (its extensions load and register their handlers), never started.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.serverapp import ServerApp
from tornado.routing import PathMatches


def walk(router: Any, out: list[dict[str, Any]]) -> None:
    for rule in getattr(router, "rules", []):
        target = rule.target
        if hasattr(target, "rules"):
            walk(target, out)
        elif isinstance(rule.matcher, PathMatches) and isinstance(target, type):
            out.append({
                "regex": rule.matcher.regex.pattern,
                "handler": f"{target.__module__}.{target.__qualname__}",
                "jupyter": issubclass(target, JupyterHandler),
            })


def main() -> None:
    app = ServerApp()
    app.initialize(argv=sys.argv[1:])
    routes: list[dict[str, Any]] = []
    walk(app.web_app.default_router, routes)
    walk(app.web_app.wildcard_router, routes)
    unique = {(r["regex"], r["handler"]): r for r in routes}
    print(json.dumps(list(unique.values())))


if __name__ == "__main__":
    main()
