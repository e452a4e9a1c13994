"""`mlgitops check`: everything a cluster would receive, checked offline, every finding reported.

Order: specs and config (schemas) -> drift (committed tree vs generated) -> build (real kustomize,
batched) -> Kubernetes schemas -> fidelity (built vs meant) -> policies. Per-overlay results are
cached by content, so an unchanged repository checks in about the time it takes to render it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from mlgitops import __version__
from mlgitops.check import build, capacity, fidelity, handwritten, lineage, policies, prerequisites
from mlgitops.check import slo as slo_rules
from mlgitops.check import sync as sync_check
from mlgitops.check.build import kustomize_version
from mlgitops.check.cache_index import ResultIndex
from mlgitops.check.inputs import Inputs, in_folders, overlay_inputs, read_elsewhere
from mlgitops.check.kubecheck import KubeCheck
from mlgitops.check.kubeconform import KubeconformCheck
from mlgitops.check.memo import Seen
from mlgitops.check.result import Result
from mlgitops.kube import kustomize
from mlgitops.render import engines
from mlgitops.render.manifest import Manifest
from mlgitops.render.units import (
    SERVING,
    TRAINING,
    Unit,
    base_model,
    is_cluster_path,
    is_kustomize_path,
    model_folders,
    overlay_folders,
    overlay_owner,
)
from mlgitops.render.workload import policy_exceptions
from mlgitops.report.findings import Finding, Position, Severity, quoted
from mlgitops.spec.config import Config
from mlgitops.spec.layers import locate
from mlgitops.spec.model import BASE, Model
from mlgitops.spec.repo import CONFIG_FILE, Repo
from mlgitops.spec.training import costs, training_environments
from mlgitops.spec.yamlsource import pointer_escape
from mlgitops.tree import cache, drift, stat_index, writer
from mlgitops.tree import generation as generate
from mlgitops.tree.layout import (
    intended,
    is_generated,
    overlay_dir,
    training_dir,
    training_intended,
    training_patches,
)


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        k, _, n = text.partition("/")
        shard = cls(int(k), int(n))
        if not 1 <= shard.index <= shard.count:
            raise ValueError(text)
        return shard

    def owns(self, model_name: str) -> bool:
        digest = int(hashlib.sha256(model_name.encode()).hexdigest()[:8], 16)
        return digest % self.count == self.index - 1

    @property
    def first(self) -> bool:
        return self.index == 1


@dataclass
class Options:
    root: Path
    shard: Shard | None = None
    use_cache: bool = True
    jobs: int | None = None
    validator: str = "builtin"  # or "kubeconform"
    progress: Callable[[int], None] | None = None  # advance the progress bar by n overlays
    on_total: Callable[[int], None] | None = None  # how many overlays will be built
    verbose: bool = False  # describe the kustomize used in Result.tool
    seen: Seen | None = None  # the memo's stats of the files, taken just before (a miss): not taken again


@functools.lru_cache(maxsize=1 << 16)  # asked for every file several times per run
def _model_of_path(path: str) -> str | None:
    """The model a generated file is of; None for namespaces and other shared sync objects (the first shard
    checks them)."""
    found = engines.owner(path)
    return found.model if found else None


def _shared_sync_file(path: str) -> bool:
    return is_cluster_path(path) and _model_of_path(path) is None


def _owned_disk(disk: dict[str, bytes], owns, invalid: set[str], unknown) -> dict[str, bytes]:
    """The files on disk drift compares: the owned ones, not an invalid spec's, not unknown(model)'s."""
    if owns is _everyone and not invalid and unknown is _nobody:  # unsharded, every spec valid: all of them
        return disk
    out = {}
    for path, content in disk.items():
        model = _model_of_path(path)
        if owns(model) and model not in invalid and not (model is not None and unknown(model)):
            out[path] = content
    return out


def _drift(gen: generate.Generated, repo: Repo, disk: dict[str, bytes], invalid: set[str], owns) -> list[Finding]:
    """Drift of the valid models. While any spec is invalid, the files no valid spec generates are left
    alone: they may be that spec's (a renamed file, a broken name), and its own errors say what to fix."""
    tree = gen.tree if owns is _everyone else {p: c for p, c in gen.tree.items() if owns(_model_of_path(p))}
    if not any(f.severity is Severity.ERROR and f.file.startswith("models/") for f in gen.findings):
        disk = _owned_disk(disk, owns, invalid, _nobody)
        return drift.findings(writer.plan(tree, disk, repo.root), disk, tree)
    valid = {e.name for e in gen.entries}
    disk = _owned_disk(disk, owns, invalid, lambda model: model not in valid)
    return _drift_held(tree, disk, repo)


