"""What the overlay expects kustomize's namespace, labels and images transformers to make of a base object."""

from __future__ import annotations

import copy

from mlgitops.tree.overlay import apply_transformers

BASE = {"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "m", "labels": {"app": "m"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "m"}},
                 "template": {"metadata": {"labels": {"app": "m"}},
                              "spec": {"containers": [{"name": "m", "image": "reg/m:1.0"},
                                                      {"name": "side", "image": "reg/side:2"}]}}}}


def test_namespace_labels_and_image_land_where_kustomize_puts_them():
    out = apply_transformers(BASE, "ml-prod", {"env": "prod"}, {"name": "reg/m", "newTag": "1.1"})
    assert out["metadata"] == {"name": "m", "labels": {"app": "m", "env": "prod"}, "namespace": "ml-prod"}
    assert out["spec"]["template"]["metadata"]["labels"] == {"app": "m", "env": "prod"}
    assert [c["image"] for c in out["spec"]["template"]["spec"]["containers"]] == ["reg/m:1.1", "reg/side:2"]
    assert out["spec"]["selector"] == {"matchLabels": {"app": "m"}}


def test_the_base_object_is_left_as_it_was():
    before = copy.deepcopy(BASE)
    apply_transformers(BASE, "ml-dev", {"env": "dev"}, {"name": "reg/m", "digest": "sha256:" + "a" * 64})
    assert before == BASE


def test_an_object_without_a_pod_template_gets_namespace_and_labels_only():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "m"}, "spec": {"ports": [{"port": 80}]}}
    out = apply_transformers(service, "ml-dev", {"env": "dev"}, None)
    assert out == {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "m", "namespace": "ml-dev",
                                                                      "labels": {"env": "dev"}},
                   "spec": {"ports": [{"port": 80}]}}
