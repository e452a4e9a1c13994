"""The jobs of Kubeflow Trainer's runtimes: which replicated jobs a `ClusterTrainingRuntime` runs, their
containers, and which of them the TrainJob's `trainer` section configures. Read from the runtimes Trainer
ships (vendored in `schemas/trainer_runtimes/`, see its PROVENANCE.md), or from `training.runtimeJobs` of
mlgitops.yaml for a runtime of the cluster's own.

Trainer applies `trainer.image`, `resourcesPerNode` and `env` to the container `node` of the jobs labelled
`trainer.kubeflow.org/trainjob-ancestor-step: trainer` (pkg/constants/constants.go; the jobset plugin's
builder): the `node` job, and an MPI runtime's `launcher` (deepspeed, mlx). Initializers
(`dataset-initializer`, `model-initializer`) run once, before the nodes (`dependsOn: Complete`); a TrainJob
cannot set their resources (`runtimePatches` containers take env, securityContext and volumeMounts only).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import yaml

NODE = "node"
ANCESTOR = "trainer.kubeflow.org/trainjob-ancestor-step"


@dataclass(frozen=True)
class RuntimeJob:
    name: str
    containers: tuple[str, ...]
    trainer: bool  # configured by the TrainJob's trainer section (image, resourcesPerNode, env, numNodes)

    def pods(self, num_nodes: int, launcher_as_node: bool = False) -> int:
        """Pods of this job for a TrainJob of num_nodes: the `node` job one per node (one fewer when an MPI
        launcher runs as a node: Trainer pkg/runtime/framework/plugins/mpi, max(numNodes - 1, 1)); the others one."""
        if self.name != NODE:
            return 1
        return max(num_nodes - 1, 1) if launcher_as_node else num_nodes


def _job(job: dict[str, Any]) -> RuntimeJob:
    name = str(job.get("name", ""))
    template = (job.get("template") or {})
    ancestor = ((template.get("metadata") or {}).get("labels") or {}).get(ANCESTOR)
    pod = ((template.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = tuple(str(c.get("name")) for c in pod.get("containers") or [])
    return RuntimeJob(name, containers, name == NODE or ancestor == "trainer")


@functools.cache
def _documents() -> dict[str, dict[str, Any]]:
    """Each shipped runtime's name -> its ClusterTrainingRuntime (importlib.resources imported here: rendering a
    spec that names none of Trainer's runtimes needs it not, ~3 ms)."""
    from importlib import resources

    out = {}
    for file in sorted(resources.files("mlgitops.schemas.trainer_runtimes").iterdir(), key=lambda f: f.name):
        if file.name.endswith(".yaml"):
            doc = yaml.load(file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # vendored
            out[doc["metadata"]["name"]] = doc
    return out


def shipped() -> dict[str, tuple[RuntimeJob, ...]]:
    """Each shipped runtime's name -> its replicated jobs, in the runtime's order."""
    return {name: tuple(_job(j) for j in doc["spec"]["template"]["spec"].get("replicatedJobs") or [])
            for name, doc in _documents().items()}


def launcher_as_node(runtime: str) -> bool:
    """Whether a shipped runtime's MPI launcher is one of the nodes (mlPolicy.mpi.runLauncherAsNode)."""
    policy = (_documents().get(runtime) or {}).get("spec", {}).get("mlPolicy") or {}
    return bool((policy.get("mpi") or {}).get("runLauncherAsNode"))


def named(jobs: list[dict[str, Any]]) -> tuple[RuntimeJob, ...]:
    """The jobs mlgitops.yaml names for a runtime of the cluster's own: [{name, containers?}]."""
    return tuple(RuntimeJob(j["name"], tuple(j.get("containers") or [j["name"]]), j["name"] == NODE)
                 for j in jobs)


def runtime_jobs(settings: dict[str, Any]) -> tuple[RuntimeJob, ...] | None:
    """The jobs of mlgitops.yaml's training runtime: named there, else shipped by Trainer; None: unknown."""
    if settings.get("runtimeJobs"):
        return named(settings["runtimeJobs"])
    return shipped().get(settings.get("runtime", ""))
