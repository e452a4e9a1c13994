"""`spec.training`: which environments train, how many trials a sweep makes, and what a run may cost.

Checks a JSON Schema cannot express, on one effective spec (defaults filled): the trial cap, the
GPU-hour budget of mlgitops.yaml, and combinations mlgitops cannot build (a sweep over several
workers, a scheduled sweep). Pure; the render stage builds the objects from the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from mlgitops.kube import trainer_runtimes
from mlgitops.kube.quantity import value as quantity
from mlgitops.report.findings import Finding, Position, Severity
from mlgitops.report.secrets import arg_problems, env_problem, is_secret_name, secret_kind
from mlgitops.spec import pods

RESERVED_ENV = pods.reserved_env("training")
SWEEP = "/spec/training/sweep"


def training_environments(spec: dict[str, Any], env_names: list[str]) -> list[str]:
    """The environments whose overlays get training objects: the spec's list, else the first one."""
    training = spec.get("training")
    if not training:
        return []
    listed = training.get("environments")
    return [e for e in env_names if e in listed] if listed else env_names[:1]


def trains(effective_spec: dict[str, Any], base_spec: dict[str, Any], env_names: list[str], env: str) -> bool:
    """Whether `env` gets training objects: listed (in the spec itself) and not removed by its override."""
    return bool(effective_spec.get("training")) and env in training_environments(base_spec, env_names)


def grid_size(parameters: dict[str, Any]) -> int:
    return math.prod(len(v) for v in parameters.values() if isinstance(v, list))


def trial_count(sweep: dict[str, Any]) -> int:
    """How many trials a sweep makes: the grid's product, or the random sweep's `trials`."""
    if sweep.get("strategy", "grid") == "grid":
        return grid_size(sweep["parameters"])
    return cast("int", sweep.get("trials", 0))


@dataclass(frozen=True)
class Cost:
    """The GPU-hours a training run can use at most: pods at once x GPUs per pod x its wall-clock deadline.

    An Indexed Job's deadline covers every round of `parallelism` trials, and a pod may use all of it, so a
    sweep whose trials do not fill the last round is bounded by (parallelism x rounds), not trials."""

    what: str  # "sweep", "job", "scheduled run", "distributed job"
    runs: int  # trials (or pods)
    gpus: int  # per pod
    seconds: int  # per run (a sweep: per trial)
    at_once: int = 0  # pods at once; 0: all runs at once
    rounds: int = 1  # deadlines of `seconds` one after the other

    @property
    def gpu_hours(self) -> float:
        return (self.at_once or self.runs) * self.rounds * self.gpus * self.seconds / 3600

    def describe(self) -> str:
        gpus = f"{self.gpus} GPU{'s' * (self.gpus != 1)}"
        if self.at_once and self.at_once * self.rounds != self.runs:
            return (f"{_num(self.gpu_hours)} GPU-hours ({self.runs} trials, {self.at_once} at a time: "
                    f"{self.at_once} pods x {gpus} x {self.rounds} rounds of {_hours(self.seconds)})")
        unit = ("trial" if self.what == "sweep" else "pod") + "s" * (self.runs != 1)
        return f"{_num(self.gpu_hours)} GPU-hours ({self.runs} {unit} x {gpus} x {_hours(self.seconds)})"


def _num(value: float) -> str:
    return f"{value:g}" if value < 1e6 else f"{value:.0f}"


def _hours(seconds: int) -> str:
    return f"{_num(seconds / 3600)}h" if seconds % 36 == 0 else f"{seconds}s"


