"""Checks on `serving.initContainers` and `serving.sidecars`: unique names, mounts of volumes the pod has, and a
Kubernetes version with native sidecars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlgitops.report.findings import Finding, Position
from mlgitops.spec.volumes import OWN_VOLUMES

Locate = Callable[[str, bool], tuple[str, Position]]
OWN_CONTAINERS = ("model-server", "storage-initializer")  # render/pod.py's and render/storage.py's
SIDECAR_MINOR = 29  # native sidecars (KEP-753, SidecarContainers) are beta and on by default from Kubernetes 1.29


def check(doc: dict[str, Any], locate: Locate, kubernetes_minor: int) -> list[Finding]:
    serving = doc["spec"].get("serving") or {}
    found: list[Finding] = []

    def add(rule: str, pointer: str, message: str, hint: str) -> None:
        file, pos = locate(pointer, False)
        found.append(Finding(rule, message, file, pos, hint))

    if serving.get("sidecars") and kubernetes_minor < SIDECAR_MINOR:
        add("sidecar-version", "/spec/serving/sidecars", f"native sidecars need Kubernetes 1.{SIDECAR_MINOR} or later; "
            f"mlgitops.yaml says 1.{kubernetes_minor}", "raise kubernetesVersion, or add the container by a raw patch")
    names = set(OWN_CONTAINERS)
    volumes = set(OWN_VOLUMES) | {v["name"] for v in serving.get("volumes", [])}
    for group in ("initContainers", "sidecars"):
        for i, container in enumerate(serving.get(group, [])):
            at = f"/spec/serving/{group}/{i}"
            if container["name"] in names:
                add("container-name", f"{at}/name", f"container name '{container['name']}' is already taken",
                    "name it otherwise (" + ", ".join(OWN_CONTAINERS) + " are mlgitops' own)")
            names.add(container["name"])
            for j, mount in enumerate(container.get("volumeMounts", [])):
                if mount["name"] not in volumes:
                    add("container-name", f"{at}/volumeMounts/{j}/name", f"no volume named '{mount['name']}' in "
                        "the pod", "add it to serving.volumes, or mount one of: " + ", ".join(sorted(volumes)))
    return found
