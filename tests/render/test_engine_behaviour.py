"""What Flux and Argo CD do with the generated objects on the events docs/gitops.md lists (first sync, model
delete, rename, environment delete, missing CRD, failed rollout, revert), through the controllers' decisions
emulated in emulated_engines.py, each after the controller source it cites."""

from __future__ import annotations

import math
import os
import subprocess

import emulated_engines as emu
import pytest
import yaml
from conftest import copy_repo, generate_in_session, make_repo, run_cli

SERVING = ("Deployment", "Service", "ServiceAccount", "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler")


def _both(repo) -> None:
    path = repo / "mlgitops.yaml"
    path.write_text(path.read_text().replace("prometheusOperator: true\n", "prometheusOperator: true\nsync: {engine: both}\n"))


def _with_claim(repo) -> None:
    spec = repo / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("    replicas: 2\n", "    replicas: 2\n    storage: {size: 5Gi, accessMode: ReadOnlyMany, readOnly: true, dataSource: {kind: VolumeSnapshot, name: hp}}\n", 1))


@pytest.fixture(scope="module")
def both_once(tmp_path_factory, _private_cache):
    """The examples with both engines and a claim, generated once per test process (`both` copies it)."""
    repo = make_repo(tmp_path_factory.mktemp("both-engines") / "repo")
    _both(repo)
    _with_claim(repo)
    return generate_in_session(repo, _private_cache)


@pytest.fixture
def both(repo, both_once, _private_cache):
    """A copy of `both_once` with its cache: what generating there would have left, for each test to change."""
    return copy_repo(both_once, repo, _private_cache)


def _built(repo, overlay: str) -> list[dict]:
    out = subprocess.run(["kubectl", "kustomize", str(repo / overlay)], capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _load(repo, rel: str) -> dict:
    return yaml.safe_load((repo / rel).read_text())


def _kinds(objects: list[dict]) -> set[str]:
    return {o["kind"] for o in objects}


def test_deleting_a_model_deletes_its_workloads_and_keeps_its_claim_in_both_engines(both):
    live = _built(both, "overlays/prod/house-prices")
    assert "PersistentVolumeClaim" in _kinds(live)
    appset = _load(both, "clusters/prod/argocd/applicationset-prod.yaml")
    argo = emu.argocd_delete_application(emu.argocd_application_finalizers(appset), live)
    flux = emu.flux_garbage_collect(_load(both, "clusters/prod/flux/prod/house-prices.yaml"), live)
    for deleted in (argo, flux):
        assert {"Deployment", "HorizontalPodAutoscaler", "Service"} <= _kinds(deleted)  # no GPU left running unmanaged
        assert "PersistentVolumeClaim" not in _kinds(deleted)  # the data stays


def test_a_rename_is_a_delete_and_a_create_the_old_claim_stays_for_its_data(both, capsys):
    live = _built(both, "overlays/prod/house-prices")
    spec = both / "models/house-prices.yaml"
    spec.rename(both / "models/home-prices.yaml")
    spec = both / "models/home-prices.yaml"
    spec.write_text(spec.read_text().replace("name: house-prices", "name: home-prices"))
    assert run_cli(capsys, "generate", "--repo", str(both)).code == 0
    assert not (both / "clusters/prod/flux/prod/house-prices.yaml").exists()  # the bootstrap prunes the old one
    assert (both / "clusters/prod/flux/prod/home-prices.yaml").is_file()
    appset = _load(both, "clusters/prod/argocd/applicationset-prod.yaml")
    kept = [o for o in live if o not in emu.argocd_delete_application(emu.argocd_application_finalizers(appset), live)]
    assert _kinds(kept) == {"PersistentVolumeClaim"}


def test_a_claim_that_leaves_git_is_kept_and_leaves_its_application_synced(both, capsys):
    live = _built(both, "overlays/prod/house-prices")
    spec = both / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("    storage: {", "    storage_gone: {").replace("    storage_gone: {size: 5Gi, accessMode: ReadOnlyMany, readOnly: true, dataSource: {kind: VolumeSnapshot, name: hp}}\n", ""))
    assert run_cli(capsys, "generate", "--repo", str(both)).code == 0
    desired = _built(both, "overlays/prod/house-prices")
    assert "PersistentVolumeClaim" not in _kinds(desired)
    assert "PersistentVolumeClaim" not in _kinds(emu.argocd_prune(desired, live))
    kept = [o for o in live if o["kind"] == "PersistentVolumeClaim"]
    assert emu.argocd_sync_status(desired, [*desired, *kept]) == "Synced"  # IgnoreExtraneous
    stale = [o for o in live if emu.key(o) not in {emu.key(d) for d in desired}]
    assert "PersistentVolumeClaim" not in _kinds(emu.flux_garbage_collect(_load(both, "clusters/prod/flux/prod/house-prices.yaml"), stale))


