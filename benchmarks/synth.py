"""Synthesize a repository of N realistic model specs, for the benchmarks.

`synthesize(root, n)` writes `root/mlgitops.yaml` (a copy of this repository's config) and
`root/models/m0000.yaml` ... : a deterministic mix, shaped like the example specs in models/, of CPU
and GPU models, with and without autoscaling (CPU, requests per second, or both), storage, ingress,
secrets, metrics, and per-environment overrides (dev: one replica, no autoscaling; prod: another
version, image and limits; some labels and raw patches). `change_one(root, i)` edits one spec the way
a pull request would: it bumps the model version.

Every spec is valid against schemas/model.schema.json and passes `mlgitops generate`.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "mlgitops.yaml"
HEADER = "# yaml-language-server: $schema=../schemas/model.schema.json\n"

TEAMS = ("pricing", "risk", "vision", "search", "ads", "nlp", "growth", "fraud", "recsys", "speech")
CPU_FRAMEWORKS = ("sklearn", "xgboost", "lightgbm", "onnx", "catboost")
GPU_FRAMEWORKS = ("pytorch", "tensorflow", "onnx", "triton", "vllm")
CPU_SIZES = (("250m", "512Mi"), ("500m", "1Gi"), ("1", "2Gi"), ("2", "4Gi"))
CPU_LIMIT = {"250m": "500m", "500m": "1", "1": "2", "2": "4"}
GPU_SIZES = (("4", "16Gi", 1), ("8", "32Gi", 1), ("8", "64Gi", 2))


def model_name(i: int) -> str:
    return f"m{i:04d}"


def synthesize(root: Path, n: int, seed: int = 0, config: Path = CONFIG) -> list[Path]:
    """Write a complete repository of n model specs under root; return the spec paths."""
    root = Path(root)
    (root / "models").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config, root / "mlgitops.yaml")
    paths = []
    for i in range(n):
        path = root / "models" / f"{model_name(i)}.yaml"
        path.write_text(spec_text(i, seed), encoding="utf-8")
        paths.append(path)
    return paths


# spec.model.version, the only `version:` key four spaces in (see _block)
VERSION_LINE = re.compile(r'^(    version: ")(\d+)\.(\d+)\.(\d+)(")$', re.MULTILINE)


def change_one(root: Path, i: int) -> Path:
    """Bump the patch number of models/m<i>.yaml's spec.model.version, as a one-line pull request would."""
    path = Path(root) / "models" / f"{model_name(i)}.yaml"
    text = path.read_text(encoding="utf-8")
    new, count = VERSION_LINE.subn(
        lambda m: f"{m[1]}{m[2]}.{m[3]}.{int(m[4]) + 1}{m[5]}", text, count=1)
    if count != 1:
        raise ValueError(f"{path}: no spec.model.version line to bump")
    path.write_text(new, encoding="utf-8")
    return path


def spec_text(i: int, seed: int = 0) -> str:
    """The YAML text of model i: the dict of `spec_data`, written the way people write specs."""
    data = spec_data(i, seed)
    kind = "GPU" if data["spec"]["serving"]["resources"].get("gpu") else "CPU"
    lines = [HEADER.rstrip("\n"), f"# Synthetic {kind} model {i} for the mlgitops benchmarks (seed {seed})."]
    lines.extend(_block(data, 0, 0))
    return "\n".join(lines) + "\n"


