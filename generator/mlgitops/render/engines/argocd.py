"""Argo CD: one AppProject per environment (this repository, that environment's namespace, no
cluster-scoped kinds) and one ApplicationSet whose git directory generator makes an Application per
model folder of `overlays/<env>/`; a second ApplicationSet `mlgitops-<env>-training` over
`overlays/<env>/*/training` where some model trains; Namespaces in sync wave -1 of the parent
Application."""

from __future__ import annotations

from typing import Any

from mlgitops.kube.annotations import ARGOCD_SYNC_OPTIONS
from mlgitops.kube.workloads import KINDS
from mlgitops.render.engines.base import LABEL_VALUE_MAX, PART_OF, Facts, Models, Placed, SyncView
from mlgitops.render.units import (
    TRAINING,
    Unit,
    is_hidden,
    path_match,
    path_segments,
    serving_folder_pattern,
    training_folder_pattern,
)
from mlgitops.report.findings import Finding, Position
from mlgitops.spec.config import Config, Environment

IN_CLUSTER = "https://kubernetes.default.svc"
# A failed sync is retried until it succeeds (a negative limit: argo-cd controller/appcontroller.go retries while
# `RetryCount < Limit || Limit < 0`; docs/operator-manual/application.yaml), at most every 5 minutes: an
# Application that failed because a CRD or a Secret was missing recovers by itself once it arrives, without a commit.
RETRY = {"limit": -1, "backoff": {"duration": "30s", "factor": 2, "maxDuration": "5m"}}


def app_project(config: Config, env: Environment) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": f"mlgitops-{env.name}", "namespace": config.sync["argocdNamespace"],
                         "labels": dict(PART_OF)},
            "spec": {"description": f"mlgitops models of the {env.name} environment",
                     "sourceRepos": [config.git["url"]],
                     "destinations": [{"server": IN_CLUSTER, "namespace": env.namespace}],
                     "clusterResourceWhitelist": []}}


def serving_directories(env: Environment, training: frozenset[tuple[str, str]], facts: Facts | None) -> list[dict[str, Any]]:
    """The git directory generator's entries of an environment's serving folders: every folder below
    overlays/<env>/, but the folder of a training-only model (it holds only training/; Argo CD would make an
    empty Application of it). An entry with `exclude: true` drops the folders it matches (argo-cd
    docs/operator-manual/applicationset/Generators-Git.md, "Exclude directories")."""
    only = sorted(m for m, e in training if e == env.name and facts is not None and (m, e) not in facts)
    return [{"path": serving_folder_pattern(env.name)}, *({"path": Unit(m, env.name).folder, "exclude": True}
                                                          for m in only)]


def application_set(config: Config, env: Environment, directories: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    git = config.git
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": f"mlgitops-{env.name}", "namespace": config.sync["argocdNamespace"],
                         "labels": dict(PART_OF)},
            "spec": {
                "goTemplate": True,
                "goTemplateOptions": ["missingkey=error"],
                "generators": [{"git": {"repoURL": git["url"], "revision": git["branch"],
                                        "directories": directories or [{"path": serving_folder_pattern(env.name)}]}}],
                # Renaming or deleting a model folder deletes its Application and, through the resources
                # finalizer the ApplicationSet controller adds when preserveResourcesOnDeletion is false
                # (argo-cd applicationset/utils/utils.go), what it deployed, as Flux prunes: no Deployment keeps
                # its GPUs unmanaged. Claims stay (Delete=false, kube/annotations.PRUNE_PROTECTION).
                "syncPolicy": {"preserveResourcesOnDeletion": False},
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
                            "retry": RETRY,
                        },
                    },
                },
            }}


def training_application_set(config: Config, env: Environment) -> dict[str, Any]:
    """One Application per training folder, `<model>-<env>-training`: never the serving Application's name."""
    obj = application_set(config, env)
    obj["metadata"]["name"] = f"mlgitops-{env.name}-{TRAINING}"
    spec = obj["spec"]
    spec["generators"][0]["git"]["directories"] = [{"path": training_folder_pattern(env.name)}]
    spec["template"]["metadata"]["name"] = "{{index .path.segments 2}}-" + f"{env.name}-{TRAINING}"
    spec["template"]["metadata"]["labels"]["app.kubernetes.io/component"] = TRAINING
    # A folder that goes (the spec stops training there) takes its objects with it, as serving's does: a CronJob
    # left behind would go on training every night. The data claim survives (its Delete=false annotation).
    # A run object is named by its run's identity (render/training.py): a change to anything else (labels, a
    # rendering detail) must not be applied to a run that exists; its spec would be immutable or restart it.
    app = spec["template"]["spec"]
    app["ignoreDifferences"] = [{"group": w.group, "jsonPointers": ["/spec"], "kind": w.kind}
                                for w in KINDS.values() if w.stops_run]
    app["syncPolicy"] = {**app["syncPolicy"],
                         "syncOptions": [*app["syncPolicy"]["syncOptions"], "RespectIgnoreDifferences=true"]}
    return obj


