"""`mlgitops check`: everything a cluster would receive, checked offline, every finding reported.

Order: specs and config (schemas) -> drift (committed tree vs generated) -> build (real kustomize,
batched) -> Kubernetes schemas -> fidelity (built vs meant) -> policies. Per-overlay results are
cached by content, so an unchanged repository checks in about the time it takes to render it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mlgitops import __version__
from mlgitops.check import build, fidelity, policies
from mlgitops.check import sync as sync_check
from mlgitops.check.kubecheck import KubeCheck
from mlgitops.check.kubeconform import KubeconformCheck
from mlgitops.kube import kustomize
from mlgitops.render.manifest import Manifest
from mlgitops.report import formats as report
from mlgitops.report.findings import Finding, Position, Severity
from mlgitops.spec.config import Config
from mlgitops.spec.layers import locate
from mlgitops.spec.model import BASE, Model
from mlgitops.spec.repo import CONFIG_FILE, Repo
from mlgitops.spec.training import costs, training_environments
from mlgitops.tree import cache, drift, writer
from mlgitops.tree import generation as generate
from mlgitops.tree.layout import intended, overlay_dir, training_dir, training_intended


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


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    models: int = 0
    overlays: int = 0
    resources: int = 0
    cache_hits: int = 0
    budgets: list[str] = field(default_factory=list)  # the GPU-hour bound of each training run and sweep


def _model_of_path(path: str) -> str | None:
    parts = path.split("/")
    if parts[0] == "base" and len(parts) > 2:
        return parts[1]
    if parts[0] == "overlays" and len(parts) > 3:
        return parts[2]
    if parts[0] == "clusters" and len(parts) == 5 and parts[2] == "flux":  # clusters/<c>/flux/<env>/<model>.yaml
        return parts[4].removesuffix(".yaml")
    if parts[0] == "clusters" and len(parts) == 6 and parts[2] == "flux" and parts[4] == "training":
        return parts[5].removesuffix(".yaml")  # clusters/<c>/flux/<env>/training/<model>.yaml
    return None  # namespaces and other shared sync objects: the first shard checks them


def _drift(gen: generate.Generated, repo: Repo, disk: dict[str, bytes], invalid: set[str], owns) -> list[Finding]:
    tree = {p: c for p, c in gen.tree.items() if owns(_model_of_path(p))}
    disk = {p: c for p, c in disk.items() if owns(_model_of_path(p)) and _model_of_path(p) not in invalid}
    return drift.findings(writer.plan(tree, disk, repo.root), disk)


def _sync_findings(gen: generate.Generated, disk: dict[str, bytes]) -> list[Finding]:
    assert gen.config is not None
    folders = {"/".join(p.split("/")[:depth]) for p in disk if p.startswith("overlays/")
               for depth in (3, 4) if p.count("/") >= depth}
    specs = {e.name: e for e in gen.entries}

    def locate(model: str) -> tuple[str, Position]:
        entry = specs.get(model)
        if entry is None:
            return CONFIG_FILE, Position()
        return entry.path, entry.model.doc.position("/metadata/name")

    return sync_check.check(gen.tree, folders, gen.config.kubernetes_version, locate)


def _drifted_models(findings: list[Finding]) -> set[str]:
    """Models whose committed files differ from the generated ones: fidelity would only repeat the drift."""
    return {name for f in findings if f.rule in ("drift", "hand-edited") and (name := _model_of_path(f.file))}


class _Context:
    """Inputs shared by every overlay's check: tools, schemas, config."""

    def __init__(self, gen: generate.Generated, config: Config, repo: Repo, validator: str = "builtin"):
        self.gen = gen
        self.repo = repo
        self.config = config
        version, skip = self.config.kubernetes_version, tuple(self.config.data["skipKinds"])
        self.kube: KubeCheck | KubeconformCheck = (
            KubeconformCheck(version, skip) if validator == "kubeconform" else KubeCheck(version, skip))
        argv = kustomize.build_argv()
        self.salt = cache.key(__version__, cache.code_fingerprint(), " ".join(argv), cache.file_identity(argv[0]),
                              self.kube.identity(), self.config.raw)

    def overlay_key(self, model, env: str, files: list[tuple[str, bytes]], fidelity_wanted: bool) -> str:
        """model: anything with .name, .path, .raw; files: the model's generated files on disk, sorted."""
        prefixes = (f"{overlay_dir(env, model.name)}/", f"base/{model.name}/")
        mine = [x for path, content in files if path.startswith(prefixes) for x in (path, content)]
        return cache.key(self.salt, model.path, model.raw, env, str(fidelity_wanted), *mine)


