"""spec.training rendered: golden outputs per kind, the hash in the names, which environments train.

Golden files (tests/render/golden/training/<case>.yaml) are compared byte for byte; regenerate them
with `MLGITOPS_UPDATE_GOLDEN=1 make test` and read every changed line before committing.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from mlgitops.render import sweep
from mlgitops.spec.config import parse_config
from mlgitops.spec.model import parse_model
from mlgitops.tree.layout import training_intended
from mlgitops.tree.yamlemit import dumps_all

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "training"

HEAD = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: resnet, team: vision}
spec:
  model: {version: "2.1.0"}
  serving: {image: registry.example.com/vision/resnet:2.1.0, replicas: 2, health: {readiness: /ready, liveness: /healthz}}
  training:
    image: registry.example.com/vision/resnet-train:2.1.0
    command: [python, train.py]
    args: [--epochs=20]
"""

CASES = {
    "job": """\
    env: {WANDB_PROJECT: resnet}
    secrets: [{env: WANDB_API_KEY, secret: wandb, key: api-key}]
    resources: {cpu: "8", memory: 32Gi, gpu: 2}
    data: {claim: imagenet, mountPath: /data, readOnly: true}
    output: {uri: "s3://models/resnet/runs/{version}/{run}/"}
    activeDeadlineSeconds: 86400
""",
    "cronjob": """\
    resources: {cpu: "4", memory: 16Gi, gpu: 1}
    schedule: "0 3 * * 0"
""",
    "trainjob": """\
    resources: {cpu: "8", memory: 64Gi, gpu: 4}
    data: {claim: imagenet, readOnly: true}
    output: {uri: "s3://models/resnet/runs/{run}/"}
    workers: 4
""",
    "pytorchjob": """\
    resources: {cpu: "8", memory: 64Gi, gpu: 4}
    output: {uri: "s3://models/resnet/runs/{run}/"}
    workers: 3
""",
    "sweep-grid": """\
    resources: {cpu: "4", memory: 16Gi, gpu: 1}
    activeDeadlineSeconds: 7200
    output: {uri: "s3://models/resnet/sweeps/{run}/{trial}/"}
    sweep:
      parameters:
        lr: [0.1, 0.01, 0.001]
        optimizer: [sgd, adam]
      parallelism: 4
""",
    "sweep-random": """\
    resources: {cpu: "4", memory: 16Gi}
    data: {size: 100Gi, storageClassName: fast, accessMode: ReadWriteMany}
    sweep:
      strategy: random
      parameters:
        lr: {min: 0.0001, max: 0.1, distribution: log-uniform}
        dropout: {min: 0.1, max: 0.5}
        layers: {min: 2, max: 8, type: int}
        batch: [32, 64, 128]
      trials: 5
      parallelism: 2
      seed: 7
""",
    "katib-experiment": """\
    resources: {cpu: "4", memory: 16Gi, gpu: 1}
    output: {uri: "s3://models/resnet/sweeps/{run}/{trial}/"}
    sweep:
      strategy: random
      parameters:
        lr: {min: 0.0001, max: 0.1, distribution: log-uniform}
        batch: [32, 64]
        optimizer: [sgd, adam]
      trials: 12
      parallelism: 3
      seed: 7
      objective: {metric: val_accuracy}
""",
}
CONFIG = {"pytorchjob": "training: {distributed: pytorchjob}\n", "katib-experiment": "training: {katib: true}\n"}


def config(extra: str = ""):
    raw = (ROOT / "mlgitops.yaml").read_text() + extra
    cfg, found = parse_config("mlgitops.yaml", raw.encode())
    assert cfg is not None, found
    return cfg


def model(text: str, cfg):
    parsed, found = parse_model("models/resnet.yaml", text.encode(), cfg)
    assert parsed is not None, [str(f) for f in found]
    return parsed


def runs(parsed, cfg, env: str = "dev") -> list:
    """The rendered training objects apart from their NetworkPolicies."""
    return [m for m in training_intended(parsed, cfg, env) if m.obj["kind"] != "NetworkPolicy"]


def rendered(text: str, cfg, env: str = "dev") -> str:
    return dumps_all(m.obj for m in training_intended(model(text, cfg), cfg, env))


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case):
    got = rendered(HEAD + CASES[case], config(CONFIG.get(case, "")))
    golden = GOLDEN / f"{case}.yaml"
    if os.environ.get("MLGITOPS_UPDATE_GOLDEN"):
        golden.write_text(got)
    assert got == golden.read_text()


