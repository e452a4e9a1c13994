"""`generate` under faults: unwritable folders, a write failing part-way, Ctrl-C part-way, a held
lock, temp files left by a killed run, and a models/ folder that holds no specs.

chmod cannot stop root, so as root the permission tests simulate the fault instead: `os.access`
denies a folder (the check before the first write), or the write primitive fails on the Nth file.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import threading

import pytest
from conftest import run_cli, snapshot
from mlgitops.tree import writer

AS_ROOT = os.geteuid() == 0
needs_chmod = pytest.mark.skipif(AS_ROOT, reason="root writes through chmod")


def _change_every_file(repo) -> None:
    """A config change that rewrites every generated file (their labels name the team)."""
    for spec in (repo / "models").glob("*.yaml"):
        spec.write_text(spec.read_text().replace('version: "', 'version: "9', 1))


def _fail_on(monkeypatch, n: int, error: BaseException) -> list[str]:
    """Make the n-th file write raise error; returns the paths written before it."""
    written: list[str] = []
    real = writer.write_atomic

    def flaky(path, content, make_parent=True, stat=False):
        if len(written) == n - 1:
            raise error
        found = real(path, content, make_parent, stat)
        written.append(str(path))
        return found

    monkeypatch.setattr(writer, "write_atomic", flaky)
    return written


@needs_chmod
def test_a_read_only_overlay_folder_stops_generate_before_the_first_write(generated, capsys):
    _change_every_file(generated)
    folder = generated / "overlays/prod/house-prices"
    before = snapshot(generated)
    folder.chmod(0o555)
    try:
        result = run_cli(capsys, "generate", "--repo", str(generated))
    finally:
        folder.chmod(0o755)
    assert result.code == 2
    assert result.err.splitlines()[0] == (f"mlgitops: error: cannot write into {folder}: not writable; "
                                          "nothing was written")
    assert snapshot(generated) == before


def test_an_unwritable_folder_is_found_before_the_first_write(generated, capsys, monkeypatch):
    _change_every_file(generated)
    folder = generated / "overlays/prod/house-prices"
    real = os.access
    monkeypatch.setattr(writer.os, "access", lambda p, mode: os.fspath(p) != str(folder) and real(p, mode))
    before = snapshot(generated)
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert result.code == 2
    assert result.err == (f"mlgitops: error: cannot write into {folder}: not writable; nothing was written\n"
                          "    hint: make it writable, then re-run 'mlgitops generate'\n")
    assert snapshot(generated) == before
    assert list(generated.rglob("*.tmp")) == []


def test_a_write_failing_part_way_names_every_file_already_written(generated, capsys, monkeypatch):
    _change_every_file(generated)
    written = _fail_on(monkeypatch, 4, PermissionError(13, "Permission denied"))
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert result.code == 2
    lines = result.err.splitlines()
    assert lines[0].startswith("mlgitops: error: cannot write base/") and lines[0].endswith(": Permission denied")
    assert lines[1] == "the tree is partial: 3 files were already changed:"
    assert [line.strip() for line in lines[2:5]] == [os.path.relpath(p, generated) for p in written]
    assert lines[5] == "    hint: fix the cause, then re-run 'mlgitops generate': it repairs the tree"
    assert "Traceback" not in result.err
    monkeypatch.undo()
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0
    assert run_cli(capsys, "generate", "--check", "--repo", str(generated)).code == 0


def test_ctrl_c_part_way_says_the_tree_is_partial(generated, capsys, monkeypatch):
    _change_every_file(generated)
    _fail_on(monkeypatch, 3, KeyboardInterrupt())
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert result.code == 130
    assert re.search(r"\nmlgitops: interrupted: the tree is partial \(2 of \d+ files changed\); "
                     r"re-run 'mlgitops generate' to repair it\n$", result.err), result.err
    assert list(generated.rglob("*.tmp")) == []


@needs_chmod
def test_a_read_only_repository_root_is_one_line_about_the_lock(generated, capsys):
    _change_every_file(generated)
    generated.chmod(0o555)
    try:
        result = run_cli(capsys, "generate", "--repo", str(generated))
    finally:
        generated.chmod(0o755)
    assert result.code == 2
    assert result.err.startswith(f"mlgitops: error: cannot create the lock file {generated}/.mlgitops.lock: "
                                 "Permission denied\n")


def test_a_lock_file_that_cannot_be_opened_is_one_line(generated, capsys):
    (generated / ".mlgitops.lock").unlink()
    (generated / ".mlgitops.lock").mkdir()
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert result.code == 2
    assert result.err.startswith(f"mlgitops: error: cannot create the lock file {generated}/.mlgitops.lock: "
                                 "Is a directory\n")
    assert "Traceback" not in result.err


def test_a_run_waiting_on_the_lock_says_so_once_then_proceeds(generated, monkeypatch):
    monkeypatch.setattr(writer, "WAIT_NOTICE", 0.0)
    heard: list[str] = []
    got_it = threading.Event()

    def second_run():
        with writer.locked(generated, notify=heard.append):
            got_it.set()

    with open(generated / writer.LOCK_FILE, "a+") as first:
        fcntl.flock(first, fcntl.LOCK_EX)
        thread = threading.Thread(target=second_run)
        thread.start()
        while not heard:
            assert thread.is_alive()
            threading.Event().wait(0.01)
        assert not got_it.is_set()
        fcntl.flock(first, fcntl.LOCK_UN)
    thread.join()
    assert got_it.is_set()
    assert heard == ["waiting for another mlgitops run to finish (it holds .mlgitops.lock)"]


LEFTOVER = "overlays/prod/house-prices/.kustomization.yaml.4242.tmp"


def test_a_temp_file_left_by_a_killed_run_fails_generate_check(generated, capsys):
    (generated / LEFTOVER).write_bytes(b"# Generated by mlgitops from models/house-prices.yaml\nkind: Kustom")
    result = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert result.code == 1
    assert (f"{LEFTOVER}: is a temp file left by an interrupted mlgitops run (leftover-temp)\n"
            "    hint: run 'mlgitops generate' to remove it\n") in result.err


def test_generate_removes_temp_files_left_by_a_killed_run_and_says_so(generated, capsys):
    (generated / LEFTOVER).write_bytes(b"")
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert result.code == 0
    assert result.err.endswith(f"0 written, 0 deleted, {_generated_files(generated)} unchanged, "
                               "1 leftover temp files removed\n")
    assert not (generated / LEFTOVER).exists()
    assert run_cli(capsys, "generate", "--check", "--repo", str(generated)).code == 0


def test_check_reports_a_temp_file_left_by_a_killed_run(checked, capsys):
    (checked / LEFTOVER).write_bytes(b"")
    result = run_cli(capsys, "check", "--format", "json", "--repo", str(checked))
    assert result.code == 1
    assert [(f["file"], f["rule"]) for f in json.loads(result.out)["findings"]] == [(LEFTOVER, "leftover-temp")]


def _generated_files(repo) -> int:
    return sum(1 for top in ("base", "overlays", "clusters") for p in (repo / top).rglob("*") if p.is_file())


def _model_files(repo) -> int:
    """What a run with no specs would delete: all but the shared sync objects (namespaces, the Git source)."""
    shared = sum(1 for p in (repo / "clusters").glob("*/*/*") if p.is_file())
    return _generated_files(repo) - shared


def _no_models(repo, how: str) -> None:
    shutil.rmtree(repo / "models")
    if how == "empty":
        (repo / "models").mkdir()
    elif how == "a file":
        (repo / "models").write_text("not a folder\n")


@pytest.mark.parametrize(("how", "why"), [("missing", "models/ does not exist"), ("empty", "models/ holds no specs"),
                                          ("a file", "models is not a folder")], ids=["missing", "empty", "file"])
def test_no_specs_never_deletes_the_whole_tree_silently(generated, capsys, how, why):
    _no_models(generated, how)
    before = snapshot(generated)
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert result.code == 2
    assert result.err.startswith(f"mlgitops: error: {why} ({generated}/models): generate would delete the "
                                 f"{_model_files(generated)} generated files of every model; nothing was written\n"
                                 "    hint: restore the specs (or run from the right folder), or run "
                                 "'mlgitops generate --prune-all' to delete them\n")
    assert snapshot(generated) == before


def test_prune_all_deletes_the_whole_tree_when_asked(generated, capsys):
    _no_models(generated, "empty")
    count = _model_files(generated)
    result = run_cli(capsys, "generate", "--prune-all", "--repo", str(generated))
    assert result.code == 0
    assert f"0 written, {count} deleted" in result.err
    assert not (generated / "base").exists() or list((generated / "base").rglob("*.yaml")) == []


def test_a_new_repository_without_specs_generates_nothing_and_succeeds(tmp_path, capsys):
    repo = tmp_path / "repo"
    assert run_cli(capsys, "init", str(repo)).code == 0
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 0, result.err


@pytest.mark.slow
def test_a_second_generate_says_on_stderr_that_it_waits_for_the_lock(generated):
    _change_every_file(generated)
    with open(generated / writer.LOCK_FILE, "a+") as first:
        fcntl.flock(first, fcntl.LOCK_EX)
        second = subprocess.Popen([sys.executable, "-m", "mlgitops", "generate", "--repo", str(generated)],
                                  stderr=subprocess.PIPE, text=True)
        assert second.stderr is not None
        line = second.stderr.readline()  # blocks until it says something: it must not finish while we hold the lock
        fcntl.flock(first, fcntl.LOCK_UN)
    rest = second.stderr.read()
    assert second.wait(timeout=120) == 0
    assert line == "waiting for another mlgitops run to finish (it holds .mlgitops.lock)\n"
    assert "waiting" not in rest and " written, " in rest
