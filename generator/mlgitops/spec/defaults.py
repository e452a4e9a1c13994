"""Fill in the defaults the JSON Schema declares, so the schema stays their only source."""

from __future__ import annotations

from typing import Any

from mlgitops.kube.plaindata import clone


def fill_defaults(schema: dict[str, Any], data: Any, root: dict[str, Any] | None = None) -> Any:
    """A copy of data with every absent property that has a `default` in schema filled in."""
    root = root or schema
    schema = _deref(schema, root)
    if isinstance(data, dict):
        out = dict(data)
        for name, prop in schema.get("properties", {}).items():
            prop = _deref(prop, root)
            if name not in out and "default" in prop:
                out[name] = clone(prop["default"])
            if name in out:
                out[name] = fill_defaults(prop, out[name], root)
        _fill_extra(schema, out, root)
        return out
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        return [fill_defaults(schema["items"], item, root) for item in data]
    return data


def _fill_extra(schema: dict[str, Any], out: dict[str, Any], root: dict[str, Any]) -> None:
    """Defaults inside the values of properties the schema does not name (its additionalProperties)."""
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        known = schema.get("properties", {})
        for name, value in list(out.items()):
            if name not in known:
                out[name] = fill_defaults(extra, value, root)


def _deref(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    node = root
    for token in ref.removeprefix("#/").split("/"):
        node = node[token]
    return node
