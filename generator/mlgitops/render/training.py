"""The training objects of one model in one environment that trains. Pure.

- one run: a Job `<model>-train-<hash>`; with `schedule`, a CronJob `<model>-train`; with `workers`
  > 1, a Kubeflow Trainer v2 TrainJob (or, as mlgitops.yaml chooses, a legacy v1 PyTorchJob);
- a sweep: one Indexed Job `<model>-sweep-<hash>` and the ConfigMap of its trials (or a Katib
  Experiment when mlgitops.yaml says the clusters run Katib), instead of the one-off Job; beside a
  CronJob when the spec also has a `schedule` (the sweep runs once, the retrain on schedule);
- a PersistentVolumeClaim `<model>-train-data` when `data.size` asks for one (never pruned).

`<hash>` is taken from everything the object's immutable spec is made of (the effective training
spec, the model version it trains, the labels; never serving), so a changed training spec becomes a
new object, and the engine prunes the old one, instead of a sync failing on an immutable field. No
Job carries `ttlSecondsAfterFinished`: Flux and Argo CD would re-create, and re-run, a Job the TTL
deleted. Training pods carry the model's instance label but not its name label, so the serving
Service, NetworkPolicy and PodDisruptionBudget never select them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

from mlgitops.kube import weights, workloads
from mlgitops.kube.annotations import PRUNE_PROTECTION, SECURITY_EXCEPTION
from mlgitops.kube.quantity import text as quantity
from mlgitops.render import labels as label_set
from mlgitops.render import sweep as sweeps
from mlgitops.render.manifest import Manifest
from mlgitops.render.workload import container_resources, env_vars, scheduling, security_contexts
from mlgitops.spec.config import Config
from mlgitops.spec.training import rounds

CONTAINER = "training"
COMPONENT = "app.kubernetes.io/component"
PLACEHOLDER = "@mlgitops-name@"
HASH_LENGTH = 8
SWEEP_MOUNT = "/etc/mlgitops/sweep"
# `$$(` is Kubernetes' escape for a literal `$(` in a command; the shell then reads the trial's arguments
SWEEP_SCRIPT = f'set -f; exec "$0" "$@" $$(cat "{SWEEP_MOUNT}/$JOB_COMPLETION_INDEX")'
STARTING_DEADLINE = 3600  # a CronJob run missed by more than an hour (controller down) is skipped
HISTORY = 3
KATIB_NAME_MAX = 40
MANAGER = "mlgitops.io/mlgitops"
KEEP = PRUNE_PROTECTION
T = "/spec/training"


@dataclass(frozen=True)
class TrainingContext:
    name: str
    team: str
    env: str
    namespace: str
    spec: dict[str, Any]  # the effective spec of the environment
    gpu: dict[str, Any]  # mlgitops.yaml's gpu section
    settings: dict[str, Any]  # mlgitops.yaml's training section
    kubernetes_version: str

    @property
    def training(self) -> dict[str, Any]:
        return cast("dict[str, Any]", self.spec["training"])

    @property
    def labels(self) -> dict[str, Any]:
        common = label_set.common(self.name, self.team, self.spec, self.env)
        common.pop("app.kubernetes.io/name")  # not selected by the serving Service, PDB or NetworkPolicy
        return {**common, COMPONENT: "training"}

    def metadata(self, name: str, annotations: dict[str, Any] | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "labels": dict(self.labels), "namespace": self.namespace}
        merged = {**self.spec.get("annotations", {}), **(annotations or {})}
        reason = self.training["security"].get("reason")
        if reason:
            merged[SECURITY_EXCEPTION] = reason
        if merged:
            meta["annotations"] = merged
        return meta


def context(effective: dict[str, Any], config: Config, env: str) -> TrainingContext:
    meta = effective["metadata"]
    return TrainingContext(meta["name"], meta["team"], env, config.environment(env).namespace, effective["spec"],
                           config.gpu, config.training, str(config.kubernetes_version))


def data_claim(ctx: TrainingContext) -> str:
    return f"{ctx.name}-train-data"


def _field(path: str) -> dict[str, Any]:
    return {"valueFrom": {"fieldRef": {"fieldPath": path}}}


def _run_env(kind: str, indexed: bool) -> list[dict[str, Any]]:
    """MLGITOPS_RUN: the run's name, from the label the kind's controller puts on its pods (kube/workloads.py);
    MLGITOPS_TRIAL: an Indexed sweep Job's completion index, a Katib trial's name, else "0" (one trial)."""
    run = _field(f"metadata.labels['{workloads.KINDS[kind].run_label}']")
    if indexed:
        trial = _field(f"metadata.annotations['{workloads.COMPLETION_INDEX}']")
    elif kind == "Experiment":
        trial = run  # Katib names each trial's Job after the trial
    else:
        trial = {"value": "0"}
    return [{"name": weights.RUN_VAR, **run}, {"name": weights.TRIAL_VAR, **trial}]


def output_uri(template: str, version: str) -> str:
    """training.output.uri as the pod's MODEL_OUTPUT_URI: `{version}` now, `{run}` and `{trial}` by Kubernetes
    when the pod starts (`$(MLGITOPS_RUN)`, `$(MLGITOPS_TRIAL)`: env vars defined just before it)."""
    out = template.replace("{version}", version)
    for placeholder, var in weights.PLACEHOLDERS.items():
        out = out.replace(placeholder, var)
    return out


def _env(ctx: TrainingContext, kind: str, indexed: bool = False) -> list[dict[str, Any]]:
    model = ctx.spec["model"]
    env = [{"name": "MODEL_NAME", "value": ctx.name}, {"name": "MODEL_VERSION", "value": model["version"]}]
    output = ctx.training.get("output")
    if output:
        env += _run_env(kind, indexed)
        env.append({"name": "MODEL_OUTPUT_URI", "value": output_uri(output["uri"], model["version"])})
    return env + env_vars(ctx.training)


def _volumes(ctx: TrainingContext, sweep_config: str | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pod volumes, container mounts): a writable /tmp, the data, the sweep's trials."""
    volumes: list[dict[str, Any]] = [{"emptyDir": {}, "name": "tmp"}]
    mounts: list[dict[str, Any]] = [{"mountPath": "/tmp", "name": "tmp"}]
    data = ctx.training.get("data")
    if data:
        claim = data.get("claim") or data_claim(ctx)
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": claim}})
        mount = {"mountPath": data["mountPath"], "name": "data"}
        if data["readOnly"]:
            mount["readOnly"] = True
        mounts.append(mount)
    if sweep_config:
        volumes.append({"configMap": {"name": sweep_config}, "name": "sweep"})
        mounts.append({"mountPath": SWEEP_MOUNT, "name": "sweep", "readOnly": True})
    return volumes, mounts


