"""The manifest corpus: each case's verdicts, reasoned from `kubeconform -strict`, are ours too.

Cases live in tests/cases/manifests/ with their expected verdicts (one per resource, in order) and
the reason in expected.json; adding a case is adding a file and an entry, no code.
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, run_cli

CORPUS = ROOT / "tests/cases/manifests"
CASES = json.loads((CORPUS / "expected.json").read_text())


def _id(case: dict) -> str:
    return " ".join([case["file"], *case.get("flags", [])])


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_verdicts_are_kubeconforms(capsys, case):
    run = run_cli(capsys, "validate", "--format", "json", *case.get("flags", []), str(CORPUS / case["file"]))
    verdicts = [r["verdict"] for r in json.loads(run.out)["resources"]]
    assert verdicts == case["verdicts"], case["why"]
    assert run.code == (1 if {"invalid", "error"} & set(verdicts) else 0)


def test_every_corpus_file_has_expected_verdicts():
    files = {p.name for p in CORPUS.iterdir() if p.suffix in (".yaml", ".json") and p.name != "expected.json"}
    assert files == {c["file"] for c in CASES}
    assert all(c["why"] for c in CASES)