def _drift_held(tree: dict[str, bytes], disk: dict[str, bytes], repo: Repo) -> list[Finding]:
    """Drift while a spec is invalid: the clusters/ objects shared by every model (an ApplicationSet, a
    namespace) wait too, and the hint says to fix the specs first."""
    tree = {p: c for p, c in tree.items() if not _shared_sync_file(p)}
    disk = {p: c for p, c in disk.items() if not _shared_sync_file(p)}
    found = drift.findings(writer.plan(tree, disk, repo.root), disk, tree)
    # generate writes nothing while a spec is invalid
    return [replace(f, hint="fix the spec errors first, then run 'mlgitops generate' and commit the result")
            if f.rule == "drift" else f for f in found]


def _unreferenced(gen: generate.Generated, disk: dict[str, bytes], owns) -> list[Finding]:
    """A person's files in a model's generated folders: no kustomization references them, so they are
    never deployed (dotfiles such as .gitkeep aside)."""
    extra = sorted(disk.keys() - gen.tree.keys())  # usually none: the folders are then not worked out
    folders = {posixpath.dirname(p) for p in gen.tree  # kustomize's folders only
               if is_kustomize_path(p) and owns(_model_of_path(p))} if extra else set()
    return [Finding("unreferenced-file", "no kustomization references this file: it is never deployed", path,
                    Position(), "move what it holds into the model spec (an environment override or a raw patch), "
                    "then delete the file", Severity.WARNING)
            for path in extra
            if posixpath.dirname(path) in folders and not is_generated(disk[path])
            and not posixpath.basename(path).startswith(".")]


def _sync_findings(gen: generate.Generated, disk: dict[str, bytes], invalid: set[str]) -> list[Finding]:
    """The sync objects' checks; a folder of a spec that exists but does not validate is that spec's (its
    own errors say what to fix), never a stray folder an ApplicationSet would pick up."""
    assert gen.config is not None
    folders = overlay_folders(disk, invalid)
    specs = {e.name: e for e in gen.entries}

    def locate(model: str) -> tuple[str, Position]:
        entry = specs.get(model)
        if entry is None:
            return CONFIG_FILE, Position()
        return entry.path, entry.model.doc.position("/metadata/name")

    return sync_check.check(gen.tree, folders, gen.config.kubernetes_version, locate)


def _cached_sync_findings(gen: generate.Generated, disk: dict[str, bytes], invalid: set[str],
                          store: cache.Store, salt: str) -> list[Finding]:
    """_sync_findings, answered from the result cache when clusters/ and the overlay folders are unchanged."""
    clusters = sorted((p, c) for p, c in gen.tree.items() if is_cluster_path(p))
    folders = sorted(model_folders(disk))
    digest = cache.key(salt, "sync", *(f"{p}\0" for p, _ in clusters), *(c for _, c in clusters),
                       *folders, *sorted(invalid), *(e.path for e in gen.entries), *(e.raw for e in gen.entries))
    hit = store.get(digest)
    if hit is not None:
        try:
            return [Finding.from_dict(d) for d in json.loads(hit)]
        except (ValueError, TypeError, KeyError):
            pass  # an entry this version cannot read is a miss
    found = _sync_findings(gen, disk, invalid)
    store.put(digest, json.dumps([f.as_record() for f in found]).encode())
    return found


def _add_needs(result: Result, config, env: str, needs: dict | None) -> None:
    """What an overlay's built objects need in its namespace (from the build, or its cached result)."""
    if not needs:
        return
    secrets, operators = result.needs.setdefault(config.environment(env).namespace, (set(), set()))
    secrets.update(needs.get("secrets", []))
    operators.update(needs.get("operators", []))


