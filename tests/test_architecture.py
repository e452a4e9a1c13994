"""The package's shape is a contract: stages import downwards only, and the top stays small."""

from __future__ import annotations

import re
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


def _listed_modules() -> dict[str, list[str]]:
    """docs/architecture.md's "Every module, one line each": per stage, each name written as a module
    (`name` — ..., or `a`, `b` — ...), as often as it is written."""
    text = (ROOT / "docs/architecture.md").read_text()
    section = text[text.index("## Every module, one line each"):text.index("## Where a new feature goes")]
    parts = re.split(r"^\*\*`(\w+)/`\*\*", section, flags=re.M)
    return {stage: re.findall(r"`([\w/]+)`(?=(?:, `[\w/]+`)* —)", body) for stage, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_the_architecture_doc_lists_every_module_once():
    """One home for the module list: a new module gets its line, a removed one loses it."""
    listed = _listed_modules()
    assert sorted(listed) == sorted(["mlgitops", *STAGES])
    assert sorted(listed.pop("mlgitops")) == ["__main__", "cli"]
    for stage in STAGES:
        folder = PACKAGE / stage
        modules = [p.relative_to(folder).with_suffix("").as_posix() for p in folder.rglob("*.py")]
        expected = sorted(m.removesuffix("/__init__") + "/" if m.endswith("/__init__") else m
                          for m in modules if m != "__init__")
        assert sorted(listed[stage]) == expected, stage
