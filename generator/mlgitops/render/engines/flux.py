"""Flux: one Kustomization per unit (`./overlays/<env>/<model>[/training]`, prune, wait, retry, a timeout
that covers the model's rollout), so one broken model never blocks the others, and a second one per serving
unit with CRD-dependent objects (`<model>-<env>-extras`), so a missing CRD never blocks the model; each
impersonates its environment's ServiceAccount (tenancy); applied by the bootstrap Kustomization at
`clusters/<cluster>/flux` (which applies Namespaces first); a GitRepository when `git.url` is set, else
the `flux-system` source that `flux bootstrap` made."""

from __future__ import annotations

import re
from typing import Any

from mlgitops.kube.annotations import FLUX_PRUNE
from mlgitops.kube.workloads import health_checks
from mlgitops.render.engines.base import LABEL_VALUE_MAX, PART_OF, Facts, Models, Placed, SyncView, UnitFacts
from mlgitops.render.labels import CRD_EXTRA
from mlgitops.render.units import EXTRAS, TRAINING, ClusterPath, Unit
from mlgitops.report.findings import Finding, Position
from mlgitops.spec.config import Config, Environment

FLUX_SOURCE = "mlgitops"  # the GitRepository generated when git.url is set
BOOTSTRAP_SOURCE = "flux-system"  # the one `flux bootstrap` creates
APPLY_SECONDS = 60  # the dry-run and apply before the rollout starts


def kustomization_name(model: str, env: str) -> str:
    return f"{model}-{env}"


def extras_kustomization_name(model: str, env: str) -> str:
    return f"{model}-{env}-{EXTRAS}"


def _delete(selector: str) -> dict[str, Any]:
    """A kustomize patch (Flux `spec.patches`) that drops every object the label selector matches from the build."""
    return {"patch": "$patch: delete\napiVersion: v1\nkind: Any\nmetadata:\n  name: any\n",
            "target": {"labelSelector": selector}}


def split_extras(main: dict[str, Any], config: Config, env: Environment, model: str) -> dict[str, Any]:
    """Flux dry-runs every object of a Kustomization before applying any, so one missing CRD (a ServiceMonitor's,
    an HTTPRoute's) would keep the Deployment from being applied at all. The model's Kustomization therefore drops
    the objects labelled CRD_EXTRA from its build, and a second one, `<model>-<env>-extras`, over the same
    folder, keeps only them: it waits, not Ready, for the CRD, while the model runs. Returns the second."""
    main["spec"]["patches"] = [_delete(CRD_EXTRA)]
    extras = flux_kustomization(config, env, model)
    extras["metadata"]["name"] = extras_kustomization_name(model, env.name)
    extras["metadata"]["labels"]["app.kubernetes.io/component"] = EXTRAS
    extras["spec"]["patches"] = [_delete(f"!{CRD_EXTRA}")]
    extras["spec"]["wait"] = False  # nothing to roll out; applied is done
    return extras


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


_UNITS = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}


def seconds(duration: str) -> float:
    """A Go duration as config.schema.json admits it (`1h30m`, `90s`, `1.5h`) in seconds."""
    return sum(float(n) * _UNITS[u] for n, u in re.findall(r"([0-9.]+)(ms|h|m|s)", duration))


def timeout(config: Config, rollout: int) -> str:
    """The Kustomization's timeout: sync.timeout, or longer when the model's normal rollout (its rounds of pods,
    each up to the Deployment's progress deadline: spec/pods.rollout_seconds) needs it, plus a minute to apply.
    Flux waits for the whole rollout under `wait: true` and stops early when a Deployment reports its progress
    deadline exceeded (kustomize-controller's fail-fast, on by default: internal/features/features.go)."""
    given = config.sync["timeout"]
    needed = rollout + APPLY_SECONDS
    return given if seconds(given) >= needed else f"{-(-needed // 60)}m"


def flux_kustomization(config: Config, env: Environment, model: str, rollout: int = 0) -> dict[str, Any]:
    sync = config.sync
    source = FLUX_SOURCE if config.git.get("url") else BOOTSTRAP_SOURCE
    return {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": kustomization_name(model, env.name), "namespace": sync["fluxNamespace"],
                         "labels": {**PART_OF, "app.kubernetes.io/name": model, "mlgitops.io/environment": env.name}},
            "spec": {"path": f"./{Unit(model, env.name).folder}", "prune": True, "wait": True,
                     "interval": sync["interval"], "retryInterval": sync["retryInterval"],
                     "timeout": timeout(config, rollout), "serviceAccountName": tenant_name(env),
                     "sourceRef": {"kind": "GitRepository", "name": source}}}