def _finding_at(model: Model, config, env: str, manifest: Manifest | None, pointer: str, rule: str,
                message: str, hint: str, ident: str, severity=Severity.ERROR) -> Finding:
    spec_pointer = manifest.spec_pointer(pointer) if manifest else "/spec"
    file, pos = locate(model.layers(config, env), model.doc, spec_pointer)
    return Finding(rule, f"{env}: {message}", file, pos, hint, severity, ident)


def check_overlay(ctx: _Context, model: Model, env: str, built: build.Built,
                  problems: list, fidelity_wanted: bool = True) -> tuple[list[Finding], int]:
    """Findings for one built overlay: Kubernetes schemas (problems, found already), fidelity, policies."""
    config = ctx.config
    meant = intended(model, config, env)
    by_key = {m.key: m for m in meant}
    found: list[Finding] = []
    overlay = overlay_dir(env, model.name)
    if built.error:
        return [Finding("build", f"kustomize cannot build {overlay}: {built.error}",
                        f"{overlay}/kustomization.yaml", Position(1, 1))], 0

    raw = [(i, (target["kind"], target["name"]), fidelity.touched([(target, body)]))
           for i, target, body in model.raw_patches(env)]
    patched = fidelity.touched([(t, b) for (_, t, b) in model.raw_patches(env)])

    def at(kind, name, pointer, rule, message, hint="", severity=Severity.ERROR):
        for i, key, touched in raw:
            if key == (kind, name) and _overlaps(pointer, touched[key]):
                file, pos = locate(model.layers(config, env), model.doc, f"/spec/environments/{env}/patches/{i}")
                return Finding(rule, f"{env}: {message}", file, pos, hint, severity, f"{kind}/{name}")
        return _finding_at(model, config, env, by_key.get((kind, name)), pointer, rule, message, hint,
                           f"{kind}/{name}", severity)

    for problem in problems:
        found.append(at(problem.kind, problem.name, problem.pointer, problem.rule, problem.message))
    for m in fidelity.compare(built.objects, [x.obj for x in meant], patched) if fidelity_wanted else ():
        found.append(at(m.kind, m.name, m.pointer, "fidelity", m.message,
                        "kustomize built something the generator did not mean: please report this"))
    env_config = config.environment(env)
    settings = policies.Settings.for_environment(env, env_config.policies)
    for v in policies.evaluate(built.objects, settings, config.gpu):
        found.append(at(v.kind, v.name, v.pointer, v.rule, v.message, v.hint, v.severity))
    return found, len(built.objects)


def check_training(ctx: _Context, model: Model, env: str, built: build.Built, problems: list,
                   fidelity_wanted: bool = True) -> tuple[list[Finding], int]:
    """Findings for one built training folder: Kubernetes schemas and upstream CRDs, fidelity, policies."""
    config = ctx.config
    meant = training_intended(model, config, env)
    by_key = {m.key: m for m in meant}
    folder = training_dir(env, model.name)
    if built.error:
        return [Finding("build", f"kustomize cannot build {folder}: {built.error}",
                        f"{folder}/kustomization.yaml", Position(1, 1))], 0

    def at(kind, name, pointer, rule, message, hint="", severity=Severity.ERROR):
        return _finding_at(model, config, env, by_key.get((kind, name)), pointer, rule, message, hint,
                           f"{kind}/{name}", severity)

    found = [at(p.kind, p.name, p.pointer, p.rule, p.message) for p in problems]
    for m in fidelity.compare(built.objects, [x.obj for x in meant], {}) if fidelity_wanted else ():
        found.append(at(m.kind, m.name, m.pointer, "fidelity", m.message,
                        "kustomize built something the generator did not mean: please report this"))
    settings = policies.Settings.for_environment(env, config.environment(env).policies)
    for v in policies.evaluate(built.objects, settings, config.gpu):
        found.append(at(v.kind, v.name, v.pointer, v.rule, v.message, v.hint, v.severity))
    return found, len(built.objects)


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


