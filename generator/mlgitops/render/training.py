"""The training objects of one model in one environment that trains. Pure.

- one run: a Job `<model>-train-<hash>`; with `schedule`, a CronJob `<model>-train`; with `workers`
  > 1, a Kubeflow Trainer v2 TrainJob (or, as mlgitops.yaml chooses, a legacy v1 PyTorchJob);
- a sweep: one Indexed Job `<model>-sweep-<hash>` and the ConfigMap of its trials (or a Katib
  Experiment when mlgitops.yaml says the clusters run Katib), instead of the one-off Job; beside a
  CronJob when the spec also has a `schedule` (the sweep runs once, the retrain on schedule);
- a PersistentVolumeClaim `<model>-train-data` when `data.size` asks for one (never pruned).

`<hash>` is the run's identity (`run_identity`: what decides what runs, never labels, team, annotations or
how a pod is rendered), so a changed run becomes a new object, and the engine prunes the old one, instead
of a sync failing on an immutable field; anything else leaves a running run alone. No
Job carries `ttlSecondsAfterFinished`: Flux and Argo CD would re-create, and re-run, a Job the TTL
deleted. Training pods carry the model's instance label but not its name label, so the serving
Service, NetworkPolicy and PodDisruptionBudget never select them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

from mlgitops.kube import trainer_runtimes, weights, workloads
from mlgitops.kube.annotations import PRUNE_PROTECTION, SECURITY_EXCEPTION
from mlgitops.kube.quantity import add_bytes
from mlgitops.kube.quantity import text as quantity
from mlgitops.kube.workloads import KINDS
from mlgitops.render import labels as label_set
from mlgitops.render import pod as pod_parts
from mlgitops.render import podoptions
from mlgitops.render import sweep as sweeps
from mlgitops.render.manifest import Manifest
from mlgitops.render.volumes import spec_volumes
from mlgitops.render.workload import container_resources, env_vars, scheduling, security_contexts
from mlgitops.spec import pods
from mlgitops.spec.config import Config
from mlgitops.spec.training import rounds

CONTAINER = "training"
COMPONENT = "app.kubernetes.io/component"
PLACEHOLDER = "@mlgitops-name@"
HASH_LENGTH = 8
SWEEP_MOUNT = "/etc/mlgitops/sweep"
# `$$(` is Kubernetes' escape for a literal `$(` in a command; the shell then reads the trial's arguments
SWEEP_SCRIPT = f'set -f; exec "$0" "$@" $$(cat "{SWEEP_MOUNT}/$JOB_COMPLETION_INDEX")'
KATIB_NAME_MAX = 40
MANAGER = "mlgitops.io/mlgitops"
KEEP = PRUNE_PROTECTION
T = "/spec/training"
RUN_LABEL = "mlgitops.io/run"  # on every pod of a run: the run object's name (a CronJob's: its own)


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
    patches: tuple[Any, ...] = ()  # the raw patches the training folder applies ({target, patch}): part of a run

    @property
    def training(self) -> dict[str, Any]:
        return cast("dict[str, Any]", self.spec["training"])

    def pod_labels(self, run: str = PLACEHOLDER) -> dict[str, Any]:
        """The labels of a run's pods: the training labels and the run's name."""
        return {**self.labels, RUN_LABEL: run}

    @property
    def labels(self) -> dict[str, Any]:
        common = label_set.common(self.name, self.team, self.spec, self.env)
        common.pop("app.kubernetes.io/name")  # not selected by the serving Service, PDB or NetworkPolicy
        return {**common, COMPONENT: "training"}

    def pod_metadata(self, run: str = PLACEHOLDER) -> dict[str, Any]:
        """The metadata of a run's pod templates: its labels, and the spec's `training.podAnnotations` (not part of
        a run's identity: like labels, they never restart a run)."""
        meta: dict[str, Any] = {"labels": self.pod_labels(run)}
        if self.training.get("podAnnotations"):
            meta["annotations"] = dict(self.training["podAnnotations"])
        return meta

    def run_metadata(self) -> dict[str, Any]:
        """The metadata of a run object, named by its identity (the placeholder until it is known)."""
        return self.metadata(PLACEHOLDER, dict(RUN_ANNOTATIONS))

    def metadata(self, name: str, annotations: dict[str, Any] | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "labels": dict(self.labels), "namespace": self.namespace}
        merged = {**self.spec.get("annotations", {}), **(annotations or {})}
        reason = self.training["security"].get("reason")
        if reason:
            merged[SECURITY_EXCEPTION] = reason
        if merged:
            meta["annotations"] = merged
        return meta


def context(effective: dict[str, Any], config: Config, env: str, patches: tuple[Any, ...] = ()) -> TrainingContext:
    meta = effective["metadata"]
    return TrainingContext(meta["name"], meta["team"], env, config.environment(env).namespace, effective["spec"],
                           config.gpu, config.training, str(config.kubernetes_version), patches)


@dataclass(frozen=True)
class Scratch:
    """The sizes of a training pod's writable /tmp and HOME and its memory-backed /dev/shm (None: none)."""

    tmp: str
    home: str
    shm: str | None


def scratch(ctx: TrainingContext, kind: str) -> Scratch:
    """The spec's `training.scratch` and `sharedMemory`, else the defaults of the kind's entry in the table."""
    defaults = KINDS[kind].pod_defaults
    given = ctx.training.get("scratch", {})
    shm = pods.shared_memory(ctx.spec, "training", defaults.shm or pods.DEFAULT_SHM)
    return Scratch(str(given.get("tmpSize", defaults.tmp)), str(given.get("homeSize", defaults.home)), shm)


def _resources(ctx: TrainingContext, sizes: Scratch) -> dict[str, Any]:
    """The spec's resources, plus /dev/shm in memory (its pages are the container's) and, unless the spec
    sets ephemeralStorage, the scratch volumes and log headroom as the ephemeral-storage request and limit."""
    res = ctx.training["resources"]
    out = container_resources(res, ctx.gpu)
    if sizes.shm:
        for part in ("requests", "limits"):
            out[part]["memory"] = add_bytes(out[part]["memory"], sizes.shm)
    if "ephemeralStorage" not in res:
        storage = add_bytes(sizes.tmp, sizes.home, pods.LOG_HEADROOM)
        out["requests"]["ephemeral-storage"] = storage
        out["limits"]["ephemeral-storage"] = quantity(res.get("limits", {}).get("ephemeralStorage", storage))
    return out


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


def _env(ctx: TrainingContext, container: str, kind: str, indexed: bool = False) -> list[dict[str, Any]]:
    model = ctx.spec["model"]
    env = [{"name": "MODEL_NAME", "value": ctx.name}, {"name": "MODEL_VERSION", "value": model["version"]}]
    output = ctx.training.get("output")
    if output:
        env += _run_env(kind, indexed)
        env.append({"name": "MODEL_OUTPUT_URI", "value": output_uri(output["uri"], model["version"])})
    return env + pod_parts.section_env(ctx.training, container) + env_vars(ctx.training)


def _volumes(ctx: TrainingContext, sizes: Scratch, sweep_config: str | None = None,
             data: bool = True) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pod volumes, container mounts): a size-limited writable /tmp and HOME, /dev/shm in memory, the data,
    the sweep's trials."""
    volumes: list[dict[str, Any]] = [{"emptyDir": {"sizeLimit": sizes.tmp}, "name": "tmp"},
                           {"emptyDir": {"sizeLimit": sizes.home}, "name": "home"}]
    mounts: list[dict[str, Any]] = [{"mountPath": "/tmp", "name": "tmp"}, {"mountPath": pods.HOME, "name": "home"}]
    if sizes.shm:
        volumes.append({"emptyDir": {"medium": "Memory", "sizeLimit": sizes.shm}, "name": "dshm"})
        mounts.append({"mountPath": "/dev/shm", "name": "dshm"})
    spec = ctx.training.get("data") if data else None
    if spec:
        claim = spec.get("claim") or data_claim(ctx)
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": claim}})
        mount = {"mountPath": spec["mountPath"], "name": "data"}
        if spec["readOnly"]:
            mount["readOnly"] = True
        mounts.append(mount)
    if sweep_config:
        volumes.append({"configMap": {"name": sweep_config}, "name": "sweep"})
        mounts.append({"mountPath": SWEEP_MOUNT, "name": "sweep", "readOnly": True})
    own_volumes, own_mounts = spec_volumes(ctx.training)  # training.volumes
    return volumes + own_volumes, mounts + own_mounts


