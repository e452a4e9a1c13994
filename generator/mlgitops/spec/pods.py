"""Facts about a model's pods that both the semantic checks and the renderers need.

Pure functions of an effective `spec.serving` (defaults filled): whether it runs on GPUs, how many pods
it can run, the rollout it gets, how long a pod may take to start, its scratch and shared-memory sizes.
Defaults that depend on other fields (a GPU rollout, /dev/shm for PyTorch) are decided here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from mlgitops.kube.quantity import add_bytes
from mlgitops.kube.quantity import value as quantity

# Seconds a new pod may spend being scheduled and pulling its image before its probes start:
# GPU nodes often come from a cluster autoscaler (minutes), and CUDA images are gigabytes.
SCHEDULE_AND_PULL_SECONDS = {False: 300, True: 600}
KUBERNETES_PROGRESS_DEADLINE = 600  # the Deployment default
# A startup probe's defaults (render/workload.py writes the same into the probe).
STARTUP_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "failureThreshold": 30}
LIVENESS_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 20, "failureThreshold": 3}
# The probe timings render/workload.py writes where the spec gives a path alone (`import` leaves them out).
PROBE_DEFAULTS = {
    "readiness": {"periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3},
    "liveness": {"periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3},
    "startup": {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 30},
}
DEFAULT_SHM = "1Gi"
LOG_HEADROOM = "512Mi"  # container logs (the kubelet rotates them at 5 x 10Mi) and the little a read-only root writes
PYTORCH = ("pytorch", "torch")
HOME = "/home/model"  # the writable HOME volume's mount path
RESERVED_MOUNTS = ("/tmp", HOME, "/dev/shm")  # the scratch and shared-memory volumes
# Thread pools of OpenMP (PyTorch, XGBoost, LightGBM), MKL, OpenBLAS and numexpr default to the node's
# cores, not the container's CPU limit: sized from the limit, they stop throttling (render/pod.py sets them;
# `import` recognises them).
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
HF_CACHE_VARS = ("HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")  # where Hugging Face's hub downloads to
HOME_VARS = (("HOME", HOME), ("XDG_CACHE_HOME", f"{HOME}/.cache"), ("HF_HOME", f"{HOME}/.cache/huggingface"),
             ("TORCH_HOME", f"{HOME}/.cache/torch"))


def home_cache(path: str) -> str:
    """Where a cache directory of the container's (a dropped mount's path) goes in mlgitops' writable HOME: the
    HOME default of the same directory name (.../huggingface -> HF_HOME's), else HOME's .cache/<name>."""
    name = path.rstrip("/").rsplit("/", 1)[-1].lstrip(".") or "cache"
    own = {value.rsplit("/", 1)[-1].lstrip("."): value for var, value in HOME_VARS if var != "HOME"}
    return own.get(name, f"{HOME}/.cache/{name}")


# The env names mlgitops itself sets in a section's containers, which a spec may therefore not set (reserved-env):
# serving in render/workload.py (MODEL_URI from model.uri), training in render/training.py (MODEL_OUTPUT_URI from
# training.output). The thread-count and HOME variables are defaults a spec may override, not reserved.
RESERVED_ENV = {"MODEL_NAME": ("serving", "training"), "MODEL_VERSION": ("serving", "training"),
                "MODEL_URI": ("serving",), "MODEL_OUTPUT_URI": ("training",),
                "MLGITOPS_RUN": ("training",), "MLGITOPS_TRIAL": ("training",)}  # {run}, {trial}: kube/weights.py
FETCH_ENV = "MODEL_DIR"  # where model.fetch puts the weights (render/storage.py): reserved when the spec fetches
# The run policy of mlgitops' training CronJob (render/training.py; `import` says where a CronJob's differs)
CRON_STARTING_DEADLINE = 3600  # a CronJob run missed by more than an hour (controller down) is skipped
CRON_HISTORY = 3  # finished Jobs kept, successful and failed
DRAIN_SECONDS = 30  # the server's own time to finish in-flight requests, after the preStop pause
SLEEP_ACTION_MINOR = 30  # the preStop sleep action is on by default from Kubernetes 1.30 (beta; alpha in 1.29)


def reserved_env(section: str) -> frozenset[str]:
    """The env names mlgitops sets in the containers of a spec section ("serving" or "training")."""
    return frozenset(name for name, sections in RESERVED_ENV.items() if section in sections)


def gpu(serving: Mapping[str, Any]) -> bool:
    return bool(serving["resources"]["gpu"] > 0)


def autoscaled(serving: Mapping[str, Any]) -> bool:
    return serving.get("autoscaling") is not None


def max_pods(serving: Mapping[str, Any]) -> int:
    """The most pods the model can run: maxReplicas under an HPA, else replicas."""
    scaling = serving.get("autoscaling")
    return cast("int", scaling["maxReplicas"] if scaling else serving["replicas"])


def rollout(serving: Mapping[str, Any]) -> dict[str, Any]:
    """The Deployment strategy: GPU pods default to a rollout that needs no GPU beyond those the pods hold
    (maxSurge 0, maxUnavailable 1; Recreate for a single fixed replica), other pods surge by one."""
    spec = serving["rollout"]
    on_gpu = gpu(serving)
    single = not autoscaled(serving) and serving["replicas"] <= 1
    kind = spec.get("type") or ("Recreate" if on_gpu and single else "RollingUpdate")
    if kind == "Recreate":
        return {"type": "Recreate"}
    surge = spec.get("maxSurge", 0 if on_gpu else 1)
    unavailable = spec.get("maxUnavailable", 1 if on_gpu else 0)
    return {"rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}, "type": "RollingUpdate"}


def _probe_budget(probe: Any, defaults: dict[str, Any]) -> int:
    spec = {} if isinstance(probe, str) else probe
    timings = {**defaults, **{k: v for k, v in spec.items() if k in defaults}}
    return cast("int", timings["initialDelaySeconds"] + timings["failureThreshold"] * timings["periodSeconds"])


def startup_budget(serving: Mapping[str, Any]) -> int:
    """Seconds a started container may take to become healthy before Kubernetes restarts it: the
    startup probe's initialDelaySeconds + failureThreshold x periodSeconds (else the liveness probe's)."""
    health = serving.get("health", {})
    if "startup" in health:
        return _probe_budget(health["startup"], STARTUP_DEFAULTS)
    if "liveness" in health:
        return _probe_budget(health["liveness"], LIVENESS_DEFAULTS)
    return 0


def progress_deadline(serving: Mapping[str, Any]) -> int:
    """progressDeadlineSeconds: the spec's, else above the startup budget plus scheduling and image pull."""
    given = serving["rollout"].get("progressDeadlineSeconds")
    if given is not None:
        return cast("int", given)
    needed = startup_budget(serving) + SCHEDULE_AND_PULL_SECONDS[gpu(serving)]
    return max(KUBERNETES_PROGRESS_DEADLINE, needed)


