"""`mlgitops check`: each policy rule passes and fails on a spec, pointing at the line to change."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, make_repo, run_cli
from mlgitops.check import pipeline as check

CASES = sorted(p for p in (ROOT / "tests/cases/policies").iterdir() if p.is_dir())
# The pod-security-patch-* cases each add one more restricted control through a raw patch: make test keeps two
# (runs-as-root, adds-host-port: a raw patch's pod refused by Pod Security, reported at the spec line), and the
# controls themselves on the upstream fixtures (tests/kube/test_podsecurity.py); the other six are exhaustive
# (make test-all and .ci/run run every case).
POD_SECURITY_KEPT = ("pod-security-patch-runs-as-root", "pod-security-patch-adds-host-port")


def _case_marks(case: Path) -> tuple:
    if case.name.startswith("pod-security-patch-") and case.name not in POD_SECURITY_KEPT:
        return (pytest.mark.exhaustive,)
    return ()


def checked_repo(tmp_path: Path, spec: Path, capsys) -> Path:
    repo = make_repo(tmp_path / "repo", models=[])
    (repo / "models/m.yaml").write_bytes(spec.read_bytes())
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 0, result.err
    return repo


@pytest.mark.slow
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=_case_marks(c)) for c in CASES])
def test_policy_case(case, tmp_path, capsys):
    repo = checked_repo(tmp_path, case / "model.yaml", capsys)
    result = check.run(check.Options(repo, use_cache=False))
    got = [f"{f.location()}: {f.message} ({f.rule})" for f in sorted(result.findings, key=lambda f: f.sort_key())]
    expected_file = case / "expected.txt"
    expected = expected_file.read_text().splitlines() if expected_file.exists() else []
    assert got == expected