def _container(ctx: TrainingContext, kind: str, name: str = CONTAINER,
               sweep_config: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(container, pod spec without containers) for the pod templates of Jobs and PyTorchJobs."""
    training = ctx.training
    pod_security, container_security = security_contexts(training["security"])
    volumes, mounts = _volumes(ctx, sweep_config)
    container: dict[str, Any] = {"name": name, "image": training["image"], "imagePullPolicy": "IfNotPresent",
                       "env": _env(ctx, kind, bool(sweep_config)), "resources": container_resources(training["resources"], ctx.gpu),
                       "securityContext": container_security, "volumeMounts": mounts}
    for key in ("command", "args"):
        if key in training:
            container[key] = list(training[key])
    if sweep_config:  # the trial's arguments, read by index from the ConfigMap, after the spec's own
        container["command"] = ["/bin/sh", "-c", SWEEP_SCRIPT,
                                *training["command"]]
        container.pop("args", None)
        container["command"] += list(training.get("args", []))
    pod: dict[str, Any] = {"automountServiceAccountToken": False, "restartPolicy": "Never",
                 "securityContext": pod_security, "volumes": volumes}
    scheduling(training, ctx.gpu, pod)
    return container, pod


def _pod_template(ctx: TrainingContext, kind: str, sweep_config: str | None = None, name: str = CONTAINER) -> dict[str, Any]:
    container, pod = _container(ctx, kind, name, sweep_config)
    return {"metadata": {"labels": dict(ctx.labels)}, "spec": {**pod, "containers": [container]}}


def _fields(pod: str, container: str) -> dict[str, str]:
    """Object pointer -> spec pointer, for findings on a pod template."""
    return {
        f"{container}/image": f"{T}/image",
        f"{container}/resources": f"{T}/resources",
        f"{container}/securityContext": f"{T}/security",
        f"{container}/env": f"{T}/env",
        f"{pod}/securityContext": f"{T}/security",
        f"{pod}/tolerations": f"{T}/tolerations",
        f"{pod}/nodeSelector": f"{T}/nodeSelector",
        f"{pod}/volumes": f"{T}/data",
    }


def _hashed(objects: list[dict[str, Any]], prefix: str) -> str:
    """`<prefix>-<hash>`: the hash of what the objects are made of apart from their (mutable) metadata."""
    content = [{k: v for k, v in o.items() if k != "metadata"} for o in objects]
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"{prefix}-{digest[:HASH_LENGTH]}"


def _named(value: Any, name: str) -> Any:
    """value with every string equal to the placeholder replaced by name."""
    if isinstance(value, dict):
        return {k: _named(v, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_named(v, name) for v in value]
    return name if value == PLACEHOLDER else value


def _job_spec(ctx: TrainingContext, template: dict[str, Any]) -> dict[str, Any]:
    training = ctx.training
    return {"activeDeadlineSeconds": training["activeDeadlineSeconds"], "backoffLimit": training["backoffLimit"],
            "template": template}


def job(ctx: TrainingContext) -> Manifest:
    obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": ctx.metadata(PLACEHOLDER),
           "spec": _job_spec(ctx, _pod_template(ctx, "Job"))}
    name = _hashed([obj], f"{ctx.name}-train")
    fields = {**_fields("/spec/template/spec", "/spec/template/spec/containers/0"),
              "/spec/activeDeadlineSeconds": f"{T}/activeDeadlineSeconds", "/spec/backoffLimit": f"{T}/backoffLimit"}
    return Manifest(_named(obj, name), "job.yaml", T, fields)


def cron_job(ctx: TrainingContext) -> Manifest:
    """A CronJob's template is mutable (a running Job keeps its own copy), so its name is fixed."""
    training = ctx.training
    template = {"metadata": {"labels": dict(ctx.labels)}, "spec": _job_spec(ctx, _pod_template(ctx, "CronJob"))}
    spec = {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": HISTORY, "jobTemplate": template,
            "schedule": training["schedule"], "startingDeadlineSeconds": STARTING_DEADLINE,
            "successfulJobsHistoryLimit": HISTORY}
    obj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": ctx.metadata(f"{ctx.name}-train"), "spec": spec}
    pod = "/spec/jobTemplate/spec/template/spec"
    fields = {**_fields(pod, f"{pod}/containers/0"), "/spec/schedule": f"{T}/schedule",
              "/spec/jobTemplate/spec/activeDeadlineSeconds": f"{T}/activeDeadlineSeconds"}
    return Manifest(obj, "cronjob.yaml", T, fields)


def train_job(ctx: TrainingContext) -> Manifest:
    """Kubeflow Trainer v2: the runtime's `node` job over `workers` nodes; pod settings as a runtime patch."""
    training = ctx.training
    pod_security, container_security = security_contexts(training["security"])
    volumes, mounts = _volumes(ctx)
    trainer: dict[str, Any] = {"env": _env(ctx, "TrainJob"), "image": training["image"], "numNodes": training["workers"],
                     "resourcesPerNode": container_resources(training["resources"], ctx.gpu)}
    for key in ("command", "args"):
        if key in training:
            trainer[key] = list(training[key])
    pod: dict[str, Any] = {"containers": [{"name": "node", "securityContext": container_security, "volumeMounts": mounts}],
                 "securityContext": pod_security, "volumes": volumes}
    scheduling(training, ctx.gpu, pod)
    patch = {"manager": MANAGER, "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [
        {"name": "node", "template": {"spec": {"template": {"metadata": {"labels": dict(ctx.labels)},
                                                           "spec": pod}}}}]}}}}
    spec = {"activeDeadlineSeconds": training["activeDeadlineSeconds"],
            "runtimeRef": {"apiGroup": "trainer.kubeflow.org", "kind": "ClusterTrainingRuntime",
                           "name": ctx.settings["runtime"]},
            "runtimePatches": [patch], "trainer": trainer}
    obj = {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "metadata": ctx.metadata(PLACEHOLDER),
           "spec": spec}
    name = _hashed([obj], f"{ctx.name}-train")
    pod_at = "/spec/runtimePatches/0/trainingRuntimeSpec/template/spec/replicatedJobs/0/template/spec/template/spec"
    fields = {**_fields(pod_at, f"{pod_at}/containers/0"), "/spec/trainer/image": f"{T}/image",
              "/spec/trainer/resourcesPerNode": f"{T}/resources", "/spec/trainer/numNodes": f"{T}/workers",
              "/spec/trainer/env": f"{T}/env", "/spec/runtimeRef": T}
    return Manifest(_named(obj, name), "trainjob.yaml", f"{T}/workers", fields)


