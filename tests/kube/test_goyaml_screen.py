"""The stream screen (goyaml.screen, one pass over many documents) never lets through a document that
needs the exact reader, and a stream read with it reads exactly as each document read on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from mlgitops.kube import goyaml, manifests, yamlexact

ROOT = Path(__file__).resolve().parents[2]

# Values, keys and whole lines where go-yaml v2 and YAML 1.2 part ways, or that stress the reader:
# YAML 1.1 booleans, octal and underscores, infinities, timestamps, sexagesimal numbers, anchors, aliases,
# tags, merge keys, flow collections, block scalars, explicit keys, directives and document markers,
# characters beyond ASCII, tabs, CR, BOM, huge numbers.
HOSTILE = ["yes", "Y", "n", "NO", "on", "Off", "true", "~", "null", "0o17", "012", "-012", "+0_1", "08", "0x1F",
           "1_000", "_1", "._5", ".5_", "-_1", ".inf", "-.Inf", ".NaN", "2024-01-01", "1:20", "1e3", "1.10",
           "&a x", "*a", "!!str 1", "!tag x", "<<", "[a, b]", "{a: 1}", "{}", "[]", "[ ]", "|", ">-", "|+",
           "'yes'", '"on"', "a,012", "[012]", "{&a x}", "é", "\u2028", "\x85", "\ufeff", "\t", "x\ty", "\r",
           "9" * 25, "1e999", "-.5e400", "1" * 400, "0x" + "f" * 17, "1e308", "? x", "%", "...", "---", "--- x", "-x", "- -x: y", "--port=:80", "x: y: z"]
ORDINARY = ["a", "b1", "model-0001", "8080", "0", "0.5", "v1", "registry.example.com/x:1.0", "a.io/b", "\"q\"",
            "'q q'", "s3://m/1.0/x.pt", "--port=8080", "http", "-v", "1Gi"]
_SCALAR = st.sampled_from(HOSTILE + ORDINARY * 2)
_LINE = st.one_of(
    st.builds("{}: {}".format, st.sampled_from(["a", "key", "app.kubernetes.io/name", "5", "on", "y", "null", "-a",
                                                 "0_1", ".x", "\"k\"", "<<", "~", "? k", "[k]"]), _SCALAR),
    st.builds("- {}".format, _SCALAR),
    st.builds("{}{}".format, st.sampled_from(["", "  ", "    - ", "  - - ", " " * 60 + "- " * 50]), _SCALAR),
    st.sampled_from(["a:", "  b: |", "    text yes", "  c: >-", "#  comment on", "", "...", "%YAML 1.1", "---",
                     "--- |", "k: |", "a: 1\r", "x:\r\n  y: 1", "\ufeffa: 1", "a: &x {b: 1}\nc: *x",
                     "base: &b {k: v}\nd:\n  <<: *b", "a: [[[[1]]]]", "a: " + "[" * 120 + "]" * 120]),
)
_DOCUMENT = st.lists(_LINE, min_size=0, max_size=6).map("\n".join)
_SEPARATOR = st.sampled_from(["\n---\n", "\n--- # c\n", "\n---x\n", "\n---\r\n", "\n\n---\n", "\n---\n\n"])


@st.composite
def _streams(draw) -> str:
    docs = draw(st.lists(_DOCUMENT, min_size=1, max_size=8))
    text = docs[0]
    for doc in docs[1:]:
        text += draw(_SEPARATOR) + doc
    return text + draw(st.sampled_from(["", "\n", "\n---\n", "\n---"]))


def _one_by_one(text: str) -> list[bool]:
    return [goyaml.needs_exact(chunk) for _, chunk in manifests.split_stream(text)]


def _screened(text: str) -> list[bool]:
    return [exact for _, exact in manifests.chunks_and_flags(text, manifests.spans(text))]


@pytest.mark.slow
@settings(max_examples=examples(1500), deadline=None)
@given(_streams())
def test_the_screen_finds_every_document_that_needs_the_exact_reader(text):
    assert _screened(text) == _one_by_one(text), text


@pytest.mark.slow
@settings(max_examples=examples(1500), deadline=None)
@given(_DOCUMENT)
def test_a_document_the_screen_passes_needs_no_exact_reader(doc):
    if not goyaml.screen(doc) and not goyaml.ends_in_block_header(doc):
        assert not goyaml.needs_exact(doc), doc


def _reading(doc: manifests.Document):
    return ("error", doc.error_rule, doc.error, doc.error_line) if doc.error else ("data", doc.data, doc.line)


def _exact(text: str):
    try:
        return ("data", yamlexact.load(text).data)
    except yamlexact.LoadError as exc:
        return ("error", exc.rule)


@pytest.mark.slow
@settings(max_examples=examples(800), deadline=None)
@given(_streams())
def test_a_stream_reads_as_its_documents_read_one_by_one_and_as_go_reads_them(text):
    text = text.removeprefix("\ufeff")
    whole = manifests.parse_stream(text)
    alone = [manifests.parse_document(chunk, "", i, line) for i, (line, chunk) in enumerate(manifests.split_stream(text))]
    assert [repr(_reading(d)) for d in whole] == [repr(_reading(d)) for d in alone]
    for doc in whole:
        fast = ("error", doc.error_rule) if doc.error else ("data", doc.data)
        assert repr(fast) == repr(_exact(doc.text)), doc.text


CASES = {
    "a boolean among thousands of plain documents": ("kind: A\nname: x\n---\n" * 200) + "kind: B\nflag: yes\n",
    "risky documents in two groups of 256, one of them its last": ("a: 1\n---\n" * 300) + "b: 012\n---\n"
        + ("a: 1\n---\n" * 211) + "c: yes\n---\n" + ("a: 1\n---\n" * 100),
    "an anchor in the last document": ("a: 1\n---\n" * 100) + "a: &x 1\nb: *x",
    "an empty block scalar ends a document": "a: 1\n---\nb: |\n---\nc: 2",
    "--- inside a block scalar splits the document, as kubeconform splits it": "a: |\n  x\n---\n  y\n",
    "... ends a document": "a: 1\n...\n---\nb: 2",
    "CRLF line ends": "a: 1\r\n---\r\nb: 012\r\n",
    "a byte order mark inside the stream": "a: 1\n---\n\ufeffb: 2",
    "a duplicate key": "a: 1\na: 2\n---\nb: 1",
    "a merge key": "base: &b {k: v}\n---\nd:\n  <<: {k: w}",
    "a block scalar at the top of a document, its text at column 0 (Go: indentation 1 at least)":
        "\n---\n--- |\na: true\n\n---\n",
    "nested too deep for the screen's line rule": "a:\n" + "".join(" " * (2 * i) + f"k{i}:\n" for i in range(90)),
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_hostile_streams_read_as_their_documents_one_by_one(text):
    whole = manifests.parse_stream(text)
    alone = [manifests.parse_document(chunk, "", i, line) for i, (line, chunk) in enumerate(manifests.split_stream(text))]
    assert [repr(_reading(d)) for d in whole] == [repr(_reading(d)) for d in alone]
    assert _screened(text) == _one_by_one(text)


def test_a_block_scalar_at_the_top_of_a_document_reads_as_go_reads_it():
    """libyaml (and so go-yaml v2) indents a block scalar's content by 1 at least, also at the top of a document:
    `a: true` at column 0 is not its text, and Go's Unmarshal reads only the first node, "" (yaml-rs reads
    "a: true\n"). Found by the stream property above."""
    for text in ("--- |\na: true\n", "\n---\n--- |\na: true\n\n---\n", "--- >\nx\n"):
        assert [d.data for d in manifests.parse_stream(text) if d.text.strip()] == [""], text
        assert _screened(text) == _one_by_one(text)
    assert manifests.parse_stream("--- |\n a: true\n")[0].data == "a: true\n"


def test_a_block_scalar_ending_a_document_keeps_no_line_break_go_does_not_see():
    """kubeconform cuts each document before the line break ahead of `---`: Go reads the last line of a block
    scalar there without a line break (found by the stream test above; yaml-rs adds one)."""
    docs = manifests.parse_stream("data:\n  run.sh: |\n    echo hi\n---\ndata:\n  a: >-\n    b\n---\nc: |\n  d\n")
    assert [d.data for d in docs] == [{"data": {"run.sh": "echo hi"}}, {"data": {"a": "b"}}, {"c": "d\n"}]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("line", ["k: {}", "- {}", "{}: v", "k: [{}]", "k: x {} y"])
def test_each_hostile_spelling_alone_in_a_stream_is_found(value, line):
    plain = "kind: A\nname: model-0001\nport: 8080\n"
    text = plain + "---\n" + line.format(value) + "\n---\n" + plain
    assert _screened(text) == _one_by_one(text), text


def test_generated_manifests_pass_the_screen_in_one_look():
    """The point of the screen: the repository's own generated manifests need no exact reading."""
    texts = [path.read_text() for path in sorted((ROOT / "base").rglob("*.yaml"))]
    assert texts
    assert not goyaml.screen("\n---\n".join(texts))


def test_a_risky_document_sends_only_its_subgroup_to_needs_exact(monkeypatch):
    """A group of GROUP documents the screen refuses is screened again in groups of SUBGROUP."""
    asked = []
    monkeypatch.setattr(manifests, "needs_exact", lambda chunk: asked.append(chunk) or goyaml.needs_exact(chunk))
    text = ("a: 1\n---\n" * 300) + "b: yes\n" + ("\n---\na: 1" * 300)
    flags = _screened(text)
    assert flags.count(True) == 1 and flags[300]
    assert len(asked) == manifests.SUBGROUP
