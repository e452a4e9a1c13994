"""`mlgitops import`: a training workload -> the spec's `training`.

A Job or CronJob gives one run (a CronJob its schedule); a PyTorchJob or TrainJob a distributed run
(`workers`: all its nodes); a Katib Experiment a sweep (its trial Job is the run, its parameters the sweep's).
The spec holds one training run per model: a second workload of the same model is a finding.
"""

from __future__ import annotations

import re
from typing import Any

from mlgitops.report.findings import Finding, Severity
from mlgitops.spec.import_objects import CHANGED, DROPPED, Obj, Shape, as_list, as_map, dig, use_shape
from mlgitops.spec.import_pod import Pod, container
from mlgitops.spec.import_volumes import volumes

_POD = {"Job": "/spec/template/spec", "CronJob": "/spec/jobTemplate/spec/template/spec",
        "Experiment": "/spec/trialTemplate/trialSpec/spec/template/spec"}
_JOB = {"Job": ("spec",), "CronJob": ("spec", "jobTemplate", "spec"),
        "Experiment": ("spec", "trialTemplate", "trialSpec", "spec")}
_PARAMETER: Shape = {"name": None, "parameterType": None,
                     "feasibleSpace": {"min": None, "max": None, "step": None, "list": None}}
_TRIAL_PARAMETER = re.compile(r"\$\{trialParameters\.[^}]+\}")


def training(objs: list[Obj], model: dict[str, Any], findings: list[Finding],
             optional_limits: frozenset[str] = frozenset()) -> dict[str, Any]:
    first = objs[0]
    for other in objs[1:]:
        findings.append(other.finding(DROPPED, "", f"{other.ref}: the spec holds one training run per model "
                                      f"({first.ref} is imported)", "import it on its own with --name",
                                      Severity.ERROR))
    if first.kind == "TrainJob":
        return _trainjob(first, findings)
    pointer = _POD.get(first.kind) or _pytorch_pointer(first)
    pod = Pod(first, pointer, findings, optional_limits=optional_limits)
    out = container(pod, "training")
    out.update(volumes(pod, {}, "training"))
    out.update(_account(pod))
    job = first.get(*_JOB[first.kind]) if first.kind in _JOB else as_map(first.get("spec", "runPolicy"))
    for key in ("backoffLimit", "activeDeadlineSeconds"):
        first.use(pointer.split("/template/")[0] + f"/{key}" if first.kind in _JOB else f"/spec/runPolicy/{key}")
        if isinstance(dig(job, key), int):
            out[key] = job[key]
    if first.kind == "CronJob":
        out.update(_cron(first))
    if first.kind == "PyTorchJob":
        out["workers"] = _pytorch_workers(first, pod)
    if first.kind == "Experiment":
        _experiment(first, out, findings)
    out.update(_restart_policy(pod))
    _extra(pod)
    return out


def _pytorch_pointer(obj: Obj) -> str:
    role = "Master" if obj.get("spec", "pytorchReplicaSpecs", "Master") else "Worker"
    return f"/spec/pytorchReplicaSpecs/{role}/template/spec"


def _pytorch_workers(obj: Obj, pod: Pod) -> int:
    """All the nodes of the run. A role whose pod runs the same image as the imported one is the same run
    (mlgitops' TrainJob or PyTorchJob gives every node the trainer's pod); one that differs is reported."""
    specs = as_map(obj.get("spec", "pytorchReplicaSpecs"))
    imported = pod.pointer.split("/template/")[0]
    for role, spec in specs.items():
        at = f"/spec/pytorchReplicaSpecs/{role}"
        obj.use(f"{at}/replicas", f"{at}/restartPolicy")
        if at != imported and dig(spec, "template") != obj.get(*imported.strip("/").split("/"), "template"):
            pod.findings.append(obj.finding(CHANGED, f"{at}/template", f"the {role} pods' template differs from the "
                                            "one imported: mlgitops gives every node of the run the same pod",
                                            "check that the imported role's pod suits every node"))
        elif at != imported:
            obj.use(f"{at}/template")
    obj.use("/spec/runPolicy/cleanPodPolicy")
    return sum(_count(dig(s, "replicas")) for s in specs.values() if isinstance(s, dict))


def _cron(obj: Obj) -> dict[str, Any]:
    """The schedule and time zone; the rest of a CronJob's policy is mlgitops' own (concurrencyPolicy Forbid,
    history limits, startingDeadlineSeconds), and said so where the input differs."""
    obj.use("/spec/schedule", "/spec/timeZone", "/spec/jobTemplate/metadata")
    out = {k: obj.get("spec", k) for k in ("schedule", "timeZone") if isinstance(obj.get("spec", k), str)}
    policy = obj.get("spec", "concurrencyPolicy")
    obj.use("/spec/successfulJobsHistoryLimit", "/spec/failedJobsHistoryLimit", "/spec/startingDeadlineSeconds")
    if policy in (None, "Forbid"):
        obj.use("/spec/concurrencyPolicy")
    return out


