"""The objects that make clusters sync the overlays: Namespaces, and Flux or Argo CD objects. Pure.

Per cluster (environments may share one), for each engine of `sync.engine`:
- the Namespaces of its environments, labelled for Pod Security Admission at `restricted` (enforce,
  audit, warn, pinned to the config's Kubernetes minor version), with an optional ResourceQuota and
  LimitRange. Several models share a namespace, so no model's overlay owns it; it is protected from
  prune (deleting a Namespace deletes every object in it).
- the engine's own objects (render/engines/: one module per engine, flux and argocd).
- Training (`overlays/<env>/<model>/training/`, only where a model trains) is synced apart from
  serving, so a 24-hour Job never holds the model's serving sync un-Ready: Flux, a Kustomization
  `<model>-<env>-training` that nothing depends on (its health checks never hold serving); Argo CD, a
  second ApplicationSet `mlgitops-<env>-training` over `overlays/<env>/*/training`, whose
  Applications are `<model>-<env>-training`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgitops.kube import quantity
from mlgitops.render.engines import ENGINES, named
from mlgitops.render.engines.base import PART_OF, Facts
from mlgitops.render.units import cluster_folder
from mlgitops.spec.config import Config, Environment


@dataclass(frozen=True)
class SyncObject:
    folder: str  # clusters/<cluster>/<engine>
    file: str
    obj: dict[str, Any]
    source: str  # the file it is generated from: mlgitops.yaml or models/<name>.yaml


def clusters(config: Config) -> dict[str, list[Environment]]:
    """Cluster name -> its environments, in mlgitops.yaml's order."""
    out: dict[str, list[Environment]] = {}
    for env in config.environments:
        out.setdefault(env.cluster, []).append(env)
    return out


def engines(config: Config) -> list[str]:
    return [engine.name for engine in named(config.sync["engine"])]


def _minor(config: Config) -> str:
    major, minor = str(config.kubernetes_version).split(".")[:2]
    return f"v{major}.{minor}"


KATIB_INJECTION = {"katib.kubeflow.org/metrics-collector-injection": "enabled"}  # katib's webhook namespaceSelector


def namespace(config: Config, env: Environment, engine: str, trains: bool = False) -> dict[str, Any]:
    """trains: a model trains here; with Katib (training.katib), its metrics collector must be injected into the
    trials, or every trial ends MetricsUnavailable (katib manifests/v1beta1/components/webhook/webhooks.yaml)."""
    labels = {"kubernetes.io/metadata.name": env.namespace, **PART_OF, "mlgitops.io/environment": env.name}
    if trains and config.training.get("katib"):
        labels.update(KATIB_INJECTION)
    for mode in ("enforce", "audit", "warn"):  # a spec's security exception needs enforce: baseline (podSecurity)
        labels[f"pod-security.kubernetes.io/{mode}"] = env.pod_security if mode == "enforce" else "restricted"
        labels[f"pod-security.kubernetes.io/{mode}-version"] = _minor(config)
    annotations = ENGINES[engine].namespace_annotations()
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": env.namespace, "labels": labels, "annotations": annotations}}


def _quantity(value: Any) -> str:
    return quantity.text(value)


def resource_quota(config: Config, env: Environment) -> dict[str, Any] | None:
    quota = env.quota
    if not quota:
        return None
    hard = {}
    if "cpu" in quota:
        hard["requests.cpu"] = _quantity(quota["cpu"])
    if "memory" in quota:
        hard["requests.memory"] = _quantity(quota["memory"])
    if "gpu" in quota:
        hard[f"requests.{config.gpu['resource']}"] = str(quota["gpu"])
    if "pods" in quota:
        hard["pods"] = str(quota["pods"])
    return {"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "mlgitops", "namespace": env.namespace, "labels": dict(PART_OF)},
            "spec": {"hard": hard}}


def limit_range(env: Environment) -> dict[str, Any] | None:
    limits = env.limit_range
    if not limits:
        return None
    item: dict[str, Any] = {"type": "Container"}
    for key in ("default", "defaultRequest"):
        if limits.get(key):
            item[key] = {k: _quantity(v) for k, v in limits[key].items()}
    return {"apiVersion": "v1", "kind": "LimitRange",
            "metadata": {"name": "mlgitops", "namespace": env.namespace, "labels": dict(PART_OF)},
            "spec": {"limits": [item]}}


def _cluster_objects(config: Config, envs: list[Environment], engine: str, models: list[tuple[str, str]],
                     training: frozenset[tuple[str, str]], facts: Facts | None) -> list[tuple[str, dict[str, Any], str]]:
    """(file, object, source) for one cluster and engine."""
    out: list[tuple[str, dict[str, Any], str]] = []
    for env in envs:
        trains = any(name == env.name for _, name in training)
        out.append((f"namespace-{env.namespace}.yaml", namespace(config, env, engine, trains), config.path))
        quota = resource_quota(config, env)
        if quota:
            out.append((f"resourcequota-{env.namespace}.yaml", quota, config.path))
        limits = limit_range(env)
        if limits:
            out.append((f"limitrange-{env.namespace}.yaml", limits, config.path))
    return out + ENGINES[engine].objects(config, envs, models, training, facts)


def sync_objects(config: Config, models: list[tuple[str, str]], training: frozenset[tuple[str, str]] = frozenset(),
                 facts: Facts | None = None) -> list[SyncObject]:
    """Every object under clusters/, for (model name, spec path) pairs, the (model, environment) pairs that
    train and what the engines need to know of each (model, environment)'s objects, in a stable order."""
    return [SyncObject(cluster_folder(cluster, engine), file, obj, source)
            for cluster, envs in clusters(config).items()
            for engine in engines(config)
            for file, obj, source in _cluster_objects(config, envs, engine, models, training, facts)]
