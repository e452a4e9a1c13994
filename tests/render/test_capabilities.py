"""Spec capabilities real deployments need (issue 24): GPU types, Service shape, extra ports, patches for every
environment, pod annotations, requests without limits — each rendered as the spec says."""

from __future__ import annotations

import re
from typing import Any

import yaml
from conftest import ROOT
from mlgitops.kube.gpus import GPU_TYPE_LABELS
from mlgitops.kube.images import VERSION_TAG
from mlgitops.render import render
from mlgitops.render.training import render as render_training
from mlgitops.spec.config import Config, parse_config
from mlgitops.spec.model import BASE, parse_model

CONFIG_BYTES = (ROOT / "mlgitops.yaml").read_bytes()
CONFIG, _ = parse_config("mlgitops.yaml", CONFIG_BYTES)
# the tool's defaults: mlgitops.yaml without its GPU node selector
BARE_CONFIG, _ = parse_config("mlgitops.yaml", CONFIG_BYTES.replace(b'  nodeSelector: {nvidia.com/gpu.present: "true"}\n', b""))
SCHEMA = yaml.safe_load((ROOT / "schemas/model.schema.json").read_bytes())


def spec_doc(serving: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    serving_in = {"image": "r.example.com/m:1.0.0", **(serving or {})}
    return {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": "m", "team": "t"},
            "spec": {"model": {"version": "1.0.0"}, "serving": serving_in, **spec}}


def objects(serving: dict[str, Any] | None = None, env: str = BASE, config: Config = CONFIG,
            **spec: Any) -> dict[str, dict[str, Any]]:
    model, findings = parse_model("models/m.yaml", yaml.safe_dump(spec_doc(serving, **spec)).encode(), config)
    assert not findings, [f.text() for f in findings]
    return {m.kind: m.obj for m in render(model.effective[env], config, env)}


def findings(serving: dict[str, Any] | None = None, **spec: Any) -> list[str]:
    _, found = parse_model("models/m.yaml", yaml.safe_dump(spec_doc(serving, **spec)).encode(), CONFIG)
    return [f.text() for f in found]


def pod(objs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = objs["Deployment"]["spec"]["template"]["spec"]
    return spec


# --- GPU node selection ---

def test_by_default_a_gpu_pod_selects_no_node_label():
    spec = pod(objects({"resources": {"gpu": 1}}, config=BARE_CONFIG))
    assert "nodeSelector" not in spec
    assert spec["tolerations"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}]


def test_a_model_drops_the_configured_gpu_label_with_null():
    spec = pod(objects({"resources": {"gpu": 1}, "nodeSelector": {"nvidia.com/gpu.present": None}}))
    assert "nodeSelector" not in spec


def test_gpu_type_selects_the_platform_label():
    for platform, label in GPU_TYPE_LABELS.items():
        spec = pod(objects({"resources": {"gpu": 1, "gpuType": {platform: "l4"}}}, config=BARE_CONFIG))
        assert spec["nodeSelector"] == {label: "l4"}


def test_gpu_type_choices_are_the_documented_platforms():
    resources = SCHEMA["properties"]["spec"]["properties"]["serving"]["properties"]["resources"]
    assert set(resources["properties"]["gpuType"]["properties"]) == set(GPU_TYPE_LABELS)


def test_gpu_type_names_one_platform():
    assert any("gpuType" in f for f in findings({"resources": {"gpu": 1, "gpuType": {"gke": "a", "eks": "b"}}}))
    assert any("unknown field 'azure'" in f and "eks, gfd, gke, karpenter" in f
               for f in findings({"resources": {"gpu": 1, "gpuType": {"azure": "a"}}}))


def test_training_pods_take_the_gpu_type_too():
    training = {"image": "r.example.com/t:1.0.0", "environments": ["dev"],
                "resources": {"gpu": 1, "gpuType": {"gke": "nvidia-l4"}}}
    model, found = parse_model("models/m.yaml", yaml.safe_dump(spec_doc(training=training)).encode(), BARE_CONFIG)
    assert model is not None and not found
    objs = {m.kind: m.obj for m in render_training(model.effective["dev"], BARE_CONFIG, "dev")}
    job = objs["Job"]["spec"]["template"]["spec"]
    assert job["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}


# --- the default pinning pattern ---

def test_the_default_pinning_pattern_accepts_common_release_tags():
    for tag in ("1.0.0", "v0.6.3", "25.01-py3", "2.4.0-cuda12.1", "2.3.1_cpu", "24.08", "1.2.3+build.5"):
        assert re.match(VERSION_TAG, tag), tag
        assert pod(objects({"image": f"r.example.com/m:{tag}"}))["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_the_default_pinning_pattern_refuses_moving_names():
    for tag in ("latest", "main", "stable", "nightly", "v1", "2024", "1.0.0-", "py3-25.01"):
        assert not re.match(VERSION_TAG, tag), tag
        assert pod(objects({"image": f"r.example.com/m:{tag}"}))["containers"][0]["imagePullPolicy"] == "Always"
