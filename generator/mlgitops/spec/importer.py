"""`mlgitops import`: Kubernetes manifests in, model specs (plain dicts) and findings out. Pure: no file is read
or written here (commands/import_.py does that).

Objects are grouped by model: each workload (Deployment, StatefulSet, ReplicationController, Job, CronJob,
PyTorchJob, TrainJob, Katib Experiment, KServe InferenceService) starts or joins the group of its name (the
`app.kubernetes.io/name` label, else `app`, else the object's name); a Service joins the group whose pods its
selector matches, an HPA the group of its scaleTargetRef, a PDB the group its selector matches, an Ingress and a
ServiceMonitor the group of their Service, a claim the group whose pods mount it, a ServiceAccount the group
whose pods run as it. An object that joins no group is a finding, never silently lost.

Within an object, every field the import reads is recorded (`Obj.use`, `use_shape`) or named by a finding;
what is left is reported at its line by `import_objects.leftovers` (tests/spec/test_import_nothing_silent.py
holds this: a field added anywhere is carried or reported).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlgitops.kube.images import split_image
from mlgitops.kube.manifests import Document
from mlgitops.kube.weights import names_version
from mlgitops.report.findings import Finding, Severity
from mlgitops.spec import import_serving, import_training
from mlgitops.spec.import_objects import (
    CHANGED,
    DROPPED,
    OWN_ANNOTATIONS,
    Obj,
    as_list,
    as_map,
    dig,
    leftovers,
    objects,
)

SERVING_KINDS = ("Deployment", "StatefulSet", "ReplicationController", "InferenceService")
TRAINING_KINDS = ("Job", "CronJob", "PyTorchJob", "TrainJob", "Experiment")
ATTACHED_KINDS = ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "PersistentVolumeClaim", "Ingress",
                  "ServiceMonitor", "ServiceAccount")
# Kinds the import does not carry, and why.
IGNORED_KINDS = {
    "Namespace": "mlgitops.yaml names each environment's namespace",
    "ServiceAccount": "mlgitops makes the model's own",
    "NetworkPolicy": "mlgitops makes its own, admitting the serving, metrics and `ports` ports",
    "Role": "mlgitops' pods run without the Kubernetes API", "RoleBinding": "mlgitops' pods run without the "
    "Kubernetes API",
    "ConfigMap": "the spec mounts it by name (volumes: [{configMap: ...}]): keep it in each environment's "
    "namespace",
    "Secret": "the spec references it by name, never writes it: create it in each environment's namespace "
    "(sealed-secrets, external-secrets)",
}
# Labels that name, select or manage the objects: mlgitops writes its own; any other label is carried as
# spec.labels.
_OWN_LABELS = ("app", "app.kubernetes.io/", "helm.sh/", "mlgitops.io/", "chart", "release", "heritage",
               "version", "pod-template-hash", "team")
_NAME = re.compile(r"[^a-z0-9-]+")
_VERSION = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_.]{0,62}")


@dataclass
class Group:
    """The objects of one model."""

    name: str
    serving: Obj | None = None
    training: list[Obj] = field(default_factory=list)
    attached: dict[str, list[Obj]] = field(default_factory=dict)
    optional_limits: frozenset[str] = frozenset()  # limits every environment's policy lets a spec leave out
    distributed: str = "trainjob"  # mlgitops.yaml's training.distributed: what `workers` > 1 becomes
    patches: list[dict[str, Any]] = field(default_factory=list)  # spec.patches: what the spec cannot say

    def first(self, kind: str) -> Obj | None:
        found = as_list(self.attached.get(kind))
        return found[0] if found else None


@dataclass
class Imported:
    """One model read from the manifests: its spec, the findings about it, the files it came from."""

    name: str
    spec: dict[str, Any]
    findings: list[Finding]
    sources: list[str]
    objects: list[Obj] = field(default_factory=list)  # what it was read from, each with what it used


def import_documents(docs: list[Document], name: str | None = None, team: str | None = None,
                     optional_limits: frozenset[str] = frozenset(), distributed: str = "trainjob",
                     ) -> tuple[list[Imported], list[Finding]]:
    """Specs for the models in the documents, and the findings about the input as a whole. `optional_limits`:
    the limits (cpu, memory) no environment's policy requires, so a request without a limit stays so;
    `distributed`: mlgitops.yaml's training.distributed (the kind a distributed run becomes)."""
    objs, findings = objects(docs)
    groups = _group(objs, findings)
    for group in groups:
        group.optional_limits = optional_limits
        group.distributed = distributed
    if name and len(groups) > 1:
        findings.append(Finding("import-grouping", f"--name {name}: the input holds {len(groups)} models "
                                f"({', '.join(g.name for g in groups)})", hint="import them one at a time, or "
                                "without --name"))
        return [], findings
    return [_model(g, name or g.name, team) for g in groups], findings