def _container(ctx: TrainingContext, kind: str, name: str = CONTAINER,
               sweep_config: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(container, pod spec without containers) for the pod templates of Jobs and PyTorchJobs."""
    training = ctx.training
    pod_security, container_security = security_contexts(training["security"])
    sizes = scratch(ctx, kind)
    volumes, mounts = _volumes(ctx, sizes, sweep_config)
    container: dict[str, Any] = {"name": name, "image": training["image"], "imagePullPolicy": "IfNotPresent",
                       "env": _env(ctx, name, kind, bool(sweep_config)), "resources": _resources(ctx, sizes),
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
    podoptions.apply(training, pod)  # training.serviceAccount, training.restartPolicy
    return container, pod


def _pod_template(ctx: TrainingContext, kind: str, sweep_config: str | None = None, name: str = CONTAINER,
                  run: str = PLACEHOLDER) -> dict[str, Any]:
    container, pod = _container(ctx, kind, name, sweep_config)
    return {"metadata": ctx.pod_metadata(run), "spec": {**pod, "containers": [container]}}


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


# What defines a run, and so its identity (the hash in its name); docs/training.md lists them. Labels, team,
# annotations, mlgitops.yaml's scheduling and how mlgitops renders a pod are not: changing them never restarts
# a run (the engines leave the existing run object as it is: RUN_ANNOTATIONS, and the Argo CD training
# Applications ignore the spec of the kinds that run to completion).
RUN_FIELDS = ("image", "command", "args", "env", "secrets", "data", "resources", "scratch", "sharedMemory",
              "workers", "sweep", "activeDeadlineSeconds", "backoffLimit", "output")
NOT_RUN_SWEEP = ("maxTrials",)  # a cap the check enforces; the trials themselves are in the sweep
# Flux applies an object with this annotation only when it does not exist (kustomize-controller's
# `ssa: IfNotPresent`): a rendering change reaches the next run, never the running one.
RUN_ANNOTATIONS = {"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}


def run_identity(ctx: TrainingContext, kind: str) -> dict[str, Any]:
    """What the run of `kind` is: the training fields that decide what runs, the model version it trains,
    and (a TrainJob) the runtime it runs on."""
    training = ctx.training
    identity = {key: training[key] for key in RUN_FIELDS if key in training}
    if "sweep" in identity:
        identity["sweep"] = {k: v for k, v in identity["sweep"].items() if k not in NOT_RUN_SWEEP}
    identity.update(kind=kind, version=ctx.spec["model"]["version"])
    if ctx.patches:  # a raw patch can change what runs (a command, a volume): a changed patch is a new run
        identity["patches"] = list(ctx.patches)
    if kind == "TrainJob":
        identity["runtime"] = ctx.settings["runtime"]
    return identity


def _hashed(ctx: TrainingContext, kind: str, prefix: str) -> str:
    """`<prefix>-<hash>`: the hash of the run's identity."""
    content = json.dumps(run_identity(ctx, kind), sort_keys=True, separators=(",", ":"), default=str)
    return f"{prefix}-{hashlib.sha256(content.encode()).hexdigest()[:HASH_LENGTH]}"


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
    obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": ctx.run_metadata(),
           "spec": _job_spec(ctx, _pod_template(ctx, "Job"))}
    name = _hashed(ctx, "Job", f"{ctx.name}-train")
    fields = {**_fields("/spec/template/spec", "/spec/template/spec/containers/0"),
              "/spec/activeDeadlineSeconds": f"{T}/activeDeadlineSeconds", "/spec/backoffLimit": f"{T}/backoffLimit"}
    return Manifest(_named(obj, name), "job.yaml", T, fields)


