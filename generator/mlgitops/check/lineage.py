"""Weights lineage on the built objects: the weights a pod serves are the weights its version names, and no
writer can touch them. Pure: objects (after kustomize and raw patches) and effective specs in, problems out.

- serving (every pod template of a kind that does not run to completion: stable and canary Deployments):
  each weights reference (env MODEL_URI, the storage initializer's first argument) names the pod's
  `app.kubernetes.io/version` or is content-pinned (kube/weights.py); a canary never loads the weights of its
  stable version under another version; production serves pinned weights (settings.weights_pinning);
- training (every pod template of a kind that runs to completion: Job, CronJob run, sweep trial, TrainJob
  node, PyTorchJob replica, Katib trial): MODEL_OUTPUT_URI's fixed prefix holds no environment's or canary's
  weights; each run expands `$(MLGITOPS_RUN)` and each trial `$(MLGITOPS_TRIAL)`, defined before it;
- size: an `hf://` download or a fetch without `model.size` (the spec).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mlgitops.kube import weights, workloads
from mlgitops.kube.annotations import CANARY_OF
from mlgitops.render.storage import INITIALIZER
from mlgitops.report.findings import Severity
from mlgitops.spec.model import serves
from mlgitops.spec.pods import cache_on_volume

VERSION = "app.kubernetes.io/version"
MODEL_URI = "/spec/model/uri"
CANARY_URI = "/spec/serving/canary/uri"
OUTPUT_URI = "/spec/training/output/uri"
EXAMPLE_OUTPUT = "s3://models/<model>/runs/{version}/{run}/{trial}/"


@dataclass(frozen=True)
class Problem:
    rule: str
    kind: str
    name: str
    pointer: str  # into the built object (a raw patch that wrote it is blamed)
    spec_pointer: str  # else the spec line to change
    message: str
    hint: str = ""
    severity: Severity = Severity.ERROR


@dataclass(frozen=True)
class Reference:
    pointer: str
    uri: str


def _dig(obj, *keys):
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _labels(obj) -> dict:
    labels = _dig(obj, "metadata", "labels")
    return labels if isinstance(labels, dict) else {}


def _env_values(env, name: str, at: str) -> Iterator[tuple[str, str, list]]:
    """(pointer, value, the entries before it) of each plain env entry called name."""
    entries = env if isinstance(env, list) else []
    for j, entry in enumerate(entries):
        if isinstance(entry, dict) and entry.get("name") == name and isinstance(entry.get("value"), str):
            yield f"{at}/{j}/value", entry["value"], entries[:j]


def _containers(template: workloads.PodTemplate) -> Iterator[tuple[str, dict]]:
    for group in ("initContainers", "containers"):
        for i, container in enumerate(template.pod.get(group) or []):
            if isinstance(container, dict):
                yield f"{workloads.TEMPLATE}/spec/{group}/{i}", container


def references(template: workloads.PodTemplate) -> list[Reference]:
    """The weights a serving pod loads: env MODEL_URI of any container, the storage initializer's source."""
    out = []
    for at, container in _containers(template):
        args = container.get("args")
        if container.get("name") == INITIALIZER and isinstance(args, list) and args and isinstance(args[0], str):
            out.append(Reference(template.where(f"{at}/args/0"), args[0]))
        for pointer, value, _ in _env_values(container.get("env"), "MODEL_URI", f"{at}/env"):
            out.append(Reference(template.where(pointer), value))
    return out


def _serving_templates(objects: list[dict]) -> Iterator[tuple[dict, workloads.PodTemplate]]:
    for obj in objects:
        kind = workloads.entry(obj)
        if kind is not None and not kind.completes and isinstance(_dig(obj, "metadata", "name"), str):
            for template in workloads.pod_templates(obj):
                yield obj, template


def serving(objects: list[dict], spec: dict, pinning: str,
            others: dict[str, tuple[str, str]] | None = None) -> list[Problem]:
    """Problems of the serving pods of one environment's built objects; spec: its effective spec; others: what
    the other environments (and their canaries) serve, (version, weights) by `served`."""
    immutable = bool(spec["model"].get("immutable"))
    out: list[Problem] = []
    loaded: dict[bool, tuple[str, set[str]]] = {}  # canary? -> (version, the weights its pods load)
    for obj, template in _serving_templates(objects):
        version = str(_labels(template.view["spec"]["template"]).get(VERSION, ""))
        canary = CANARY_OF in _labels(obj)
        at = CANARY_URI if canary else MODEL_URI
        refs = references(template)
        loaded[canary] = (version, {r.uri for r in refs})
        for ref in refs:
            found = _reference_problems(obj, ref, version, at, immutable, pinning)
            if not any(p.rule == "weights-version" for p in found):  # one version finding per reference
                found += _served_elsewhere(obj, ref, version, at, others or {})
            out += found
    if not any(p.rule == "weights-version" and p.spec_pointer == CANARY_URI for p in out):  # said once
        out += _canary_copies(objects, loaded)
    return out


