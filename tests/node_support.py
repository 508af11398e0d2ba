"""Run the browser's own TypeScript modules in Node.js, for tests of logic with no page."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parents[1] / "js"


def _tools() -> tuple[str, Path]:
    node, esbuild = shutil.which("node"), JS / "node_modules" / ".bin" / "esbuild"
    if node is None or not esbuild.exists():
        pytest.fail("node and js/node_modules are needed (scripts/test installs them)")
    return node, esbuild


def bundle(tmp_path: Path, module: str | None = None, entry: str | None = None, folder: str = "") -> Path:
    """Bundle ``js/src/<module>``, or the TypeScript ``entry`` source whose imports resolve
    in ``js/src/<folder>``, into one ES module; returns its path."""
    _, esbuild = _tools()
    out = tmp_path / ((Path(module).stem if module else "entry") + ".mjs")
    source = [str(JS / "src" / module)] if module else ["--loader=ts"]
    subprocess.run([str(esbuild), *source, "--bundle", "--format=esm", f"--outfile={out}", "--log-level=warning"],
                   input=entry, text=True, check=True, cwd=JS / "src" / folder)
    return out


def run_node(args: list[str], stdin: str | None = None, timeout: float = 300) -> Any:
    """Run ``node *args``; return its stdout parsed as JSON."""
    node, _ = _tools()
    out = subprocess.run([node, *args], input=stdin, capture_output=True, text=True, check=True, timeout=timeout)
    return json.loads(out.stdout)


def run_module(tmp_path: Path, module: str, script: str, stdin: str | None = None, timeout: float = 120) -> Any:
    """Bundle ``js/src/<module>``, run ``script`` in Node, return its JSON stdout.

    ``script`` finds the bundle's URL as ``%(bundle)s`` (a JSON string, for ``import()``).
    """
    url = json.dumps(bundle(tmp_path, module).as_uri())
    return run_node(["-e", script.replace("%(bundle)s", url)], stdin=stdin, timeout=timeout)