def _count(value: Any) -> int:
    """A replica count as written (an int), else 1: the operator's default."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 1


def _trainjob(obj: Obj, findings: list[Finding]) -> dict[str, Any]:
    trainer = as_map(obj.get("spec", "trainer"))
    out: dict[str, Any] = {k: trainer[k] for k in ("image", "command", "args") if trainer.get(k)}
    pod = Pod(obj, "", findings)
    pod.container = {"env": trainer.get("env"), "resources": trainer.get("resourcesPerNode")}
    pod.cpointer = "/spec/trainer"
    resources = container(pod, "training")
    out.update({k: v for k, v in resources.items() if k in ("env", "secrets", "resources")})
    nodes = trainer.get("numNodes")
    if isinstance(nodes, int) and nodes > 1:
        out["workers"] = nodes
    if obj.get("spec", "runtimeRef", "name"):
        findings.append(obj.finding(CHANGED, "/spec/runtimeRef", f"runtime '{obj.get('spec', 'runtimeRef', 'name')}'"
                                    ": mlgitops names the runtime from mlgitops.yaml (training.distributed)"))
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


def _extra(pod: Pod) -> None:
    """What a training pod has that its spec section cannot carry (no patches reach training objects)."""
    meta = pod.pointer.rsplit("/", 1)[0] + "/metadata"
    pod.use(f"{meta}/labels")  # mlgitops labels its pods itself
    if pod.spec.get("initContainers"):
        pod.later(f"{pod.pointer}/initContainers", "init containers", "training init containers")
    if as_map(pod.obj.get(*meta.strip("/").split("/"))).get("annotations"):
        pod.later(f"{meta}/annotations", "the pod template's annotations", "training pod annotations")
    for i, c in enumerate(pod.containers):
        if i != pod.index:
            pod.later(f"{pod.pointer}/containers/{i}", f"container '{c.get('name')}' beside the trainer",
                      "training sidecars")


def _restart_policy(pod: Pod) -> dict[str, Any]:
    role = pod.pointer.split("/template/")[0]
    policy = pod.spec.get("restartPolicy") or pod.obj.get(*role.strip("/").split("/"), "restartPolicy")
    pod.use(f"{pod.pointer}/restartPolicy")
    return {"restartPolicy": policy} if policy == "OnFailure" else {}


def _experiment(obj: Obj, out: dict[str, Any], findings: list[Finding]) -> None:
    sweep: dict[str, Any] = {}
    for i, param in enumerate(as_list(obj.get("spec", "parameters"))):
        use_shape(obj, f"/spec/parameters/{i}", param, _PARAMETER)
    obj.use("/spec/algorithm/algorithmName", "/spec/maxTrialCount", "/spec/parallelTrialCount",
            "/spec/maxFailedTrialCount", "/spec/objective/objectiveMetricName", "/spec/objective/type",
            "/spec/trialTemplate/primaryContainerName", "/spec/trialTemplate/trialParameters",
            "/spec/trialTemplate/trialSpec/apiVersion", "/spec/trialTemplate/trialSpec/kind")
    algorithm = obj.get("spec", "algorithm", "algorithmName")
    if algorithm in ("grid", "random"):
        sweep["strategy"] = algorithm
    elif algorithm:
        findings.append(obj.finding(CHANGED, "/spec/algorithm/algorithmName", f"algorithm '{algorithm}': mlgitops "
                                    "sweeps are grid or random; imported as random"))
        sweep["strategy"] = "random"
    parameters = {}
    for i, param in enumerate(as_list(obj.get("spec", "parameters"))):
        value = _parameter(obj, f"/spec/parameters/{i}", param, findings)
        if value is not None:
            parameters[str(dig(param, "name"))] = value
    sweep["parameters"] = parameters
    for key, spec_key in (("maxTrialCount", "maxTrials"), ("parallelTrialCount", "parallelism"),
                          ("maxFailedTrialCount", "maxFailedTrials")):
        if isinstance(obj.get("spec", key), int):
            sweep[spec_key] = obj.get("spec", key)
    metric = obj.get("spec", "objective", "objectiveMetricName")
    if metric:
        sweep["objective"] = {"metric": metric, "goal": obj.get("spec", "objective", "type") or "maximize"}
    out["sweep"] = sweep
    _trial_args(obj, out, findings)


def _parameter(obj: Obj, pointer: str, param: Any, findings: list[Finding]) -> Any:
    space = as_map(dig(param, "feasibleSpace"))
    if isinstance(space.get("list"), list):
        return [_number(v) for v in space["list"]]
    kind = dig(param, "parameterType")
    if "min" in space and "max" in space:
        low, high, step = _number(space["min"]), _number(space["max"]), _number(space.get("step", 0))
        if kind == "int" and isinstance(step, int) and step > 0 and isinstance(low, int) and isinstance(high, int):
            return list(range(low, high + 1, step))
        return {"min": low, "max": high, **({"type": "int"} if kind == "int" else {})}
    findings.append(obj.finding(DROPPED, pointer, f"parameter '{dig(param, 'name')}' has no list or range"))
    return None


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