def _capacity_findings(gen: generate.Generated) -> list[Finding]:
    config = gen.config
    assert config is not None
    out = []
    for env in config.environments:
        if not env.quota:
            continue
        objects = {e.name: [m.obj for m in intended(e.model, config, env.name)
                            + training_intended(e.model, config, env.name)] for e in gen.entries}
        used = capacity.usage(objects, config.gpu["resource"])
        out += capacity.findings(env.name, env.quota, used, config.path,
                                 lambda r, i=env.index: config.doc.position(f"/environments/{i}/quota/{r}"))
    return out


def _drifted_models(findings: list[Finding]) -> set[str]:
    """Models whose committed files differ from the generated ones: fidelity would only repeat the drift."""
    return {name for f in findings if f.rule in ("drift", "hand-edited") and (name := _model_of_path(f.file))}


_DIGEST_SIZE = (32).to_bytes(8, "big")  # a SHA-256 digest's length, as a key's length prefix
_KUSTOMIZATION = f"/{kustomize.KUSTOMIZATION_FILES[0]}"  # what generate names a kustomization


class _Context:
    """Inputs shared by every overlay's check: tools, schemas, config."""

    def __init__(self, gen: generate.Generated, config: Config, repo: Repo, validator: str = "builtin",
                 tool: kustomize.Kustomize | None = None, tool_version: str = ""):
        self.gen = gen
        self.repo = repo
        self.config = config
        version, skip = self.config.kubernetes_version, tuple(self.config.data["skipKinds"])
        self.kube: KubeCheck | KubeconformCheck = (
            KubeconformCheck(version, skip) if validator == "kubeconform" else KubeCheck(version, skip))
        self.tool = tool or kustomize.find()
        self.tool_identity = self.tool.identity()
        self.salt = cache.key(__version__, cache.code_fingerprint(), self.tool_identity, tool_version,
                              self.kube.identity(), self.config.raw)
        self._parts: dict[str, bytes] = {}  # an input file's part of a key, by path (a base serves every env)
        self.real_root = os.path.realpath(repo.root)

    def overlay_key(self, model, env: str, files: list[tuple[str, bytes]], fidelity_wanted: bool) -> str:
        """model: anything with .name, .path, .raw; files: the model's generated files on disk, sorted (one
        snapshot of the disk per run: a path's bytes are the same for every overlay). Each file is its path
        and the SHA-256 of its bytes, length-prefixed like every part of a key."""
        parts = self._parts
        mine = []
        for path, content in overlay_inputs(model.name, env, files):
            part = parts.get(path)
            if part is None:
                name = path.encode()
                digest = hashlib.sha256(content).digest()
                part = parts[path] = b"".join((len(name).to_bytes(8, "big"), name, _DIGEST_SIZE, digest))
            mine.append(part)
        return cache.key(self.salt, model.path, model.raw, env, str(fidelity_wanted), b"".join(mine))

    def read_elsewhere(self, unit: Unit) -> str:
        """What a build of the unit may read that its key does not hold, or "" (inputs.read_elsewhere)."""
        return read_elsewhere(self.real_root, unit, in_folders(self.real_root, unit.model, unit.env))


def _finding_at(model: Model, config, env: str, manifest: Manifest | None, pointer: str, rule: str,
                message: str, hint: str, ident: str, severity=Severity.ERROR) -> Finding:
    spec_pointer = manifest.spec_pointer(pointer) if manifest else "/spec"
    file, pos = locate(model.layers(config, env), model.doc, spec_pointer)
    return Finding.in_environments([env], rule, message, file, pos, hint, severity, ident)