def run(options: Options) -> Result:
    repo = Repo(options.root)
    gen = generate.build(repo)
    shard = options.shard
    owns = (lambda name: name is None and shard.first or name is not None and shard.owns(name)) if shard else (
        lambda name: True)
    result = Result()
    for f in gen.findings:
        stem = Path(f.file).stem if f.file.startswith("models/") else None
        if owns(stem if f.file != CONFIG_FILE else None):
            result.findings.append(f)
    if gen.config is None:
        return result
    models = [e for e in gen.entries if owns(e.name)]
    invalid = {p.stem for p in repo.model_files()} - {e.name for e in gen.entries}
    disk = writer.scan(repo.root)
    drifted = _drift(gen, repo, disk, invalid, owns)
    result.findings += drifted
    if owns(None):  # clusters/ is shared by every model: the first shard checks it
        result.findings += _sync_findings(gen, disk)
    stale = _drifted_models(drifted)
    result.models = len(models)
    ctx = _Context(gen, gen.config, repo, options.validator)
    by_model: dict[str | None, list[tuple[str, bytes]]] = {}
    for path in sorted(disk):
        by_model.setdefault(_model_of_path(path), []).append((path, disk[path]))
    envs = gen.config.env_names
    store = cache.Cache(repo.root, options.use_cache)
    todo: dict[str, tuple[generate.Entry, str, str]] = {}
    training_todo: dict[str, tuple[generate.Entry, str, str]] = {}
    for model in models:
        for env in envs:
            folder = training_dir(env, model.name)
            if f"{folder}/kustomization.yaml" in disk:
                result.overlays += 1
                digest = cache.key(ctx.overlay_key(model, env, by_model.get(model.name, []), model.name not in stale),
                                   "training")
                hit = store.get(digest)
                if hit is not None:
                    result.findings += [Finding.from_dict(d) for d in hit["findings"]]
                    result.resources += hit["resources"]
                else:
                    training_todo[folder] = (model, env, digest)
            overlay = overlay_dir(env, model.name)
            if f"{overlay}/kustomization.yaml" not in disk:
                continue  # reported as drift
            result.overlays += 1
            digest = ctx.overlay_key(model, env, by_model.get(model.name, []), model.name not in stale)
            hit = store.get(digest)
            if hit is not None:
                result.findings += [Finding.from_dict(d) for d in hit["findings"]]
                result.resources += hit["resources"]
                continue
            todo[overlay] = (model, env, digest)
    result.cache_hits = store.hits
    if options.on_total:
        options.on_total(len(todo) + len(training_todo))
    todo.update(training_todo)
    builds = build.build_iter(repo.root, sorted(todo), options.jobs, options.progress) if todo else iter(())
    if isinstance(ctx.kube, KubeconformCheck):  # one kubeconform process for everything
        everything = list(builds)
        pairs: Iterable[tuple[build.Built, list]] = zip(everything, ctx.kube.check_many([b.objects for b in everything]))
    else:  # check each overlay while later batches are still building
        pairs = ((b, ctx.kube.check(b.objects)) for b in builds)
    for built, overlay_problems in pairs:
        entry, env, digest = todo[built.overlay]
        checker = check_training if built.overlay in training_todo else check_overlay
        found, count = checker(ctx, entry.model, env, built, overlay_problems, fidelity_wanted=entry.name not in stale)
        result.findings += found
        result.resources += count
        store.put(digest, {"findings": [f.as_dict() for f in found], "resources": count})
    result.findings = merge_environments(result.findings, envs)
    result.budgets = budget_lines([e.model for e in models], envs, gen.config.training["katib"])
    return result


def merge_environments(findings: list[Finding], envs: list[str]) -> list[Finding]:
    """One finding per spec line for a problem every listed environment shares: "dev, prod: ..."."""
    groups: dict[tuple, list[str]] = {}
    originals: dict[tuple, Finding] = {}
    out = []
    for f in findings:
        env, sep, rest = f.message.partition(": ")
        if not sep or env not in envs:
            out.append(f)
            continue
        key = (f.rule, rest, f.file, f.position, f.hint, f.severity, f.object)
        groups.setdefault(key, []).append(env)
        originals.setdefault(key, f)
    for key, names in groups.items():
        ordered = [e for e in envs if e in names]
        f = originals[key]
        out.append(Finding(f.rule, f"{', '.join(ordered)}: {key[1]}", f.file, f.position, f.hint, f.severity, f.object))
    return out


def summary_line(result: Result) -> str:
    return (f"{result.models} models, {result.overlays} overlays, {result.resources} resources: "
            f"{report.summary(result.findings)}")
