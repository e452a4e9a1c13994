"""Pods that survive a real cluster (issue 9), read from what the real kustomize builds of an overlay.

Each test writes one spec into a fresh repository, generates it, and builds an environment's overlay.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import make_repo
from mlgitops.check import pipeline as check
from mlgitops.cli import main
from mlgitops.kube import kustomize

pytestmark = pytest.mark.slow  # each test builds overlays with kustomize; make test-fast leaves them out

GPU = {"resources": {"cpu": "4", "memory": "16Gi", "gpu": 1}}
PROD_COUNTS = ("min-replicas", "pdb-required")
HEALTH = {"health": {"readiness": "/ready", "liveness": "/healthz"}}


def spec_doc(serving: dict, environments: dict | None, model: dict | None) -> dict:
    spec: dict = {"model": {"version": "1.0.0", **(model or {})},
                  "serving": {"image": "r.example.com/m:1.0.0", **HEALTH, **serving}}
    if environments:
        spec["environments"] = environments
    return {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": "m", "team": "t"},
            "spec": spec}


def write_repo(tmp_path: Path, serving: dict, environments=None, model=None, config=None) -> Path:
    repo = make_repo(tmp_path / "repo", models=[])
    if config:
        data = yaml.safe_load((repo / "mlgitops.yaml").read_text())
        config(data)
        (repo / "mlgitops.yaml").write_text(yaml.safe_dump(data))
    (repo / "models/m.yaml").write_text(yaml.safe_dump(spec_doc(serving, environments, model)))
    return repo


def built(tmp_path: Path, serving: dict, env: str = "staging", environments=None, model=None, config=None,
          checked: bool = False) -> dict:
    """{kind: object} of the built overlay; checked: `mlgitops check` must also find nothing (strict
    Kubernetes schemas, fidelity, the restricted Pod Security Standard), prod's pod counts aside."""
    repo = write_repo(tmp_path, serving, environments, model, config)
    assert main(["generate", "--repo", str(repo)]) == 0
    if checked:
        result = check.run(check.Options(repo, use_cache=False))
        # a GPU pod here has no startup probe unless the test gives one: liveness-before-load warns of that
        assert [f.text() for f in result.findings if f.rule not in (*PROD_COUNTS, "liveness-before-load")] == []
    out = kustomize.build(repo / "overlays" / env / "m")
    return {d["kind"]: d for d in yaml.safe_load_all(out) if d}


def refused(tmp_path: Path, capsys, serving: dict, config=None) -> str:
    repo = write_repo(tmp_path, serving, config=config)
    capsys.readouterr()
    assert main(["generate", "--repo", str(repo)]) == 1
    assert not (repo / "base").exists()
    return capsys.readouterr().err


def deployment(objs: dict) -> dict:
    return objs["Deployment"]["spec"]


def pod(objs: dict) -> dict:
    return deployment(objs)["template"]["spec"]


def container(objs: dict) -> dict:
    return pod(objs)["containers"][0]


def env_of(objs: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(objs)["env"]}


def kubernetes(version: str):
    def edit(config: dict) -> None:
        config["kubernetesVersion"] = version
    return edit


# 5. GPU rollouts must not deadlock ---------------------------------------------------------------------

def test_gpu_rollout_needs_no_gpu_beyond_those_the_pods_hold(tmp_path):
    objs = built(tmp_path, {**GPU, "replicas": 3}, checked=True)
    assert deployment(objs)["strategy"] == {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                                            "type": "RollingUpdate"}


def test_cpu_rollout_still_surges_one_pod(tmp_path):
    assert deployment(built(tmp_path, {"replicas": 3}))["strategy"] == {
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}, "type": "RollingUpdate"}


def test_a_single_gpu_replica_is_recreated_even_when_the_base_rolls(tmp_path):
    objs = built(tmp_path, {**GPU, "replicas": 2}, env="dev", environments={"dev": {"serving": {"replicas": 1}}},
                 checked=True)
    assert deployment(objs)["strategy"] == {"type": "Recreate"}