def rounds(sweep: dict[str, Any], trials: int) -> int:
    """How many times over an Indexed Job runs `parallelism` trials."""
    return cast("int", -(-trials // max(1, min(sweep.get("parallelism", 1), trials))))


def costs(training: dict[str, Any], katib: bool = False) -> list[Cost]:
    """What each run of a training section can cost: the sweep's, and the scheduled or one-off run's.

    A sweep with a schedule is both: the CronJob retrains on schedule, the sweep runs once. A Katib sweep
    runs each trial as a Job of its own deadline."""
    gpus = training["resources"]["gpu"]
    seconds = training["activeDeadlineSeconds"]
    sweep = training.get("sweep")
    out = []
    if sweep:
        trials = trial_count(sweep)
        if katib:
            out.append(Cost("sweep", trials, gpus, seconds))
        else:
            at_once = max(1, min(sweep.get("parallelism", 1), trials))
            out.append(Cost("sweep", trials, gpus, seconds, at_once, rounds(sweep, trials)))
    if training["workers"] > 1:
        out.append(Cost("distributed job", training["workers"], gpus, seconds))
    elif training.get("schedule"):
        out.append(Cost("scheduled run", 1, gpus, seconds))
    elif not sweep:
        out.append(Cost("job", 1, gpus, seconds))
    return out


def check(doc: dict[str, Any], locate: Any, env: str, env_names: list[str], budget: float | None, katib: bool,
          budget_at: tuple[str, Position] | None = None) -> list[Finding]:
    """Findings on the training section of one effective spec (env "" is the base)."""
    training = doc["spec"].get("training")
    if not training:
        return []
    found: list[Finding] = []

    def add(pointer: str, message: str, hint: str = "", key: bool = False, rule: str = "training") -> None:
        file, pos = locate(pointer, key)
        found.append(Finding(rule, message, file, pos, hint))

    if not env:
        _environments(training, env_names, add)
    _env_and_args(training, add)
    _resources_and_mounts(training, add)
    _shape(doc["metadata"]["name"], training, katib, add)
    sweep = training.get("sweep")
    if sweep:
        _sweep(training, sweep, add, katib)
    if budget is not None and not found:
        found += _over_budget(training, locate, env, budget, katib, budget_at)
    return found


def _environments(training: dict[str, Any], env_names: list[str], add: Callable[..., None]) -> None:
    for i, name in enumerate(training.get("environments", [])):
        if name not in env_names:
            add(f"/spec/training/environments/{i}", f"unknown environment '{name}'",
                f"environments in mlgitops.yaml: {', '.join(env_names)}", rule="unknown-environment")


def _env_and_args(training: dict[str, Any], add: Callable[..., None]) -> None:
    """Reserved and secret-looking env, and credentials in command or args."""
    for name, value in training.get("env", {}).items():
        if name in RESERVED_ENV:
            add(f"/spec/training/env/{name}", f"env '{name}' is set by mlgitops", "set spec.model or "
                "training.output instead", key=True, rule="reserved-env")
        elif isinstance(value, str) and (problem := env_problem(name, value)):
            rule, message, hint, key = problem
            add(f"/spec/training/env/{name}", message, hint, key=key, rule=rule)
    for field in ("command", "args"):
        for i, rule, message, hint in arg_problems(training.get(field)):
            add(f"/spec/training/{field}/{i}", message, hint, rule=rule)
    for i, ref in enumerate(training.get("secrets", [])):
        if ref["env"] in RESERVED_ENV:
            add(f"/spec/training/secrets/{i}/env", f"env '{ref['env']}' is set by mlgitops", rule="reserved-env")


def _resources_and_mounts(training: dict[str, Any], add: Callable[..., None]) -> None:
    resources = training["resources"]
    for name in ("cpu", "memory", "ephemeralStorage"):
        limit, request = resources.get("limits", {}).get(name), resources.get(name)
        low, high = quantity(limit), quantity(request)
        if low is not None and high is not None and low < high:
            add(f"/spec/training/resources/limits/{name}", f"the {name} limit ({limit}) is below the request "
                f"({request})", "raise the limit, or lower the request", rule="limit-below-request")
    mount = training.get("data", {}).get("mountPath", "").rstrip("/")
    if mount in pods.RESERVED_MOUNTS:
        add("/spec/training/data/mountPath", f"{mount} is reserved for the writable scratch and shared-memory "
            "volumes", "mount the data elsewhere, e.g. /data", rule="mount-conflict")


def _shape(name: str, training: dict[str, Any], katib: bool, add: Callable[..., None]) -> None:
    """Combinations mlgitops cannot build."""
    workers = training["workers"]
    kubeflow = "a TrainJob" if workers > 1 else "a Katib Experiment" if katib and training.get("sweep") else ""
    if kubeflow and not name[0].isalpha():
        add("/metadata/name", f"{kubeflow} needs a name starting with a letter; '{name}' starts with '{name[0]}'",
            "rename the model (the file too)")
    if training.get("timeZone") and not training.get("schedule"):
        add("/spec/training/timeZone", "timeZone is the time zone of a schedule; this training has none",
            "add schedule, or remove timeZone", key=True)
    if workers > 1 and training.get("schedule"):
        add("/spec/training/schedule", "a schedule makes a CronJob of one pod; it cannot run several workers",
            "remove schedule, or set workers: 1")


def _over_budget(training: dict[str, Any], locate: Any, env: str, budget: float, katib: bool,
                 budget_at: tuple[str, Position] | None) -> list[Finding]:
    """A finding for each run or sweep of the environment that may use more GPU-hours than its budget."""
    out = []
    for spent in costs(training, katib):
        if spent.gpu_hours > budget:
            pointer = "/spec/training/activeDeadlineSeconds"
            if spent.what == "sweep":
                pointer = f"{SWEEP}/trials" if "trials" in training["sweep"] else SWEEP
            where = f" ({budget_at[0]}:{budget_at[1].line})" if budget_at else ""
            file, pos = locate(pointer, pointer == SWEEP)
            out.append(Finding.in_environments(
                [env], "gpu-budget", f"the {spent.what} may use {spent.describe()}, over this environment's budget "
                f"of {_num(budget)} GPU-hours{where}", file, pos, "fewer trials or GPUs, a shorter "
                "activeDeadlineSeconds, or a larger gpuHourBudget"))
    return out


def _sweep(training: dict[str, Any], sweep: dict[str, Any], add: Any, katib: bool) -> int:
    """Report the sweep's problems through add(); how many there were."""
    errors = 0

    def err(*args: Any, **kwargs: Any) -> None:
        nonlocal errors
        errors += 1
        add(*args, **kwargs)

    strategy = sweep.get("strategy", "grid")
    if training["workers"] > 1:
        err("/spec/training/workers", "a sweep runs each trial as one pod; it cannot also run several workers",
            "remove workers, or the sweep")
    if not katib and not training.get("command"):
        err(SWEEP, "a sweep needs training.command: each trial runs it with its own --name=value arguments",
            "set command, e.g. [python, train.py]", key=True)
    if katib and not sweep.get("objective"):
        err(SWEEP, "a Katib sweep needs an objective: the metric the trials report",
            "add objective: {metric: val_accuracy, goal: maximize}", key=True)
    secret = _sweep_secrets(sweep["parameters"], err)
    _ranges(sweep, secret, strategy, err)
    if strategy == "grid" and not errors:
        _grid_trials(sweep, err)
    elif strategy == "random":
        _random_trials(sweep, err)
    return errors


def _ranges(sweep: dict[str, Any], secret: Any, strategy: str, err: Any) -> None:
    """Each range parameter: allowed by the strategy, min below max, log-uniform above 0."""
    for name, values in sweep["parameters"].items():
        if name in secret or not isinstance(values, dict):
            continue
        if strategy == "grid":
            err(f"{SWEEP}/parameters/{name}", f"parameter '{name}' is a range; a grid needs a list of values",
                "list the values, or use strategy: random")
        elif values["min"] >= values["max"]:
            err(f"{SWEEP}/parameters/{name}/max", f"parameter '{name}': max ({values['max']}) is not above "
                f"min ({values['min']})")
        elif values.get("distribution") == "log-uniform" and values["min"] <= 0:
            err(f"{SWEEP}/parameters/{name}/min", f"parameter '{name}': a log-uniform range needs min > 0")


def _grid_trials(sweep: dict[str, Any], err: Any) -> None:
    """A grid makes every combination: no trials, and no more than maxTrials."""
    cap = sweep["maxTrials"]
    lists = [len(v) for v in sweep["parameters"].values()]
    size = math.prod(lists)
    if "trials" in sweep:
        err(f"{SWEEP}/trials", "trials is for random sweeps: a grid makes every combination",
            "remove trials, or use strategy: random")
    elif size > cap:
        shape = " x ".join(str(n) for n in lists)
        err(f"{SWEEP}/parameters", f"the grid makes {size} trials ({shape}), over maxTrials ({cap})",
            "remove values, or raise maxTrials", key=True)


def _random_trials(sweep: dict[str, Any], err: Any) -> None:
    """A random sweep draws trials: some, and no more than maxTrials."""
    cap = sweep["maxTrials"]
    if "trials" not in sweep:
        err(SWEEP, "a random sweep needs trials: how many to draw", "add trials: 20", key=True)
    elif sweep["trials"] > cap:
        err(f"{SWEEP}/trials", f"the sweep makes {sweep['trials']} trials, over maxTrials ({cap})",
            "lower trials, or raise maxTrials")


def override_findings(path: str, doc: Any) -> list[Finding]:
    """`environments` inside an environment's training override: which environments train is the spec's
    own list, so an override saying it would be ignored."""
    found = []
    for env, override in (doc.data["spec"].get("environments") or {}).items():
        training = (override or {}).get("training") or {}
        if "environments" in training:
            pointer = f"/spec/environments/{env}/training/environments"
            found.append(Finding("training", "which environments train is set in spec.training.environments, "
                                 "not in an environment's override", path, doc.position(pointer, True),
                                 "move it to spec.training.environments (or set training: null here to not train)"))
    return found


def config_findings(config_path: str, data: Mapping[str, Any], position: Any) -> list[Finding]:
    """mlgitops.yaml's training findings: the deprecated PyTorchJob (a warning), and environment names that
    would make a training sync object's name (`<model>-<env>-training`) another model's serving one's."""
    found = []
    if data.get("training", {}).get("distributed") == "pytorchjob":
        found.append(Finding("deprecated", "training.distributed: pytorchjob makes Kubeflow v1 PyTorchJobs, which "
                             "Kubeflow Trainer v2's TrainJob replaces", config_path, position("/training/distributed"),
                             "install Kubeflow Trainer v2 and use distributed: trainjob", Severity.WARNING))
    settings = data.get("training", {})
    if settings.get("distributed", "trainjob") == "trainjob" and trainer_runtimes.runtime_jobs(settings) is None:
        runtime = settings.get("runtime", "")
        found.append(Finding("training", f"runtime '{runtime}' is not one Kubeflow Trainer ships, and its jobs are "
                             "not named: mlgitops cannot harden and size its pods", config_path,
                             position("/training/runtime"), "name its jobs: training.runtimeJobs: [{name: node}, "
                             "{name: launcher, containers: [node]}], or use a shipped runtime such as "
                             "torch-distributed"))
    for i, env in enumerate(data["environments"]):
        if env["name"] == "training" or env["name"].endswith("-training"):
            found.append(Finding("schema", f"environment name '{env['name']}' is reserved: the sync objects of "
                                 "training are named <model>-<env>-training", config_path,
                                 position(f"/environments/{i}/name"), "choose another name"))
    return found


def _sweep_secrets(parameters: dict[str, Any], err: Any) -> set[str]:
    """The sweep parameters that list a secret (the values are written into a ConfigMap and every diff): by
    their name (secret-in-env) or by a value that holds a credential (secret-in-value)."""
    found = set()
    for name, values in parameters.items():
        kinds = [(i, secret_kind(v)) for i, v in enumerate(values if isinstance(values, list) else [])]
        first = next(((i, kind) for i, kind in kinds if kind), None)
        if is_secret_name(name) and values:
            err(f"{SWEEP}/parameters/{name}", f"sweep parameter '{name}' lists literal values, and its name says "
                "it is a secret", "sweep over settings only; give a secret to every trial through "
                "training.secrets: [{env: <NAME>, secret: <Secret name>, key: <key>}]", key=True,
                rule="secret-in-env")
        elif first:
            err(f"{SWEEP}/parameters/{name}/{first[0]}", f"sweep parameter '{name}' lists what looks like a "
                f"credential ({first[1]})", "sweep over settings only; give a secret to every trial through "
                "training.secrets", rule="secret-in-value")
        else:
            continue
        found.add(name)
    return found
