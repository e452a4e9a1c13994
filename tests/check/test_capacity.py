"""Capacity before merge: each environment's worst case against its quota in mlgitops.yaml."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import run_cli
from mlgitops.check.capacity import usage


def pod(cpu="1", memory="1Gi", gpu=0, init=None) -> dict:
    limits = {"nvidia.com/gpu": str(gpu)} if gpu else {}
    spec = {"containers": [{"resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": limits}}]}
    if init:
        spec["initContainers"] = [{"resources": {"requests": init}}]
    return spec


def deployment(name, replicas=2, strategy=None, **kw) -> dict:
    return {"kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "strategy": strategy or {"type": "Recreate"}, "template": {"spec": pod(**kw)}}}


def test_a_deployment_counts_its_hpa_maximum_and_gpus_per_pod():
    hpa = {"kind": "HorizontalPodAutoscaler", "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "a"},
                                                       "maxReplicas": 10}}
    used = usage({"a": [deployment("a", gpu=2), hpa], "b": [deployment("b", replicas=3, cpu="500m")]}, "nvidia.com/gpu")
    assert (used.gpu, used.cpu) == (Decimal(20), Decimal("11.5"))
    assert used.by_model["a"]["gpu"] == 20 and used.by_model["b"]["cpu"] == Decimal("1.5")


def test_jobs_count_their_parallelism_and_init_containers_their_peak():
    job = {"kind": "Job", "metadata": {"name": "sweep"}, "spec": {"parallelism": 4, "template": {"spec": pod(gpu=1)}}}
    cron = {"kind": "CronJob", "metadata": {"name": "nightly"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": pod(gpu=2)}}}}}
    used = usage({"m": [job, cron]}, "nvidia.com/gpu")
    assert used.gpu == 6
    heavy_init = usage({"m": [deployment("m", replicas=1, memory="1Gi", init={"memory": "4Gi"})]}, "nvidia.com/gpu")
    assert heavy_init.memory == 4 * 2**30


def test_check_fails_a_quota_the_worst_case_exceeds_at_the_quota_line(repo, capsys):
    path = repo / "mlgitops.yaml"
    path.write_text(path.read_text().replace("- name: prod\n  namespace: ml-prod\n",
                                             "- name: prod\n  namespace: ml-prod\n  quota: {gpu: 8, cpu: '100'}\n"))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo), "--no-cache", "--format", "github")
    assert result.code == 1
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "quota:" in text)
    assert f"file=mlgitops.yaml,line={line}," in result.out
    assert "prod: at most 16 gpu requested at once, over the quota of 8 (most: image-classifier 16)" in result.out
    assert "cpu requested" not in result.out


@pytest.mark.slow  # the fast loop keeps the quota exceeded
def test_a_quota_the_worst_case_fits_passes(repo, capsys):
    path = repo / "mlgitops.yaml"
    path.write_text(path.read_text().replace("- name: prod\n  namespace: ml-prod\n",
                                             "- name: prod\n  namespace: ml-prod\n  quota: {gpu: 16, memory: 400Gi}\n"))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo), "--no-cache")
    assert result.code == 0, result.out


def test_distributed_training_counts_every_replica_and_katib_its_parallel_trials():
    pytorch = {"kind": "PyTorchJob", "metadata": {"name": "t"}, "spec": {"pytorchReplicaSpecs": {
        "Master": {"replicas": 1, "template": {"spec": pod(gpu=2)}},
        "Worker": {"replicas": 3, "template": {"spec": pod(gpu=2)}}}}}
    katib = {"kind": "Experiment", "metadata": {"name": "s"}, "spec": {"parallelTrialCount": 4, "trialTemplate": {
        "trialSpec": {"kind": "Job", "spec": {"template": {"spec": pod(gpu=1)}}}}}}
    used = usage({"m": [pytorch, katib]}, "nvidia.com/gpu")
    assert used.gpu == 8 + 4
    assert used.pods == 4 + 4 + 1  # and Katib's suggestion pod, which the operator starts in the namespace


def test_katib_runs_no_more_trials_at_once_than_it_has_and_each_trial_its_jobs_pods():
    def katib(**spec):
        trial = {"kind": "Job", "spec": {"parallelism": 2, "template": {"spec": pod(gpu=1)}}}
        return {"kind": "Experiment", "metadata": {"name": "s"}, "spec": {**spec, "trialTemplate": {"trialSpec": trial}}}
    assert usage({"m": [katib(parallelTrialCount=4, maxTrialCount=2)]}, "nvidia.com/gpu").gpu == 2 * 2
    assert usage({"m": [katib()]}, "nvidia.com/gpu").gpu == 3 * 2  # Katib's default parallelTrialCount is 3


def test_a_rolling_update_counts_the_pods_it_surges():
    """The quota admits the surge pod of a rollout, or the rollout stalls: it is part of the worst case."""
    def rolling(surge):
        return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": 0}}
    hpa = {"kind": "HorizontalPodAutoscaler", "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "a"},
                                                       "maxReplicas": 10}}
    assert usage({"a": [deployment("a", strategy=rolling(1))]}, "nvidia.com/gpu").cpu == 3
    assert usage({"a": [deployment("a", strategy=rolling("25%")), hpa]}, "nvidia.com/gpu").pods == 13  # rounds up
    assert usage({"a": [deployment("a", strategy=rolling(0), gpu=1), hpa]}, "nvidia.com/gpu").gpu == 10
    assert usage({"a": [deployment("a")]}, "nvidia.com/gpu").pods == 2  # Recreate


@pytest.mark.slow  # the fast loop keeps the quota exceeded
def test_a_pod_quota_is_checked_too(repo, capsys):
    path = repo / "mlgitops.yaml"
    path.write_text(path.read_text().replace("- name: prod\n  namespace: ml-prod\n",
                                             "- name: prod\n  namespace: ml-prod\n  quota: {pods: 10}\n"))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo), "--no-cache")
    assert result.code == 1
    assert "prod: at most 32 pods requested at once, over the quota of 10 (most: image-classifier 16, house-prices 11, fraud-detector 5)" in result.out  # surges included


def test_a_native_sidecar_adds_to_the_main_containers_an_init_container_does_not():
    from mlgitops.check.capacity import _pod_requests

    def container(cpu: str, **extra: str) -> dict:
        return {"resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}, **extra}

    pod = {"containers": [container("2")],
           "initContainers": [container("3"), container("500m", restartPolicy="Always")]}
    assert _pod_requests(pod, "nvidia.com/gpu")["cpu"] == Decimal(3)  # max(init 3, main 2 + sidecar 0.5)
    pod["initContainers"][0] = container("1")
    assert _pod_requests(pod, "nvidia.com/gpu")["cpu"] == Decimal("2.5")
