"""`mlgitops diff`: the built manifests that change against a Git revision, and which revision that is."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from conftest import run_cli, snapshot
from gitrepo import commit, edit, git, init
from mlgitops.check import build, gitrev, rendered_diff
from mlgitops.tree import cache, writer


def diff(capsys, repo: Path, *args: str):
    return run_cli(capsys, "diff", "--repo", str(repo), *args)


def regenerate(capsys, repo: Path) -> None:
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0


def test_diff_shows_only_what_the_clusters_will_get(generated, capsys):
    first = commit(init(generated), "base")
    result = diff(capsys, generated)
    assert result.out == f"# base: main (merge base {first[:12]})\n"
    assert "no change in what the clusters get" in result.err
    edit(generated / "models/fraud-detector.yaml", "replicas: 4", "replicas: 6")
    regenerate(capsys, generated)
    result = diff(capsys, generated, "--base", "HEAD")
    assert result.code == 0
    assert result.out.splitlines()[0] == f"# base: HEAD ({first[:12]})"
    assert result.out.count("+++ ") == 1
    assert "+++ b/overlays/prod/fraud-detector (built now)" in result.out
    assert "-  replicas: 4\n+  replicas: 6\n" in result.out
    assert diff(capsys, generated, "--base", "HEAD", "--exit-code").code == 1
    assert not (cache.location(generated) / "diff-base").exists()


@pytest.mark.slow
@pytest.mark.parametrize("flag", [["--markdown"], ["--format", "markdown"]], ids=["markdown", "format-markdown"])
def test_markdown_for_the_step_summary(generated, capsys, flag):
    first = commit(init(generated), "base")
    assert diff(capsys, generated, *flag).out == (f"**mlgitops diff** against main (merge base {first[:12]})\n\n"
                                                  "The clusters get no change.\n")
    edit(generated / "models/fraud-detector.yaml", "replicas: 4", "replicas: 6")
    regenerate(capsys, generated)
    out = diff(capsys, generated, *flag).out
    assert "<summary><code>fraud-detector</code>: prod (+1 -1 lines)</summary>" in out
    assert "+  replicas: 6\n" in out


def test_a_feature_branch_compares_with_its_merge_base_with_main(generated, capsys):
    """No origin: the local main is the default branch. Comparing with HEAD would say "no change"."""
    fork = commit(init(generated), "base")
    git(generated, "checkout", "-q", "-b", "feature")
    edit(generated / "models/fraud-detector.yaml", "replicas: 4", "replicas: 6")
    regenerate(capsys, generated)
    commit(generated, "more replicas")
    result = diff(capsys, generated)
    assert result.out.splitlines()[0] == f"# base: main (merge base {fork[:12]})"
    assert "+++ b/overlays/prod/fraud-detector (built now)" in result.out
    assert "+  replicas: 6\n" in result.out


@pytest.mark.slow
def test_the_default_branch_is_origins_head_and_main_moving_on_does_not_show(generated, capsys, tmp_path):
    """In a clone, origin/HEAD names the default branch; the merge base keeps main's later commits out."""
    commit(init(generated, "trunk"), "base")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(generated), str(clone))
    git(clone, "checkout", "-q", "-b", "feature")
    edit(clone / "models/fraud-detector.yaml", "replicas: 4", "replicas: 6")
    regenerate(capsys, clone)
    commit(clone, "more replicas")
    edit(generated / "models/house-prices.yaml", "replicas: 2", "replicas: 3")  # trunk moves on meanwhile
    regenerate(capsys, generated)
    commit(generated, "house-prices on trunk")
    git(clone, "fetch", "-q", "origin")
    result = diff(capsys, clone)
    fork = git(clone, "merge-base", "HEAD", "origin/trunk")
    assert result.out.splitlines()[0] == f"# base: origin/trunk (merge base {fork[:12]})"
    assert "overlays/prod/fraud-detector" in result.out
    assert "house-prices" not in result.out


def test_base_as_given_or_since_the_fork_with_three_dots(generated, capsys):
    fork = commit(init(generated), "base")
    git(generated, "checkout", "-q", "-b", "feature")
    edit(generated / "models/fraud-detector.yaml", "replicas: 4", "replicas: 6")
    regenerate(capsys, generated)
    commit(generated, "more replicas")
    git(generated, "checkout", "-q", "main")
    edit(generated / "models/house-prices.yaml", "replicas: 2", "replicas: 3")
    regenerate(capsys, generated)
    commit(generated, "house-prices on main")
    git(generated, "checkout", "-q", "feature")
    as_given = diff(capsys, generated, "--base", "main").out
    assert "overlays/staging/house-prices" in as_given and "overlays/prod/fraud-detector" in as_given
    since_fork = diff(capsys, generated, "--base", "main...").out
    assert since_fork.splitlines()[0] == f"# base: main... (merge base {fork[:12]})"
    assert "house-prices" not in since_fork and "overlays/prod/fraud-detector" in since_fork


