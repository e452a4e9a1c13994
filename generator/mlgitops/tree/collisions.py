"""Objects two models both make: model `a` with a canary and model `a-canary`, `a`'s training NetworkPolicy and
model `a-training`. Two sync objects would own such an object, each undoing the other's apply. Read from the
generated tree (what the renderers made), only for the names that can clash."""

from __future__ import annotations

import functools
import itertools
from operator import methodcaller
from typing import TYPE_CHECKING

from mlgitops.kube.manifests import parse_stream
from mlgitops.render.units import KUSTOMIZATION, Unit, base_dir, base_model, overlay_owner
from mlgitops.report.findings import Finding
from mlgitops.tree.header import Tree

if TYPE_CHECKING:
    from mlgitops.spec.model import Model
    from mlgitops.tree.generation import Entry


def findings(entries: list[Entry], tree: Tree) -> list[Finding]:
    """Two models that make an object of the same kind and name in one environment: model `a` with a canary and
    model `a-canary`, `a`'s training NetworkPolicy and model `a-training`. Two sync objects would own it, each
    undoing the other's apply. A model's objects are named after it, so only a name that starts with another's
    and a '-' can clash: only such pairs are read."""
    pairs = _prefix_pairs(sorted(entry.name for entry in entries))
    if not pairs:
        return []
    files = _files_by_model(tree)
    objects = functools.cache(lambda model: _objects(tree, model, files.get(model, [])))
    found = []
    for short, long in pairs:
        if not any(long.encode() in tree[path] for path in files.get(short, [])):
            continue  # every object of `long` is named `long...`: `short`'s files cannot make one if they never say it
        shared = sorted(objects(short) & objects(long))
        if shared:
            model = next(entry for entry in entries if entry.name == long).model
            found.append(_collision(model, short, shared))
    return found


def _prefix_pairs(names: list[str]) -> list[tuple[str, str]]:
    """(a, b) for each two sorted names where b is a, a '-' and more (the names starting with a follow it)."""
    return [(short, long) for i, short in enumerate(names)
            for long in itertools.takewhile(methodcaller("startswith", short), names[i + 1:])
            if long.startswith(f"{short}-")]


def _files_by_model(tree: Tree) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for path in tree:
        owner = overlay_owner(path)
        files.setdefault(base_model(path) or (owner.model if owner else ""), []).append(path)
    return files


def _collision(model: Model, short: str, shared: list[tuple[str, str, str]]) -> Finding:
    env, kind, name = shared[0]
    more = f" (and {len(shared) - 1} more)" if len(shared) > 1 else ""
    return Finding("name-collision", f"{env}: model '{model.name}' and model '{short}' both make {kind}/{name}{more}: "
                   "two sync objects would own it, each undoing the other", model.path,
                   model.doc.position("/metadata/name"), f"rename one of them: model '{short}' names its objects "
                   f"'{short}' and '{short}-<suffix>' (-canary, -training, ...)")


def _objects(tree: Tree, model: str, paths: list[str]) -> set[tuple[str, str, str]]:
    """(environment, kind, name) of every object a model's files make: its base's in each environment it serves
    in, less what an overlay deletes, plus what an overlay or a training folder adds."""
    units = [(found[0], found[1], path) for path in paths if (found := Unit.of_file(path)) and found[0].model == model]
    base = _base_objects(tree, model, paths)
    out = {(unit.env, kind, name) for unit, _, _ in units if not unit.training for kind, name in base}
    for unit, file, path in units:
        for kind, name, deleted in _identities(tree[path]) if file != KUSTOMIZATION else []:
            if deleted:
                out.discard((unit.env, kind, name))
            else:
                out.add((unit.env, kind, name))
    return out


def _base_objects(tree: Tree, model: str, paths: list[str]) -> list[tuple[str, str]]:
    return [(kind, name) for path in paths if path.startswith(f"{base_dir(model)}/")
            and not path.endswith(KUSTOMIZATION) for kind, name, _ in _identities(tree[path])]


def _identities(raw: bytes) -> list[tuple[str, str, bool]]:
    """(kind, name, whether it is a `$patch: delete`) of each object a generated file holds."""
    out = []
    for doc in parse_stream(raw.decode("utf-8"), strict=False):
        data = doc.data
        if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
            out.append((str(data.get("kind")), str(data["metadata"].get("name")), data.get("$patch") == "delete"))
    return out
