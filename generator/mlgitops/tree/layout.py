"""Where each generated object goes: a Tree of {relative path: bytes} for the whole repository."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from mlgitops.render import context, render, slotest
from mlgitops.render import training as training_render
from mlgitops.render.engines.base import Facts, UnitFacts
from mlgitops.render.labels import CRD_EXTRA
from mlgitops.render.labels import common as common_labels
from mlgitops.render.manifest import Manifest
from mlgitops.render.sync import sync_objects
from mlgitops.render.units import KUSTOMIZATION, SERVING, TRAINING, Unit, base_dir
from mlgitops.report.findings import Finding, Position, Severity
from mlgitops.spec import pods
from mlgitops.spec.config import Config, Environment
from mlgitops.spec.layers import locate
from mlgitops.spec.model import BASE, Model, serves
from mlgitops.spec.training import trains
from mlgitops.tree import overlay as overlays
from mlgitops.tree.header import Tree, header
from mlgitops.tree.header import is_generated as is_generated  # check/ imports it from here
from mlgitops.tree.yamlemit import dumps

VERSION_LABEL = "app.kubernetes.io/version"


def document(spec_path: str, obj) -> bytes:
    body = dumps(obj)
    return (header(spec_path, body) + body).encode("utf-8")


def overlay_dir(env: str, name: str) -> str:
    return Unit(name, env).folder


def training_dir(env: str, name: str) -> str:
    """The training objects of a model in an environment: a kustomization of their own, which the sync
    engines apply apart from serving (the serving overlay does not list it)."""
    return Unit(name, env, TRAINING).folder


def training_intended(model: Model, config: Config, env: str, routed: bool = True) -> list[Manifest]:
    """The training objects of an environment ([] when it does not train), named with the raw patches its
    folder applies (routed=False: without them, to route them)."""
    effective = model.effective[env]
    if not trains(effective["spec"], model.effective[BASE]["spec"], config.env_names, env):
        return []
    patches = training_patches(model, config, env) if routed else ()
    return training_render.render(effective, config, env, patches)


def training_patches(model: Model, config: Config, env: str) -> tuple[dict, ...]:
    """The raw patches of an environment that its training folder applies ({target, patch}, a run's identity)."""
    if not any(True for _ in model.raw_patches(env)):
        return ()
    routed, _ = route_patches(model, env, intended(model, config, env), training_intended(model, config, env, False),
                              lambda i: True)
    return tuple({"target": ref, "patch": body} for _, ref, body in routed[TRAINING])


def _training_tree(model: Model, config: Config, env: str, patches: list) -> Tree:
    manifests = training_intended(model, config, env)
    if not manifests:
        return {}
    folder = training_dir(env, model.name)
    tree = {f"{folder}/{m.file}": document(model.path, m.obj) for m in manifests}
    kustomization: dict[str, object] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": [m.file for m in manifests]}
    if patches:
        kustomization["patches"] = [{"path": name, "target": ref} for name, ref, _ in patches]
        tree.update({f"{folder}/{name}": document(model.path, body) for name, _, body in patches})
    tree[f"{folder}/kustomization.yaml"] = document(model.path, kustomization)
    return tree


def _slo_tree(model: Model, config: Config, env: str) -> Tree:
    """The SLO files of an environment that are not kustomize resources (Unit.slo_file)."""
    found = slotest.files(context(model.effective[env], config, env))
    unit = Unit(model.name, env)
    return {unit.slo_file(name): document(model.path, obj) for name, obj in found.items()}


def _labels(model: Model, env: str) -> dict:
    return common_labels(model.name, model.metadata["team"], model.effective[env]["spec"], env)


Routed = dict[str, list[tuple[str, dict, object]]]  # unit kind -> (file name, kustomize target, body)


def _patch_target(ref: dict, named: bool, serving: dict[tuple[str, str], Manifest],
                  training: list[Manifest]) -> tuple[str, dict, Manifest] | None:
    """The unit that generates a patch's target, the target as its kustomization names it, and one object it
    matches. A serving object by kind and name (an unnamed target: the model's); else training's: by name, or an
    unnamed target every training object of its kind (a run's name holds its identity's hash)."""
    found = serving.get((ref["kind"], ref["name"]))
    if found is not None:
        return SERVING, ref, found
    matches = [m for m in training if m.kind == ref["kind"] and (not named or m.name == ref["name"])]
    if not matches:
        return None
    return TRAINING, (ref if named else {"kind": ref["kind"]}), matches[0]


def route_patches(model: Model, env: str, serving: list[Manifest], training: list[Manifest],
                  needed: Callable[[int], bool]) -> tuple[Routed, list[Finding]]:
    """Each raw patch of an environment to the kustomization that owns its target: the serving overlay or the
    training folder. A target neither generates is a finding at the patch (needed(i) False: a patch of
    spec.patches whose target another environment generates, skipped here)."""
    out: Routed = {SERVING: [], TRAINING: []}
    found: list[Finding] = []
    keys = {m.key: m for m in serving}
    written: set[int] = set()
    for i, ref, patch in model.raw_patches(env):
        named = "name" in model.patches[env][i]["target"]
        where = _patch_target(ref, named, keys, training)
        if where is None:
            if needed(i) and i not in written:
                found.append(_no_target(model, env, i, ref, serving, training))
            continue
        unit, target, manifest = where
        if isinstance(patch, list):  # JSON6902 operations
            body: object = patch
        else:
            body = {"apiVersion": manifest.obj["apiVersion"], "kind": ref["kind"],
                    **patch, "metadata": {**patch.get("metadata", {}), "name": manifest.name}}
        out[unit].append((f"user-patch-{i + 1}{'-canary' if i in written else ''}.yaml", target, body))  # canary: see raw_patches
        written.add(i)
    return out, found


def _no_target(model: Model, env: str, i: int, ref: dict, serving: list[Manifest], training: list[Manifest]) -> Finding:
    pointer = f"{model.patch_pointer(env, i)}/target"
    have = ", ".join(sorted(m.ident for m in [*serving, *training])) or "none"
    note = " (a training object is targeted by kind alone: its name holds its run's hash)" if training else ""
    return Finding("patch-target", f"patch targets {ref['kind']}/{ref['name']}, which this environment does not "
                   "generate", model.path, model.doc.position(pointer), f"objects in {env}: {have}{note}")


def _generated_somewhere(model: Model, config: Config) -> Callable[[str, int], bool]:
    """Whether raw patch i of an environment must find its target there: an environment's own patch always; a
    patch of spec.patches only where no environment generates its target (then it is a finding in each)."""
    def matched(env: str) -> set[int]:
        serving = {m.key: m for m in intended(model, config, env)} if serves(model.effective[env]["spec"]) else {}
        training = training_intended(model, config, env, False)
        return {i for i, ref, _ in model.raw_patches(env)
                if _patch_target(ref, "name" in model.patches[env][i]["target"], serving, training)}

    somewhere = set().union(*(matched(env) for env in config.env_names)) if model.shared_patches else set()
    return lambda env, i: i >= model.shared_patches or i not in somewhere


def _canary_findings(model: Model, config: Config, env: str) -> list[Finding]:
    serving = model.effective[env]["spec"]["serving"]
    if serving.get("ingress"):
        return []
    file, where = locate(model.layers(config, env), model.doc, "/spec/serving/canary", key=True)
    if config.data.get("gateway"):  # a GAMMA HTTPRoute on the model's Service splits in-cluster calls
        return []
    return [Finding.in_environments([env], "canary-traffic", "a canary without a host needs a way to split the "
                                    "calls in-cluster callers send to the model's Service: kube-proxy spreads them "
                                    "over pods, never by weight", file, where,
                                    "name a Gateway API gateway in mlgitops.yaml (gateway: {name, namespace}): the "
                                    "canary then gets a GAMMA HTTPRoute on the Service, which a service mesh that "
                                    "implements Gateway API (Istio, Linkerd, Cilium) splits; or give the model an "
                                    "ingress (ingress-nginx canary annotations)")]


GATEWAY_IGNORES = {"className": "the Gateway's class chooses the controller",
                   "tlsSecret": "TLS terminates at the Gateway's listener, whose certificateRefs name the Secret",
                   "annotations": "ingress controller annotations do not apply to an HTTPRoute"}


def _gateway_findings(model: Model, config: Config, env: str) -> list[Finding]:
    """With a Gateway, the model's entry point is an HTTPRoute (render/network.py): Ingress-only settings are
    dropped, which a warning says at their line."""
    ingress = model.effective[env]["spec"]["serving"].get("ingress") or {}
    if not config.data.get("gateway"):
        return []
    out = []
    for field, why in GATEWAY_IGNORES.items():
        if field in ingress:
            file, where = locate(model.layers(config, env), model.doc, f"/spec/serving/ingress/{field}", key=True)
            out.append(Finding.in_environments([env], "gateway-route", f"serving.ingress.{field} is unused: with a "
                                               f"Gateway in mlgitops.yaml the model's entry point is an HTTPRoute, and "
                                               f"{why}", file, where, "remove it, or configure it on the Gateway",
                                               Severity.WARNING))
    return out


def _base_tree(model: Model, config: Config) -> tuple[list[Manifest], Tree]:
    """The model's base (every environment's serving objects); none for a training-only model."""
    if not serves(model.effective[BASE]["spec"]):
        return [], {}
    base = render(model.effective[BASE], config, BASE)
    folder = base_dir(model.name)
    tree = {f"{folder}/{m.file}": document(model.path, m.obj) for m in base}
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": [m.file for m in base]}
    tree[f"{folder}/kustomization.yaml"] = document(model.path, kustomization)
    return base, tree


def _serving_tree(model: Model, config: Config, env: Environment, base: list[Manifest], target: list[Manifest],
                  patches: list) -> tuple[Tree, list[Finding]]:
    """A serving unit's overlay (the difference from the base, then the raw patches it owns) and its SLO files."""
    findings: list[Finding] = []
    serving = model.effective[env.name]["spec"]["serving"]
    base_labels, env_labels = _labels(model, BASE), _labels(model, env.name)
    pairs = {k: v for k, v in env_labels.items() if base_labels.get(k) != v}
    image = overlays.image_entry(model.effective[BASE]["spec"]["serving"]["image"], serving["image"])
    if serving.get("canary"):
        # kustomize's labels and images transformers would rewrite the canary's version label and
        # image (same repository) too: in an environment with a canary both go through patches.
        pairs.pop(VERSION_LABEL, None)
        image = None
        findings += _canary_findings(model, config, env.name)
    findings += _gateway_findings(model, config, env.name)
    unit = Unit(model.name, env.name)
    result = overlays.build(unit.base_reference, env.namespace, base, target, pairs, image, patches)
    tree = {f"{unit.folder}/kustomization.yaml": document(model.path, result.kustomization)}
    for name, obj in result.files.items():
        tree[f"{unit.folder}/{name}"] = document(model.path, obj)
    tree.update(_slo_tree(model, config, env.name))
    return tree, findings


def model_tree(model: Model, config: Config) -> tuple[Tree, list[Finding]]:
    """Every file generated for one model: its base and one overlay per environment (serving), its training
    folders, and its own sync objects. A training-only model has no base and no serving overlay."""
    findings: list[Finding] = []
    facts: Facts = {}
    base, tree = _base_tree(model, config)
    needed = _generated_somewhere(model, config)
    for env in config.environments:
        target = render(model.effective[env.name], config, env.name) if base else []
        routed, found = route_patches(model, env.name, target, training_intended(model, config, env.name, False),
                                      partial(needed, env.name))
        findings.extend(found)
        if base:
            facts[model.name, env.name] = UnitFacts(pods.rollout_seconds(model.effective[env.name]["spec"]["serving"]),
                                                    any(CRD_EXTRA in m.obj["metadata"].get("labels", {}) for m in target))
            serving, found = _serving_tree(model, config, env, base, target, routed[SERVING])
            tree.update(serving)
            findings.extend(found)
        tree.update(_training_tree(model, config, env.name, routed[TRAINING]))
    # the model's own sync objects (a Flux Kustomization per environment) belong to its files: cached with them
    for o in sync_objects(config, [(model.name, model.path)], training_pairs(tree), facts):
        if o.source == model.path:
            tree[f"{o.folder}/{o.file}"] = document(o.source, o.obj)
    return tree, findings + _oversized(model, tree)


def _oversized(model: Model, tree: Tree) -> list[Finding]:
    """Generated objects no API server would store, reported at the spec that makes them so large."""
    from mlgitops.kube.names import MAX_OBJECT_BYTES

    out = []
    for path, content in sorted(tree.items()):
        size = max(len(doc) for doc in content.split(b"\n---\n"))
        if size > MAX_OBJECT_BYTES:
            out.append(Finding("object-too-large", f"generates {path} with an object of {size:,} bytes: more than "
                               f"the API server stores ({MAX_OBJECT_BYTES:,} bytes)", model.path, Position(1, 1),
                               "move bulk data (long env lists, files) into a ConfigMap or the image"))
    return out


def intended(model: Model, config: Config, env: str) -> list[Manifest]:
    """The manifests an environment's serving overlay is meant to build to (before raw user patches); none for a
    training-only model."""
    if not serves(model.effective[env]["spec"]):
        return []
    return render(model.effective[env], config, env)


def training_pairs(tree: Tree) -> frozenset[tuple[str, str]]:
    """(model, environment) of every training folder in a tree."""
    units = (Unit.of_file(path) for path in tree if path.endswith(f"/{TRAINING}/{KUSTOMIZATION}"))
    return frozenset((u.model, u.env) for u, name in filter(None, units) if u.training and name == KUSTOMIZATION)


def serving_pairs(tree: Tree) -> frozenset[tuple[str, str]]:
    """(model, environment) of every serving folder in a tree."""
    units = (Unit.of_file(path) for path in tree if path.endswith(f"/{KUSTOMIZATION}"))
    return frozenset((u.model, u.env) for u, name in filter(None, units) if not u.training and name == KUSTOMIZATION)


def sync_tree(config: Config, training: frozenset[tuple[str, str]] = frozenset(),
              serving: frozenset[tuple[str, str]] | None = None) -> Tree:
    """clusters/ objects no single model owns: Namespaces, quotas, the Git source, AppProjects and
    ApplicationSets (a training one where some model trains: (model, environment) pairs; serving: the
    (model, environment) pairs that serve, None for all). Each model's own sync objects come with its files
    (model_tree)."""
    facts = None if serving is None else dict.fromkeys(serving, UnitFacts())
    return {f"{o.folder}/{o.file}": document(o.source, o.obj) for o in sync_objects(config, [], training, facts)
            if o.source == config.path}
