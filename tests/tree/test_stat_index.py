"""The stat index (tree/stat_index.py): an unchanged run reads no generated file, yet every hand edit, deleted
or extra file is found as before, and a change in the same clock tick as the stat recorded (racy) is read.
Files a run writes are recorded too (their stat right after the write, older than the clock at save time)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from mlgitops.tree import cache, generation, stat_index, writer

DEPLOYMENT = "base/house-prices/deployment.yaml"


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The generated files each scan reads (writer._read), in order."""
    seen: list[str] = []
    real = writer._read

    def counting(path: str) -> bytes:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(writer, "_read", counting)
    return seen


def _generate(root: Path, check: bool = False) -> generation.Outcome:
    outcome = generation.run(root, check=check)
    assert not [f for f in outcome.findings if f.severity.name == "ERROR"], outcome.findings
    return outcome


def _indexed(repo: Path) -> Path:
    """repo generated (again) until the index holds every file: a run records the files it wrote or read,
    except those written in the clock tick of its stamp (racy: the next run reads them again)."""
    for _ in range(100):
        _generate(repo)
        if set(stat_index.StatIndex(repo, {}, {}).loaded) == set(writer.scan(repo)):
            return repo
        time.sleep(0.01)  # for the file system's clock to move on
    raise AssertionError("the index never held every generated file")


def _rel(reads: list[str], root: Path) -> set[str]:
    return {os.path.relpath(p, root) for p in reads}


def test_an_unchanged_run_reads_no_generated_file_once_the_index_knows_them(repo, reads):
    _indexed(repo)
    files = len(writer.scan(repo))
    reads.clear()
    third = _generate(repo)
    assert reads == [] and third.plan is not None and third.plan.unchanged == files and not third.plan.changed
    assert _generate(repo, check=True).exit_code == 0 and reads == []  # --check trusts the same index


def test_an_edit_that_changes_the_size_is_found(repo, reads):
    _indexed(repo)
    path = repo / DEPLOYMENT
    path.write_bytes(path.read_bytes() + b"# more\n")
    reads.clear()
    checked = _generate(repo, check=True)
    assert checked.exit_code == 1 and DEPLOYMENT in checked.diff and _rel(reads, repo) == {DEPLOYMENT}
    outcome = _generate(repo)
    assert outcome.plan is not None and list(outcome.plan.write) == [DEPLOYMENT]
    assert not path.read_bytes().endswith(b"# more\n")


def test_an_edit_keeping_size_and_mtime_is_found_by_its_ctime(repo, reads):
    _indexed(repo)
    path = repo / DEPLOYMENT
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"replicas: 2", b"replicas: 9"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as recorded; ctime is now
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    reads.clear()
    assert _generate(repo, check=True).exit_code == 1 and _rel(reads, repo) == {DEPLOYMENT}
    outcome = _generate(repo)
    assert outcome.plan is not None and list(outcome.plan.write) == [DEPLOYMENT]
    assert b"replicas: 2" in path.read_bytes()


def test_a_racy_file_is_not_recorded_so_an_edit_in_the_same_tick_is_read(repo, reads, monkeypatch):
    """A file whose mtime or ctime is not older than the clock read before the scan could change again in
    the same tick with the very same stat (size, mtime, ctime, inode): it is never vouched for."""
    _generate(repo)
    path = repo / DEPLOYMENT
    tick = path.stat().st_ctime_ns
    real_clock = writer.clock
    monkeypatch.setattr(writer, "clock", lambda root: tick)  # the scan began in the tick the file was written
    _generate(repo)
    monkeypatch.setattr(writer, "clock", real_clock)
    recorded = stat_index.StatIndex(repo, {}, {}).loaded
    assert DEPLOYMENT not in recorded
    times = [stat_index._STAT.unpack_from(record)[3:5] for record in recorded.values()]
    assert all(mtime < tick and ctime < tick for mtime, ctime in times)
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"replicas: 2", b"replicas: 9"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    reads.clear()
    assert _generate(repo, check=True).exit_code == 1
    assert DEPLOYMENT in _rel(reads, repo) and _rel(reads, repo) == set(writer.scan(repo)) - set(recorded)