def test_no_commit_yet_everything_is_new(generated, capsys):
    init(generated)
    result = diff(capsys, generated, "--exit-code")
    assert result.code == 1
    assert result.out.splitlines()[0] == "# base: none (no commit yet: everything is new)"
    assert result.out.count("+++ ") == 10  # 3 models x 3 environments, and image-classifier's training in dev
    assert "--- a/overlays/prod/fraud-detector (built at no commit)" in result.out
    assert not [line for line in result.out.splitlines() if line.startswith("-") and not line.startswith("--- ")]


def test_without_a_default_branch_the_first_line_says_head_and_why(generated, capsys):
    commit(init(generated, "trunk"), "base")
    result = diff(capsys, generated)
    assert result.out.startswith("# base: HEAD (")
    assert "no default branch" in result.out.splitlines()[0]


@pytest.mark.parametrize("base", ["no-such-branch", "--help", "HEAD~5", "nope..."],
                         ids=["unknown", "option", "too-far", "unknown-since-fork"])
def test_a_base_that_does_not_resolve_is_a_usage_error(generated, capsys, base):
    commit(init(generated), "base")
    result = diff(capsys, generated, "--base", base)
    assert result.code == 2
    assert result.out == ""
    assert result.err.splitlines()[0] == f"mlgitops: error: --base {base!r} is not a commit in this repository"
    assert "Traceback" not in result.err


def test_outside_git_is_an_environment_error(generated, capsys):
    result = diff(capsys, generated, "--base", "HEAD")
    assert result.code == 2
    assert "not inside a Git work tree" in result.err and "Traceback" not in result.err


def test_a_repository_in_a_subfolder_of_the_git_work_tree(tmp_path, capsys):
    from conftest import make_repo

    make_repo(tmp_path / "deploy")
    regenerate(capsys, tmp_path / "deploy")
    (tmp_path / "README").write_text("not mlgitops\n")
    commit(init(tmp_path), "base")
    edit(tmp_path / "deploy/models/fraud-detector.yaml", "replicas: 4", "replicas: 6")
    regenerate(capsys, tmp_path / "deploy")
    result = diff(capsys, tmp_path / "deploy")
    assert result.out.count("+++ ") == 1 and "+  replicas: 6\n" in result.out


def test_diff_writes_nothing_in_the_repository_with_no_cache(generated, capsys):
    commit(init(generated), "base")
    edit(generated / "models/fraud-detector.yaml", "replicas: 4", "replicas: 6")
    regenerate(capsys, generated)
    before = snapshot(generated)
    caches = sorted(p.name for p in cache.location(generated).iterdir())
    assert diff(capsys, generated, "--no-cache").out.count("+++ ") == 1
    assert snapshot(generated) == before
    assert sorted(p.name for p in cache.location(generated).iterdir()) == caches


# --- the fast path: only overlays whose inputs differ are built, and that changes nothing ---

def _every_overlay(root: Path) -> list[str]:
    """Serving overlays and training folders (each a kustomization of its own)."""
    found = [*root.glob("overlays/*/*/kustomization.yaml"), *root.glob("overlays/*/*/training/kustomization.yaml")]
    return sorted(str(p.parent.relative_to(root)) for p in found)


def build_everything(root: Path, base: gitrev.Base) -> str:
    """The obvious, slow way: unpack the base revision and build every overlay on both sides."""
    with tempfile.TemporaryDirectory() as scratch:
        old_root = Path(scratch)
        archive = subprocess.run(["git", "archive", "--format=tar", base.commit, "base", "overlays"], cwd=root,
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(old_root, filter="data")
        old_overlays, new_overlays = _every_overlay(old_root), _every_overlay(root)
        old, new = build.build_all(old_root, old_overlays), build.build_all(root, new_overlays)
    return "".join(rendered_diff.overlay_diff(o, old.get(o), new.get(o), base.label)
                   for o in sorted(set(old_overlays) | set(new_overlays)))


def fast(root: Path, base: gitrev.Base) -> rendered_diff.Result:
    return rendered_diff.compare(root, base, writer.scan(root), cache.Cache(root, enabled=False))


def change_one_spec(repo: Path) -> None:
    edit(repo / "models/fraud-detector.yaml", "replicas: 4", "replicas: 6")


def change_one_spec_and_delete_another(repo: Path) -> None:
    change_one_spec(repo)
    (repo / "models/house-prices.yaml").unlink()


def rename_namespaces(repo: Path) -> None:
    """A change to mlgitops.yaml that changes every overlay."""
    edit(repo / "mlgitops.yaml", "namespace: ml-", "namespace: models-")


@pytest.mark.slow
@pytest.mark.parametrize("change, built", [(change_one_spec_and_delete_another, 2 + 3), (rename_namespaces, 20)],
                         ids=["one-spec-changed-one-model-deleted", "config-changes-every-overlay"])
def test_building_only_changed_overlays_gives_the_same_diff_as_building_everything(generated, capsys, change,
                                                                                   built):
    commit(init(generated), "base")
    change(generated)
    regenerate(capsys, generated)
    base = gitrev.resolve(generated, "HEAD")
    result = fast(generated, base)
    assert result.text().split("\n", 1)[1] == build_everything(generated, base) != ""
    assert result.built == built  # overlays built: old and new side together


def test_built_output_is_cached_by_content_and_the_cache_changes_nothing(generated, capsys):
    commit(init(generated), "base")
    change_one_spec(generated)
    regenerate(capsys, generated)
    base = gitrev.resolve(generated, "HEAD")
    store = cache.Cache(generated)
    cold = rendered_diff.compare(generated, base, writer.scan(generated), store)
    warm = rendered_diff.compare(generated, base, writer.scan(generated), store)
    assert (cold.built, warm.built) == (2, 0)
    assert warm.text() == cold.text()


# --- turning autoscaling on ---

def deployment(replicas=None) -> dict:
    spec = {"template": {}} | ({"replicas": replicas} if replicas is not None else {})
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "m", "namespace": "ml-prod"},
            "spec": spec}


HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "m"},
       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "m"}}}


def handovers(before: list[dict], after: list[dict]) -> list[rendered_diff.Handover]:
    overlay = "overlays/prod/m"
    return rendered_diff.handovers(overlay, build.Built(overlay, before), build.Built(overlay, after))


def test_a_deployment_that_gives_its_replicas_to_an_hpa_is_a_handover():
    assert handovers([deployment(3)], [deployment(), HPA]) == [
        rendered_diff.Handover("overlays/prod/m", "ml-prod", "m", 3, "m")]


@pytest.mark.parametrize("before, after", [
    ([deployment(3)], [deployment()]),  # no HPA: replicas simply go back to the default
    ([deployment(3)], [deployment(3), HPA]),  # replicas kept
    ([deployment(), HPA], [deployment(), HPA]),  # the HPA had them already
    ([], [deployment(), HPA]),  # a new model
    ([deployment(3)], [deployment(), {**HPA, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}}}]),
], ids=["no-hpa", "replicas-kept", "already-autoscaled", "new-model", "hpa-for-another"])
def test_no_handover(before, after):
    assert handovers(before, after) == []


def test_diff_warns_when_an_environment_turns_autoscaling_on(repo, capsys):
    spec = repo / "models/house-prices.yaml"
    autoscaling = "autoscaling: {minReplicas: 2, maxReplicas: 10, targetCPUUtilization: 70}"
    edit(spec, autoscaling, "replicas: 3")
    regenerate(capsys, repo)
    commit(init(repo), "base")
    edit(spec, "replicas: 3", autoscaling)
    regenerate(capsys, repo)
    result = diff(capsys, repo)
    assert result.code == 0
    assert "-  replicas: 3\n" in result.out
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if "autoscaling:" in text)
    assert (f"models/house-prices.yaml:{line}:9: prod: Deployment house-prices had spec.replicas: 3 and now leaves "
            "them to HorizontalPodAutoscaler house-prices; applied as is, it drops to 1 pod") in result.err
    assert "kubectl apply edit-last-applied deployment/house-prices -n ml-prod" in result.err
    assert "--field-manager=handover-to-hpa" in result.err and "docs/diff.md" in result.err
    markdown = diff(capsys, repo, "--markdown").out
    assert "> [!WARNING]" in markdown and f"`models/house-prices.yaml:{line}:9`: prod: Deployment" in markdown


@pytest.mark.slow
def test_a_changed_wrapper_script_is_a_new_kustomize_for_the_diff_cache(generated, capsys, tmp_path, monkeypatch):
    """With MLGITOPS_KUSTOMIZE="sh k.sh" the built objects were keyed on /bin/sh: after k.sh changed, the
    cached diff showed what the old script built. The key is now kustomize as check fingerprints it."""
    kubectl = Path(build.kustomize.find().program)
    script = tmp_path / "k.sh"
    script.write_text(f'{kubectl} kustomize "$1"\n')
    monkeypatch.setenv("MLGITOPS_KUSTOMIZE", f"sh {script}")
    commit(init(generated), "base")
    edit(generated / "models/fraud-detector.yaml", "replicas: 4", "replicas: 6")
    regenerate(capsys, generated)
    assert "+  replicas: 6\n" in diff(capsys, generated, "--base", "HEAD").out  # cached now
    script.write_text(f"{kubectl} kustomize \"$1\" | sed 's/replicas: 6/replicas: 4/'\n")  # the tool hides it
    truth = diff(capsys, generated, "--base", "HEAD", "--no-cache")
    assert "replicas" not in truth.out
    assert diff(capsys, generated, "--base", "HEAD").out == truth.out


def test_a_file_where_the_cache_folder_belongs_is_a_cache_less_diff_with_one_warning(generated, capsys):
    commit(init(generated), "base")
    edit(generated / "models/fraud-detector.yaml", "replicas: 4", "replicas: 6")
    regenerate(capsys, generated)
    shutil.rmtree(cache.location(generated), ignore_errors=True)
    cache.location(generated).write_text("not a folder")
    result = diff(capsys, generated, "--base", "HEAD")
    assert result.code == 0 and "+  replicas: 6\n" in result.out
    assert result.err.count("cannot write the cache") == 1
    assert cache.location(generated).read_text() == "not a folder"
    cache.location(generated).unlink()