def _build_failure(model: Model, config, env: str, error: str, overlay: str) -> Finding:
    """A failed build, at the raw patch that broke it when the overlay has any (mlgitops's own files build):
    the patch kustomize names, else the JSON patch operation whose path the error quotes, else the only
    patch, else the environment's patches. overlay: the folder built."""
    patches = list(model.raw_patches(env))
    if not patches:
        return Finding("build", f"kustomize cannot build {overlay}: {error}", f"{overlay}/kustomization.yaml",
                       Position(1, 1))
    at = f"/spec/environments/{pointer_escape(env)}/patches"
    named = [i for i, _, _ in patches if f"user-patch-{i + 1}.yaml" in error]
    quoted = [f"{model.patch_pointer(env, i)}/jsonPatch/{j}" for i, _, body in patches if isinstance(body, list)
              for j, op in enumerate(body) if f"'{op['path']}'" in error or f'"{op["path"]}"' in error]
    pointer = (model.patch_pointer(env, named[0]) if named else quoted[0] if quoted
               else model.patch_pointer(env, 0) if len(patches) == 1 else at)
    file, pos = locate(model.layers(config, env), model.doc, pointer)
    return Finding.in_environments([env], "build", f"a raw patch breaks the build of {overlay}: {error}", file, pos,
                                   "fix or remove the patch: Flux and Argo CD cannot build this overlay either")


def check_overlay(ctx: _Context, model: Model, env: str, built: build.Built,
                  problems: list, fidelity_wanted: bool = True) -> tuple[list[Finding], int]:
    """Findings for one built overlay: Kubernetes schemas (problems, found already), fidelity, policies."""
    config = ctx.config
    meant = intended(model, config, env)
    by_key = {m.key: m for m in meant}
    found: list[Finding] = []
    if built.error:
        return [_build_failure(model, config, env, built.error, overlay_dir(env, model.name))], 0

    raw = [(i, (target["kind"], target["name"]), fidelity.touched([(target, body)]))
           for i, target, body in model.raw_patches(env)]
    patched = fidelity.touched([(t, b) for (_, t, b) in model.raw_patches(env)])

    def at(kind, name, pointer, rule, message, hint="", severity=Severity.ERROR):
        for i, key, touched in raw:
            if key == (kind, name) and _overlaps(pointer, touched[key]):
                file, pos = locate(model.layers(config, env), model.doc, model.patch_pointer(env, i))
                return Finding.in_environments([env], rule, message, file, pos, hint, severity, f"{kind}/{name}")
        return _finding_at(model, config, env, by_key.get((kind, name)), pointer, rule, message, hint,
                           f"{kind}/{name}", severity)

    for problem in problems:
        found.append(at(problem.kind, problem.name, problem.pointer, problem.rule, problem.message))
    for m in fidelity.compare(built.objects, [x.obj for x in meant], patched) if fidelity_wanted else ():
        found.append(at(m.kind, m.name, m.pointer, "fidelity", m.message,
                        "kustomize built something the generator did not mean: please report this"))
    env_config = config.environment(env)
    settings = policies.Settings.for_environment(env, env_config.policies, env_config.pod_security,
                                                 config.kubernetes_version)
    excepted = policy_exceptions(model.effective[env]["spec"])
    settings = replace(settings, disabled=settings.disabled | set(excepted))
    for v in policies.evaluate(built.objects, settings, config.gpu, {m.key: m.obj for m in meant}):
        found.append(at(v.kind, v.name, v.pointer, v.rule, v.message, v.hint, v.severity))
    found += _lineage_findings(model, config, env, _serving_lineage(model, config, env, built.objects, settings),
                               raw, settings.disabled, at)
    return found, len(built.objects)


def _serving_lineage(model: Model, config, env: str, objects: list[dict],
                     settings: policies.Settings) -> list[lineage.Problem]:
    spec = model.effective[env]["spec"]
    others = {who: v for who, v in lineage.served({e: model.effective[e]["spec"] for e in config.env_names}).items()
              if who != env and not who.endswith(" canary")}  # a canary is blamed in its own environment
    return lineage.serving(objects, spec, settings.weights_pinning, others) + lineage.download(spec)


