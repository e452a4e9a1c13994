"""Spec capabilities real deployments need (issue 24): GPU types, Service shape, extra ports, patches for every
environment, pod annotations, requests without limits — each rendered as the spec says."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from conftest import ROOT
from mlgitops.kube.annotations import POLICY_EXCEPTION_PREFIX
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
SCHEMA = json.loads((ROOT / "schemas/model.schema.json").read_bytes())  # JSON: yaml.safe_load took ~0.4 s


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
        if "+" in tag:  # semver's build metadata: an image tag cannot hold a '+' (the schema refuses the image)
            continue
        assert pod(objects({"image": f"r.example.com/m:{tag}"}))["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_the_default_pinning_pattern_refuses_moving_names():
    for tag in ("latest", "main", "stable", "nightly", "v1", "2024", "1.0.0-", "py3-25.01"):
        assert not re.match(VERSION_TAG, tag), tag
        assert pod(objects({"image": f"r.example.com/m:{tag}"}))["containers"][0]["imagePullPolicy"] == "Always"


# --- the Service's shape and more container ports ---

def test_the_service_exposes_the_serving_port_on_port_80_by_default():
    service = objects({"port": 8000})["Service"]["spec"]
    assert service["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]
    assert service["type"] == "ClusterIP" and "clusterIP" not in service


def test_service_port_type_and_annotations():
    objs = objects({"port": 8000, "service": {"port": 8000, "type": "LoadBalancer",
                                              "annotations": {"networking.gke.io/load-balancer-type": "Internal"}}})
    service = objs["Service"]
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["ports"][0]["port"] == 8000
    assert service["metadata"]["annotations"] == {"networking.gke.io/load-balancer-type": "Internal"}


def test_a_headless_service_has_no_cluster_ip():
    assert objects({"service": {"headless": True}})["Service"]["spec"]["clusterIP"] == "None"


def test_a_headless_load_balancer_is_refused():
    assert any("(service-shape)" in f and "cannot be of type LoadBalancer" in f
               for f in findings({"service": {"headless": True, "type": "LoadBalancer"}}))


def test_more_ports_reach_the_container_the_service_and_the_network_policy():
    objs = objects({"port": 8000, "metrics": {"port": 8002},
                    "ports": [{"name": "grpc", "port": 8001}, {"name": "stats", "port": 9000, "protocol": "UDP"}],
                    "networkPolicy": {"allowFromNamespaces": ["apps"]}})
    container = pod(objs)["containers"][0]
    assert container["ports"] == [{"containerPort": 8000, "name": "http", "protocol": "TCP"},
                                  {"containerPort": 8002, "name": "metrics", "protocol": "TCP"},
                                  {"containerPort": 8001, "name": "grpc", "protocol": "TCP"},
                                  {"containerPort": 9000, "name": "stats", "protocol": "UDP"}]
    assert objs["Service"]["spec"]["ports"][2:] == [
        {"name": "grpc", "port": 8001, "protocol": "TCP", "targetPort": "grpc"},
        {"name": "stats", "port": 9000, "protocol": "UDP", "targetPort": "stats"}]
    serving_rule = objs["NetworkPolicy"]["spec"]["ingress"][0]
    assert serving_rule["ports"] == [{"port": 8000, "protocol": "TCP"}, {"port": 8001, "protocol": "TCP"},
                                     {"port": 9000, "protocol": "UDP"}]
    assert serving_rule["from"][0] == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "apps"}}}


def test_a_port_taken_twice_is_a_conflict():
    found = findings({"port": 8000, "metrics": {"port": 9090},
                      "ports": [{"name": "http", "port": 8001}, {"name": "grpc", "port": 8000},
                                {"name": "prom", "port": 9090}, {"name": "grpc", "port": 8005}]})
    assert [f.split(": ", 1)[1].split("\n")[0] for f in found] == [
        "port name 'http' is already used (port-conflict)",
        "port 8000 is already the serving port (serving.port) (port-conflict)",
        "port 9090 is already the metrics port (serving.metrics.port) (port-conflict)",
        "port name 'grpc' is already used (port-conflict)"]


def test_a_port_name_must_be_a_service_name():
    for name in ("gRPC", "8001", "-grpc", "a-very-long-port-name"):
        assert any("must be a port name" in f for f in findings({"ports": [{"name": name, "port": 8001}]})), name


# --- one replica on purpose ---

def test_single_replica_records_its_reason_as_the_two_exceptions():
    objs = objects({"replicas": 1, "singleReplica": {"reason": "one H100 node; clients retry"}})
    notes = objs["Deployment"]["metadata"]["annotations"]
    assert notes == {f"{POLICY_EXCEPTION_PREFIX}min-replicas": "single replica: one H100 node; clients retry",
                     f"{POLICY_EXCEPTION_PREFIX}pdb-required": "single replica: one H100 node; clients retry"}


def test_single_replica_with_more_replicas_or_autoscaling_is_a_conflict():
    reason = {"reason": "one H100 node; clients retry"}
    assert any("singleReplica says one pod, but replicas is 2 (single-replica)" in f
               for f in findings({"replicas": 2, "singleReplica": reason}))
    assert any("singleReplica says one pod, but autoscaling is on (single-replica)" in f
               for f in findings({"singleReplica": reason, "autoscaling": {"maxReplicas": 3, "targetCPUUtilization": 70}}))


# --- autoscaling on Pods, Object and External metrics by name ---

def test_named_metrics_become_hpa_metric_specs():
    metrics = [{"type": "Pods", "name": "vllm:num_requests_waiting", "averageValue": 5},
               {"type": "External", "name": "pubsub.googleapis.com|subscription|num_undelivered_messages",
                "selector": {"resource.labels.subscription_id": "jobs"}, "value": "100"},
               {"type": "Object", "name": "requests_per_second", "averageValue": "10",
                "object": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"}}]
    hpa = objects({"autoscaling": {"maxReplicas": 4, "metrics": metrics}})["HorizontalPodAutoscaler"]["spec"]
    assert hpa["metrics"] == [
        {"pods": {"metric": {"name": "vllm:num_requests_waiting"},
                  "target": {"averageValue": "5", "type": "AverageValue"}}, "type": "Pods"},
        {"external": {"metric": {"name": "pubsub.googleapis.com|subscription|num_undelivered_messages",
                                 "selector": {"matchLabels": {"resource.labels.subscription_id": "jobs"}}},
                      "target": {"type": "Value", "value": "100"}}, "type": "External"},
        {"object": {"describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
                    "metric": {"name": "requests_per_second"},
                    "target": {"averageValue": "10", "type": "AverageValue"}}, "type": "Object"}]


def test_named_metrics_say_what_they_miss():
    def problems(metric: dict[str, Any]) -> list[str]:
        return findings({"autoscaling": {"maxReplicas": 4, "metrics": [metric]}})

    assert any("needs the field 'averageValue'" in f for f in problems({"type": "Pods", "name": "q", "value": 5}))
    assert any("needs the field 'object'" in f for f in problems({"type": "Object", "name": "q", "value": 5}))
    assert any("needs one target: value or averageValue" in f
               for f in problems({"type": "External", "name": "q", "value": 5, "averageValue": 5}))


# --- pod annotations and the preStop command ---

def test_pod_annotations_go_on_the_pod_template_only():
    objs = objects({"podAnnotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}})
    template = objs["Deployment"]["spec"]["template"]["metadata"]
    assert template["annotations"] == {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
    assert "annotations" not in objs["Deployment"]["metadata"]


def test_pod_annotations_sit_beside_the_scrape_annotations():
    config, _ = parse_config("mlgitops.yaml", CONFIG_BYTES.replace(b"prometheusOperator: true", b"prometheusOperator: false"))
    objs = objects({"metrics": {"path": "/metrics"}, "podAnnotations": {"sidecar.istio.io/inject": "false"}},
                   config=config)
    notes = objs["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert notes["sidecar.istio.io/inject"] == "false" and notes["prometheus.io/scrape"] == "true"


def test_a_prestop_command_replaces_the_pause():
    command = ["/bin/sh", "-c", "curl -s -X POST localhost:8080/drain; sleep 5"]
    container = pod(objects({"shutdown": {"preStopCommand": command}}))["containers"][0]
    assert container["lifecycle"] == {"preStop": {"exec": {"command": command}}}


# --- volumes for serving and training ---

VOLUMES = [
    {"name": "hf-cache", "claim": "shared-hf-cache", "mountPath": "/models"},
    {"name": "config", "configMap": "server-config", "mountPath": "/etc/server"},
    {"name": "tls", "secret": "server-tls", "mountPath": "/etc/tls", "subPath": "tls.crt"},
    {"name": "bucket", "mountPath": "/gcs", "readOnly": True,
     "csi": {"driver": "gcsfuse.csi.storage.gke.io", "volumeAttributes": {"bucketName": "my-models"}}},
    {"name": "scratch", "mountPath": "/scratch", "ephemeral": {"size": "100Gi", "storageClassName": "premium-rwo"}},
]
POD_VOLUMES = [
    {"name": "hf-cache", "persistentVolumeClaim": {"claimName": "shared-hf-cache"}},
    {"name": "config", "configMap": {"name": "server-config"}},
    {"name": "tls", "secret": {"secretName": "server-tls"}},
    {"name": "bucket", "csi": {"driver": "gcsfuse.csi.storage.gke.io", "volumeAttributes": {"bucketName": "my-models"}}},
    {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Gi"}},
        "storageClassName": "premium-rwo"}}}},
]
MOUNTS = [
    {"mountPath": "/models", "name": "hf-cache"},
    {"mountPath": "/etc/server", "name": "config", "readOnly": True},
    {"mountPath": "/etc/tls", "name": "tls", "readOnly": True, "subPath": "tls.crt"},
    {"mountPath": "/gcs", "name": "bucket", "readOnly": True},
    {"mountPath": "/scratch", "name": "scratch"},
]


def test_serving_volumes_from_every_source():
    spec = pod(objects({"volumes": VOLUMES}))
    assert spec["volumes"][-5:] == POD_VOLUMES
    assert spec["containers"][0]["volumeMounts"][-5:] == MOUNTS


def test_training_volumes_from_every_source():
    training = {"image": "r.example.com/t:1.0.0", "environments": ["dev"], "volumes": VOLUMES}
    model, found = parse_model("models/m.yaml", yaml.safe_dump(spec_doc(training=training)).encode(), CONFIG)
    assert model is not None and not found
    job = {m.kind: m.obj for m in render_training(model.effective["dev"], CONFIG, "dev")}["Job"]
    assert job["spec"]["template"]["spec"]["volumes"][-5:] == POD_VOLUMES
    assert job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][-5:] == MOUNTS


def test_a_volume_names_one_source():
    assert any("needs exactly one source" in f
               for f in findings({"volumes": [{"name": "v", "mountPath": "/v", "claim": "a", "secret": "b"}]}))
    assert any("needs exactly one source" in f for f in findings({"volumes": [{"name": "v", "mountPath": "/v"}]}))


def test_a_volume_over_another_or_a_taken_name_is_a_mount_conflict():
    found = findings({"storage": {"size": "10Gi", "mountPath": "/models"},
                      "volumes": [{"name": "tmp", "claim": "a", "mountPath": "/cache"},
                                  {"name": "b", "claim": "b", "mountPath": "/models/"},
                                  {"name": "c", "claim": "c", "mountPath": "/cache"}]})
    assert [f.split(": ", 1)[1].split("\n")[0] for f in found] == [
        "volume name 'tmp' is already taken (mount-conflict)",
        "/models is already mounted (storage.mountPath) (mount-conflict)",
        "/cache is already mounted (volume 'tmp') (mount-conflict)"]


# --- init containers and sidecars, hardened as the model container ---

def test_init_containers_and_sidecars_are_hardened_like_the_model_container():
    spec = pod(objects({
        "volumes": [{"name": "weights", "claim": "weights", "mountPath": "/models"}],
        "initContainers": [{"name": "convert", "image": "r.example.com/convert:1.2.0", "command": ["convert"],
                            "volumeMounts": [{"name": "weights", "mountPath": "/models"}]}],
        "sidecars": [{"name": "proxy", "image": "r.example.com/proxy:latest", "env": {"PORT": "9000"},
                      "resources": {"cpu": "250m", "memory": "64Mi"}}]}))
    main = spec["containers"][0]
    convert, proxy = spec["initContainers"]
    for container in (convert, proxy):
        assert container["securityContext"] == main["securityContext"]
        assert container["volumeMounts"][0] == {"mountPath": "/tmp", "name": "tmp"}
    assert convert == {"name": "convert", "image": "r.example.com/convert:1.2.0", "imagePullPolicy": "IfNotPresent",
                       "command": ["convert"], "securityContext": main["securityContext"],
                       "resources": {"limits": {"cpu": "100m", "memory": "128Mi"},
                                     "requests": {"cpu": "100m", "memory": "128Mi"}},
                       "volumeMounts": [{"mountPath": "/tmp", "name": "tmp"}, {"mountPath": "/models", "name": "weights"}]}
    assert proxy["restartPolicy"] == "Always" and proxy["imagePullPolicy"] == "Always"
    assert proxy["env"] == [{"name": "PORT", "value": "9000"}]
    assert proxy["resources"]["limits"] == {"cpu": "250m", "memory": "64Mi"}


def test_containers_need_their_own_names_and_the_pod_s_volumes():
    found = findings({"initContainers": [{"name": "model-server", "image": "r.example.com/a:1.0.0"}],
                      "sidecars": [{"name": "p", "image": "r.example.com/p:1.0.0",
                                    "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}]})
    assert [f.split(": ", 1)[1].split("\n")[0] for f in found] == [
        "container name 'model-server' is already taken (container-name)",
        "no volume named 'nope' in the pod (container-name)"]


def test_sidecars_need_kubernetes_1_29():
    config, _ = parse_config("mlgitops.yaml", CONFIG_BYTES.replace(b'kubernetesVersion: "1.33.0"', b'kubernetesVersion: "1.28.0"'))
    doc = spec_doc({"sidecars": [{"name": "p", "image": "r.example.com/p:1.0.0"}]})
    _, found = parse_model("models/m.yaml", yaml.safe_dump(doc).encode(), config)
    assert any("native sidecars need Kubernetes 1.29 or later; mlgitops.yaml says 1.28 (sidecar-version)" in f.text()
               for f in found)


# --- requests without limits ---

def test_a_false_limit_is_no_limit_and_threads_follow_the_request():
    container = pod(objects({"resources": {"cpu": 4, "memory": "8Gi", "limits": {"cpu": False}}}))["containers"][0]
    assert "cpu" not in container["resources"]["limits"]
    assert container["resources"]["limits"]["memory"] == "8Gi"
    threads = next(e for e in container["env"] if e["name"] == "OMP_NUM_THREADS")
    assert threads["valueFrom"]["resourceFieldRef"]["resource"] == "requests.cpu"


def test_a_limit_cannot_be_true():
    assert findings({"resources": {"limits": {"cpu": True}}})


# --- training pods: their ServiceAccount and restart policy ---

def training_pod(**training: Any) -> dict[str, Any]:
    section = {"image": "r.example.com/t:1.0.0", "environments": ["dev"], **training}
    model, found = parse_model("models/m.yaml", yaml.safe_dump(spec_doc(training=section)).encode(), CONFIG)
    assert model is not None and not found, [f.text() for f in found]
    job = {m.kind: m.obj for m in render_training(model.effective["dev"], CONFIG, "dev")}["Job"]
    spec: dict[str, Any] = job["spec"]["template"]["spec"]
    return spec


def test_training_pods_run_as_a_named_service_account_without_its_token():
    spec = training_pod(serviceAccount={"name": "trainer"}, restartPolicy="OnFailure")
    assert spec["serviceAccountName"] == "trainer" and spec["automountServiceAccountToken"] is False
    assert spec["restartPolicy"] == "OnFailure"


def test_training_pods_by_default_take_no_account_and_never_restart_in_place():
    spec = training_pod()
    assert "serviceAccountName" not in spec and spec["restartPolicy"] == "Never"