def cron_job(ctx: TrainingContext) -> Manifest:
    """A CronJob's template is mutable (a running Job keeps its own copy), so its name is fixed."""
    training = ctx.training
    template = {"metadata": {"labels": dict(ctx.labels)},
                "spec": _job_spec(ctx, _pod_template(ctx, "CronJob", run=f"{ctx.name}-train"))}
    spec = {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": pods.CRON_HISTORY, "jobTemplate": template,
            "schedule": training["schedule"], "startingDeadlineSeconds": pods.CRON_STARTING_DEADLINE,
            "successfulJobsHistoryLimit": pods.CRON_HISTORY}
    if "timeZone" in training:
        spec["timeZone"] = training["timeZone"]
    obj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": ctx.metadata(f"{ctx.name}-train"), "spec": spec}
    pod = "/spec/jobTemplate/spec/template/spec"
    fields = {**_fields(pod, f"{pod}/containers/0"), "/spec/schedule": f"{T}/schedule", "/spec/timeZone": f"{T}/timeZone",
              "/spec/jobTemplate/spec/activeDeadlineSeconds": f"{T}/activeDeadlineSeconds"}
    return Manifest(obj, "cronjob.yaml", T, fields)


NODE_ONLY = (trainer_runtimes.RuntimeJob(trainer_runtimes.NODE, (trainer_runtimes.NODE,), True),)
RUNTIME_JOBS = "/spec/runtimePatches/0/trainingRuntimeSpec/template/spec/replicatedJobs"


