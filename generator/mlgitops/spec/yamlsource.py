"""Read one YAML file into plain data plus a source map, turning YAML's pitfalls into findings.

PyYAML's C composer is used for speed (nodes keep their marks); the node tree is then walked once to
build plain Python data and a map from JSON pointer to position. Anchors and aliases are refused
(they make YAML bombs possible), as are duplicate keys, several documents and non-string keys.

The C composer recurses once per nesting level and overflows the C stack at ~25,000 levels (a
segfault, before any depth check on the nodes could run). So a text that could nest deeper than
SAFE_NESTING (a cheap bound: its brackets, plus two levels per column of its longest line) is first
read as an event stream, which the parser produces without recursing, and refused at the first level
past MAX_DEPTH. Strings holding a control character (NUL, ESC, DEL, C1) are refused at their line:
the API server or kustomize refuses them later, far from the spec. So are NEL, LS and PS anywhere: line breaks
to YAML 1.1 alone, they would shift every later position off the lines an editor shows.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, cast

import yaml

from mlgitops.report.findings import Finding, Position, clip, quoted
from mlgitops.spec.document import Document as Document
from mlgitops.spec.document import join as join
from mlgitops.spec.document import pointer_escape as pointer_escape

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 64
SAFE_NESTING = 2000  # levels the C composer recurses through safely (it overflows at ~25,000)
# C0 but tab, newline and carriage return; DEL; C1 but NEL (YAML's printable set, as kustomize reads it)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")


class _Walker:
    def __init__(self, path: str, loader: Any) -> None:
        self.path = path
        self.loader = loader
        self.doc = Document(path, None)
        self.findings: list[Finding] = []
        self.seen: set[int] = set()

    def error(self, rule: str, mark: Any, message: str, hint: str = "") -> None:
        self.findings.append(Finding(rule, message, self.path, Position.from_mark(mark), hint))

    def walk(self, node: Any, pointer: str, depth: int = 0) -> Any:
        self.doc.values[pointer] = Position.from_mark(node.start_mark)
        if id(node) in self.seen:  # an alias: already reported at its anchor; never expanded
            return None
        if depth > MAX_DEPTH:
            self.error("yaml-depth", node.start_mark, f"nesting deeper than {MAX_DEPTH} levels")
            return None
        self.seen.add(id(node))
        if self.explicit_tag(node):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.error("yaml-tag", node.start_mark, f"tag '{tag}' is not allowed",
                       "remove the tag and write the value plainly (in quotes for a string)")
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, pointer)
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, join(pointer, i), depth + 1) for i, item in enumerate(node.value)]
        return self.mapping(node, pointer, depth)

    def explicit_tag(self, node: Any) -> bool:
        """Whether the author wrote a tag (`!!int`, `!local`) instead of letting YAML resolve the value."""
        if isinstance(node, yaml.ScalarNode):
            implicit = (True, False) if not node.style else (False, True)
            return cast("bool", node.tag != self.loader.resolve(yaml.ScalarNode, node.value, implicit))
        default = "tag:yaml.org,2002:map" if isinstance(node, yaml.MappingNode) else "tag:yaml.org,2002:seq"
        return cast("bool", node.tag != default)

    def control(self, node: Any, text: str, what: str = "value") -> None:
        found = CONTROL.search(text)
        if found:
            char = found.group()
            self.error("control-character", node.start_mark,
                       f"the {what} holds the control character U+{ord(char):04X} at offset {found.start()}",
                       "remove it: the API server and kustomize refuse control characters (tab and newline are fine)")

    def scalar(self, node: Any, pointer: str) -> Any:
        if node.tag == "tag:yaml.org,2002:timestamp" or node.tag == "tag:yaml.org,2002:str":
            value: Any = node.value  # a string is its node's text (what the constructor would return, slower)
        else:
            try:
                value = self.loader.construct_object(node)
            except ValueError:  # an integer past Python's 4,300 digits (int_max_str_digits): no value has them
                self.error("yaml-number", node.start_mark, f"a number of {len(node.value):,} characters cannot be read",
                           "write a number of a sensible size (a quantity such as 64Gi, not its digits)")
                return None
        if isinstance(value, (int, float)) and ":" in node.value:  # YAML 1.1's base 60: 1:30 is 90, to no one's intent
            self.error("yaml-sexagesimal", node.start_mark, f"{node.value} reads as {value} (YAML 1.1 counts in base 60 "
                       "across ':')", f'write the number you mean, or "{node.value}" in quotes for text')
        if isinstance(value, (datetime.date, bytes)):
            value = node.value
        if isinstance(value, str):
            self.control(node, value)
        if not node.style and node.tag != "tag:yaml.org,2002:str":
            self.doc.plain[pointer] = node.value
        return value

    def mapping(self, node: Any, pointer: str, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.error("yaml-alias", key_node.start_mark, "merge keys (<<) are not allowed",
                           "write the keys out in full")
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                text = getattr(key_node, "value", "")
                shown = text if isinstance(text, str) else "a collection"
                self.error("yaml-key-type", key_node.start_mark, f"key {quoted(shown)} is not a string",
                           f'quote it: "{clip(shown)}"' if isinstance(text, str) else "")
                continue
            key = key_node.value
            self.control(key_node, key, "key")
            child = join(pointer, key)
            if key in out:
                first = self.doc.keys[child]
                self.error("yaml-duplicate-key", key_node.start_mark,
                           f"duplicate key {quoted(key)} (first defined at line {first.line})",
                           "remove one of them: YAML parsers disagree on which one wins")
                continue
            self.doc.keys[child] = Position.from_mark(key_node.start_mark)
            out[key] = self.walk(value_node, child, depth + 1)
        return out


def _decode(path: str, raw: bytes) -> tuple[str | None, list[Finding]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        return None, [Finding("yaml-encoding", f"file is not UTF-8 (byte 0x{raw[exc.start]:02x})", path,
                              Position(line, col), "save the file as UTF-8")]
    return text.removeprefix("\ufeff"), []


# Line breaks to YAML 1.1 (PyYAML) but to no editor, nor to YAML 1.2: NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR.
_ODD_BREAK = re.compile("[\x85\u2028\u2029]")


def _odd_break(path: str, text: str) -> Finding | None:
    """The first NEL, LS or PS, at the line and column an editor shows. YAML 1.1 ends a line there (a comment
    holding one goes on as YAML), so every later position would name a line the editor does not have."""
    found = _ODD_BREAK.search(text)
    if found is None:
        return None
    before = text[: found.start()]
    lines = re.split("\r\n|\r|\n", before)
    char = found.group()
    return Finding("control-character", f"the character U+{ord(char):04X} ({_BREAK_NAMES[char]}) is a line break to "
                   "YAML 1.1, not to most editors nor YAML 1.2", path, Position(len(lines), len(lines[-1]) + 1),
                   f"delete it (in a double-quoted string write \\u{ord(char):04X} instead)")


_BREAK_NAMES = {"\x85": "NEXT LINE", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}


def _char_at(text: str, mark: Any) -> str:
    lines = text.split("\n")
    if mark is None or mark.line >= len(lines):
        return ""
    line = lines[mark.line]
    return line[mark.column] if mark.column < len(line) else ""


def _clamped(text: str, mark: Any) -> Position:
    """A mark's position, moved back to the end of the last line when it lies past the end of the file."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if mark.line >= len(lines):
        return Position(max(len(lines), 1), len(lines[-1]) + 1 if lines else 1)
    return Position.from_mark(mark)


