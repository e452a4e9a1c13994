"""Editing a spec the way a careful person would: only the bytes of the values that change.

The text is composed with PyYAML's pure-Python composer, whose marks give each node's character
offsets. An edit replaces exactly the characters of one value, or inserts one key in the style of its
neighbours (block or flow, the file's indentation step, spaces inside braces as Prettier writes
`{ cpu: 250m, memory: 512Mi }`, the file's quotes and line endings); every comment, blank line and
other byte stays. After each edit the text is read back: an edit that would not read back as asked is
an EditError naming the construct at that line, never a silently different file. Reading everywhere
else stays on the fast composer (spec/yamlsource.py); this module is only for commands that write
specs (`mlgitops set`, `mlgitops promote`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mlgitops.report.findings import FatalError, Finding, Position

Path_ = tuple[str, ...]  # keys from the document root, e.g. ("spec", "environments", "prod", "serving")
FIRST = ("model",)  # a new override of these goes first in its map, where people write it
TAB_HINT = ("replace this tab with spaces: the reader that edits in place takes no tab between a key, its value "
            "and a comment (generate reads it)")


class EditError(FatalError):
    """A construct the edit cannot change in place; the message names it and its line."""


class Quoted(str):
    """A string written quoted whatever it holds (a version: "1.10" is not the number 1.1)."""


@dataclass(frozen=True)
class Style:
    newline: str = "\n"
    step: int = 2  # block indentation step
    seq_indent: int = 2  # columns a block list is indented under its key (0: `key:\n- a`)
    pad: str = ""  # " " when flow maps are written `{ a: 1 }`
    quote: str = '"'
    quote_keys: bool = False  # JSON written as YAML: every key and string in double quotes


@dataclass
class Document:
    path: str
    text: str  # as read: what a failed edit restores
    current: str = ""
    bom: str = ""
    cr: bool = False  # lines end in a lone CR (classic Mac OS): edited as LF, written back as CR

    def dump(self) -> str:
        return self.bom + (self.current.replace("\n", "\r") if self.cr else self.current)


def load(path: str, text: str) -> tuple[Document | None, list[Finding]]:
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom):]
    cr = "\r" in body and "\n" not in body  # YAML reads a lone CR as a line break: LF is the same text
    if cr:
        body = body.replace("\r", "\n")  # one character for one: every mark's offset stays
    try:
        root = _compose(body)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = Position.from_mark(mark) if mark else Position()
        tab = mark is not None and body[mark.index:mark.index + 1] == "\t"
        return None, [Finding("yaml-syntax", f"cannot edit: {exc.problem or exc}", path, where,
                              TAB_HINT if tab else "")]
    except yaml.YAMLError as exc:
        return None, [Finding("yaml-syntax", f"cannot edit: {exc}", path, Position(1, 1))]
    if not isinstance(root, MappingNode):
        return None, [Finding("schema", "cannot edit: the spec is not a mapping", path, Position(1, 1))]
    return Document(path, text, body, bom, cr), []


def _compose(text: str) -> Node | None:
    return yaml.compose(text, Loader=yaml.SafeLoader)  # pure Python: marks index characters, not bytes


def get(doc: Document, path: Path_) -> Any:
    node = yaml.safe_load(doc.current)
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


# --- the file's own style -------------------------------------------------------------------------


def style_of(text: str, root: Node) -> Style:
    steps: Counter[int] = Counter()
    seqs: Counter[int] = Counter()
    pads: Counter[str] = Counter()
    quotes: Counter[str] = Counter()
    keys: Counter[bool] = Counter()
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ScalarNode):
            if node.style in ("'", '"'):
                quotes[node.style] += 1
            continue
        if isinstance(node, MappingNode):
            _count_map(text, node, steps, seqs, pads)
            stack.extend(v for pair in node.value for v in pair)
            keys.update(k.style == '"' for k, _ in node.value if isinstance(k, ScalarNode))
        else:
            stack.extend(node.value)
    newline = "\r\n" if "\r\n" in text else "\n"
    step = steps.most_common(1)[0][0] if steps else 2
    seq = seqs.most_common(1)[0][0] if seqs else step
    pad = pads.most_common(1)[0][0] if pads else ""
    quote = "'" if quotes["'"] > quotes['"'] else '"'
    return Style(newline, step, seq, pad, quote, keys[True] > keys[False])


def _count_map(text: str, node: MappingNode, steps: Counter[int], seqs: Counter[int], pads: Counter[str]) -> None:
    if node.flow_style:
        if node.value:
            pads[" " if text[node.start_mark.index + 1:node.start_mark.index + 2] == " " else ""] += 1
        return
    col = node.start_mark.column
    for _, value in node.value:
        if isinstance(value, MappingNode) and not value.flow_style and value.value:
            steps[value.start_mark.column - col] += 1
        elif isinstance(value, SequenceNode) and not value.flow_style and value.value:
            seqs[value.start_mark.column - col] += 1


# --- rendering values ------------------------------------------------------------------------------


def _plain_ok(text: str, flow: bool) -> bool:
    if not text or text != text.strip() or "\n" in text or "\r" in text:
        return False
    probe = f"{{k: {text}}}" if flow else f"k: {text}"
    try:
        return bool(yaml.safe_load(probe) == {"k": text})
    except yaml.YAMLError:
        return False


def _quote(text: str, char: str) -> str:
    if char == "'" and "\n" not in text and "\r" not in text and text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def scalar(value: Any, style: Style, flow: bool, old: str | None = None) -> str:
    """The text of a scalar; a string keeps old's quotes (`"` or `'`), else the file's."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(yaml.safe_dump(value, width=10**6)).split("\n", 1)[0]
    text = str(value)
    if old in ("'", '"'):
        return _quote(text, old)
    if isinstance(value, Quoted) or style.quote_keys or not _plain_ok(text, flow):
        return _quote(text, style.quote)
    return text


def inline(value: Any, style: Style, flow: bool, old: str | None = None, pad: str | None = None) -> str:
    pad = style.pad if pad is None else pad
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{scalar(k, style, True)}: {inline(v, style, True, pad=pad)}" for k, v in value.items())
        return "{" + pad + items + pad + "}"
    if isinstance(value, list):
        return "[" + ", ".join(inline(v, style, True, pad=pad) for v in value) + "]"
    return scalar(value, style, flow, old)


def block_entry(key: str, value: Any, col: int, style: Style) -> list[str]:
    """The lines of `key: value` at column col, nested collections written in block style."""
    head = " " * col + scalar(key, style, False) + ":"
    if isinstance(value, dict) and value:
        return [head, *block_map(value, col + style.step, style)]
    if isinstance(value, list) and value:
        return [head, *block_list(value, col + style.seq_indent, style)]
    return [f"{head} {inline(value, style, False)}"]


def block_map(value: dict[str, Any], col: int, style: Style) -> list[str]:
    return [line for k, v in value.items() for line in block_entry(k, v, col, style)]


def block_list(items: list[Any], col: int, style: Style) -> list[str]:
    lines: list[str] = []
    for item in items:
        if isinstance(item, dict) and item:
            inner = block_map(item, col + 2, style)
        elif isinstance(item, list) and item:
            inner = block_list(item, col + 2, style)
        else:
            inner = [" " * (col + 2) + inline(item, style, False)]
        lines += [" " * col + "- " + inner[0][col + 2:], *inner[1:]]
    return lines


# --- positions ----------------------------------------------------------------------------------------


def _line_start(text: str, i: int) -> int:
    return text.rfind("\n", 0, i) + 1


def _line_end(text: str, i: int) -> int:
    j = text.find("\n", i)
    return len(text) if j < 0 else j + 1


def content_end(text: str, node: Node) -> int:
    """Where the last character of node's content is (a block map's end mark lies past its comments)."""
    if isinstance(node, ScalarNode):
        if node.style in ("|", ">"):
            return len(text[:node.end_mark.index].rstrip())
        return int(node.end_mark.index)
    if node.flow_style or not node.value:
        return int(node.end_mark.index)
    last = node.value[-1]
    return content_end(text, last[1] if isinstance(node, MappingNode) else last)


def _colon(text: str, key: Node, path: str) -> int:
    """The index just after the ':' that follows key."""
    i: int = key.end_mark.index
    while i < len(text):
        if text[i] == ":":
            return i + 1
        if text[i] == "#":
            i = _line_end(text, i)
        elif text[i] in " \t\r\n?":
            i += 1
        else:
            break
    raise _error("a key written in a form the editor cannot follow (a complex key?)", key, path)


def _describe(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return {"|": "literal block scalar (|)", ">": "folded block scalar (>)"}.get(node.style or "", "scalar")
    kind = "map" if isinstance(node, MappingNode) else "list"
    return f"flow {kind}" if node.flow_style else f"block {kind}"


def _error(what: str, node: Node, path: str = "") -> EditError:
    where = Position.from_mark(node.start_mark)
    return EditError(f"{path}:{where.line}:{where.col}: cannot edit in place: {what}",
                     "edit this value by hand; mlgitops keeps every other byte of the file")


# --- finding nodes ---------------------------------------------------------------------------------


def _pair(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    for k, v in mapping.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k, v
    return None


@dataclass
class _Slot:
    """Where path leads in the current text: the deepest node found and how much of path it covers."""

    owner: MappingNode | None  # the mapping holding the last key found
    key: Node | None
    node: Node
    depth: int


def _find(root: Node, path: Path_) -> _Slot:
    slot = _Slot(None, None, root, 0)
    for key in path:
        if not isinstance(slot.node, MappingNode):
            break
        pair = _pair(slot.node, key)
        if pair is None:
            break
        slot = _Slot(slot.node, pair[0], pair[1], slot.depth + 1)
    return slot


def _nest(keys: Path_, value: Any) -> Any:
    for key in reversed(keys):
        value = {key: value}
    return value


# --- the edits --------------------------------------------------------------------------------------


def _quoted_versions(value: Any, quote: bool = False) -> Any:
    """Versions inside a new value are quoted strings, as the spec's own are ("1.10" is not 1.1)."""
    if isinstance(value, dict):
        return {k: _quoted_versions(v, k == "version") for k, v in value.items()}
    if isinstance(value, list):
        return [_quoted_versions(v) for v in value]
    return Quoted(value) if quote and isinstance(value, str) else value


def set_value(doc: Document, path: Path_, value: Any, quote: bool = False) -> None:
    """Set path to value, creating the maps on the way in the style of their parent (flow stays flow)."""
    value = _quoted_versions(value, quote or path[-1] == "version")
    root = _compose(doc.current)
    slot = _find(root, path)
    if slot.key is not None and slot.node.start_mark.index < slot.key.end_mark.index:
        raise _error(f"{'.'.join(path[:slot.depth])} is an alias (*) of the anchor here: changing it would change "
                     "every value that shares the anchor", slot.node, doc.path)
    if slot.depth == len(path):
        _assign(doc, path, slot, value)
    elif isinstance(slot.node, MappingNode):
        _insert(doc, slot.node, path[slot.depth], _nest(path[slot.depth + 1:], value))
    else:  # a null (or scalar) on the way: it becomes the map the rest of path needs
        _replace(doc, slot, _nest(path[slot.depth:], value))
    _check(doc, path, value, slot.node)


def _assign(doc: Document, path: Path_, slot: _Slot, value: Any) -> None:
    node = slot.node
    if isinstance(node, MappingNode) and node.value and isinstance(value, dict) and value:
        old = {k.value for k, _ in node.value if isinstance(k, ScalarNode)}
        for key, sub in value.items():  # key by key: only the values that differ change
            set_value(doc, (*path, key), sub)
        for key in sorted(old - set(value)):
            _remove_key(doc, (*path, key))
        return
    if _same(doc, node, value):
        return
    _replace(doc, slot, value)


def _same(doc: Document, node: Node, value: Any) -> bool:
    """Whether node already holds value as written (a quoted "3" is not rewritten as 3)."""
    if _plain(node) != _plain(value):
        return False
    return not isinstance(value, Quoted) or getattr(node, "style", None) in ("'", '"')


def _plain(value: Any) -> str:
    """value (or a node's value) as canonical JSON: 1, true and "1" differ."""
    if isinstance(value, Node):
        value = yaml.SafeLoader("").construct_document(value)
    return json.dumps(value, sort_keys=True, default=str)


def _replace(doc: Document, slot: _Slot, value: Any) -> None:
    """Replace the value at slot with value: in place when both fit on the value's own characters."""
    text, node = doc.current, slot.node
    style = style_of(text, _compose(text))
    flow = bool(slot.owner is not None and slot.owner.flow_style)
    old_quote = node.style if isinstance(node, ScalarNode) else None
    nested = isinstance(value, (dict, list)) and bool(value)
    if flow or (isinstance(node, (MappingNode, SequenceNode)) and node.flow_style) or (
            isinstance(node, ScalarNode) and node.style not in ("|", ">") and not nested):
        pad = _pad_of(text, node, style) if isinstance(node, MappingNode) else None
        doc.current = text[:node.start_mark.index] + inline(value, style, flow, old_quote, pad) + \
            text[node.end_mark.index:]
        return
    if slot.key is None or slot.owner is None:
        raise _error(f"the {_describe(node)} at the document root", node, doc.path)
    start, end = _colon(text, slot.key, doc.path), content_end(text, node)
    if not nested:
        new = " " + inline(value, style, False)
    else:
        col = slot.owner.start_mark.column
        lines = block_map(value, col + style.step, style) if isinstance(value, dict) else \
            block_list(value, col + style.seq_indent, style)
        new = style.newline + style.newline.join(lines)
    doc.current = text[:start] + new + text[end:]


def _pad_of(text: str, node: MappingNode, style: Style) -> str:
    """The spaces inside a flow map's braces, as written there (`{  a: 1  }` keeps two)."""
    if not node.value:
        return style.pad
    inside = text[node.start_mark.index + 1:node.value[0][0].start_mark.index]
    if not inside.strip(" "):
        return inside
    return " " if inside[:1] in ("\n", "\r", " ") else ""


def _separator(text: str, mapping: MappingNode, newline: str) -> str:
    """What separates the entries of a flow map: `, `, `,  `, or a comma and a new line at the key's column."""
    first_key = mapping.value[0][0]
    if len(mapping.value) > 1:
        between = text[content_end(text, mapping.value[0][1]):mapping.value[1][0].start_mark.index]
        if between.strip(" ") == ",":
            return between
    if first_key.start_mark.line != mapping.start_mark.line:
        return "," + newline + " " * int(first_key.start_mark.column)
    return ", "


def _insert(doc: Document, mapping: MappingNode, key: str, value: Any) -> None:
    text = doc.current
    style = style_of(text, _compose(text))
    if mapping.flow_style:
        doc.current = _insert_flow(text, mapping, key, value, style)
        return
    col = mapping.start_mark.column
    lines = block_entry(key, value, col, style)
    first = mapping.value[0][0]
    at_first = key in FIRST and not text[_line_start(text, first.start_mark.index):first.start_mark.index].strip()
    if at_first:
        at = _line_start(text, first.start_mark.index)
        doc.current = text[:at] + style.newline.join(lines) + style.newline + text[at:]
        return
    at = _line_end(text, content_end(text, mapping))
    if text[:at].endswith("\n"):
        doc.current = text[:at] + style.newline.join(lines) + style.newline + text[at:]
    else:  # the last line of a file without a final newline: the file still ends without one
        doc.current = text[:at] + style.newline + style.newline.join(lines) + text[at:]


def _insert_flow(text: str, mapping: MappingNode, key: str, value: Any, style: Style) -> str:
    pad = _pad_of(text, mapping, style)
    entry = f"{scalar(key, style, True)}: {inline(value, style, True, pad=pad)}"
    start, end = mapping.start_mark.index, mapping.end_mark.index
    if not mapping.value:
        return text[:start] + "{" + pad + entry + pad + "}" + text[end:]
    first_key, last_value = mapping.value[0][0], mapping.value[-1][1]
    sep = _separator(text, mapping, style.newline)
    if key in FIRST:
        at = first_key.start_mark.index
        return text[:at] + entry + sep + text[at:]
    at = content_end(text, last_value)
    return text[:at] + sep + entry + text[at:]


def remove(doc: Document, path: Path_, keep: int) -> bool:
    """Remove path; then remove the maps it leaves empty, but never the first `keep` keys of path."""
    root = _compose(doc.current)
    if _find(root, path).depth != len(path):
        return False
    target = path
    while len(target) - 1 > keep and _keys(root, target[:-1]) == 1:
        target = target[:-1]
    if len(target) - 1 >= 1 and _keys(root, target[:-1]) == 1:  # a kept map would be left empty: {}
        _replace(doc, _find(root, target[:-1]), {})
    else:
        _remove_key(doc, target)
    _check_gone(doc, path)
    return True


def _keys(root: Node, path: Path_) -> int:
    node = _find(root, path).node
    return len(node.value) if isinstance(node, MappingNode) else 0


def _remove_key(doc: Document, path: Path_) -> None:
    text = doc.current
    slot = _find(_compose(text), path)
    owner, key, node = slot.owner, slot.key, slot.node
    assert owner is not None and key is not None
    index = next(i for i, (k, _) in enumerate(owner.value) if k is key)
    if len(owner.value) == 1:
        _replace(doc, _find(_compose(text), path[:-1]), {})
        return
    if owner.flow_style:
        if index + 1 < len(owner.value):
            start, end = key.start_mark.index, owner.value[index + 1][0].start_mark.index
        else:
            start, end = content_end(text, owner.value[index - 1][1]), content_end(text, node)
        doc.current = text[:start] + text[end:]
        return
    start = _line_start(text, key.start_mark.index)
    if text[start:key.start_mark.index].strip():  # `- key: v` (the first key of a list item): join the next key
        doc.current = text[:key.start_mark.index] + text[owner.value[index + 1][0].start_mark.index:]
        return
    doc.current = text[:start] + text[_line_end(text, content_end(text, node)):]


def _check(doc: Document, path: Path_, value: Any, node: Node) -> None:
    try:
        got = yaml.safe_load(doc.current)
    except yaml.YAMLError:
        got = None
    for key in path:
        got = got.get(key) if isinstance(got, dict) else _MISSING
    if _plain(got) != _plain(value):
        raise _error(f"setting {'.'.join(path)} here (a {_describe(node)}) would not read back as written",
                     node, doc.path)


_MISSING = object()


def _check_gone(doc: Document, path: Path_) -> None:
    node = yaml.safe_load(doc.current)
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict) and path[-1] in node:
        raise EditError(f"{doc.path}: cannot remove {'.'.join(path)} in place", "edit it by hand")
