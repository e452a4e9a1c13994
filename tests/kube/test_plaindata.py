"""plaindata.clone: a deep copy of what YAML and JSON readers give, sharing only immutable leaves."""

from __future__ import annotations

from collections import OrderedDict

from mlgitops.kube.plaindata import clone


def test_a_clone_shares_no_map_or_list_with_the_original():
    original = {"spec": {"containers": [{"name": "a", "args": ["--x"]}]}, "n": 1, "f": 0.5, "b": True, "z": None}
    copy = clone(original)
    assert copy == original
    copy["spec"]["containers"][0]["args"].append("--y")
    copy["spec"]["containers"].append({"name": "b"})
    assert original == {"spec": {"containers": [{"name": "a", "args": ["--x"]}]}, "n": 1, "f": 0.5, "b": True,
                        "z": None}


def test_subclasses_of_dict_and_list_come_back_as_plain_ones_with_their_order():
    class Items(list):
        pass

    copy = clone(OrderedDict([("b", Items([1, {"k": "v"}])), ("a", 2)]))
    assert type(copy) is dict and list(copy) == ["b", "a"]
    assert type(copy["b"]) is list and copy["b"] == [1, {"k": "v"}]