_INDENTATION = ("expected key", "mapping values are not allowed", "expected <block end>",
                "could not find expected ':'")


def _syntax_finding(path: str, text: str, exc: yaml.MarkedYAMLError) -> Finding:
    mark = exc.problem_mark or exc.context_mark
    rule, problem, hint = _syntax_problem(exc, _char_at(text, mark))
    if rule == "yaml-syntax" and any(s in problem for s in _INDENTATION):
        hint = "check the indentation of this line and the lines above it: keys of one mapping line up"
    position = _clamped(text, mark) if mark else Position(1, 1)
    return Finding(rule, problem, path, position, hint)


def _problem_text(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem, with where its context starts when it has one."""
    if exc.problem and exc.context and exc.context_mark:
        start = Position.from_mark(exc.context_mark)
        return f"{exc.problem} ({exc.context} that starts at line {start.line}, column {start.col})"
    return str(exc.problem or exc.context or "invalid YAML")


def _syntax_problem(exc: yaml.MarkedYAMLError, char: str) -> tuple[str, str, str]:
    """Rule, message and hint of a YAML syntax error: tabs and multiple documents have their own rules."""
    problem = _problem_text(exc)
    if char == "\t" or "'\\t'" in problem:
        return "yaml-tab", "tab character in indentation", "indent with spaces; YAML does not allow tabs there"
    if "undefined alias" in problem:  # `*name` before (or without) its `&name`: refused either way
        return ("yaml-alias", "anchors and aliases are not allowed (this alias names no anchor above it)",
                "write the value out in full; aliases allow 'billion laughs' YAML bombs")
    if "single document" in str(exc.context or "") or "another document" in problem:
        return ("yaml-multiple-documents", "several YAML documents in one file",
                "keep one document per file (remove the '---' separator)")
    if exc.context and exc.context not in problem:
        problem = f"{problem} ({exc.context})"
    return "yaml-syntax", problem, ""


def _reader_finding(path: str, text: str, exc: yaml.reader.ReaderError) -> Finding:
    before = text[: exc.position]
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    return Finding("yaml-syntax", f"unacceptable character #x{exc.character:04x}: control characters are not "
                   "allowed", path, Position(line, col), "delete it: most editors do not show control characters")


def _anchors(path: str, text: str) -> list[Finding]:
    """Every anchor, found from the event stream (only when the text could hold one)."""
    if "&" not in text:
        return []
    found = []
    for event in yaml.parse(text, Loader=_Loader):
        if getattr(event, "anchor", None) and not isinstance(event, yaml.AliasEvent):
            found.append(Finding("yaml-alias", "anchors and aliases are not allowed", path,
                                 Position.from_mark(event.start_mark),
                                 "write the value out in full; aliases allow 'billion laughs' YAML bombs"))
    return found


def nesting_bound(text: str) -> int:
    """An upper bound on how deep text can nest: a flow level needs a bracket; a block level needs a
    column more than its parent, or (a sequence in a mapping, `- - x`) at most one more at the same one."""
    longest = max(map(len, text.split("\n")), default=0)
    return text.count("[") + text.count("{") + 2 * longest + 2


def too_deep(path: str, text: str) -> Finding | None:
    """The first level past MAX_DEPTH, found from the event stream (no recursion), or None. Only a text
    that could nest past SAFE_NESTING is streamed: any other the composer reads safely."""
    if nesting_bound(text) <= SAFE_NESTING:
        return None
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH + 1:
                    return Finding("yaml-depth", f"nesting deeper than {MAX_DEPTH} levels", path,
                                   Position.from_mark(event.start_mark))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:  # reported by the real parse, which stops at the same place, this shallow
        return None
    return None


def load(path: str, raw: bytes) -> tuple[Document | None, list[Finding]]:
    """Parse one YAML document. Returns (document, findings); document is None when unusable."""
    text, findings = _decode(path, raw)
    if text is None:
        return None, findings
    deep = too_deep(path, text) or _odd_break(path, text)
    if deep is not None:
        return None, [deep]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_finding(path, text, exc)]
    except yaml.reader.ReaderError as exc:
        return None, [_reader_finding(path, text, exc)]
    except yaml.YAMLError as exc:
        return None, [Finding("yaml-syntax", str(exc), path, Position(1, 1))]
    finally:
        loader.dispose()
    if node is None:
        return None, [Finding("yaml-empty", "the file holds no YAML document", path, Position(1, 1))]
    walker = _Walker(path, loader)
    walker.doc.data = walker.walk(node, "")
    return walker.doc, _anchors(path, text) + walker.findings