def model_name(obj: Obj) -> str:
    labels = as_map(obj.get("metadata", "labels"))
    # mlgitops' own training objects carry the model as their instance (their names hold the run's hash)
    own = labels.get("app.kubernetes.io/instance") if labels.get("app.kubernetes.io/managed-by") == "mlgitops" else None
    raw = labels.get("app.kubernetes.io/name") or labels.get("app") or own or obj.name
    return _NAME.sub("-", str(raw).lower()).strip("-")[:40] or "model"


def _group(objs: list[Obj], findings: list[Finding]) -> list[Group]:
    groups: dict[str, Group] = {}
    for obj in objs:
        if obj.kind in SERVING_KINDS or obj.kind in TRAINING_KINDS:
            _add_workload(groups.setdefault(model_name(obj), Group(model_name(obj))), obj, findings)
    for kind in ATTACHED_KINDS:
        for obj in (o for o in objs if o.kind == kind):
            _attach(list(groups.values()), obj, findings)
    for obj in objs:
        if obj.kind not in SERVING_KINDS + TRAINING_KINDS + ATTACHED_KINDS:
            why = IGNORED_KINDS.get(obj.kind, "a kind import does not read")
            what, why = (obj.ref, why) if obj.kind else ("a document", "no kind: not a Kubernetes object")
            findings.append(obj.finding(DROPPED, "", f"{what}: not carried over ({why})"))
    return sorted(groups.values(), key=lambda g: g.name)


def _attach(groups: list[Group], obj: Obj, findings: list[Finding]) -> None:
    group = _owner(groups, obj)
    if group is not None:
        group.attached.setdefault(obj.kind, []).append(obj)
        if obj.kind == "Service" and group.serving is not None and group.serving.kind == "StatefulSet":
            # the StatefulSet's governing Service (its pods' DNS names) last: the model's Service is the other
            governing = group.serving.get("spec", "serviceName")
            group.attached["Service"].sort(key=lambda s: s.name == governing)
    elif obj.kind == "ServiceAccount":
        findings.append(obj.finding(DROPPED, "", f"{obj.ref}: not carried over ({IGNORED_KINDS[obj.kind]})"))
    else:
        findings.append(obj.finding("import-grouping", "", f"{obj.ref} belongs to no workload of the input: not "
                                    "carried over", "import it with the workload it serves"))


def _add_workload(group: Group, obj: Obj, findings: list[Finding]) -> None:
    if obj.kind in TRAINING_KINDS:
        group.training.append(obj)
    elif group.serving is None:
        group.serving = obj
    else:
        findings.append(obj.finding("import-grouping", "", f"{obj.ref}: a second serving workload named "
                                    f"'{group.name}' ({group.serving.ref} is imported)", "import it on its own "
                                    "with --name", Severity.ERROR))


