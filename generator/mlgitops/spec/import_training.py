"""`mlgitops import`: a training workload -> the spec's `training`.

A Job or CronJob gives one run (a CronJob its schedule); a PyTorchJob or TrainJob a distributed run
(`workers`: all its nodes); a Katib Experiment a sweep (its trial Job, or its trial PyTorchJob's Master, is the
run; its parameters, trial counts and seed the sweep's). The pod gives the container, volumes, account, restart
policy and annotations; what the section cannot say is a patch of the Job or CronJob mlgitops makes (the kind
of a distributed run or sweep is mlgitops.yaml's, so there it is reported). The spec holds one training run per
model: a second workload of the same model is a finding.
"""

from __future__ import annotations

import math
import re
from typing import Any, TypeGuard

from mlgitops.kube.quantity import add_bytes
from mlgitops.kube.workloads import DISTRIBUTED, KINDS
from mlgitops.report.findings import Finding, Severity
from mlgitops.spec import pods
from mlgitops.spec.import_objects import (
    CHANGED,
    DROPPED,
    OWN_ANNOTATIONS,
    Obj,
    Shape,
    as_list,
    as_map,
    dig,
    steps,
    use_shape,
)
from mlgitops.spec.import_pod import PatchTarget, Pod, container
from mlgitops.spec.import_volumes import relocate_env, shared_memory_off, volumes
from mlgitops.spec.model import SCHEMA
from mlgitops.spec.schema import load_schema, subschema

_POD = {"Job": "/spec/template/spec", "CronJob": "/spec/jobTemplate/spec/template/spec",
        "Experiment": "/spec/trialTemplate/trialSpec/spec/template/spec"}
_TRIAL = "/spec/trialTemplate/trialSpec"
_PARAMETER: Shape = {"name": None, "parameterType": None,
                     "feasibleSpace": {"min": None, "max": None, "step": None, "list": None, "distribution": None}}
_MAX_VALUES = 1000  # the most values a stepped range expands to: a grid of more is no grid a team runs
_MAX_TRIALS = subschema(load_schema(SCHEMA), (
    "properties", "spec", "properties", "training", "properties", "sweep", "properties", "maxTrials"))["default"]
# What an Experiment says that the spec's sweep cannot (an Indexed Job by default; a Katib Experiment only where
# mlgitops.yaml says training.katib: true), and why.
_EXPERIMENT_UNSAID = {
    "/spec/objective/goal": "the sweep runs every trial it makes; Katib's goal stops it at a metric value",
    "/spec/objective/additionalMetricNames": "the sweep's objective is one metric",
    "/spec/earlyStopping": "the sweep stops no trial early (Katib's early stopping, e.g. medianstop, is its own)",
    "/spec/metricsCollectorSpec": "mlgitops' Experiment reads the metric the trials print (Katib's StdOut "
    "collector)",
    "/spec/resumePolicy": "mlgitops' Experiment keeps Katib's default (Never)",
}
# The generated object a patch carries a training pod's extra fields to: a Job stays a Job, a CronJob a CronJob
# (render/training.py, its container `training`). A distributed run's and a sweep's kind is mlgitops.yaml's
# choice (TrainJob or PyTorchJob; an Indexed Job or a Katib Experiment): what they cannot say is reported.
_TARGET = {"Job": PatchTarget("Job", ("spec", "template", "spec"), "training"),
           "CronJob": PatchTarget("CronJob", ("spec", "jobTemplate", "spec", "template", "spec"), "training")}
_TRIAL_PARAMETER = re.compile(r"\$\{trialParameters\.[^}]+\}")


