"""A whole check result kept while nothing it read changed (check/memo.py): it answers an unchanged repository
without the pipeline, and never changes a verdict. Each test compares with `--no-cache`, which is the truth."""

from __future__ import annotations

import inspect
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import run_cli
from mlgitops.check import memo
from mlgitops.check import pipeline as check
from mlgitops.cli import main
from mlgitops.tree import cache, writer

pytestmark = pytest.mark.slow  # each test builds overlays with kustomize; make test-fast leaves them out

LATEST = ("house-prices:1.4.0", "house-prices:latest")  # a change that check refuses (image-latest)


def entries(repo: Path) -> list[Path]:
    return sorted(p for p in (cache.location(repo) / "check-memo").rglob("*") if p.is_file())


def cli(capsys, repo: Path, *args: str) -> tuple[int, str]:
    result = run_cli(capsys, "check", "--format", "json", "--repo", str(repo), *args)
    return result.code, result.out


def kept(capsys, repo: Path, *args: str) -> tuple[int, str]:
    """check until its result is kept (files changed in the tick a run begins in are racy: not kept then)."""
    for _ in range(100):
        before = set(entries(repo))
        found = cli(capsys, repo, *args)
        if set(entries(repo)) - before:
            return found
    raise AssertionError("no result was ever kept")


def no_pipeline(monkeypatch) -> None:
    monkeypatch.setattr(check, "run", lambda options: pytest.fail("the pipeline ran"))


def edit(repo: Path, old: str, new: str) -> None:
    spec = repo / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace(old, new))
    assert main(["generate", "--repo", str(repo)]) == 0


@pytest.fixture
def repository(checked) -> Path:
    """`checked`: every unit's result is in the cache, so a check builds only what a test changes (the memo is
    what these tests are about; test_check_cache.py holds the units' cache to --no-cache), no whole-run result."""
    shutil.rmtree(cache.location(checked) / "check-memo", ignore_errors=True)
    return checked


def test_an_unchanged_repository_is_answered_without_the_pipeline(repository, capsys, monkeypatch):
    truth = cli(capsys, repository, "--no-cache")
    assert kept(capsys, repository) == truth
    text = run_cli(capsys, "check", "--repo", str(repository))
    no_pipeline(monkeypatch)
    assert cli(capsys, repository) == truth
    again = run_cli(capsys, "check", "--repo", str(repository))
    assert (again.code, again.out, again.err) == (text.code, text.out, text.err)


def test_an_edit_keeping_size_and_mtime_is_seen(repository, capsys):
    truth = kept(capsys, repository)
    path = repository / "base/house-prices/deployment.yaml"
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"replicas: 2", b"replicas: 9"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as recorded; ctime is now
    edited = cli(capsys, repository)
    assert edited == cli(capsys, repository, "--no-cache") != truth
    assert "(drift)" in edited[1] or '"drift"' in edited[1]


def test_an_added_file_and_a_removed_one_are_seen(repository, capsys):
    kept(capsys, repository)
    (repository / "overlays/dev/house-prices/notes.yaml").write_text("kind: ConfigMap\n")
    added = cli(capsys, repository)
    assert added == cli(capsys, repository, "--no-cache") and "unreferenced-file" in added[1]
    (repository / "overlays/dev/house-prices/notes.yaml").unlink()
    (repository / "clusters").rename(repository / "clusters-away")
    removed = cli(capsys, repository)
    assert removed == cli(capsys, repository, "--no-cache") and removed[0] == 1


def test_a_spec_named_file_in_a_sub_folder_of_models_is_seen(repository, capsys):
    """models/ is stat-ed at every depth: a file added to a sub-folder is a finding of its own."""
    (repository / "models/team").mkdir()
    kept(capsys, repository)
    (repository / "models/team/x.yaml").write_text("x: 1\n")
    warm = cli(capsys, repository)
    assert warm == cli(capsys, repository, "--no-cache") and "models/team/x.yaml" in warm[1]


def test_a_deep_tree_is_walked_without_recursion(repository, monkeypatch):
    """The memo's walk was recursive: a tree 1,100 folders deep under overlays/ (or models/) was a RecursionError,
    a traceback. Shown with 300 folders under a recursion limit 150 frames above this test's own depth (a tree
    deeper than pytest's own clean-up can take is never left behind in the shared temp folder)."""
    for top in ("overlays/deep", "models/deep"):
        os.makedirs(os.path.join(repository, top, *["a"] * 300))
    depth = len(inspect.stack())
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 150)
    try:
        found = memo.snapshot(repository)
    finally:
        sys.setrecursionlimit(limit)
    assert found is not None


