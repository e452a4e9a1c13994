"""What each environment's namespace needs before a sync can succeed: the Secrets the models reference
(by name and key, never a value), the operators whose custom resources they use, and what those need in
the cluster that mlgitops does not create: a TrainJob's ClusterTrainingRuntime, data claims, Katib's
settings for restricted pods, the custom-metrics adapter of a requests-per-second autoscaler. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from mlgitops.kube import trainer_runtimes, workloads
from mlgitops.kube.annotations import REQUIRES

OPERATORS = {  # API group -> what serves it; the workload kinds' operators come from kube/workloads.py
    "monitoring.coreos.com": "Prometheus Operator (ServiceMonitor)",
    "gateway.networking.k8s.io": "a Gateway API implementation (HTTPRoute)",
}


def _named_here(node: dict, found: set[str]) -> None:
    """The Secrets one mapping names: an env/envFrom reference, a secret volume, an Ingress TLS entry."""
    ref = node.get("secretKeyRef") or node.get("secretRef")
    if isinstance(ref, dict) and isinstance(ref.get("name"), str):
        found.add(ref["name"])
    secret = node.get("secret")
    if isinstance(secret, dict) and isinstance(secret.get("secretName"), str):
        found.add(secret["secretName"])
    if isinstance(node.get("secretName"), str) and "hosts" in node:  # an Ingress TLS entry
        found.add(node["secretName"])


_NAMING = frozenset({"secretKeyRef", "secretRef", "secret", "secretName"})  # the keys _named_here reads


def _walk(node, found: set[str]) -> None:
    stack = [node]  # a stack of the mappings and lists still to look into (no call per scalar)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if not _NAMING.isdisjoint(node):  # most mappings name no Secret: no call for them
                _named_here(node, found)
            stack += [child for child in node.values() if isinstance(child, dict | list)]
        elif isinstance(node, list):
            stack += [child for child in node if isinstance(child, dict | list)]


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
    objects = list(objects)
    out = {need for obj in objects if (need := _operator(obj))} | cluster_needs(objects)
    for obj in objects:
        needs = ((obj.get("metadata") or {}).get("annotations") or {}).get(REQUIRES)
        if isinstance(needs, str):
            out.update(n for n in needs.split("; ") if n)
    return out


# Katib's metrics-collector sidecar copies the trial container's securityContext only with this setting
# (katib pkg/webhook/v1beta1/pod/inject_webhook.go); its suggestion container is the katib-config entry's
# container as written (pkg/controller.v1beta1/suggestion/composer DesiredContainers), so restricted
# admission needs its securityContext there.
KATIB_RESTRICTED = ("katib-config: init.controller.injectSecurityContext: true, and runtime.suggestions "
                    "[algorithmName: {algorithm}] securityContext: {{allowPrivilegeEscalation: false, "
                    "capabilities: {{drop: [ALL]}}, runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}} "
                    "(Katib's sidecar and suggestion pods under restricted Pod Security)")


def _claims(objects: list[dict]) -> set[str]:
    """The claims pods mount that the objects do not create: pods stay Pending without them."""
    created = {o["metadata"].get("name") for o in objects
               if o.get("kind") == "PersistentVolumeClaim" and isinstance(o.get("metadata"), dict)}
    used = {str(volume["persistentVolumeClaim"].get("claimName"))
            for obj in objects for template in workloads.pod_templates(obj)
            for volume in template.pod.get("volumes") or []
            if isinstance(volume, dict) and isinstance(volume.get("persistentVolumeClaim"), dict)}
    return used - created


def _accounts(objects: list[dict]) -> set[str]:
    """The ServiceAccounts pods run as that the objects do not create (training.serviceAccount names an existing
    one): the controller cannot create the pods without it (the ServiceAccount admission plugin refuses them)."""
    created = {o["metadata"].get("name") for o in objects
               if o.get("kind") == "ServiceAccount" and isinstance(o.get("metadata"), dict)}
    used = {str(template.pod["serviceAccountName"]) for obj in objects for template in workloads.pod_templates(obj)
            if template.pod.get("serviceAccountName")}
    return used - created


def _train_job(spec: dict) -> set[str]:
    runtime = str((spec.get("runtimeRef") or {}).get("name", ""))
    if not runtime:
        return set()
    out = {f"ClusterTrainingRuntime {runtime} (Trainer rejects a TrainJob whose runtime does not exist)"}
    others = [job.name for job in trainer_runtimes.shipped().get(runtime, ()) if not job.trainer]
    if others:
        out.add(f"resources for the {', '.join(others)} containers of ClusterTrainingRuntime {runtime} (a "
                "TrainJob cannot set them: in the runtime, or a LimitRange default)")
    return out


def _experiment(spec: dict) -> set[str]:
    return {KATIB_RESTRICTED.format(algorithm=str((spec.get("algorithm") or {}).get("algorithmName", "")))}


def _autoscaler(spec: dict) -> set[str]:
    pods = [m["pods"] for m in spec.get("metrics") or [] if isinstance(m, dict) and isinstance(m.get("pods"), dict)]
    return {f"a custom-metrics adapter serving the pods metric {p['metric'].get('name')} (custom.metrics.k8s.io, "
            "e.g. prometheus-adapter)" for p in pods if isinstance(p.get("metric"), dict)}


NEEDS = {"TrainJob": _train_job, "Experiment": _experiment, "HorizontalPodAutoscaler": _autoscaler}


def cluster_needs(objects: list[dict]) -> set[str]:
    """What the objects need in the cluster beyond operators and Secrets, each named."""
    out = {f"PersistentVolumeClaim {name} (not created here: pods stay Pending without it)"
           for name in _claims(objects)}
    out |= {f"ServiceAccount {name} (not created here: its pods are refused without it)" for name in _accounts(objects)}
    for obj in objects:
        needs = NEEDS.get(str(obj.get("kind")))
        if needs is not None and isinstance(obj.get("spec"), dict):
            out |= needs(obj["spec"])
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
