"""The workload-kind table: each kind's pod templates are found on real rendered objects (the committed example
tree and the renderer's golden files), with the most pods of each at once."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest
import yaml
from mlgitops.kube import workloads

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = "tests/render/golden/training"

RENDERED = [  # file, kind, (template pointer, most pods at once) for each template
    ("base/fraud-detector/deployment.yaml", "Deployment", [("/spec/template", 2 + 1)]),  # replicas + maxSurge 1
    ("base/image-classifier/deployment.yaml", "Deployment", [("/spec/template", 1)]),  # maxSurge 0
    ("overlays/dev/image-classifier/training/cronjob.yaml", "CronJob", [("/spec/jobTemplate/spec/template", 1)]),
    ("overlays/dev/image-classifier/training/sweep-job.yaml", "Job", [("/spec/template", 2)]),  # Indexed, parallelism 2
    (f"{GOLDEN}/job.yaml", "Job", [("/spec/template", 1)]),
    (f"{GOLDEN}/trainjob.yaml", "TrainJob", [(workloads.TRAINER_POD.replace("*", "0"), 4)]),  # numNodes
    (f"{GOLDEN}/pytorchjob.yaml", "PyTorchJob", [("/spec/pytorchReplicaSpecs/Master/template", 1),
                                                  ("/spec/pytorchReplicaSpecs/Worker/template", 2)]),
    (f"{GOLDEN}/katib-experiment.yaml", "Experiment", [("/spec/trialTemplate/trialSpec/spec/template", 3)]),
]


def _load(path: str, kind: str) -> dict:
    return next(o for o in yaml.safe_load_all((ROOT / path).read_text()) if o and o["kind"] == kind)


def _resolve(obj, pointer: str):
    for key in pointer.strip("/").split("/"):
        obj = obj[int(key)] if isinstance(obj, list) else obj[key]
    return obj


@pytest.mark.parametrize(("path", "kind", "expected"), RENDERED, ids=[f"{k}:{Path(p).name}" for p, k, _ in RENDERED])
def test_each_kinds_pod_templates_are_found_where_the_table_says(path, kind, expected):
    obj = _load(path, kind)
    found = workloads.pod_templates(obj)
    assert [(t.where("/spec/template"), t.most) for t in found] == expected
    entry = workloads.KINDS[kind]
    for template in found:
        at = template.where("/spec/template")
        assert any(fnmatch.fnmatchcase(at, p) for p in entry.paths), f"{at} is not among {entry.paths}"
        real = _resolve(obj, at)
        assert template.view["spec"]["template"]["metadata"] == real["metadata"]
        assert template.pod["securityContext"] == real["spec"]["securityContext"]  # a finding there points there
        assert template.where("/spec/template/spec/volumes") == f"{at}/spec/volumes"


def test_a_trainjob_node_runs_the_trainers_image_and_resources_and_findings_point_there():
    obj = _load(f"{GOLDEN}/trainjob.yaml", "TrainJob")
    [node] = workloads.pod_templates(obj)
    container = node.pod["containers"][0]
    assert (container["image"], container["resources"]) == (obj["spec"]["trainer"]["image"],
                                                            obj["spec"]["trainer"]["resourcesPerNode"])
    assert node.where("/spec/template/spec/containers/0/image") == "/spec/trainer/image"
    assert node.where("/spec/template/spec/containers/0/resources/limits") == "/spec/trainer/resourcesPerNode"
    assert node.where("/spec/template/spec/containers/0/securityContext").startswith("/spec/runtimePatches/0/")


def test_the_most_pods_at_once_per_kind():
    deployment = {"kind": "Deployment", "spec": {"replicas": 2, "template": {"spec": {}}}}
    assert workloads.most_pods(deployment) == 2 + 1  # a rolling update surges 25% of 2, rounded up
    assert workloads.pod_templates(deployment, replicas=10)[0].most == 10 + 3  # the HPA's maxReplicas
    job = {"kind": "Job", "spec": {"parallelism": 5, "completions": 3, "template": {"spec": {}}}}
    assert workloads.most_pods(job) == 3  # the Job controller never runs more pods than completions left
    assert workloads.most_pods({"kind": "DaemonSet", "spec": {"template": {"spec": {}}}}) == 0  # unknown: per node
    trial = {"kind": "Job", "spec": {"parallelism": 2, "template": {"spec": {}}}}
    experiment = {"kind": "Experiment", "spec": {"maxTrialCount": 2, "trialTemplate": {"trialSpec": trial}}}
    assert workloads.most_pods(experiment) == 2 * 2  # Katib's default 3 parallel trials, capped by maxTrialCount
    assert workloads.KINDS["Experiment"].operator_pods == 1  # the suggestion Deployment's pod


def test_the_kinds_facts():
    completes = {kind for kind, w in workloads.KINDS.items() if w.completes}
    assert completes == {"Job", "CronJob", "TrainJob", "PyTorchJob", "Experiment"}
    assert {w.kind: w.needs for w in workloads.KINDS.values() if w.operator} == {
        "TrainJob": "Kubeflow Trainer v2 (TrainJob)", "PyTorchJob": "Kubeflow Training Operator v1 (PyTorchJob)",
        "Experiment": "Katib (Experiment)"}
    assert workloads.KINDS["TrainJob"].group == "trainer.kubeflow.org"


@pytest.mark.parametrize("obj", [
    {"kind": "PyTorchJob", "spec": {"pytorchReplicaSpecs": {"Master": "x", "Worker": {"replicas": "many"}}}},
    {"kind": "TrainJob", "spec": {"runtimePatches": [{"trainingRuntimeSpec": {"template": {"spec": {
        "replicatedJobs": [{"name": "node", "template": {"spec": {"template": {"spec": {}}}}}]}}}}],
        "trainer": {"numNodes": True}}},
    {"kind": "Experiment", "spec": {"trialTemplate": {"trialSpec": {"kind": "Experiment", "spec": {}}}}},
    {"kind": "Deployment", "spec": {"replicas": None, "strategy": {"rollingUpdate": {"maxSurge": "x%"}},
                                    "template": {"spec": {}}}},
    {"kind": "CronJob", "spec": []},
], ids=["pytorchjob", "trainjob", "experiment-in-experiment", "deployment", "cronjob"])
def test_malformed_objects_give_defaults_never_an_exception(obj):
    assert workloads.most_pods(obj) in (0, 1, 2)
