"""`mlgitops diff`: the built manifests that change against a Git revision, and which revision that is."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
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
    # the unit and its Flux Kustomization, whose timeout follows the rollout of 6 replicas (sync's derived timeouts)
    assert result.out.count("+++ ") == 2
    assert "+++ b/overlays/prod/fraud-detector (built now)" in result.out
    assert "-  replicas: 4\n+  replicas: 6\n" in result.out
    assert "+++ b/clusters/prod/flux (now)" in result.out and "-  timeout: 41m\n+  timeout: 61m\n" in result.out
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


@pytest.mark.slow  # the fast loop keeps the merge base with main and the bases that do not resolve
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
    # 3 models x 3 environments, image-classifier's training in dev, and each cluster's sync objects
    assert result.out.count("+++ ") == 10 + 3
    assert result.out.count("(at no commit)\n+++ b/clusters/") == 3
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
    assert result.out.count("+++ ") == 2 and "+  replicas: 6\n" in result.out  # and the Kustomization's timeout


def test_diff_writes_nothing_in_the_repository_with_no_cache(generated, capsys):
    commit(init(generated), "base")
    edit(generated / "models/fraud-detector.yaml", "replicas: 4", "replicas: 6")
    regenerate(capsys, generated)
    before = snapshot(generated)
    caches = sorted(p.name for p in cache.location(generated).iterdir())
    assert diff(capsys, generated, "--no-cache").out.count("+++ ") == 2  # the unit and its Kustomization
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
    assert "".join(c.text for c in result.changes if c.unit) == build_everything(generated, base) != ""
    assert result.built == built  # overlays built: old and new side together


@pytest.mark.slow
def test_a_specs_environments_build_in_one_kustomize_process_a_side(generated, capsys, monkeypatch):
    """A spec changed in every environment: each side builds the model's units, each in its own namespace, in
    one kustomize process (objects told apart by namespace), and the diff is that of building everything."""
    commit(init(generated), "base")
    edit(generated / "models/fraud-detector.yaml", "LOG_LEVEL: info", "LOG_LEVEL: warning")
    regenerate(capsys, generated)
    base = gitrev.resolve(generated, "HEAD")
    runs: list[object] = []
    original = build.Processes.run
    monkeypatch.setattr(build.Processes, "run", lambda self, command: runs.append(command) or original(self, command))
    result = fast(generated, base)
    monkeypatch.undo()
    assert sorted(result.after) == [f"overlays/{env}/fraud-detector" for env in ("dev", "prod", "staging")]
    assert (result.built, len(runs)) == (6, 2)
    assert "".join(c.text for c in result.changes if c.unit) == build_everything(generated, base)


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


# --- turning autoscaling on (issue 9, item 13) ---

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


# --- the change plan (issue 20, item 3): a table first, then hunks each headed by its object ---

def plan_rows(out: str) -> list[list[str]]:
    """The change plan's rows as cells (`!` for prod, cluster, environment, model, object, change)."""
    lines = [line[2:] for line in out.splitlines() if line.startswith("# ")][3:]
    rows = []
    for line in lines:
        if line.startswith(("renamed ", "note")):
            continue
        cells = [c for c in line[3:].split("  ") if c.strip()]
        rows.append([line[:1].strip(), *(c.strip() for c in cells[:4]), "  ".join(cells[4:]).strip()])
    return rows


def test_the_change_plan_comes_first_with_prod_marked_and_every_hunk_names_its_object(generated, capsys):
    commit(init(generated), "base")
    edit(generated / "models/fraud-detector.yaml", "replicas: 4", "replicas: 6")
    edit(generated / "models/house-prices.yaml", "serving: {replicas: 1}", "serving: {replicas: 1, env: {X: y}}")
    regenerate(capsys, generated)
    out = diff(capsys, generated).out
    assert out.splitlines()[1] == "# change plan (! = prod)"
    assert plan_rows(out) == [
        ["!", "prod", "prod", "fraud-detector", "Deployment ml-prod/fraud-detector", "changed: spec.replicas"],
        ["!", "prod", "prod", "fraud-detector", "Kustomization flux-system/fraud-detector-prod", "changed: spec.timeout"],
        ["", "dev", "dev", "house-prices", "Deployment ml-dev/house-prices",
         "changed: spec.template.spec.containers[model-server].env[X]"]]
    hunks = [line for line in out.splitlines() if line.startswith("@@")]
    assert hunks and all(line.endswith(("@@ Deployment ml-prod/fraud-detector", "@@ Deployment ml-dev/house-prices",
                                        "@@ Kustomization flux-system/fraud-detector-prod")) for line in hunks)
    assert out.index("# change plan") < out.index("--- a/overlays/")


