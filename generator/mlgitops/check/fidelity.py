"""Fidelity: what kustomize built for an overlay is exactly what the generator meant it to be.

A patch that kustomize merges differently than intended (a list appended instead of replaced, a
label leaking into a selector) shows up here before it reaches a cluster. Fields that the spec's raw
patches touch are the author's own choice, so they are left out of the comparison.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mlgitops.report.findings import clip
from mlgitops.spec.yamlsource import join

MAX_PATHS = 3


@dataclass(frozen=True)
class Mismatch:
    kind: str
    name: str
    pointer: str
    message: str


def differences(built, meant, pointer: str = "", skip: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """Pointers (with a description) where built and meant differ, outside the skipped subtrees."""
    if pointer in skip:
        return []
    if isinstance(built, dict) and isinstance(meant, dict):
        out = []
        for key in sorted(set(built) | set(meant)):
            child = join(pointer, key)
            if child not in skip:
                out += _key_differences(built, meant, key, child, skip)
        return out
    if isinstance(built, list) and isinstance(meant, list) and len(built) == len(meant):
        out = []
        for i, (b, m) in enumerate(zip(built, meant, strict=True)):
            out += differences(b, m, join(pointer, i), skip)
        return out
    if type(built) is type(meant) and built == meant:
        return []
    return [(pointer, f"built {_show(built)}, meant {_show(meant)}")]


def _key_differences(built: dict, meant: dict, key: str, child: str, skip: frozenset[str]) -> list[tuple[str, str]]:
    if key not in meant and isinstance(built[key], dict) and any(s.startswith(child + "/") for s in skip):
        return differences(built[key], {}, child, skip)  # a patch added fields under a new mapping
    if key not in meant:
        return [(child, f"kustomize added {_show(built[key])}")]
    if key not in built:
        return [(child, f"kustomize dropped {_show(meant[key])}")]
    return differences(built[key], meant[key], child, skip)


def _show(value) -> str:
    return clip(json.dumps(value, sort_keys=True))


def touched(patches: list[tuple[dict, object]]) -> dict[tuple[str, str], frozenset[str]]:
    """Per (kind, name), the object pointers the raw patches write."""
    out: dict[tuple[str, str], set[str]] = {}
    for target, body in patches:
        key = (target["kind"], target["name"])
        pointers = out.setdefault(key, set())
        if isinstance(body, list):
            for op in body:
                for pointer in (op["path"], op.get("from")):
                    if pointer is None:
                        continue
                    pointers.add(pointer)
                    parent, _, last = pointer.rpartition("/")
                    if last == "-" or last.isdigit():  # adding or removing an item shifts the whole list
                        pointers.add(parent)
        elif isinstance(body, dict):
            pointers.update(_leaves({k: v for k, v in body.items() if k not in ("apiVersion", "kind")}))
    return {k: frozenset(v) for k, v in out.items()}


def _leaves(value, pointer: str = "") -> list[str]:
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _leaves(v, join(pointer, k))]
    return [pointer]


def compare(built: list[dict], meant: list[dict], skip: dict[tuple[str, str], frozenset[str]]) -> list[Mismatch]:
    out = []
    built_by = {(o.get("kind"), o.get("metadata", {}).get("name")): o for o in built}
    meant_by = {(o["kind"], o["metadata"]["name"]): o for o in meant}
    for key, obj in meant_by.items():
        if key not in built_by:
            out.append(Mismatch(*key, "", "the overlay does not build this object, which the spec asks for"))
            continue
        if built_by[key] == obj:
            continue
        diffs = differences(built_by[key], obj, "", skip.get(key, frozenset()))
        for pointer, text in diffs[:MAX_PATHS]:
            out.append(Mismatch(*key, pointer, f"{pointer or '/'}: {text}"))
    for key in built_by:
        if key not in meant_by:
            out.append(Mismatch(str(key[0]), str(key[1]), "", "the overlay builds this object, which the spec does "
                                "not ask for"))
    return out
