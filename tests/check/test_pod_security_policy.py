"""`check` applies Pod Security as admission does to every pod template of every kind, at the environment's
level and Kubernetes version (kube/podsecurity.py holds the controls; tests/kube/test_podsecurity.py agrees
with upstream's fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from mlgitops.check import policies
from mlgitops.kube.annotations import SECURITY_EXCEPTION

GOLDEN = Path(__file__).resolve().parents[1] / "render/golden/training"
GPU = {"resource": "nvidia.com/gpu", "nodeSelector": {"nvidia.com/gpu.present": "true"},
       "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}
HARDENED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"}}


def deployment(container_security: dict, annotations: dict | None = None, **pod) -> dict:
    container = {"name": "server", "image": "r/m:1.0.0", "securityContext": container_security}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "m", "annotations": annotations or {}},
            "spec": {"template": {"metadata": {}, "spec": {"containers": [container], **pod}}}}


def security(obj: dict, enforced: str = "restricted", kubernetes: str = "1.33") -> list[tuple[str, str]]:
    settings = policies.Settings.for_environment("dev", {}, enforced, kubernetes)
    return sorted((v.rule, v.pointer) for v in policies.evaluate([obj], settings, GPU)
                  if v.rule.startswith("pod-security"))


def test_every_control_of_restricted_is_checked_not_a_subset():
    obj = deployment({**HARDENED, "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}, "runAsUser": 0},
                     volumes=[{"name": "n", "nfs": {"server": "s", "path": "/"}}],
                     securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]})
    c = "/spec/template/spec/containers/0/securityContext"
    assert security(obj) == [("pod-security", f"{c}/capabilities/add"), ("pod-security", f"{c}/runAsUser"),
                             ("pod-security", "/spec/template/spec/securityContext/sysctls/0/name"),
                             ("pod-security", "/spec/template/spec/volumes/0")]


def test_the_kubernetes_version_of_mlgitops_yaml_decides_which_controls_apply():
    obj = deployment(HARDENED)
    obj["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] = {"tcpSocket": {"host": "10.0.0.1", "port": 1}}
    assert security(obj, kubernetes="1.33.0") == []
    assert security(obj, kubernetes="1.34.0") == [
        ("pod-security", "/spec/template/spec/containers/0/livenessProbe/tcpSocket/host")]


def test_a_reason_excepts_restricted_but_not_the_level_the_namespace_enforces():
    reason = {SECURITY_EXCEPTION: "the entrypoint fixes volume ownership with sudo"}
    escalates = deployment({**HARDENED, "allowPrivilegeEscalation": True}, reason)
    assert security(escalates, "baseline") == []  # restricted only: the reason covers it
    assert security(escalates, "restricted") == [("pod-security-admission", ("/spec/template/spec/containers/0/"
                                                                            "securityContext"))]
    privileged = deployment({**HARDENED, "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}, reason)
    assert security(privileged, "baseline") == [("pod-security-admission", ("/spec/template/spec/containers/0/"
                                                                           "securityContext/capabilities/add"))]


def test_a_baseline_namespace_refuses_what_baseline_forbids_and_says_so():
    settings = policies.Settings.for_environment("dev", {}, "baseline", "1.33")
    [hostport] = [v for v in policies.evaluate([deployment(HARDENED, hostNetwork=True)], settings, GPU)
                  if v.rule == "pod-security"]
    assert hostport.message.startswith("Pod Security admission (baseline, Kubernetes 1.33) refuses the pods: "
                                       "host namespaces (hostNetwork=true)")
    [escalates] = [v for v in policies.evaluate([deployment({**HARDENED, "allowPrivilegeEscalation": True})],
                                                settings, GPU) if v.rule == "pod-security"]
    assert escalates.message.startswith("breaks the restricted Pod Security Standard: allowPrivilegeEscalation")


def _pods(obj: dict) -> list[dict]:
    """Every pod spec in a generated training object."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "containers" in node and isinstance(node["containers"], list):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(obj)
    return found


GOLDENS = sorted(GOLDEN.glob("*.yaml"))


@pytest.mark.parametrize("golden", GOLDENS, ids=[g.stem for g in GOLDENS])
def test_every_pod_template_of_every_training_kind_is_evaluated(golden):
    objects = [o for o in yaml.safe_load_all(golden.read_text()) if isinstance(o, dict)]
    pods = [p for o in objects for p in _pods(o)]
    if not pods:
        pytest.skip("no pod template")
    assert all(security(o) == [] for o in objects)
    for pod in pods:
        pod.setdefault("securityContext", {})["runAsUser"] = 0  # what a raw patch could add
    assert any(rule == "pod-security" and pointer.endswith("/securityContext/runAsUser")
               for o in objects for rule, pointer in security(o))