def _lineage_findings(model: Model, config, env: str, problems: list[lineage.Problem], raw: list,
                      disabled: frozenset[str], at: Callable[..., Finding]) -> list[Finding]:
    """Lineage problems at the raw patch that wrote the field, else at the spec line that says it."""
    out = []
    for p in problems:
        if p.rule in disabled:
            continue
        if any(key == (p.kind, p.name) and _overlaps(p.pointer, touched[key]) for _, key, touched in raw):
            out.append(at(p.kind, p.name, p.pointer, p.rule, p.message, p.hint, p.severity))
            continue
        file, pos = locate(model.layers(config, env), model.doc, p.spec_pointer)
        ident = f"{p.kind}/{p.name}" if p.name else ""
        out.append(Finding.in_environments([env], p.rule, p.message, file, pos, p.hint, p.severity, ident))
    return out


def check_training(ctx: _Context, model: Model, env: str, built: build.Built, problems: list,
                   fidelity_wanted: bool = True) -> tuple[list[Finding], int]:
    """Findings for one built training folder: Kubernetes schemas and upstream CRDs, fidelity, policies."""
    config = ctx.config
    meant = training_intended(model, config, env)
    by_key = {m.key: m for m in meant}
    folder = training_dir(env, model.name)
    if built.error:
        return [_training_build_failure(model, config, env, folder, built.error)], 0

    def at(kind, name, pointer, rule, message, hint="", severity=Severity.ERROR):
        return _finding_at(model, config, env, by_key.get((kind, name)), pointer, rule, message, hint,
                           f"{kind}/{name}", severity)

    found = [at(p.kind, p.name, p.pointer, p.rule, p.message) for p in problems]
    for m in fidelity.compare(built.objects, [x.obj for x in meant], _training_patched(model, config, env, meant))\
            if fidelity_wanted else ():
        found.append(at(m.kind, m.name, m.pointer, "fidelity", m.message,
                        "kustomize built something the generator did not mean: please report this"))
    settings = policies.Settings.for_environment(env, config.environment(env).policies,
                                                 config.environment(env).pod_security, config.kubernetes_version)
    for v in policies.evaluate(built.objects, settings, config.gpu):
        found.append(at(v.kind, v.name, v.pointer, v.rule, v.message, v.hint, v.severity))
    serving_specs = {e: model.effective[e]["spec"] for e in config.env_names}
    problems = lineage.training(built.objects, lineage.readers(serving_specs))
    found += _lineage_findings(model, config, env, problems, [], settings.disabled, at)
    return found, len(built.objects)


def _training_build_failure(model: Model, config, env: str, folder: str, error: str) -> Finding:
    """A training folder that does not build: at the raw patch that broke it, if it applies any."""
    if training_patches(model, config, env):
        return _build_failure(model, config, env, error, folder)
    return Finding("build", f"kustomize cannot build {folder}: {error}", f"{folder}/kustomization.yaml", Position(1, 1))


def _training_patched(model: Model, config, env: str, meant: list[Manifest]) -> dict:
    """What the raw patches of a training folder write, per object (a target by kind alone: each of its kind)."""
    def hits(target: dict) -> list[Manifest]:
        return [m for m in meant if m.kind == target["kind"] and target.get("name", m.name) == m.name]

    return fidelity.touched([({"kind": m.kind, "name": m.name}, p["patch"])
                             for p in training_patches(model, config, env) for m in hits(p["target"])])


def budget_lines(models: list[Model], env_names: list[str], katib: bool = False) -> list[str]:
    """`model env: what may use N GPU-hours (...)` for each training run of each model that trains."""
    out = []
    for model in models:
        for env in training_environments(model.effective[BASE]["spec"], env_names):
            training = model.effective[env]["spec"].get("training")
            for cost in costs(training, katib) if training else ():
                if cost.gpus:
                    out.append(f"{model.name} {env}: the {cost.what} may use {cost.describe()}")
    return out


def _overlaps(pointer: str, touched: frozenset[str]) -> bool:
    """Whether a finding at pointer concerns a field a raw patch wrote (or contains one)."""
    return any(t == pointer or t.startswith(pointer + "/") or pointer.startswith(t + "/") for t in touched)


def _everyone(name: str | None) -> bool:
    """The owner filter of an unsharded run (every model's files, and the shared ones)."""
    return True


def _nobody(name: str | None) -> bool:
    return False


def _owner_filter(shard: Shard | None) -> Callable[[str | None], bool]:
    """Whether this shard checks a model's files (None: what every model shares, the first shard's)."""
    if shard is None:
        return _everyone
    return lambda name: shard.first if name is None else shard.owns(name)


