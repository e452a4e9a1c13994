"""What a sync would break or destroy, from the built manifests before and after a change. Pure.

- **Immutable fields**: Kubernetes refuses to update some fields of an object that keeps its name
  (a PVC's access modes, storage class, a smaller size; a Deployment's or StatefulSet's selector; a
  Service's clusterIP or type; a Job's template; the data of an immutable ConfigMap or Secret). Flux
  and Argo CD then fail that sync (flux2 #3032, argo-cd #7430): an error naming the object, the field
  and the fix, before merge.
- **Blast radius**: a model, environment or folder that disappears, or objects that leave an overlay,
  are pruned by the engines. Each is listed per cluster; a PersistentVolumeClaim is called out (its
  data), with the two-step procedure for a rename.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlgitops.kube import quantity, workloads
from mlgitops.kube.annotations import ARGOCD_SYNC_OPTIONS, CANARY_OF, FLUX_PRUNE
from mlgitops.render.engines import ENGINES
from mlgitops.render.units import TRAINING, Unit
from mlgitops.report.findings import Finding, Position, Severity, clip
from mlgitops.report.redact import mask_line

Objects = dict[str, list[dict]]  # overlay folder -> built objects
PVC_RENAME = ("to rename a claim without losing its data: first add the new claim beside the old one and "
              "copy the data (or restore it from a VolumeSnapshot), then remove the old one in a later change")


@dataclass(frozen=True)
class Rule:
    kind: str
    path: tuple[str, ...]
    fix: str
    shrink_only: bool = False  # only a smaller value is refused (a PVC's size)


RECREATE = ("Kubernetes must delete and re-create the object: rename it in the spec, or delete it before the "
            "sync (Flux: the label kustomize.toolkit.fluxcd.io/force: enabled on the object; Argo CD: the sync "
            "option Replace=true) - expect downtime")
RULES = [
    Rule("PersistentVolumeClaim", ("spec", "accessModes"), PVC_RENAME),
    Rule("PersistentVolumeClaim", ("spec", "storageClassName"), PVC_RENAME),
    Rule("PersistentVolumeClaim", ("spec", "volumeMode"), PVC_RENAME),
    Rule("PersistentVolumeClaim", ("spec", "volumeName"), PVC_RENAME),
    Rule("PersistentVolumeClaim", ("spec", "dataSource"), PVC_RENAME),
    Rule("PersistentVolumeClaim", ("spec", "resources", "requests", "storage"),
         "a claim cannot shrink: keep the size, or move the data to a new, smaller claim (" + PVC_RENAME + ")",
         shrink_only=True),
    Rule("Deployment", ("spec", "selector"), RECREATE),
    Rule("StatefulSet", ("spec", "selector"), RECREATE),
    Rule("StatefulSet", ("spec", "serviceName"), RECREATE),
    Rule("StatefulSet", ("spec", "volumeClaimTemplates"), RECREATE),
    Rule("DaemonSet", ("spec", "selector"), RECREATE),
    Rule("Service", ("spec", "clusterIP"), RECREATE),
    Rule("Service", ("spec", "type"), RECREATE),
    Rule("Job", ("spec", "template"), "a Job's pod template cannot change: give the changed Job a new name "
         "(mlgitops names training Jobs by the hash of their spec)"),
    Rule("Job", ("spec", "selector"), RECREATE),
    Rule("Job", ("spec", "completions"), "a Job's completions cannot change: give the changed Job a new name"),
]


def _get(obj: dict, path: tuple[str, ...]):
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def _key(obj: dict) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", "")


def _ident(key: tuple[str, str, str]) -> str:
    return f"{key[0]}/{key[2]}"


RUNS = tuple(kind for kind, w in workloads.KINDS.items() if w.stops_run)  # objects whose deletion stops a run


def _spec_of(overlay: str) -> str:
    """overlays/<env>/<model>[/training] -> models/<model>.yaml"""
    return f"models/{Unit.at(overlay).model}.yaml"



def immutable_changes(before: Objects, after: Objects) -> list[Finding]:
    out = []
    for overlay in sorted(set(before) & set(after)):
        old = {_key(o): o for o in before[overlay]}
        for obj in after[overlay]:
            key = _key(obj)
            previous = old.get(key)
            if previous is None:
                continue
            out += _compare(overlay, key, previous, obj)
    return out


def _compare(overlay: str, key: tuple[str, str, str], old: dict, new: dict) -> list[Finding]:
    out = []
    rules = [r for r in RULES if r.kind == key[0]]
    if key[0] in ("ConfigMap", "Secret") and old.get("immutable") and new.get("immutable"):
        rules.append(Rule(key[0], ("data",), "an immutable ConfigMap or Secret cannot change: give it a new name"))
    for rule in rules:
        a, b = _get(old, rule.path), _get(new, rule.path)
        if a == b or a is None:
            continue
        if rule.shrink_only and not _shrinks(a, b):
            continue
        field = ".".join(rule.path)
        shown = "" if key[0] == "Secret" else f" ({_short(a)} -> {_short(b)})"
        out.append(Finding("immutable-field", f"{overlay}: {field} of {_ident(key)} changes{shown}, and Kubernetes "
                           "does not allow that on an existing object: the sync would fail", _spec_of(overlay),
                           Position(), rule.fix, object=_ident(key)))
    return out


def _shrinks(old, new) -> bool:
    """Whether a quantity gets smaller (unreadable ones: the Kubernetes schema check reports them)."""
    before, after = quantity.value(old), quantity.value(new)
    return before is not None and after is not None and after < before


def _short(value) -> str:
    return clip(mask_line(str(value)))  # a Job's template holds env values: never print a secret


def _protected(obj: dict) -> bool:
    """Whether Flux and Argo CD keep the object when it leaves Git (mlgitops protects claims by default)."""
    notes = (obj.get("metadata") or {}).get("annotations") or {}
    return notes.get(FLUX_PRUNE) == "disabled" or "Prune=false" in str(notes.get(ARGOCD_SYNC_OPTIONS, ""))


protected = _protected  # what the diff's volume check asks too


def _gone(before: Objects, after: Objects, overlay: str) -> list[tuple[str, str, str]]:
    """The objects of an overlay that the sync deletes: all of them when the overlay disappears."""
    if overlay not in after:
        return sorted(_key(o) for o in before[overlay])
    return sorted(set(map(_key, before[overlay])) - set(map(_key, after[overlay])))


def _headline(overlay: str, gone: list, whole: bool, cluster: str, engines: list[str],
              units_now: frozenset[str] = frozenset()) -> str:
    """What leaves the cluster, and what each engine does about it when the whole unit goes. A serving unit
    whose model keeps its training unit (units_now: the unit folders there are now) says that one stays."""
    where = f"cluster {cluster}"
    what = ", ".join(_ident(k) for k in gone)
    if not whole:
        return f"{overlay} on {where} no longer has {what}: the sync prunes them"
    unit = Unit.at(overlay)
    how = [engine.deletion(unit) for name, engine in ENGINES.items() if name in engines]
    training = Unit(unit.model, unit.env, TRAINING).folder
    if not unit.training and training in units_now:
        return (f"the serving unit {overlay} disappears from {where} (the training unit {training} stays): "
                f"{'; '.join(how)}: {what}")
    return f"{overlay} disappears from {where}: {'; '.join(how)}: {what}"


def _claims_note(gone: list, protected: set) -> tuple[str, str]:
    """What happens to the data of the claims that go: (text added to the message, hint)."""
    claims = [k for k in gone if k[0] == "PersistentVolumeClaim" and k not in protected]
    kept = [k for k in gone if k[0] == "PersistentVolumeClaim" and k in protected]
    text, hint = "", ""
    if claims:
        text += f". Among them {', '.join(_ident(k) for k in claims)}: the data on the volume goes with it"
        hint = PVC_RENAME
    if kept:
        text += (f". {', '.join(_ident(k) for k in kept)} stays (protected from prune), with its data, but "
                 "nothing manages it any more: delete it by hand once its data is safe")
    return text, hint


def pruned(before: Objects, after: Objects, cluster_of: Callable[[str], str], engines: list[str],
           units_now: frozenset[str] = frozenset()) -> list[Finding]:
    """Warnings for what the engines delete: whole overlays that disappear, and objects that leave one
    (units_now: every unit folder there is now, changed or not)."""
    out = []
    for overlay in sorted(before):
        gone = _gone(before, after, overlay)
        if not gone:
            continue
        message = _headline(overlay, gone, overlay not in after, cluster_of(Unit.at(overlay).env), engines, units_now)
        protected = {_key(o) for o in before[overlay] if _protected(o)}
        note, hint = _claims_note(gone, protected)
        message += note
        runs = [k for k in gone if k[0] in RUNS and k not in protected]
        if runs:
            message += (f". Deleting {', '.join(_ident(k) for k in runs)} stops it if it is still running (its "
                        "pods are deleted, the run is lost) and deletes its finished pods' logs")
            hint = hint or ("to let a running training finish, merge the change once it has completed; its "
                            "output (MODEL_OUTPUT_URI) stays where the job wrote it")
        out.append(Finding("prune", message, _spec_of(overlay), Position(), hint, Severity.WARNING))
    return out


def _canaries(objects: list[dict]) -> dict[str, dict]:
    """model -> its canary Deployment, among an overlay's built objects."""
    return {str(labels[CANARY_OF]): o for o in objects if o.get("kind") == "Deployment"
            and CANARY_OF in (labels := (o.get("metadata") or {}).get("labels") or {})}


