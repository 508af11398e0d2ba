"""Run the browser's own TypeScript modules in Node.js, for tests of logic with no page."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parents[1] / "js"


def run_module(tmp_path: Path, module: str, script: str, stdin: str | None = None, timeout: float = 120) -> Any:
    """Bundle ``js/src/<module>`` as an ES module, run ``script`` in Node, return its JSON stdout.

    ``script`` finds the bundle's URL as ``%(bundle)s`` (a JSON string, for ``import()``).
    """
    node, esbuild = shutil.which("node"), JS / "node_modules" / ".bin" / "esbuild"
    if node is None or not esbuild.exists():
        pytest.fail("node and js/node_modules are needed (scripts/test installs them)")
    bundle = tmp_path / (Path(module).stem + ".mjs")
    subprocess.run([str(esbuild), str(JS / "src" / module), "--bundle", "--format=esm",
                    f"--outfile={bundle}", "--log-level=warning"], check=True)
    out = subprocess.run([node, "-e", script.replace("%(bundle)s", json.dumps(bundle.as_uri()))],
                         input=stdin, capture_output=True, text=True, check=True, timeout=timeout)
    return json.loads(out.stdout)