@dataclass(frozen=True)
class UnitCheck:
    """How check treats one kind of unit: the checker of its built objects, its cache key, and whether
    the spec's policy exceptions apply to it (they are the serving overlay's)."""

    check: Callable[..., tuple[list[Finding], int]]
    key: tuple[str, ...]
    exceptions: bool


UNIT_CHECKS = {SERVING: UnitCheck(check_overlay, (), True), TRAINING: UnitCheck(check_training, ("training",), False)}


@dataclass(frozen=True)
class Planned:
    """A unit to check: its spec's entry and the key of its result; elsewhere: what its build may read that the key
    does not hold (then its result is neither looked up nor kept)."""

    entry: generate.Entry
    unit: Unit
    digest: str
    elsewhere: str = ""


def _files_by_model(disk: dict[str, bytes]) -> dict[str, list[tuple[str, bytes]]]:
    """The files of each model's base and overlay folders, sorted: what its builds read (overlay_inputs)."""
    by_model: dict[str, list[tuple[str, bytes]]] = {}
    for path in sorted(disk):
        model = base_model(path)
        if model is None and (owner := overlay_owner(path)) is not None:
            model = owner.model
        if model is not None:
            by_model.setdefault(model, []).append((path, disk[path]))
    return by_model


def _inputs_of(planned: Planned, files: dict) -> list[tuple[str, bytes]]:
    return overlay_inputs(planned.entry.name, planned.unit.env, files.get(planned.entry.name, []))


def plan_units(ctx: _Context, models: list[generate.Entry], disk: dict[str, bytes], files: dict,
               stale: set[str]) -> list[Planned]:
    """Every unit of this shard's models that is on disk (a missing one is reported as drift), keyed."""
    out = []
    for model in models:
        plain = _as_generated(model, disk, ctx.gen.tree)
        for env in ctx.config.env_names:
            for unit in (Unit(model.name, env, TRAINING), Unit(model.name, env)):
                if unit.kustomization in disk and unit.kustomization in ctx.gen.tree:  # else drift says it
                    key = ctx.overlay_key(model, env, files.get(model.name, []), model.name not in stale)
                    out.append(Planned(model, unit, cache.key(key, *UNIT_CHECKS[unit.kind].key),
                                       "" if plain else ctx.read_elsewhere(unit)))
    return out


def _as_generated(entry: generate.Entry, disk: dict[str, bytes], tree: dict[str, bytes]) -> bool:
    """Whether each of a model's generated files is on disk, a regular file (writer.scan skips a symlink) in folders
    that are none, its kustomizations as generated: they name only those files and the model's base, so its builds
    read nothing its keys do not hold (else each unit is walked: read_elsewhere)."""
    return all(path in disk and (not path.endswith(_KUSTOMIZATION) or disk[path] == tree[path])
               for path in entry.files)


def _absorb(result: Result, config: Config, planned: Planned, record: dict) -> None:
    """One unit's result (just checked, or from the cache) into the run's."""
    result.findings += [Finding.from_dict(d) for d in record["findings"]]
    result.resources += record["resources"]
    env = planned.unit.env
    result.exceptions += [(planned.entry.path, env, rule, reason) for rule, reason in record.get("exceptions", [])]
    _add_needs(result, config, env, record.get("needs"))


def check_unit(ctx: _Context, planned: Planned, built: build.Built, problems: list,
               fidelity_wanted: bool) -> dict:
    """One built unit's result, as the cache keeps it."""
    kind, (entry, env) = UNIT_CHECKS[planned.unit.kind], (planned.entry, planned.unit.env)
    found, count = kind.check(ctx, entry.model, env, built, problems, fidelity_wanted=fidelity_wanted)
    excepted = sorted(policy_exceptions(entry.model.effective[env]["spec"]).items()) if kind.exceptions else []
    needs = {"secrets": sorted(prerequisites.secrets(built.objects)),
             "operators": sorted(prerequisites.operators(built.objects))}
    return {"findings": [f.as_record() for f in found], "resources": count, "exceptions": excepted, "needs": needs}


