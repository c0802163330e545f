"""The pytest plugin as a connector vendor meets it: `examples/vendor_project`, copied out of this repository,
run by pytest with nothing but the installed package (its `pytest11` entry point) on the path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

VENDOR_PROJECT = ROOT / "examples" / "vendor_project"


@pytest.fixture
def vendor_project(tmp_path: Path) -> Path:
    copy = tmp_path / "vendor_project"
    shutil.copytree(VENDOR_PROJECT, copy, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    assert ROOT not in copy.parents
    return copy


def pytest_in(project: Path, *args: str, timeout: float = 240, **given: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env.update(given)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_vendor_project_passes_with_the_installed_plugin(vendor_project, broker_kind):
    run = pytest_in(vendor_project, "-q", LGSP_BROKER=broker_kind)  # the plugin's hub runs a broker of this kind
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "3 passed" in run.stdout, output


def test_plugin_registers_its_marker_option_and_marks_hub_tests(vendor_project):
    markers = pytest_in(vendor_project, "--markers", timeout=60)
    assert markers.returncode == 0, markers.stderr
    assert "@pytest.mark.lgsp:" in markers.stdout
    assert "--lgsp-hub-url=URL" in pytest_in(vendor_project, "--help", timeout=60).stdout
    collected = pytest_in(vendor_project, "--co", "-m", "not lgsp", timeout=60)  # deselects the tests using the hub
    assert f"rootdir: {vendor_project}" in collected.stdout  # not this repository's configuration
    assert "lgsp-hub-0.1.0" in collected.stdout  # on the `plugins:` line: loaded from the package's entry point
    assert "3 deselected" in collected.stdout, collected.stdout