def pytorch_job(ctx: TrainingContext) -> Manifest:
    """Kubeflow v1 (legacy): a Master and workers - 1 Workers, each a pod of the container `pytorch`."""
    training = ctx.training
    template = _pod_template(ctx, "PyTorchJob", name="pytorch")
    replicas = {"Master": {"replicas": 1, "restartPolicy": "Never", "template": template}}
    if training["workers"] > 1:
        replicas["Worker"] = {"replicas": training["workers"] - 1, "restartPolicy": "Never", "template": template}
    spec = {"pytorchReplicaSpecs": replicas,
            "runPolicy": {"activeDeadlineSeconds": training["activeDeadlineSeconds"],
                          "backoffLimit": training["backoffLimit"]}}
    obj = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": ctx.metadata(PLACEHOLDER), "spec": spec}
    name = _hashed([obj], f"{ctx.name}-train")
    fields = {"/spec/pytorchReplicaSpecs/Worker/replicas": f"{T}/workers"}
    for role in replicas:
        pod = f"/spec/pytorchReplicaSpecs/{role}/template/spec"
        fields.update(_fields(pod, f"{pod}/containers/0"))
    return Manifest(_named(obj, name), "pytorchjob.yaml", f"{T}/workers", fields)


def _minor(version: str) -> int:
    parts = version.split(".")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def sweep_job(ctx: TrainingContext) -> list[Manifest]:
    """One Indexed Job, a trial per index, and the ConfigMap of every trial's arguments (one key per index).

    Each trial pod has the spec's activeDeadlineSeconds; the Job's is that times the rounds of `parallelism`
    trials; with backoffLimitPerIndex (Kubernetes 1.29+) a failed trial does not stop the others."""
    training, sweep = ctx.training, ctx.training["sweep"]
    trials = sweeps.trials(sweep)
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": ctx.metadata(PLACEHOLDER),
              "data": {str(i): sweeps.arguments(t) for i, t in enumerate(trials)}}
    retries = "backoffLimitPerIndex" if _minor(ctx.kubernetes_version) >= 29 else "backoffLimit"
    template = _pod_template(ctx, "Job", PLACEHOLDER)
    template["spec"]["activeDeadlineSeconds"] = training["activeDeadlineSeconds"]
    spec = {"activeDeadlineSeconds": training["activeDeadlineSeconds"] * rounds(sweep, len(trials)),
            retries: training["backoffLimit"], "completionMode": "Indexed",
            "completions": len(trials), "parallelism": min(sweep["parallelism"], len(trials)),
            "template": template}
    job_obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": ctx.metadata(PLACEHOLDER), "spec": spec}
    name = _hashed([config, job_obj], f"{ctx.name}-sweep")
    fields = {**_fields("/spec/template/spec", "/spec/template/spec/containers/0"),
              "/spec/completions": f"{T}/sweep/parameters", "/spec/parallelism": f"{T}/sweep/parallelism",
              "/spec/activeDeadlineSeconds": f"{T}/activeDeadlineSeconds"}
    return [Manifest(_named(config, name), "sweep-trials.yaml", f"{T}/sweep/parameters"),
            Manifest(_named(job_obj, name), "sweep-job.yaml", f"{T}/sweep", fields)]