def _validated(ctx: _Context, builds: Iterator[build.Built]) -> Iterable[tuple[build.Built, list]]:
    """Each build with its Kubernetes schema problems."""
    if isinstance(ctx.kube, KubeconformCheck):  # one kubeconform process for everything
        everything = list(builds)
        return zip(everything, ctx.kube.check_many([b.objects for b in everything]), strict=True)
    return ((b, ctx.kube.check(b.objects)) for b in builds)  # each while later batches are still building


def _start_builds(ctx: _Context, todo: dict[str, Planned], files: dict,
                  options: Options) -> tuple[Inputs, Iterator[build.Built]]:
    """Start building every unit the cache did not answer (kustomize runs while this process goes on with
    the checks that need no build), each input file's identity noted first."""
    inputs = Inputs(ctx.repo.root)
    for planned in todo.values():
        inputs.note(_inputs_of(planned, files))
    if options.on_total:
        options.on_total(len(todo))
    builds = build.build_iter(ctx.repo.root, sorted(todo), options.jobs, options.progress) if todo else iter(())
    return inputs, builds


def _check_built(ctx: _Context, todo: dict[str, Planned], builds: Iterator[build.Built], stale: set[str],
                 result: Result) -> list[tuple[Planned, dict]]:
    """Check every unit built (as each batch comes); their results, to be cached."""
    pending = []
    for built, problems in _validated(ctx, builds):
        planned = todo[built.overlay]
        record = check_unit(ctx, planned, built, problems, planned.entry.name not in stale)
        _absorb(result, ctx.config, planned, record)
        if not planned.elsewhere:  # its key does not hold all it read: never kept
            pending.append((planned, record))
    return pending


def _spec_of(finding: Finding) -> str | None:
    """The model a spec finding is about; None for mlgitops.yaml's (the first shard reports them)."""
    return Path(finding.file).stem if finding.file.startswith("models/") else None


def _look_up(store: ResultIndex, units: list[Planned],
             result: Result) -> tuple[list[tuple[Planned, dict]], dict[str, Planned]]:
    """Every unit's cached result, and the units left to build and check, by folder (a unit whose build may read what
    its key does not hold is never looked up: Result.uncached says why)."""
    hits, todo = [], {}
    result.uncached = [f"{p.unit.folder}: not cached: its build may read {quoted(p.elsewhere)}, which its cache key "
                       "does not hold" for p in units if p.elsewhere]  # a path a kustomization names: quoted
    for planned in units:
        hit = None if planned.elsewhere else store.get(planned.digest)
        if hit is None:
            todo[planned.unit.folder] = planned
        else:
            hits.append((planned, hit))
    result.overlays, result.cache_hits = len(units), store.hits
    return hits, todo


def _prepare(repo: Repo, gen: generate.Generated, options: Options, result: Result, caching: bool) -> _Context:
    """The kustomize to use (its version asked once per identity), the validator, and the cache salt."""
    assert gen.config is not None
    tool = kustomize.find()
    tools = cache.Store(repo.root, "tools", options.use_cache)
    tool_version = kustomize_version(tool, tools) if caching or options.verbose else ""
    result.notes += [w for w in tools.warnings if w not in result.notes]
    if options.verbose:
        result.tool = tool.describe(tool_version)
    return _Context(gen, gen.config, repo, options.validator, tool, tool_version)


def _scan(index: stat_index.StatIndex, seen: Seen | None, cached: bool) -> dict[str, bytes]:
    """The generated files, with the memo's stats when it took them (and its clock, read before them)."""
    if not cached:  # --no-cache: every file is read
        return index.scan()
    if seen is not None:
        return index.scan(seen.stamp, seen.stats)
    return index.scan(writer.clock(index.root))


