"""`mlgitops generate`: specs -> tree -> disk, all or nothing."""

from __future__ import annotations

import contextlib
import itertools
import marshal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops import __version__
from mlgitops.kube import names
from mlgitops.report import secrets
from mlgitops.report.findings import FatalError, Finding, Position, Severity, has_errors
from mlgitops.spec import config as configs
from mlgitops.spec.config import Config
from mlgitops.spec.repo import CONFIG_FILE, FOLDER, HIDDEN, NESTED, OTHER, Repo, escaped
from mlgitops.tree import cache, drift, stat_index, writer
from mlgitops.tree.header import Tree

if TYPE_CHECKING:
    from mlgitops.spec.model import Model
    from mlgitops.tree import parallel

# spec.model, spec.training and tree.layout (the render stage) are imported where a spec is parsed or a tree is
# made: an unchanged run, every spec and the clusters' files from the cache, imports none of them (~0.05 s).


@dataclass
class Entry:
    """One valid model spec; its Model is parsed only when asked for (a cache hit needs none)."""

    name: str
    path: str
    raw: bytes
    config: Config
    _model: Model | None = None
    files: tuple[str, ...] = ()  # the paths of its generated files

    @property
    def model(self) -> Model:
        if self._model is None:
            from mlgitops.spec.model import parse_model

            model, findings = parse_model(self.path, self.raw, self.config)
            assert model is not None and not findings, "a cached spec no longer validates"
            self._model = model
        return self._model


@dataclass
class Generated:
    config: Config | None = None
    entries: list[Entry] = field(default_factory=list)
    tree: Tree = field(default_factory=dict)
    origins: dict[str, bytes] = field(default_factory=dict)  # a model's file -> its spec's cache key (raw)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings about the run itself (the cache), not findings
    cached: bool = False  # whether the cache is in use (the stat index lives there too)

    @property
    def models(self) -> list[Model]:
        return [e.model for e in self.entries]


def _salt(config: Config) -> str:
    """What, besides a spec's own bytes, decides its generated files: the tool's code and schemas, the config."""
    return cache.key(__version__, cache.code_fingerprint(), config.raw)


_SPECS_ARE = "specs are models/<name>.yaml, one per model"
_STRAYS = {  # why a path of models/ is not read as a spec (Repo.stray_files): the message and the hint
    OTHER: ("this file in models/ is not read as a spec", _SPECS_ARE),
    FOLDER: ("this folder in models/ is not read as a spec", _SPECS_ARE),
    HIDDEN: ("this file in models/ is not read as a spec: its name starts with a dot (a hidden file)",
             "rename it to models/{name} to make it a spec, or move it out of models/"),
    NESTED: ("this file is not read as a spec: a sub-folder of models/ is never read",
             "move it to models/{name} to make it a spec (specs are models/<name>.yaml, one per model)"),
}


def _strays(repo: Repo) -> list[Finding]:
    """Files in models/ that are not read as specs: warnings, and errors for names that are not UTF-8."""
    found = []
    for stray, why in repo.stray_files():
        message, hint = _STRAYS[why]
        found.append(Finding("not-a-spec", message, repo.rel(stray), Position(),
                             hint.format(name=stray.name.lstrip(".")), Severity.WARNING))
    for odd in repo.misnamed_files():
        found.append(Finding("file-unreadable", "this file's name is not valid UTF-8", escaped(repo.rel(odd)),
                             Position(), f"rename it: specs are models/<name>.yaml, <name> {names.MODEL_NAME.short}"))
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
    verdicts = _CleanValues(repo.root, use_cache)
    result = _build(repo, use_cache, store_cache, keep_models)
    if store_cache and not has_errors(result.findings):  # a failed run leaves even the cache as it was
        verdicts.save()
    return result


