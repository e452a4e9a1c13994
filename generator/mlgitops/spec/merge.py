"""Deep merge of spec layers: maps merge, lists replace, null removes."""

from __future__ import annotations

from typing import Any

from mlgitops.kube.plaindata import clone


def deep_merge(base: Any, override: Any) -> Any:
    """The value of `override` laid over `base`; neither input is changed."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return clone(override)
    out = {k: clone(v) for k, v in base.items()}
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif key in out:
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = _without_nulls(value)
    return out


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return clone(value)


def merge_all(layers: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in layers:
        out = deep_merge(out, layer)
    return out