def _reference_problems(obj: dict, ref: Reference, version: str, at: str, immutable: bool,
                        pinning: str) -> list[Problem]:
    kind, name = obj["kind"], obj["metadata"]["name"]
    pinned = weights.pinned(ref.uri, immutable)
    out = []
    if version and not pinned and not weights.names_version(ref.uri, version):
        out.append(Problem("weights-version", kind, name, ref.pointer, at,
                           f"its pods are labelled version {version} but load {ref.uri}, which names neither that "
                           "version nor pinned content: they may serve other weights under this version",
                           "put {version} in the URI (s3://…/{version}/…), or pin the weights (oci://…@sha256:…, "
                           "hf://org/model:<commit>, or model.immutable: true)"))
    if pinning != "none" and not pinned:
        out.append(Problem("weights-pinned", kind, name, ref.pointer, at,
                           f"serves {ref.uri}, whose content can change under the same version: a retrain or a copy "
                           "changes what a restarted pod loads",
                           "pin the weights: an oci:// model image by digest, hf://org/model:<commit>, or declare a "
                           "write-once location with model.immutable: true",
                           Severity.ERROR if pinning == "error" else Severity.WARNING))
    return out


def _served_elsewhere(obj: dict, ref: Reference, version: str, at: str,
                      others: dict[str, tuple[str, str]]) -> list[Problem]:
    """One set of weights is one version: the same reference under another version elsewhere means a version was
    bumped (or promoted) without its weights, or weights were copied without their version."""
    elsewhere = sorted(f"{who} serves as {v}" for who, (v, uri) in others.items() if uri == ref.uri and v != version)
    if not version or not elsewhere:
        return []
    return [Problem("weights-version", obj["kind"], obj["metadata"]["name"], ref.pointer, at,
                    f"its pods are labelled version {version} but load {ref.uri}, which {', '.join(elsewhere)}: "
                    "one of the labels names other weights",
                    "change the weights with the version: {version} in the URI, or the new digest or commit")]


def _canary_copies(objects: list[dict], loaded: dict[bool, tuple[str, set[str]]]) -> list[Problem]:
    """A canary of another version that loads its stable version's weights compares a new image on old weights."""
    if True not in loaded or False not in loaded:
        return []
    (canary_version, canary_refs), (stable_version, stable_refs) = loaded[True], loaded[False]
    shared = sorted(canary_refs & stable_refs)
    if not shared or canary_version == stable_version:
        return []
    canary = next(o for o in objects if CANARY_OF in _labels(o) and workloads.entry(o) is not None)
    return [Problem("weights-version", canary["kind"], canary["metadata"]["name"], "/spec/template", CANARY_URI,
                    f"the canary (version {canary_version}) loads {shared[0]}, the weights of its stable version "
                    f"{stable_version}: the comparison is of a new image on old weights",
                    "give the canary its own weights: {version} in model.uri, or serving.canary.uri")]


def download(spec: dict) -> list[Problem]:
    """weights-size: a download whose size the spec does not say (the volume and the request cannot follow it)."""
    model = spec["model"]
    uri, fetch = str(model.get("uri") or ""), model.get("fetch")
    if "size" in model or not serves(spec) or spec["serving"].get("storage"):
        return []
    if fetch is not None and "sizeLimit" not in fetch:
        return [Problem("weights-size", "Deployment", "", "", "/spec/model/fetch",
                        f"fetches {uri or 'the weights'} into an emptyDir with no size: the pod asks for no disk for "
                        "them, so it lands on a node without the room and is evicted when the disk fills",
                        "set model.size (e.g. 15Gi for a 7B model in fp16): the fetch volume and the "
                        "ephemeral-storage request follow it", Severity.WARNING)]
    if fetch is None and uri.startswith("hf://") and not cache_on_volume(spec["serving"]):
        return [Problem("weights-size", "Deployment", "", "", MODEL_URI,
                        f"the server downloads {uri} into its cache under HOME (HF_HOME), a 2Gi scratch volume by "
                        "default: a larger checkpoint (a 7B model is ~14 GB) gets the pod evicted again and again",
                        "set model.size (e.g. 15Gi): the HOME volume and the ephemeral-storage request grow by it",
                        Severity.WARNING)]
    return []


