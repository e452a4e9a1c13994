"""Spec layers and provenance: which file and line a value of an effective spec came from.

An effective spec is the deep merge of, in order: the config's defaults, the environment's defaults,
the model spec, and the model's override for that environment. A finding about any of its values is
reported at the last layer that wrote the value (or, for a missing value, its nearest written parent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgitops.report.findings import Position
from mlgitops.spec.document import Document
from mlgitops.spec.merge import merge_all


@dataclass(frozen=True)
class Layer:
    doc: Document
    prefix: str  # pointer in doc to where this layer's spec-shaped mapping lives

    def data(self) -> dict[str, Any]:
        node = self.doc.data
        for token in self.prefix.split("/")[1:]:
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node.get(token)
            if node is None:
                return {}
        return node if isinstance(node, dict) else {}

    def has(self, rel: str) -> bool:
        return (self.prefix + rel) in self.doc.values


def merged(layers: list[Layer], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    spec = merge_all({k: v for k, v in layer.data().items() if k not in drop} for layer in layers)
    _keep_dropped_labels(layers, spec)
    return spec


# Sections whose nodeSelector sits over mlgitops.yaml's GPU node selector, which render adds later: a null
# there must reach render to drop one of its labels, where the merge alone would forget it.
NODE_SELECTOR_SECTIONS = ("serving", "training")


def _keep_dropped_labels(layers: list[Layer], spec: dict[str, Any]) -> None:
    for section in NODE_SELECTOR_SECTIONS:
        last: dict[str, object] = {}
        for layer in layers:
            part = layer.data().get(section)
            selector = part.get("nodeSelector") if isinstance(part, dict) else None
            last.update(selector if isinstance(selector, dict) else {})
        dropped = [label for label, value in last.items() if value is None]
        if dropped and isinstance(spec.get(section), dict):
            target = spec[section].setdefault("nodeSelector", {})
            target.update(dict.fromkeys(dropped))


def locate(layers: list[Layer], spec_doc: Document, pointer: str, key: bool = False) -> tuple[str, Position]:
    """File and position for a pointer into an effective spec document ({metadata, spec, ...})."""
    if not pointer.startswith("/spec/"):
        return spec_doc.path, spec_doc.position(pointer, key)
    rel = pointer[len("/spec"):]
    order = list(reversed(layers))  # the value itself: the last layer that wrote it
    while rel:
        for layer in order:
            if layer.has(rel):
                full = layer.prefix + rel
                table = layer.doc.keys if key and full in layer.doc.keys else layer.doc.values
                return layer.doc.path, table[full]
        rel = rel.rsplit("/", 1)[0]
        key = True
        # a missing value belongs in the spec itself, not in whichever override also touches its parent
        order = sorted(order, key=lambda layer: layer.prefix != "/spec")
    return spec_doc.path, spec_doc.position("/spec", True)


def plain_text(layers: list[Layer], pointer: str) -> str | None:
    if not pointer.startswith("/spec/"):
        return None
    rel = pointer[len("/spec"):]
    for layer in reversed(layers):
        if layer.has(rel):
            return layer.doc.plain.get(layer.prefix + rel)
    return None


def writer(layers: list[Layer], pointer: str) -> int:
    """Index of the last layer that wrote the value at an effective-spec pointer (-1: none, a default)."""
    rel = pointer[len("/spec"):] if pointer.startswith("/spec/") else None
    if rel is None:
        return -1
    for index in range(len(layers) - 1, -1, -1):
        if layers[index].has(rel):
            return index
    return -1