def run(options: Options) -> Result:
    """Check the repository, unit by unit: plan the units (this shard's), answer what the cache can, build
    and check the rest, then the prerequisites and GPU-hour budgets of the whole run."""
    repo = Repo(options.root)
    gen = generate.build(repo, options.use_cache)
    owns = _owner_filter(options.shard)
    result = Result(notes=list(gen.notes))
    result.findings += [f for f in gen.findings if owns(_spec_of(f))]
    if gen.config is None:
        return result
    models = [e for e in gen.entries if owns(e.name)]
    invalid = {p.stem for p in repo.model_files()} - {e.name for e in gen.entries}
    index = stat_index.StatIndex(repo.root, gen.tree, gen.origins, gen.cached)  # generate's: what it vouches
    disk = _scan(index, options.seen, gen.cached)  # what it vouches for is not read
    drifted = _drift(gen, repo, disk, invalid, owns)
    store = ResultIndex(repo.root, options.use_cache, str(options.shard))
    ctx = _prepare(repo, gen, options, result, store.enabled)
    files, stale = _files_by_model(disk), _drifted_models(drifted)
    units = plan_units(ctx, models, disk, files, stale)
    hits, todo = _look_up(store, units, result)
    inputs, builds = _start_builds(ctx, todo, files, options)
    try:  # while kustomize builds: the checks that need no build
        result.findings += drifted + _unreferenced(gen, disk, owns)
        result.findings += slo_rules.cached(models, gen.config, repo.root, options.use_cache)
        result.models = len(models)
        if owns(None):  # quotas and clusters/ are shared by every model: the first shard checks them
            result.findings += _capacity_findings(gen) + _cached_sync_findings(
                gen, disk, invalid, cache.Store(repo.root, "sync", options.use_cache), ctx.salt)
            result.findings += sync_check.engines_together(disk, gen.tree)
            result.findings += handwritten.check(gen.tree, disk, gen.config)  # what an engine applies besides
        for planned, record in hits:
            _absorb(result, ctx.config, planned, record)
        pending = _check_built(ctx, todo, builds, stale, result)
    finally:  # Ctrl-C while checking: stop the builds still running now, not at exit
        if hasattr(builds, "close"):
            builds.close()
    _store(store, pending, inputs, files, ctx, result)
    index.save(disk, writer.Plan())  # check writes nothing: what it read may be vouched for next time
    envs = gen.config.env_names
    result.findings = merge_environments(result.findings, envs)
    # only specs that can train are parsed again (a cache hit needs no parse otherwise)
    result.budgets = budget_lines([e.model for e in models if b"training" in e.raw], envs,
                                  gen.config.training["katib"])
    result.prerequisites = prerequisites.lines_from(result.needs)
    return result


def _store(store: ResultIndex, pending: list[tuple[Planned, dict]], inputs: Inputs, files: dict,
           ctx: _Context, result: Result) -> None:
    """Cache each built unit's result, unless what was built may differ from what was keyed."""
    result.notes += [w for w in store.warnings if w not in result.notes]
    if not store.enabled:
        return
    if pending and ctx.tool.identity() != ctx.tool_identity:
        result.notes.append("kustomize changed while it was running: results not cached")
        return
    changed = []
    for planned, record in pending:
        if inputs.unchanged(planned.entry.name, planned.unit.env, _inputs_of(planned, files)):
            store.put(planned.digest, record)
        else:
            changed.append(overlay_dir(planned.unit.env, planned.entry.name))
    if changed:
        more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
        result.notes.append(f"{changed[0]}{more} changed while being checked: results not cached; "
                            "run check again for a verdict on the files as they are now")
    store.save()
    result.notes += [w for w in store.warnings if w not in result.notes]


def merge_environments(findings: list[Finding], envs: list[str]) -> list[Finding]:
    """One finding per spec line for a problem every listed environment shares: "dev, prod: ..."."""
    groups: dict[tuple, list[str]] = {}
    originals: dict[tuple, Finding] = {}
    out = []
    for f in findings:
        if len(f.environments) != 1 or f.environments[0] not in envs:
            out.append(f)
            continue
        key = (f.rule, f.detail, f.file, f.position, f.hint, f.severity, f.object)
        groups.setdefault(key, []).append(f.environments[0])
        originals.setdefault(key, f)
    for key, names in groups.items():
        f = originals[key]
        out.append(Finding.in_environments([e for e in envs if e in names], f.rule, key[1], f.file, f.position,
                                           f.hint, f.severity, f.object))
    return out
