"""The wheel built from pyproject.toml, as the Docker image installs it: it carries every file the hub reads at
run time, and the hub runs from it with no source tree beside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
# Folders of the source tree the wheel carries inside a package (pyproject's force-include).
BUNDLED = {"schemas": "hub/schemas", "scenarios": "province/scenarios"}

# What the installed package says of itself, run from the installed folder alone.
PROBE = """
import json
from importlib import metadata
from pathlib import Path

import typer

import hub, province
from hub.control.api import DASHBOARD
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from province.scenario import bundled_scenario_names, load_scenario

lgsp_hub = metadata.distribution("lgsp-hub")
[script] = [entry for entry in lgsp_hub.entry_points if entry.group == "console_scripts"]
print(json.dumps({
    "files": [hub.__file__, province.__file__, str(bundled_schemas_dir()), str(DASHBOARD),
              str(lgsp_hub.locate_file(""))],
    "types": SchemaRegistry.from_dirs(bundled_schemas_dir()).types(),
    "scenarios": {name: load_scenario(name).province.name for name in bundled_scenario_names()},
    "dashboard": (Path(DASHBOARD) / "index.html").is_file(),
    "script": script.name,
    "commands": sorted(typer.main.get_command(script.load()).commands),
}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The wheel of this checkout, installed into a folder of its own (its dependencies are the venv's)."""
    scratch = tmp_path_factory.mktemp("wheel")
    subprocess.run([*PIP, "wheel", "--no-deps", "--wheel-dir", str(scratch / "dist"), str(ROOT)], check=True,
                   timeout=300)
    [wheel] = (scratch / "dist").glob("lgsp_hub-*.whl")
    subprocess.run([*PIP, "install", "--no-deps", "--target", str(scratch / "site"), str(wheel)], check=True,
                   timeout=300)
    return scratch / "site"


def data_files(folder: Path) -> set[str]:
    """The files under `folder` that are not Python code, relative to it."""
    return {str(path.relative_to(folder)) for path in folder.rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts}


def installed(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """A program run with the installed folder first on the path, away from the checkout."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LGSP_")}
    return subprocess.run(args, cwd=cwd, env={**env, "PYTHONPATH": str(site)}, capture_output=True, text=True,
                          timeout=120)


def test_the_wheel_carries_every_file_the_hub_reads(site):
    for package in ("hub", "province"):
        missing = data_files(ROOT / package) - data_files(site / package)
        assert not missing, f"{package}/ files not in the wheel: {sorted(missing)}"
    for source, shipped in BUNDLED.items():
        missing = data_files(ROOT / source) - data_files(site / shipped)
        assert not missing, f"{source}/ files not in the wheel's {shipped}/: {sorted(missing)}"


def test_the_installed_hub_runs_without_the_source_tree(site, tmp_path):
    probe = installed(site, sys.executable, "-c", PROBE, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert all(Path(path).is_relative_to(site) for path in found["files"]), found["files"]
    assert sorted(found["types"]) == sorted(path.parent.name for path in (ROOT / "schemas").glob("*/v1.json"))
    assert sorted(found["scenarios"]) == sorted(path.stem for path in (ROOT / "scenarios").glob("*.toml"))
    assert found["dashboard"]
    # The image's entry point: the console script, with the commands docker-compose.yml runs.
    assert found["script"] == "lgsp-hub" and {"up", "router", "connector"} <= set(found["commands"])
    helped = installed(site, str(site / "bin" / "lgsp-hub"), "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "up" in helped.stdout, helped.stdout + helped.stderr
