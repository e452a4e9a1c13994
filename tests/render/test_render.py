"""What the rendered manifests must get right, one behaviour per test."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT
from mlgitops.render import render
from mlgitops.spec.config import parse_config
from mlgitops.spec.model import BASE, parse_model

CONFIG, _ = parse_config("mlgitops.yaml", (ROOT / "mlgitops.yaml").read_bytes())
MINIMAL = {
    "apiVersion": "mlgitops.io/v1alpha1",
    "kind": "Model",
    "metadata": {"name": "m", "team": "t"},
    "spec": {"model": {"version": "1.0.0"}, "serving": {"image": "r.example.com/m:1.0.0"}},
}


def objects(serving: dict | None = None, env: str = BASE, environments: dict | None = None, **spec) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(MINIMAL))
    doc["spec"]["serving"].update(serving or {})
    doc["spec"].update(spec)
    if environments:
        doc["spec"]["environments"] = environments
    model, findings = parse_model("models/m.yaml", yaml.safe_dump(doc).encode(), CONFIG)
    assert not findings, [f.text() for f in findings]
    return {m.kind: m.obj for m in render(model.effective[env], CONFIG, env)}


def pod(objs: dict) -> dict:
    return objs["Deployment"]["spec"]["template"]["spec"]


def test_autoscaled_deployment_has_no_replicas_and_an_hpa():
    objs = objects({"replicas": 3, "autoscaling": {"maxReplicas": 5, "targetCPUUtilization": 60}})
    assert "replicas" not in objs["Deployment"]["spec"]
    assert objs["HorizontalPodAutoscaler"]["spec"]["minReplicas"] == 1
    assert objs["HorizontalPodAutoscaler"]["spec"]["metrics"] == [
        {"resource": {"name": "cpu", "target": {"averageUtilization": 60, "type": "Utilization"}}, "type": "Resource"}]


def test_requests_per_second_autoscaling_is_a_pods_metric():
    objs = objects({"autoscaling": {"maxReplicas": 5, "targetRequestsPerSecond": 50}})
    assert objs["HorizontalPodAutoscaler"]["spec"]["metrics"] == [{
        "pods": {"metric": {"name": "inference_requests_per_second"},
                 "target": {"averageValue": "50", "type": "AverageValue"}}, "type": "Pods"}]


def test_fixed_replicas_without_autoscaling():
    objs = objects({"replicas": 3})
    assert objs["Deployment"]["spec"]["replicas"] == 3
    assert "HorizontalPodAutoscaler" not in objs


def test_selectors_never_carry_the_version():
    objs = objects({"replicas": 2})
    selectors = [objs["Deployment"]["spec"]["selector"]["matchLabels"], objs["Service"]["spec"]["selector"],
                 objs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
                 objs["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"]]
    for selector in selectors:
        assert selector == {"app.kubernetes.io/instance": "m", "app.kubernetes.io/name": "m"}
    assert objs["Deployment"]["metadata"]["labels"]["app.kubernetes.io/version"] == "1.0.0"
    assert objs["Deployment"]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "1.0.0"


def test_every_object_carries_the_recommended_labels():
    for obj in objects().values():
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "mlgitops"
        assert labels["app.kubernetes.io/part-of"] == "t"
        assert labels["mlgitops.io/team"] == "t"


def test_pods_meet_the_restricted_pod_security_standard():
    spec = pod(objects())
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    container = spec["containers"][0]["securityContext"]
    assert container == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                         "readOnlyRootFilesystem": True, "runAsNonRoot": True}
    assert {"emptyDir": {"sizeLimit": "1Gi"}, "name": "tmp"} in spec["volumes"]
    assert {"mountPath": "/tmp", "name": "tmp"} in spec["containers"][0]["volumeMounts"]


def test_relaxing_security_needs_a_reason_which_is_recorded():
    objs = objects({"security": {"readOnlyRootFilesystem": False, "reason": "the server writes a cache to /var"}})
    assert pod(objs)["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is False
    assert objs["Deployment"]["metadata"]["annotations"] == {
        "mlgitops.io/security-exception": "the server writes a cache to /var"}


def test_every_container_has_requests_and_limits_memory_limit_defaults_to_request():
    resources = pod(objects({"resources": {"cpu": 1, "memory": "3Gi"}}))["containers"][0]["resources"]
    assert resources == {"limits": {"cpu": "1", "ephemeral-storage": "3584Mi", "memory": "3Gi"},
                         "requests": {"cpu": "1", "ephemeral-storage": "3584Mi", "memory": "3Gi"}}


def test_gpu_pods_get_the_gpu_limit_node_selector_and_toleration():
    spec = pod(objects({"resources": {"gpu": 2}}))
    assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["tolerations"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}]


def test_gpu_scheduling_can_be_overridden():
    spec = pod(objects({"resources": {"gpu": 1}, "nodeSelector": {"pool": "a100"},
                        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ml"}]}))
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true", "pool": "a100"}
    assert spec["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "ml"}]


def test_cpu_pods_are_not_pinned_to_gpu_nodes():
    spec = pod(objects())
    assert "nodeSelector" not in spec and "tolerations" not in spec


def test_network_policy_admits_only_the_serving_and_metrics_ports():
    objs = objects({"port": 8000, "metrics": {"port": 9090}})
    assert objs["NetworkPolicy"]["spec"]["ingress"] == [
        {"from": [{"podSelector": {}}], "ports": [{"port": 8000, "protocol": "TCP"}]},  # its own namespace only
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
         "ports": [{"port": 9090, "protocol": "TCP"}]}]
    assert objs["NetworkPolicy"]["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_a_serving_rule_opened_to_every_namespace_has_no_from():
    objs = objects({"networkPolicy": {"allowAllNamespaces": True}})
    assert objs["NetworkPolicy"]["spec"]["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]


def test_egress_goes_anywhere_but_the_cloud_metadata_endpoints_by_default():
    egress = objects()["NetworkPolicy"]["spec"]["egress"]
    assert egress == [{"to": [
        {"namespaceSelector": {}},  # pods of every namespace (DNS, in-cluster callees) whatever the CNI does with ipBlock
        {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}},
        {"ipBlock": {"cidr": "::/0", "except": ["fd00:ec2::254/128"]}}]}]


def test_egress_deny_list_is_the_specs_and_an_empty_one_drops_the_egress_rule():
    policy = objects({"networkPolicy": {"denyEgressTo": ["10.0.0.0/8"]}})["NetworkPolicy"]["spec"]
    assert policy["egress"][0]["to"][1:] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}},
                                             {"ipBlock": {"cidr": "::/0"}}]
    open_ = objects({"networkPolicy": {"denyEgressTo": []}})["NetworkPolicy"]["spec"]
    assert "egress" not in open_ and open_["policyTypes"] == ["Ingress"]


def test_pdb_only_where_more_than_one_replica_runs():
    assert "PodDisruptionBudget" not in objects({"replicas": 1})
    assert objects({"replicas": 2})["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    scaled = objects({"autoscaling": {"minReplicas": 2, "maxReplicas": 4, "targetCPUUtilization": 50}})
    assert "PodDisruptionBudget" in scaled


def test_storage_is_a_claim_mounted_into_the_server():
    objs = objects({"storage": {"size": "5Gi"}})
    assert objs["PersistentVolumeClaim"]["spec"] == {"accessModes": ["ReadWriteOnce"],
                                                     "resources": {"requests": {"storage": "5Gi"}}}
    assert {"mountPath": "/models", "name": "model-storage"} in pod(objs)["containers"][0]["volumeMounts"]
    assert {"name": "model-storage", "persistentVolumeClaim": {"claimName": "m-storage"}} in pod(objs)["volumes"]


def test_secrets_are_references_only():
    env = pod(objects({"secrets": [{"env": "TOKEN", "secret": "m-api", "key": "token"}]}))["containers"][0]["env"]
    assert env[-1] == {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"key": "token", "name": "m-api"}}}


def test_model_version_and_uri_reach_the_container():
    env = pod(objects(model={"version": "2.0", "uri": "s3://b/m"}))["containers"][0]["env"]
    assert env[:3] == [{"name": "MODEL_NAME", "value": "m"}, {"name": "MODEL_VERSION", "value": "2.0"},
                       {"name": "MODEL_URI", "value": "s3://b/m"}]


def test_a_service_monitor_and_no_scrape_annotations_under_the_prometheus_operator():
    objs = objects({"metrics": {"path": "/stats"}})
    assert "annotations" not in objs["Deployment"]["spec"]["template"]["metadata"]
    assert objs["ServiceMonitor"]["spec"]["endpoints"] == [{"interval": "30s", "path": "/stats", "port": "http"}]
    assert objs["ServiceMonitor"]["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_scrape_annotations_and_no_service_monitor_without_the_prometheus_operator():
    config, _ = parse_config("mlgitops.yaml", (ROOT / "mlgitops.yaml").read_bytes().replace(
        b"prometheusOperator: true", b"prometheusOperator: false"))
    model, _ = parse_model("models/m.yaml", yaml.safe_dump(
        {**MINIMAL, "spec": {**MINIMAL["spec"], "serving": {**MINIMAL["spec"]["serving"],
                                                          "metrics": {"path": "/stats"}}}}).encode(), config)
    objs = {m.kind: m.obj for m in render(model.effective[BASE], config, BASE)}
    assert objs["Deployment"]["spec"]["template"]["metadata"]["annotations"] == {
        "prometheus.io/path": "/stats", "prometheus.io/port": "8080", "prometheus.io/scrape": "true"}
    assert "ServiceMonitor" not in objs


def test_ingress_routes_the_host_to_the_service():
    objs = objects({"ingress": {"host": "m.example.com", "tlsSecret": "m-tls"}})
    rule = objs["Ingress"]["spec"]["rules"][0]
    assert rule["host"] == "m.example.com"
    assert rule["http"]["paths"][0]["backend"] == {"service": {"name": "m", "port": {"name": "http"}}}
    assert objs["Ingress"]["spec"]["tls"] == [{"hosts": ["m.example.com"], "secretName": "m-tls"}]


def test_environment_override_deep_merges_and_null_removes():
    envs = {"prod": {"serving": {"resources": {"memory": "4Gi"}, "autoscaling": None}}}
    base = objects({"resources": {"cpu": "2"}, "autoscaling": {"maxReplicas": 3, "targetCPUUtilization": 50}},
                   environments=envs)
    prod = objects({"resources": {"cpu": "2"}, "autoscaling": {"maxReplicas": 3, "targetCPUUtilization": 50}},
                   env="prod", environments=envs)
    assert "HorizontalPodAutoscaler" in base and "HorizontalPodAutoscaler" not in prod
    assert pod(prod)["containers"][0]["resources"]["requests"] == {"cpu": "2", "ephemeral-storage": "3584Mi",
                                                                   "memory": "4Gi"}
    assert prod["Deployment"]["metadata"]["namespace"] == "ml-prod"
    assert prod["Deployment"]["metadata"]["labels"]["mlgitops.io/environment"] == "prod"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_overlays_reference_only_their_base_and_their_own_files(env):
    for kustomization in (ROOT / "overlays" / env).glob("*/kustomization.yaml"):
        data = yaml.safe_load(kustomization.read_text())
        name = kustomization.parent.name
        for resource in data["resources"]:
            assert resource == f"../../../base/{name}" or "/" not in resource
        for patch in data.get("patches", []):
            assert "/" not in patch["path"]


def test_restating_the_restricted_defaults_needs_no_reason():
    security = {"readOnlyRootFilesystem": True, "runAsNonRoot": True, "allowPrivilegeEscalation": False}
    assert pod(objects({"security": security}))["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_an_empty_environment_entry_means_no_difference():
    assert objects(env="dev", environments={"dev": None})["Deployment"]["spec"]["replicas"] == 1
