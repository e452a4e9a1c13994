"""The objects that make clusters sync the overlays: Namespaces, and Flux or Argo CD objects. Pure.

Per cluster (environments may share one), for each engine of `sync.engine`:
- the Namespaces of its environments, labelled for Pod Security Admission at `restricted` (enforce,
  audit, warn, pinned to the config's Kubernetes minor version), with an optional ResourceQuota and
  LimitRange. Several models share a namespace, so no model's overlay owns it; it is protected from
  prune (deleting a Namespace deletes every object in it).
- Flux: one Kustomization per model and environment (`./overlays/<env>/<model>`, prune, wait,
  timeout, retry), so one broken model never blocks the others. They are applied by the same parent
  (the bootstrap Kustomization at `clusters/<cluster>/flux`), which applies Namespaces first; a
  GitRepository when `git.url` is set, else the `flux-system` source that `flux bootstrap` made.
- Argo CD: one AppProject per environment (this repository, that environment's namespace, no
  cluster-scoped kinds) and one ApplicationSet whose git directory generator makes an Application
  per model folder of `overlays/<env>/`; Namespaces in sync wave -1 of the parent Application.
- Training (`overlays/<env>/<model>/training/`, only where a model trains) is synced apart from
  serving, so a 24-hour Job never holds the model's serving sync un-Ready: Flux, a Kustomization
  `<model>-<env>-training` with `wait: false` (Flux's `wait` waits for Jobs to complete); Argo CD, a
  second ApplicationSet `mlgitops-<env>-training` over `overlays/<env>/*/training`, whose
  Applications are `<model>-<env>-training`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgitops.spec.config import Config, Environment

PART_OF = {"app.kubernetes.io/managed-by": "mlgitops"}
FLUX_SOURCE = "mlgitops"  # the GitRepository generated when git.url is set
BOOTSTRAP_SOURCE = "flux-system"  # the one `flux bootstrap` creates
IN_CLUSTER = "https://kubernetes.default.svc"


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
    engine = config.sync["engine"]
    return ["flux", "argocd"] if engine == "both" else [engine]


def _minor(config: Config) -> str:
    major, minor = str(config.kubernetes_version).split(".")[:2]
    return f"v{major}.{minor}"


def namespace(config: Config, env: Environment, engine: str) -> dict[str, Any]:
    labels = {"kubernetes.io/metadata.name": env.namespace, **PART_OF, "mlgitops.io/environment": env.name}
    for mode in ("enforce", "audit", "warn"):  # a spec's security exception needs enforce: baseline (podSecurity)
        labels[f"pod-security.kubernetes.io/{mode}"] = env.pod_security if mode == "enforce" else "restricted"
        labels[f"pod-security.kubernetes.io/{mode}-version"] = _minor(config)
    if engine == "flux":
        annotations = {"kustomize.toolkit.fluxcd.io/prune": "disabled"}
    else:
        annotations = {"argocd.argoproj.io/sync-wave": "-1", "argocd.argoproj.io/sync-options": "Prune=false,Delete=false"}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": env.namespace, "labels": labels, "annotations": annotations}}


def _quantity(value: Any) -> str:
    return str(value)


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


def kustomization_name(model: str, env: str) -> str:
    return f"{model}-{env}"


TRAINING = "training"  # the folder of a model's training objects in its overlay, and the suffix of their sync names


def training_kustomization_name(model: str, env: str) -> str:
    return f"{model}-{env}-{TRAINING}"


def git_repository(config: Config) -> dict[str, Any] | None:
    git = config.git
    if not git.get("url"):
        return None
    spec: dict[str, Any] = {"interval": "1m", "url": git["url"], "ref": {"branch": git["branch"]}}
    if git.get("secretRef"):
        spec["secretRef"] = {"name": git["secretRef"]}
    return {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": FLUX_SOURCE, "namespace": config.sync["fluxNamespace"], "labels": dict(PART_OF)},
            "spec": spec}


def flux_kustomization(config: Config, env: Environment, model: str) -> dict[str, Any]:
    sync = config.sync
    source = FLUX_SOURCE if config.git.get("url") else BOOTSTRAP_SOURCE
    return {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": kustomization_name(model, env.name), "namespace": sync["fluxNamespace"],
                         "labels": {**PART_OF, "app.kubernetes.io/name": model, "mlgitops.io/environment": env.name}},
            "spec": {"path": f"./overlays/{env.name}/{model}", "prune": True, "wait": True,
                     "interval": sync["interval"], "retryInterval": sync["retryInterval"], "timeout": sync["timeout"],
                     "sourceRef": {"kind": "GitRepository", "name": source}}}


def flux_training_kustomization(config: Config, env: Environment, model: str) -> dict[str, Any]:
    """Training apart from serving: `wait: false`, so the Kustomization is Ready once applied, however long the
    Job runs (with `wait: true` Flux waits for Jobs to complete, up to `timeout`); prune deletes a Job whose
    spec changed (it has a new name), never a running one that did not."""
    obj = flux_kustomization(config, env, model)
    obj["metadata"]["name"] = training_kustomization_name(model, env.name)
    obj["metadata"]["labels"]["app.kubernetes.io/component"] = TRAINING
    obj["spec"]["path"] = f"./overlays/{env.name}/{model}/{TRAINING}"
    obj["spec"]["wait"] = False
    return obj


def app_project(config: Config, env: Environment) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": f"mlgitops-{env.name}", "namespace": config.sync["argocdNamespace"],
                         "labels": dict(PART_OF)},
            "spec": {"description": f"mlgitops models of the {env.name} environment",
                     "sourceRepos": [config.git["url"]],
                     "destinations": [{"server": IN_CLUSTER, "namespace": env.namespace}],
                     "clusterResourceWhitelist": []}}


def application_set(config: Config, env: Environment) -> dict[str, Any]:
    git = config.git
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": f"mlgitops-{env.name}", "namespace": config.sync["argocdNamespace"],
                         "labels": dict(PART_OF)},
            "spec": {
                "goTemplate": True,
                "goTemplateOptions": ["missingkey=error"],
                "generators": [{"git": {"repoURL": git["url"], "revision": git["branch"],
                                        "directories": [{"path": f"overlays/{env.name}/*"}]}}],
                # Renaming or deleting a model folder deletes its Application, never what it runs.
                "syncPolicy": {"preserveResourcesOnDeletion": True},
                "template": {
                    "metadata": {"name": "{{.path.basename}}-" + env.name,
                                 "labels": {**PART_OF, "mlgitops.io/environment": env.name}},
                    "spec": {
                        "project": f"mlgitops-{env.name}",
                        "source": {"repoURL": git["url"], "targetRevision": git["branch"], "path": "{{.path.path}}"},
                        "destination": {"server": IN_CLUSTER, "namespace": env.namespace},
                        "syncPolicy": {
                            "automated": {"prune": True, "selfHeal": True},
                            "syncOptions": ["SkipDryRunOnMissingResource=true"],
                            "retry": {"limit": 5, "backoff": {"duration": "30s", "factor": 2, "maxDuration": "10m"}},
                        },
                    },
                },
            }}


def training_application_set(config: Config, env: Environment) -> dict[str, Any]:
    """One Application per training folder, `<model>-<env>-training`: never the serving Application's name."""
    obj = application_set(config, env)
    obj["metadata"]["name"] = f"mlgitops-{env.name}-{TRAINING}"
    spec = obj["spec"]
    spec["generators"][0]["git"]["directories"] = [{"path": f"overlays/{env.name}/*/{TRAINING}"}]
    spec["template"]["metadata"]["name"] = "{{index .path.segments 2}}-" + f"{env.name}-{TRAINING}"
    spec["template"]["metadata"]["labels"]["app.kubernetes.io/component"] = TRAINING
    # A folder that goes (the spec stops training there) takes its objects with it: a CronJob left behind
    # would go on training every night. The data claim survives (its Delete=false annotation).
    spec["syncPolicy"] = {"preserveResourcesOnDeletion": False}
    return obj


