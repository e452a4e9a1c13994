"""The exact reader refuses, with a position, what go-yaml v2 refuses or cannot read for certain."""

from __future__ import annotations

import pytest
from mlgitops.kube import yamlexact
from mlgitops.kube.manifests import parse_document


def error(text: str) -> tuple[str, int, int]:
    """(message, 1-based line, 1-based column) of a document the exact reader refuses."""
    with pytest.raises(yamlexact.LoadError) as caught:
        yamlexact.load(text)
    return caught.value.message, caught.value.line + 1, caught.value.col + 1


def test_a_control_character_is_refused_where_it_is_with_the_escape_to_write_instead():
    message, line, col = error("kind: ConfigMap\ndata:\n  a: b\x01c\n")
    assert (line, col) == (3, 7)
    assert message == ("character U+0001 is not allowed in YAML (Go's YAML reader refuses it); "
                       "remove it, or write it as \\u0001 in a double-quoted string")


@pytest.mark.parametrize(("text", "code"), [("a: '\x7f'\n", "U+007F"), ("a\x9f: 1\n", "U+009F"),
                                            ("a: \ufffe\n", "U+FFFE"), ("a: \ud800\n", "U+D800")],
                         ids=["DEL quoted", "C1 control in a key", "U+FFFE", "lone surrogate"])
def test_every_character_go_refuses_is_refused(text, code):
    assert error(text)[0].startswith(f"character {code} is not allowed in YAML")


def test_an_escaped_control_character_is_fine():
    assert yamlexact.load('a: "b\\x01c"\n').data == {"a": "b\x01c"}


def test_a_byte_order_mark_inside_a_document_is_refused_and_one_at_its_start_is_skipped():
    message, line, col = error("apiVersion: v1\n\ufeffkind: Service\n")
    assert (line, col) == (2, 1) and message.startswith("a byte order mark (U+FEFF) inside the document")
    assert yamlexact.load("\ufeffkind: Service\nb: 1\n").data == {"kind": "Service", "b": 1}


def test_yaml_1_1_line_breaks_end_lines_for_go_but_positions_count_lines_as_editors_do():
    assert yamlexact.load("a: 'x\u2028y'\n").data == {"a": "x\u2028y"}
    assert yamlexact.load("a: b\u2028c: d\n").data == {"a": "b", "c": "d"}  # LS ends the line for Go
    exact = yamlexact.load("a: 1\u2029b: [x]\nc: 2\n")
    assert exact.positions["/b/0"] == (0, 9) and exact.positions["/c"] == (1, 3)


def _block(depth: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "leaf\n"


def test_nesting_past_the_limit_is_an_error_at_the_first_line_too_deep():
    yamlexact.load(_block(yamlexact.MAX_DEPTH - 1))
    message, line, _ = error(_block(300))
    assert message == "the document nests deeper than 200 levels" and line == 201


@pytest.mark.parametrize("text", ["a:\n" + "- " * 60_000 + "x\n", "a: " + "[" * 60_000 + "]" * 60_000 + "\n",
                                  "".join(" " * i + "k:\n" for i in range(2_000)) + " " * 2_000 + "x\n",
                                  "a:\u2028" + "- " * 60_000 + "x\n"],
                         ids=["block sequences on one line", "flow", "block maps", "block sequences after an LS line break"])
def test_nesting_that_would_overflow_a_recursive_reader_is_an_error_not_a_crash(text):
    doc = parse_document(text)  # the fast path included: yaml-rs crashes the process on these
    assert doc.error == "the document nests deeper than 200 levels"