def training(objs: list[Obj], model: dict[str, Any], findings: list[Finding],
             optional_limits: frozenset[str] = frozenset(), patches: list[dict[str, Any]] | None = None,
             distributed: str = "trainjob") -> dict[str, Any]:
    """The spec's `training` from the first training workload; what its pod has that the section cannot say
    is appended to `patches` (spec.patches) where a patch of the generated object can carry it. `distributed`:
    mlgitops.yaml's training.distributed, the kind a run of several workers becomes."""
    first = objs[0]
    for other in objs[1:]:
        findings.append(other.finding(DROPPED, "", f"{other.ref}: the spec holds one training run per model "
                                      f"({first.ref} is imported)", "import it on its own with --name",
                                      Severity.ERROR))
    if first.kind == "TrainJob":
        out = _trainjob(first, findings)
        _distributed_kind(first, out, distributed, findings)
        return out
    base = _pytorch_base(first)
    pointer = _POD[first.kind] if base is None else _pytorch_pointer(first, base)
    pod = Pod(first, pointer, findings, _TARGET.get(first.kind), optional_limits=optional_limits)
    _model_version(pod, model)
    out = container(pod, "training")
    out.update(volumes(pod, {}, "training"))
    relocate_env(pod, out)
    shared_memory_off(pod, out)
    _own_ephemeral(pod, out)
    out.update(_account(pod))
    out.update(_run_limits(first, pointer, base))
    if first.kind == "CronJob":
        out.update(_cron(first, findings))
    if base is not None:
        out.update(_nodes(first, pod, base))
        _distributed_kind(first, out, distributed, findings)
    if first.kind == "Experiment":
        _experiment(first, out, findings)
    out.update(_restart_policy(pod))
    out.update(_pod_annotations(pod))
    _extra(pod)
    if patches is not None:
        patches += pod.patches()
    return out


def _model_version(pod: Pod, model: dict[str, Any]) -> None:
    """MODEL_VERSION, which mlgitops sets itself from model.version (render/training.py): the model's version."""
    for item in as_list(pod.container.get("env")):
        if dig(item, "name") == "MODEL_VERSION" and isinstance(dig(item, "value"), str) and item["value"]:
            model.setdefault("version", item["value"])


def _own_ephemeral(pod: Pod, out: dict[str, Any]) -> None:
    """An ephemeral-storage request (and limit) that is exactly mlgitops' own for the pod's /tmp and HOME
    volumes and its log headroom (render/training.py: its own output read back) is left unsaid."""
    sizes = {str(v.get("name")): dig(v, "emptyDir", "sizeLimit") for v in as_list(pod.spec.get("volumes"))
             if isinstance(v, dict) and isinstance(v.get("emptyDir"), dict)}
    resources = out.get("resources", {})
    if not (sizes.get("tmp") and sizes.get("home")) or "ephemeralStorage" not in resources:
        return
    own = add_bytes(sizes["tmp"], sizes["home"], pods.LOG_HEADROOM)
    limits = resources.get("limits", {})
    if str(resources["ephemeralStorage"]) == own and str(limits.get("ephemeralStorage", own)) == own:
        del resources["ephemeralStorage"]
        limits.pop("ephemeralStorage", None)
        if "limits" in resources and not limits:
            del resources["limits"]


def _run_limits(obj: Obj, pointer: str, base: str | None) -> dict[str, Any]:
    """backoffLimit and activeDeadlineSeconds: the Job's (a CronJob's job template's, a trial's), or a
    PyTorchJob's runPolicy (a trial's PyTorchJob's)."""
    at = pointer.split("/template/")[0] if base is None else f"{base}/spec/runPolicy"
    job = as_map(obj.get(*steps(at)))
    out = {}
    for key in ("backoffLimit", "activeDeadlineSeconds"):
        obj.use(f"{at}/{key}")
        if isinstance(dig(job, key), int):
            out[key] = job[key]
    return out


def _pytorch_base(obj: Obj) -> str | None:
    """Where a PyTorchJob is in the object: the object itself, or a Katib trial's (Katib runs a PyTorchJob per
    trial as readily as a Job); None for a Job."""
    if obj.kind == "PyTorchJob":
        return ""
    if obj.kind == "Experiment" and obj.get("spec", "trialTemplate", "trialSpec", "kind") == "PyTorchJob":
        return _TRIAL
    return None


def _pytorch_pointer(obj: Obj, base: str) -> str:
    role = "Master" if obj.get(*steps(base), "spec", "pytorchReplicaSpecs", "Master") else "Worker"
    return f"{base}/spec/pytorchReplicaSpecs/{role}/template/spec"