def _runtime_pod(ctx: TrainingContext, job: trainer_runtimes.RuntimeJob, sizes: Scratch) -> dict[str, Any]:
    """The patch of one job of the runtime: every container restricted, with the scratch volumes (and the
    writable HOME in env where the trainer section does not set it); the trainer's jobs get the data, the
    /dev/shm and the GPU scheduling too."""
    pod_security, container_security = security_contexts(ctx.training["security"])
    own = sizes if job.trainer else Scratch(sizes.tmp, sizes.home, None)
    volumes, mounts = _volumes(ctx, own, data=job.trainer)
    containers = []
    for name in job.containers:
        container: dict[str, Any] = {"name": name, "securityContext": container_security, "volumeMounts": mounts}
        if not (job.trainer and name == trainer_runtimes.NODE):
            container["env"] = [{"name": key, "value": value} for key, value in pod_parts.HOME_VARS]
        containers.append(container)
    pod: dict[str, Any] = {"containers": containers, "securityContext": pod_security, "volumes": volumes}
    account = ctx.training.get("serviceAccount")
    if account:  # every job's pods (an initializer reads the bucket too); a runtime patch cannot set the token mount
        pod["serviceAccountName"] = account["name"]
    if job.trainer:
        scheduling(ctx.training, ctx.gpu, pod)
    return pod