def spec_data(i: int, seed: int = 0) -> dict:
    """Model i of the mix; the same (i, seed) always gives the same spec."""
    rng = random.Random(f"{seed}:{i}")
    name = model_name(i)
    team = TEAMS[i % len(TEAMS)]
    gpu = i % 4 == 3  # a quarter of the models run on GPUs
    scaling = ("none", "cpu", "rps", "both")[(i // 2) % 4]
    major, minor, patch = 1 + i % 5, rng.randrange(20), rng.randrange(10)
    version = f"{major}.{minor}.{patch}"
    image = f"registry.example.com/{team}/{name}"

    serving: dict = {"image": f"{image}:{version}", "port": rng.choice((8000, 8080, 5000, 9000))}
    serving["resources"] = _resources(rng, gpu)
    serving["health"] = _health(rng, gpu)
    if scaling == "none":
        serving["replicas"] = rng.choice((1, 2, 3))
    else:
        serving["autoscaling"] = _autoscaling(rng, scaling)
    serving["env"] = {"LOG_LEVEL": "info", "WORKERS": str(rng.choice((1, 2, 4)))}
    if rng.random() < 0.3:
        serving["env"]["BATCH_SIZE"] = str(rng.choice((8, 16, 32)))
    if i % 2 == 0:
        serving["secrets"] = [{"env": "DB_PASSWORD", "secret": f"{name}-db", "key": "password"}]
        if i % 6 == 0:
            serving["secrets"].append({"env": "API_TOKEN", "secret": f"{name}-api", "key": "token",
                                       "optional": True})
    if gpu or i % 5 == 0:
        serving["storage"] = _storage(rng, i, name)
    _exposure(serving, i, name, team, gpu)

    spec: dict = {"model": {"version": version, "uri": f"s3://models/{name}/{{version}}/model.bin",
                            "framework": rng.choice(GPU_FRAMEWORKS if gpu else CPU_FRAMEWORKS)},
                  "serving": serving}
    if i % 6 == 1:
        spec["labels"] = {"data-class": "internal"}
    spec["environments"] = _environments(rng, i, name, image, version, serving)
    return {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": name, "team": team},
            "spec": spec}


def _resources(rng: random.Random, gpu: bool) -> dict:
    if gpu:
        cpu, memory, gpus = rng.choice(GPU_SIZES)
        return {"cpu": cpu, "memory": memory, "gpu": gpus}
    cpu, memory = rng.choice(CPU_SIZES)
    resources: dict = {"cpu": cpu, "memory": memory}
    if rng.random() < 0.3:
        resources["limits"] = {"cpu": CPU_LIMIT[cpu]}
    return resources


def _storage(rng: random.Random, i: int, name: str) -> dict:
    shared = i % 3 == 0  # several replicas on several nodes: never ReadWriteOnce
    storage = {"size": rng.choice(("10Gi", "20Gi", "50Gi")), "mountPath": "/models",
               "accessMode": "ReadWriteMany" if shared else "ReadOnlyMany", "readOnly": not shared}
    if not shared:  # a ReadOnlyMany claim holds the weights only when made from a snapshot
        storage["dataSource"] = {"kind": "VolumeSnapshot", "name": f"{name}-weights"}
    if i % 3 == 0:
        storage["storageClassName"] = "fast-ssd"
    return storage


def _exposure(serving: dict, i: int, name: str, team: str, gpu: bool) -> None:
    """Ingress, metrics, network policy, service account, rollout and args: by i alone, no randomness."""
    if i % 3 != 2:
        serving["ingress"] = {"host": f"{name}.staging.example.com", "className": "nginx"}
        if i % 2:
            serving["ingress"]["tlsSecret"] = f"{name}-tls"
        if i % 7 == 0:
            serving["ingress"]["annotations"] = {"nginx.ingress.kubernetes.io/proxy-body-size": "16m"}
    if i % 10 < 7:
        serving["metrics"] = {"path": "/metrics"}
        if gpu or "ingress" in serving:  # never on the port an Ingress exposes
            serving["metrics"]["port"] = 9090
    if i % 4 == 1:
        serving["networkPolicy"] = {"allowFromNamespaces": [f"{team}-apps"]}
    if i % 8 == 5:
        serving["serviceAccount"] = {"annotations": {
            "eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{name}"}}
    if i % 9 == 4:
        serving["rollout"] = {"maxSurge": "25%", "maxUnavailable": 0}
    if i % 11 == 6:
        serving["args"] = ["--model-dir", "/models", "--workers", serving["env"]["WORKERS"]]


def _health(rng: random.Random, gpu: bool) -> dict:
    health: dict = {"readiness": "/ready", "liveness": "/healthz"}
    if gpu:
        health["startup"] = {"path": "/healthz", "failureThreshold": rng.choice((30, 60, 120))}
    elif rng.random() < 0.2:
        health["readiness"] = {"path": "/ready", "periodSeconds": 5, "timeoutSeconds": 2}
    return health


def _autoscaling(rng: random.Random, kind: str) -> dict:
    low = rng.choice((1, 2, 3))
    out: dict = {"minReplicas": low, "maxReplicas": low + rng.choice((3, 5, 9))}
    if kind in ("cpu", "both"):
        out["targetCPUUtilization"] = rng.choice((60, 70, 80))
    if kind in ("rps", "both"):
        out["targetRequestsPerSecond"] = rng.choice((20, 50, 100))
    return out


def _environments(rng: random.Random, i: int, name: str, image: str, version: str, serving: dict) -> dict:
    scaled = "autoscaling" in serving
    dev: dict = {"serving": {"replicas": 1}}
    if scaled:
        dev["serving"]["autoscaling"] = None
    if "ingress" in serving and i % 2:
        dev["serving"]["ingress"] = None
    if i % 3 == 0:
        dev["serving"]["env"] = {"LOG_LEVEL": "debug"}
    envs: dict = {"dev": dev}

    if i % 5 == 2:
        envs["staging"] = {"serving": {"env": {"LOG_LEVEL": "warning"}}}

    prod: dict = {}
    if i % 2 == 0:  # prod runs the previous version until the new one is promoted
        previous = _previous(version)
        prod["model"] = {"version": previous}
        prod["serving"] = {}
        prod["serving"]["image"] = (f"{image}@sha256:{rng.getrandbits(256):064x}" if i % 4 == 0
                                    else f"{image}:{previous}")
    prod.setdefault("serving", {})
    if scaled:
        low = serving["autoscaling"]["minReplicas"] + 1
        prod["serving"]["autoscaling"] = {"minReplicas": low, "maxReplicas": low + 10}
    else:
        prod["serving"]["replicas"] = serving["replicas"] + 2
    if i % 3 == 1:
        requests = serving["resources"]
        prod["serving"]["resources"] = {"limits": {"memory": _double(requests["memory"])}}
    if "ingress" in serving:
        prod["serving"]["ingress"] = {"host": f"{name}.example.com"}
    if i % 4 == 2:
        prod["labels"] = {"cost-center": f"{name}-prod"}
    if i % 10 == 3:
        prod["patches"] = [{"target": {"kind": "Deployment"}, "merge": {"spec": {"template": {"spec": {
            "topologySpreadConstraints": [{
                "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}]}}}}}]
    elif i % 10 == 8:
        prod["patches"] = [{"target": {"kind": "Deployment"}, "jsonPatch": [
            {"op": "add", "path": "/spec/template/spec/priorityClassName", "value": "ml-high"},
            {"op": "add", "path": "/spec/revisionHistoryLimit", "value": 5}]}]
    envs["prod"] = prod
    return envs


def _previous(version: str) -> str:
    major, minor, patch = (int(x) for x in version.split("."))
    return f"{major}.{minor}.{patch - 1}" if patch else f"{major}.{max(minor - 1, 0)}.9"


def _double(quantity: str) -> str:
    number = re.match(r"\d+", quantity)
    assert number
    return f"{int(number[0]) * 2}{quantity[number.end():]}"


# A small emitter in the style of the example specs: block maps at the top, flow maps for short
# leaves ({cpu: "1", memory: 2Gi}), double-quoted strings wherever a plain scalar would be misread.

PLAIN = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9_./@-]*$")
VERSION_LIKE = re.compile(r"^[0-9]+(\.[0-9]+)+$")  # quoted, as people quote versions
FLOW_WIDTH = 100


def _scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if PLAIN.match(value) and not VERSION_LIKE.match(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def _flow(value) -> str | None:
    """A one-line flow rendering, or None when the value is too big or too nested for one."""
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            inner = _flow(item)
            if inner is None:
                return None
            parts.append(f"{_scalar(key)}: {inner}")
        text = "{" + ", ".join(parts) + "}"
    elif isinstance(value, list):
        inner_items = [_flow(item) for item in value]
        if any(item is None or item.startswith("{") for item in inner_items):
            return None
        text = "[" + ", ".join(inner_items) + "]"  # type: ignore[arg-type]
    else:
        return _scalar(value)
    return text if len(text) <= FLOW_WIDTH else None


def _block(value, indent: int, depth: int) -> list[str]:
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            flow = _flow(item) if depth >= 2 or not isinstance(item, (dict, list)) else None
            if flow is not None:
                lines.append(f"{pad}{_scalar(key)}: {flow}")
            else:
                lines.append(f"{pad}{_scalar(key)}:")
                lines.extend(_block(item, indent + 2, depth + 1))
        return lines
    for item in value:  # a list of maps
        flow = _flow(item)
        if flow is not None:
            lines.append(f"{pad}- {flow}")
            continue
        inner = _block(item, indent + 2, depth + 1)
        lines.append(f"{pad}- {inner[0].lstrip()}")
        lines.extend(inner[1:])
    return lines
