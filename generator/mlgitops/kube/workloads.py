"""The kinds of object that run pods: one entry per kind, read by the policies, capacity, the sync guard and
the prerequisites. A new kind is one entry here (and its renderer). Pure (Trainer's runtimes are vendored data).

Each entry says where the kind keeps its pod templates, the most pods of each it runs at once, whether it
runs to completion (no probes then), the API group and version it is served by and the operator that must
run in the cluster for it, and what a GitOps engine does to it. The facts, and where they come from:

- Deployment: replicas (or its HorizontalPodAutoscaler's maxReplicas) plus the pods a rolling update
  surges (maxSurge, a percentage rounded up: kubernetes/pkg/controller/deployment/util).
- StatefulSet: replicas (an HPA may scale it); its rolling update replaces pods one at a time, no surge.
- DaemonSet: one pod per matching node, which the objects do not say: counted as 0 (unknown).
- Job (Indexed or not): parallelism, never more than completions (the Job controller starts
  min(parallelism, completions - succeeded)); parallelism 0 is a suspended Job.
- CronJob: one Job at a time (mlgitops writes concurrencyPolicy: Forbid) of its jobTemplate's parallelism.
- TrainJob (Kubeflow Trainer v2): trainer.numNodes pods of the runtime's `node` job, and one pod of each other
  job mlgitops patches through runtimePatches (an MPI runtime's launcher, the initializers: at most, as the
  initializers finish before the nodes start); the trainer's image and resourcesPerNode override the `node`
  containers (kube/trainer_runtimes).
- PyTorchJob (Training Operator v1): each replica type's replicas (Master and Workers).
- The run a pod belongs to (`run_label`, what `{run}` in a training output expands to): the Job controller
  labels its pods `batch.kubernetes.io/job-name` (Kubernetes 1.27+; a CronJob's run is a Job named
  `<cronjob>-<minutes since epoch>`, a Katib trial a Job named after the trial), JobSet (under a Kubeflow
  Trainer TrainJob) labels them `jobset.sigs.k8s.io/jobset-name` (the TrainJob's name, on every node),
  the Training Operator `training.kubeflow.org/job-name` (the PyTorchJob's name).
- Experiment (Katib): min(parallelTrialCount (default 3), maxTrialCount) trials at once, each running the
  pods of its trialSpec (here a Job), plus one suggestion pod: Katib's suggestion controller creates a
  one-replica Deployment in the Experiment's namespace while the experiment runs
  (katib pkg/controller.v1beta1/suggestion/composer DesiredDeployment).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlgitops.kube import trainer_runtimes

# A probe's timings where it leaves them unset (core/v1 Probe): a container fails its probe after
# initialDelaySeconds + failureThreshold x periodSeconds.
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "failureThreshold": 3, "periodSeconds": 10}


def probe_seconds(probe: dict[str, Any]) -> int:
    """How long a probe lets a container take before it fails it (a startup or liveness probe: restarts)."""
    timings = {k: probe[k] if isinstance(probe.get(k), int) else v for k, v in PROBE_DEFAULTS.items()}
    return timings["initialDelaySeconds"] + timings["failureThreshold"] * timings["periodSeconds"]

Where = Callable[[str], str]  # a pointer into a template's view -> the pointer into the object it shows
TEMPLATE = "/spec/template"  # where a view keeps its pod template: every kind is looked at as if it were a Job


@dataclass(frozen=True)
class PodTemplate:
    """One pod template of an object, as a view shaped like a workload (the template at /spec/template)."""

    view: dict[str, Any]  # {"kind", "metadata", "spec": {"template": ...}}; the object itself when it is shaped so
    where: Where  # pointer into view -> pointer into the object
    most: int  # the most pods of this template at once
    # the pod's containers are a runtime's (a Trainer initializer): their image and resources are not the
    # repository's to set, so policies leave them to the runtime (they count in pods all the same)
    runtime: bool = False

    @property
    def pod(self) -> dict[str, Any]:
        """The template's pod spec ({} when it has none)."""
        template = (self.view.get("spec") or {}).get("template")
        pod = template.get("spec") if isinstance(template, dict) else None
        return pod if isinstance(pod, dict) else {}


