"""Plain data (dicts, lists, scalars as read from YAML or JSON) and a fast deep copy of it."""

from __future__ import annotations

from typing import Any


def clone(value: Any) -> Any:
    """A deep copy of plain data; ~5x faster than copy.deepcopy, which handles every Python object."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value
