"""Checks a JSON Schema cannot express, on one effective spec (defaults filled)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlgitops.kube.quantity import value as quantity
from mlgitops.kube.weights import names_version
from mlgitops.report.findings import Finding
from mlgitops.report.secrets import VALUE_HINT, arg_problems, env_problem, secret_kind
from mlgitops.spec import pods

RESERVED_ENV = pods.reserved_env("serving")


def _culprit(locate: Any, layer_of: Any, first: tuple[str, bool], second: tuple[str, bool]) -> Any:
    """Of two values that conflict, (blamed place, other place): the one a more specific layer (an
    environment's override) wrote, else the one written later in the file. Places are (pointer, key?)."""
    a, b = locate(*first), locate(*second)
    rank_a = (layer_of(first[0]), a[1].line, a[1].col)
    rank_b = (layer_of(second[0]), b[1].line, b[1].col)
    return (a, b) if rank_a >= rank_b else (b, a)


def check(doc: dict[str, Any], locate: Any, layer_of: Any = lambda pointer: 0) -> list[Finding]:
    serving = doc["spec"]["serving"]
    found: list[Finding] = []

    def add(rule: str, pointer: str, message: str, hint: str = "", key: bool = False) -> None:
        file, pos = locate(pointer, key)
        found.append(Finding(rule, message, file, pos, hint))

    found += _bounds(serving, locate, layer_of)
    for field in ("command", "args"):
        for i, rule, message, hint in arg_problems(serving.get(field)):
            add(rule, f"/spec/serving/{field}/{i}", message, hint)
    _env(serving, locate, layer_of, add, found)
    _limits(serving, add)
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


def _bounds(serving: dict[str, Any], locate: Any, layer_of: Any) -> list[Finding]:
    """minReplicas above maxReplicas, at the one set in the later layer."""
    found: list[Finding] = []
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
    return found


def _env(serving: dict[str, Any], locate: Any, layer_of: Any, add: Any, found: list[Finding]) -> None:
    """Reserved, secret and twice-set env names (env and secrets)."""
    names: dict[str, str] = {}
    for name, value in serving.get("env", {}).items():
        pointer = f"/spec/serving/env/{name}"
        if name in RESERVED_ENV:
            add("reserved-env", pointer, f"env '{name}' is set by mlgitops from the model section",
                "set spec.model.version / spec.model.uri instead", key=True)
        elif problem := env_problem(name, value):
            rule, message, hint, key = problem
            add(rule, pointer, message, hint, key=key)
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


def _limits(serving: dict[str, Any], add: Any) -> None:
    """A limit below its request: Kubernetes refuses the pod."""
    resources = serving["resources"]
    for name in ("cpu", "memory", "ephemeralStorage"):
        limit = resources.get("limits", {}).get(name)
        request = resources.get(name)
        low, high = quantity(limit), quantity(request)
        if limit is not None and request is not None and low is not None and high is not None and low < high:
            add("limit-below-request", f"/spec/serving/resources/limits/{name}",
                f"the {name} limit ({limit}) is below the request ({request})",
                "raise the limit, or lower the request: Kubernetes refuses a pod whose limit is below its request")


def pod_checks(doc: dict[str, Any], locate: Any) -> list[Finding]:
    """Rollout and shutdown settings that contradict each other."""
    serving = doc["spec"]["serving"]
    found: list[Finding] = []

    def add(rule: str, pointer: str, message: str, hint: str = "", key: bool = False) -> None:
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


def version_checks(doc: dict[str, Any], locate: Any, kubernetes_minor: int, kubernetes_version: str) -> list[Finding]:
    """Spec settings the cluster's Kubernetes version (mlgitops.yaml) does not support."""
    found = []
    if doc["spec"]["serving"]["shutdown"].get("preStop") == "sleep" and kubernetes_minor < pods.SLEEP_ACTION_MINOR:
        file, pos = locate("/spec/serving/shutdown/preStop", False)
        found.append(Finding("prestop-sleep", f"the preStop sleep action needs Kubernetes 1.{pods.SLEEP_ACTION_MINOR} "
                             f"or later; mlgitops.yaml says {kubernetes_version}",
                             file, pos, "use preStop: exec (the image needs a sleep binary), or raise kubernetesVersion"))
    return found


def check_patches(env_pointer: str, patches: list[Any], position: Any) -> list[Finding]:
    """Raw patches of one environment (at env_pointer) that would silently do nothing: a namespace,
    which the overlay's namespace transformer overrides. position(pointer, key) -> (file, Position)."""
    found = []
    hint = "the overlay puts every object in the environment's namespace (mlgitops.yaml); drop it from the patch"
    for i, patch in enumerate(patches):
        at = f"{env_pointer}/patches/{i}"
        places = []
        metadata = (patch.get("merge") or {}).get("metadata")
        if isinstance(metadata, dict) and "namespace" in metadata:
            places.append(position(f"{at}/merge/metadata/namespace", True))
        for j, op in enumerate(patch.get("jsonPatch") or []):
            value, target = op.get("value"), op["path"].rstrip("/")
            if target == "/metadata/namespace" or (target == "/metadata" and isinstance(value, dict) and "namespace" in value):
                places.append(position(f"{at}/jsonPatch/{j}/path", False))
        for file, pos in places:
            found.append(Finding("patch-namespace", "a patch cannot change metadata.namespace", file, pos, hint))
        body = patch["jsonPatch"] if "jsonPatch" in patch else patch.get("merge")
        kind = "jsonPatch" if "jsonPatch" in patch else "merge"
        for pointer, rule, message, hint in _secret_literals(body, f"{at}/{kind}"):
            file, pos = position(pointer, False)
            found.append(Finding(rule, message, file, pos, hint))
    return found


def _secret_literals(node: Any, pointer: str) -> Iterator[tuple[str, str, str, str]]:
    """(pointer, rule, message, hint) of every literal secret in a patch body: `{name: <secret-named>, value: ...}`
    (secret-in-env), and any string that holds a credential (secret-in-value). The value is never repeated."""
    if isinstance(node, str) and (kind := secret_kind(node)):
        yield pointer, "secret-in-value", f"the patch writes what looks like a credential ({kind})", VALUE_HINT
    if isinstance(node, dict):
        problem = env_problem(node.get("name"), node.get("value")) if isinstance(node.get("name"), str) else None
        if problem:
            yield f"{pointer}/value", problem[0], problem[1], problem[2]
        for key, child in node.items():
            if not (problem and key == "value"):
                yield from _secret_literals(child, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _secret_literals(child, f"{pointer}/{i}")


def _source_secrets(model: dict[str, Any], add: Any) -> None:
    """A credential in model.uri (it becomes MODEL_URI) or in model.fetch.env is written into Git and every diff."""
    if kind := secret_kind(model.get("uri")):
        add("secret-in-value", "/spec/model/uri", f"model.uri holds what looks like a credential ({kind})", VALUE_HINT)
    fetch = model.get("fetch")
    env = fetch.get("env") if isinstance(fetch, dict) else None
    for name, value in (env if isinstance(env, dict) else {}).items():
        if problem := env_problem(name, value):
            rule, message, hint, key = problem
            add(rule, f"/spec/model/fetch/env/{name}", message, hint, key)


def model_source(doc: dict[str, Any], base_version: str | None, locate: Any, layer_of: Any, initializer: dict[str, Any] | None) -> list[Finding]:
    """Checks on where the weights come from: the uri against the version, and `model.fetch`."""
    model, serving = doc["spec"]["model"], doc["spec"].get("serving") or {}
    found: list[Finding] = []

    def add(rule: str, pointer: str, message: str, hint: str = "", key: bool = False) -> None:
        file, pos = locate(pointer, key)
        found.append(Finding(rule, message, file, pos, hint))

    _source_secrets(model, add)
    uri, version = model.get("uri"), model["version"]
    if (uri and base_version and version != base_version and "{version}" not in uri
            and layer_of("/spec/model/version") > layer_of("/spec/model/uri") and names_version(uri, base_version)):
        add("model-uri-version", "/spec/model/version",
            f"model.version is {version} here, but the inherited uri '{uri}' names version {base_version}: "
            f"the pods would load the {base_version} weights under {version} labels",
            f"write {{version}} in spec.model.uri ('{uri.replace(base_version, '{version}')}'), or override uri here")
    fetch = model.get("fetch")
    if fetch is None:
        return found
    if not uri:
        add("model-fetch", "/spec/model/fetch", "model.fetch needs model.uri: the weights are fetched from it",
            "set spec.model.uri, e.g. s3://models/<name>/{version}/", key=True)
    elif "://" not in uri:
        add("model-fetch", "/spec/model/uri", f"model.fetch needs a URL to fetch from, not the path '{uri}'",
            "use s3://, gs://, hf://, https:// or pvc:// (or drop fetch and mount a volume)")
    if initializer is None:
        add("model-fetch", "/spec/model/fetch", "model.fetch needs an initializer image: mlgitops.yaml has no "
            "storageInitializer", "set storageInitializer.image in mlgitops.yaml, e.g. kserve/storage-initializer:v0.15.0",
            key=True)
    _fetch_conflicts(fetch, serving, add)
    return found


def _fetch_conflicts(fetch: dict[str, Any], serving: dict[str, Any], add: Any) -> None:
    """What the fetched weights' folder and env var collide with."""
    path = fetch["mountPath"].rstrip("/") or "/"
    storage = serving.get("storage")
    if path == "/tmp" or (storage and storage["mountPath"].rstrip("/") == path):
        add("mount-conflict", "/spec/model/fetch/mountPath", f"{path} is already mounted "
            f"({'the scratch volume' if path == '/tmp' else 'storage.mountPath'})", "fetch into another folder, e.g. /models")
    if pods.FETCH_ENV in serving.get("env", {}):
        add("reserved-env", f"/spec/serving/env/{pods.FETCH_ENV}", f"env '{pods.FETCH_ENV}' is set by mlgitops when "
            "model.fetch is on", "drop it: it is the fetch mountPath", key=True)
