"""What each environment's namespace needs before a sync can succeed: the Secrets the models reference
(by name and key, never a value) and the operators whose custom resources they use. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from mlgitops.kube import workloads
from mlgitops.kube.annotations import REQUIRES

OPERATORS = {  # API group -> what serves it; the workload kinds' operators come from kube/workloads.py
    "monitoring.coreos.com": "Prometheus Operator (ServiceMonitor)",
    "gateway.networking.k8s.io": "a Gateway API implementation (HTTPRoute)",
}


def _walk(node, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("secretKeyRef") or node.get("secretRef")
        if isinstance(ref, dict) and isinstance(ref.get("name"), str):
            found.add(ref["name"])
        secret = node.get("secret")
        if isinstance(secret, dict) and isinstance(secret.get("secretName"), str):
            found.add(secret["secretName"])
        if isinstance(node.get("secretName"), str) and "hosts" in node:  # an Ingress TLS entry
            found.add(node["secretName"])
        for child in node.values():
            _walk(child, found)
    elif isinstance(node, list):
        for child in node:
            _walk(child, found)


def secrets(objects: Iterable[dict]) -> set[str]:
    found: set[str] = set()
    for obj in objects:
        _walk(obj.get("spec"), found)
    return found


def _operator(obj: dict) -> str:
    kind = workloads.entry(obj)
    if kind is not None and kind.operator and kind.group == str(obj.get("apiVersion", "")).rpartition("/")[0]:
        return kind.needs
    return OPERATORS.get(str(obj.get("apiVersion", "")).rpartition("/")[0], "")


def operators(objects: Iterable[dict]) -> set[str]:
    """The operators the objects need (their API groups), and what objects say they need (the DCGM exporter,
    Grafana's dashboard sidecar: annotation mlgitops.io/requires, `; `-separated)."""
    out = {need for obj in objects if (need := _operator(obj))}
    for obj in objects:
        needs = ((obj.get("metadata") or {}).get("annotations") or {}).get(REQUIRES)
        if isinstance(needs, str):
            out.update(n for n in needs.split("; ") if n)
    return out


def lines(by_namespace: dict[str, list[dict]]) -> list[str]:
    """One line per namespace that needs something, e.g. `ml-prod needs Secrets fraud-detector-feast, ...`."""
    return lines_from({ns: (secrets(objects), operators(objects)) for ns, objects in by_namespace.items()})


def lines_from(needs: dict[str, tuple[set[str], set[str]]]) -> list[str]:
    """The same lines from (secret names, operators) per namespace, as the check cache keeps them."""
    out = []
    for namespace, (names, ops) in sorted(needs.items()):
        parts = []
        if names:
            parts.append(f"Secrets {', '.join(sorted(names))}")
        if ops:
            parts.append("; ".join(sorted(ops)))
        if parts:
            out.append(f"{namespace} needs {' and '.join(parts)}")
    return out
