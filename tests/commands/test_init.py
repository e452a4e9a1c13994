"""`mlgitops init`: where CI and pre-commit get mlgitops, .gitattributes, CODEOWNERS, and what it says next.

Golden cases under tests/cases/init/<case>/: `args.txt` (init's options), `given/` (files already there), and
`expected/` (the files init writes that depend on them, and `stderr.txt`). MLGITOPS_UPDATE_GOLDEN=1 rewrites
`expected/`; read every changed line before committing it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import run_cli
from mlgitops.commands import codeowners, source
from mlgitops.report.findings import FatalError

CASES = Path(__file__).resolve().parents[1] / "cases/init"
COMPARED = (".github/workflows/mlgitops.yml", ".pre-commit-config.yaml", ".gitattributes", ".github/CODEOWNERS")
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()), ids=str)
def test_init_golden(case, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(source, "installed", lambda: None)  # as from a checkout, whatever installed this one
    folder = CASES / case
    repo = tmp_path / "repo"
    if (folder / "given").is_dir():
        shutil.copytree(folder / "given", repo)
    result = run_cli(capsys, "init", str(repo), *(folder / "args.txt").read_text().split())
    assert result.code == 0, result.err
    got = {rel: (repo / rel).read_text() for rel in COMPARED if (repo / rel).exists()}
    got["stderr.txt"] = result.err.replace(str(repo), "REPO")
    expected = folder / "expected"
    if os.environ.get("MLGITOPS_UPDATE_GOLDEN"):
        shutil.rmtree(expected, ignore_errors=True)
        for rel, text in got.items():
            (expected / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected / rel).write_text(text)
    want = {p.relative_to(expected).as_posix(): p.read_text() for p in expected.rglob("*") if p.is_file()}
    assert sorted(got) == sorted(want)
    for rel, text in want.items():
        assert got[rel].splitlines() == text.splitlines(), rel


def test_a_team_added_to_code_owners_is_one_init_away_and_a_persons_codeowners_is_kept(tmp_path, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(CASES / "code-owners/given", repo)
    assert run_cli(capsys, "init", str(repo)).code == 0
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text() + '  risk: ["@acme/risk"]\n')
    result = run_cli(capsys, "init", str(repo))
    assert "wrote .github/CODEOWNERS" in result.err and "no code owners" not in result.err
    assert "/models/fraud-detector.yaml @acme/risk" in (repo / codeowners.PATH).read_text()
    (repo / codeowners.PATH).write_text("* @me\n")  # a person's now
    assert "CODEOWNERS" not in run_cli(capsys, "init", str(repo)).err
    assert (repo / codeowners.PATH).read_text() == "* @me\n"


def test_init_adds_the_generated_marks_a_gitattributes_lacks(tmp_path, capsys):
    (tmp_path / ".gitattributes").write_text("*.png binary\nbase/** linguist-generated=true\n")
    assert run_cli(capsys, "init", str(tmp_path)).code == 0
    assert (tmp_path / ".gitattributes").read_text().splitlines() == [
        "*.png binary", "base/** linguist-generated=true", "overlays/** linguist-generated=true",
        "clusters/** linguist-generated=true"]


@pytest.mark.parametrize("text, expected", [
    (f"acme/mlgitops@{SHA}", ("action", "acme/mlgitops", "https://github.com/acme/mlgitops")),
    (f"git+https://git.example.com/ml/mlgitops.git@{SHA}",
     ("git", "https://git.example.com/ml/mlgitops.git", "https://git.example.com/ml/mlgitops.git")),
    (f"git+ssh://git@git.example.com/ml/mlgitops@{SHA}",
     ("git", "ssh://git@git.example.com/ml/mlgitops", "ssh://git@git.example.com/ml/mlgitops")),
], ids=["action", "git-https", "git-ssh-with-user"])
def test_a_source_is_a_repository_and_a_full_commit(text, expected):
    parsed = source.parse(text)
    assert (parsed.kind, parsed.location, parsed.hooks_repo) == expected and parsed.commit == SHA
    assert str(parsed) == text


@pytest.mark.parametrize("text, hint", [
    ("mlgitops", "OWNER/REPO@COMMIT"),
    ("mlgitops==0.1.0", "OWNER/REPO@COMMIT"),
    ("acme/mlgitops@v1.2.0", "pin a full commit"),
    ("acme/mlgitops@0123abc", "pin a full commit"),
    (f"git+https://x.example.com/a b@{SHA}", "OWNER/REPO@COMMIT"),
    (f"https://github.com/acme/mlgitops@{SHA}", "OWNER/REPO@COMMIT"),
], ids=["a-package-name", "a-pinned-package", "a-tag", "a-short-commit", "a-space", "no-git-plus"])
def test_anything_else_is_refused_before_anything_is_written(text, hint, tmp_path, capsys):
    with pytest.raises(FatalError) as refused:
        source.parse(text)
    assert hint in f"{refused.value}"
    result = run_cli(capsys, "init", str(tmp_path / "x"), "--mlgitops-source", text)
    assert result.code == 2 and "Traceback" not in result.err and not (tmp_path / "x").exists()


def _git_record(url: str, vcs: str = "git") -> str:
    return json.dumps({"url": url, "vcs_info": {"vcs": vcs, "commit_id": SHA}})


@pytest.mark.parametrize("record, expected", [
    (_git_record("https://github.com/acme/mlgitops.git"), f"acme/mlgitops@{SHA}"),
    (_git_record("ssh://git@git.example.com/ml/mlgitops"), f"git+ssh://git@git.example.com/ml/mlgitops@{SHA}"),
    ('{"url": "file:///src/mlgitops", "dir_info": {"editable": true}}', None),
    ('{"url": "https://x.example.com/mlgitops-0.1.0.tar.gz", "archive_info": {}}', None),
    (_git_record("https://github.com/acme/mlgitops", vcs="hg"), None),
    ("not json", None),
], ids=["github", "other-host", "editable", "archive", "not-git", "garbage"])
def test_init_knows_the_source_pip_recorded_for_a_git_install(record, expected):
    found = source.from_direct_url(record)
    assert (str(found) if found else None) == expected


def test_without_the_option_init_takes_mlgitops_from_where_pip_installed_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(source, "installed", lambda: source.parse(f"acme/mlgitops@{SHA}"))
    result = run_cli(capsys, "init", str(tmp_path))
    assert result.code == 0 and f"take mlgitops from acme/mlgitops@{SHA}" in result.err
    assert f"uses: acme/mlgitops@{SHA}" in (tmp_path / ".github/workflows/mlgitops.yml").read_text()
