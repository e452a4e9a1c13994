"""A spec section's own `volumes` (serving or training): existing claims, configMap and secret files, CSI volumes
(e.g. GKE's Cloud Storage FUSE), generic ephemeral volumes. Every source is one the restricted Pod Security
Standard allows (configMap, csi, ephemeral, persistentVolumeClaim, secret: kubernetes.io/docs/concepts/security/
pod-security-standards, "Volume Types")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mlgitops.kube.quantity import text as quantity

Volume = dict[str, Any]
# the sources a volume may name, each with its Kubernetes volume source; read-only by default: files the pod reads
SOURCES: dict[str, tuple[Callable[[Any], Volume], bool]] = {
    "claim": (lambda name: {"persistentVolumeClaim": {"claimName": name}}, False),
    "configMap": (lambda name: {"configMap": {"name": name}}, True),
    "secret": (lambda name: {"secret": {"secretName": name}}, True),
    "csi": (lambda csi: {"csi": {k: dict(v) if isinstance(v, dict) else v for k, v in sorted(csi.items())}}, False),
    "ephemeral": (lambda claim: {"ephemeral": {"volumeClaimTemplate": {"spec": _claim_spec(claim)}}}, False),
}


def _claim_spec(claim: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": [claim["accessMode"]],
                            "resources": {"requests": {"storage": quantity(claim["size"])}}}
    if "storageClassName" in claim:
        spec["storageClassName"] = claim["storageClassName"]
    return spec


def source_of(entry: dict[str, Any]) -> str:
    """Which of SOURCES a `volumes` entry names (the schema allows exactly one)."""
    return next(key for key in SOURCES if key in entry)


def spec_volumes(section: Mapping[str, Any]) -> tuple[list[Volume], list[Volume]]:
    """(pod volumes, container mounts) of a section's `volumes`, in the spec's order."""
    volumes: list[Volume] = []
    mounts: list[Volume] = []
    for entry in section.get("volumes", []):
        kind = source_of(entry)
        make, read_only = SOURCES[kind]
        volumes.append({"name": entry["name"], **make(entry[kind])})
        mount: Volume = {"mountPath": entry["mountPath"], "name": entry["name"]}
        if entry.get("readOnly", read_only):
            mount["readOnly"] = True
        if "subPath" in entry:
            mount["subPath"] = entry["subPath"]
        mounts.append(mount)
    return volumes, mounts
