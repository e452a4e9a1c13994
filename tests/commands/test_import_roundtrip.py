"""Round trip: for a generated spec, `import` of its built output gives back an equivalent spec.

Specs are drawn (hypothesis) from the fields the importer maps: Service shape, extra ports, volumes of every
kind, sidecars and init containers, pod annotations, HPA metrics by name, a preStop command, optional
limits, GPU type, env and Secret references, labels, the ServiceAccount's annotations. Each is written to a
throwaway repository, generated, its dev overlay built with the real kustomize (`kubectl kustomize`), and
the build imported.

Equivalent means: the effective dev specs (schema defaults filled, `{version}` expanded) of the drawn spec and
of the imported one are equal on every field of CARRIED. Not compared, because mlgitops derives them in dev
from other fields or from mlgitops.yaml rather than from the spec: the GPU node selector and toleration, the
rollout a GPU model gets, the HPA's behaviour, the grace period; `singleReplica` is compared by presence
only (its reason is the import's own words), and /dev/shm by the size the pods get (spec/pods.shared_memory:
a GPU model's default written out is the same size).

Training-only specs (no `serving`) round-trip the same way through their built training folder
(`overlays/dev/<model>/training/`: a Job, or a CronJob with `schedule`): equivalent means equal on every field of
TRAINING_CARRIED (restartPolicy Never written out or left to its default alike), and the same /dev/shm size. Not drawn: `workers` (a TrainJob's pods are its runtime's, so
what import reads back is the trainer section only) and `sweep` (an Indexed Job's trials read back as one pod
with its own arguments; a Katib Experiment only where mlgitops.yaml says so).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import examples, make_repo, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlgitops.commands.import_ import read_documents
from mlgitops.spec.config import load_config
from mlgitops.spec.import_text import spec_text
from mlgitops.spec.importer import import_documents
from mlgitops.spec.model import expand_version, parse_model
from mlgitops.spec.pods import shared_memory
from mlgitops.spec.repo import Repo

CARRIED = ("model.version", "serving.image", "serving.command", "serving.args", "serving.port", "serving.replicas",
           "serving.resources", "serving.health", "serving.env", "serving.secrets", "serving.autoscaling.minReplicas",
           "serving.autoscaling.maxReplicas", "serving.autoscaling.targetCPUUtilization",
           "serving.autoscaling.metrics", "serving.service", "serving.ports", "serving.volumes", "serving.sidecars",
           "serving.initContainers", "serving.podAnnotations", "serving.shutdown.preStopCommand",
           "serving.serviceAccount.annotations", "labels")
VOLUMES = [
    {"name": "cache", "claim": "shared-cache", "mountPath": "/cache"},
    {"name": "conf", "configMap": "server-conf", "mountPath": "/etc/server"},
    {"name": "creds", "secret": "server-creds", "mountPath": "/etc/creds", "subPath": "token"},
    {"name": "bucket", "csi": {"driver": "gcsfuse.csi.storage.gke.io", "volumeAttributes": {"bucketName": "models"}},
     "mountPath": "/bucket"},
    {"name": "scratch", "ephemeral": {"size": "50Gi", "storageClassName": "standard-rwo"}, "mountPath": "/scratch"},
]
SIDECAR = {"name": "proxy", "image": "ghcr.io/example/proxy:1.4.0", "args": ["--port=9000"],
           "resources": {"cpu": "100m", "memory": "128Mi"}}
INIT = {"name": "warm-up", "image": "ghcr.io/example/warm:2.0.1", "command": ["python", "warm.py"],
        "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}
SCALING = {"minReplicas": 2, "maxReplicas": 6, "targetCPUUtilization": 70,
           "metrics": [{"type": "External", "name": "queue_depth", "selector": {"queue": "requests"},
                        "averageValue": "30"}]}
TRAINING_CARRIED = ("model.version", *(f"training.{k}" for k in (
    "image", "command", "args", "resources", "env", "secrets", "data", "volumes", "serviceAccount", "backoffLimit",
    "activeDeadlineSeconds", "schedule", "timeZone", "restartPolicy", "podAnnotations")))
TRAINING_VOLUMES = [v for v in VOLUMES if v["name"] in ("conf", "creds", "scratch")]
GPU_TYPES = ({"gke": "nvidia-l4"}, {"eks": "g6.xlarge"}, {"gfd": "NVIDIA-A10G"})


@st.composite
def specs(draw: Any) -> dict[str, Any]:
    gpu = draw(st.booleans())
    resources: dict[str, Any] = {"cpu": draw(st.sampled_from(["500m", "2"])), "memory": draw(st.sampled_from(["1Gi", "4Gi"]))}
    resources |= draw(st.sampled_from([{}, {"limits": {"cpu": False}}, {"limits": {"cpu": "4"}}]))
    health: dict[str, Any] = {"readiness": "/ready", "liveness": "/live"}
    if gpu:
        resources |= {"gpu": 1, "gpuType": draw(st.sampled_from(GPU_TYPES))}
        health["startup"] = {"path": "/live", "failureThreshold": 60}
    serving: dict[str, Any] = {"image": "registry.example.com/qa/roundtrip:1.2.0", "port": draw(st.sampled_from(
        [8000, 8080, 5000])), "resources": resources, "health": health, "env": {"LOG_LEVEL": "info"},
        "secrets": [{"env": "API_TOKEN", "secret": "api", "key": "token"}]}
    scaled = draw(st.booleans())
    if scaled:
        serving["autoscaling"] = SCALING
    else:
        serving["replicas"] = draw(st.integers(1, 3))
        if gpu and serving["replicas"] == 1:
            serving["singleReplica"] = {"reason": "one GPU node on purpose"}
    optional = {
        "service": st.sampled_from([{"port": 8000, "type": "LoadBalancer", "annotations": {"example.com/lb": "internal"}},
                                    {"headless": True}, {"type": "NodePort"}]),
        "ports": st.just([{"name": "grpc", "port": 9001}]),
        "volumes": st.lists(st.sampled_from(VOLUMES), min_size=1, max_size=3, unique_by=lambda v: v["name"]),
        "podAnnotations": st.just({"example.com/owner": "qa"}),
        "shutdown": st.just({"preStopCommand": ["/bin/sh", "-c", "sleep 3"]}),
        "sidecars": st.just([SIDECAR]),
        "serviceAccount": st.just({"annotations": {"iam.gke.io/gcp-service-account": "rt@p.iam.gserviceaccount.com"}}),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            serving[key] = draw(values)
    if any(v["name"] == "cache" for v in serving.get("volumes", [])) and draw(st.booleans()):
        serving["initContainers"] = [INIT]
    spec: dict[str, Any] = {"model": {"version": "1.2.0"}, "serving": serving}
    if draw(st.booleans()):
        spec["labels"] = {"cost-center": "qa-7"}
    return {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": "roundtrip", "team": "qa"},
            "spec": spec}


def _dig(data: Any, dotted: str) -> Any:
    for step in dotted.split("."):
        data = data.get(step) if isinstance(data, dict) else None
    return data


def _effective_dev(repo: Path, text: str) -> dict[str, Any]:
    config, _ = load_config(Repo(repo))
    model, findings = parse_model("models/roundtrip.yaml", text.encode(), config)
    assert model is not None, findings
    return expand_version(model.effective["dev"])["spec"]


@settings(max_examples=examples(12), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(specs())
def test_importing_a_generated_specs_build_gives_back_an_equivalent_spec(tmp_path_factory, capsys, spec):
    repo = make_repo(tmp_path_factory.mktemp("repo"), models=[])
    original = yaml.safe_dump(spec, sort_keys=False)
    (repo / "models/roundtrip.yaml").write_text(original)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    built = subprocess.run(["kubectl", "kustomize", str(repo / "overlays/dev/roundtrip")], check=True,
                           capture_output=True, text=True).stdout
    (repo / "built.yaml").write_text(built)
    docs, _ = read_documents([str(repo / "built.yaml")])
    [imported], _ = import_documents(docs, optional_limits=frozenset({"cpu", "memory"}))
    config, _ = load_config(Repo(repo))
    back = _effective_dev(repo, spec_text(imported.spec, imported.sources, imported.findings, config.env_names))
    want = _effective_dev(repo, original)
    assert {k: _dig(back, k) for k in CARRIED} == {k: _dig(want, k) for k in CARRIED}
    assert bool(_dig(back, "serving.singleReplica")) == bool(_dig(want, "serving.singleReplica"))
    assert shared_memory(back) == shared_memory(want)


def _training_carried(spec: dict[str, Any]) -> dict[str, Any]:
    """The carried fields; restartPolicy absent is the documented Never (the schema gives it no default)."""
    out = {k: _dig(spec, k) for k in TRAINING_CARRIED}
    out["training.restartPolicy"] = out["training.restartPolicy"] or "Never"
    return out


@st.composite
def training_specs(draw: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {"cpu": draw(st.sampled_from(["1", "4"])), "memory": draw(st.sampled_from(["2Gi", "8Gi"]))}
    resources |= draw(st.sampled_from([{}, {"gpu": 1}, {"limits": {"memory": "16Gi"}}]))
    training: dict[str, Any] = {"image": "registry.example.com/qa/train:1.2.0", "command": ["python", "train.py"],
                                "resources": resources, "backoffLimit": draw(st.integers(0, 3))}
    optional = {
        "args": st.just(["--epochs=3"]),
        "env": st.just({"LOG_LEVEL": "info"}),
        "secrets": st.just([{"env": "WANDB_API_KEY", "secret": "wandb", "key": "api-key"}]),
        "activeDeadlineSeconds": st.sampled_from([3600, 7200]),
        "restartPolicy": st.sampled_from(["Never", "OnFailure"]),
        "podAnnotations": st.just({"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}),
        "serviceAccount": st.just({"name": "trainer-sa"}),
        "data": st.sampled_from([{"claim": "train-data", "mountPath": "/data", "readOnly": True},
                                 {"claim": "train-data"}]),
        "volumes": st.lists(st.sampled_from(TRAINING_VOLUMES), min_size=1, max_size=2, unique_by=lambda v: v["name"]),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            training[key] = draw(values)
    if draw(st.booleans()):
        training |= {"schedule": "0 3 * * *", **draw(st.sampled_from([{}, {"timeZone": "Europe/Berlin"}]))}
    return {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": "roundtrip", "team": "qa"},
            "spec": {"model": {"version": "1.2.0"}, "training": training}}


@pytest.mark.slow  # the fast loop keeps the serving round trip
@settings(max_examples=examples(12), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(training_specs())
def test_importing_a_training_only_specs_build_gives_back_an_equivalent_spec(tmp_path_factory, capsys, spec):
    repo = make_repo(tmp_path_factory.mktemp("repo"), models=[])
    original = yaml.safe_dump(spec, sort_keys=False)
    (repo / "models/roundtrip.yaml").write_text(original)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    built = subprocess.run(["kubectl", "kustomize", str(repo / "overlays/dev/roundtrip/training")], check=True,
                           capture_output=True, text=True).stdout
    (repo / "built.yaml").write_text(built)
    docs, _ = read_documents([str(repo / "built.yaml")])
    [imported], _ = import_documents(docs, optional_limits=frozenset({"cpu", "memory"}))
    config, _ = load_config(Repo(repo))
    back = _effective_dev(repo, spec_text(imported.spec, imported.sources, imported.findings, config.env_names))
    want = _effective_dev(repo, original)
    assert _training_carried(back) == _training_carried(want)
    assert shared_memory(back, "training") == shared_memory(want, "training")
    assert "serving" not in back