def tenant_name(env: Environment) -> str:
    """The ServiceAccount an environment's Kustomizations impersonate."""
    return f"mlgitops-{env.name}"


def tenancy(config: Config, env: Environment) -> list[tuple[str, dict[str, Any]]]:
    """Flux's multi-tenancy (fluxcd/flux2-multi-tenancy, `flux create tenant`): the environment's Kustomizations
    apply as a ServiceAccount bound to cluster-admin by a RoleBinding in the environment's namespace only, so a
    model's overlay cannot write outside it (no ClusterRole, no other namespace). kustomize-controller impersonates
    `spec.serviceAccountName` in the Kustomization's own namespace (internal/controller/kustomization_controller.go:
    runtimeClient.WithServiceAccount(..., obj.Spec.ServiceAccountName, obj.GetNamespace())), hence the
    ServiceAccount lives in fluxNamespace; its RoleBinding in the environment's namespace."""
    name, home = tenant_name(env), config.sync["fluxNamespace"]
    labels = {**PART_OF, "mlgitops.io/environment": env.name}
    account = {"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": name, "namespace": home, "labels": labels}}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": name, "namespace": env.namespace, "labels": labels},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": home}]}
    return [(f"serviceaccount-{name}.yaml", account), (f"rolebinding-{name}.yaml", binding)]


def flux_training_kustomization(config: Config, env: Environment, model: str) -> dict[str, Any]:
    """Training apart from serving (its own Kustomization, which nothing depends on, so waiting on it never
    holds serving): `wait: true` with `healthCheckExprs` for the custom run kinds of the workload table, so a
    failed TrainJob, PyTorchJob or Experiment makes it Failed while a running one is healthy; a batch Job is
    read by kstatus (in progress until it completes, Failed when it fails). Prune deletes a run whose
    identity changed (it has a new name), never a running one that did not."""
    obj = flux_kustomization(config, env, model)
    obj["spec"]["timeout"] = config.sync["timeout"]  # wait: false, nothing to wait for but the apply
    obj["metadata"]["name"] = training_kustomization_name(model, env.name)
    obj["metadata"]["labels"]["app.kubernetes.io/component"] = TRAINING
    obj["spec"]["path"] = f"./{Unit(model, env.name, TRAINING).folder}"
    obj["spec"]["healthCheckExprs"] = [{"apiVersion": kind.api_version, "kind": kind.kind, **health.cel}
                                       for kind, health in health_checks()]
    return obj


def _dependencies(path: str, obj: dict[str, Any], view: SyncView) -> list[Finding]:
    cluster = ClusterPath.at(path).folder
    names = view.names(cluster, "Kustomization")
    return [Finding("sync-object", f"Kustomization {obj['metadata']['name']} depends on {dep.get('name')}, which "
                    f"cluster {cluster} does not have", path, Position(1, 1))
            for dep in obj["spec"].get("dependsOn") or [] if dep.get("name") not in names]


def _serving(config: Config, env: Environment, model: str, spec_path: str, facts: UnitFacts) -> Placed:
    unit = Unit(model, env.name)
    main = flux_kustomization(config, env, model, facts.rollout)
    out: Placed = [(unit.sync_file(), main, spec_path)]
    if facts.extras:
        out.append((unit.extras_sync_file(), split_extras(main, config, env, model), spec_path))
    return out


class Flux:
    name = "flux"
    unit_files = True
    needs_git_url = False  # without it, the source `flux bootstrap` made
    init_note = "flux bootstrap ... --path=clusters/<cluster>/flux, then every model syncs by itself"

    def namespace_annotations(self) -> dict[str, str]:
        return {FLUX_PRUNE: "disabled"}

    def objects(self, config: Config, envs: list[Environment], models: Models,
                training: frozenset[tuple[str, str]], facts: Facts | None = None) -> Placed:
        out: Placed = []
        source = git_repository(config)
        if source:
            out.append(("gitrepository.yaml", source, config.path))
        for env in envs:
            out += [(file, obj, config.path) for file, obj in tenancy(config, env)]
            for model, spec_path in models:
                unit = UnitFacts() if facts is None else facts.get((model, env.name))
                if unit is not None:  # a training-only model has no serving unit
                    out += _serving(config, env, model, spec_path, unit)
            out += [(Unit(model, env.name, TRAINING).sync_file(), flux_training_kustomization(config, env, model),
                     spec_path) for model, spec_path in models if (model, env.name) in training]
        return out

    def deletion(self, unit: Unit) -> str:
        return "Flux deletes its Kustomization and prunes what it applied (claims marked prune: disabled stay)"

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