def _names(text: str, cfg=None) -> list[str]:
    cfg = cfg or config()
    return [m.name for m in runs(model(text, cfg), cfg)]


JOB = HEAD + CASES["job"]


def test_an_unchanged_training_spec_keeps_the_job_name():
    assert _names(JOB) == _names(JOB) == ["resnet-train-4a61c154"]


def test_a_serving_only_change_keeps_the_job_name():
    serving = JOB.replace("serving: {image: registry.example.com/vision/resnet:2.1.0, replicas: 2",
                          "serving: {image: registry.example.com/vision/resnet:2.2.0, replicas: 3")
    assert serving != JOB
    assert _names(serving) == _names(JOB)


def test_a_training_change_makes_a_new_job():
    assert _names(JOB.replace("--epochs=20", "--epochs=30")) != _names(JOB)
    assert _names(JOB.replace("gpu: 2", "gpu: 4")) != _names(JOB)


def test_an_override_that_changes_training_makes_a_new_job_in_that_environment_only():
    both = JOB.replace("  training:\n", "  training:\n    environments: [dev, staging]\n", 1)
    cfg = config()
    override = both + "  environments:\n    staging: {training: {args: [--epochs=1]}}\n"
    parsed = model(override, cfg)
    dev = [m.name for m in runs(parsed, cfg, "dev")]
    staging = [m.name for m in runs(parsed, cfg, "staging")]
    assert dev == _names(JOB) and staging != dev
    assert training_intended(parsed, cfg, "prod") == []


def test_only_the_first_environment_trains_unless_the_spec_lists_others():
    cfg = config()
    assert [e for e in cfg.env_names if training_intended(model(JOB, cfg), cfg, e)] == ["dev"]
    listed = JOB.replace("  training:\n", "  training:\n    environments: [staging, prod]\n", 1)
    assert [e for e in cfg.env_names if training_intended(model(listed, cfg), cfg, e)] == ["staging", "prod"]
    removed = listed + "  environments:\n    prod: {training: null}\n"
    assert [e for e in cfg.env_names if training_intended(model(removed, cfg), cfg, e)] == ["staging"]


def test_no_job_has_a_ttl_and_every_pod_is_restricted_and_never_restarts():
    for case, body in CASES.items():
        text = rendered(HEAD + body, config(CONFIG.get(case, "")))
        assert "ttlSecondsAfterFinished" not in text
        assert "restartPolicy: Always" not in text and "restartPolicy: OnFailure" not in text
        assert text.count("runAsNonRoot: true") >= 2 and "RuntimeDefault" in text, case


def test_a_grid_is_the_cartesian_product_in_parameter_name_order():
    got = sweep.trials({"strategy": "grid", "parameters": {"lr": [0.1, 0.01], "batch": [32, 64]}})
    assert [sweep.arguments(t) for t in got] == ["--batch=32 --lr=0.1", "--batch=32 --lr=0.01",
                                                 "--batch=64 --lr=0.1", "--batch=64 --lr=0.01"]


RANDOM = {"strategy": "random", "trials": 4, "seed": 7,
          "parameters": {"lr": {"min": 0.0001, "max": 0.1, "distribution": "log-uniform"},
                         "layers": {"min": 2, "max": 8, "type": "int"}, "opt": ["sgd", "adam"]}}


def test_a_random_sweep_is_a_fixed_sample_of_its_seed():
    got = [sweep.arguments(t) for t in sweep.trials(RANDOM)]
    assert got == [
        "--layers=3 --lr=0.00659233 --opt=sgd",
        "--layers=7 --lr=0.000289162 --opt=sgd",
        "--layers=4 --lr=0.0214263 --opt=adam",
        "--layers=2 --lr=0.000110879 --opt=sgd",
    ]
    assert [sweep.arguments(t) for t in sweep.trials({**RANDOM, "seed": 8})] != got
    for trial in sweep.trials({**RANDOM, "trials": 200}):
        values = dict(trial)
        assert 0.0001 <= float(values["lr"]) <= 0.1 and 2 <= int(values["layers"]) <= 8


@pytest.mark.slow
def test_a_random_sweep_does_not_depend_on_the_interpreter_hash_seed():
    code = ("from mlgitops.render import sweep; import json; "
            f"print(json.dumps(sweep.trials({RANDOM!r})))")
    outs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                           capture_output=True, text=True, check=True).stdout for seed in ("1", "2")}
    assert len(outs) == 1