def test_the_gpu_rollout_can_be_overridden(tmp_path):
    objs = built(tmp_path, {**GPU, "replicas": 1, "rollout": {"type": "RollingUpdate", "maxSurge": 1}})
    assert deployment(objs)["strategy"] == {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1},
                                            "type": "RollingUpdate"}


def test_progress_deadline_covers_the_startup_budget_plus_scheduling_and_pull(tmp_path):
    slow = {"path": "/healthz", "failureThreshold": 60, "periodSeconds": 10, "initialDelaySeconds": 30}
    objs = built(tmp_path / "gpu", {**GPU, "health": {**HEALTH["health"], "startup": slow}})
    assert deployment(objs)["progressDeadlineSeconds"] == 30 + 60 * 10 + 600
    assert deployment(built(tmp_path / "cpu", {}))["progressDeadlineSeconds"] == 600  # never below the default
    given = built(tmp_path / "given", {"rollout": {"progressDeadlineSeconds": 900}})
    assert deployment(given)["progressDeadlineSeconds"] == 900


# 6. HPA behavior -------------------------------------------------------------------------------------

def test_gpu_models_scale_down_gently(tmp_path):
    objs = built(tmp_path, {**GPU, "autoscaling": {"maxReplicas": 16, "targetRequestsPerSecond": 50}}, checked=True)
    assert objs["HorizontalPodAutoscaler"]["spec"]["behavior"] == {"scaleDown": {
        "policies": [{"periodSeconds": 60, "type": "Pods", "value": 1},
                     {"periodSeconds": 60, "type": "Percent", "value": 10}],
        "selectPolicy": "Max", "stabilizationWindowSeconds": 600}}


def test_fast_cpu_models_keep_the_kubernetes_scaling_behavior(tmp_path):
    objs = built(tmp_path, {"autoscaling": {"maxReplicas": 4, "targetCPUUtilization": 60}})
    assert "behavior" not in objs["HorizontalPodAutoscaler"]["spec"]


def test_a_spec_behavior_replaces_the_default(tmp_path):
    behavior = {"scaleUp": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]},
                "scaleDown": {"stabilizationWindowSeconds": 120}}
    objs = built(tmp_path, {**GPU, "autoscaling": {"maxReplicas": 4, "targetRequestsPerSecond": 5,
                                                   "behavior": behavior}}, checked=True)
    assert objs["HorizontalPodAutoscaler"]["spec"]["behavior"] == {
        "scaleDown": {"stabilizationWindowSeconds": 120},
        "scaleUp": {"policies": [{"periodSeconds": 60, "type": "Pods", "value": 2}]}}


# 9. Draining -----------------------------------------------------------------------------------------

def test_pods_pause_before_sigterm_and_have_time_to_drain(tmp_path):
    objs = built(tmp_path, {}, checked=True)
    assert container(objs)["lifecycle"] == {"preStop": {"sleep": {"seconds": 10}}}
    assert pod(objs)["terminationGracePeriodSeconds"] == 40


