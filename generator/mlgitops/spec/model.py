"""Model specs: load every models/*.yaml, validate it for every environment, and resolve it.

Validation runs on the effective spec of each environment (the base alone, then base + override),
so an override that breaks the spec is caught, and every finding points at the line that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from mlgitops.report.findings import Finding, Position
from mlgitops.spec import containers, ports, semantics, slo, training, volumes, yamlsource
from mlgitops.spec.config import Config
from mlgitops.spec.defaults import fill_defaults
from mlgitops.spec.layers import Layer, locate, merged, plain_text, writer
from mlgitops.spec.schema import SchemaCheck, holds_float, load_schema

SCHEMA = "model.schema.json"
# The largest spec read. A real one is 1-5 KB (the examples: 1.3-4.9 KB); 256 KiB leaves room for hundreds of
# env vars and patches, while a larger file is refused before it is parsed: a 5 MB spec (55,000 env vars) made
# every command take minutes (kustomize alone > 60 s) for objects no API server would store (etcd's default
# --max-request-bytes is 1.5 MiB: kube.names.MAX_OBJECT_BYTES).
MAX_SPEC_BYTES = 256 * 1024
SPEC_SIZE_HINT = ("a spec holds one model (typically 1-5 KB): move bulk data (long env lists, files) into a "
                  "ConfigMap or the image, or split the file into several models")
BASE = ""  # the pseudo-environment of the base: the spec with no environment's override


@dataclass(frozen=True)
class Model:
    name: str
    path: str  # repository-relative, e.g. models/house-prices.yaml
    raw: bytes
    doc: yamlsource.Document
    effective: dict[str, Any]  # environment name (BASE for the base) -> effective spec with defaults filled
    patches: dict[str, Any]  # environment name -> raw patches: spec.patches, then the override's
    shared_patches: int = 0  # how many of each environment's patches are spec.patches (the first ones)

    @property
    def metadata(self) -> dict[str, Any]:
        return cast("dict[str, Any]", self.doc.data["metadata"])

    def raw_patches(self, env: str) -> Any:
        """(index, kustomize target {kind, name}, body) of each raw patch of an environment. A patch whose
        target has no name patches the model's object and, where the environment runs a canary, the canary's
        copy of it too: the canary is the stable version's objects with another version, so a sidecar, a
        setting or a node selector a patch adds reaches both (name the object to patch only one)."""
        canary = bool((self.effective.get(env) or {}).get("spec", {}).get("serving", {}).get("canary"))
        for i, patch in enumerate(self.patches.get(env, [])):
            target = {"kind": patch["target"]["kind"], "name": patch["target"].get("name", self.name)}
            body = patch["jsonPatch"] if "jsonPatch" in patch else patch["merge"]
            yield i, target, body
            if canary and "name" not in patch["target"] and target["kind"] in CANARY_COPIES:
                yield i, {"kind": target["kind"], "name": f"{self.name}-canary"}, body

    def patch_pointer(self, env: str, index: int) -> str:
        """Where raw patch `index` of an environment (as raw_patches numbers them) is written in the spec."""
        if index < self.shared_patches:
            return f"/spec/patches/{index}"
        return f"/spec/environments/{yamlsource.pointer_escape(env)}/patches/{index - self.shared_patches}"

    def layers(self, config: Config, env: str) -> list[Layer]:
        return layers_for(self.doc, config, env)


def layers_for(doc: yamlsource.Document, config: Config, env: str) -> list[Layer]:
    layers = [Layer(config.doc, "/defaults")]
    if env:
        index = config.environment(env).index
        layers.append(Layer(config.doc, f"/environments/{index}/defaults"))
    layers.append(Layer(doc, "/spec"))
    if env:
        layers.append(Layer(doc, f"/spec/environments/{yamlsource.pointer_escape(env)}"))
    return layers


def serves(spec: dict[str, Any]) -> bool:
    """Whether a spec (as written, or effective) serves the model: a training-only model has no `serving`."""
    return isinstance(spec.get("serving"), dict)


def _effective_document(doc: yamlsource.Document, layers: list[Layer]) -> dict[str, Any]:
    data = doc.data
    spec = merged(layers, drop=("environments", "patches"))
    if not serves(data["spec"]):  # a training-only model: mlgitops.yaml's serving defaults do not make it serve
        spec.pop("serving", None)
    return {"apiVersion": data["apiVersion"], "kind": data["kind"], "metadata": data["metadata"], "spec": spec}


SECTION_RULES = ("missing-field", "serving-per-environment")


def _section_findings(doc: yamlsource.Document, path: str) -> list[Finding]:
    """A model serves, trains or both; and serves in every environment or in none (an override can neither add
    `serving` to a training-only model nor remove it: the base and every overlay are built from one shape)."""
    spec = doc.data["spec"]
    if "serving" not in spec and "training" not in spec:
        return [Finding("missing-field", "'spec' needs 'serving', 'training' or both: a model is served, trained, "
                        "or both", path, doc.position("/spec", True),
                        "add serving (image, port, ...) to serve it, or training (image, command, ...) for a "
                        "training-only model")]
    out = []
    for env, override in (spec.get("environments") or {}).items():
        if not isinstance(override, dict) or "serving" not in override:
            continue
        at = doc.position(f"/spec/environments/{yamlsource.pointer_escape(str(env))}/serving", True)
        if serves(spec) and override["serving"] is None:
            out.append(Finding("serving-per-environment", f"environment '{env}' removes serving: a model serves in "
                               "every environment or in none", path, at,
                               "remove this line; a model that only trains has no spec.serving at all"))
        elif not serves(spec):
            out.append(Finding("serving-per-environment", f"environment '{env}' overrides serving, which this "
                               "training-only model does not have", path, at,
                               "remove it, or give spec a serving section (then every environment serves)"))
    return out


def parse_model(path: str, raw: bytes, config: Config) -> tuple[Model | None, list[Finding]]:
    if len(raw) > MAX_SPEC_BYTES:
        return None, [Finding("spec-too-large", f"is {len(raw):,} bytes, more than a spec may be "
                              f"({MAX_SPEC_BYTES // 1024} KiB)", path, Position(1, 1), SPEC_SIZE_HINT)]
    doc, findings = yamlsource.load(path, raw)
    if doc is None or findings:
        return None, findings
    check = SchemaCheck(SCHEMA)
    found, fatal = _document_findings(doc, path, config, check)
    if fatal:
        return None, found
    found.extend(training.override_findings(path, doc))
    effective: dict[str, dict[str, Any]] = {}
    patches: dict[str, list[Any]] = {}
    shared = doc.data["spec"].get("patches") or []
    # an override and mlgitops.yaml's defaults are typed only once merged: their floats are found there
    floats = holds_float(doc.plain) or holds_float(config.doc.plain)
    for env in [BASE, *config.env_names]:
        layers = layers_for(doc, config, env)
        data = _effective_document(doc, layers)

        def where(pointer: str, key: bool, layers: Any = layers) -> Any:
            return locate(layers, doc, pointer, key)

        def plain(pointer: str, layers: Any = layers) -> str | None:
            return plain_text(layers, pointer)

        errors = check.run(data, where, plain, floats)
        if not errors:
            data = fill_defaults(load_schema(SCHEMA), data)

            def layer_of(p: str, layers: Any = layers) -> Any:
                return writer(layers, p)

            errors = _serving_findings(data, where, layer_of, config) + volumes.check(data, where)
            base_version = (effective[BASE]["spec"].get("model") or {}).get("version") if env else None
            errors += semantics.model_source(data, base_version, where, layer_of, config.storage_initializer)
            errors += _training_findings(data, where, config, env, effective)
            errors = _unexcepted(errors, data, config, env)
            data = expand_version(data)
        found.extend(errors)
        effective[env] = data
        if env:
            override = doc.data["spec"].get("environments", {}).get(env) or {}
            patches[env] = shared + (override.get("patches") or [])
            found.extend(_unexcepted(_patch_findings(path, doc, env, shared, override), data, config, env))
    if found:
        return None, sorted(set(found), key=Finding.sort_key)
    return Model(doc.data["metadata"]["name"], path, raw, doc, effective, patches, len(shared)), []


def _document_findings(doc: yamlsource.Document, path: str, config: Config,
                       check: SchemaCheck) -> tuple[list[Finding], bool]:
    """The findings on the document as written, and whether they stop it before any environment is resolved."""
    empty = _empty_keys(doc, path, config)
    if empty:  # before the schema: its validator drops an empty key from the paths it reports
        return empty, True
    found = check.run(doc.data, lambda p, key: (path, doc.position(p, key)), doc.plain.get, holds_float(doc.plain))
    if found:
        return found, True
    found = _identity_findings(doc, path, config) + _section_findings(doc, path)
    if any(f.rule in SECTION_RULES for f in found):  # an effective spec of neither shape: nothing to resolve
        return sorted(set(found), key=Finding.sort_key), True
    return found, False


def _serving_findings(data: dict[str, Any], where: Any, layer_of: Any, config: Config) -> list[Finding]:
    """What the schema cannot say about an effective `serving` (none: a training-only model)."""
    if not serves(data["spec"]):
        return []
    return (semantics.check(data, where, layer_of) + ports.check(data, where)
            + containers.check(data, where, config.kubernetes_minor)
            + semantics.version_checks(data, where, config.kubernetes_minor, config.kubernetes_version)
            + slo.findings(data, where))


def _patch_findings(path: str, doc: yamlsource.Document, env: str, shared: list[dict[str, Any]],
                    override: dict[str, Any]) -> list[Finding]:
    """Raw patches of an environment that would do nothing or write a secret: its own and spec.patches."""
    def position(pointer: str, key: bool) -> tuple[str, Position]:
        return path, doc.position(pointer, key)

    at = f"/spec/environments/{yamlsource.pointer_escape(env)}"
    return (semantics.check_patches(at, override.get("patches") or [], position)
            + semantics.check_patches("/spec", shared, position))


SPEC_EXCEPTABLE = frozenset({"secret-in-value"})  # spec checks a reason may except (the rest are policies on objects)


def _unexcepted(found: list[Finding], data: dict[str, Any], config: Config, env: str) -> list[Finding]:
    excepted = _excepted(data, config, env)
    return [f for f in found if f.rule not in excepted]


def _excepted(data: dict[str, Any], config: Config, env: str) -> set[str]:
    """The spec-stage rules this environment excepts: policies.exceptions with a reason (a value that only looks
    like a credential), or mlgitops.yaml's policies.disabled."""
    spec = data.get("spec") if isinstance(data, dict) else None
    policies = spec.get("policies") if isinstance(spec, dict) else None
    exceptions = policies.get("exceptions") if isinstance(policies, dict) else None
    exceptions = exceptions if isinstance(exceptions, dict) else {}
    disabled = set(config.environment(env).policies.get("disabled", [])) if env else set()
    return {r for r in SPEC_EXCEPTABLE if (isinstance(exceptions.get(r), dict) and exceptions[r].get("reason"))
            or r in disabled}