def train_job(ctx: TrainingContext) -> Manifest:
    """Kubeflow Trainer v2: the runtime's `node` job over `workers` nodes; every job of the runtime (launcher,
    initializers) hardened by a runtime patch; the trainer section sizes the trainer's jobs."""
    training = ctx.training
    sizes = scratch(ctx, "TrainJob")
    trainer: dict[str, Any] = {"env": _env(ctx, trainer_runtimes.NODE, "TrainJob"), "image": training["image"],
                     "numNodes": training["workers"], "resourcesPerNode": _resources(ctx, sizes)}
    for key in ("command", "args"):
        if key in training:
            trainer[key] = list(training[key])
    jobs = trainer_runtimes.runtime_jobs(ctx.settings) or NODE_ONLY
    patch = {"manager": MANAGER, "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [
        {"name": job.name, "template": {"spec": {"template": {"metadata": ctx.pod_metadata(),
                                                              "spec": _runtime_pod(ctx, job, sizes)}}}}
        for job in jobs]}}}}
    spec = {"activeDeadlineSeconds": training["activeDeadlineSeconds"],
            "runtimeRef": {"apiGroup": "trainer.kubeflow.org", "kind": "ClusterTrainingRuntime",
                           "name": ctx.settings["runtime"]},
            "runtimePatches": [patch], "trainer": trainer}
    obj = {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "metadata": ctx.run_metadata(),
           "spec": spec}
    name = _hashed(ctx, "TrainJob", f"{ctx.name}-train")
    fields = {"/spec/trainer/image": f"{T}/image", "/spec/trainer/resourcesPerNode": f"{T}/resources",
              "/spec/trainer/numNodes": f"{T}/workers", "/spec/trainer/env": f"{T}/env", "/spec/runtimeRef": T}
    for i in range(len(jobs)):
        pod_at = f"{RUNTIME_JOBS}/{i}/template/spec/template/spec"
        fields.update(_fields(pod_at, f"{pod_at}/containers/0"))
    return Manifest(_named(obj, name), "trainjob.yaml", f"{T}/workers", fields)


def pytorch_job(ctx: TrainingContext) -> Manifest:
    """Kubeflow v1 (legacy): a Master and workers - 1 Workers, each a pod of the container `pytorch`."""
    training = ctx.training
    template = _pod_template(ctx, "PyTorchJob", name="pytorch")
    # The operator writes a replica's restartPolicy over its pod template's (training-operator
    # pkg/controller.v1/common/pod.go, setRestartPolicy): training.restartPolicy goes here to take effect.
    restart = training.get("restartPolicy", "Never")
    replicas = {"Master": {"replicas": 1, "restartPolicy": restart, "template": template}}
    if training["workers"] > 1:
        replicas["Worker"] = {"replicas": training["workers"] - 1, "restartPolicy": restart, "template": template}
    spec = {"pytorchReplicaSpecs": replicas,
            "runPolicy": {"activeDeadlineSeconds": training["activeDeadlineSeconds"],
                          "backoffLimit": training["backoffLimit"]}}
    obj = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": ctx.run_metadata(), "spec": spec}
    name = _hashed(ctx, "PyTorchJob", f"{ctx.name}-train")
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
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": ctx.run_metadata(),
              "data": {str(i): sweeps.arguments(t) for i, t in enumerate(trials)}}
    retries = "backoffLimitPerIndex" if _minor(ctx.kubernetes_version) >= 29 else "backoffLimit"
    template = _pod_template(ctx, "Job", PLACEHOLDER)
    template["spec"]["activeDeadlineSeconds"] = training["activeDeadlineSeconds"]
    spec = {"activeDeadlineSeconds": training["activeDeadlineSeconds"] * rounds(sweep, len(trials)),
            retries: training["backoffLimit"], "completionMode": "Indexed",
            "completions": len(trials), "parallelism": min(sweep["parallelism"], len(trials)),
            "template": template}
    if retries == "backoffLimitPerIndex":  # maxFailedIndexes needs backoffLimitPerIndex
        spec["maxFailedIndexes"] = max_failed(sweep, len(trials))
    job_obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": ctx.run_metadata(), "spec": spec}
    name = _hashed(ctx, "sweep", f"{ctx.name}-sweep")
    fields = {**_fields("/spec/template/spec", "/spec/template/spec/containers/0"),
              "/spec/completions": f"{T}/sweep/parameters", "/spec/parallelism": f"{T}/sweep/parallelism",
              "/spec/activeDeadlineSeconds": f"{T}/activeDeadlineSeconds"}
    return [Manifest(_named(config, name), "sweep-trials.yaml", f"{T}/sweep/parameters"),
            Manifest(_named(job_obj, name), "sweep-job.yaml", f"{T}/sweep", fields)]


