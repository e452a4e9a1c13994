"""A TrainJob on each runtime Kubeflow Trainer ships: every job of the runtime is patched restricted, the
trainer's jobs sized, and the workload table counts every pod. An unknown runtime is an error unless
mlgitops.yaml names its jobs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from mlgitops.kube import podsecurity, trainer_runtimes
from mlgitops.kube.workloads import pod_templates
from mlgitops.spec.config import parse_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_training import CASES, HEAD, config, model, runs

ROOT = Path(__file__).resolve().parents[2]
TRAINJOB = HEAD + CASES["trainjob"]  # 4 workers x 4 GPUs


def _train_job(extra: str) -> dict:
    cfg = config(extra)
    [obj] = [m.obj for m in runs(model(TRAINJOB, cfg), cfg)]
    return obj


def _patched(obj: dict) -> dict[str, dict]:
    jobs = obj["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    return {job["name"]: job["template"]["spec"]["template"]["spec"] for job in jobs}


def test_the_vendored_runtimes_are_the_ones_trainer_ships():
    assert sorted(trainer_runtimes.shipped()) == [
        "deepspeed-distributed", "jax-distributed", "mlx-distributed", "torch-distributed",
        "torch-distributed-with-cache", "torchtune-llama3.2-1b", "torchtune-llama3.2-3b", "torchtune-qwen2.5-1.5b",
        "xgboost-distributed"]


@pytest.mark.parametrize("runtime", sorted(trainer_runtimes.shipped()))
def test_every_job_of_a_shipped_runtime_is_restricted_and_counted(runtime):
    obj = _train_job(f"training: {{runtime: {runtime}}}\n")
    jobs = trainer_runtimes.shipped()[runtime]
    patched = _patched(obj)
    assert list(patched) == [job.name for job in jobs]
    for job in jobs:
        pod = patched[job.name]
        assert [c["name"] for c in pod["containers"]] == list(job.containers)
        assert {v["name"] for v in pod["volumes"]} >= {"tmp", "home"}
        assert ("nodeSelector" in pod) == job.trainer  # GPU scheduling on the trainer's jobs only
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
    templates = pod_templates(obj)
    assert [t.most for t in templates] == [job.pods(4, trainer_runtimes.launcher_as_node(runtime)) for job in jobs]
    for template in templates:
        assert podsecurity.evaluate(template.view["spec"]["template"], "restricted", "1.33") == []
        node = [c for c in template.pod["containers"] if c["name"] == "node"]
        for container in node:  # Trainer's resourcesPerNode sizes the node containers of the trainer's jobs
            assert container["resources"]["limits"]["nvidia.com/gpu"] == "4"


def test_an_mpi_launcher_that_runs_as_a_node_takes_one_of_the_nodes_pods():
    obj = _train_job("training: {runtime: deepspeed-distributed}\n")  # 4 workers
    assert [t.most for t in pod_templates(obj)] == [3, 1]  # Trainer: node replicas max(numNodes - 1, 1)
    assert [t.most for t in pod_templates(_train_job("training: {runtime: torchtune-llama3.2-1b}\n"))] == [1, 1, 4]


def test_an_mpi_launcher_and_initializers_are_hardened_beside_the_nodes():
    launcher = _patched(_train_job("training: {runtime: deepspeed-distributed}\n"))["launcher"]
    assert "dshm" in {v["name"] for v in launcher["volumes"]}  # the launcher runs as a node (a trainer job)
    initializer = _patched(_train_job("training: {runtime: torch-distributed-with-cache}\n"))["dataset-initializer"]
    assert {v["name"] for v in initializer["volumes"]} == {"tmp", "home"}  # no data, no /dev/shm, no GPU
    assert {"name": "HOME", "value": "/home/model"} in initializer["containers"][0]["env"]


def _config_findings(extra: str) -> list[str]:
    from mlgitops.spec.training import config_findings

    raw = (ROOT / "mlgitops.yaml").read_text() + extra
    _, found = parse_config("mlgitops.yaml", raw.encode())
    data = yaml.safe_load(raw)
    data.setdefault("training", {}).setdefault("runtime", "torch-distributed")
    return [f.message for f in found] + [f.message for f in config_findings("mlgitops.yaml", data, lambda p: None)]


def test_an_unknown_runtime_is_an_error_unless_its_jobs_are_named():
    assert any("runtime 'my-runtime' is not one Kubeflow Trainer ships" in m
               for m in _config_findings("training: {runtime: my-runtime}\n"))
    named = "training: {runtime: my-runtime, runtimeJobs: [{name: node}, {name: launcher, containers: [node]}]}\n"
    assert not [m for m in _config_findings(named) if "runtime" in m]
    patched = _patched(_train_job(named))
    assert list(patched) == ["node", "launcher"]
    assert patched["launcher"]["containers"][0]["name"] == "node"
