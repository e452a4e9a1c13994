"""Deep merge of environment overrides: maps merge, lists replace, null removes."""

from mlgitops.spec.merge import deep_merge


def test_maps_merge():
    assert deep_merge({"a": {"x": 1, "y": 2}}, {"a": {"y": 3, "z": 4}}) == {"a": {"x": 1, "y": 3, "z": 4}}


def test_lists_replace():
    assert deep_merge({"a": [1, 2, 3]}, {"a": [4]}) == {"a": [4]}


def test_null_removes():
    assert deep_merge({"a": {"x": 1}, "b": 2}, {"a": None}) == {"b": 2}


def test_null_inside_a_new_map_is_dropped():
    assert deep_merge({}, {"a": {"x": None, "y": 1}}) == {"a": {"y": 1}}


def test_inputs_are_not_changed():
    base, override = {"a": {"x": [1]}}, {"a": {"y": 2}}
    deep_merge(base, override)["a"]["x"].append(9)
    assert base == {"a": {"x": [1]}} and override == {"a": {"y": 2}}
