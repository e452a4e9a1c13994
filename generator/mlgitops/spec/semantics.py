"""Checks a JSON Schema cannot express, on one effective spec (defaults filled)."""

from __future__ import annotations

from mlgitops.report.findings import Finding
from mlgitops.spec import pods
from mlgitops.spec.quantities import quantity

RESERVED_ENV = ("MODEL_NAME", "MODEL_VERSION", "MODEL_URI")


def _culprit(locate, layer_of, first: tuple[str, bool], second: tuple[str, bool]):
    """Of two values that conflict, (blamed place, other place): the one a more specific layer (an
    environment's override) wrote, else the one written later in the file. Places are (pointer, key?)."""
    a, b = locate(*first), locate(*second)
    rank_a = (layer_of(first[0]), a[1].line, a[1].col)
    rank_b = (layer_of(second[0]), b[1].line, b[1].col)
    return (a, b) if rank_a >= rank_b else (b, a)


def check(doc: dict, locate, layer_of=lambda pointer: 0) -> list[Finding]:
    serving = doc["spec"]["serving"]
    found: list[Finding] = []

    def add(rule: str, pointer: str, message: str, hint: str = "", key: bool = False):
        file, pos = locate(pointer, key)
        found.append(Finding(rule, message, file, pos, hint))

    scaling = serving.get("autoscaling")
    if scaling and scaling["minReplicas"] > scaling["maxReplicas"]:
        low, high = scaling["minReplicas"], scaling["maxReplicas"]
        base = "/spec/serving/autoscaling/"
        low_at, high_at = base + "minReplicas", base + "maxReplicas"
        if layer_of(high_at) > layer_of(low_at):
            _, other = locate(low_at, False)
            file, pos = locate(high_at, False)
            message = f"maxReplicas ({high}) is less than minReplicas ({low}, line {other.line})"
        else:
            file, pos = locate(low_at, False)
            message = f"minReplicas ({low}) is greater than maxReplicas ({high})"
        found.append(Finding("autoscaling-bounds", message, file, pos))
    names: dict[str, str] = {}
    for name in serving.get("env", {}):
        pointer = f"/spec/serving/env/{name}"
        if name in RESERVED_ENV:
            add("reserved-env", pointer, f"env '{name}' is set by mlgitops from the model section",
                "set spec.model.version / spec.model.uri instead", key=True)
        names[name] = pointer
    for i, secret in enumerate(serving.get("secrets", [])):
        pointer = f"/spec/serving/secrets/{i}/env"
        name = secret["env"]
        if name in RESERVED_ENV:
            add("reserved-env", pointer, f"env '{name}' is set by mlgitops from the model section",
                "set spec.model.version / spec.model.uri instead")
        elif name in names:
            earlier = (names[name], names[name].startswith("/spec/serving/env/"))
            (file, pos), (_, other) = _culprit(locate, layer_of, (pointer, False), earlier)
            found.append(Finding("duplicate-env", f"env '{name}' is set twice (also at line {other.line})", file, pos,
                                 "set it either in env or in secrets, not both"))
        names[name] = pointer
    resources = serving["resources"]
    for name in ("cpu", "memory", "ephemeralStorage"):
        limit = resources.get("limits", {}).get(name)
        request = resources.get(name)
        low, high = quantity(limit), quantity(request)
        if limit is not None and request is not None and low is not None and high is not None and low < high:
            add("limit-below-request", f"/spec/serving/resources/limits/{name}",
                f"the {name} limit ({limit}) is below the request ({request})",
                "raise the limit, or lower the request: Kubernetes refuses a pod whose limit is below its request")
    rollout = pods.rollout(serving).get("rollingUpdate", {})
    if rollout and rollout["maxSurge"] in (0, "0%") and rollout["maxUnavailable"] in (0, "0%"):
        add("rollout-stuck", "/spec/serving/rollout", "maxSurge and maxUnavailable are both 0: a rollout could "
            "never replace a pod", "allow maxSurge: 1 (or maxUnavailable: 1)", key=True)
    storage = serving.get("storage")
    if storage and storage["mountPath"].rstrip("/") == "/tmp":
        add("mount-conflict", "/spec/serving/storage/mountPath", "/tmp is reserved for the writable scratch volume",
            "mount the claim elsewhere, e.g. /models")
    found += pod_checks(doc, locate)
    return found


def pod_checks(doc: dict, locate) -> list[Finding]:
    """Rollout and shutdown settings that contradict each other."""
    serving = doc["spec"]["serving"]
    found: list[Finding] = []

    def add(rule: str, pointer: str, message: str, hint: str = "", key: bool = False):
        file, pos = locate(pointer, key)
        found.append(Finding(rule, message, file, pos, hint))

    rollout = serving["rollout"]
    if rollout.get("type") == "Recreate":
        for name in ("maxSurge", "maxUnavailable"):
            if name in rollout:
                add("rollout-conflict", f"/spec/serving/rollout/{name}", f"{name} applies to rolling updates, not to "
                    "type: Recreate", f"remove {name}, or use type: RollingUpdate", key=True)
    storage = serving.get("storage")
    mount = storage["mountPath"].rstrip("/") if storage else None
    if mount in pods.RESERVED_MOUNTS[1:]:
        add("mount-conflict", "/spec/serving/storage/mountPath", f"{mount} is reserved for mlgitops' "
            f"{'writable HOME' if mount == pods.HOME else 'shared-memory'} volume", "mount the claim elsewhere, "
            "e.g. /models")
    shutdown = serving["shutdown"]
    grace = shutdown.get("gracePeriodSeconds")
    if grace is not None and shutdown.get("preStop") != "none" and grace <= shutdown["preStopSleepSeconds"]:
        add("shutdown-grace", "/spec/serving/shutdown/gracePeriodSeconds",
            f"gracePeriodSeconds ({grace}) leaves no time after the {shutdown['preStopSleepSeconds']} s preStop pause: "
            "the server is killed before it can drain", "give it preStopSleepSeconds + the seconds the server needs "
            "to finish its requests")
    return found


def version_checks(doc: dict, locate, kubernetes_minor: int, kubernetes_version: str) -> list[Finding]:
    """Spec settings the cluster's Kubernetes version (mlgitops.yaml) does not support."""
    found = []
    if doc["spec"]["serving"]["shutdown"].get("preStop") == "sleep" and kubernetes_minor < pods.SLEEP_ACTION_MINOR:
        file, pos = locate("/spec/serving/shutdown/preStop", False)
        found.append(Finding("prestop-sleep", f"the preStop sleep action needs Kubernetes 1.{pods.SLEEP_ACTION_MINOR} "
                             f"or later; mlgitops.yaml says {kubernetes_version}",
                             file, pos, "use preStop: exec (the image needs a sleep binary), or raise kubernetesVersion"))
    return found
