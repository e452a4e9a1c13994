"""The package's shape is a contract: stages import downwards only, and the top stays small."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import mlgitops
from conftest import ROOT

PACKAGE = Path(mlgitops.__file__).resolve().parent
STAGES = ["commands", "check", "tree", "render", "spec", "kube", "report"]


def test_the_layers_contract_holds():
    """A wrong-way import (say, report importing the validator) makes lint-imports fail, and this test."""
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is installed with the test extras (make test)"
    run = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 kept, 0 broken" in run.stdout


def test_the_contract_lists_every_stage_in_order():
    text = (ROOT / "pyproject.toml").read_text()
    block = text[text.index("layers = ["):text.index("]", text.index("layers = ["))]
    assert [line.strip().strip('",').removeprefix("mlgitops.") for line in block.splitlines()[1:]] == ["cli", *STAGES]


def test_every_module_lives_in_a_stage():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "cli.py"]
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert packages == sorted(STAGES)


def test_each_stage_says_what_it_owns():
    for stage in STAGES:
        doc = (PACKAGE / stage / "__init__.py").read_text()
        assert doc.startswith('"""') and len(doc) > 80, stage