def test_created_and_deleted_rows_for_a_new_and_a_removed_model(generated, capsys):
    commit(init(generated), "base")
    (generated / "models/house-prices.yaml").unlink()
    regenerate(capsys, generated)
    result = diff(capsys, generated)
    deleted = [r for r in plan_rows(result.out) if r[5] == "deleted"]
    assert {r[2] for r in deleted} == {"dev", "staging", "prod"}
    assert ["!", "prod", "prod", "house-prices", "Deployment ml-prod/house-prices", "deleted"] in deleted
    assert not [r for r in plan_rows(result.out) if r[5] != "deleted" and r[3] == "house-prices"]
    commit(generated, "house-prices gone")
    git(generated, "checkout", "-q", "HEAD~1", "--", "models/house-prices.yaml")
    regenerate(capsys, generated)
    created = [r for r in plan_rows(diff(capsys, generated, "--base", "HEAD").out) if r[3] == "house-prices"]
    assert ["!", "prod", "prod", "house-prices", "Deployment ml-prod/house-prices", "created"] in created
    assert {r[5] for r in created} == {"created"}


def test_a_base_revision_that_does_not_build_is_an_error_never_all_new(generated, capsys):
    kustomization = generated / "overlays/prod/fraud-detector/kustomization.yaml"
    good = kustomization.read_bytes()
    kustomization.write_bytes(good.replace(b"resources:", b"resources:\n- ../../../base/no-such-model"))
    first = commit(init(generated), "base with a broken overlay")
    kustomization.write_bytes(good)
    result = diff(capsys, generated, "--base", "HEAD")
    assert result.code == 1
    assert (f"overlays/prod/fraud-detector does not build at the base revision HEAD ({first[:12]}), so the diff "
            "cannot say what it changes") in result.err
    assert "(diff-base-build)" in result.err
    assert "+++ b/overlays/prod/fraud-detector" not in result.out
    assert "# overlays/prod/fraud-detector: does not build at the base revision (HEAD)" in result.out
    markdown = diff(capsys, generated, "--base", "HEAD", "--markdown").out
    assert "> [!CAUTION]" in markdown and "does not build at the base revision" in markdown



def test_an_overlay_that_does_not_build_now_is_an_error_never_all_deleted(generated, capsys):
    commit(init(generated), "base")
    kustomization = generated / "overlays/prod/fraud-detector/kustomization.yaml"
    kustomization.write_bytes(kustomization.read_bytes().replace(b"resources:", b"resources:\n- ../no-such-base"))
    result = diff(capsys, generated, "--base", "HEAD")
    assert result.code == 1
    assert "overlays/prod/fraud-detector does not build, so the diff cannot say what the cluster gets" in result.err
    assert "(diff-build)" in result.err
    assert not [row for row in plan_rows(result.out) if row[3] == "fraud-detector" and row[5] == "deleted"]

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b]\n"


@pytest.mark.parametrize("broken, rule, where", [
    (BOMB, "(yaml-alias)", "models/bomb.yaml:2:"),
    ("{apiVersion: mlgitops.io/v1alpha1, kind: Model, metadata: {name: bomb}, spec: {servingg: {}}}\n", None,
     "models/bomb.yaml:1:"),
], ids=["alias-bomb", "schema-error"])
def test_an_invalid_spec_is_an_error_at_its_line_never_no_change(generated, capsys, broken, rule, where):
    """A pull request adding a broken spec: the files on disk give no change, but the diff must not say "no
    change" and pass: it names the spec's errors where generate and check name them, and exits 1."""
    commit(init(generated), "base")
    (generated / "models/bomb.yaml").write_text(broken)
    for args in ((), ("--exit-code",)):
        result = diff(capsys, generated, "--base", "HEAD", *args)
        assert result.code == 1
        assert where in result.err and (rule is None or rule in result.err)
        assert "models/ has errors" in result.err
        assert "no change in what the clusters get" not in result.err
    markdown = diff(capsys, generated, "--base", "HEAD", "--markdown")
    assert markdown.code == 1
    assert "> [!CAUTION]" in markdown.out and f"`{where}" in markdown.out and "models/ has errors" in markdown.out
    assert "no change" not in markdown.out