def _nodes(obj: Obj, pod: Pod, base: str) -> dict[str, Any]:
    """A PyTorchJob's nodes are the run's workers; a sweep's trial runs as one pod, so a trial of several
    nodes is reported."""
    nodes = _pytorch_workers(obj, pod, base)
    if obj.kind == "PyTorchJob":
        return {"workers": nodes}
    if nodes > 1:
        pod.note(CHANGED, f"{base}/spec/pytorchReplicaSpecs", f"each trial ran as a PyTorchJob of {nodes} nodes: "
                 "mlgitops runs each trial as one pod (a sweep cannot also run several workers)",
                 "check that one node trains a trial in time (activeDeadlineSeconds)", covers=False)
    return {}


def _pytorch_workers(obj: Obj, pod: Pod, base: str = "") -> int:
    """All the nodes of the run. A role whose pod runs the same image as the imported one is the same run
    (mlgitops' TrainJob or PyTorchJob gives every node the trainer's pod); one that differs is reported."""
    specs = as_map(obj.get(*steps(base), "spec", "pytorchReplicaSpecs"))
    imported = pod.pointer.split("/template/")[0]
    for role, spec in specs.items():
        at = f"{base}/spec/pytorchReplicaSpecs/{role}"
        obj.use(f"{at}/replicas", f"{at}/restartPolicy")
        if at != imported and dig(spec, "template") != obj.get(*steps(imported), "template"):
            pod.findings.append(obj.finding(CHANGED, f"{at}/template", f"the {role} pods' template differs from the "
                                            "one imported: mlgitops gives every node of the run the same pod",
                                            "check that the imported role's pod suits every node"))
        elif at != imported:
            obj.use(f"{at}/template")
    policy = as_map(obj.get(*steps(base), "spec", "runPolicy")).get("cleanPodPolicy")
    if policy not in (None, "None"):  # the operator's default (kubeflow training SDK, V1PyTorchJobSpec)
        pod.note(CHANGED, f"{base}/spec/runPolicy/cleanPodPolicy", f"cleanPodPolicy {policy}: mlgitops' run keeps the "
                 "operator's default (None: finished pods are kept, their logs readable)",
                 "patch the run where mlgitops.yaml's training.distributed is pytorchjob")
    obj.use(f"{base}/spec/runPolicy/cleanPodPolicy")
    return sum(_count(dig(s, "replicas")) for s in specs.values() if isinstance(s, dict))


def _cron(obj: Obj, findings: list[Finding]) -> dict[str, Any]:
    """The schedule and time zone; the rest of a CronJob's policy is mlgitops' own (concurrencyPolicy Forbid:
    a slow run is never overlapped by the next; history limits; startingDeadlineSeconds), said where the input
    differs."""
    obj.use("/spec/schedule", "/spec/timeZone", "/spec/jobTemplate/metadata")
    out = {k: obj.get("spec", k) for k in ("schedule", "timeZone") if isinstance(obj.get("spec", k), str)}
    for key, own in (("successfulJobsHistoryLimit", pods.CRON_HISTORY), ("failedJobsHistoryLimit", pods.CRON_HISTORY),
                     ("startingDeadlineSeconds", pods.CRON_STARTING_DEADLINE)):
        value = obj.get("spec", key)
        if value is not None and value != own:
            findings.append(obj.finding(CHANGED, f"/spec/{key}", f"{key}: mlgitops' CronJob keeps its own ({own})",
                                        "patch the CronJob if the value matters"))
        obj.use(f"/spec/{key}")
    policy = obj.get("spec", "concurrencyPolicy")
    if policy not in (None, "Forbid"):
        findings.append(obj.finding(CHANGED, "/spec/concurrencyPolicy", f"concurrencyPolicy {policy}: mlgitops' "
                                    "CronJob forbids a run while the last one runs (Forbid)",
                                    "keep it so (two runs writing one output race), or patch the CronJob"))
    obj.use("/spec/concurrencyPolicy")
    if obj.get("spec", "suspend") is True:
        findings.append(obj.finding(CHANGED, "/spec/suspend", "the CronJob is suspended: mlgitops' CronJob runs on "
                                    "its schedule", "set training.environments to the environments that train"))
    obj.use("/spec/suspend")
    return out


# What the cluster needs for a distributed kind beyond its operator (kube/workloads.py: the kind each value of
# mlgitops.yaml's training.distributed makes, and its operator).
_ALSO_NEEDS = {"TrainJob": " and its ClusterTrainingRuntime (training.runtime)"}


