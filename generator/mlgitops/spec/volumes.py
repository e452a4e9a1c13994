"""Checks on `serving.volumes` and `training.volumes`: each name and mount path taken once in its pod."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlgitops.report.findings import Finding, Position
from mlgitops.spec import pods

Locate = Callable[[str, bool], tuple[str, Position]]
# the volumes mlgitops itself puts in the pods (render/pod.py, render/storage.py, render/training.py)
OWN_VOLUMES = ("tmp", "home", "dshm", "model-storage", "model-fetch", "data", "sweep")


def _taken_paths(spec: dict[str, Any], section: str) -> dict[str, str]:
    part = spec.get(section) or {}
    paths = {"/tmp": "the scratch volume", pods.HOME: "the writable HOME volume", "/dev/shm": "the shared-memory volume"}
    if section == "serving":
        fetch = (spec.get("model") or {}).get("fetch")
        for where, name in (((part.get("storage") or {}).get("mountPath"), "storage.mountPath"),
                            ((fetch or {}).get("mountPath"), "model.fetch.mountPath")):
            if where:
                paths[where.rstrip("/")] = name
    elif (part.get("data") or {}).get("mountPath"):
        paths[part["data"]["mountPath"].rstrip("/")] = "training.data"
    return paths


def check(doc: dict[str, Any], locate: Locate) -> list[Finding]:
    spec = doc["spec"]
    found: list[Finding] = []
    for section in ("serving", "training"):
        entries = (spec.get(section) or {}).get("volumes") or []
        paths = _taken_paths(spec, section) if entries else {}
        names: set[str] = set(OWN_VOLUMES)
        for i, entry in enumerate(entries):
            at = f"/spec/{section}/volumes/{i}"
            if entry["name"] in names:
                file, pos = locate(f"{at}/name", False)
                found.append(Finding("mount-conflict", f"volume name '{entry['name']}' is already taken", file, pos,
                                     "name it otherwise (" + ", ".join(OWN_VOLUMES) + " are mlgitops' own)"))
            path = entry["mountPath"].rstrip("/") or "/"
            if path in paths:
                file, pos = locate(f"{at}/mountPath", False)
                found.append(Finding("mount-conflict", f"{path} is already mounted ({paths[path]})", file, pos,
                                     "mount it elsewhere"))
            names.add(entry["name"])
            paths[path] = f"volume '{entry['name']}'"
    return found