@st.composite
def _ranges(draw):
    kind = draw(st.sampled_from(["float", "int"]))
    log = draw(st.booleans())
    low = draw(st.integers(1, 1000)) if kind == "int" else draw(st.floats(1e-6, 1e3))
    high = low + (draw(st.integers(1, 1000)) if kind == "int" else draw(st.floats(1e-6, 1e3)))
    return {"min": low, "max": high, "type": kind, "distribution": "log-uniform" if log else "uniform"}


@settings(max_examples=examples(60), deadline=None)
@given(space=_ranges(), seed=st.integers(0, 2**31), trials=st.integers(1, 20))
def test_random_draws_stay_in_their_range_and_repeat(space, seed, trials):
    spec = {"strategy": "random", "seed": seed, "trials": trials, "parameters": {"p": space}}
    got = sweep.trials(spec)
    assert got == sweep.trials(spec) and len(got) == trials
    for [(_, value)] in got:
        number = float(value)
        # 6 significant digits may round a float draw just past a bound, never further
        assert space["min"] * (1 - 1e-5) <= number <= space["max"] * (1 + 1e-5)
        if space["type"] == "int":
            assert value.lstrip("-").isdigit()


@settings(max_examples=examples(40), deadline=None)
@given(st.dictionaries(st.sampled_from(["lr", "batch", "opt", "depth"]),
                       st.lists(st.integers(0, 99), min_size=1, max_size=4, unique=True), min_size=1))
def test_a_grid_makes_every_combination_once(parameters):
    got = [tuple(t) for t in sweep.trials({"strategy": "grid", "parameters": parameters})]
    assert len(got) == len(set(got)) == math.prod(len(v) for v in parameters.values())


def test_a_sweep_is_bounded_by_its_rounds_of_parallel_trials():
    from mlgitops.spec.training import costs

    training = {"resources": {"gpu": 2}, "activeDeadlineSeconds": 7200, "workers": 1,
                "sweep": {"strategy": "random", "trials": 5, "parallelism": 2, "parameters": {"lr": [0.1]}}}
    [sweep_cost] = costs(training)
    assert sweep_cost.describe() == "24 GPU-hours (5 trials, 2 at a time: 2 pods x 2 GPUs x 3 rounds of 2h)"
    [katib] = costs(training, katib=True)  # a Job per trial, each with its own deadline
    assert katib.describe() == "20 GPU-hours (5 trials x 2 GPUs x 2h)"
    training["sweep"]["trials"] = 6
    assert costs(training)[0].describe() == "24 GPU-hours (6 trials x 2 GPUs x 2h)"
    assert [c.what for c in costs({**training, "schedule": "@daily"})] == ["sweep", "scheduled run"]


def _pod_of(text: str, cfg=None):
    cfg = cfg or config()
    [job_obj] = [m.obj for m in runs(model(text, cfg), cfg)]
    return job_obj["spec"]["template"]["spec"]