def _distributed_kind(obj: Obj, out: dict[str, Any], distributed: str, findings: list[Finding]) -> None:
    """A distributed run's kind is mlgitops.yaml's (training.distributed), not the spec's: where it differs from
    the input's, the report says so at the kind, with what the cluster then needs."""
    run = DISTRIBUTED.get(distributed, DISTRIBUTED["trainjob"])
    source = KINDS.get(obj.kind)
    if obj.kind == run.kind or source is None or not source.distributed or out.get("workers", 1) <= 1:
        return
    needs = f"{run.operator} ({run.api_version}){_ALSO_NEEDS.get(run.kind, '')}"
    findings.append(obj.finding(CHANGED, "/kind", f"the {obj.kind} becomes a {run.kind}: mlgitops.yaml's "
                                f"training.distributed ({distributed}) decides what a run of {out['workers']} "
                                f"workers becomes, and the cluster then needs {needs}",
                                f"set training.distributed: {source.distributed} in mlgitops.yaml to keep a {obj.kind} "
                                "(it applies to every model)", covers=False))


def _count(value: Any) -> int:
    """A replica count as written (an int), else 1: the operator's default."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 1


def _trainjob(obj: Obj, findings: list[Finding]) -> dict[str, Any]:
    """The trainer section read as the run's container (its image, command, args, env and resourcesPerNode,
    checked as any container's); numNodes the workers. The pods themselves are the runtime's."""
    trainer = as_map(obj.get("spec", "trainer"))
    pod = Pod(obj, "", findings)
    pod.container = {**trainer, "resources": trainer.get("resourcesPerNode")}
    pod.cpointer = "/spec/trainer"
    out = container(pod, "training")
    for pointers in (obj.used, obj.reported):  # what was read as `resources` is the input's resourcesPerNode
        pointers.update(p.replace("/spec/trainer/resources", "/spec/trainer/resourcesPerNode", 1)
                        for p in list(pointers) if p.startswith("/spec/trainer/resources"))
    obj.use("/spec/trainer/numNodes", "/spec/activeDeadlineSeconds")
    nodes = trainer.get("numNodes")
    if isinstance(nodes, int) and nodes > 1:
        out["workers"] = nodes
    if _positive(obj.get("spec", "activeDeadlineSeconds")):
        out["activeDeadlineSeconds"] = obj.get("spec", "activeDeadlineSeconds")
    if trainer.get("numProcPerNode") == "auto":
        obj.use("/spec/trainer/numProcPerNode")  # the torch runtimes' own default: a process per GPU (or CPU)
    obj.use("/spec/runtimeRef/apiGroup", "/spec/runtimeRef/kind")
    runtime = obj.get("spec", "runtimeRef", "name")
    if runtime:
        findings.append(obj.finding(CHANGED, "/spec/runtimeRef/name", f"runtime '{runtime}': mlgitops names the "
                                    "ClusterTrainingRuntime in mlgitops.yaml "
                                    "(training.runtime, default torch-distributed)", "name it there if it differs"))
    return out


def _account(pod: Pod) -> dict[str, Any]:
    """training.serviceAccount: an existing account by name (a cloud identity for the data bucket)."""
    name = pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount")
    pod.use(f"{pod.pointer}/serviceAccountName", f"{pod.pointer}/serviceAccount",
            f"{pod.pointer}/automountServiceAccountToken")
    if not isinstance(name, str) or name == "default":
        return {}
    account: dict[str, Any] = {"name": name}
    if pod.spec.get("automountServiceAccountToken") is True:
        account["automountToken"] = True
    return {"serviceAccount": account}


def _pod_annotations(pod: Pod) -> dict[str, Any]:
    """training.podAnnotations: the pod template's annotations (mlgitops labels its pods itself)."""
    meta = pod.pointer.rsplit("/", 1)[0] + "/metadata"
    pod.use(f"{meta}/labels", f"{meta}/annotations", f"{meta}/creationTimestamp")
    annotations = as_map(pod.obj.get(*steps(meta), "annotations"))
    out = {str(k): str(v) for k, v in annotations.items() if not str(k).startswith(OWN_ANNOTATIONS)}
    return {"podAnnotations": out} if out else {}