def max_failed(sweep: dict[str, Any], trials: int) -> int:
    """Failed trials that stop a sweep: the spec's `maxFailedTrials`, else one round of parallel trials (a
    broken image or data path fails every trial alike: the first round shows it), never more than trials."""
    return int(min(trials, sweep.get("maxFailedTrials", max(1, min(sweep["parallelism"], trials)))))


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
    spec = {"algorithm": algorithm, "maxFailedTrialCount": max_failed(sweep, trials), "maxTrialCount": trials,
            "objective": {"objectiveMetricName": objective["metric"], "type": objective["goal"]},
            "parallelTrialCount": min(sweep["parallelism"], trials),
            "parameters": [_katib_parameter(n, sweep["parameters"][n]) for n in names],
            "trialTemplate": {"primaryContainerName": CONTAINER, "trialSpec": trial_spec,
                              "trialParameters": [{"description": f"sweep parameter {n}", "name": n, "reference": n}
                                                  for n in names]}}
    obj = {"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment", "metadata": ctx.run_metadata(),
           "spec": spec}
    stem = ctx.name[:KATIB_NAME_MAX - HASH_LENGTH - 1].rstrip("-")
    name = _hashed(ctx, "Experiment", stem)
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


def network_policies(ctx: TrainingContext, runs: list[Manifest]) -> list[Manifest]:
    """No ingress to any training pod of the model, but between the pods of one distributed run (each its own
    policy, selected by the run's label). Egress is open, as serving's: data stores, registries, trackers."""
    pods = {k: v for k, v in ctx.labels.items() if k in ("app.kubernetes.io/instance", COMPONENT)}
    deny = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": ctx.metadata(f"{ctx.name}-training"),
            "spec": {"ingress": [], "podSelector": {"matchLabels": pods}, "policyTypes": ["Ingress"]}}
    out = [Manifest(deny, "networkpolicy.yaml", T)]
    for run in runs:
        kind = workloads.entry(run.obj)
        if kind is not None and kind.distributed:
            name = run.obj["metadata"]["name"]
            selector = {"matchLabels": {**pods, RUN_LABEL: name}}
            obj = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": ctx.metadata(name),
                   "spec": {"ingress": [{"from": [{"podSelector": selector}]}], "podSelector": selector,
                            "policyTypes": ["Ingress"]}}
            out.append(Manifest(obj, "networkpolicy-workers.yaml", f"{T}/workers"))
    return out


# The renderer of each distributed kind (kube/workloads.py's `distributed`: the mlgitops.yaml setting choosing it)
DISTRIBUTED_RUNS = {"TrainJob": train_job, "PyTorchJob": pytorch_job}


def render(effective: dict[str, Any], config: Config, env: str, patches: tuple[Any, ...] = ()) -> list[Manifest]:
    """The training objects of one environment's effective spec (the caller decides that env trains); patches:
    the raw patches its folder applies, which are part of each run's identity."""
    ctx = context(effective, config, env, patches)
    training = ctx.training
    out: list[Manifest] = []
    claim = data_volume_claim(ctx)
    if claim:
        out.append(claim)
    if training.get("sweep"):  # runs once; a schedule beside it still retrains on schedule
        out += [katib_experiment(ctx)] if ctx.settings["katib"] else sweep_job(ctx)
    if training["workers"] > 1:
        out.append(DISTRIBUTED_RUNS[workloads.DISTRIBUTED[ctx.settings["distributed"]].kind](ctx))
    elif training.get("schedule"):
        out.append(cron_job(ctx))
    elif not training.get("sweep"):
        out.append(job(ctx))
    out += network_policies(ctx, out)
    return sorted(out, key=lambda m: m.file)
