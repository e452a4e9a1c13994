"""Argo CD: one AppProject per environment (this repository, that environment's namespace, no
cluster-scoped kinds) and one ApplicationSet whose git directory generator makes an Application per
model folder of `overlays/<env>/`; a second ApplicationSet `mlgitops-<env>-training` over
`overlays/<env>/*/training` where some model trains; Namespaces in sync wave -1 of the parent
Application."""

from __future__ import annotations

from mlgitops.kube.annotations import ARGOCD_SYNC_OPTIONS
from mlgitops.render.engines.base import PART_OF, Models, Placed
from mlgitops.render.units import TRAINING, Unit, serving_folder_pattern, training_folder_pattern
from mlgitops.spec.config import Config, Environment

IN_CLUSTER = "https://kubernetes.default.svc"


def app_project(config: Config, env: Environment) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": f"mlgitops-{env.name}", "namespace": config.sync["argocdNamespace"],
                         "labels": dict(PART_OF)},
            "spec": {"description": f"mlgitops models of the {env.name} environment",
                     "sourceRepos": [config.git["url"]],
                     "destinations": [{"server": IN_CLUSTER, "namespace": env.namespace}],
                     "clusterResourceWhitelist": []}}


def application_set(config: Config, env: Environment) -> dict:
    git = config.git
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": f"mlgitops-{env.name}", "namespace": config.sync["argocdNamespace"],
                         "labels": dict(PART_OF)},
            "spec": {
                "goTemplate": True,
                "goTemplateOptions": ["missingkey=error"],
                "generators": [{"git": {"repoURL": git["url"], "revision": git["branch"],
                                        "directories": [{"path": serving_folder_pattern(env.name)}]}}],
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


def training_application_set(config: Config, env: Environment) -> dict:
    """One Application per training folder, `<model>-<env>-training`: never the serving Application's name."""
    obj = application_set(config, env)
    obj["metadata"]["name"] = f"mlgitops-{env.name}-{TRAINING}"
    spec = obj["spec"]
    spec["generators"][0]["git"]["directories"] = [{"path": training_folder_pattern(env.name)}]
    spec["template"]["metadata"]["name"] = "{{index .path.segments 2}}-" + f"{env.name}-{TRAINING}"
    spec["template"]["metadata"]["labels"]["app.kubernetes.io/component"] = TRAINING
    # A folder that goes (the spec stops training there) takes its objects with it: a CronJob left behind
    # would go on training every night. The data claim survives (its Delete=false annotation).
    spec["syncPolicy"] = {"preserveResourcesOnDeletion": False}
    return obj


class ArgoCD:
    name = "argocd"
    unit_files = False
    needs_git_url = True
    init_note = "apply one Application for clusters/<cluster>/argocd per cluster (mlgitops docs/gitops.md)"

    def namespace_annotations(self) -> dict[str, str]:
        return {"argocd.argoproj.io/sync-wave": "-1", ARGOCD_SYNC_OPTIONS: "Prune=false,Delete=false"}

    def objects(self, config: Config, envs: list[Environment], models: Models,
                training: frozenset[tuple[str, str]]) -> Placed:
        out: Placed = []
        for env in envs:
            out.append((f"appproject-{env.name}.yaml", app_project(config, env), config.path))
            out.append((f"applicationset-{env.name}.yaml", application_set(config, env), config.path))
            if any(env_name == env.name for _, env_name in training):
                out.append((f"applicationset-{env.name}-{TRAINING}.yaml", training_application_set(config, env),
                            config.path))
        return out

    def deletion(self, unit: Unit) -> str:
        if unit.training:  # its ApplicationSet does not preserve
            return "Argo CD deletes its training Application and what it deployed"
        return "Argo CD deletes its Application but keeps what it deployed (preserveResourcesOnDeletion), orphaned"


ENGINE = ArgoCD()
