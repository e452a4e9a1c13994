"""Capacity before merge: the worst case an environment's models can ask for, against its quota. Pure.

Worst case per workload: per-pod requests (containers summed; an init container counts when it asks
for more) times the most pods it can run at once: a Deployment's HPA maxReplicas (else replicas) plus the
pods a rolling update surges (the quota admits the surge pod or the rollout stalls), a
Job's parallelism, a CronJob's one job at a time (concurrencyPolicy Forbid) times its parallelism, a
TrainJob's nodes, a PyTorchJob's Master and Workers, a Katib Experiment's parallel trials. Canaries are Deployments and training Jobs are Jobs, so they count without special
cases. `mlgitops.yaml` sets the quota per environment (`quota: {cpu, memory, gpu}`); the finding names
the models that use the most.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from mlgitops.kube import quantity
from mlgitops.report.findings import Finding

RESOURCES = ("cpu", "memory", "gpu", "pods")


def _surge(spec: dict, most: int) -> int:
    """Pods a Deployment's rolling update starts beyond `most` (a percentage rounds up, as Kubernetes does)."""
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if isinstance(surge, str) and surge.endswith("%"):
        return -(-most * int(surge[:-1]) // 100)
    return int(surge)


@dataclass
class Usage:
    cpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)
    gpu: Decimal = Decimal(0)
    pods: Decimal = Decimal(0)
    by_model: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def add(self, model: str, resource: str, amount: Decimal) -> None:
        setattr(self, resource, getattr(self, resource) + amount)
        per = self.by_model.setdefault(model, {r: Decimal(0) for r in RESOURCES})
        per[resource] += amount


def _pod_requests(pod: dict, gpu_resource: str) -> dict[str, Decimal]:
    def of(containers: Iterable[dict]) -> list[dict[str, Decimal]]:
        out = []
        for c in containers:
            res = c.get("resources") or {}
            req, lim = res.get("requests") or {}, res.get("limits") or {}
            gpu = req.get(gpu_resource, lim.get(gpu_resource, 0))
            out.append({"cpu": quantity.parse(req.get("cpu", 0)), "memory": quantity.parse(req.get("memory", 0)),
                        "gpu": quantity.parse(gpu)})
        return out

    main = of(pod.get("containers") or [])
    init = of(pod.get("initContainers") or [])
    return {r: max(sum((c[r] for c in main), Decimal(0)), max((c[r] for c in init), default=Decimal(0)))
            for r in ("cpu", "memory", "gpu")}


def _max_pods(obj: dict, objects: list[dict]) -> tuple[dict | None, int]:
    """(pod spec, the most pods of it at once) of a workload; (None, 0) for anything else."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind in ("Deployment", "StatefulSet"):
        most = int(spec.get("replicas", 1))
        for hpa in objects:
            ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
            if hpa.get("kind") == "HorizontalPodAutoscaler" and ref.get("kind") == kind and \
                    ref.get("name") == obj["metadata"]["name"]:
                most = int(hpa["spec"]["maxReplicas"])
        surge = _surge(spec, most) if kind == "Deployment" else 0
        return spec.get("template", {}).get("spec"), most + surge
    if kind == "Job":
        return spec.get("template", {}).get("spec"), int(spec.get("parallelism", 1))
    if kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        return job.get("template", {}).get("spec"), int(job.get("parallelism", 1))
    if kind == "TrainJob":
        trainer = spec.get("trainer") or {}
        pod = {"containers": [{"resources": {"requests": (trainer.get("resourcesPerNode") or {}).get("requests") or {},
                                             "limits": (trainer.get("resourcesPerNode") or {}).get("limits") or {}}}]}
        return pod, int(trainer.get("numNodes", 1))
    return None, 0


def _pods(obj: dict, objects: list[dict]) -> list[tuple[dict | None, int]]:
    """(pod spec, most pods at once) of each pod template a workload holds."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "PyTorchJob":  # a Master and Workers, each with its replicas
        return [((role.get("template") or {}).get("spec"), int(role.get("replicas", 1)))
                for _, role in sorted((spec.get("pytorchReplicaSpecs") or {}).items())]
    if obj.get("kind") == "Experiment":  # Katib: parallelTrialCount trial Jobs at once
        job = ((spec.get("trialTemplate") or {}).get("trialSpec") or {}).get("spec") or {}
        return [((job.get("template") or {}).get("spec"), int(spec.get("parallelTrialCount", 3)))]
    return [_max_pods(obj, objects)]


def usage(objects_by_model: dict[str, list[dict]], gpu_resource: str) -> Usage:
    """The worst case of one environment: model name -> the objects its overlay builds."""
    total = Usage()
    for model, objects in sorted(objects_by_model.items()):
        for obj in objects:
            for pod, most in _pods(obj, objects):
                if not pod or not most:
                    continue
                for resource, amount in _pod_requests(pod, gpu_resource).items():
                    total.add(model, resource, amount * most)
                total.add(model, "pods", Decimal(most))
    return total


def _text(resource: str, amount: Decimal) -> str:
    if resource == "cpu":
        return quantity.cpu_text(amount)
    if resource == "memory":
        return quantity.memory_text(amount)
    return f"{amount.normalize():f}"


def findings(env: str, quota: dict, used: Usage, config_path: str, where) -> list[Finding]:
    """where(resource) -> the Position of the quota's line in mlgitops.yaml."""
    out = []
    for resource in ("gpu", "cpu", "memory", "pods"):
        if resource not in quota:
            continue
        limit = quantity.parse(quota[resource])
        need = getattr(used, resource)
        if need <= limit:
            continue
        top = sorted(used.by_model.items(), key=lambda kv: (-kv[1][resource], kv[0]))[:3]
        names = ", ".join(f"{m} {_text(resource, u[resource])}" for m, u in top if u[resource])
        out.append(Finding.in_environments([env], "capacity", f"at most {_text(resource, need)} {resource} "
                           f"requested at once, over the quota of {_text(resource, limit)} (most: {names})", config_path, where(resource),
                           "lower maxReplicas, GPUs per pod, maxSurge or sweep parallelism, or raise the quota"))
    return out