def test_training_pods_get_the_kinds_scratch_shm_and_threads_from_the_table():
    pod = _pod_of(JOB)
    volumes = {v["name"]: v.get("emptyDir") for v in pod["volumes"]}
    assert volumes["tmp"] == {"sizeLimit": "4Gi"} and volumes["home"] == {"sizeLimit": "4Gi"}
    assert volumes["dshm"] == {"medium": "Memory", "sizeLimit": "1Gi"}  # a GPU pod
    container = pod["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "8", "memory": "33Gi", "ephemeral-storage": "8704Mi"}
    env = {e["name"]: e for e in container["env"]}
    assert env["OMP_NUM_THREADS"]["valueFrom"]["resourceFieldRef"]["containerName"] == "training"
    assert env["HOME"]["value"] == "/home/model"


def test_the_spec_overrides_the_training_scratch_and_shm_and_its_own_env_wins():
    text = JOB.replace("    activeDeadlineSeconds: 86400\n", "    activeDeadlineSeconds: 86400\n"
                       "    scratch: {tmpSize: 20Gi, homeSize: 1Gi}\n    sharedMemory: 0\n"
                       "    resources: {cpu: \"8\", memory: 32Gi, gpu: 2, ephemeralStorage: 50Gi}\n"
                       ).replace("    resources: {cpu: \"8\", memory: 32Gi, gpu: 2}\n", "").replace(
                       "env: {WANDB_PROJECT: resnet}", "env: {WANDB_PROJECT: resnet, OMP_NUM_THREADS: \"4\"}")
    pod = _pod_of(text)
    volumes = {v["name"]: v.get("emptyDir") for v in pod["volumes"]}
    assert "dshm" not in volumes and volumes["tmp"] == {"sizeLimit": "20Gi"}
    container = pod["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "8", "memory": "32Gi", "ephemeral-storage": "50Gi"}
    assert [e.get("value") for e in container["env"] if e["name"] == "OMP_NUM_THREADS"] == ["4"]


def test_team_labels_annotations_and_gpu_scheduling_do_not_change_the_run_identity():
    team = JOB.replace("team: vision", "team: research")
    annotated = JOB.replace("  model: {version", "  annotations: {owner: ana}\n  model: {version", 1)
    raw = (ROOT / "mlgitops.yaml").read_text().replace("nodeSelector: {nvidia.com/gpu.present: \"true\"}",
                                                       "nodeSelector: {pool: a100}")
    scheduling, found = parse_config("mlgitops.yaml", raw.encode())
    assert scheduling is not None and "pool: a100" in raw, found
    assert team != JOB and "owner: ana" in annotated
    assert _names(team) == _names(annotated) == _names(JOB) == _names(JOB, scheduling)


def test_what_runs_changes_the_run_identity():
    for old, new in (("--epochs=20", "--epochs=30"), ("train.py", "train2.py"), ("resnet-train:2.1.0", "resnet-train:2.2"),
                     ("WANDB_PROJECT: resnet", "WANDB_PROJECT: r2"), ("claim: imagenet", "claim: imagenet-v2"),
                     ("memory: 32Gi", "memory: 40Gi"), ('version: "2.1.0"', 'version: "2.2.0"')):
        assert _names(JOB.replace(old, new)) != _names(JOB), old


def test_run_objects_are_created_once_by_flux_and_their_spec_ignored_by_argo_cd():
    from mlgitops.render.engines.argocd import training_application_set

    cfg = config()
    [job_obj] = [m.obj for m in runs(model(JOB, cfg), cfg)]
    assert job_obj["metadata"]["annotations"] == {"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}
    app = training_application_set(cfg, cfg.environments[0])["spec"]["template"]["spec"]
    assert {"group": "batch", "jsonPointers": ["/spec"], "kind": "Job"} in app["ignoreDifferences"]
    assert "CronJob" not in {d["kind"] for d in app["ignoreDifferences"]}  # its template is mutable
    assert "RespectIgnoreDifferences=true" in app["syncPolicy"]["syncOptions"]


SWEEP = HEAD + """\
    resources: {cpu: "2", memory: 4Gi}
    sweep: {parameters: {lr: [0.1, 0.01, 0.001, 0.0001]}, parallelism: 2}
"""


def test_a_sweep_stops_after_one_round_of_failed_trials_unless_the_spec_says():
    cfg = config()
    [sweep_job, _] = [m.obj for m in runs(model(SWEEP, cfg), cfg)]
    assert sweep_job["spec"]["maxFailedIndexes"] == 2 and sweep_job["spec"]["backoffLimitPerIndex"] == 2
    katib = config("training: {katib: true}\n")
    text = SWEEP.replace("parallelism: 2}", "parallelism: 2, maxFailedTrials: 3, objective: {metric: acc, goal: maximize}}")
    [experiment] = [m.obj for m in runs(model(text, katib), katib)]
    assert experiment["spec"]["maxFailedTrialCount"] == 3 and experiment["spec"]["maxTrialCount"] == 4


def test_a_cronjob_runs_in_its_time_zone():
    text = HEAD + CASES["cronjob"] + "    timeZone: Europe/Berlin\n"
    cfg = config()
    [cron] = [m.obj for m in runs(model(text, cfg), cfg)]
    assert cron["spec"]["timeZone"] == "Europe/Berlin" and cron["spec"]["schedule"] == "0 3 * * 0"


def test_every_distributed_kind_has_a_renderer_and_a_setting():
    """mlgitops.yaml's training.distributed offers exactly the kinds the workload table marks distributed, and
    each has its renderer: a new distributed kind missing from either is caught here."""
    from mlgitops.kube.workloads import DISTRIBUTED
    from mlgitops.render.training import DISTRIBUTED_RUNS
    from mlgitops.spec.schema import load_schema

    setting = load_schema("config.schema.json")["properties"]["training"]["properties"]["distributed"]
    assert sorted(setting["enum"]) == sorted(DISTRIBUTED) and setting["default"] in DISTRIBUTED
    assert sorted(DISTRIBUTED_RUNS) == sorted(w.kind for w in DISTRIBUTED.values())
