"""Checks a JSON Schema cannot express, on one effective spec (defaults filled)."""

from __future__ import annotations

from mlgitops.findings import Finding

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
    storage = serving.get("storage")
    if storage and storage["mountPath"].rstrip("/") == "/tmp":
        add("mount-conflict", "/spec/serving/storage/mountPath", "/tmp is reserved for the writable scratch volume",
            "mount the claim elsewhere, e.g. /models")
    return found