def test_an_entry_of_another_state_or_altered_is_a_miss(repository, capsys):
    """A verdict kept for a clean tree, copied over (or edited into) the entry of a tree with an error."""
    kept(capsys, repository)
    clean = entries(repository)
    edit(repository, *LATEST)
    truth = cli(capsys, repository, "--no-cache")
    assert truth[0] == 1 and "image-latest" in truth[1]
    assert kept(capsys, repository) == truth
    (poisoned,) = set(entries(repository)) - set(clean)
    shutil.copy(clean[0], poisoned)
    assert cli(capsys, repository) == truth
    blob = poisoned.read_bytes()  # (the run above kept its result again)
    poisoned.write_bytes(blob.replace(b'"severity": "error"', b'"severity": "warning"'))
    assert poisoned.read_bytes() != blob
    assert cli(capsys, repository) == truth


def test_shards_are_kept_apart(repository, capsys):
    for shard in ("1/2", "2/2", "1/2", "2/2"):
        assert cli(capsys, repository, "--shard", shard) == cli(capsys, repository, "--shard", shard, "--no-cache")
    assert len(entries(repository)) >= 2


def test_a_symlink_in_the_tree_keeps_nothing(repository, capsys):
    (repository / "overlays/dev/house-prices/link.yaml").symlink_to("kustomization.yaml")
    truth = cli(capsys, repository, "--no-cache")
    assert cli(capsys, repository) == cli(capsys, repository) == truth
    assert entries(repository) == []


def test_a_build_reading_outside_the_generated_roots_keeps_nothing(repository, capsys):
    """A hand-edited kustomization naming a folder elsewhere: the files it reads are in no stat the memo takes."""
    (repository / "extra").mkdir()
    (repository / "extra/kustomization.yaml").write_text("resources:\n- x.yaml\n")
    (repository / "extra/x.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n")
    with open(repository / "overlays/dev/house-prices/kustomization.yaml", "a", encoding="utf-8") as handle:
        handle.write("- ../../../extra\n")  # its last key is resources
    for _ in range(3):
        cli(capsys, repository)
    assert entries(repository) == []


def test_without_a_lock_file_nothing_is_kept_and_none_is_created(repository, capsys):
    (repository / writer.LOCK_FILE).unlink()
    cli(capsys, repository)
    cli(capsys, repository)
    assert entries(repository) == [] and not (repository / writer.LOCK_FILE).exists()


def test_a_file_as_new_as_the_clock_keeps_nothing(repository, capsys, monkeypatch):
    monkeypatch.setattr(memo.writer, "clock", lambda root: 0)  # every file is then racy
    cli(capsys, repository)
    assert entries(repository) == []


def test_no_cache_and_verbose_keep_nothing(repository, capsys):
    cli(capsys, repository, "--no-cache")
    run_cli(capsys, "check", "-v", "--repo", str(repository))
    assert entries(repository) == []


def test_a_spec_changed_without_generate_is_seen(repository, capsys):
    truth = kept(capsys, repository)
    spec = repository / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("replicas: 2", "replicas: 3"))
    changed = cli(capsys, repository)
    assert changed == cli(capsys, repository, "--no-cache") != truth and changed[0] == 1


def test_another_kustomize_is_a_miss(repository, capsys, tmp_path, monkeypatch):
    """The kustomize program is part of the key: a wrapper that changes what it builds changes the verdict."""
    script = tmp_path / "k.sh"
    kubectl = os.path.join(os.path.dirname(sys.executable), "kubectl")  # the one installed with mlgitops
    script.write_text(f'if [ "$1" = version ]; then echo "fake 1"; exit 0; fi\n{kubectl} kustomize "$1"\n')
    monkeypatch.setenv("MLGITOPS_KUSTOMIZE", f"sh {script}")
    truth = kept(capsys, repository)
    script.write_text(script.read_text().replace('"$1"\n', '"$1" | sed \'s/runAsNonRoot: true/runAsNonRoot: false/\'\n'))
    changed = cli(capsys, repository)
    assert changed == cli(capsys, repository, "--no-cache") != truth and "runAsNonRoot" in changed[1]


def test_a_miss_stats_the_tree_once_and_still_sees_an_edit(repository, capsys, monkeypatch):
    """On a miss the pipeline's scan takes the memo's stats (and its clock, read before them) instead of
    stat-ing every generated file again; an edit the memo saw is found by the scan just the same."""
    kept(capsys, repository)
    path = repository / "base/house-prices/deployment.yaml"
    path.write_bytes(path.read_bytes().replace(b"replicas: 2", b"replicas: 9"))
    handed = []
    real_scan = check.stat_index.StatIndex.scan

    def scan(index, stamp=None, stats=None):
        handed.append((stamp, stats))
        return real_scan(index, stamp, stats)

    monkeypatch.setattr(check.stat_index.StatIndex, "scan", scan)
    edited = cli(capsys, repository)
    [(stamp, stats)] = handed
    assert stamp is not None and stats is not None
    now, seen = os.lstat(path), stats["base/house-prices/deployment.yaml"]  # taken after the edit
    assert (seen.st_ino, seen.st_size, seen.st_ctime_ns) == (now.st_ino, now.st_size, now.st_ctime_ns)
    assert stats.keys() >= writer.scan(repository).keys()  # every generated file: none stat-ed twice
    monkeypatch.undo()
    assert edited == cli(capsys, repository, "--no-cache") and '"drift"' in edited[1]
