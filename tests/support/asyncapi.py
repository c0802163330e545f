"""The AsyncAPI parser (@asyncapi/parser, pinned in tests/asyncapi/package-lock.json) as a validator."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.support import ROOT

VALIDATOR = ROOT / "tests" / "asyncapi"


def _installed() -> None:
    """`npm ci` once into tests/asyncapi (the Makefile's `test` does it first; a bare pytest run does it here)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise AssertionError(f"{tool} is needed to validate the AsyncAPI document (Node.js 20 and npm): "
                                 f"not found on PATH")
    if not (VALIDATOR / "node_modules" / "@asyncapi" / "parser").is_dir():
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--silent"], cwd=VALIDATOR,
                       check=True, timeout=300)


def diagnostics(document: dict, tmp: Path) -> tuple[bool, list[dict]]:
    """Whether the parser accepts `document` (no error), and everything it said about it."""
    _installed()
    path = tmp / "asyncapi.json"
    path.write_text(json.dumps(document))
    run = subprocess.run(["node", str(VALIDATOR / "validate.mjs"), str(path)], capture_output=True, text=True,
                         check=False, timeout=120)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"the validator failed (exit {run.returncode}): {run.stderr or run.stdout}") from exc
    return run.returncode == 0, report["diagnostics"]


def errors_of(found: list[dict]) -> list[dict]:
    return [d for d in found if d["severity"] == "error"]
