"""Checks on a serving section's ports, Service shape and replica intent that the JSON Schema cannot say."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlgitops.report.findings import Finding, Position

Locate = Callable[[str, bool], tuple[str, Position]]
OWN_NAMES = ("http", "metrics")  # the container port names mlgitops gives the serving and metrics ports


def check(doc: dict[str, Any], locate: Locate) -> list[Finding]:
    serving = doc["spec"].get("serving") or {}
    found: list[Finding] = []

    def add(rule: str, pointer: str, message: str, hint: str) -> None:
        file, pos = locate(pointer, False)
        found.append(Finding(rule, message, file, pos, hint))

    shape = serving.get("service") or {}
    if shape.get("headless") and shape.get("type", "ClusterIP") != "ClusterIP":
        add("service-shape", "/spec/serving/service/headless", f"a headless Service has no cluster IP, so it cannot "
            f"be of type {shape['type']}", "drop headless, or use type: ClusterIP")
    single = serving.get("singleReplica")
    if single and (serving.get("autoscaling") or serving.get("replicas", 1) != 1):
        add("single-replica", "/spec/serving/singleReplica", "singleReplica says one pod, but "
            + ("autoscaling is on" if serving.get("autoscaling") else f"replicas is {serving['replicas']}"),
            "drop singleReplica, or run replicas: 1 without autoscaling")
    _extra_ports(serving, add)
    return found


def _extra_ports(serving: dict[str, Any], add: Callable[[str, str, str, str], None]) -> None:
    """serving.ports: each a name and a number (with its protocol) no other port of the pod has."""
    taken = _own_ports(serving)
    names: set[str] = set()
    for i, port in enumerate(serving.get("ports") or []):
        at = f"/spec/serving/ports/{i}"
        if port["name"] in OWN_NAMES or port["name"] in names:
            add("port-conflict", f"{at}/name", f"port name '{port['name']}' is already used",
                "give the port another name (http and metrics are the serving and metrics ports')")
        clash = taken.get((port["port"], port.get("protocol", "TCP")))
        if clash:
            add("port-conflict", f"{at}/port", f"port {port['port']} is already the {clash}",
                "remove it, or use another number")
        names.add(port["name"])
        taken[(port["port"], port.get("protocol", "TCP"))] = f"'{port['name']}' port"


def _own_ports(serving: dict[str, Any]) -> dict[tuple[int, str], str]:
    taken = {(serving["port"], "TCP"): "serving port (serving.port)"} if "port" in serving else {}
    metrics = (serving.get("metrics") or {}).get("port")
    if metrics is not None:
        taken.setdefault((metrics, "TCP"), "metrics port (serving.metrics.port)")
    return taken
