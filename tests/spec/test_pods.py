"""spec/pods.py: the rollout, startup budget and sizes that semantics and render share."""

from __future__ import annotations

import yaml
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from mlgitops.kube import workloads
from mlgitops.kube.quantity import add_bytes
from mlgitops.render.pod import HOME_VARS, THREAD_VARS
from mlgitops.spec import pods
from mlgitops.spec.pods import FETCH_ENV, reserved_env

COUNT = st.one_of(st.integers(0, 3), st.sampled_from(["0%", "25%", "100%"]))


def serving(gpu=0, replicas=1, autoscaling=None, rollout=None, health=None) -> dict:
    out = {"resources": {"gpu": gpu}, "replicas": replicas, "rollout": rollout or {}, "health": health or {}}
    if autoscaling:
        out["autoscaling"] = autoscaling
    return out


@settings(max_examples=examples(200), deadline=None)
@given(gpu=st.integers(0, 2), replicas=st.integers(0, 5), scaled=st.booleans(),
       surge=st.one_of(st.none(), COUNT), unavailable=st.one_of(st.none(), COUNT))
def test_only_the_spec_can_make_a_gpu_rollout_surge(gpu, replicas, scaled, surge, unavailable):
    rollout = {k: v for k, v in (("maxSurge", surge), ("maxUnavailable", unavailable)) if v is not None}
    scaling = {"minReplicas": 1, "maxReplicas": 4} if scaled else None
    strategy = pods.rollout(serving(gpu, replicas, scaling, rollout))
    if strategy["type"] == "Recreate":
        assert gpu and not scaled and replicas <= 1
        return
    steps = strategy["rollingUpdate"]
    if gpu and surge is None:
        assert steps["maxSurge"] == 0
    if surge is None and unavailable is None:  # a default never stalls
        assert (steps["maxSurge"], steps["maxUnavailable"]) in ((0, 1), (1, 0))


def test_startup_budget_prefers_the_startup_probe():
    slow = {"path": "/h", "failureThreshold": 60, "initialDelaySeconds": 15}
    assert pods.startup_budget(serving(health={"liveness": "/h", "startup": slow})) == 15 + 60 * 10
    assert pods.startup_budget(serving(health={"liveness": "/h"})) == 3 * 20
    assert pods.startup_budget(serving()) == 0


def test_memory_sums_are_quantities():
    assert add_bytes("16Gi", "1Gi") == "17Gi"
    assert add_bytes("512Mi", "1Gi") == "1536Mi"
    assert add_bytes("1G", "1Gi") == "2073741824"


def _env_names(container: dict) -> set[str]:
    return {e["name"] for e in container.get("env") or []}


def test_the_reserved_env_names_are_exactly_those_mlgitops_writes(generated):
    """Every env name in the example tree's containers comes from the spec, is a default the spec may override
    (threads, HOME), or is reserved for that section: and every reserved name is written somewhere."""
    defaults = set(THREAD_VARS) | {name for name, _ in HOME_VARS}
    written: dict[str, set[str]] = {"serving": set(), "training": set()}
    for path in sorted(generated.glob("base/*/deployment.yaml")) + sorted(generated.glob("overlays/*/*/training/*.yaml")):
        section = "training" if "training" in path.parts else "serving"
        spec = yaml.safe_load((generated / "models" / f"{path.parts[-2 if section == 'serving' else -3]}.yaml").read_text())
        own = {s["env"] for part in ("serving", "training") for s in (spec["spec"].get(part) or {}).get("secrets", [])}
        for part in ("serving", "training"):
            own |= set((spec["spec"].get(part) or {}).get("env", {}))
        for doc in yaml.safe_load_all(path.read_text()):
            for view in workloads.pod_templates(doc or {}):
                for container in view.pod.get("containers", []):
                    written[section] |= _env_names(container) - own - defaults
    assert written["serving"] == reserved_env("serving") | {FETCH_ENV}
    assert written["training"] == reserved_env("training")


def test_rollout_rounds_count_pods_at_a_time_as_the_deployment_controller_does():
    assert pods.rollout_rounds(serving(gpu=1, replicas=6)) == 6  # GPU: one pod at a time (maxUnavailable 1)
    assert pods.rollout_rounds(serving(gpu=1, replicas=1)) == 1  # Recreate
    assert pods.rollout_rounds(serving(replicas=10, rollout={"maxSurge": "25%", "maxUnavailable": "25%"})) == 2  # 3 + 2 a round
    assert pods.rollout_rounds(serving(replicas=2, rollout={"maxSurge": 0, "maxUnavailable": 0})) == 2  # never 0
    assert pods.rollout_rounds(serving(replicas=2, autoscaling={"minReplicas": 2, "maxReplicas": 8})) == 8  # HPA max


def test_a_rollout_may_take_each_round_up_to_the_progress_deadline():
    llm = serving(gpu=1, replicas=6, health={"startup": {"path": "/ready", "periodSeconds": 10, "failureThreshold": 90}})
    assert pods.progress_deadline(llm) == 1500  # 900 s startup budget + 600 s scheduling and pull
    assert pods.rollout_seconds(llm) == 6 * 1500  # the llm-server: far above a 15m timeout
