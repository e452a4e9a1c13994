"""mlgitops installs beside other packages: its dependencies are ranges (pyproject.toml), not the exact set CI
tests (constraints.txt). Marked install (`make test-install`): a fresh virtual environment, pip through the
configured index."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, make_repo

IGNORE = shutil.ignore_patterns(".venv*", ".git", ".mlgitops-cache", "*.egg-info", "build", ".pytest_cache",
                                ".hypothesis", "__pycache__", ".mypy_cache", ".ruff_cache", ".import_linter_cache")


def _pinned(name: str) -> str:
    line = next(x for x in (ROOT / "constraints.txt").read_text().splitlines() if x.lower().startswith(f"{name}=="))
    return line.split("==")[1]


def _other_tool(folder: Path, click: str, rich: str) -> Path:
    """Another team's tool that pins its own click and rich."""
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "other-tool"\nversion = "1.0"\ndependencies = ["click=={click}", "rich=={rich}"]\n'
        '[tool.setuptools]\npy-modules = []\n')
    return folder


def _run(*argv, cwd=None) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, argv))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.install
def test_installs_beside_a_package_pinning_another_click_and_rich(tmp_path):
    click, rich = "8.1.8", "13.9.4"
    assert (click, rich) != (_pinned("click"), _pinned("rich"))  # not the tested set: the ranges must allow them
    source = tmp_path / "mlgitops"
    shutil.copytree(ROOT, source, ignore=IGNORE)
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin/python"
    _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", source,
         _other_tool(tmp_path / "other", click, rich))
    _run(python, "-m", "pip", "check")
    installed = _run(python, "-m", "pip", "freeze")
    assert f"click=={click}" in installed.split() and f"rich=={rich}" in installed.split()
    version = _run(venv / "bin/mlgitops", "--version")
    assert re.match(r"mlgitops \d+\.\d+\.\d+ ", version) and "Kustomize Version: v" in version
    repo = make_repo(tmp_path / "repo", EXAMPLES)
    _run(venv / "bin/mlgitops", "generate", cwd=repo)
    _run(venv / "bin/mlgitops", "check", "--no-cache", cwd=repo)