def _extra(pod: Pod) -> None:
    """The training pod's other containers: the training section has no init containers or sidecars, and a
    patch would add them without the hardening mlgitops gives its own (check's pod security refuses that)."""
    for key, what in (("initContainers", "init container"), ("containers", "container")):
        for i, c in enumerate(as_list(pod.spec.get(key))):
            if key == "initContainers" or i != pod.index:
                pod.note(DROPPED, f"{pod.pointer}/{key}/{i}", f"{what} '{dig(c, 'name')}' beside the trainer: not "
                         "carried over: the training section runs one container (a patch would add it unhardened)",
                         "fold its work into the training image or command, or add it by a patch with a "
                         "restricted securityContext")


def _restart_policy(pod: Pod) -> dict[str, Any]:
    role = pod.pointer.split("/template/")[0]
    policy = pod.spec.get("restartPolicy") or pod.obj.get(*steps(role), "restartPolicy")
    pod.use(f"{pod.pointer}/restartPolicy")
    return {"restartPolicy": policy} if policy == "OnFailure" else {}


def _experiment(obj: Obj, out: dict[str, Any], findings: list[Finding]) -> None:
    sweep: dict[str, Any] = {"strategy": _algorithm(obj, findings)}
    parameters = {}
    for i, param in enumerate(as_list(obj.get("spec", "parameters"))):
        use_shape(obj, f"/spec/parameters/{i}", param, _PARAMETER)
        value = _parameter(obj, f"/spec/parameters/{i}", param, findings)
        if value is not None:
            parameters[str(dig(param, "name"))] = value
    sweep["parameters"] = parameters
    obj.use("/spec/maxTrialCount", "/spec/parallelTrialCount", "/spec/maxFailedTrialCount",
            "/spec/objective/objectiveMetricName", "/spec/objective/type", "/spec/trialTemplate/primaryContainerName",
            "/spec/trialTemplate/trialParameters", "/spec/trialTemplate/trialSpec/apiVersion",
            "/spec/trialTemplate/trialSpec/kind")
    sweep.update(_trial_counts(obj, sweep, findings))
    if sweep["strategy"] == "random":
        sweep.update(_seed(obj))
    metric = obj.get("spec", "objective", "objectiveMetricName")
    if metric:
        sweep["objective"] = {"metric": metric, "goal": obj.get("spec", "objective", "type") or "maximize"}
    for at, why in _EXPERIMENT_UNSAID.items():
        if obj.get(*steps(at)) is not None:
            findings.append(obj.finding(DROPPED, at, f"{at.strip('/').replace('/', '.')}: not carried over: {why}",
                                        "patch the Experiment (spec.patches) where mlgitops.yaml says "
                                        "training.katib: true"))
    out["sweep"] = sweep
    _trial_args(obj, out, findings)


def _algorithm(obj: Obj, findings: list[Finding]) -> str:
    """grid or random; another Katib algorithm (bayesianoptimization, tpe, cmaes...) becomes random, its seed
    (random_state) the sweep's."""
    obj.use("/spec/algorithm/algorithmName")
    algorithm = obj.get("spec", "algorithm", "algorithmName")
    if algorithm not in (None, "grid", "random"):
        findings.append(obj.finding(CHANGED, "/spec/algorithm/algorithmName", f"algorithm '{algorithm}': mlgitops "
                                    "sweeps are grid or random; imported as random (each trial drawn on its own, "
                                    "not guided by the ones before)", "keep random, or list the values for a grid"))
    return "grid" if algorithm == "grid" else "random"


def _seed(obj: Obj) -> dict[str, Any]:
    """A random sweep's seed: Katib's random_state setting (its random, TPE and CMA-ES suggestions take one)."""
    for i, setting in enumerate(as_list(obj.get("spec", "algorithm", "algorithmSettings"))):
        value = _number(dig(setting, "value"))
        if dig(setting, "name") == "random_state" and isinstance(value, int) and value >= 0:
            obj.use(f"/spec/algorithm/algorithmSettings/{i}/name", f"/spec/algorithm/algorithmSettings/{i}/value")
            return {"seed": value}
    return {}