def _build(repo: Repo, use_cache: bool, store_cache: bool, keep_models: bool) -> Generated:
    config, findings, keep_config = _load_config(repo, use_cache)
    if config is None:
        return Generated(findings=findings)
    result = Generated(config, findings=findings)
    store = cache.TreeCache(repo.root, use_cache)
    result.notes = store.warnings  # the same list: a warning from a later put shows too
    result.cached = store.store.enabled
    if cache.legacy(repo.root):
        result.findings.append(Finding(
            "cache-in-repository", "a cache folder in the repository is never read (a commit could forge it)",
            cache.LEGACY_DIR, Position(), f"delete it (git rm -r --cached {cache.LEGACY_DIR} if committed): "
            f"the cache lives in {cache.home()}", Severity.WARNING))
    result.findings.extend(_strays(repo))
    salt = _salt(config)
    inputs = _read_inputs(repo, store, salt)
    misses = [(i.rel, i.raw) for i in inputs if i.raw is not None and i.hit is None]
    rendered = iter(_render(misses, config, pool=not keep_models))
    pending: list[tuple[str, str, Tree]] = []
    seen: dict[str, Entry] = {}
    kept: list[str] = []  # the cache keys of the specs kept, in order
    for item in inputs:
        got = _entry(item, rendered, config, result.findings, pending)
        if got is None:
            continue
        entry, tree = got
        if entry.name in seen:
            from mlgitops.spec.model import collision

            result.findings.append(collision(entry.model, seen[entry.name].path))
            continue
        seen[entry.name] = entry
        entry.files = tuple(tree)
        result.entries.append(entry)
        result.tree.update(tree)
        result.origins.update(dict.fromkeys(tree, bytes.fromhex(item.digest)))
        kept.append(item.digest)
    result.findings.extend(_object_collisions(result))
    clusters = cache.TreeCache(repo.root, use_cache, "clusters")
    synced_key = cache.key(CLUSTERS, salt, *kept)
    synced = _add_synced(result, config, clusters, synced_key)
    if synced is not None:
        pending.append((synced_key, CLUSTERS, synced))
    if store_cache and not has_errors(result.findings):  # a failed run leaves even the cache as it was
        _keep(store, clusters, pending, keep_config)
    return result


def _keep(store: cache.TreeCache, clusters: cache.TreeCache, pending: list[tuple[str, str, Tree]],
          keep_config: Callable[[], None] | None) -> None:
    """Store what a run without errors made: the specs' files (the clusters' in their own store) and the config."""
    for digest, name, tree in pending:
        (clusters if name == CLUSTERS else store).put(digest, name, tree)
    if keep_config is not None:
        keep_config()


CLUSTERS = "clusters/"  # the name the clusters' files are kept under in the cache's clusters/


def _load_config(repo: Repo, use_cache: bool) -> tuple[Config | None, list[Finding], Callable[[], None] | None]:
    """mlgitops.yaml as load_config reads it, and its findings of training; a config without any is kept in the
    cache's config/ (configs.memo) under its bytes and mlgitops's code, so an unchanged run reads it back
    without importing the YAML parser, the schema check or the training rules (~0.05 s). The third value
    keeps it, called only by a run that stores its cache (and has no error)."""
    raw, findings = repo.read_input(repo.root / CONFIG_FILE)
    if raw is None:
        return None, findings, None
    store = cache.Store(repo.root, "config", use_cache)
    name = cache.key("config", __version__, cache.code_fingerprint(), CONFIG_FILE, raw) if store.enabled else ""
    found = cache.load_marshalled(store, name, configs.is_memo) if name else None
    if found is not None:
        return configs.from_memo(CONFIG_FILE, raw, found), [], None
    config, findings = configs.parse_config(CONFIG_FILE, raw)
    if config is None:
        return None, findings, None
    from mlgitops.spec.training import config_findings

    findings = [*findings, *config_findings(config.path, config.data, config.doc.position)]
    if not name or findings:
        return config, findings, None

    def keep() -> None:
        with contextlib.suppress(ValueError):  # a value marshal cannot keep: read again next time
            store.put(name, marshal.dumps(configs.memo(config)))
    return config, findings, keep


def keep_clean_values(root: Path, use_cache: bool = True) -> None:
    """Keep, with the values build() found clean, those a caller checked since (diff masks the lines it shows:
    the next diff of the same change then imports no detect-secrets either). Call it only where build() kept its
    cache (a run without errors)."""
    _CleanValues(root, use_cache).save()


