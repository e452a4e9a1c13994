"""clusters/: Namespaces and the Flux or Argo CD objects that sync each model and environment."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml
from conftest import make_repo, run_cli


def _config(repo, extra: str, staging: str = "") -> None:
    path = repo / "mlgitops.yaml"
    text = path.read_text().replace("prometheusOperator: true\n", f"prometheusOperator: true\n{extra}")
    path.write_text(text.replace("- name: staging\n  namespace: ml-staging\n",
                                 f"- name: staging\n  namespace: ml-staging\n{staging}"))


def _load(repo, rel: str) -> dict:
    return yaml.safe_load((repo / rel).read_text())


def _files(repo) -> list[str]:
    return sorted(p.relative_to(repo).as_posix() for p in (repo / "clusters").rglob("*.yaml"))


def test_flux_by_default_one_kustomization_per_model_and_environment(generated):
    files = _files(generated)
    assert "clusters/prod/flux/namespace-ml-prod.yaml" in files
    assert "clusters/prod/flux/gitrepository.yaml" in files
    assert [f for f in files if f.startswith("clusters/prod/flux/prod/")] == [  # extras: each model's ServiceMonitor
        "clusters/prod/flux/prod/extras/fraud-detector.yaml", "clusters/prod/flux/prod/extras/house-prices.yaml",
        "clusters/prod/flux/prod/extras/image-classifier.yaml",
        "clusters/prod/flux/prod/fraud-detector.yaml", "clusters/prod/flux/prod/house-prices.yaml",
        "clusters/prod/flux/prod/image-classifier.yaml"]
    ks = _load(generated, "clusters/prod/flux/prod/house-prices.yaml")
    assert ks["metadata"] == {"name": "house-prices-prod", "namespace": "flux-system", "labels": {
        "app.kubernetes.io/managed-by": "mlgitops", "app.kubernetes.io/name": "house-prices",
        "mlgitops.io/environment": "prod"}}
    # prod: up to 10 pods, one at a time (maxSurge 1), each up to the Deployment's 600 s progress deadline, + 1m
    assert ks["spec"] == {"path": "./overlays/prod/house-prices", "prune": True, "wait": True, "interval": "10m",
                          "retryInterval": "2m", "timeout": "101m", "serviceAccountName": "mlgitops-prod",
                          "sourceRef": {"kind": "GitRepository", "name": "mlgitops"},
                          "patches": [{"patch": "$patch: delete\napiVersion: v1\nkind: Any\nmetadata:\n  name: any\n",
                                       "target": {"labelSelector": "mlgitops.io/crd-extra"}}]}  # synced apart
    assert (generated / ks["spec"]["path"] / "kustomization.yaml").is_file()
    source = _load(generated, "clusters/prod/flux/gitrepository.yaml")
    assert source["spec"] == {"interval": "1m", "url": "https://github.com/example/ml-models.git",
                              "ref": {"branch": "main"}}


def test_namespaces_enforce_restricted_pod_security_and_are_never_pruned(generated):
    ns = _load(generated, "clusters/dev/flux/namespace-ml-dev.yaml")
    labels = ns["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.33"
    assert ns["metadata"]["annotations"] == {"kustomize.toolkit.fluxcd.io/prune": "disabled"}


def test_without_a_git_url_flux_uses_the_bootstrap_source(repo, capsys):
    path = repo / "mlgitops.yaml"
    path.write_text(path.read_text().replace("  url: https://github.com/example/ml-models.git\n", ""))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    assert not (repo / "clusters/prod/flux/gitrepository.yaml").exists()
    ks = _load(repo, "clusters/prod/flux/prod/house-prices.yaml")
    assert ks["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "flux-system"}


def test_argocd_appproject_and_applicationset_per_environment(repo, capsys):
    _config(repo, "sync: {engine: argocd}\n")
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    assert _files(repo)[:4] == ["clusters/dev/argocd/applicationset-dev-training.yaml",  # image-classifier trains
                                "clusters/dev/argocd/applicationset-dev.yaml", "clusters/dev/argocd/appproject-dev.yaml",
                                "clusters/dev/argocd/namespace-ml-dev.yaml"]
    assert not (repo / "clusters/prod/argocd/applicationset-prod-training.yaml").exists()  # nothing trains in prod
    assert not (repo / "clusters/dev/flux").exists()
    appset = _load(repo, "clusters/prod/argocd/applicationset-prod.yaml")
    spec = appset["spec"]
    assert spec["goTemplate"] is True and spec["goTemplateOptions"] == ["missingkey=error"]
    assert spec["generators"] == [{"git": {"repoURL": "https://github.com/example/ml-models.git", "revision": "main",
                                           "directories": [{"path": "overlays/prod/*"}]}}]
    assert spec["syncPolicy"] == {"preserveResourcesOnDeletion": False}  # Applications get the resources finalizer
    template = spec["template"]
    assert template["metadata"]["name"] == "{{.path.basename}}-prod"
    assert template["spec"]["project"] == "mlgitops-prod"
    assert template["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "ml-prod"}
    assert template["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "SkipDryRunOnMissingResource=true" in template["spec"]["syncPolicy"]["syncOptions"]
    project = _load(repo, "clusters/prod/argocd/appproject-prod.yaml")
    assert project["spec"]["sourceRepos"] == ["https://github.com/example/ml-models.git"]
    assert project["spec"]["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": "ml-prod"}]
    assert project["spec"]["clusterResourceWhitelist"] == []
    ns = _load(repo, "clusters/prod/argocd/namespace-ml-prod.yaml")
    assert ns["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-1"


def test_environments_sharing_a_cluster_with_quota_and_limits(repo, capsys):
    _config(repo, "", "  cluster: dev\n  quota: {cpu: '20', memory: 64Gi, gpu: 4}\n"
                      "  limitRange: {default: {cpu: '1', memory: 1Gi}, defaultRequest: {cpu: 100m, memory: 128Mi}}\n")
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    assert not (repo / "clusters/staging").exists()
    assert (repo / "clusters/dev/flux/staging/house-prices.yaml").is_file()
    quota = _load(repo, "clusters/dev/flux/resourcequota-ml-staging.yaml")
    assert quota["metadata"]["namespace"] == "ml-staging"
    assert quota["spec"]["hard"] == {"requests.cpu": "20", "requests.memory": "64Gi", "requests.nvidia.com/gpu": "4"}
    limits = _load(repo, "clusters/dev/flux/limitrange-ml-staging.yaml")
    assert limits["spec"]["limits"] == [{"type": "Container", "default": {"cpu": "1", "memory": "1Gi"},
                                         "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]


def test_argocd_needs_the_repository_url(repo, capsys):
    path = repo / "mlgitops.yaml"
    path.write_text(path.read_text().replace("  url: https://github.com/example/ml-models.git\n", "")
                    .replace("prometheusOperator: true\n", "prometheusOperator: true\nsync: {engine: both}\n"))
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 1
    assert "mlgitops.yaml:" in result.err and "(sync-source)" in result.err


def test_a_deleted_model_loses_its_sync_objects(generated, capsys):
    (generated / "models/house-prices.yaml").unlink()
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0
    assert not any("house-prices" in f for f in _files(generated))


def test_same_specs_same_bytes(tmp_path, capsys):
    trees = []
    for name in ("a", "b"):
        repo = make_repo(tmp_path / name)
        _config(repo, "sync: {engine: both}\n")
        assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
        trees.append({f: (repo / f).read_bytes() for f in _files(repo)})
    # + the training Kustomization and ApplicationSet, a Flux ServiceAccount and RoleBinding per environment, and
    # an extras Kustomization per model and environment (each model has a ServiceMonitor)
    assert trees[0] == trees[1] and len(trees[0]) == 41


GOLDEN = Path(__file__).resolve().parents[1] / "cases/golden/sync-both"


def test_golden_clusters_for_both_engines(repo, capsys):
    """Both engines, two environments sharing a cluster, a quota. MLGITOPS_UPDATE_GOLDEN=1 rewrites the
    golden files; read every changed line before committing them."""
    _config(repo, "sync: {engine: both}\n", "  cluster: dev\n  quota: {cpu: '20', memory: 64Gi, gpu: 4}\n")
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    got = {f: (repo / f).read_bytes() for f in _files(repo)}
    if os.environ.get("MLGITOPS_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, content in got.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(content)
    want = {p.relative_to(GOLDEN).as_posix(): p.read_bytes() for p in sorted(GOLDEN.rglob("*.yaml"))}
    assert sorted(got) == sorted(want)
    for rel, content in want.items():
        assert got[rel].decode() == content.decode(), rel