def _trial_counts(obj: Obj, sweep: dict[str, Any], findings: list[Finding]) -> dict[str, Any]:
    """maxTrialCount is how many trials a random sweep draws (`trials`, under the `maxTrials` cap); a grid makes
    every combination, so there it is the cap. parallelTrialCount and maxFailedTrialCount map one to one."""
    spec = as_map(obj.get("spec"))
    out = {key: spec[name] for name, key in (("parallelTrialCount", "parallelism"),
                                              ("maxFailedTrialCount", "maxFailedTrials")) if _positive(spec.get(name))}
    count = spec.get("maxTrialCount")
    if not _positive(count):
        return out
    if sweep["strategy"] == "random":
        out["trials"] = count
        if count > _MAX_TRIALS:
            out["maxTrials"] = count
        return out
    size = math.prod(len(v) if isinstance(v, list) else 1 for v in sweep["parameters"].values())
    out["maxTrials"] = max(count, size)
    if size > count:
        findings.append(obj.finding(CHANGED, "/spec/maxTrialCount", f"maxTrialCount {count}: Katib stops the grid "
                                    f"after {count} of its {size} combinations; mlgitops runs them all",
                                    "list fewer values, or keep every combination"))
    return out


def _positive(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _parameter(obj: Obj, pointer: str, param: Any, findings: list[Finding]) -> Any:
    space = as_map(dig(param, "feasibleSpace"))
    if isinstance(space.get("list"), list):
        return [_number(v) for v in space["list"]]
    kind = dig(param, "parameterType")
    if "min" in space and "max" in space:
        low, high, step = _number(space["min"]), _number(space["max"]), _number(space.get("step", 0))
        values = _steps(low, high, step, kind)
        if values is not None:
            return values
        if kind in ("int", "double") and _is_number(step) and step > 0:
            findings.append(obj.finding(CHANGED, f"{pointer}/feasibleSpace/step", f"parameter '{dig(param, 'name')}'"
                                        f": its step makes more than {_MAX_VALUES} values (or none): imported as "
                                        "a range without the step", "list the values the sweep should try"))
        out = {"min": low, "max": high, **({"type": "int"} if kind == "int" else {})}
        return out | _distribution(obj, pointer, space, findings)
    findings.append(obj.finding(DROPPED, pointer, f"parameter '{dig(param, 'name')}' has no list or range"))
    return None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _steps(low: Any, high: Any, step: Any, kind: Any) -> list[Any] | None:
    """The values of a range with a step (Katib's grid walks min, min+step, ... up to max), or None where there
    is no step, the bounds are no numbers, or the walk would make more than _MAX_VALUES values (an Experiment
    from anywhere must not make the import hang or run out of memory)."""
    if kind not in ("int", "double") or not all(_is_number(v) for v in (low, high, step)) or step <= 0 or high < low:
        return None
    span = (high - low) / step  # inf for bounds near the float limit
    if not math.isfinite(span) or span + 1 > _MAX_VALUES:
        return None
    count = math.floor(span + 1e-9) + 1
    if kind == "int" and all(isinstance(v, int) for v in (low, high, step)):
        return list(range(low, high + 1, step))
    return [round(low + i * step, 10) for i in range(count)]


def _distribution(obj: Obj, pointer: str, space: dict[str, Any], findings: list[Finding]) -> dict[str, Any]:
    """Katib's uniform is the spec's default, its logUniform the spec's log-uniform; a normal one is reported."""
    found = space.get("distribution")
    if found == "logUniform":
        return {"distribution": "log-uniform"}
    if found not in (None, "uniform"):
        findings.append(obj.finding(CHANGED, f"{pointer}/feasibleSpace/distribution", f"distribution '{found}': the "
                                    "spec's ranges are uniform or log-uniform; imported as uniform"))
    return {}


def _number(value: Any) -> Any:
    """Katib writes numbers as strings ("0.01"): the spec's lists hold numbers."""
    text = str(value)
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text


def _trial_args(obj: Obj, out: dict[str, Any], findings: list[Finding]) -> None:
    """mlgitops passes each trial's parameters as --name=value arguments: the trial's own placeholders go."""
    for key in ("command", "args"):
        items = as_list(out.get(key))
        kept = [a for a in items if not _TRIAL_PARAMETER.search(a)]
        if len(kept) != len(items):
            out[key] = kept
            findings.append(obj.finding(CHANGED, "/spec/trialTemplate", f"the trial's {key} placeholders "
                                        "(${trialParameters...}) are left out: mlgitops appends --name=value for "
                                        "each sweep parameter", "make the script read --<parameter>=<value>"))
