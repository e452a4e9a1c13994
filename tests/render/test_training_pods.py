"""Training pods of every run kind: their annotations, ServiceAccount and restart policy, and a model that only
trains."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from conftest import ROOT
from mlgitops.kube.workloads import pod_templates
from mlgitops.render.training import render
from mlgitops.spec.config import Config, parse_config
from mlgitops.spec.model import BASE, parse_model

CONFIG_BYTES = (ROOT / "mlgitops.yaml").read_bytes()
CONFIG, _ = parse_config("mlgitops.yaml", CONFIG_BYTES)
KATIB, _ = parse_config("mlgitops.yaml", CONFIG_BYTES + b"training: {katib: true}\n")
PYTORCHJOB, _ = parse_config("mlgitops.yaml", CONFIG_BYTES + b"training: {distributed: pytorchjob}\n")

RUNS = {  # a run kind -> (the training section that makes it, the config that renders it)
    "Job": ({}, CONFIG),
    "CronJob": ({"schedule": "0 3 * * *"}, CONFIG),
    "TrainJob": ({"workers": 2}, CONFIG),
    "PyTorchJob": ({"workers": 2}, PYTORCHJOB),
    "sweep Job": ({"sweep": {"parameters": {"lr": [0.1, 0.01]}}}, CONFIG),
    "Experiment": ({"sweep": {"parameters": {"lr": [0.1, 0.01]}, "objective": {"metric": "loss", "goal": "minimize"}}},
                   KATIB),
}


def spec(training: dict[str, Any], serving: bool = False) -> bytes:
    section = {"image": "r.example.com/t:1.0.0", "command": ["python", "train.py"], "environments": ["dev"], **training}
    body: dict[str, Any] = {"model": {"version": "1.0.0"}, "training": section}
    if serving:
        body["serving"] = {"image": "r.example.com/m:1.0.0"}
    return yaml.safe_dump({"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model",
                           "metadata": {"name": "m", "team": "t"}, "spec": body}).encode()


def runs(training: dict[str, Any], config: Config) -> list[dict[str, Any]]:
    model, found = parse_model("models/m.yaml", spec(training), config)
    assert model is not None and not found, [f.text() for f in found]
    return [m.obj for m in render(model.effective["dev"], config, "dev") if pod_templates(m.obj)]


@pytest.mark.parametrize("kind", RUNS, ids=list(RUNS))
def test_every_training_pod_template_carries_the_pod_annotations(kind):
    training, config = RUNS[kind]
    annotations = {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
    objs = runs({**training, "podAnnotations": annotations}, config)
    templates = [t for obj in objs for t in pod_templates(obj)]
    assert templates
    for template in templates:
        assert template.view["spec"]["template"]["metadata"].get("annotations") == annotations, kind
    for obj in objs:  # on the pods, not on the run object
        assert "cluster-autoscaler.kubernetes.io/safe-to-evict" not in obj["metadata"].get("annotations", {})


def test_pod_annotations_are_not_part_of_a_run_so_they_never_rename_it():
    plain = runs({}, CONFIG)[0]["metadata"]["name"]
    annotated = runs({"podAnnotations": {"a.example.com/b": "c"}}, CONFIG)[0]["metadata"]["name"]
    assert plain == annotated


def test_every_job_of_a_trainjob_runtime_runs_as_the_training_service_account():
    [train_job] = runs({"workers": 2, "serviceAccount": {"name": "trainer"}}, CONFIG)
    templates = pod_templates(train_job)
    assert templates and all(t.pod.get("serviceAccountName") == "trainer" for t in templates)


def test_a_pytorchjob_replica_takes_the_restart_policy_the_operator_applies_to_its_pods():
    [job] = runs({"workers": 3, "restartPolicy": "OnFailure"}, PYTORCHJOB)
    replicas = job["spec"]["pytorchReplicaSpecs"]
    assert {r["restartPolicy"] for r in replicas.values()} == {"OnFailure"}
    [default] = runs({"workers": 3}, PYTORCHJOB)
    assert {r["restartPolicy"] for r in default["spec"]["pytorchReplicaSpecs"].values()} == {"Never"}


def test_a_training_only_model_has_no_serving_section_in_any_environment():
    model, found = parse_model("models/m.yaml", spec({}), CONFIG)
    assert model is not None and not found
    assert all("serving" not in model.effective[env]["spec"] for env in [BASE, *CONFIG.env_names])
