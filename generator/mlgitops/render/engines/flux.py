"""Flux: one Kustomization per unit (`./overlays/<env>/<model>[/training]`, prune, wait, timeout, retry),
so one broken model never blocks the others, applied by the bootstrap Kustomization at
`clusters/<cluster>/flux` (which applies Namespaces first); a GitRepository when `git.url` is set, else
the `flux-system` source that `flux bootstrap` made."""

from __future__ import annotations

from typing import Any

from mlgitops.kube.annotations import FLUX_PRUNE
from mlgitops.render.engines.base import LABEL_VALUE_MAX, PART_OF, Models, Placed, SyncView
from mlgitops.render.units import TRAINING, ClusterPath, Unit
from mlgitops.report.findings import Finding, Position
from mlgitops.spec.config import Config, Environment

FLUX_SOURCE = "mlgitops"  # the GitRepository generated when git.url is set
BOOTSTRAP_SOURCE = "flux-system"  # the one `flux bootstrap` creates


def kustomization_name(model: str, env: str) -> str:
    return f"{model}-{env}"


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
            "spec": {"path": f"./{Unit(model, env.name).folder}", "prune": True, "wait": True,
                     "interval": sync["interval"], "retryInterval": sync["retryInterval"], "timeout": sync["timeout"],
                     "sourceRef": {"kind": "GitRepository", "name": source}}}


def flux_training_kustomization(config: Config, env: Environment, model: str) -> dict[str, Any]:
    """Training apart from serving: `wait: false`, so the Kustomization is Ready once applied, however long the
    Job runs (with `wait: true` Flux waits for Jobs to complete, up to `timeout`); prune deletes a Job whose
    spec changed (it has a new name), never a running one that did not."""
    obj = flux_kustomization(config, env, model)
    obj["metadata"]["name"] = training_kustomization_name(model, env.name)
    obj["metadata"]["labels"]["app.kubernetes.io/component"] = TRAINING
    obj["spec"]["path"] = f"./{Unit(model, env.name, TRAINING).folder}"
    obj["spec"]["wait"] = False
    return obj


def _dependencies(path: str, obj: dict[str, Any], view: SyncView) -> list[Finding]:
    cluster = ClusterPath.at(path).folder
    names = {o["metadata"]["name"] for p, o in view.objects.items()
             if ClusterPath.at(p).folder == cluster and o.get("kind") == "Kustomization"}
    return [Finding("sync-object", f"Kustomization {obj['metadata']['name']} depends on {dep.get('name')}, which "
                    f"cluster {cluster} does not have", path, Position(1, 1))
            for dep in obj["spec"].get("dependsOn") or [] if dep.get("name") not in names]


class Flux:
    name = "flux"
    unit_files = True
    needs_git_url = False  # without it, the source `flux bootstrap` made
    init_note = "flux bootstrap ... --path=clusters/<cluster>/flux, then every model syncs by itself"

    def namespace_annotations(self) -> dict[str, str]:
        return {FLUX_PRUNE: "disabled"}

    def objects(self, config: Config, envs: list[Environment], models: Models,
                training: frozenset[tuple[str, str]]) -> Placed:
        out: Placed = []
        source = git_repository(config)
        if source:
            out.append(("gitrepository.yaml", source, config.path))
        for env in envs:
            out += [(Unit(model, env.name).sync_file(), flux_kustomization(config, env, model), spec_path)
                    for model, spec_path in models]
            out += [(Unit(model, env.name, TRAINING).sync_file(), flux_training_kustomization(config, env, model),
                     spec_path) for model, spec_path in models if (model, env.name) in training]
        return out

    def deletion(self, unit: Unit) -> str:
        return "Flux deletes its Kustomization and prunes what it applied"

    def check(self, path: str, obj: dict[str, Any], view: SyncView) -> list[Finding]:
        """A Kustomization's `path` is a generated overlay (so it builds: `check` builds every overlay), each
        `dependsOn` names a Kustomization of the same cluster, and its name fits in a label value (Flux labels
        what it applies with `kustomize.toolkit.fluxcd.io/name`)."""
        if obj.get("kind") != "Kustomization":
            return []
        name = obj["metadata"]["name"]
        target = obj["spec"]["path"].removeprefix("./")
        out = []
        if target not in view.generated:
            out.append(Finding("sync-object", f"Kustomization {name} syncs {target}, which no spec generates",
                               path, Position(1, 1), "run 'mlgitops generate'"))
        if len(name) > LABEL_VALUE_MAX:
            file, where = view.locate(obj["metadata"].get("labels", {}).get("app.kubernetes.io/name", ""))
            out.append(Finding("sync-object", f"the Flux Kustomization name '{name}' is {len(name)} characters; "
                               "Flux labels every object it applies with it, and label values hold at most "
                               f"{LABEL_VALUE_MAX}", file, where, "shorten the model or environment name"))
        return out + _dependencies(path, obj, view)


ENGINE = Flux()
