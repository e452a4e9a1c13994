"""What a cluster receives, built by the real kustomize: weights, storage, networking and monitoring.

One repository holds a spec per behaviour (SPECS); `mlgitops generate` writes it once, kustomize builds
every overlay once (batched, byte-identical to single builds, as test_build proves), and each test reads
the objects of one overlay: what Flux and Argo CD apply.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT, make_repo
from mlgitops.check import build
from mlgitops.check import pipeline as check
from mlgitops.cli import main
from mlgitops.spec.config import parse_config
from mlgitops.spec.model import parse_model

MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
INGRESS_NGINX = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
PAYMENTS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "payments"}}}
ENVS = ("dev", "staging", "prod")


def spec(name: str, serving: dict | None = None, model: dict | None = None, environments: dict | None = None) -> dict:
    doc: dict = {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": name, "team": "t"},
                 "spec": {"model": {"version": "1.0.0", **(model or {})},
                          "serving": {"image": "r.example.com/m:1.0.0", "replicas": 2,
                                      "health": {"readiness": "/ready", "liveness": "/healthz"}, **(serving or {})}}}
    if environments:
        doc["spec"]["environments"] = environments
    return doc


FETCH = {"sizeLimit": "2Gi", "env": {"AWS_REGION": "eu-west-1"},
         "secrets": [{"env": "AWS_SECRET_ACCESS_KEY", "secret": "m-s3", "key": "secret"}]}
ONE_WRITER = {"replicas": 1, "rollout": {"type": "Recreate"}}
SHARED_IN_PROD = {"prod": {"serving": {"replicas": 2, "storage": {"accessMode": "ReadWriteMany"},
                                       "rollout": {"type": "RollingUpdate"}}}}
SPECS = [
    spec("fetched", model={"uri": "s3://models/m/{version}/", "fetch": FETCH, "immutable": True},
         environments={"prod": {"model": {"version": "0.9.0"}}}),
    spec("fetched-disk", {"resources": {"ephemeralStorage": "512Mi"}},
         model={"uri": "s3://models/m/{version}/", "fetch": {"sizeLimit": "2Gi"}, "immutable": True}),
    spec("one-writer", {**ONE_WRITER, "storage": {"size": "5Gi", "accessMode": "ReadWriteOncePod"}},
         environments={**SHARED_IN_PROD, "dev": {"serving": {"storage": {"prune": True}}}}),
    spec("prepared", {"storage": {"size": "20Gi", "accessMode": "ReadOnlyMany", "readOnly": True,
                                  "dataSource": {"kind": "VolumeSnapshot", "name": "m-weights"}}},
         environments={"dev": {"serving": {"storage": {"dataSource": None, "volumeName": "m-weights-dev"}}},
                       "staging": {"serving": {"storage": {"dataSource": {"kind": "PersistentVolumeClaim",
                                                                          "name": "m-prod"}}}}}),
    spec("fenced", {"port": 8000, "metrics": {"port": 9090}, "ingress": {"host": "m.example.com"},
                    "networkPolicy": {"allowFromNamespaces": ["payments"], "allowSameNamespace": True}},
         environments={"dev": {"serving": {"ingress": None}}}),
    spec("fenced-shared-port", {"port": 8000, "metrics": {}, "networkPolicy": {"allowFromNamespaces": ["payments"]}}),
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = make_repo(tmp_path_factory.mktemp("built") / "repo", models=[])
    for doc in SPECS:
        (root / f"models/{doc['metadata']['name']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert main(["generate", "--repo", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def overlays(repo) -> dict[tuple[str, str], dict[str, dict]]:
    """(model, environment) -> kind -> the object kustomize built."""
    names = [doc["metadata"]["name"] for doc in SPECS]
    results = build.build_all(repo, [f"overlays/{env}/{name}" for env in ENVS for name in names])
    assert not [r.error for r in results.values() if r.error]
    return {(name, env): {o["kind"]: o for o in results[f"overlays/{env}/{name}"].objects}
            for env in ENVS for name in names}


def pod(objs: dict) -> dict:
    return objs["Deployment"]["spec"]["template"]["spec"]


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value") for e in container["env"]}


def test_every_new_field_passes_the_strict_kubernetes_schemas_and_the_policies(repo):
    assert [f.text() for f in check.run(check.Options(repo, use_cache=False)).findings] == []


def test_each_environment_loads_the_weights_of_its_own_version(overlays):
    for env, version in (("dev", "1.0.0"), ("prod", "0.9.0")):
        spec = pod(overlays["fetched", env])
        assert env_of(spec["containers"][0])["MODEL_URI"] == f"s3://models/m/{version}/"
        assert env_of(spec["containers"][0])["MODEL_VERSION"] == version
        assert spec["initContainers"][0]["args"] == [f"s3://models/m/{version}/", "/models"]


def test_fetched_weights_come_from_a_restricted_init_container_into_an_empty_dir(overlays):
    spec = pod(overlays["fetched", "staging"])
    init = spec["initContainers"][0]
    assert init["name"] == "storage-initializer"
    assert init["image"] == "kserve/storage-initializer:v0.15.0"  # mlgitops.yaml's storageInitializer
    assert init["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                       "readOnlyRootFilesystem": True, "runAsNonRoot": True}
    assert init["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "100Mi"}}
    assert {"mountPath": "/models", "name": "model-fetch"} in init["volumeMounts"]
    assert init["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert init["env"] == [{"name": "AWS_REGION", "value": "eu-west-1"}, {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {
        "secretKeyRef": {"key": "secret", "name": "m-s3"}}}]  # the initializer's credentials, by reference only
    assert {"emptyDir": {"sizeLimit": "2Gi"}, "name": "model-fetch"} in spec["volumes"]
    server = spec["containers"][0]
    assert {"mountPath": "/models", "name": "model-fetch", "readOnly": True} in server["volumeMounts"]
    assert env_of(server)["MODEL_DIR"] == "/models"
    assert not any("persistentVolumeClaim" in v for v in spec["volumes"])


def test_fetched_weights_are_counted_in_the_ephemeral_storage_the_pod_asks_for(overlays):
    resources = pod(overlays["fetched-disk", "dev"])["containers"][0]["resources"]
    assert resources["requests"]["ephemeral-storage"] == resources["limits"]["ephemeral-storage"] == "2560Mi"
    resources = pod(overlays["fetched", "dev"])["containers"][0]["resources"]  # the default scratch: /tmp 1Gi,
    # HOME 2Gi and 512Mi of logs (3584Mi), plus the 2Gi of fetched weights
    assert resources["requests"]["ephemeral-storage"] == resources["limits"]["ephemeral-storage"] == "5632Mi"


def test_fetch_needs_the_initializer_image_of_mlgitops_yaml():
    lines = (ROOT / "mlgitops.yaml").read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("storageInitializer:"))
    config, errors = parse_config("mlgitops.yaml", "".join(lines[:start] + lines[start + 2:]).encode())
    assert config is not None and config.storage_initializer is None, errors
    text = yaml.safe_dump(SPECS[0], sort_keys=False)
    _, findings = parse_model("models/fetched.yaml", text.encode(), config)
    assert [(f.rule, text.splitlines()[f.line - 1].strip(), f.hint) for f in findings] == [
        ("model-fetch", "fetch:", "set storageInitializer.image in mlgitops.yaml, e.g. kserve/storage-initializer:v0.15.0")]


def test_claims_are_protected_from_prune_unless_the_spec_opts_out(overlays):
    assert overlays["one-writer", "prod"]["PersistentVolumeClaim"]["metadata"]["annotations"] == {
        "argocd.argoproj.io/sync-options": "Prune=false,Delete=false", "kustomize.toolkit.fluxcd.io/prune": "disabled",
        "argocd.argoproj.io/compare-options": "IgnoreExtraneous"}  # kept, it leaves no Application OutOfSync
    assert "annotations" not in overlays["one-writer", "dev"]["PersistentVolumeClaim"]["metadata"]


def test_a_claim_filled_from_a_snapshot_or_bound_to_a_prepared_volume(overlays):
    assert overlays["prepared", "prod"]["PersistentVolumeClaim"]["spec"]["dataSource"] == {
        "apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "m-weights"}
    assert overlays["prepared", "staging"]["PersistentVolumeClaim"]["spec"]["dataSource"] == {
        "kind": "PersistentVolumeClaim", "name": "m-prod"}
    dev = overlays["prepared", "dev"]
    assert "dataSource" not in dev["PersistentVolumeClaim"]["spec"]
    assert dev["PersistentVolumeClaim"]["spec"]["volumeName"] == "m-weights-dev"
    assert {"mountPath": "/models", "name": "model-storage", "readOnly": True} in pod(dev)["containers"][0]["volumeMounts"]


def test_a_single_writer_volume_rolls_out_by_recreating(overlays):
    assert overlays["one-writer", "dev"]["Deployment"]["spec"]["strategy"] == {"type": "Recreate"}
    assert overlays["one-writer", "prod"]["Deployment"]["spec"]["strategy"] == {
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}, "type": "RollingUpdate"}


def test_the_metrics_port_admits_only_the_monitoring_namespace(overlays):
    metrics_rule = {"from": [MONITORING], "ports": [{"port": 9090, "protocol": "TCP"}]}
    assert overlays["fenced", "prod"]["NetworkPolicy"]["spec"]["ingress"] == [
        {"from": [PAYMENTS, INGRESS_NGINX, {"podSelector": {}}], "ports": [{"port": 8000, "protocol": "TCP"}]},
        metrics_rule]
    # no Ingress in dev: the ingress controller is not admitted
    assert overlays["fenced", "dev"]["NetworkPolicy"]["spec"]["ingress"] == [
        {"from": [PAYMENTS, {"podSelector": {}}], "ports": [{"port": 8000, "protocol": "TCP"}]}, metrics_rule]


def test_metrics_on_the_serving_port_admit_the_monitoring_namespace_there(overlays):
    assert overlays["fenced-shared-port", "prod"]["NetworkPolicy"]["spec"]["ingress"] == [
        {"from": [PAYMENTS, MONITORING, {"podSelector": {}}], "ports": [{"port": 8000, "protocol": "TCP"}]}]


def test_service_monitors_carry_the_configured_labels_and_pods_no_scrape_annotations(overlays):
    objs = overlays["fenced", "prod"]
    assert objs["ServiceMonitor"]["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert objs["ServiceMonitor"]["spec"]["endpoints"][0]["port"] == "metrics"
    assert "annotations" not in objs["Deployment"]["spec"]["template"]["metadata"]