def pod_labels(obj: Obj) -> dict[str, Any]:
    for path in (("spec", "template", "metadata", "labels"), ("spec", "predictor", "labels")):
        found = obj.get(*path)
        if isinstance(found, dict):
            return found
    return as_map(obj.get("metadata", "labels"))


def _selects(selector: Any, labels: dict[str, Any]) -> bool:
    if isinstance(selector, dict) and isinstance(selector.get("matchLabels"), dict):
        selector = selector["matchLabels"]
    return isinstance(selector, dict) and bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _owner(groups: list[Group], obj: Obj) -> Group | None:
    for group in groups:
        if _belongs(group, obj):
            return group
    return None


def _belongs(group: Group, obj: Obj) -> bool:
    workload = group.serving
    labels = pod_labels(workload) if workload else {}
    service = group.first("Service")
    checks: dict[str, Callable[[], bool]] = {
        "Service": lambda: _selects(obj.get("spec", "selector"), labels),
        "HorizontalPodAutoscaler": lambda: workload is not None and obj.get("spec", "scaleTargetRef", "name")
        == workload.name,
        "PodDisruptionBudget": lambda: _selects(obj.get("spec", "selector"), labels),
        "PersistentVolumeClaim": lambda: obj.name in _claims(group),
        "Ingress": lambda: service is not None and service.name in _backends(obj),
        "ServiceMonitor": lambda: service is not None and _selects(obj.get("spec", "selector"),
                                                                  as_map(service.get("metadata", "labels"))),
        "ServiceAccount": lambda: workload is not None and obj.name in (
            workload.get("spec", "template", "spec", "serviceAccountName"),
            workload.get("spec", "template", "spec", "serviceAccount")),
    }
    return bool(checks[obj.kind]())


def _claims(group: Group) -> set[str]:
    names = set()
    for obj in ([group.serving] if group.serving else []) + group.training:
        text = repr(obj.data)
        names |= set(re.findall(r"'claimName': '([^']+)'", text))
    return names


def _backends(ingress: Obj) -> set[str]:
    names = set()
    for rule in as_list(ingress.get("spec", "rules")):
        for path in as_list(dig(rule, "http", "paths")):
            name = dig(path, "backend", "service", "name") or dig(path, "backend", "serviceName")
            if name:
                names.add(str(name))
    return names


_URI_VERSION = re.compile(r"[vV]?([0-9]+(?:\.[0-9]+)+)")  # a version a weights URI names (`/3.0.1/`, `model-v2.1.pt`)
_NO_VERSION = "0.1.0"  # the version of a model whose manifests name none


def version_of(image: str | None) -> str:
    """The model version an image names (its tag), else 0.1.0."""
    _, tag, _ = split_image(image or "")
    return tag if tag and tag != "latest" and _VERSION.fullmatch(tag) else _NO_VERSION


def _version(group: Group, model: dict[str, Any], image: str | None, findings: list[Finding]) -> None:
    """model.version: what the manifests say (MODEL_VERSION, a weights revision), else the image's tag, else
    0.1.0, which the report names: it is a placeholder, and versions are what promote and check compare."""
    if "version" in model:
        return
    model["version"] = version_of(image)
    uri = str(model.get("uri") or "")
    named = [v for v in _URI_VERSION.findall(uri) if names_version(uri, v)]
    if uri and named and not names_version(uri, model["version"]):
        model["version"] = named[-1]
        findings.append((group.serving or group.training[0]).finding(
            CHANGED, "", f"model.version '{named[-1]}': the version model.uri names ({uri}), so the pods' version "
            "label and the weights they load agree (weights-version)", "check it is the version of those weights",
            covers=False))
        return
    workload = group.serving or group.training[0]
    if model["version"] != split_image(image or "")[1]:
        findings.append(workload.finding(CHANGED, "", f"model.version '{_NO_VERSION}': the manifests name no "
                                         "version (no MODEL_VERSION env, and the image has no version tag)",
                                         "set model.version to the version of the weights the model serves",
                                         covers=False))


