"""`mlgitops generate`: specs -> tree -> disk, all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mlgitops import __version__
from mlgitops.report.findings import FatalError, Finding, Position, Severity, has_errors
from mlgitops.spec.config import Config, load_config
from mlgitops.spec.model import Model, collision, parse_model
from mlgitops.spec.repo import Repo, escaped
from mlgitops.spec.training import config_findings
from mlgitops.tree import cache, drift, parallel, writer
from mlgitops.tree.layout import Tree, serving_pairs, sync_tree, training_pairs


@dataclass
class Entry:
    """One valid model spec; its Model is parsed only when asked for (a cache hit needs none)."""

    name: str
    path: str
    raw: bytes
    config: Config
    _model: Model | None = None

    @property
    def model(self) -> Model:
        if self._model is None:
            model, findings = parse_model(self.path, self.raw, self.config)
            assert model is not None and not findings, "a cached spec no longer validates"
            self._model = model
        return self._model


@dataclass
class Generated:
    config: Config | None = None
    entries: list[Entry] = field(default_factory=list)
    tree: Tree = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings about the run itself (the cache), not findings

    @property
    def models(self) -> list[Model]:
        return [e.model for e in self.entries]


def _salt(config: Config) -> str:
    """What, besides a spec's own bytes, decides its generated files: the tool's code and schemas, the config."""
    return cache.key(__version__, cache.code_fingerprint(), config.raw)


def _strays(repo: Repo) -> list[Finding]:
    """Files in models/ that are not read as specs: warnings, and errors for names that are not UTF-8."""
    found = []
    for stray in repo.stray_files():
        what = "folder" if stray.is_dir() else "file"
        found.append(Finding("not-a-spec", f"this {what} in models/ is not read as a spec",
                             repo.rel(stray), Position(), "specs are models/<name>.yaml, one per model",
                             Severity.WARNING))
    for odd in repo.misnamed_files():
        found.append(Finding("file-unreadable", "this file's name is not valid UTF-8", escaped(repo.rel(odd)),
                             Position(), "rename it: specs are models/<name>.yaml, <name> a DNS-1123 label"))
    return found


def build(repo: Repo, use_cache: bool = True, store_cache: bool = True, keep_models: bool = True) -> Generated:
    """Read and validate every input, then render the whole tree. Touches no output file.

    Each valid spec's files are cached by content (the cache's generate/, see tree/cache.py), so an unchanged spec
    is neither parsed nor rendered again; with store_cache=False the cache is only read (a read-only
    run writes nothing at all). With keep_models=False (generate, which needs only the files) the specs the
    cache misses are rendered in worker processes when there are enough of them (tree/parallel.py): the
    tree and the findings are the same, and an entry's Model is parsed again only if asked for. Callers
    that read every Model (check, diff) keep the ones they render in this process.
    """
    verdicts = cache.SecretVerdicts(repo.root, use_cache)
    config, findings = load_config(repo, verdicts)
    if config is None:
        return Generated(findings=findings)
    result = Generated(config, findings=[*findings, *config_findings(config.path, config.data, config.doc.position)])
    store = cache.TreeCache(repo.root, use_cache)
    result.notes = store.warnings  # the same list: a warning from a later put shows too
    if cache.legacy(repo.root):
        result.findings.append(Finding(
            "cache-in-repository", "a cache folder in the repository is never read (a commit could forge it)",
            cache.LEGACY_DIR, Position(), f"delete it (git rm -r --cached {cache.LEGACY_DIR} if committed): "
            f"the cache lives in {cache.home()}", Severity.WARNING))
    result.findings.extend(_strays(repo))
    inputs = _read_inputs(repo, store, _salt(config))
    misses = [(i.rel, i.raw) for i in inputs if i.raw is not None and i.hit is None]
    rendered = iter(parallel.render_all(misses, config, pool=not keep_models))
    pending: list[tuple[str, str, Tree]] = []
    seen: dict[str, Entry] = {}
    for item in inputs:
        got = _entry(item, rendered, config, result.findings, pending)
        if got is None:
            continue
        entry, tree = got
        if entry.name in seen:
            result.findings.append(collision(entry.model, seen[entry.name].path))
            continue
        seen[entry.name] = entry
        result.entries.append(entry)
        result.tree.update(tree)
    result.tree.update(sync_tree(config, training_pairs(result.tree), serving_pairs(result.tree)))
    if store_cache and not has_errors(result.findings):  # a failed run leaves even the cache as it was
        for digest, name, tree in pending:
            store.put(digest, name, tree)
        verdicts.save()
    return result


@dataclass
class _Input:
    """One file of models/: its bytes and cache key, and the cached files when the cache has them (or, when
    it cannot be read, raw is None and found says why)."""

    rel: str
    raw: bytes | None
    found: list[Finding]
    digest: str = ""
    hit: tuple[str, Tree] | None = None


def _entry(item: _Input, rendered: Iterator[parallel.Rendered], config: Config, findings: list[Finding],
           pending: list[tuple[str, str, Tree]]) -> tuple[Entry, Tree] | None:
    """One input's entry and files, from the cache or the next rendered result (None when an error stops
    it); its findings go to findings, and a fresh tree without findings to pending (for the cache)."""
    if item.raw is None:
        findings.extend(item.found)
        return None
    if item.hit is not None:
        return Entry(item.hit[0], item.rel, item.raw, config), item.hit[1]
    name, model, tree, found = next(rendered)
    findings.extend(found)
    if name is None:
        return None
    if not found:  # a cache hit brings back files, not findings: a tree with warnings renders every run
        pending.append((item.digest, name, tree))
    return Entry(name, item.rel, item.raw, config, model), tree


def _read_inputs(repo: Repo, store: cache.TreeCache, salt: str) -> list[_Input]:
    inputs = []
    for file in repo.model_files():
        rel = repo.rel(file)
        raw, found = repo.read_input(file)
        if raw is None:
            inputs.append(_Input(rel, None, found))
            continue
        digest = cache.key(salt, rel, raw)
        inputs.append(_Input(rel, raw, found, digest, store.get(digest)))
    return inputs


@dataclass
class Outcome:
    findings: list[Finding]
    plan: writer.Plan | None = None
    diff: str = ""
    models: int = 0
    environments: int = 0
    drift: list[Finding] = field(default_factory=list)  # with --check: one finding per differing file
    notes: list[str] = field(default_factory=list)  # warnings about the run itself (the cache)

    @property
    def exit_code(self) -> int:
        if has_errors(self.findings):
            return 1
        return 1 if self.diff else 0


def run(root: Path, check: bool = False, prune_all: bool = False,
        notify: Callable[[str], None] | None = None, rollback: bool = False) -> Outcome:
    """Generate the tree (or with check, compare it with the disk, writing nothing at all).

    The specs are read under the lock the writes take: a `set` finishing meanwhile waits, then
    regenerates from its edit, which is never reverted by a run that read the spec before it.
    A run that would delete every generated file because models/ is missing, empty or not a folder
    is refused unless prune_all says so. notify hears that the run waits on another's lock. With
    rollback, a failed write puts back the files already changed (set and promote)."""
    repo = Repo(root)
    if check:
        result = build(repo, store_cache=False, keep_models=False)
        outcome = _outcome(repo, result, check, prune_all, rollback)
    else:
        with writer.locked(root, notify=notify):
            result = build(repo, keep_models=False)
            writer.pause("generate-read")
            outcome = _outcome(repo, result, check, prune_all, rollback)
    outcome.notes = result.notes
    return outcome


def _outcome(repo: Repo, result: Generated, check: bool, prune_all: bool, rollback: bool) -> Outcome:
    root = repo.root
    if has_errors(result.findings):
        return Outcome(result.findings)
    warnings = result.findings  # no errors here, only warnings
    envs = len(result.config.environments) if result.config else 0
    count = len(result.entries)
    if check:
        disk = writer.scan(root)
        the_plan = writer.plan(result.tree, disk, root)
        return Outcome(warnings + the_plan.findings + writer.leftover_findings(the_plan), the_plan,
                       writer.unified_diff(result.tree, disk, the_plan), count, envs,
                       drift.findings(the_plan, disk))
    disk = writer.scan(root)
    the_plan = writer.plan(result.tree, disk, root)
    if the_plan.findings:
        return Outcome(warnings + the_plan.findings, the_plan)
    if not result.entries and the_plan.delete and not prune_all:
        raise _nothing_to_generate(repo, len(the_plan.delete))
    writer.apply(root, the_plan, rollback)
    return Outcome(warnings, the_plan, "", count, envs)


def _nothing_to_generate(repo: Repo, count: int) -> FatalError:
    return FatalError(f"{repo.why_no_specs()}: generate would delete the {count} generated files of every model; "
                      "nothing was written",
                      "restore the specs (or run from the right folder), or run 'mlgitops generate --prune-all' "
                      "to delete them")
