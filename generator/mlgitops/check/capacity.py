"""Capacity before merge: the worst case an environment's models can ask for, against its quota. Pure.

Worst case per workload: per-pod requests (containers summed; an init container counts when it asks
for more) times the most pods it can run at once, as the workload-kind table (`kube/workloads.py`) counts
them: a Deployment's HPA maxReplicas (else replicas) plus the pods a rolling update surges (the quota admits
the surge pod or the rollout stalls), a Job's parallelism, a TrainJob's nodes, a Katib Experiment's parallel
trials; the pods an operator starts beside them (Katib's suggestion) count against the pod quota. Canaries
are Deployments and training Jobs are Jobs, so they count without special cases. `mlgitops.yaml` sets the
quota per environment (`quota: {cpu, memory, gpu, pods}`); the finding names the models that use the most.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from mlgitops.kube import quantity, workloads
from mlgitops.report.findings import Finding

RESOURCES = ("cpu", "memory", "gpu", "pods")


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

    # a native sidecar (an init container restarted Always) runs beside the main containers: its requests add up
    inits = pod.get("initContainers") or []
    main = of([*(pod.get("containers") or []), *(c for c in inits if c.get("restartPolicy") == "Always")])
    init = of([c for c in inits if c.get("restartPolicy") != "Always"])
    return {r: max(sum((c[r] for c in main), Decimal(0)), max((c[r] for c in init), default=Decimal(0)))
            for r in ("cpu", "memory", "gpu")}


def _hpa_max(obj: dict, objects: list[dict]) -> int | None:
    """The maxReplicas of the HorizontalPodAutoscaler that scales obj, if one does."""
    kind = workloads.entry(obj)
    if kind is None or not kind.scalable:
        return None
    for hpa in objects:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if hpa.get("kind") == "HorizontalPodAutoscaler" and ref.get("kind") == obj.get("kind") and \
                ref.get("name") == (obj.get("metadata") or {}).get("name"):
            return workloads.count(hpa["spec"].get("maxReplicas"), 1)
    return None


def usage(objects_by_model: dict[str, list[dict]], gpu_resource: str) -> Usage:
    """The worst case of one environment: model name -> the objects its overlay builds."""
    with localcontext(quantity.EXACT):  # any quantity Kubernetes accepts adds up without overflow
        return _usage(objects_by_model, gpu_resource)


def _usage(objects_by_model: dict[str, list[dict]], gpu_resource: str) -> Usage:
    total = Usage()
    for model, objects in sorted(objects_by_model.items()):
        for obj in objects:
            for template in workloads.pod_templates(obj, _hpa_max(obj, objects)):
                if not template.pod or not template.most:
                    continue
                for resource, amount in _pod_requests(template.pod, gpu_resource).items():
                    total.add(model, resource, amount * template.most)
                total.add(model, "pods", Decimal(template.most))
            kind = workloads.entry(obj)
            if kind is not None and kind.operator_pods:  # e.g. Katib's suggestion: its requests are the operator's
                total.add(model, "pods", Decimal(kind.operator_pods))
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