def _version(deployment: dict | None) -> str:
    labels = (((deployment or {}).get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    return str(labels.get("app.kubernetes.io/version", "?"))


def _weight(objects: list[dict], model: str) -> str:
    for o in objects:
        if o.get("kind") == "HTTPRoute":
            for rule in (o.get("spec") or {}).get("rules") or []:
                for ref in rule.get("backendRefs") or []:
                    if ref.get("name") == f"{model}-canary":
                        return f"{ref.get('weight')}%"
        notes = (o.get("metadata") or {}).get("annotations") or {}
        if notes.get("nginx.ingress.kubernetes.io/canary") == "true":
            return f"{notes.get('nginx.ingress.kubernetes.io/canary-weight')}%"
    return "?"


def canary_notes(before: Objects, after: Objects) -> list[str]:
    """What a change does to canaries, said as what it is: started, reweighted, promoted, rolled back."""
    out = []
    for overlay in sorted(set(before) & set(after)):
        env = Unit.at(overlay).env
        old, new = _canaries(before[overlay]), _canaries(after[overlay])
        stable = {_name(o): o for o in after[overlay] if o.get("kind") == "Deployment"}
        for model in sorted(old.keys() | new.keys()):
            if model in new and model not in old:
                out.append(f"{env}: canary {_version(new[model])} of {model} starts, taking "
                           f"{_weight(after[overlay], model)} of the requests")
            elif model in old and model not in new:
                if _version(stable.get(model)) == _version(old[model]):
                    out.append(f"{env}: the canary {_version(old[model])} of {model} is promoted: it becomes the "
                               "stable version, and the canary goes")
                else:
                    out.append(f"{env}: the canary {_version(old[model])} of {model} is rolled back; "
                               f"{_version(stable.get(model))} stays")
            elif _weight(before[overlay], model) != _weight(after[overlay], model):
                out.append(f"{env}: the canary {_version(new[model])} of {model} goes from "
                           f"{_weight(before[overlay], model)} to {_weight(after[overlay], model)} of the requests")
    return out


def _name(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))