def test_a_racy_clock_records_nothing_and_a_missing_clock_saves_nothing(repo, reads, monkeypatch):
    _generate(repo)
    files = len(writer.scan(repo))
    monkeypatch.setattr(writer, "clock", lambda root: 0)  # every file as new as the scan: all racy
    _generate(repo)
    monkeypatch.setattr(writer, "clock", lambda root: None)  # the clock could not be read: no index saved
    reads.clear()
    _generate(repo)
    assert len(reads) == files
    reads.clear()
    _generate(repo)
    assert len(reads) == files


def test_a_deleted_file_is_written_again_and_an_extra_generated_file_deleted(repo, reads):
    _indexed(repo)
    (repo / DEPLOYMENT).unlink()
    extra = repo / "base/house-prices/extra.yaml"
    extra.write_bytes((repo / "base/house-prices/service.yaml").read_bytes())
    reads.clear()
    checked = _generate(repo, check=True)
    assert checked.exit_code == 1 and _rel(reads, repo) == {"base/house-prices/extra.yaml"}
    outcome = _generate(repo)
    assert outcome.plan is not None and list(outcome.plan.write) == [DEPLOYMENT]
    assert outcome.plan.delete == ["base/house-prices/extra.yaml"] and not extra.exists()
    assert _generate(repo, check=True).exit_code == 0


def test_a_changed_spec_reads_its_files_again(repo, reads):
    _indexed(repo)
    spec = repo / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("team: ", "team: x", 1))
    reads.clear()
    outcome = _generate(repo)
    assert outcome.plan is not None and outcome.plan.write
    read = _rel(reads, repo)
    assert read and all("house-prices" in p for p in read)  # its own files only: other specs are vouched for


def test_a_damaged_or_foreign_index_is_only_a_slower_run(repo, reads):
    _indexed(repo)
    files = len(writer.scan(repo))
    store = cache.Store(repo, "stat-index")
    entry = store.path(cache.key(stat_index.FORMAT))
    blob = bytearray(entry.read_bytes())
    blob[-5] ^= 1  # one bit of the payload: the signature no longer verifies
    entry.write_bytes(bytes(blob))
    (repo / DEPLOYMENT).write_bytes((repo / DEPLOYMENT).read_bytes().replace(b"replicas: 2", b"replicas: 7"))
    reads.clear()
    outcome = _generate(repo)
    assert len(reads) == files and outcome.plan is not None and list(outcome.plan.write) == [DEPLOYMENT]


def test_a_copied_repository_trusts_nothing_of_the_original_index(repo, tmp_path, reads):
    """Another path is another cache folder; and a file copied keeps no inode or ctime of the original."""
    _indexed(repo)
    entries = cache.location(repo)
    import shutil

    other = tmp_path / "other"
    shutil.copytree(repo, other, symlinks=True)
    shutil.copytree(entries, cache.location(other), symlinks=True)
    reads.clear()
    _generate(other)
    assert len(reads) == len(writer.scan(other))


def test_generate_check_names_a_hand_written_synced_file_from_its_one_scan(generated, capsys, reads):
    from conftest import run_cli

    (generated / "clusters/prod/flux/kube-system").mkdir()
    (generated / "clusters/prod/flux/kube-system/pod.yaml").write_text("apiVersion: v1\nkind: Pod\n")
    reads.clear()
    result = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert result.code == 0
    assert "clusters/prod/flux/kube-system/pod.yaml:1:1: is not generated by mlgitops, but flux applies" in result.err
    assert len(reads) == len(set(reads))  # every file read once: the hand-written check reuses the scan


def test_a_file_vouched_for_under_a_clock_set_back_is_not_recorded_again(repo, reads, monkeypatch):
    """The racy rule holds for the files vouched for too: one whose recorded times are not older than this scan's
    clock (set back since) is still taken as recorded, but dropped from the index, so the next run reads it."""
    _indexed(repo)
    files = len(writer.scan(repo))
    monkeypatch.setattr(writer, "clock", lambda root: 0)  # earlier than every recorded mtime and ctime
    reads.clear()
    outcome = _generate(repo)
    assert reads == [] and outcome.plan is not None and outcome.plan.unchanged == files
    assert stat_index.StatIndex(repo, {}, {}).loaded == {}