def _katib_parameter(name: str, space: Any) -> dict[str, Any]:
    if isinstance(space, list):
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in space)
        return {"feasibleSpace": {"list": [sweeps.text(v) for v in space]}, "name": name,
                "parameterType": "discrete" if numeric else "categorical"}
    feasible = {"distribution": "logUniform" if space.get("distribution") == "log-uniform" else "uniform",
                "max": sweeps.text(space["max"]), "min": sweeps.text(space["min"])}
    return {"feasibleSpace": feasible, "name": name,
            "parameterType": "int" if space.get("type") == "int" else "double"}


def katib_experiment(ctx: TrainingContext) -> Manifest:
    """The same search space as a Katib Experiment; each trial is a Job running the training container
    with `--name=${trialParameters.name}` arguments. Katib names must fit in 40 characters."""
    training, sweep = ctx.training, ctx.training["sweep"]
    names = sorted(sweep["parameters"])
    count = sweeps.trials(sweep) if sweep.get("strategy", "grid") == "grid" else None
    trials = len(count) if count is not None else sweep["trials"]
    template = _pod_template(ctx, "Experiment")
    container = template["spec"]["containers"][0]
    container["args"] = [*training.get("args", []), *(f"--{n}=${{trialParameters.{n}}}" for n in names)]
    trial_spec = {"apiVersion": "batch/v1", "kind": "Job",
                  "spec": {"activeDeadlineSeconds": training["activeDeadlineSeconds"],
                           "backoffLimit": training["backoffLimit"], "template": template}}
    algorithm: dict[str, Any] = {"algorithmName": sweep.get("strategy", "grid")}
    if algorithm["algorithmName"] == "random":
        algorithm["algorithmSettings"] = [{"name": "random_state", "value": str(sweep.get("seed", 0))}]
    objective = sweep["objective"]
    spec = {"algorithm": algorithm, "maxFailedTrialCount": trials, "maxTrialCount": trials,
            "objective": {"objectiveMetricName": objective["metric"], "type": objective["goal"]},
            "parallelTrialCount": min(sweep["parallelism"], trials),
            "parameters": [_katib_parameter(n, sweep["parameters"][n]) for n in names],
            "trialTemplate": {"primaryContainerName": CONTAINER, "trialSpec": trial_spec,
                              "trialParameters": [{"description": f"sweep parameter {n}", "name": n, "reference": n}
                                                  for n in names]}}
    obj = {"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment", "metadata": ctx.metadata(PLACEHOLDER),
           "spec": spec}
    stem = ctx.name[:KATIB_NAME_MAX - HASH_LENGTH - 1].rstrip("-")
    name = _hashed([obj], stem)
    pod = "/spec/trialTemplate/trialSpec/spec/template/spec"
    fields = {**_fields(pod, f"{pod}/containers/0"), "/spec/maxTrialCount": f"{T}/sweep",
              "/spec/parallelTrialCount": f"{T}/sweep/parallelism"}
    return Manifest(_named(obj, name), "experiment.yaml", f"{T}/sweep", fields)