# --- clusters/ (issue 16, items 3 and 4) ---

def test_pointing_git_url_elsewhere_is_a_change_to_every_cluster(generated, capsys):
    commit(init(generated), "base")
    edit(generated / "mlgitops.yaml", "https://github.com/example/ml-models.git", "https://evil.example/x.git")
    regenerate(capsys, generated)
    result = diff(capsys, generated, "--exit-code")
    assert result.code == 1
    assert "no change in what the clusters get" not in result.err
    sources = [r for r in plan_rows(result.out) if r[4].startswith("GitRepository")]
    assert [(r[0], r[1], r[5]) for r in sources] == [("!", "prod", "changed: spec.url"), ("", "dev", "changed: spec.url"),
                                                     ("", "staging", "changed: spec.url")]
    assert "+  url: https://evil.example/x.git\n" in result.out
    assert "--- a/clusters/prod/flux (at " in result.out


def test_pod_security_baseline_and_a_quota_are_visible_changes(generated, capsys):
    commit(init(generated), "base")
    edit(generated / "mlgitops.yaml", "  namespace: ml-prod",
         "  namespace: ml-prod\n  podSecurity: baseline\n  quota: {cpu: '64', memory: 256Gi}")
    regenerate(capsys, generated)
    result = diff(capsys, generated, "--exit-code")
    assert result.code == 1
    rows = plan_rows(result.out)
    assert ["!", "prod", "prod", "-", "Namespace ml-prod",
            "changed: metadata.labels.pod-security.kubernetes.io/enforce"] in rows
    assert any(r[0] == "!" and r[4].startswith("ResourceQuota ml-prod/") and r[5] == "created" for r in rows)
    assert "-    pod-security.kubernetes.io/enforce: restricted\n+    pod-security.kubernetes.io/enforce: baseline\n" \
        in result.out
    markdown = diff(capsys, generated, "--markdown").out
    assert "| **prod** | prod | prod | — | `Namespace ml-prod` |" in markdown
    assert "<summary><code>clusters/prod</code>: flux" in markdown


PRIVILEGED = """apiVersion: v1
kind: Pod
metadata: {name: miner, namespace: kube-system}
spec:
  hostNetwork: true
  containers:
  - name: c
    image: evil.example/miner:1
    securityContext: {privileged: true}
"""


def test_a_hand_written_file_in_a_synced_path_shows_in_diff_and_fails_check(generated, capsys):
    commit(init(generated), "base")
    (generated / "clusters/prod/flux/kube-system").mkdir()
    (generated / "clusters/prod/flux/kube-system/pod.yaml").write_text(PRIVILEGED)
    result = diff(capsys, generated, "--exit-code")
    assert result.code == 1
    assert ["!", "prod", "prod", "-", "Pod kube-system/miner", "created"] in plan_rows(result.out)
    assert "+  hostNetwork: true\n" in result.out
    check = run_cli(capsys, "check", "--repo", str(generated))
    assert check.code == 1
    assert ("clusters/prod/flux/kube-system/pod.yaml\n      1:1  warning  is not generated by mlgitops, but flux "
            "applies everything under clusters/prod/flux to cluster prod, this file too (hand-written)") in check.out
    security = next(line for line in check.out.splitlines() if "Pod miner in namespace kube-system" in line)
    assert "error    Pod miner in namespace kube-system: Pod Security admission (restricted, Kubernetes 1.33) " \
        "refuses the pods: " in security
    assert "host namespaces" in security and "privileged" in security and security.endswith("(pod-security)")
    generate_check = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert "clusters/prod/flux/kube-system/pod.yaml:1:1: is not generated by mlgitops" in generate_check.err


