"""`new`, `init` and `schemas export` on a path they cannot write: one line naming it, exit 2, no
traceback. As root (chmod cannot stop it) the permission case makes the write primitive fail."""

from __future__ import annotations

import os

import pytest
from conftest import run_cli
from mlgitops.commands import scaffold

IMAGE = "registry.example.com/team/x:1.0.0"


def one_line_error(result, text: str) -> None:
    assert result.code == 2
    assert "Traceback" not in result.err
    assert result.err.splitlines()[0] == f"mlgitops: error: {text}"


def test_new_when_models_is_a_file(repo, capsys):
    for spec in (repo / "models").iterdir():
        spec.unlink()
    (repo / "models").rmdir()
    (repo / "models").write_text("not a folder\n")
    one_line_error(run_cli(capsys, "new", "x", "--image", IMAGE, "--repo", str(repo)),
                   "cannot write models/x.yaml: models is not a folder")


def test_new_when_models_cannot_be_written(repo, capsys, monkeypatch):
    def denied(path, content, make_parent=True):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(scaffold, "write_atomic", denied)
    one_line_error(run_cli(capsys, "new", "x", "--image", IMAGE, "--repo", str(repo)),
                   f"cannot write {repo}/models/x.yaml: Permission denied")
    assert not (repo / "models/x.yaml").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod")
def test_new_in_a_read_only_models_folder(repo, capsys):
    (repo / "models").chmod(0o555)
    try:
        result = run_cli(capsys, "new", "x", "--image", IMAGE, "--repo", str(repo))
    finally:
        (repo / "models").chmod(0o755)
    one_line_error(result, f"cannot write {repo}/models/x.yaml: Permission denied")
    assert [p.name for p in (repo / "models").iterdir() if p.name.startswith(".")] == []


def test_init_under_a_file(tmp_path, capsys):
    (tmp_path / "afile").write_text("x\n")
    one_line_error(run_cli(capsys, "init", str(tmp_path / "afile/repo")),
                   f"cannot create {tmp_path}/afile/repo: Not a directory")


def test_init_where_models_is_a_file(tmp_path, capsys):
    (tmp_path / "models").write_text("x\n")
    one_line_error(run_cli(capsys, "init", str(tmp_path)), f"cannot create {tmp_path}/models: it is not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod")
def test_init_in_a_read_only_folder(tmp_path, capsys):
    tmp_path.chmod(0o555)
    try:
        result = run_cli(capsys, "init", str(tmp_path))
    finally:
        tmp_path.chmod(0o755)
    one_line_error(result, f"cannot write {tmp_path}/mlgitops.yaml: Permission denied")


def test_schemas_export_under_a_file(tmp_path, capsys):
    (tmp_path / "afile").write_text("x\n")
    one_line_error(run_cli(capsys, "schemas", "export", str(tmp_path / "afile/out")),
                   f"cannot write schemas to {tmp_path}/afile/out: Not a directory")