def data_volume_claim(ctx: TrainingContext) -> Manifest | None:
    """The created data claim; kept by both engines when the spec drops it (the data outlives the run)."""
    data = ctx.training.get("data")
    if not data or "size" not in data:
        return None
    spec: dict[str, Any] = {"accessModes": [data["accessMode"]], "resources": {"requests": {"storage": quantity(data["size"])}}}
    if "storageClassName" in data:
        spec["storageClassName"] = data["storageClassName"]
    obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": ctx.metadata(data_claim(ctx), dict(KEEP)), "spec": spec}
    return Manifest(obj, "data-pvc.yaml", f"{T}/data")


def render(effective: dict[str, Any], config: Config, env: str) -> list[Manifest]:
    """The training objects of one environment's effective spec (the caller decides that env trains)."""
    ctx = context(effective, config, env)
    training = ctx.training
    out: list[Manifest] = []
    claim = data_volume_claim(ctx)
    if claim:
        out.append(claim)
    if training.get("sweep"):  # runs once; a schedule beside it still retrains on schedule
        out += [katib_experiment(ctx)] if ctx.settings["katib"] else sweep_job(ctx)
    if training["workers"] > 1:
        out.append(pytorch_job(ctx) if ctx.settings["distributed"] == "pytorchjob" else train_job(ctx))
    elif training.get("schedule"):
        out.append(cron_job(ctx))
    elif not training.get("sweep"):
        out.append(job(ctx))
    return sorted(out, key=lambda m: m.file)