def _cluster_objects(config: Config, envs: list[Environment], engine: str,
                     models: list[tuple[str, str]], training: frozenset[tuple[str, str]]) -> list[tuple[str, dict[str, Any], str]]:
    """(file, object, source) for one cluster and engine."""
    out: list[tuple[str, dict[str, Any], str]] = []
    for env in envs:
        out.append((f"namespace-{env.namespace}.yaml", namespace(config, env, engine), config.path))
        quota = resource_quota(config, env)
        if quota:
            out.append((f"resourcequota-{env.namespace}.yaml", quota, config.path))
        limits = limit_range(env)
        if limits:
            out.append((f"limitrange-{env.namespace}.yaml", limits, config.path))
    if engine == "flux":
        source = git_repository(config)
        if source:
            out.append(("gitrepository.yaml", source, config.path))
        for env in envs:
            out += [(f"{env.name}/{model}.yaml", flux_kustomization(config, env, model), spec_path)
                    for model, spec_path in models]
            out += [(f"{env.name}/{TRAINING}/{model}.yaml", flux_training_kustomization(config, env, model), spec_path)
                    for model, spec_path in models if (model, env.name) in training]
    else:
        for env in envs:
            out.append((f"appproject-{env.name}.yaml", app_project(config, env), config.path))
            out.append((f"applicationset-{env.name}.yaml", application_set(config, env), config.path))
            if any(env_name == env.name for _, env_name in training):
                out.append((f"applicationset-{env.name}-{TRAINING}.yaml", training_application_set(config, env),
                            config.path))
    return out


def sync_objects(config: Config, models: list[tuple[str, str]],
                 training: frozenset[tuple[str, str]] = frozenset()) -> list[SyncObject]:
    """Every object under clusters/, for (model name, spec path) pairs and the (model, environment) pairs
    that train, in a stable order."""
    return [SyncObject(f"clusters/{cluster}/{engine}", file, obj, source)
            for cluster, envs in clusters(config).items()
            for engine in engines(config)
            for file, obj, source in _cluster_objects(config, envs, engine, models, training)]