def slow_starting(serving: Mapping[str, Any]) -> bool:
    """GPU models and models with a startup probe (the spec says loading takes long)."""
    return gpu(serving) or "startup" in serving.get("health", {})


def shared_memory(spec: Mapping[str, Any], section: str = "serving", default: str = DEFAULT_SHM) -> str | None:
    """The /dev/shm size of a section's pods: the spec's (0 turns it off), else `default` for GPU and
    PyTorch models."""
    pod = spec[section]
    if "sharedMemory" in pod:
        size = pod["sharedMemory"]
        value = quantity(size)
        return None if value is not None and value == 0 else str(size)
    framework = str(spec["model"].get("framework", "")).lower()
    return default if gpu(pod) or framework in PYTORCH else None


def download_size(spec: Mapping[str, Any]) -> str | None:
    """model.size when the server downloads the weights itself (a uri, no fetch, no claim, no model image): they
    land in its cache under HOME (HF_HOME, TORCH_HOME), which then grows by that much."""
    model, serving = spec["model"], spec["serving"]
    uri = str(model.get("uri") or "")
    if "size" not in model or not uri or "fetch" in model or serving.get("storage") or uri.startswith("oci://"):
        return None
    return None if cache_on_volume(serving) else str(model["size"])


def cache_on_volume(serving: Mapping[str, Any]) -> bool:
    """Whether the server's Hugging Face cache (HF_HOME, or the hub cache's own variable) is set to a path on a
    volume of serving.volumes (an ephemeral volume, a claim): a download lands there, not under HOME."""
    env = serving.get("env") or {}
    mounts = [str(v["mountPath"]).rstrip("/") for v in serving.get("volumes") or [] if v.get("mountPath")]
    return any(isinstance(env.get(var), str) and any(env[var] == m or env[var].startswith(m + "/") for m in mounts)
               for var in HF_CACHE_VARS)


def home_size(spec: Mapping[str, Any]) -> str:
    """The HOME volume's size limit: serving.scratch.homeSize, plus the weights the server downloads into it."""
    home, size = spec["serving"]["scratch"]["homeSize"], download_size(spec)
    return add_bytes(home, size) if size else str(home)


def ephemeral_storage(spec: Mapping[str, Any]) -> str:
    """Ephemeral storage the pod asks for by default: its size-limited scratch volumes plus log headroom."""
    return add_bytes(spec["serving"]["scratch"]["tmpSize"], home_size(spec), LOG_HEADROOM)



def _pods_of(value: Any, pods: int, up: bool) -> int:
    """maxSurge (rounded up) or maxUnavailable (rounded down) as a number of pods, as the Deployment controller
    resolves a percentage (k8s.io/apimachinery intstr.GetScaledValueFromIntOrPercent)."""
    if isinstance(value, str) and value.endswith("%"):
        scaled = int(value[:-1]) * pods
        return -(-scaled // 100) if up else scaled // 100
    return int(value)


def rollout_rounds(serving: Mapping[str, Any]) -> int:
    """How many pods-at-a-time steps a rollout of the most pods takes: one for Recreate, else the pods over
    maxSurge + maxUnavailable (at least one pod a step: the controller makes progress with either at 0)."""
    strategy = rollout(serving)
    if strategy["type"] == "Recreate":
        return 1
    pods = max_pods(serving)
    step = strategy["rollingUpdate"]
    at_once = _pods_of(step["maxSurge"], pods, True) + _pods_of(step["maxUnavailable"], pods, False)
    return -(-pods // max(1, at_once))


def rollout_seconds(serving: Mapping[str, Any]) -> int:
    """The longest a normal rollout takes: each round may schedule, pull and start its pods up to the
    Deployment's own progress deadline (which restarts with every pod that becomes available)."""
    return rollout_rounds(serving) * progress_deadline(serving)
