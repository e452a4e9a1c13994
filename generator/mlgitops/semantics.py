"""Checks a JSON Schema cannot express, on one effective spec (defaults filled)."""

from __future__ import annotations

from mlgitops.findings import Finding

RESERVED_ENV = ("MODEL_NAME", "MODEL_VERSION", "MODEL_URI")


def check(doc: dict, locate) -> list[Finding]:
    serving = doc["spec"]["serving"]
    found: list[Finding] = []

    def add(rule: str, pointer: str, message: str, hint: str = "", key: bool = False):
        file, pos = locate(pointer, key)
        found.append(Finding(rule, message, file, pos, hint))

    scaling = serving.get("autoscaling")
    if scaling and scaling["minReplicas"] > scaling["maxReplicas"]:
        add("autoscaling-bounds", "/spec/serving/autoscaling/minReplicas",
            f"minReplicas ({scaling['minReplicas']}) is greater than maxReplicas ({scaling['maxReplicas']})")
    names: dict[str, str] = {}
    for name in serving.get("env", {}):
        pointer = f"/spec/serving/env/{name}"
        if name in RESERVED_ENV:
            add("reserved-env", pointer, f"env '{name}' is set by mlgitops from the model section",
                "set spec.model.version / spec.model.uri instead", key=True)
        names[name] = pointer
    for i, secret in enumerate(serving.get("secrets", [])):
        pointer = f"/spec/serving/secrets/{i}/env"
        if secret["env"] in names or secret["env"] in RESERVED_ENV:
            add("duplicate-env", pointer, f"env '{secret['env']}' is set twice")
        names[secret["env"]] = pointer
    storage = serving.get("storage")
    if storage and storage["mountPath"].rstrip("/") == "/tmp":
        add("mount-conflict", "/spec/serving/storage/mountPath", "/tmp is reserved for the writable scratch volume",
            "mount the claim elsewhere, e.g. /models")
    return found