@pytest.mark.slow  # the fast loop keeps the hand-written file in a synced path
def test_a_hand_written_file_that_breaks_its_schema_is_reported_at_its_line(generated, capsys):
    (generated / "clusters/dev/flux/extra.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
                                                            "data: {a: 1}\n")
    check = run_cli(capsys, "check", "--repo", str(generated))
    assert check.code == 1
    assert "clusters/dev/flux/extra.yaml\n      1:1  warning  is not generated by mlgitops" in check.out
    assert '      4:8  error    /data/a: 1 is not of types "null", "string" [ConfigMap/x] (k8s-schema)' in check.out


# --- renames (issue 17, item 5) ---

def rename_house_prices(repo: Path) -> None:
    git(repo, "mv", "models/house-prices.yaml", "models/home-prices.yaml")
    edit(repo / "models/home-prices.yaml", "name: house-prices", "name: home-prices")


def test_a_renamed_model_reads_as_a_rename_with_what_each_engine_does(generated, capsys):
    commit(init(generated), "base")
    rename_house_prices(generated)
    regenerate(capsys, generated)
    out = diff(capsys, generated).out
    assert ("# renamed house-prices → home-prices in prod (cluster prod): Flux deletes its Kustomization and "
            "prunes what it applied (claims marked prune: disabled stay) for overlays/prod/house-prices, and applies "
            "overlays/prod/home-prices as a new unit") in out
    rows = plan_rows(out)
    assert ["!", "prod", "prod", "home-prices", "Deployment ml-prod/home-prices",
            "renamed Deployment ml-prod/house-prices → Deployment ml-prod/home-prices"] in rows
    units = [r for r in rows if r[3] in ("home-prices", "house-prices") and not r[4].startswith("Kustomization")]
    assert units and all(r[5].startswith("renamed ") for r in units)
    # the engine's own objects: the old unit's Kustomization goes, the new one's comes
    assert ["!", "prod", "prod", "house-prices", "Kustomization flux-system/house-prices-prod", "deleted"] in rows
    assert ["!", "prod", "prod", "home-prices", "Kustomization flux-system/home-prices-prod", "created"] in rows
    assert "--- a/overlays/prod/house-prices (built at " in out and "+++ b/overlays/prod/home-prices (built now)" in out
    assert "+++ b/overlays/prod/house-prices" not in out
    units_part = out[out.index("--- a/overlays/"):out.index("--- a/clusters/")]
    changed = [line for line in units_part.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    # each object against its successor: only lines naming the model change (the delete-plus-add of every
    # object was 2,146 lines in issue 17)
    assert changed and all("house-prices" in line or "home-prices" in line for line in changed)


STORAGE = ("    metrics: {path: /metrics}\n"
           "    storage: {size: 10Gi, accessMode: ReadOnlyMany, readOnly: true, volumeName: house-weights}\n")


@pytest.mark.slow  # a rename's volume variant; the fast loop keeps the rename itself
def test_a_renamed_model_whose_new_claim_binds_the_kept_claims_volume_is_an_error(repo, capsys):
    edit(repo / "models/house-prices.yaml", "    metrics: {path: /metrics}\n", STORAGE)
    regenerate(capsys, repo)
    commit(init(repo), "base")
    rename_house_prices(repo)
    regenerate(capsys, repo)
    result = diff(capsys, repo)
    assert result.code == 1
    line, col = next((n, text.index("house-weights") + 1) for n, text in
                     enumerate((repo / "models/home-prices.yaml").read_text().splitlines(), 1) if "volumeName" in text)
    assert (f"models/home-prices.yaml:{line}:{col}: prod: new PersistentVolumeClaim ml-prod/home-prices-storage binds volumeName "
            "house-weights, which PersistentVolumeClaim ml-prod/house-prices-storage (kept on the cluster: protected "
            "from prune) still holds on the same cluster") in result.err
    assert "persistentVolumeReclaimPolicy is Retain" in result.err and "(volume-name-conflict)" in result.err


@pytest.mark.slow  # a volume-conflict variant; the fast loop keeps the rename's
def test_two_environments_on_one_cluster_binding_one_volume_is_an_error(repo, capsys):
    edit(repo / "mlgitops.yaml", "  namespace: ml-staging\n", "  namespace: ml-staging\n  cluster: prod\n")
    regenerate(capsys, repo)
    commit(init(repo), "base")
    edit(repo / "models/house-prices.yaml", "    metrics: {path: /metrics}\n", STORAGE)
    regenerate(capsys, repo)
    result = diff(capsys, repo)
    assert result.code == 1
    conflicts = [line for line in result.err.splitlines() if "(volume-name-conflict)" in line]
    assert conflicts and all("house-weights" in line for line in conflicts)
    assert any("held in environment" in line for line in conflicts)
    assert not any(line.startswith("models/house-prices.yaml: dev:") for line in conflicts)  # dev: its own cluster


@pytest.mark.parametrize("flag", [[], ["--markdown"]], ids=["text", "markdown"])
def test_a_credential_in_a_hand_written_clusters_file_stays_masked(generated, capsys, flag):
    commit(init(generated), "base")
    (generated / "clusters/dev/flux/job.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db, namespace: ml-dev}\n"
        "data: {DATABASE_URL: 'postgres://app:hunter2@db:5432/x'}\n")
    result = diff(capsys, generated, *flag)
    assert "ConfigMap ml-dev/db" in result.out
    assert "hunter2" not in result.out + result.err


SMALL = """apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {{name: {name}, team: t}}
spec:
  model: {{version: "1.0.0"}}
  serving:
    image: registry.example.com/t/{name}:1.0.0
    replicas: 2
    resources: {{cpu: 100m, memory: 128Mi}}
    health: {{readiness: /ready, liveness: /healthz}}
"""


# The same end to end over 300 generated models (16 CPU-s): exhaustive. make test keeps the markdown of a
# 300-model change (tests/check/test_diff_markdown.py, ..._keeps_the_table_first_and_stays_under_the_limit) and
# diff --markdown end to end on the examples (test_markdown_for_the_step_summary).
@pytest.mark.slow
@pytest.mark.exhaustive
def test_a_300_model_pull_request_is_a_markdown_comment_under_githubs_limit(tmp_path, capsys):
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    (repo / "mlgitops.yaml").write_text("apiVersion: mlgitops.io/v1alpha1\nkind: Config\nkubernetesVersion: \"1.33.0\"\n"
                                        "git: {url: 'https://github.com/example/ml.git', branch: main}\n"
                                        "environments:\n- {name: prod, namespace: ml-prod}\n")
    for i in range(300):
        (repo / f"models/m{i:03d}.yaml").write_text(SMALL.format(name=f"m{i:03d}"))
    regenerate(capsys, repo)
    commit(init(repo), "base")
    edit(repo / "mlgitops.yaml", "namespace: ml-prod", "namespace: models-prod")  # every object of every model
    regenerate(capsys, repo)
    result = diff(capsys, repo, "--markdown")
    text = result.out
    assert len(text) <= 65_536
    assert "**Change plan**: " in text and text.index("**Change plan**") < text.index("<details")
    assert "| **prod** | prod | prod | m000 | `Deployment models-prod/m000` | created |" in text
    assert "rows: run `mlgitops diff` to see them all" in text  # the table is cut, with a count
    assert text.rstrip().endswith("Run `mlgitops diff` for the whole diff.")
    assert text.count("<details") == text.count("</details>")


def test_a_clusters_file_that_is_not_yaml_is_a_file_object_holding_its_text():
    found = rendered_diff.cluster_objects({"clusters/a/flux/x.yaml": b"kind: [\n", "clusters/a/flux/README.md": b"#",
                                           "clusters/a/flux/ns.yaml": b"kind: Namespace\nmetadata: {name: ns1}\n"})
    assert found == [("clusters/a/flux/ns.yaml", {"kind": "Namespace", "metadata": {"name": "ns1"}}),
                     ("clusters/a/flux/x.yaml", {"kind": "File", "metadata": {"name": "clusters/a/flux/x.yaml"},
                                                 "text": "kind: [\n"})]


def _diff_importing(repo: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "mlgitops", "diff", "--repo", str(repo)],
                          capture_output=True, text=True, check=False)
    return done, {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}


