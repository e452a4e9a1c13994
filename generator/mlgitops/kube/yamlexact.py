"""The exact (slow) reader: one YAML document to the JSON data kubeconform would see, with positions.

PyYAML's C parser builds the node tree (libyaml, the parser go-yaml v2 was ported from); plain
scalars are resolved by goyaml.resolve_plain instead of PyYAML's own YAML 1.1 rules, which differ
from Go's (PyYAML reads `1:20` as 80 and `1e3` as a string). Duplicate keys are an error in strict
mode (kubeconform -strict uses yaml.UnmarshalStrict) and last-wins otherwise; merge keys (`<<`) fill
in keys not written explicitly; `.inf`/`.nan` and null keys cannot become JSON and are errors.
Every value's position is kept (JSON pointer -> 0-based line and column within the text; lines are
counted at LF, as editors count them, also where YAML 1.1 breaks lines at CR, NEL, LS or PS).

What cannot be read the way Go reads it is an error, never a guess: a character Go's reader refuses
(libyaml refuses the same ones), a byte order mark after the first character (go-yaml's reading of one
depends on where its buffer starts: goyaml.py), and nesting deeper than MAX_DEPTH. A text that could
nest that deep is first walked as events, which does not recurse: composing a node tree does, and
overflows the C stack (a crash, not an exception) past some tens of thousands of levels.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlgitops.kube.goyaml import BOM, MERGE, first_unreadable, key_text, resolve_plain

PLAIN = "!mlgitops/plain"  # the tag our resolver gives every unquoted, untagged scalar
STR = "tag:yaml.org,2002:str"
_TYPED = {"tag:yaml.org,2002:int": int, "tag:yaml.org,2002:float": float, "tag:yaml.org,2002:bool": bool,
          "tag:yaml.org,2002:null": type(None)}
MAX_DEPTH = 200  # go-yaml v2 allows 10,000; no Kubernetes object comes near 200
MAX_NODES = 1_000_000  # aliases can expand a small text into a huge tree ("billion laughs")
# Nesting grows by one level per `[` or `{`, and in block style by at most one per column of a line's
# leading run of spaces and indicators (plus two): a text with fewer of both cannot pass MAX_DEPTH.
_HALF_DEPTH = MAX_DEPTH // 2 - 1
_DEEP_RUN = re.compile(rf"(?:\A|[\n\r\x85\u2028\u2029])[ ?:-]{{{_HALF_DEPTH}}}")  # after any YAML 1.1 break
_OTHER_BREAKS = re.compile("[\x85\u2028\u2029]|\r(?!\n)")  # line breaks for YAML 1.1, not for editors


class LoadError(Exception):
    def __init__(self, message: str, line: int = 0, col: int = 0, rule: str = "k8s-yaml"):
        super().__init__(message)
        self.message, self.line, self.col, self.rule = message, line, col, rule


class _Resolver(yaml.resolver.BaseResolver):  # type: ignore[misc]  # PyYAML ships no type hints
    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return PLAIN
        return super().resolve(kind, value, implicit)


try:
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _Parser = None


def _make_loader(text: str) -> Any:
    """A loader built per call (no PyYAML globals touched): C parser when available, our resolver."""
    if _Parser is not None:
        class Loader(_Parser, _Resolver):  # type: ignore[misc]
            def __init__(self, stream: Any) -> None:
                _Parser.__init__(self, stream)
                _Resolver.__init__(self)
    else:  # pragma: no cover - PyYAML built without libyaml
        class Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,  # type: ignore[no-redef, misc]
                     yaml.composer.Composer, _Resolver):  # type: ignore[misc]
            def __init__(self, stream: Any) -> None:
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


class _Lines:
    """0-based (line, column) of a mark or a character index, lines counted at LF only."""

    def __init__(self, text: str):
        self.text = text
        self.starts: list[int] | None = None
        if _OTHER_BREAKS.search(text):  # libyaml's own line numbers would count the other breaks
            self.starts = self._starts()

    def _starts(self) -> list[int]:
        return [0] + [m.end() for m in re.finditer("\n", self.text)]

    def mark(self, mark: Any) -> tuple[int, int]:
        return (mark.line, mark.column) if self.starts is None else self.index(mark.index)

    def index(self, index: int) -> tuple[int, int]:
        starts = self.starts if self.starts is not None else self._starts()
        line = bisect.bisect_right(starts, index) - 1
        return line, index - starts[line]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _too_deep() -> str:
    return f"the document nests deeper than {MAX_DEPTH} levels"


class _Builder:
    def __init__(self, strict: bool, lines: _Lines):
        self.strict = strict
        self.lines = lines
        self.out = Exact(None)
        self.nodes = 0

    def at(self, node: Any) -> tuple[int, int]:
        return self.lines.mark(node.start_mark)

    def build(self, node: Any, pointer: str = "", depth: int = 0) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH:
            raise LoadError(_too_deep(), *self.at(node))
        if self.nodes > MAX_NODES:
            raise LoadError(f"the document expands to more than {MAX_NODES:,} values (aliases?)", *self.at(node))
        self.out.positions.setdefault(pointer, self.at(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, f"{pointer}/{i}", depth + 1) for i, child in enumerate(node.value)]
        return self.mapping(node, pointer, depth)

    def scalar(self, node: Any) -> Any:
        tag = node.tag
        if tag != PLAIN and tag not in _TYPED:
            return node.value  # quoted, !!str, !!timestamp, !!binary or a custom tag: go-yaml keeps the text
        value = resolve_plain(node.value)
        if tag in _TYPED:  # !!int 12 is fine, !!int twelve is an error; !!float 1 is 1.0
            value = float(value) if tag.endswith("float") and type(value) is int else value
            if type(value) is not _TYPED[tag]:
                raise LoadError(f"cannot decode {node.value!r} as a !!{tag.rsplit(':', 1)[1]}", *self.at(node))
        if isinstance(value, float) and not math.isfinite(value):
            raise LoadError(f"{node.value!r} (infinity or NaN) cannot be represented in JSON", *self.at(node))
        return value

    def mapping(self, node: Any, pointer: str, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[tuple[type, Any], int] = {}
        merges = []
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == PLAIN and key_node.value == MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise LoadError("a map key is a list or a map; JSON keys are strings", *self.at(key_node))
            key = self.scalar(key_node)
            typed = (type(key), key)
            if typed in seen and self.strict:
                raise LoadError(f"duplicate key {key_text(key)!r} (first at line {seen[typed] + 1})",
                                *self.at(key_node), rule="k8s-duplicate-key")
            seen[typed] = self.at(key_node)[0]
            text = key_text(key)
            if text is None:
                raise LoadError("a map key is null; JSON keys are strings", *self.at(key_node))
            child = f"{pointer}/{_escape(text)}"
            self.out.keys[child] = self.at(key_node)
            out[text] = self.build(value_node, child, depth + 1)
        for merge in merges:
            self.merge(merge, out, pointer, depth)
        return out

    def merge(self, node: Any, out: dict[str, Any], pointer: str, depth: int) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise LoadError("a merge key (<<) must refer to a map or a list of maps", *self.at(source))
            for key, value in self.mapping(source, pointer, depth).items():
                out.setdefault(key, value)


def _refused_character(text: str, lines: _Lines) -> LoadError:
    index = first_unreadable(text)
    if index is None:  # pragma: no cover - libyaml and go-yaml refuse the same characters
        return LoadError("a character YAML does not allow")
    code = ord(text[index])
    fix = f"remove it, or write it as \\u{code:04x} in a double-quoted string" if code < 0xA0 else "remove it"
    return LoadError(f"character U+{code:04X} is not allowed in YAML (Go's YAML reader refuses it); {fix}",
                     *lines.index(index))


def _syntax_error(exc: yaml.YAMLError, lines: _Lines) -> LoadError:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return LoadError(str(exc).splitlines()[0])
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.context not in problem:
        problem = f"{problem} ({exc.context})"
    return LoadError(problem, *(lines.mark(mark) if mark else (0, 0)))


def _check_depth(text: str, lines: _Lines) -> None:
    """Walk the first document's events (no recursion) and refuse one that nests past MAX_DEPTH."""
    loader = _make_loader(text)
    try:
        depth = 0
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.NodeEvent) and depth > MAX_DEPTH:
                raise LoadError(_too_deep(), *lines.mark(event.start_mark))
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.DocumentEndEvent):
                return
    finally:
        loader.dispose()


def _may_nest_too_deep(text: str) -> bool:
    return text.count("[") + text.count("{") > _HALF_DEPTH or _DEEP_RUN.search(text) is not None


def load(text: str, strict: bool = True) -> Exact:
    """Read the first YAML document in text. Raises LoadError with a 0-based line and column."""
    lines = _Lines(text)
    bom = text.find(BOM, 1)
    if bom > 0:
        raise LoadError("a byte order mark (U+FEFF) inside the document: Go's YAML reader may skip it or keep it "
                        "(what kubectl and the API server read is not certain); remove it", *lines.index(bom))
    loader = None
    try:
        if _may_nest_too_deep(text):
            _check_depth(text, lines)
        loader = _make_loader(text)
        node = loader.get_node() if loader.check_node() else None
    except yaml.reader.ReaderError:
        raise _refused_character(text, lines) from None
    except UnicodeEncodeError:  # a lone surrogate: only from a str made in Python, never from a file
        raise _refused_character(text, lines) from None
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, lines) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return Exact(None)
    builder = _Builder(strict, lines)
    builder.out.data = builder.build(node)
    return builder.out
