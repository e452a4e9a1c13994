"""Streams split the way kubeconform splits them; documents parsed with lines, errors with positions."""

from __future__ import annotations

from mlgitops.kube.manifests import parse_document, parse_stream, split_stream


def verdict_lines(text: str) -> list[tuple[int, int, object]]:
    return [(d.index, d.line, d.data) for d in parse_stream(text)]


def test_split_at_lines_starting_with_three_dashes_and_drop_the_rest_of_that_line():
    text = "a: 1\n--- # first\nb: 2\n---\n\n---\nc: 3\n"
    assert split_stream(text) == [(1, "a: 1"), (3, "b: 2"), (5, ""), (7, "c: 3\n")]


def test_a_leading_separator_belongs_to_the_first_document():
    assert split_stream("---\na: 1\n---\nb: 2") == [(1, "---\na: 1"), (4, "b: 2")]


def test_each_document_knows_its_index_and_first_content_line():
    text = "# header\n---\n# about a\n\na: 1\n---\nb: 2\n"
    assert verdict_lines(text) == [(0, 1, None), (1, 5, {"a": 1}), (2, 7, {"b": 2})]


def test_empty_comment_only_and_null_documents_hold_no_data():
    docs = parse_stream("---\n# only a comment\n---\n\n---\nnull\n---\n~\n")
    assert [d.empty for d in docs] == [True, True, True, True]


def test_a_syntax_error_is_an_error_with_its_position_in_the_file():
    doc = parse_stream("a: 1\n---\nkind: ConfigMap\ndata:\n  x: \"open\n")[1]
    assert (doc.error_rule, doc.error_line) == ("k8s-yaml", 6)
    assert "end of stream" in doc.error or "quoted" in doc.error


def test_a_duplicate_key_is_an_error_in_strict_mode_and_last_wins_otherwise():
    text = "kind: ConfigMap\ndata:\n  a: 1\n  a: 2\n"
    strict = parse_document(text, "cm.yaml", 0, 10)
    assert (strict.error_rule, strict.error_line, strict.error_col) == ("k8s-duplicate-key", 13, 3)
    assert strict.error == "duplicate key 'a' (first at line 12)"
    assert parse_document(text, strict=False).data == {"kind": "ConfigMap", "data": {"a": 2}}


def test_keys_that_go_reads_as_the_same_value_are_duplicates():
    assert parse_document("on: 1\ntrue: 2\n").error_rule == "k8s-duplicate-key"
    assert parse_document("1: a\n'1': b\n").data == {"1": "b"}  # int 1 and string "1": two keys for Go


def test_merge_keys_fill_in_what_is_not_written():
    doc = parse_document("base: &b {a: 1, b: 2}\nobj:\n  <<: *b\n  b: 3\n")
    assert doc.data["obj"] == {"a": 1, "b": 3}


def test_a_key_spelled_y_is_the_boolean_true_for_go_and_so_the_string_true():
    assert parse_document("y: 1\n").data == {"true": 1}


def test_a_byte_order_mark_is_ignored():
    assert parse_stream("\ufeffa: 1\n")[0].data == {"a": 1}


def test_json_is_read_like_yaml():
    assert parse_stream('{"kind": "ConfigMap", "data": {"on": "x"}}')[0].data == {"kind": "ConfigMap",
                                                                                 "data": {"on": "x"}}


def test_explicit_tags_must_fit_their_value_as_go_yaml_requires():
    assert parse_document("a: !!int '12'\nb: !!float 1\nc: !!str 12\nd: !custom text\n").data == \
        {"a": 12, "b": 1.0, "c": "12", "d": "text"}
    doc = parse_document("a: !!bool maybe\n")
    assert (doc.error, doc.error_line) == ("cannot decode 'maybe' as a !!bool", 1)