def test_draining_can_be_tuned(tmp_path):
    objs = built(tmp_path, {"shutdown": {"preStop": "exec", "preStopSleepSeconds": 5, "gracePeriodSeconds": 120}})
    assert container(objs)["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    assert pod(objs)["terminationGracePeriodSeconds"] == 120


def test_before_kubernetes_1_30_there_is_no_sleep_action_to_default_to(tmp_path):
    objs = built(tmp_path, {}, config=kubernetes("1.29.0"), checked=True)
    assert "lifecycle" not in container(objs)
    assert pod(objs)["terminationGracePeriodSeconds"] == 40


def test_asking_for_the_sleep_action_on_an_older_cluster_is_refused(tmp_path, capsys):
    err = refused(tmp_path, capsys, {"shutdown": {"preStop": "sleep"}}, config=kubernetes("1.29.0"))
    assert "the preStop sleep action needs Kubernetes 1.30 or later; mlgitops.yaml says 1.29.0 (prestop-sleep)" in err


# 10. PodDisruptionBudgets ----------------------------------------------------------------------------

def test_an_hpa_from_one_pod_gets_a_pdb_that_lets_unhealthy_pods_go(tmp_path):
    objs = built(tmp_path, {"autoscaling": {"minReplicas": 1, "maxReplicas": 10, "targetCPUUtilization": 60}},
                 checked=True)
    assert objs["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    assert objs["PodDisruptionBudget"]["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_one_fixed_pod_has_no_pdb(tmp_path):
    assert "PodDisruptionBudget" not in built(tmp_path, {"replicas": 1})


def test_unhealthy_pod_eviction_policy_only_where_kubernetes_has_it(tmp_path):
    objs = built(tmp_path, {"replicas": 2}, config=kubernetes("1.26.0"), checked=True)
    assert "unhealthyPodEvictionPolicy" not in objs["PodDisruptionBudget"]["spec"]


# 11. Read-only root with a writable HOME -------------------------------------------------------------

def test_home_and_caches_live_on_a_size_limited_scratch_volume(tmp_path):
    objs = built(tmp_path, {}, checked=True)
    env = env_of(objs)
    assert (env["HOME"], env["XDG_CACHE_HOME"], env["HF_HOME"], env["TORCH_HOME"]) == (
        "/home/model", "/home/model/.cache", "/home/model/.cache/huggingface", "/home/model/.cache/torch")
    assert {"mountPath": "/home/model", "name": "home"} in container(objs)["volumeMounts"]
    assert pod(objs)["volumes"][:2] == [{"emptyDir": {"sizeLimit": "1Gi"}, "name": "tmp"},
                                        {"emptyDir": {"sizeLimit": "2Gi"}, "name": "home"}]
    resources = container(objs)["resources"]
    # 1Gi /tmp + 2Gi HOME + 512Mi for logs
    assert resources["requests"]["ephemeral-storage"] == resources["limits"]["ephemeral-storage"] == "3584Mi"


def test_scratch_sizes_and_ephemeral_storage_can_be_set(tmp_path):
    objs = built(tmp_path / "sizes", {"scratch": {"tmpSize": "4Gi", "homeSize": "10Gi"}})
    assert container(objs)["resources"]["requests"]["ephemeral-storage"] == "14848Mi"
    given = built(tmp_path / "given", {"resources": {"ephemeralStorage": "20Gi"}})
    assert container(given)["resources"]["requests"]["ephemeral-storage"] == "20Gi"


def test_a_home_the_spec_sets_wins(tmp_path):
    env = [e for e in container(built(tmp_path, {"env": {"HOME": "/app"}}))["env"] if e["name"] == "HOME"]
    assert env == [{"name": "HOME", "value": "/app"}]


# 12. /dev/shm ----------------------------------------------------------------------------------------

def test_gpu_pods_get_dev_shm_counted_in_their_memory(tmp_path):
    objs = built(tmp_path, GPU, checked=True)
    assert {"emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}, "name": "dshm"} in pod(objs)["volumes"]
    assert {"mountPath": "/dev/shm", "name": "dshm"} in container(objs)["volumeMounts"]
    resources = container(objs)["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"] == "17Gi"  # 16Gi + 1Gi of /dev/shm


def test_pytorch_models_get_dev_shm_and_its_size_can_be_set(tmp_path):
    objs = built(tmp_path / "torch", {"resources": {"memory": "2Gi"}}, model={"framework": "pytorch"})
    assert container(objs)["resources"]["limits"]["memory"] == "3Gi"
    sized = built(tmp_path / "sized", {"resources": {"memory": "2Gi"}, "sharedMemory": "512Mi"})
    assert {"emptyDir": {"medium": "Memory", "sizeLimit": "512Mi"}, "name": "dshm"} in pod(sized)["volumes"]
    assert container(sized)["resources"]["requests"]["memory"] == "2560Mi"


def test_other_models_and_a_zero_size_get_no_dev_shm(tmp_path):
    for name, serving in (("cpu", {}), ("off", {**GPU, "sharedMemory": "0"})):
        objs = built(tmp_path / name, serving)
        assert "dshm" not in [v["name"] for v in pod(objs)["volumes"]]


# 15. Threads vs CPU limits ---------------------------------------------------------------------------

def test_thread_pools_follow_the_cpu_limit(tmp_path):
    env = env_of(built(tmp_path, {"resources": {"cpu": "500m", "limits": {"cpu": "2"}}}, checked=True))
    cpu = {"resourceFieldRef": {"containerName": "model-server", "divisor": "1", "resource": "limits.cpu"}}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        assert env[name] == cpu


def test_spec_env_takes_resource_and_pod_fields(tmp_path):
    spec_env = {"OMP_NUM_THREADS": "1",
                "MEMORY_MB": {"valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                "POD_NAME": {"valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}}
    env = env_of(built(tmp_path, {"env": spec_env}, checked=True))
    assert env["OMP_NUM_THREADS"] == "1"
    assert env["MEMORY_MB"] == {"resourceFieldRef": {"divisor": "1Mi", "resource": "limits.memory"}}
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_spec_env_refuses_secret_references(tmp_path, capsys):
    err = refused(tmp_path, capsys, {"env": {"TOKEN": {"valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}}})
    assert "unknown field 'secretKeyRef'" in err


# Best practice where more than one pod runs ----------------------------------------------------------

def test_pods_spread_over_zones_and_nodes_softly(tmp_path):
    objs = built(tmp_path, {"replicas": 3}, checked=True)
    selector = {"app.kubernetes.io/instance": "m", "app.kubernetes.io/name": "m"}
    assert pod(objs)["topologySpreadConstraints"] == [
        {"labelSelector": {"matchLabels": selector}, "matchLabelKeys": ["pod-template-hash"], "maxSkew": 1,
         "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway"}
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")]


def test_one_pod_is_not_spread_and_spreading_can_be_tuned(tmp_path):
    assert "topologySpreadConstraints" not in pod(built(tmp_path / "one", {"replicas": 1}))
    objs = built(tmp_path / "tuned", {"replicas": 3, "topologySpread": {"zone": "DoNotSchedule", "node": "Off"}})
    assert [(c["topologyKey"], c["whenUnsatisfiable"]) for c in pod(objs)["topologySpreadConstraints"]] == [
        ("topology.kubernetes.io/zone", "DoNotSchedule")]


def test_an_environment_that_runs_one_pod_drops_the_spreading(tmp_path):
    objs = built(tmp_path, {"replicas": 3}, env="dev", environments={"dev": {"serving": {"replicas": 1}}},
                 checked=True)
    assert "topologySpreadConstraints" not in pod(objs)


def test_before_kubernetes_1_27_pods_still_spread_without_match_label_keys(tmp_path):
    objs = built(tmp_path, {"replicas": 3}, config=kubernetes("1.26.0"), checked=True)
    assert [c.get("matchLabelKeys") for c in pod(objs)["topologySpreadConstraints"]] == [None, None]


def test_priority_and_gpu_runtime_classes_come_from_the_environment(tmp_path):
    def scheduling(config: dict) -> None:
        config["environments"][2]["scheduling"] = {"priorityClassName": "ml-serving", "gpuRuntimeClassName": "nvidia"}

    gpu = built(tmp_path / "gpu", GPU, env="prod", config=scheduling)
    assert (pod(gpu)["priorityClassName"], pod(gpu)["runtimeClassName"]) == ("ml-serving", "nvidia")
    cpu = built(tmp_path / "cpu", {"priorityClassName": "batch"}, env="prod", config=scheduling)
    assert pod(cpu)["priorityClassName"] == "batch" and "runtimeClassName" not in pod(cpu)
    staging = built(tmp_path / "staging", GPU, env="staging", config=scheduling)
    assert "priorityClassName" not in pod(staging) and "runtimeClassName" not in pod(staging)


def test_pull_policy_fits_the_reference(tmp_path):
    digest = "r.example.com/m@sha256:" + "a" * 64
    cases = {"r.example.com/m:1.0.0": "IfNotPresent", digest: "IfNotPresent", "r.example.com/m:main": "Always"}
    for i, (image, policy) in enumerate(cases.items()):
        assert container(built(tmp_path / str(i), {"image": image}))["imagePullPolicy"] == policy
    given = built(tmp_path / "given", {"image": "r.example.com/m:main", "imagePullPolicy": "IfNotPresent"})
    assert container(given)["imagePullPolicy"] == "IfNotPresent"


def test_prod_pinned_by_digest_over_a_moving_base_tag_pulls_if_not_present(tmp_path):
    digest = "r.example.com/m@sha256:" + "b" * 64
    objs = built(tmp_path, {"image": "r.example.com/m:main", "replicas": 2}, env="prod",
                 environments={"prod": {"serving": {"image": digest}}}, checked=True)
    assert (container(objs)["image"], container(objs)["imagePullPolicy"]) == (digest, "IfNotPresent")


# The version gates never write a field the strict schemas of that Kubernetes version lack -----------

def test_version_gates_match_the_kubernetes_schemas():
    from mlgitops.kube import schemas
    from mlgitops.render import pod as pod_parts
    from mlgitops.render import scaling
    from mlgitops.spec import pods

    gates = {("io.k8s.api.core.v1.LifecycleHandler", "sleep"): pods.SLEEP_ACTION_MINOR,
             ("io.k8s.api.core.v1.TopologySpreadConstraint", "matchLabelKeys"): pod_parts.MATCH_LABEL_KEYS_MINOR,
             ("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", "unhealthyPodEvictionPolicy"):
                 scaling.UNHEALTHY_POD_EVICTION_MINOR}
    for version in schemas.available_versions():
        definitions = schemas.schema_set(version).read("_definitions.json")["$defs"]
        for (definition, field), minor in gates.items():
            if int(version.split(".")[1]) >= minor:
                assert field in definitions[definition]["properties"], (version, field)


def test_an_environment_can_turn_one_spread_off(tmp_path):
    objs = built(tmp_path, {"replicas": 3}, env="prod", checked=True,
                 environments={"prod": {"serving": {"topologySpread": {"node": "Off"}}}})
    assert [c["topologyKey"] for c in pod(objs)["topologySpreadConstraints"]] == ["topology.kubernetes.io/zone"]


def test_an_environment_can_drop_dev_shm(tmp_path):
    objs = built(tmp_path, GPU, env="dev", checked=True, environments={"dev": {"serving": {"sharedMemory": "0"}}})
    assert "dshm" not in [v["name"] for v in pod(objs)["volumes"]]
    assert "/dev/shm" not in [m["mountPath"] for m in container(objs)["volumeMounts"]]
    assert container(objs)["resources"]["requests"]["memory"] == "16Gi"


def test_a_canary_pdb_has_the_unhealthy_pod_eviction_policy_only_where_kubernetes_has_it(tmp_path):
    """One stable pod has no PDB, so the canary writes its own: on 1.26 without the field the schema lacks."""
    canary = {"serving": {"canary": {"version": "1.1.0", "image": "r.example.com/m:1.1.0", "weight": 10}}}
    objs = built(tmp_path, {"replicas": 1, "ingress": {"host": "m.example.com"}}, environments={"staging": canary},
                 config=kubernetes("1.26.0"), checked=True)
    assert objs["PodDisruptionBudget"]["metadata"]["name"] == "m-canary"
    assert "unhealthyPodEvictionPolicy" not in objs["PodDisruptionBudget"]["spec"]