@pytest.mark.slow  # four mlgitops processes; the fast loop keeps the same memo on generate's side
# (tests/test_startup.py, ..._does_not_import_the_secret_detector_but_a_new_credential_is_still_found) and diff's
# masking in process (tests/report/test_secrets.py, test_mlgitops_diff_masks_credentials_in_values)
def test_a_second_diff_of_a_change_imports_no_secret_detector_and_a_new_credential_is_still_masked(generated):
    """The values diff's masking found clean join generate's signed memo of them (tree/generation.py): the same
    diff again imports no detect-secrets; a line holding a credential is still found and masked."""
    init(generated)
    commit(generated, "base")
    edit(generated / "models/house-prices.yaml", "    replicas: 2\n", "    replicas: 3\n")
    assert subprocess.run([sys.executable, "-m", "mlgitops", "generate", "-q", "--repo", str(generated)],
                          check=False).returncode == 0
    first, imported = _diff_importing(generated)
    assert first.returncode == 0 and "replicas: 3" in first.stdout and "detect_secrets" in imported
    second, imported = _diff_importing(generated)
    assert second.stdout == first.stdout and "detect_secrets" not in imported
    edit(generated / "base/house-prices/deployment.yaml", "        - name: MODEL_NAME\n",
         "        - name: UPSTREAM\n          value: AKIAZ7QMXW3RTY5UP2KD\n        - name: MODEL_NAME\n")
    third, imported = _diff_importing(generated)
    assert "value: ***" in third.stdout and "AKIAZ7QMXW3RTY5UP2KD" not in third.stdout + third.stderr
    assert "detect_secrets" in imported