def _model(group: Group, name: str, team: str | None) -> Imported:
    findings: list[Finding] = []
    model: dict[str, Any] = {}
    spec: dict[str, Any] = {"model": model}
    if group.serving is not None:
        spec["serving"] = import_serving.serving(group, group.serving, model, findings)
    if group.training:
        training = import_training.training(group.training, model, findings, group.optional_limits, group.patches,
                                            group.distributed)
        if training:
            spec["training"] = training
    spec.update(_metadata(group, findings))
    if group.patches:
        spec["patches"] = group.patches
    image = dig(spec, "serving", "image") or dig(spec, "training", "image")
    _version(group, model, image, findings)
    model.update({k: model.pop(k) for k in ("uri", "framework") if k in model})
    owner = _owner_team(group, team, findings)
    data = {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": name, "team": owner},
            "spec": spec}
    for obj in _all(group):
        findings += leftovers(obj)
    sources = sorted({o.doc.source for o in _all(group)})
    return Imported(name, data, findings, sources, _all(group))


def _owner_team(group: Group, team: str | None, findings: list[Finding]) -> str:
    owner = team or _team(group)
    if owner == "unknown":
        findings.append(_all(group)[0].finding(DROPPED, "/metadata", "no team label (mlgitops.io/team, team, "
                                               "app.kubernetes.io/part-of): metadata.team is 'unknown'",
                                               "pass --team, or edit metadata.team"))
    return owner


def _team(group: Group) -> str:
    for obj in _all(group):
        labels = as_map(obj.get("metadata", "labels"))
        for key in ("mlgitops.io/team", "team", "app.kubernetes.io/part-of"):
            if isinstance(labels.get(key), str) and labels[key]:
                return _NAME.sub("-", labels[key].lower()).strip("-") or "unknown"
    return "unknown"


def _all(group: Group) -> list[Obj]:
    out = ([group.serving] if group.serving else []) + group.training
    return out + [o for objs in group.attached.values() for o in objs]


def _metadata(group: Group, findings: list[Finding]) -> dict[str, Any]:
    """spec.labels and spec.annotations from the objects' own (but the naming and managing ones), and a
    finding for the namespace, which each environment names in mlgitops.yaml."""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    namespaces: set[str] = set()
    for obj in _all(group):
        obj.use("/metadata/labels", "/metadata/namespace")
        template = as_map(obj.get("spec", "template", "metadata", "labels")) if obj is group.serving else {}
        for key, value in (as_map(obj.get("metadata", "labels")) | template).items():
            if not _own(str(key), _OWN_LABELS):
                labels.setdefault(str(key), str(value))
        if obj is group.serving or obj in group.training:
            obj.use("/metadata/annotations")
            own = OWN_ANNOTATIONS + ((import_serving.KSERVE_ANNOTATIONS,) if obj.kind == "InferenceService" else ())
            annotations |= _own_removed(as_map(obj.get("metadata", "annotations")), own)
        _namespace(obj, namespaces, findings)
    return {k: v for k, v in (("labels", labels), ("annotations", annotations)) if v}


def _own_removed(values: dict[str, Any], prefixes: tuple[str, ...]) -> dict[str, str]:
    return {str(k): str(v) for k, v in values.items() if not _own(str(k), prefixes)}


def _namespace(obj: Obj, seen: set[str], findings: list[Finding]) -> None:
    """The first time a namespace is met: not carried, each environment names its own."""
    namespace = obj.get("metadata", "namespace")
    if isinstance(namespace, str) and namespace not in seen:
        seen.add(namespace)
        findings.append(obj.finding(CHANGED, "/metadata/namespace", f"namespace '{namespace}': not carried over: "
                                    "each environment's namespace is mlgitops.yaml's (environments[].namespace)",
                                    "name it there, per environment"))


def _own(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or (p.endswith("/") and key.startswith(p)) for p in prefixes)