# The kinds a canary copies from the stable version (render/canary.py), named <model>-canary.
CANARY_COPIES = ("Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "ServiceMonitor")


def expand_version(data: dict[str, Any]) -> dict[str, Any]:
    """The effective spec with `{version}` in model.uri replaced by this environment's model.version, and a
    canary without a `uri` of its own given the template expanded to the canary's version (once the template
    is expanded, the canary's objects could only copy the stable version's weights)."""
    model = data["spec"]["model"]
    if "{version}" not in model.get("uri", ""):
        return data
    template = model["uri"]
    spec = {**data["spec"], "model": {**model, "uri": template.replace("{version}", model["version"])}}
    canary = (spec.get("serving") or {}).get("canary")
    if canary and not canary.get("uri"):
        canary = {**canary, "uri": template.replace("{version}", canary["version"])}
        spec["serving"] = {**spec["serving"], "canary": canary}
    return {**data, "spec": spec}


def _training_findings(data: dict[str, Any], where: Any, config: Config, env: str, effective: dict[str, Any]) -> list[Finding]:
    budget, at = None, None
    if env and training.trains(data["spec"], effective[BASE]["spec"], config.env_names, env):
        environment = config.environment(env)
        budget = environment.gpu_hour_budget
        at = (config.path, config.doc.position(f"/environments/{environment.index}/gpuHourBudget"))
    return training.check(data, where, env, config.env_names, budget, config.training["katib"], at)


def _identity_findings(doc: yamlsource.Document, path: str, config: Config) -> list[Finding]:
    found = []
    name = doc.data["metadata"]["name"]
    stem = Path(path).stem
    if name != stem:
        found.append(Finding("name-mismatch", f"metadata.name '{name}' differs from the file name '{stem}'",
                             path, doc.position("/metadata/name"),
                             f"rename the file to models/{name}.yaml, or set name: {stem}"))
    for env in doc.data["spec"].get("environments", {}):
        if env not in config.env_names:
            known = ", ".join(config.env_names)
            found.append(Finding("unknown-environment", f"unknown environment '{env}'", path,
                                 doc.position(f"/spec/environments/{yamlsource.pointer_escape(env)}", True),
                                 f"environments in {config.path}: {known}"))
    return found


def _empty_keys(doc: yamlsource.Document, path: str, config: Config) -> list[Finding]:
    """An environment written as "", or a "" key holding a mapping or list (the schema's own message
    is kept for a "" key with a plain value: 'env name '' must start with a letter')."""
    found = []
    stack: list[tuple[str, object]] = [("", doc.data)]
    while stack:
        pointer, node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            child = f"{pointer}/{yamlsource.pointer_escape(str(key))}"
            if key == "" and pointer == "/spec/environments":
                found.append(Finding("unknown-environment", "unknown environment ''", path, doc.position(child, True),
                                     f"environments in {config.path}: {', '.join(config.env_names)}"))
            elif key == "" and isinstance(value, (dict, list)):
                found.append(Finding("unknown-field", "an empty key ('') is not allowed here", path,
                                     doc.position(child, True), "write the name the key stands for, or remove the entry"))
            else:
                stack.append((child, value))
    return sorted(found, key=Finding.sort_key)


def collision(model: Model, other_path: str) -> Finding:
    return Finding("name-collision", f"model '{model.name}' is also defined in {other_path}", model.path,
                   model.doc.position("/metadata/name"), "each model needs a unique metadata.name")