@dataclass(frozen=True)
class PodDefaults:
    """Hardening a kind's pods get by default (sizes of /dev/shm, HOME and /tmp); None: not set."""

    shm: str | None = None
    home: str | None = None
    tmp: str | None = None


# Training pods write checkpoints and dataset caches: more scratch than a server. /dev/shm is given to GPU and
# PyTorch pods (DataLoader workers and NCCL fail with a bus error in the runtime's 64Mi); docs/training.md.
TRAINING_PODS = PodDefaults(shm="1Gi", home="4Gi", tmp="4Gi")

@dataclass(frozen=True)
class Health:
    """How a run object says it succeeded or failed: its status condition types (set to "True").

    The GitOps engines read it: Flux's `healthCheckExprs` (CEL, on the training Kustomization) and Argo CD's
    `resource.customizations.health` (Lua). A run in progress is healthy to both, so waiting on it never
    holds a sync; a failed run is Failed (Flux) / Degraded (Argo CD). Condition types: Trainer
    pkg/apis/trainer/v1alpha1/trainjob_types.go (Complete, Failed); training-operator v1 JobConditionType
    (Succeeded, Failed); Katib experiment_types.go (Succeeded, Failed); batch/v1 Job (Complete, Failed)."""

    succeeded: str
    failed: str = "Failed"
    core: bool = False  # a built-in kind: both engines already read it so (kstatus; Argo CD's Go health)

    def _true(self, kind: str) -> str:
        return f"has(status.conditions) && status.conditions.exists(e, e.type == '{kind}' && e.status == 'True')"

    @property
    def cel(self) -> dict[str, str]:
        """Flux's expressions: `failed` on the failure condition, `current` otherwise (running or done)."""
        return {"current": f"!({self._true(self.failed)})", "failed": self._true(self.failed)}

    @property
    def lua(self) -> str:
        """Argo CD's health.lua: Degraded on failure, Healthy on success, Progressing while it runs."""
        return LUA.replace("@SUCCEEDED@", self.succeeded).replace("@FAILED@", self.failed)


LUA = """\
local hs = {status = "Progressing", message = "Waiting for the run to start"}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "@FAILED@" and c.status == "True" then
      return {status = "Degraded", message = c.message or "@FAILED@"}
    end
    if c.type == "@SUCCEEDED@" and c.status == "True" then
      hs = {status = "Healthy", message = c.message or "@SUCCEEDED@"}
    end
  end
  if hs.status ~= "Healthy" then
    hs.message = "Running"
  end
end
return hs
"""

Templates = Callable[[dict[str, Any], "int | None"], list[PodTemplate]]  # (object, replicas an HPA may scale to)


@dataclass(frozen=True)
class Workload:
    kind: str
    api_version: str  # group/version (or version alone for the core group) the kind is served at
    paths: tuple[str, ...]  # JSON pointers of its pod templates; * stands for any key or index
    templates: Templates  # finds them in an object, with the most pods of each at once
    completes: bool = False  # runs to completion: no readiness or liveness probes
    operator: str = ""  # what the cluster must run to serve the kind ("" built into Kubernetes)
    operator_pods: int = 0  # pods the operator starts beside the templates' (Katib's suggestion)
    stops_run: bool = False  # deleting it (a prune) stops a run that may be in progress
    scalable: bool = False  # a HorizontalPodAutoscaler may set its replicas
    caveats: tuple[str, ...] = ()  # what GitOps engines do to it that a spec author must know
    pod_defaults: PodDefaults = field(default_factory=PodDefaults)
    run_label: str = ""  # the label its controller puts on the pods of one run, naming the run (`{run}`)
    health: Health | None = None  # a run's success and failure, for the engines' health checks
    # the value of mlgitops.yaml's `training.distributed` that makes a run of several workers this kind ("": none);
    # the pods of such a run talk to each other (rendezvous, NCCL, MPI's ssh)
    distributed: str = ""

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def needs(self) -> str:
        """The operator line of the prerequisites, e.g. `Kubeflow Trainer v2 (TrainJob)`."""
        return f"{self.operator} ({self.kind})" if self.operator else ""


