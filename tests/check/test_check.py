"""`mlgitops check`: each policy rule passes and fails on a spec, pointing at the line to change."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, make_repo, run_cli
from mlgitops.check import pipeline as check

CASES = sorted(p for p in (ROOT / "tests/cases/policies").iterdir() if p.is_dir())


def checked_repo(tmp_path: Path, spec: Path, capsys) -> Path:
    repo = make_repo(tmp_path / "repo", models=[])
    (repo / "models/m.yaml").write_bytes(spec.read_bytes())
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 0, result.err
    return repo


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_policy_case(case, tmp_path, capsys):
    repo = checked_repo(tmp_path, case / "model.yaml", capsys)
    result = check.run(check.Options(repo, use_cache=False))
    got = [f"{f.location()}: {f.message} ({f.rule})" for f in sorted(result.findings, key=lambda f: f.sort_key())]
    expected_file = case / "expected.txt"
    expected = expected_file.read_text().splitlines() if expected_file.exists() else []
    assert got == expected