def _render(misses: list[tuple[str, bytes]], config: Config, pool: bool) -> list[parallel.Rendered]:
    """parallel.render_all, imported only when a spec needs rendering (multiprocessing costs ~0.01 s to import)."""
    if not misses:
        return []
    from mlgitops.tree import parallel

    return parallel.render_all(misses, config, pool=pool)


def _digests(found: object) -> bool:
    return isinstance(found, tuple) and all(type(d) is bytes for d in found)


class _CleanValues:
    """The values the secret detector found to hold no credential (their SHA-256, never the value), kept
    signed in the cache's secrets/ under mlgitops's code and detect-secrets' version: a run that meets
    only known values (mlgitops.yaml's git.url on every run) never imports detect-secrets."""

    LIMIT = 100_000  # digests kept at most; past it the store starts again from this run's

    def __init__(self, root: Path, enabled: bool):
        self.store = cache.Store(root, "secrets", enabled)
        version = secrets.detector_version() if enabled else None
        self.name = cache.key("clean values", cache.code_fingerprint(), version) if version is not None else ""
        found = cache.load_marshalled(self.store, self.name, _digests) if self.name else None
        self.known: set[bytes] = set(found or ())
        secrets.remember_clean(self.known)

    def save(self) -> None:
        found = secrets.found_clean()
        if not self.name or found <= self.known:
            return
        every = found if len(self.known) + len(found) > self.LIMIT else self.known | found
        self.store.put(self.name, marshal.dumps(tuple(sorted(every))))


def _object_collisions(result: Generated) -> list[Finding]:
    """tree/collisions.py's findings; only a run with two names that can clash imports it (it reads the tree)."""
    names = sorted(entry.name for entry in result.entries)
    if not any(b.startswith(f"{a}-") for a, b in itertools.pairwise(names)):
        return []
    from mlgitops.tree import collisions

    return collisions.findings(result.entries, result.tree)


def _add_synced(result: Generated, config: Config, store: cache.TreeCache, key: str) -> Tree | None:
    """The clusters' files, made from the models' (a file of both would not be one spec's). They depend on
    the config and the models' trees alone: cached (the cache's clusters/) under the key of every spec kept.
    Returns them when they were made here (for the cache), None when the cache had them."""
    hit = store.get(key)
    if hit is not None and hit[0] == CLUSTERS:
        synced, fresh = hit[1], None
    else:
        from mlgitops.tree.layout import serving_pairs, sync_tree, training_pairs

        synced = fresh = sync_tree(config, training_pairs(result.tree), serving_pairs(result.tree))
    result.tree.update(synced)
    for path in synced.keys() & result.origins.keys():  # none today: a file is a model's or the clusters'
        del result.origins[path]
    return fresh


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
    disk: Tree | None = None  # with --check: the generated roots as scanned (None when no scan was made)

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
    index = stat_index.StatIndex(root, result.tree, result.origins, result.cached)
    if check:
        disk = index.scan()
        the_plan = writer.plan(result.tree, disk, root)
        return Outcome(warnings + the_plan.findings + writer.leftover_findings(the_plan), the_plan,
                       writer.unified_diff(result.tree, disk, the_plan), count, envs,
                       drift.findings(the_plan, disk, result.tree), disk=disk)
    disk = index.scan(writer.clock(root))  # the clock before the scan: what changes from then on is racy
    the_plan = writer.plan(result.tree, disk, root)
    if the_plan.findings:
        return Outcome(warnings + the_plan.findings, the_plan)
    if not result.entries and the_plan.delete and not prune_all:
        raise _nothing_to_generate(repo, len(the_plan.delete))
    writer.apply(root, the_plan, rollback)
    index.save(disk, the_plan)
    result.notes.extend(w for w in index.store.warnings if w not in result.notes)
    return Outcome(warnings, the_plan, "", count, envs)


def _nothing_to_generate(repo: Repo, count: int) -> FatalError:
    return FatalError(f"{repo.why_no_specs()}: generate would delete the {count} generated files of every model; "
                      "nothing was written",
                      "restore the specs (or run from the right folder), or run 'mlgitops generate --prune-all' "
                      "to delete them")
