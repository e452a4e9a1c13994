"""Fill in the defaults the JSON Schema declares, so the schema stays their only source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgitops.kube.plaindata import clone

_ABSENT = object()


@dataclass(frozen=True)
class _Plan:
    """What filling does under one schema: only the properties that have a default or something below that
    does (name, default or _ABSENT, their schema or None), and the schemas of additional properties and
    items when those fill anything. Made once per schema, so each object costs one look at its own keys."""

    props: tuple[tuple[str, Any, dict[str, Any] | None], ...]
    known: frozenset[str]
    extra: dict[str, Any] | None
    items: dict[str, Any] | None


def fill_defaults(schema: dict[str, Any], data: Any, root: dict[str, Any] | None = None) -> Any:
    """A copy of data with every absent property that has a `default` in schema filled in (what has
    nothing to fill is shared, not copied)."""
    root = root or schema
    plan = _plan(_deref(schema, root), root)
    if plan is None:
        return data
    if isinstance(data, dict):
        return _fill_map(plan, data, root)
    if isinstance(data, list) and plan.items is not None:
        return [fill_defaults(plan.items, item, root) for item in data]
    return data


def _fill_map(plan: _Plan, data: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for name, default, below in plan.props:
        if name not in out:
            if default is _ABSENT:
                continue
            out[name] = clone(default)
        if below is not None:
            out[name] = fill_defaults(below, out[name], root)
    if plan.extra is not None:
        for name, value in data.items():
            if name not in plan.known:
                out[name] = fill_defaults(plan.extra, value, root)
    return out


_plans: dict[int, tuple[dict[str, Any], _Plan | None]] = {}  # id(schema) -> (the schema, kept alive; its plan)
_PENDING = _Plan((), frozenset(), None, None)  # a schema that refers back to itself: assumed to fill


def _plan(schema: dict[str, Any], root: dict[str, Any]) -> _Plan | None:
    """The schema's plan, or None when nothing under it has a default (the data is returned as it is)."""
    known = _plans.get(id(schema))
    if known is not None:
        return known[1]
    _plans[id(schema)] = (schema, _PENDING)
    props = []
    for name, prop in schema.get("properties", {}).items():
        prop = _deref(prop, root)
        below = prop if _plan(prop, root) is not None else None
        if "default" in prop or below is not None:
            props.append((name, prop.get("default", _ABSENT), below))
    extra, items = (_filling(schema.get(key), root) for key in ("additionalProperties", "items"))
    plan = _Plan(tuple(props), frozenset(schema.get("properties", {})), extra, items) \
        if props or extra is not None or items is not None else None
    _plans[id(schema)] = (schema, plan)
    return plan


def _filling(schema: Any, root: dict[str, Any]) -> dict[str, Any] | None:
    if not isinstance(schema, dict):
        return None
    schema = _deref(schema, root)
    return schema if _plan(schema, root) is not None else None


def _deref(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    node = root
    for token in ref.removeprefix("#/").split("/"):
        node = node[token]
    return node