def _dig(obj: Any, *keys: Any) -> Any:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def count(value: Any, default: int) -> int:
    """A replica or parallelism count as written; default when absent or not a whole number."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else default


def _moved(prefix: str) -> Where:
    """Pointer translation for a pod template found at prefix instead of /spec/template."""
    return lambda pointer: prefix + pointer.removeprefix(TEMPLATE) if pointer.startswith(TEMPLATE) else pointer


def _view(obj: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    return {"kind": obj.get("kind"), "metadata": obj.get("metadata", {}), "spec": {"template": template}}


def _at(obj: dict[str, Any], keys: tuple[str, ...], most: int) -> list[PodTemplate]:
    """The pod template at /spec/<keys>, if there is one."""
    template = _dig(obj, "spec", *keys)
    if not isinstance(template, dict):
        return []
    return [PodTemplate(_view(obj, template), _moved("/spec/" + "/".join(keys)), most)]


def _own(obj: dict[str, Any], most: int) -> list[PodTemplate]:
    """The object itself, when its pod template is at /spec/template."""
    return [PodTemplate(obj, lambda pointer: pointer, most)] if isinstance(_dig(obj, "spec", "template"), dict) else []


def surge(spec: dict[str, Any], most: int) -> int:
    """Pods a Deployment's rolling update starts beyond `most` (a percentage rounds up, as Kubernetes does)."""
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    value = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return -(-most * count(value[:-1], 25) // 100)
    return count(value, 0)


def _deployment(obj: dict[str, Any], replicas: int | None) -> list[PodTemplate]:
    spec = obj.get("spec") or {}
    most = replicas if replicas is not None else count(spec.get("replicas"), 1)
    return _own(obj, most + surge(spec, most))


def _stateful_set(obj: dict[str, Any], replicas: int | None) -> list[PodTemplate]:
    return _own(obj, replicas if replicas is not None else count(_dig(obj, "spec", "replicas"), 1))


def _daemon_set(obj: dict[str, Any], replicas: int | None) -> list[PodTemplate]:
    return _own(obj, 0)  # one per matching node: not known from the objects


def job_pods(spec: Any) -> int:
    """The most pods a Job spec runs at once: parallelism, never more than completions."""
    spec = spec if isinstance(spec, dict) else {}
    parallelism = count(spec.get("parallelism"), 1)
    completions = spec.get("completions")
    return min(parallelism, count(completions, parallelism)) if completions is not None else parallelism


def _job(obj: dict[str, Any], replicas: int | None) -> list[PodTemplate]:
    return _own(obj, job_pods(obj.get("spec")))


def _cron_job(obj: dict[str, Any], replicas: int | None) -> list[PodTemplate]:
    return _at(obj, ("jobTemplate", "spec", "template"), job_pods(_dig(obj, "spec", "jobTemplate", "spec")))


def _replica_specs(key: str) -> Templates:
    """The pod templates of a Kubeflow job's replica types (`spec.<key>.<role>.template`), each `replicas` pods."""
    def templates(obj: dict[str, Any], replicas: int | None) -> list[PodTemplate]:
        roles = _dig(obj, "spec", key) or {}
        return [t for role in sorted(roles) if isinstance(roles[role], dict)
                for t in _at(obj, (key, role, "template"), count(roles[role].get("replicas"), 1))]
    return templates


NODE_JOB = "node"  # the Trainer runtime's replicated job (and container) the trainer section configures
TRAINER_FIELDS = (("image", "/spec/trainer/image"), ("resources", "/spec/trainer/resourcesPerNode"))
TRAINER_POD = "/spec/runtimePatches/*/trainingRuntimeSpec/template/spec/replicatedJobs/*/template/spec/template"


def _train_job(obj: dict[str, Any], replicas: int | None) -> list[PodTemplate]:
    """Each job of the runtime patches: the `node` job's pods (numNodes of them) and every other job's one
    (launcher, initializers; kube/trainer_runtimes). The trainer's image and resources are the `node`
    containers' (pointers go back to /spec/trainer for those)."""
    trainer = _dig(obj, "spec", "trainer") or {}
    out = []
    for i, patch in enumerate(_dig(obj, "spec", "runtimePatches") or []):
        for j, job in enumerate(_dig(patch, "trainingRuntimeSpec", "template", "spec", "replicatedJobs") or []):
            template = _dig(job, "template", "spec", "template")
            if not isinstance(_dig(template, "spec"), dict):
                continue
            at = TRAINER_POD.replace("*", str(i), 1).replace("*", str(j), 1)
            runtime_job = trainer_runtimes.RuntimeJob(str(job.get("name")), (), False)
            most = runtime_job.pods(count(trainer.get("numNodes"), 1), launcher_as_node(obj, patch))
            trainer_job = any(c.get("name") == NODE_JOB for c in _dig(template, "spec", "containers") or [])
            out.append(PodTemplate(_view(obj, _trainer_template(template, trainer)), _trainer_where(at), most,
                                   runtime=not trainer_job))
    return out


def launcher_as_node(obj: dict[str, Any], patch: dict[str, Any]) -> bool:
    """A shipped MPI runtime whose launcher is one of the nodes, and whose launcher the patch runs."""
    jobs = _dig(patch, "trainingRuntimeSpec", "template", "spec", "replicatedJobs") or []
    launched = any(isinstance(j, dict) and j.get("name") == "launcher" for j in jobs)
    return launched and trainer_runtimes.launcher_as_node(str(_dig(obj, "spec", "runtimeRef", "name")))


def _trainer_template(template: dict[str, Any], trainer: dict[str, Any]) -> dict[str, Any]:
    """The pod as Trainer makes it: its `node` container (a trainer job's) with the trainer's image and
    resources; containers of other names (initializers) as patched."""
    pod = template["spec"]
    containers = [{**c, "image": trainer.get("image", ""), "resources": trainer.get("resourcesPerNode") or {}}
                  if c.get("name") == NODE_JOB else c for c in pod.get("containers") or []]
    return {**template, "spec": {**pod, "containers": containers}}


def _trainer_where(at: str) -> Where:
    def where(pointer: str) -> str:
        for name, real in TRAINER_FIELDS:
            if pointer.startswith(f"{TEMPLATE}/spec/containers/0/{name}"):
                return real
        return _moved(at)(pointer)
    return where


KATIB_PARALLEL_TRIALS = 3  # Katib's default parallelTrialCount (experiment defaults)


def _experiment(obj: dict[str, Any], replicas: int | None) -> list[PodTemplate]:
    """Each trial runs its trialSpec: the templates of that kind's entry, times the trials at once."""
    spec = obj.get("spec") or {}
    trial = _dig(spec, "trialTemplate", "trialSpec")
    inner = KINDS.get(str(_dig(trial, "kind") or "Job"))
    if not isinstance(trial, dict) or inner is None or inner.kind == "Experiment":
        return []
    parallel = count(spec.get("parallelTrialCount"), KATIB_PARALLEL_TRIALS)
    if spec.get("maxTrialCount") is not None:
        parallel = min(parallel, count(spec["maxTrialCount"], parallel))
    return [PodTemplate(_view(obj, t.view["spec"]["template"]), _trial_where(t.where), t.most * parallel)
            for t in inner.templates(trial, None)]


TRIAL = "/spec/trialTemplate/trialSpec"  # a Katib trial: an object of a kind in this table


def _trial_where(inner: Where) -> Where:
    return lambda pointer: TRIAL + inner(pointer) if pointer.startswith(TEMPLATE) else pointer


JOB_NAME = "batch.kubernetes.io/job-name"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"  # an Indexed Job's pod annotation: its index
JOB_IMMUTABLE = "spec.template and completions are immutable: mlgitops names Jobs by the hash of their spec"
RUNS_CAVEAT = "deleting it (a prune) stops a run still in progress and deletes its finished pods' logs"
KINDS: dict[str, Workload] = {w.kind: w for w in (
    Workload("Deployment", "apps/v1", (TEMPLATE,), _deployment, scalable=True,
             caveats=("spec.selector is immutable: a change needs the Deployment re-created",)),
    Workload("StatefulSet", "apps/v1", (TEMPLATE,), _stateful_set, scalable=True,
             caveats=("spec.selector, serviceName and volumeClaimTemplates are immutable",)),
    Workload("DaemonSet", "apps/v1", (TEMPLATE,), _daemon_set, caveats=("spec.selector is immutable",)),
    Workload("Job", "batch/v1", (TEMPLATE,), _job, completes=True, stops_run=True,
             caveats=(JOB_IMMUTABLE, RUNS_CAVEAT), pod_defaults=TRAINING_PODS, health=Health("Complete", core=True), run_label=JOB_NAME),
    Workload("CronJob", "batch/v1", ("/spec/jobTemplate/spec/template",), _cron_job, completes=True,
             caveats=("its jobTemplate is mutable (a running Job keeps its own copy)",), pod_defaults=TRAINING_PODS,
             run_label=JOB_NAME),
    Workload("TrainJob", "trainer.kubeflow.org/v1alpha1", (TRAINER_POD, *(p for _, p in TRAINER_FIELDS)), _train_job, completes=True, stops_run=True,
             operator="Kubeflow Trainer v2", caveats=(RUNS_CAVEAT,), pod_defaults=TRAINING_PODS,
             health=Health("Complete"), run_label="jobset.sigs.k8s.io/jobset-name", distributed="trainjob"),
    Workload("PyTorchJob", "kubeflow.org/v1", ("/spec/pytorchReplicaSpecs/*/template",),
             _replica_specs("pytorchReplicaSpecs"), completes=True, stops_run=True,
             operator="Kubeflow Training Operator v1", caveats=(RUNS_CAVEAT,), pod_defaults=TRAINING_PODS,
             health=Health("Succeeded"), run_label="training.kubeflow.org/job-name", distributed="pytorchjob"),
    Workload("Experiment", "kubeflow.org/v1beta1", (TRIAL + TEMPLATE, TRIAL + "/spec/pytorchReplicaSpecs/*/template"),
             _experiment, completes=True, stops_run=True,
             operator="Katib", operator_pods=1, caveats=(RUNS_CAVEAT,), pod_defaults=TRAINING_PODS,
             health=Health("Succeeded"), run_label=JOB_NAME),
)}


# mlgitops.yaml's `training.distributed` -> the kind a run of several workers becomes (render/training.py renders it)
DISTRIBUTED: dict[str, Workload] = {w.distributed: w for w in KINDS.values() if w.distributed}


def health_checks() -> list[tuple[Workload, Health]]:
    """The custom kinds whose runs the engines must be told how to health-check (built-in ones they know)."""
    return [(w, w.health) for w in KINDS.values() if w.health is not None and not w.health.core]


def argocd_health_settings() -> dict[str, str]:
    """argocd-cm's `resource.customizations.health.<group>_<kind>` keys for the custom run kinds (Argo CD ships
    none for them: a failed run would look Healthy). docs/training.md shows them; the cluster's admin sets them."""
    return {f"resource.customizations.health.{kind.group}_{kind.kind}": health.lua for kind, health in health_checks()}


def entry(obj: dict[str, Any]) -> Workload | None:
    """The table's entry for an object's kind, None for objects that run no pods of their own."""
    return KINDS.get(str(obj.get("kind")))


def pod_templates(obj: dict[str, Any], replicas: int | None = None) -> list[PodTemplate]:
    """Each pod template of obj, with the most pods of it at once (replicas: an HPA's maxReplicas)."""
    found = entry(obj)
    if found is None or not isinstance(obj.get("spec"), dict):
        return []
    return found.templates(obj, replicas if found.scalable else None)


def most_pods(obj: dict[str, Any]) -> int:
    """The most pods of obj's templates at once (without its operator's pods)."""
    return sum(t.most for t in pod_templates(obj))