def _written_and_recorded(repo: Path, monkeypatch) -> set[str]:
    """repo generated once (cold), its save stamp a clock tick past every write; the files the index recorded."""
    real_clock = writer.clock
    calls: list[int] = []

    def later(root: Path) -> int | None:  # the scan's stamp as read; the save's one tick on (as a later save sees)
        now = real_clock(root)
        calls.append(0)
        return now if now is None or len(calls) == 1 else now + 1
    monkeypatch.setattr(writer, "clock", later)
    outcome = _generate(repo)
    monkeypatch.setattr(writer, "clock", real_clock)
    assert outcome.plan is not None and outcome.plan.write and len(calls) == 2
    return set(stat_index.StatIndex(repo, {}, {}).loaded)


def test_the_files_a_run_writes_are_recorded_so_the_next_run_reads_none(repo, reads, monkeypatch):
    recorded = _written_and_recorded(repo, monkeypatch)
    assert recorded == set(writer.scan(repo))  # every file was written by the cold run
    reads.clear()
    outcome = _generate(repo)
    assert reads == [] and outcome.plan is not None and not outcome.plan.changed


def test_a_written_file_is_not_recorded_in_the_tick_of_the_save_stamp(repo, reads, monkeypatch):
    _generate(repo)
    path = repo / DEPLOYMENT
    spec = repo / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("team: ", "team: x", 1))  # its files are written again
    real_clock = writer.clock
    stamps: list[int | None] = []

    def at_write(root: Path) -> int | None:  # the save's stamp in the tick the deployment was written
        stamps.append(real_clock(root))
        return stamps[-1] if len(stamps) == 1 else path.stat().st_ctime_ns
    monkeypatch.setattr(writer, "clock", at_write)
    _generate(repo)
    monkeypatch.setattr(writer, "clock", real_clock)
    assert DEPLOYMENT not in stat_index.StatIndex(repo, {}, {}).loaded
    reads.clear()
    _generate(repo)
    assert DEPLOYMENT in _rel(reads, repo)


@pytest.mark.parametrize("keep", ["size and mtime", "size"])
def test_a_written_file_edited_afterwards_is_found_by_generate_and_check(repo, reads, monkeypatch, keep):
    """An edit after generate wrote the file, keeping its size (and mtime, set back with utime): its ctime
    is not the one recorded right after the write."""
    assert DEPLOYMENT in _written_and_recorded(repo, monkeypatch)
    path = repo / DEPLOYMENT
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"replicas: 2", b"replicas: 9"))
    if keep == "size and mtime":
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_ino) == (before.st_size, before.st_ino)
    reads.clear()
    checked = _generate(repo, check=True)
    assert checked.exit_code == 1 and DEPLOYMENT in checked.diff and _rel(reads, repo) == {DEPLOYMENT}
    outcome = _generate(repo)
    assert outcome.plan is not None and list(outcome.plan.write) == [DEPLOYMENT]
    assert b"replicas: 2" in path.read_bytes()


def test_a_copied_checkout_and_index_vouch_for_nothing_written_in_the_original(repo, tmp_path, reads, monkeypatch):
    """The index of a cold run (its written files recorded) copied with the checkout, into the copy's cache
    folder and over a fresh generate's index: another inode, another ctime, another folder's key."""
    import shutil

    _written_and_recorded(repo, monkeypatch)
    other = tmp_path / "other"
    shutil.copytree(repo, other, symlinks=True)
    shutil.copytree(cache.location(repo), cache.location(other), symlinks=True)
    reads.clear()
    _generate(other, check=True)
    assert len(reads) == len(writer.scan(other))
    planted = other / cache.LEGACY_DIR  # an index committed in the repository is never read either
    shutil.copytree(cache.location(repo), planted, symlinks=True)
    shutil.rmtree(cache.location(other))
    reads.clear()
    _generate(other, check=True)
    assert len(reads) == len(writer.scan(other))