def test_deleting_an_environment_deletes_its_models_workloads_but_not_its_namespace(both):
    live = _built(both, "overlays/prod/house-prices")
    # Flux: the bootstrap Kustomization (prune: true) deletes the environment's Kustomizations, each of which
    # garbage-collects what it applied; the Namespace and the claim are marked prune: disabled.
    namespace = _load(both, "clusters/prod/flux/namespace-ml-prod.yaml")
    bootstrap = {"spec": {"prune": True}}
    assert emu.flux_garbage_collect(bootstrap, [namespace]) == []
    assert "Deployment" in _kinds(emu.flux_garbage_collect(_load(both, "clusters/prod/flux/prod/house-prices.yaml"), live))
    # Argo CD: the ApplicationSet's Applications go with it (owner references), each with its finalizer.
    appset = _load(both, "clusters/prod/argocd/applicationset-prod.yaml")
    assert "Deployment" in _kinds(emu.argocd_delete_application(emu.argocd_application_finalizers(appset), live))
    argo_namespace = _load(both, "clusters/prod/argocd/namespace-ml-prod.yaml")
    parent = emu.argocd_delete_application([emu.ARGO_FINALIZER], [argo_namespace])
    assert parent == [] and emu.argocd_prune([], [argo_namespace]) == []


def test_first_sync_into_an_empty_cluster_creates_namespaces_and_tenancy_before_models(both):
    folder = both / "clusters/prod/flux"
    objects = [yaml.safe_load(p.read_text()) for p in sorted(folder.rglob("*.yaml"))]
    first, rest = emu.flux_apply_stages(objects)
    assert _kinds(first) == {"Namespace"}
    accounts = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in rest if o["kind"] == "ServiceAccount"}
    bindings = [o for o in rest if o["kind"] == "RoleBinding"]
    for ks in (o for o in rest if o["kind"] == "Kustomization"):
        account = ks["spec"]["serviceAccountName"]  # impersonated in the Kustomization's own namespace
        assert (ks["metadata"]["namespace"], account) in accounts
        assert any(b["metadata"]["namespace"] == "ml-prod" and b["subjects"] == [
            {"kind": "ServiceAccount", "name": account, "namespace": ks["metadata"]["namespace"]}] for b in bindings)
    argo = [yaml.safe_load(p.read_text()) for p in sorted((both / "clusters/prod/argocd").glob("*.yaml"))]
    waves = {o["kind"]: int((o["metadata"].get("annotations") or {}).get("argocd.argoproj.io/sync-wave", "0")) for o in argo}
    assert waves["Namespace"] < waves["ApplicationSet"]


def test_argocd_keeps_retrying_a_sync_that_failed_on_a_missing_crd_or_secret(both):
    template = _load(both, "clusters/prod/argocd/applicationset-prod.yaml")["spec"]["template"]["spec"]
    retry = template["syncPolicy"]["retry"]
    assert emu.argocd_retries(retry, attempts=1000)  # it recovers once the CRD or Secret arrives, without a commit
    assert max(emu.argocd_backoff(retry, n) for n in range(50)) == 300  # never waits more than 5 minutes
    assert "SkipDryRunOnMissingResource=true" in template["syncPolicy"]["syncOptions"]  # the others still apply


def _count(value, pods: int, rounding) -> int:
    """A maxSurge (rounded up) or maxUnavailable (down) as pods, as the Deployment controller resolves it."""
    return rounding(int(value[:-1]) * pods / 100) if isinstance(value, str) else int(value)


@pytest.mark.parametrize("model", ["fraud-detector", "house-prices", "image-classifier"])
def test_flux_waits_for_a_whole_normal_rollout_of_the_most_pods(both, model):
    """A rollout takes rounds of (maxSurge + maxUnavailable) pods, each up to progressDeadlineSeconds (which
    restarts with every pod that becomes available): Flux's timeout must not call a normal rollout failed."""
    built = {o["kind"]: o for o in _built(both, f"overlays/prod/{model}")}
    deployment = built["Deployment"]["spec"]
    pods = built["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] if "HorizontalPodAutoscaler" in built else deployment["replicas"]
    strategy = deployment["strategy"]
    step = 1 if strategy["type"] == "Recreate" else None
    if step is None:
        rolling = strategy["rollingUpdate"]
        step = max(1, _count(rolling["maxSurge"], pods, math.ceil) + _count(rolling["maxUnavailable"], pods, math.floor))
    rounds = 1 if strategy["type"] == "Recreate" else math.ceil(pods / step)
    timeout = _load(both, f"clusters/prod/flux/prod/{model}.yaml")["spec"]["timeout"]
    assert emu.seconds(timeout) >= rounds * deployment["progressDeadlineSeconds"]


def _flux_build(repo, kustomization: dict, tmp) -> list[dict]:
    """What kustomize-controller builds for a Kustomization: its path, with its `spec.patches` added to the
    generated kustomization.yaml (fluxcd/pkg/kustomize generator), built by real kustomize."""
    folder = tmp / kustomization["metadata"]["name"]
    folder.mkdir()
    overlay = repo / kustomization["spec"]["path"]
    (folder / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(overlay, folder)], "patches": kustomization["spec"].get("patches", [])}))
    out = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def test_a_missing_crd_never_keeps_flux_from_applying_the_model(both, tmp_path):
    """Flux dry-runs a Kustomization's objects before applying any: the ServiceMonitor (and an HTTPRoute) go in a
    second Kustomization over the same folder, so without their CRDs the Deployment is still applied."""
    overlay = _built(both, "overlays/prod/fraud-detector")
    main = _flux_build(both, _load(both, "clusters/prod/flux/prod/fraud-detector.yaml"), tmp_path)
    extras = _flux_build(both, _load(both, "clusters/prod/flux/prod/extras/fraud-detector.yaml"), tmp_path)
    assert sorted(map(emu.key, main + extras)) == sorted(map(emu.key, overlay))  # every object, once
    assert _kinds(extras) == {"ServiceMonitor"} and "Deployment" in _kinds(main)
