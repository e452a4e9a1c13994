"""The strategic-merge patch that turns one object into another, as kustomize (kyaml) applies it.

Maps are patched key by key (`null` deletes a key). Lists that Kubernetes merges by a key
(containers by name, env by name, ...) are patched element by element when the elements keep their
keys and order, and replaced whole with a `$patch: replace` directive otherwise. kyaml puts the
patch's elements first, in the patch's order, so an element patch names every element (unchanged
ones by their key alone) to keep the order. Every other list is
atomic in a strategic merge, so it is written out whole.
"""

from __future__ import annotations

from typing import Any

from mlgitops.kube.plaindata import SCALARS, clone

SAME = object()
_POD = ("spec", "template", "spec")
MERGE_KEYS: dict[tuple[str, ...], str] = {
    (*_POD, "containers"): "name",
    (*_POD, "initContainers"): "name",
    (*_POD, "volumes"): "name",
    (*_POD, "imagePullSecrets"): "name",
    (*_POD, "topologySpreadConstraints"): "topologyKey",
    (*_POD, "containers", "env"): "name",
    (*_POD, "containers", "ports"): "containerPort",
    (*_POD, "containers", "volumeMounts"): "mountPath",
    (*_POD, "initContainers", "env"): "name",
    (*_POD, "initContainers", "volumeMounts"): "mountPath",
    ("spec", "ports"): "port",
}


def diff(base: Any, target: Any, path: tuple[str, ...] = ()) -> Any:
    """The patch from base to target, or SAME when they are equal."""
    if isinstance(base, dict) and isinstance(target, dict):
        return _diff_map(base, target, path)
    if isinstance(base, list) and isinstance(target, list):
        return _diff_list(base, target, path)
    if type(base) is type(target) and base == target:
        return SAME
    return clone(target)


def _diff_map(base: dict[str, Any], target: dict[str, Any], path: tuple[str, ...]) -> Any:
    """Key by key; a scalar leaf of the same type on both sides is compared here, without a call (the
    hot path of generate: most leaves of an overlay's objects equal the base's)."""
    out: dict[str, Any] = {}
    for key, value in target.items():
        if key not in base:
            out[key] = clone(value)
            continue
        old = base[key]
        kind = type(value)
        if kind is type(old) and kind in SCALARS:
            if old != value:
                out[key] = value
            continue
        if _retyped(old, value):
            return {"$patch": "replace", **clone(target)}
        d = diff(old, value, (*path, key))
        if d is not SAME:
            out[key] = d
    for key in base:
        if key not in target:
            out[key] = None
    return out if out else SAME


def _diff_list(base: list, target: list, path: tuple[str, ...]):
    if base == target:
        return SAME
    key = MERGE_KEYS.get(path)
    if key is None:
        return clone(target)
    if _keys(base, key) is not None and _keys(base, key) == _keys(target, key):
        out = []
        for b, t in zip(base, target, strict=True):
            d = diff(b, t, path)
            out.append({key: t[key]} if d is SAME else {key: t[key], **d})
        return out
    return [{"$patch": "replace"}, *clone(target)]


def _retyped(old, new) -> bool:
    """A scalar that changes between string and number: kyaml keeps the old YAML tag on a merge
    (maxSurge 25% -> 1 would build as "1"), so the map holding it is replaced whole instead."""
    if type(old) is type(new):  # the common case: one type on both sides is never retyped
        return False
    scalars = (str, int, float, bool)
    return (isinstance(old, scalars) and isinstance(new, scalars)
            and (isinstance(old, str) != isinstance(new, str) or isinstance(old, bool) != isinstance(new, bool)))


def _keys(items: list, key: str):
    if not all(isinstance(i, dict) and key in i for i in items):
        return None
    return [i[key] for i in items]
