"""Editing a spec the way a careful person would: only the lines that change, every comment kept.

ruamel.yaml's round trip keeps comments, key order, quoting, flow maps and blank lines. Before any
edit, the file must survive an unedited round trip byte for byte: if it does not (an indentation
style ruamel would rewrite, say), the edit is refused rather than reformatting lines nobody asked to
change. Reading everywhere else stays on the fast composer (spec/yamlsource.py); this module is only
for commands that write specs (`mlgitops set`, `mlgitops promote`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from mlgitops.report.findings import Finding, Position

Path_ = tuple[str, ...]  # keys from the document root, e.g. ("spec", "environments", "prod", "serving")


class EditError(Exception):
    """The spec cannot be edited without touching lines nobody asked to change."""


@dataclass
class Document:
    text: str
    data: CommentedMap
    yaml: YAML

    def dump(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return out.getvalue()


def load(path: str, text: str) -> tuple[Document | None, list[Finding]]:
    try:
        _, indent, block_seq_indent = load_yaml_guess_indent(text)
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 4096
        yaml.representer.add_representer(type(None), _null)  # `ingress: null` stays null, not empty
        yaml.indent(mapping=indent or 2, sequence=(indent or 2) + (block_seq_indent or 0),
                    offset=block_seq_indent or 0)
        data = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = Position(mark.line + 1, mark.column + 1) if mark else Position()
        return None, [Finding("yaml-syntax", f"cannot edit: {getattr(exc, 'problem', None) or exc}", path, where)]
    if not isinstance(data, CommentedMap):
        return None, [Finding("schema", "cannot edit: the spec is not a mapping", path, Position(1, 1))]
    doc = Document(text, data, yaml)
    if doc.dump() != text:
        first = next((i for i, (a, b) in enumerate(zip(doc.dump().splitlines(), text.splitlines(), strict=False)) if a != b),
                     min(len(doc.dump().splitlines()), len(text.splitlines())))
        return None, [Finding("edit-format", "this spec's formatting cannot be edited without rewriting lines "
                              "nobody asked to change", path, Position(first + 1, 1),
                              "edit it by hand, or indent it consistently (mlgitops would keep every other byte)")]
    return doc, []


def _null(representer: Any, _data: Any) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def get(doc: Document, path: Path_) -> Any:
    node = doc.data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _styled(old: Any, new: Any) -> Any:
    """new, quoted the way old was (a version stays a quoted string)."""
    if isinstance(new, str):
        if isinstance(old, DoubleQuotedScalarString):
            return DoubleQuotedScalarString(new)
        if isinstance(old, SingleQuotedScalarString):
            return SingleQuotedScalarString(new)
    return new


FIRST = ("model",)  # a new override of these goes first in its map, where people write it


def _quoted_versions(value: Any) -> Any:
    """Versions inside a new value are quoted strings, as the spec's own are ("1.10" is not 1.1)."""
    if isinstance(value, dict):
        return {k: DoubleQuotedScalarString(v) if k == "version" and isinstance(v, str) else _quoted_versions(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_quoted_versions(v) for v in value]
    return value


def _put(node: CommentedMap, key: str, value: Any) -> None:
    if key in node or key not in FIRST:
        node[key] = value
    else:
        node.insert(0, key, value)


def set_value(doc: Document, path: Path_, value: Any, quote: bool = False) -> None:
    """Set path to value, creating the maps on the way (in the style of their parent: flow stays flow)."""
    node = doc.data
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = CommentedMap()
            if node.fa.flow_style():
                child.fa.set_flow_style()
            _put(node, key, child)
        node = child
    old = node.get(path[-1])
    if quote and isinstance(value, str) and not isinstance(old, (DoubleQuotedScalarString, SingleQuotedScalarString)):
        value = DoubleQuotedScalarString(value)
    _put(node, path[-1], _styled(old, _quoted_versions(value)))


def remove(doc: Document, path: Path_, keep: int) -> bool:
    """Remove path; then remove the maps it leaves empty, but never the first `keep` keys of path."""
    chain: list[dict[str, Any]] = [doc.data]
    for key in path[:-1]:
        node = chain[-1].get(key) if isinstance(chain[-1], dict) else None
        if not isinstance(node, dict):
            return False
        chain.append(node)
    if path[-1] not in chain[-1]:
        return False
    del chain[-1][path[-1]]
    for depth in range(len(path) - 1, keep, -1):
        if chain[depth]:
            break
        del chain[depth - 1][path[depth - 1]]
    return True
