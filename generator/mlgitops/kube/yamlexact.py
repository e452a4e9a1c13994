"""The exact (slow) reader: one YAML document to the JSON data kubeconform would see, with positions.

PyYAML's C parser builds the node tree (libyaml, the parser go-yaml v2 was ported from); plain
scalars are resolved by goyaml.resolve_plain instead of PyYAML's own YAML 1.1 rules, which differ
from Go's (PyYAML reads `1:20` as 80 and `1e3` as a string). Duplicate keys are an error in strict
mode (kubeconform -strict uses yaml.UnmarshalStrict) and last-wins otherwise; merge keys (`<<`) fill
in keys not written explicitly; `.inf`/`.nan` and null keys cannot become JSON and are errors.
Every value's position is kept (JSON pointer -> 0-based line and column within the text).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlgitops.kube.goyaml import MERGE, key_text, resolve_plain

PLAIN = "!mlgitops/plain"  # the tag our resolver gives every unquoted, untagged scalar
STR = "tag:yaml.org,2002:str"
_TYPED = {"tag:yaml.org,2002:int": int, "tag:yaml.org,2002:float": float, "tag:yaml.org,2002:bool": bool,
          "tag:yaml.org,2002:null": type(None)}
MAX_DEPTH = 200
MAX_NODES = 1_000_000  # aliases can expand a small text into a huge tree ("billion laughs")


class LoadError(Exception):
    def __init__(self, message: str, line: int = 0, col: int = 0, rule: str = "k8s-yaml"):
        super().__init__(message)
        self.message, self.line, self.col, self.rule = message, line, col, rule


class _Resolver(yaml.resolver.BaseResolver):
    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            return PLAIN
        return super().resolve(kind, value, implicit)


try:
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _Parser = None


def _make_loader(text: str):
    """A loader built per call (no PyYAML globals touched): C parser when available, our resolver."""
    if _Parser is not None:
        class Loader(_Parser, _Resolver):
            def __init__(self, stream):
                _Parser.__init__(self, stream)
                _Resolver.__init__(self)
    else:  # pragma: no cover - PyYAML built without libyaml
        class Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,  # type: ignore[no-redef]
                     yaml.composer.Composer, _Resolver):
            def __init__(self, stream):
                yaml.reader.Reader.__init__(self, stream)
                yaml.scanner.Scanner.__init__(self)
                yaml.parser.Parser.__init__(self)
                yaml.composer.Composer.__init__(self)
                _Resolver.__init__(self)
    return Loader(text)


@dataclass
class Exact:
    """A document read exactly: its data and where each value (and key) starts."""

    data: Any
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    keys: dict[str, tuple[int, int]] = field(default_factory=dict)


def _mark(node) -> tuple[int, int]:
    return node.start_mark.line, node.start_mark.column


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Builder:
    def __init__(self, strict: bool):
        self.strict = strict
        self.out = Exact(None)
        self.nodes = 0

    def build(self, node, pointer: str = "", depth: int = 0) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise LoadError("document nests or expands too deeply (aliases?)", *_mark(node))
        self.out.positions.setdefault(pointer, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, f"{pointer}/{i}", depth + 1) for i, child in enumerate(node.value)]
        return self.mapping(node, pointer, depth)

    def scalar(self, node) -> Any:
        tag = node.tag
        if tag != PLAIN and tag not in _TYPED:
            return node.value  # quoted, !!str, !!timestamp, !!binary or a custom tag: go-yaml keeps the text
        value = resolve_plain(node.value)
        if tag in _TYPED:  # !!int 12 is fine, !!int twelve is an error; !!float 1 is 1.0
            value = float(value) if tag.endswith("float") and type(value) is int else value
            if type(value) is not _TYPED[tag]:
                raise LoadError(f"cannot decode {node.value!r} as a !!{tag.rsplit(':', 1)[1]}", *_mark(node))
        if isinstance(value, float) and not math.isfinite(value):
            raise LoadError(f"{node.value!r} (infinity or NaN) cannot be represented in JSON", *_mark(node))
        return value

    def mapping(self, node, pointer: str, depth: int) -> dict:
        out: dict[str, Any] = {}
        seen: dict[tuple[type, Any], int] = {}
        merges = []
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == PLAIN and key_node.value == MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise LoadError("a map key is a list or a map; JSON keys are strings", *_mark(key_node))
            key = self.scalar(key_node)
            typed = (type(key), key)
            if typed in seen and self.strict:
                raise LoadError(f"duplicate key {key_text(key)!r} (first at line {seen[typed] + 1})",
                                *_mark(key_node), rule="k8s-duplicate-key")
            seen[typed] = key_node.start_mark.line
            text = key_text(key)
            if text is None:
                raise LoadError("a map key is null; JSON keys are strings", *_mark(key_node))
            child = f"{pointer}/{_escape(text)}"
            self.out.keys[child] = _mark(key_node)
            out[text] = self.build(value_node, child, depth + 1)
        for merge in merges:
            self.merge(merge, out, pointer, depth)
        return out

    def merge(self, node, out: dict, pointer: str, depth: int) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise LoadError("a merge key (<<) must refer to a map or a list of maps", *_mark(source))
            for key, value in self.mapping(source, pointer, depth).items():
                out.setdefault(key, value)


def load(text: str, strict: bool = True) -> Exact:
    """Read the first YAML document in text. Raises LoadError with a 0-based line and column."""
    loader = _make_loader(text)
    try:
        node = loader.get_node() if loader.check_node() else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context not in problem:
            problem = f"{problem} ({exc.context})"
        raise LoadError(problem, *((mark.line, mark.column) if mark else (0, 0))) from None
    except yaml.YAMLError as exc:
        raise LoadError(str(exc)) from None
    finally:
        loader.dispose()
    if node is None:
        return Exact(None)
    builder = _Builder(strict)
    builder.out.data = builder.build(node)
    return builder.out
