"""Policies on hand-written objects: what the generator never writes, but a raw patch or another tool can."""

from __future__ import annotations

from mlgitops.check.policies import Settings, evaluate

GPU = {"resource": "nvidia.com/gpu", "nodeSelector": {}, "tolerations": []}
LABELS = {"app": "m"}


def deployment(annotations: dict | None = None, replicas: int = 1, claim: str | None = None,
               strategy: dict | None = None) -> dict:
    pod: dict = {"containers": [{"name": "server", "ports": [{"containerPort": 8080, "name": "web"}]}]}
    if claim:
        pod["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "m"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": LABELS},
                     "strategy": strategy or {"type": "Recreate"},
                     "template": {"metadata": {"labels": LABELS, "annotations": annotations or {}}, "spec": pod}}}


def service(target_port) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "m", "labels": LABELS},
            "spec": {"selector": LABELS, "ports": [{"name": "http", "port": 80, "targetPort": target_port}]}}


def ingress(path: str = "/", path_type: str = "Prefix") -> dict:
    backend = {"service": {"name": "m", "port": {"number": 80}}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "m"},
            "spec": {"rules": [{"http": {"paths": [{"backend": backend, "path": path, "pathType": path_type}]}}]}}


def claim(*modes: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
            "spec": {"accessModes": list(modes), **spec}}


SCRAPE = {"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"}


def rules(*objects: dict, disabled: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    settings = Settings.for_environment("dev", {"disabled": list(disabled)})
    checked = {"storage-no-source", "storage-single-writer", "metrics-public"}
    return [(v.rule, v.kind, v.pointer) for v in evaluate(list(objects), settings, GPU) if v.rule in checked]


def test_scrape_annotations_on_the_port_an_ingress_routes_to_are_public():
    public = ("metrics-public", "Deployment", "/spec/template/metadata/annotations")
    assert rules(deployment(SCRAPE), service("web"), ingress()) == [public]  # a named target port
    assert rules(deployment(SCRAPE), service(8080), ingress("/met", "Prefix")) == []  # /met is not a prefix of /metrics
    assert rules(deployment(SCRAPE), service(8080), ingress("/metrics", "Exact")) == [public]
    assert rules(deployment(SCRAPE), service(8080), ingress("/predict", "Exact")) == []
    assert rules(deployment(SCRAPE), service(8080)) == []  # no Ingress
    assert rules(deployment(SCRAPE), service(8080), ingress(), disabled=("metrics-public",)) == []


def test_a_read_only_many_claim_needs_a_source():
    assert rules(claim("ReadOnlyMany")) == [("storage-no-source", "PersistentVolumeClaim", "/spec/accessModes")]
    source_ref = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "w"}
    assert rules(claim("ReadOnlyMany", dataSourceRef=source_ref)) == []
    assert rules(claim("ReadWriteMany")) == []


def test_a_single_writer_claim_under_one_pod_or_unmounted_passes():
    surge = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    assert rules(claim("ReadWriteOnce"), deployment(claim="data")) == []  # Recreate
    assert rules(claim("ReadWriteOnce"), deployment(claim="data", strategy=surge)) == []
    assert rules(claim("ReadWriteOnce"), deployment(replicas=3)) == []  # the Deployment does not mount it
    assert rules(claim("ReadWriteOnce", "ReadWriteMany"), deployment(claim="data", replicas=3)) == []
    assert rules(claim("ReadWriteOnce"), deployment(claim="data", strategy={"type": "RollingUpdate"})) == [
        ("storage-single-writer", "PersistentVolumeClaim", "/spec/accessModes")]  # maxSurge defaults to 25%


def resource_rules(resources: dict, policies: dict) -> list[str]:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = resources
    settings = Settings.for_environment("prod", policies)
    return [v.message for v in evaluate([obj], settings, GPU) if v.rule == "container-resources"]


def test_limits_are_required_where_the_policy_names_them():
    requests_only = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
    assert resource_rules(requests_only, {}) == ["container 'server' has no cpu limits"]
    assert resource_rules(requests_only, {"requiredLimits": ["memory"]}) == []
    assert resource_rules({"requests": {"cpu": "1", "memory": "1Gi"}}, {"requiredLimits": []}) == []
    assert resource_rules({"limits": {"cpu": "1", "memory": "1Gi"}}, {"requiredLimits": []}) == [
        "container 'server' has no cpu or memory requests"]


def _server(env: dict[str, str], read_only: bool = True) -> dict:
    obj = deployment()
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"] = {"readOnlyRootFilesystem": read_only}
    container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    container["volumeMounts"] = [{"name": "home", "mountPath": "/home/model"}, {"name": "tmp", "mountPath": "/tmp"},
                                 {"name": "weights", "mountPath": "/models", "readOnly": True}]
    return obj


def _read_only_paths(obj: dict) -> list[str]:
    settings = Settings.for_environment("dev", {})
    return [v.pointer for v in evaluate([obj], settings, GPU) if v.rule == "env-read-only-path"]


def test_a_cache_variable_on_the_read_only_root_is_a_warning_at_its_env_value():
    left_behind = _server({"HF_HOME": "/root/.cache/huggingface", "CUDA_HOME": "/usr/local/cuda",
                           "HF_HUB_CACHE": "/home/model/.cache/huggingface/hub", "TORCH_HOME": "/tmp/torch",
                           "VLLM_CACHE_ROOT": "/models/cache", "LOG_LEVEL": "/var/log"})
    # HF_HOME on the root and a cache on a read-only mount; install homes and other variables are not caches
    assert _read_only_paths(left_behind) == ["/spec/template/spec/containers/0/env/0/value",
                                             "/spec/template/spec/containers/0/env/4/value"]
    assert _read_only_paths(_server({"HF_HOME": "/root/.cache/huggingface"}, read_only=False)) == []


def _probe_ports(probes: dict) -> list[tuple[str, str]]:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0].update(probes)
    settings = Settings.for_environment("dev", {})
    return [(v.pointer, v.message) for v in evaluate([obj], settings, GPU) if v.rule == "probe-port"]


def test_a_probe_naming_a_port_the_container_does_not_declare_is_an_error_at_that_port():
    # a raw patch written for the original container (its port 'api'), where mlgitops named the port otherwise
    found = _probe_ports({"livenessProbe": {"tcpSocket": {"port": "api"}},
                          "readinessProbe": {"httpGet": {"path": "/ready", "port": "web"}},
                          "startupProbe": {"httpGet": {"path": "/", "port": 8080}}})
    assert found == [("/spec/template/spec/containers/0/livenessProbe/tcpSocket/port",
                      "container 'server': livenessProbe names port 'api', which the container does not declare "
                      "(its ports: web): the probe fails every time")]
    assert _probe_ports({"livenessProbe": {"httpGet": {"path": "/", "port": "8080"}}}) == []
