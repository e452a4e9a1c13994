"""A stream of Kubernetes manifests (one file, standard input or kustomize's output) -> documents.

The stream is split the way kubeconform splits it: at every line starting with `---` (the rest of
that line is ignored), so document indices and verdicts match. Each document is parsed with yaml-rs
(~50,000 small documents/s here) unless goyaml.needs_exact() says a spelling could read differently
under go-yaml v2; those, and any document yaml-rs rejects, go through the exact reader, which also
gives line and column for error messages. needs_exact() is asked only of the documents of a group
(GROUP documents) that goyaml.screen() cannot clear in one look over the group's text; the answer is
the same (tests/kube/test_goyaml_screen.py), at about a third of the cost. A document that is empty, holds only comments or is
`null` is no resource at all. iter_read() is iter_stream() without a Document for what yaml-rs reads:
validator.validate_text() judges those straight from their data, and makes a Document only for the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml_rs

from mlgitops.kube.goyaml import ends_in_block_header, needs_exact, screen

if TYPE_CHECKING:
    from mlgitops.kube import yamlexact

_SEPARATOR = re.compile(r"\n---[^\n]*(?:\n|\Z)")
# A line holding something: not blank, not a comment, not a bare `---` or `...` marker.
_CONTENT = re.compile(r"^(?![ \t]*(?:#|\r?$)|---[ \t]*(?:#[^\n]*)?\r?$|\.\.\.(?:[ \t]|\r?$))", re.MULTILINE)
_MAYBE_NOT_CONTENT = frozenset(" \t#\r\n-.") | {""}  # first characters of the lines _CONTENT passes over
_FIRST_AT = re.compile(r"\(first at line (\d+)\)")
_DUPLICATES = {True: yaml_rs.DuplicateKeyPolicy.Error, False: yaml_rs.DuplicateKeyPolicy.LastWins}


@dataclass
class Document:
    """One YAML document of a stream: parsed data, or the reason it could not be parsed."""

    source: str  # file path, "-" for standard input, or a label such as an overlay path
    index: int  # 0-based position of the document in its stream
    line: int = 0  # 1-based line of its first content line (0 when unknown)
    data: Any = None
    text: str | None = None  # the document's own text, to find positions later
    text_line: int = 1  # line of text's first line in the source
    error: str = ""
    error_rule: str = ""
    error_line: int = 0
    error_col: int = 0

    @property
    def empty(self) -> bool:
        return not self.error and self.data is None


def split_stream(text: str) -> list[tuple[int, str]]:
    """(1-based line of the chunk's first line, chunk) for each document, kubeconform's way."""
    return [(line, text[start:end]) for line, start, end in spans(text)]


def spans(text: str) -> list[tuple[int, int, int]]:
    """(1-based line of the chunk's first line, start, end) of each document's chunk in text."""
    out, start, line = [], 0, 1
    for match in _SEPARATOR.finditer(text):
        out.append((line, start, match.start()))
        line += text.count("\n", start, match.end())
        start = match.end()
    if start < len(text):
        out.append((line, start, len(text)))
    return out


# Documents screened together (goyaml.screen). The screen's cost is mostly per distinct line, and a group of 256
# generated documents holds few more distinct lines than one of 64: 256 cost ~13,000 fewer instructions a document
# (~5%). A group the screen refuses is screened again in groups of SUBGROUP, so a risky document still sends
# at most SUBGROUP documents to needs_exact().
GROUP = 256
SUBGROUP = 64


def chunks_and_flags(text: str, found: list[tuple[int, int, int]]) -> list[tuple[str, bool]]:
    """Each chunk with goyaml.needs_exact() of it, from one screen of each group of GROUP chunks (and of its
    groups of SUBGROUP when it holds a risky one)."""
    return [pair for first in range(0, len(found), GROUP) for pair in _group(text, found[first:first + GROUP])]


def _group(text: str, group: list[tuple[int, int, int]]) -> list[tuple[str, bool]]:
    """The chunks of consecutive spans, each with needs_exact() of it: in a group the screen passes,
    only a chunk ending in a block header can need the exact reader."""
    whole = text[group[0][1]:group[-1][2]]
    if screen(whole):
        if len(group) > SUBGROUP:
            return [pair for first in range(0, len(group), SUBGROUP) for pair in _group(text, group[first:first + SUBGROUP])]
        return [(text[start:end], needs_exact(text[start:end])) for _, start, end in group]
    chunks = [text[start:end] for _, start, end in group]
    if "|" not in whole and ">" not in whole:  # no block header anywhere
        return [(chunk, False) for chunk in chunks]
    return [(chunk, ends_in_block_header(chunk) and needs_exact(chunk)) for chunk in chunks]


def content_line(chunk: str, line: int) -> int:
    """The line of a document's first content line (its chunk starts at `line`), or `line` when it has none."""
    if chunk[:1] not in _MAYBE_NOT_CONTENT:  # the first line holds something (most documents): no search
        return line
    content = _CONTENT.search(chunk)  # None for blanks and comments alone; still read: Go refuses a tab there
    return line + chunk.count("\n", 0, content.start()) if content else line


REFUSED = object()  # what fast_read() returns for a text yaml-rs refuses


def fast_read(chunk: str, strict: bool = True) -> Any:
    """yaml-rs's reading of a document that needs no exact reader, or REFUSED (then the exact reader gives
    the message, with its position)."""
    try:
        return yaml_rs.loads(chunk, parse_datetime=False, duplicate_key_policy=_DUPLICATES[strict])
    except _REFUSALS:
        return REFUSED


_REFUSALS = (yaml_rs.YAMLDecodeError, ValueError, TypeError)  # how yaml-rs refuses a document


def parse_document(chunk: str, source: str = "", index: int = 0, line: int = 1,
                   strict: bool = True, exact: bool | None = None) -> Document:
    """Parse one document's text (no `---` separators inside) into a Document. `exact`: whether it
    needs the exact reader (goyaml.needs_exact), when the caller knows already."""
    doc = Document(source, index, content_line(chunk, line), None, chunk, line)  # data, text, text_line
    if not (needs_exact(chunk) if exact is None else exact):
        data = fast_read(chunk, strict)
        if data is not REFUSED:
            doc.data = data
            return doc
    from mlgitops.kube import yamlexact  # PyYAML, imported only when a document needs it (~0.05 s)

    try:
        doc.data = yamlexact.load(chunk, strict).data
    except yamlexact.LoadError as exc:
        # line numbers inside the message count from the document; make them count from the file
        doc.error = _FIRST_AT.sub(lambda m: f"(first at line {int(m[1]) + line - 1})", exc.message)
        doc.error_rule = exc.rule
        doc.error_line, doc.error_col = line + exc.line, exc.col + 1
    return doc


def parse_stream(text: str, source: str = "", strict: bool = True) -> list[Document]:
    """Every document of a multi-document YAML (or JSON) text, empty ones included."""
    return list(iter_stream(text, source, strict))


def iter_stream(text: str, source: str = "", strict: bool = True) -> Iterator[Document]:
    """parse_stream() one group of documents at a time: what the caller is done with can be freed."""
    for item in iter_read(text, source, strict):
        yield item if isinstance(item, Document) else to_document(item, source)


# A document yaml-rs read: (index, line of its first content line, its text, line of the text's first line, data).
Read = tuple[int, int, str, int, Any]


def iter_read(text: str, source: str = "", strict: bool = True) -> Iterator[Document | Read]:
    """iter_stream() without a Document for each document the fast parser reads (the common case: a
    Document costs as much as judging a valid resource): a Read tuple for those, to_document() makes its
    Document when the caller needs one; the Document of every other document (needing the exact reader,
    or refused by yaml-rs and then read by the exact reader, which gives the error and its position)."""
    text = text.removeprefix("\ufeff")
    found = spans(text)
    loads, policy = yaml_rs.loads, _DUPLICATES[strict]  # fast_read(), inlined: it runs for every document
    for first in range(0, len(found), GROUP):
        group = found[first:first + GROUP]
        for index, ((line, _, _), (chunk, exact)) in enumerate(zip(group, _group(text, group), strict=True), first):
            if not exact:
                try:
                    data = loads(chunk, parse_datetime=False, duplicate_key_policy=policy)
                except _REFUSALS:
                    pass  # refused: the exact reader gives the message, with its position
                else:
                    yield index, content_line(chunk, line), chunk, line, data
                    continue
            yield parse_document(chunk, source, index, line, strict, exact=True)


def to_document(read: Read, source: str) -> Document:
    """The Document of a Read (what parse_document() makes of that text)."""
    index, line, chunk, text_line, data = read
    return Document(source, index, line, data, chunk, text_line)


def positions(doc: Document, strict: bool = True) -> yamlexact.Exact | None:
    """The exact reading of a document, with positions (None when it has no text or fails)."""
    if doc.text is None:
        return None
    from mlgitops.kube import yamlexact

    try:
        return yamlexact.load(doc.text, strict)
    except yamlexact.LoadError:
        return None
