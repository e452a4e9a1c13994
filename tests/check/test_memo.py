"""A whole check result kept while nothing it read changed (check/memo.py): it answers an unchanged repository
without the pipeline, and never changes a verdict. Each test compares with `--no-cache`, which is the truth."""

from __future__ import annotations

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


def test_an_unchanged_repository_is_answered_without_the_pipeline(generated, capsys, monkeypatch):
    truth = cli(capsys, generated, "--no-cache")
    assert kept(capsys, generated) == truth
    text = run_cli(capsys, "check", "--repo", str(generated))
    no_pipeline(monkeypatch)
    assert cli(capsys, generated) == truth
    again = run_cli(capsys, "check", "--repo", str(generated))
    assert (again.code, again.out, again.err) == (text.code, text.out, text.err)


def test_an_edit_keeping_size_and_mtime_is_seen(generated, capsys):
    truth = kept(capsys, generated)
    path = generated / "base/house-prices/deployment.yaml"
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"replicas: 2", b"replicas: 9"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as recorded; ctime is now
    edited = cli(capsys, generated)
    assert edited == cli(capsys, generated, "--no-cache") != truth
    assert "(drift)" in edited[1] or '"drift"' in edited[1]


def test_an_added_file_and_a_removed_one_are_seen(generated, capsys):
    kept(capsys, generated)
    (generated / "overlays/dev/house-prices/notes.yaml").write_text("kind: ConfigMap\n")
    added = cli(capsys, generated)
    assert added == cli(capsys, generated, "--no-cache") and "unreferenced-file" in added[1]
    (generated / "overlays/dev/house-prices/notes.yaml").unlink()
    (generated / "clusters").rename(generated / "clusters-away")
    removed = cli(capsys, generated)
    assert removed == cli(capsys, generated, "--no-cache") and removed[0] == 1


def test_an_entry_of_another_state_or_altered_is_a_miss(generated, capsys):
    """A verdict kept for a clean tree, copied over (or edited into) the entry of a tree with an error."""
    kept(capsys, generated)
    clean = entries(generated)
    edit(generated, *LATEST)
    truth = cli(capsys, generated, "--no-cache")
    assert truth[0] == 1 and "image-latest" in truth[1]
    assert kept(capsys, generated) == truth
    (poisoned,) = set(entries(generated)) - set(clean)
    shutil.copy(clean[0], poisoned)
    assert cli(capsys, generated) == truth
    blob = poisoned.read_bytes()  # (the run above kept its result again)
    poisoned.write_bytes(blob.replace(b'"severity": "error"', b'"severity": "warning"'))
    assert poisoned.read_bytes() != blob
    assert cli(capsys, generated) == truth


def test_shards_are_kept_apart(generated, capsys):
    for shard in ("1/2", "2/2", "1/2", "2/2"):
        assert cli(capsys, generated, "--shard", shard) == cli(capsys, generated, "--shard", shard, "--no-cache")
    assert len(entries(generated)) >= 2


def test_a_symlink_in_the_tree_keeps_nothing(generated, capsys):
    (generated / "overlays/dev/house-prices/link.yaml").symlink_to("kustomization.yaml")
    truth = cli(capsys, generated, "--no-cache")
    assert cli(capsys, generated) == cli(capsys, generated) == truth
    assert entries(generated) == []


def test_without_a_lock_file_nothing_is_kept_and_none_is_created(generated, capsys):
    (generated / writer.LOCK_FILE).unlink()
    cli(capsys, generated)
    cli(capsys, generated)
    assert entries(generated) == [] and not (generated / writer.LOCK_FILE).exists()


def test_a_file_as_new_as_the_clock_keeps_nothing(generated, capsys, monkeypatch):
    monkeypatch.setattr(memo.writer, "clock", lambda root: 0)  # every file is then racy
    cli(capsys, generated)
    assert entries(generated) == []


def test_no_cache_and_verbose_keep_nothing(generated, capsys):
    cli(capsys, generated, "--no-cache")
    run_cli(capsys, "check", "-v", "--repo", str(generated))
    assert entries(generated) == []


def test_a_spec_changed_without_generate_is_seen(generated, capsys):
    truth = kept(capsys, generated)
    spec = generated / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("replicas: 2", "replicas: 3"))
    changed = cli(capsys, generated)
    assert changed == cli(capsys, generated, "--no-cache") != truth and changed[0] == 1


def test_another_kustomize_is_a_miss(generated, capsys, tmp_path, monkeypatch):
    """The kustomize program is part of the key: a wrapper that changes what it builds changes the verdict."""
    script = tmp_path / "k.sh"
    kubectl = os.path.join(os.path.dirname(sys.executable), "kubectl")  # the one installed with mlgitops
    script.write_text(f'if [ "$1" = version ]; then echo "fake 1"; exit 0; fi\n{kubectl} kustomize "$1"\n')
    monkeypatch.setenv("MLGITOPS_KUSTOMIZE", f"sh {script}")
    truth = kept(capsys, generated)
    script.write_text(script.read_text().replace('"$1"\n', '"$1" | sed \'s/runAsNonRoot: true/runAsNonRoot: false/\'\n'))
    changed = cli(capsys, generated)
    assert changed == cli(capsys, generated, "--no-cache") != truth and "runAsNonRoot" in changed[1]
