"""A read-only checkout (CI sandboxes, a reviewer's clone): `generate --check`, `diff --no-cache`,
`validate`, `status` and `check --no-cache` work and write nothing at all: no lock file, no cache, no temp file, in the repository or
outside. (Without --no-cache, diff keeps built objects in its cache outside the repository, like check; a cache it
cannot write is a one-line warning, never a failure.)

As root chmod cannot make a folder read-only, so the main test compares every byte, mtime and name
on disk before and after; the chmod variant runs for other users."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import run_cli
from mlgitops.tree import cache

COMMANDS = [("generate", "--check"), ("diff", "--base", "HEAD", "--no-cache"), ("validate", "--skip", "Kustomization", "base"),
            ("status",), ("check", "--no-cache")]
GIT = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@example.com"}


def everything(top) -> dict[str, tuple]:
    """Every file and folder under top but .git (names, bytes, mtimes), dotfiles and the cache included."""
    out: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in dirs + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            content = Path(path).read_bytes() if name in files else b""
            out[os.path.relpath(path, top)] = (content, info.st_mtime_ns)
    return out


@pytest.fixture
def checkout(generated, monkeypatch, tmp_path):
    """The generated example repository, committed to Git, with no cache; temp files go to scratch/."""
    shutil.rmtree(cache.location(generated), ignore_errors=True)
    (generated / ".mlgitops.lock").unlink(missing_ok=True)
    env = {**os.environ, **GIT}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "specs"]):
        subprocess.run(["git", *args], cwd=generated, check=True, env=env)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(generated)
    return generated


@pytest.mark.slow
@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_read_only_commands_write_nothing(checkout, capsys, args):
    before = everything(checkout)
    result = run_cli(capsys, *args)
    assert result.code == 0, result.err
    assert everything(checkout) == before
    assert os.listdir(tempfile.gettempdir()) == []  # scratch folders removed too


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod")
@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_read_only_commands_work_in_a_read_only_checkout(checkout, capsys, args):
    modes = {}
    for folder, dirs, files in os.walk(checkout):
        for name in [*dirs, *files, "."]:
            path = os.path.join(folder, name)
            modes[path] = os.stat(path).st_mode
            os.chmod(path, modes[path] & ~0o222)
    try:
        result = run_cli(capsys, *args)
    finally:
        for path, mode in modes.items():
            os.chmod(path, mode)
    assert result.code == 0, result.err
