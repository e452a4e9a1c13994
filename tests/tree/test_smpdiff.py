"""Strategic-merge patches from one object to another, in the shape kustomize applies exactly."""

from mlgitops.tree.smpdiff import SAME, diff

POD = ("spec", "template", "spec")


def test_equal_values_need_no_patch():
    assert diff({"a": {"b": [1]}}, {"a": {"b": [1]}}) is SAME


def test_changed_and_removed_keys():
    assert diff({"a": 1, "b": 2, "c": {"d": 1}}, {"a": 1, "b": 3, "c": {}}) == {"b": 3, "c": {"d": None}}


def test_a_bool_is_not_the_integer_one():
    assert diff({"a": 1}, {"a": True}) == {"$patch": "replace", "a": True}


def test_atomic_lists_are_written_whole():
    assert diff({"spec": {"tolerations": [1, 2]}}, {"spec": {"tolerations": [2]}}) == {"spec": {"tolerations": [2]}}


def test_keyed_lists_name_every_element_to_keep_the_order():
    base = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    target = [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]
    assert diff(base, target, (*POD, "containers", "env")) == [{"name": "A"}, {"name": "B", "value": "3"}]


def test_keyed_lists_whose_keys_change_are_replaced():
    base = [{"name": "A"}, {"name": "B"}]
    target = [{"name": "B"}, {"name": "C"}]
    assert diff(base, target, (*POD, "containers", "env")) == [{"$patch": "replace"}, {"name": "B"}, {"name": "C"}]


def test_a_scalar_turning_from_string_to_number_replaces_its_map():
    """kyaml keeps the old YAML tag when it merges a scalar: 25% -> 1 would build as the string "1"."""
    base = {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}
    target = {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert diff(base, target) == {"rollingUpdate": {"$patch": "replace", "maxSurge": 1, "maxUnavailable": 0}}


def test_an_integer_turning_into_a_float_is_a_change_though_they_compare_equal():
    assert diff({"a": {"b": 1, "c": "x"}}, {"a": {"b": 1.0, "c": "x"}}) == {"a": {"b": 1.0}}


def test_a_retyped_key_after_changed_ones_still_replaces_the_whole_map():
    base = {"m": {"a": {"x": 1}, "b": "y", "c": "25%"}}
    target = {"m": {"a": {"x": 2}, "b": "z", "c": 1}}
    assert diff(base, target) == {"m": {"$patch": "replace", "a": {"x": 2}, "b": "z", "c": 1}}