def _output_uris(obj: dict) -> Iterator[tuple[str, str, list]]:
    """(pointer into obj, MODEL_OUTPUT_URI, the env before it) of every training pod of obj (a TrainJob's trainer
    env too: Kubeflow Trainer gives it to the node container)."""
    for template in workloads.pod_templates(obj):
        for at, container in _containers(template):
            for pointer, value, before in _env_values(container.get("env"), "MODEL_OUTPUT_URI", f"{at}/env"):
                yield template.where(pointer), value, before
    if obj.get("kind") == "TrainJob":
        yield from _env_values(_dig(obj, "spec", "trainer", "env"), "MODEL_OUTPUT_URI", "/spec/trainer/env")


def _trials(obj: dict) -> int:
    """How many trials share obj's pod template: an Indexed Job's completions, a Katib Experiment's trials."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Experiment":
        return workloads.count(spec.get("maxTrialCount"), 2)
    if obj.get("kind") == "Job" and spec.get("completionMode") == "Indexed":
        return workloads.count(spec.get("completions"), 1)
    return 1


def _expands(value: str, var: str, before: list) -> bool:
    """Whether Kubernetes expands $(var) in value: it does only for a variable defined earlier in the list."""
    return f"$({var})" in value and any(isinstance(e, dict) and e.get("name") == var for e in before)


def training(objects: list[dict], readers: dict[str, list[str]]) -> list[Problem]:
    """Problems of the training pods of one environment's built objects; readers: environment (or
    `<environment> canary`) -> the weights it serves."""
    out: list[Problem] = []
    for obj in objects:
        kind = workloads.entry(obj)
        if kind is None or not kind.completes or not isinstance(_dig(obj, "metadata", "name"), str):
            continue
        for pointer, value, before in _output_uris(obj):
            out += _run_prefix(obj, pointer, value, before) + _overwrites(obj, pointer, value, readers)
    return out


def _run_prefix(obj: dict, pointer: str, value: str, before: list) -> list[Problem]:
    kind, name, trials = obj["kind"], obj["metadata"]["name"], _trials(obj)
    out = []
    if not _expands(value, weights.RUN_VAR, before):
        out.append(Problem("weights-run-prefix", kind, name, pointer, OUTPUT_URI,
                           f"every run writes to {value}: a retry, the next scheduled run or the next spec change "
                           "overwrites the weights of the last one, and nothing says which run made them",
                           f"put {{run}} in training.output.uri, e.g. {EXAMPLE_OUTPUT}"))
    if trials > 1 and not _expands(value, weights.TRIAL_VAR, before):
        out.append(Problem("weights-run-prefix", kind, name, pointer, OUTPUT_URI,
                           f"its {trials} trials all write to {weights.static_prefix(value) or value}…: they "
                           "overwrite each other, and the best trial's weights may be another's",
                           f"put {{trial}} in training.output.uri, e.g. {EXAMPLE_OUTPUT}"))
    return out


def _overwrites(obj: dict, pointer: str, value: str, readers: dict[str, list[str]]) -> list[Problem]:
    prefix = weights.static_prefix(value)
    hit = {who: uri for who, uris in readers.items() for uri in uris if weights.reaches(prefix, uri)}
    if not hit:
        return []
    who = ", ".join(f"{w} ({u})" for w, u in sorted(hit.items()))
    return [Problem("weights-overwrite", obj["kind"], obj["metadata"]["name"], pointer, OUTPUT_URI,
                    f"writes under {prefix}, where {who} load{'s' if len(hit) == 1 else ''} the weights "
                    f"{'it serves' if len(hit) == 1 else 'they serve'}: "
                    "a run changes what those pods load at their next restart or scale-out, so pods of one "
                    "Deployment serve different weights",
                    f"write to a prefix of its own, e.g. {EXAMPLE_OUTPUT}, and promote a run by copying its "
                    "output to the serving URI")]


def served(specs: dict[str, dict]) -> dict[str, tuple[str, str]]:
    """Environment (and `<environment> canary`) -> (version, the weights its pods load), from the effective specs."""
    out: dict[str, tuple[str, str]] = {}
    for env, spec in specs.items():
        if not serves(spec):  # a training-only model: no pod loads its weights
            continue
        model = spec["model"]
        uri = model.get("uri")
        if uri:
            out[env] = (str(model["version"]), uri)
        canary = (spec.get("serving") or {}).get("canary") or {}
        if canary and (canary.get("uri") or uri):
            out[f"{env} canary"] = (str(canary["version"]), canary.get("uri") or uri)
    return out


def readers(specs: dict[str, dict]) -> dict[str, list[str]]:
    """Environment (and `<environment> canary`) -> the weights its pods load."""
    return {who: [uri] for who, (_, uri) in served(specs).items()}
