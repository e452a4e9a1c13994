"""A parsed YAML file: its plain data and where each value and key came from (JSON pointers to positions).

Apart from yamlsource, which makes one from YAML text, so that a Document kept in the cache (mlgitops.yaml's,
tree/generation.py) is rebuilt without importing a YAML parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlgitops.report.findings import Position


def pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def join(pointer: str, token: object) -> str:
    return f"{pointer}/{pointer_escape(str(token))}"


@dataclass
class Document:
    """A parsed YAML file: its data and where each value (and key) came from."""

    path: str
    data: Any
    values: dict[str, Position] = field(default_factory=dict)
    keys: dict[str, Position] = field(default_factory=dict)
    plain: dict[str, str] = field(default_factory=dict)  # pointer -> source text of unquoted scalars

    def position(self, pointer: str, key: bool = False) -> Position:
        """Position of the value at pointer (or of its key), else of the nearest ancestor present."""
        table = self.keys if key else self.values
        while True:
            if pointer in table:
                return table[pointer]
            if pointer in self.values:
                return self.values[pointer]
            if not pointer:
                return Position(1, 1)
            pointer = pointer.rsplit("/", 1)[0]