def _directories(path: str, obj: dict[str, Any], pattern: str, view: SyncView, excluded: list[str]) -> list[Finding]:
    name = obj["metadata"]["name"]
    matched = {d for d in view.on_disk | view.generated if path_match(pattern, d) and not is_hidden(d)
               and not any(path_match(x, d) for x in excluded)}
    meant = {d for d in view.generated if path_match(pattern, d)}
    out = [Finding("sync-object", f"ApplicationSet {name} would make an Application for {extra}, which no spec "
                   "generates", extra, Position(),
                   "remove the folder (Argo CD would deploy what it holds), or write a spec for it")
           for extra in sorted(matched - meant)]
    template = obj["spec"]["template"]["metadata"]["name"]
    for folder in sorted(meant):
        app = application_name(template, folder)
        if len(app) > LABEL_VALUE_MAX:
            out.append(Finding("sync-object", f"the Application name '{app}' is {len(app)} characters; Argo CD "
                               f"labels what it deploys with it (at most {LABEL_VALUE_MAX})", path, Position(1, 1),
                               "shorten the model or environment name"))
    return out


def application_name(template: str, folder: str) -> str:
    """The Application name the template gives a folder (the parameters mlgitops' templates use)."""
    segments = path_segments(folder)
    name = template.replace("{{.path.basename}}", segments[-1])
    for i, segment in enumerate(segments):
        name = name.replace(f"{{{{index .path.segments {i}}}}}", segment)
    return name


class ArgoCD:
    name = "argocd"
    unit_files = False
    needs_git_url = True
    init_note = "apply one Application for clusters/<cluster>/argocd per cluster (mlgitops docs/gitops.md)"

    def namespace_annotations(self) -> dict[str, str]:
        return {"argocd.argoproj.io/sync-wave": "-1", ARGOCD_SYNC_OPTIONS: "Prune=false,Delete=false"}

    def objects(self, config: Config, envs: list[Environment], models: Models,
                training: frozenset[tuple[str, str]], facts: Facts | None = None) -> Placed:
        """Argo CD has no sync timeout (a rollout is Progressing until the Deployment's progress deadline), and
        applies the objects whose CRD exists when another's is missing (SkipDryRunOnMissingResource): the facts
        change nothing."""
        out: Placed = []
        for env in envs:
            out.append((f"appproject-{env.name}.yaml", app_project(config, env), config.path))
            out.append((f"applicationset-{env.name}.yaml",
                        application_set(config, env, serving_directories(env, training, facts)), config.path))
            if any(env_name == env.name for _, env_name in training):
                out.append((f"applicationset-{env.name}-{TRAINING}.yaml", training_application_set(config, env),
                            config.path))
        return out

    def check(self, path: str, obj: dict[str, Any], view: SyncView) -> list[Finding]:
        """An ApplicationSet's git directory generator matches exactly the model folders of its environment
        (a folder a person adds under overlays/<env>/ would otherwise become an Application), and each
        Application's name fits in a label value (Argo CD's `app.kubernetes.io/instance`)."""
        if obj.get("kind") != "ApplicationSet":
            return []
        out = []
        for generator in obj["spec"]["generators"]:
            directories = generator.get("git", {}).get("directories", [])
            excluded = [d["path"] for d in directories if d.get("exclude")]
            for directory in directories:
                if not directory.get("exclude"):
                    out += _directories(path, obj, directory["path"], view, excluded)
        return out

    def deletion(self, unit: Unit) -> str:
        what = "training Application" if unit.training else "Application"
        return (f"Argo CD deletes its {what} and, through its resources finalizer, what it deployed "
                "(claims marked Delete=false stay)")


ENGINE = ArgoCD()