def test_diff_reads_no_generated_file_the_stat_index_vouches_for_yet_sees_a_hand_edit(generated, capsys,
                                                                                     monkeypatch):
    """diff scans the tree through generate's stat index: after generate, no generated file is read again; one
    edited since (same size, mtime set back) is read, and the diff says the tree is not what models/ generate."""
    import os
    import time

    from mlgitops.tree import stat_index

    commit(init(generated), "base")
    for _ in range(100):  # until the index holds every file (those written in its stamp's tick are read once)
        regenerate(capsys, generated)
        if set(stat_index.StatIndex(generated, {}, {}).loaded) == set(writer.scan(generated)):
            break
        time.sleep(0.01)
    reads: list[str] = []
    real = writer._read
    monkeypatch.setattr(writer, "_read", lambda path: reads.append(path) or real(path))
    result = diff(capsys, generated)
    assert result.code == 0 and reads == [] and "not what models/ generate" not in result.err
    path = generated / "base/house-prices/deployment.yaml"
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"replicas: 2", b"replicas: 9"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    result = diff(capsys, generated)
    assert [os.path.relpath(p, generated) for p in reads] == ["base/house-prices/deployment.yaml"]
    assert "not what models/ generate" in result.err and "replicas: 9" in result.out


# --- a hand-edited kustomization reading what the built output's key does not hold ---

def names_from_house_prices(repo: Path, line: str) -> None:
    with open(repo / "overlays/prod/house-prices/kustomization.yaml", "a", encoding="utf-8") as handle:
        handle.write(f"- {line}\n")  # its last key is resources


def outside_the_repository(repo: Path, tmp_path: Path) -> Callable[[str], None]:
    """A folder reached by a path up to / and down again (kustomize refuses an absolute one): from the scratch
    folder diff builds in, too."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kustomization.yaml").write_text("resources:\n- x.yaml\n")
    names_from_house_prices(repo, "../" * 40 + str(outside.resolve()).lstrip("/"))
    return lambda value: (outside / "x.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  value: {value}\n")


def another_models_base(repo: Path, tmp_path: Path) -> Callable[[str], None]:
    """fraud-detector's base, written to the scratch folder because its own units changed too (hand edits)."""
    names_from_house_prices(repo, "../../../base/fraud-detector")
    deployment = repo / "base/fraud-detector/deployment.yaml"
    text = deployment.read_text()
    return lambda value: deployment.write_text(text.replace("  replicas: 2\n", f"  replicas: {value}\n", 1))


@pytest.mark.slow
@pytest.mark.parametrize("reach", [outside_the_repository, another_models_base])
def test_a_file_read_outside_an_overlays_inputs_never_changes_the_cached_diff(generated, capsys, tmp_path, reach):
    commit(init(generated), "base")
    set_value = reach(generated, tmp_path)
    set_value("12")
    assert "12" in diff(capsys, generated, "--base", "HEAD").out  # built, and cached if it could be
    set_value("13")
    truth = diff(capsys, generated, "--base", "HEAD", "--no-cache")
    assert "13" in truth.out
    assert diff(capsys, generated, "--base", "HEAD").out == truth.out
