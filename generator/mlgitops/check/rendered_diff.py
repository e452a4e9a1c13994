"""`mlgitops diff`: what the clusters will get that they do not get now, as built manifests.

Only overlays whose inputs differ are built. An overlay's inputs are the files of its folder and of
its model's base folder (generated overlays reference nothing else), named by their Git blob ids:
the base revision's from `git ls-tree`, the working tree's by hashing the bytes read once. kustomize
is deterministic, so an overlay whose inputs are equal builds equal output and cannot appear in the
diff; tests compare this with building every overlay. Both sides of each changed overlay are written
from exactly the bytes that were compared into a scratch folder and built there with the same
batched kustomize as `check` (so a read-only checkout works too), and built output is cached by those
ids in the check result cache, unless its kustomizations name anything else (a hand edit reaching another
model's base, or out of the scratch folder: inputs.read_elsewhere).
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mlgitops import __version__
from mlgitops.check import build, change_plan, gitrev, sync_guard
from mlgitops.check.inputs import read_elsewhere
from mlgitops.kube import kustomize, manifests
from mlgitops.render.units import (
    CLUSTERS,
    TRAINING,
    ClusterPath,
    Unit,
    base_model,
    cluster_folder_of,
    is_cluster_path,
    is_kustomize_path,
)
from mlgitops.report.findings import Finding, Position, Severity
from mlgitops.spec.layers import locate
from mlgitops.tree import cache
from mlgitops.tree.generation import Generated
from mlgitops.tree.layout import Tree
from mlgitops.tree.yamlemit import dumps

Signature = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]  # (overlay files, base files)


class _InOverlay:
    """What belongs to one overlay, overlays/<env>/<model>[/training]: its environment and model."""

    overlay: str

    @property
    def unit(self) -> Unit:
        return Unit.at(self.overlay)

    @property
    def env(self) -> str:
        return self.unit.env

    @property
    def model(self) -> str:
        return self.unit.model


@dataclass(frozen=True)
class Change:
    """One part of the diff: a unit's built objects (overlays/<env>/<model>[/training], renamed to
    new_overlay when its model is renamed) or a cluster's sync objects (clusters/<cluster>/<engine>)."""

    overlay: str
    text: str
    new_overlay: str = ""

    @property
    def unit(self) -> Unit | None:
        return Unit.parse(self.new_overlay or self.overlay)

    @property
    def group(self) -> str:
        """What the markdown gathers in one block: the model (its new name), or `clusters/<cluster>`."""
        unit = self.unit
        if unit is not None:
            return unit.model
        where = ClusterPath.parse(self.overlay + "/")
        return f"{CLUSTERS}/{where.cluster}" if where else self.overlay

    @property
    def where(self) -> str:
        """`prod`, `dev training`, or the engine for a cluster's sync objects."""
        unit = self.unit
        if unit is not None:
            return f"{unit.env} {TRAINING}" if unit.training else unit.env
        where = ClusterPath.parse(self.overlay + "/")
        return where.engine if where else ""


@dataclass(frozen=True)
class Handover(_InOverlay):
    """A Deployment that had spec.replicas at the base and now leaves them to an HPA."""

    overlay: str
    namespace: str
    deployment: str
    replicas: object
    hpa: str


@dataclass
class Result:
    base: gitrev.Base
    changes: list[Change]
    handovers: list[Handover]
    built: int = 0  # overlay builds run (not answered by the cache)
    # the built objects of every overlay whose inputs differ, at the base and now (for checks on the transition)
    before: dict[str, list[dict]] = field(default_factory=dict)
    after: dict[str, list[dict]] = field(default_factory=dict)
    renames: dict[str, str] = field(default_factory=dict)  # model renamed in this change: old -> new
    base_failures: dict[str, str] = field(default_factory=dict)  # overlay -> why it does not build at the base
    failures: dict[str, str] = field(default_factory=dict)  # overlay -> why it does not build now
    # clusters/<cluster>/<engine> -> [(file, object)] where any file under it differs
    clusters_before: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)
    clusters_after: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)

    def text(self) -> str:
        """The plain output: the base on the first line, then the unified diff."""
        return f"# base: {self.base.describe()}\n" + "".join(c.text for c in self.changes)


def signatures(files: dict[str, str]) -> dict[str, Signature]:
    """Every overlay (a folder overlays/<env>/<model>/ holding kustomization.yaml) with its inputs, and
    every training folder (overlays/<env>/<model>/training/, a kustomization of its own)."""
    bases: dict[str, list[tuple[str, str]]] = {}
    folders: dict[Unit, list[tuple[str, str]]] = {}
    for path, blob in files.items():
        model = base_model(path)
        if model is not None:
            bases.setdefault(model, []).append((path, blob))
        elif (found := Unit.of_file(path)) is not None:
            folders.setdefault(found[0], []).append((path, blob))
    out: dict[str, Signature] = {}
    for unit, own in folders.items():
        if unit.kustomization not in dict(own):
            continue
        base = () if unit.training else tuple(sorted(bases.get(unit.model, ())))  # training reads no base
        out[unit.folder] = (tuple(sorted(own)), base)
    return out


def _in_signature(root: str, signature: Signature) -> Callable[[str], bool]:
    """Whether an overlay's signature holds a path of the scratch folder root (absolute, normalized): one of its
    files, or a folder holding one. Nothing else is there but other overlays' inputs; a path that is not there never
    will be (the folder is this run's own), but one outside root may be."""
    files = {os.path.join(root, path) for group in signature for path, _ in group}
    folders: set[str] = set()
    for path in files:
        folder = os.path.dirname(path)
        while folder.startswith(root + "/") and folder not in folders:
            folders.add(folder)
            folder = os.path.dirname(folder)

    def keyed(path: str) -> bool:
        if not path.startswith(root + "/"):
            return False
        return path in files or path in folders or not os.path.lexists(path)
    return keyed


def changed(old: dict[str, Signature], new: dict[str, Signature]) -> list[str]:
    """Overlays whose inputs differ, or that exist on one side only."""
    return sorted(o for o in old.keys() | new.keys() if old.get(o) != new.get(o))


def _stream(objects: list[dict]) -> tuple[list[str], dict[change_plan.Key, tuple[int, int]]]:
    """The built objects as one YAML stream (sorted by kind and name), and where each object's lines are."""
    ordered = sorted(objects, key=lambda o: (str(o.get("kind")), str(o.get("metadata", {}).get("name"))))
    lines: list[str] = []
    spans = {}
    for i, obj in enumerate(ordered):
        if i:
            lines.append("---\n")
        start = len(lines)
        lines += dumps(obj).splitlines(keepends=True)
        spans[change_plan.key(obj)] = (start, len(lines))
    return lines, spans


def _hunks(a: list[str], b: list[str], at: tuple[int, int], label: str) -> Iterator[str]:
    """The hunks of one object, numbered as lines of the whole streams and headed by the object, as
    `git diff` heads a hunk with its function: `@@ -12,7 +12,7 @@ Deployment ml-prod/x`."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)  # autojunk off: see report/textdiff.py
    for group in matcher.get_grouped_opcodes(3):
        first, last = group[0], group[-1]
        yield (f"@@ -{_range(at[0] + first[1], last[2] - first[1])} +{_range(at[1] + first[3], last[4] - first[3])}"
               f" @@ {label}\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            yield from ("-" + line for line in a[i1:i2])
            yield from ("+" + line for line in b[j1:j2])


def _range(start: int, length: int) -> str:
    beginning = start + 1 if length else start  # difflib's convention: empty ranges name the line before
    return f"{beginning}" if length == 1 else f"{beginning},{length}"


def _span(lines: list[str], spans: dict, k: change_plan.Key | None) -> tuple[list[str], int]:
    if k is None or k not in spans:
        return [], 0
    start, end = spans[k]
    return lines[start:end], start


def object_hunks(old: list[dict], new: list[dict], rename: tuple[str, str] | None = None) -> list[str]:
    """The unified diff of two object streams, one object at a time: every hunk names its object."""
    a, a_spans = _stream(old)
    b, b_spans = _stream(new)
    out: list[str] = []
    for was, _, now, _ in change_plan.pair(old, new, rename).pairs:
        x, x_at = _span(a, a_spans, was)
        y, y_at = _span(b, b_spans, now)
        label = change_plan.ident(now or was)  # type: ignore[arg-type]
        if was and now and was != now:
            label = f"{change_plan.ident(was)} → {change_plan.ident(now)}"
        out += _hunks(x, y, (x_at, y_at), label)
    return out


def overlay_diff(overlay: str, before: build.Built | None, after: build.Built | None, label: str,
                 new_overlay: str = "", rename: tuple[str, str] | None = None) -> str:
    """One overlay's diff: its header, then a hunk per change, each headed by its object. With a rename,
    the old overlay against the new one (new_overlay), objects paired across the new name."""
    if before and before.error:
        return f"# {overlay}: does not build at the base revision ({label}): {before.error}\n"
    if after and after.error:
        return f"# {new_overlay or overlay}: does not build: {after.error}\n"
    hunks = object_hunks(before.objects if before else [], after.objects if after else [], rename)
    if not hunks:
        return ""
    return f"--- a/{overlay} (built at {label})\n+++ b/{new_overlay or overlay} (built now)\n" + "".join(hunks)


def _of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if isinstance(o, dict) and o.get("kind") == kind and isinstance(o.get("spec"), dict)]


def _name(obj: dict) -> str:
    meta = obj.get("metadata")
    return str(meta.get("name", "")) if isinstance(meta, dict) else ""


def handovers(overlay: str, before: build.Built | None, after: build.Built | None) -> list[Handover]:
    """Deployments that lose spec.replicas while an HPA now scales them: applied as is, each drops to one pod."""
    if not before or not after or before.error or after.error:
        return []
    had = {_name(d): d["spec"]["replicas"] for d in _of_kind(before.objects, "Deployment") if "replicas" in d["spec"]}
    scaled: dict[str, str] = {}
    for hpa in _of_kind(after.objects, "HorizontalPodAutoscaler"):
        ref = hpa["spec"].get("scaleTargetRef")
        if isinstance(ref, dict) and ref.get("kind") == "Deployment":
            scaled.setdefault(str(ref.get("name")), _name(hpa))
    out = []
    for deployment in _of_kind(after.objects, "Deployment"):
        name = _name(deployment)
        if name in had and "replicas" not in deployment["spec"] and name in scaled:
            namespace = str((deployment.get("metadata") or {}).get("namespace", ""))
            out.append(Handover(overlay, namespace, name, had[name], scaled[name]))
    return out


HANDOVER_DOC = "docs/diff.md#turning-autoscaling-on"


def handover_finding(h: Handover, gen: Generated) -> Finding:
    """A warning at the spec line that turned autoscaling on, with the safe procedure."""
    file, position = f"models/{h.model}.yaml", Position()
    entry = next((e for e in gen.entries if e.name == h.model), None)
    if entry is not None and gen.config is not None and h.env in gen.config.env_names:
        file, position = locate(entry.model.layers(gen.config, h.env), entry.model.doc, "/spec/serving/autoscaling",
                                 key=True)
    namespace = f" -n {h.namespace}" if h.namespace else ""
    return Finding(
        "autoscaling-handover",
        f"{h.env}: Deployment {h.deployment} had spec.replicas: {h.replicas} and now leaves them to "
        f"HorizontalPodAutoscaler {h.hpa}; applied as is, it drops to 1 pod until the HPA scales it up again",
        file, position,
        f"before this reaches the cluster, hand the count to the HPA: with server-side apply (Flux; Argo CD with "
        f"ServerSideApply=true) apply a manifest holding only spec.replicas: {h.replicas} with kubectl apply "
        f"--server-side --field-manager=handover-to-hpa; with client-side apply (Argo CD's default) run kubectl "
        f"apply edit-last-applied deployment/{h.deployment}{namespace} and delete spec.replicas ({HANDOVER_DOC})",
        Severity.WARNING, f"Deployment/{h.deployment}")


def _salt(root: Path, store: cache.Cache) -> str:
    """What decides a built overlay besides its inputs: this code, and kustomize as check fingerprints it
    (the command, every file it names, a wrapper script's too, and its version): with
    MLGITOPS_KUSTOMIZE="sh k.sh" an edited k.sh is a new tool, not /bin/sh again."""
    tool = kustomize.find()
    tools = cache.Store(root, "tools", store.store.enabled)
    version = build.kustomize_version(tool, tools) if store.store.enabled else ""
    return cache.key("mlgitops diff: built overlay", __version__, cache.code_fingerprint(), tool.identity(), version)


def _keep(store: cache.Cache, digest: str, objects: list[dict]) -> None:
    """Only what JSON gives back unchanged is cached: a cache never changes the output."""
    try:
        if json.loads(json.dumps(objects)) == objects:
            store.put(digest, {"objects": objects})
    except (TypeError, ValueError):
        pass


def _write(folder: Path, contents: dict[str, bytes]) -> None:
    for path, content in contents.items():
        if any(part in ("", ".", "..") for part in path.split("/")):
            continue  # never outside the scratch folder
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def build_side(folder: Path, sigs: dict[str, Signature], overlays: list[str],
               read: Callable[[list[str]], dict[str, bytes]], store: cache.Cache, salt: str,
               procs: build.Processes | None = None) -> tuple[dict, int]:
    """Build these overlays from the bytes `read` gives for their inputs, in `folder`; cached by their ids.
    Returns the results by overlay and how many were built."""
    results: dict[str, build.Built] = {}
    todo: dict[str, str] = {}
    for overlay in overlays:
        digest = cache.key(salt, overlay, json.dumps(sigs[overlay]))
        hit = store.get(digest)
        if isinstance(hit, dict) and isinstance(hit.get("objects"), list):
            results[overlay] = build.Built(overlay, hit["objects"])
        else:
            todo[overlay] = digest
    if not todo:
        return results, 0
    contents = read(sorted({path for o in todo for group in sigs[o] for path, _ in group}))
    _write(folder, contents)
    real = os.path.realpath(folder)
    elsewhere = {o for o in todo if read_elsewhere(real, Unit.at(o), _in_signature(real, sigs[o]))}  # never kept
    namespaces = build.namespaces_of(sorted(todo), contents)  # a spec's environments in one kustomize process
    for overlay, built in build.build_all(folder, sorted(todo), procs=procs, namespaces=namespaces).items():
        if built.error:  # name files as the repository does, not the scratch folder; never cached
            built = build.Built(overlay, built.objects, built.error.replace(f"{folder}/", ""))
        elif overlay not in elsewhere:
            _keep(store, todo[overlay], built.objects)
        results[overlay] = built
    return results, len(todo)


def compare(root: Path, base: gitrev.Base, disk: Tree, store: cache.Cache) -> Result:
    """The diff of every overlay whose inputs differ between the base revision and disk (the working tree,
    as writer.scan read it), and of every clusters/<cluster>/<engine> folder where a file differs."""
    old_files = gitrev.listing(root, base)
    new_files = {p: gitrev.blob_id(c, base.commit) for p, c in disk.items() if is_kustomize_path(p)}
    old_sigs, new_sigs = signatures(old_files), signatures(new_files)
    todo = changed(old_sigs, new_sigs)

    def read_old(paths: list[str]) -> dict[str, bytes]:
        blobs = gitrev.read_blobs(root, {old_files[p] for p in paths})
        return {p: blobs[old_files[p]] for p in paths}

    def read_new(paths: list[str]) -> dict[str, bytes]:
        return {p: disk[p] for p in paths}

    salt = _salt(root, store) if todo else ""
    procs = build.Processes()  # one set for both sides: Ctrl-C in this thread cancels the other side's builds
    with tempfile.TemporaryDirectory(prefix="mlgitops-diff-") as scratch, ThreadPoolExecutor(1) as pool:
        # both sides at once: a small diff is a few kustomize processes, mostly start-up
        old_side = pool.submit(build_side, Path(scratch, "old"), old_sigs, [o for o in todo if o in old_sigs],
                               read_old, store, salt, procs)
        try:
            after, built_new = build_side(Path(scratch, "new"), new_sigs, [o for o in todo if o in new_sigs],
                                          read_new, store, salt, procs)
            before, built_old = old_side.result()
        except BaseException:  # before the pool's exit waits for the old side: stop its builds first
            procs.cancel()
            raise
    result = _units_result(base, todo, before, after)
    result.built = built_old + built_new
    _compare_clusters(root, base, disk, result)
    return result


def _units_result(base: gitrev.Base, todo: list[str], before: dict[str, build.Built],
                  after: dict[str, build.Built]) -> Result:
    """The units' part of the diff: their changes (renames paired), handovers, and what did not build at the base."""
    result = Result(base, [], [], 0, {o: b.objects for o, b in before.items() if not b.error},
                    {o: b.objects for o, b in after.items() if not b.error})
    result.base_failures = {o: b.error for o, b in before.items() if b.error}
    result.failures = {o: b.error for o, b in after.items() if b.error}
    result.renames = change_plan.renames(result.before, result.after)
    result.changes = _overlay_changes(todo, before, after, base.label, result.renames)
    for overlay in todo:
        result.handovers += handovers(overlay, before.get(overlay), after.get(overlay))
    return result


def _overlay_changes(todo: list[str], before: dict[str, build.Built], after: dict[str, build.Built], label: str,
                     renamed: dict[str, str]) -> list[Change]:
    """A Change per overlay whose built objects differ; a renamed model's units against their new folders."""
    moved = {o: n for o in todo if (n := change_plan.renamed_overlay(o, renamed)) and n in after}
    targets = set(moved.values())
    out = []
    for overlay in todo:
        if overlay in targets:
            continue  # shown with the unit it was renamed from
        new = moved.get(overlay, "")
        rename = (Unit.at(overlay).model, Unit.at(new).model) if new else None
        text = overlay_diff(overlay, before.get(overlay), after.get(new or overlay), label, new, rename)
        if text:
            out.append(Change(overlay, text, new))
    return out


# --- clusters/: the sync objects, Namespaces, quotas, and whatever else a person put under a synced path ---

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def cluster_objects(files: dict[str, bytes]) -> list[tuple[str, dict]]:
    """(file, object) for every document of every manifest file; a document that is not a readable object
    shows as `File <path>` holding its text, so a broken file is a visible change too."""
    out: list[tuple[str, dict]] = []
    for path in sorted(files):
        if not path.endswith(MANIFEST_SUFFIXES):
            continue
        for doc in manifests.parse_stream(files[path].decode("utf-8", "replace"), path):
            if isinstance(doc.data, dict) and not doc.error:
                out.append((path, doc.data))
            elif not doc.empty:
                name = path if doc.index == 0 else f"{path}#{doc.index}"
                out.append((path, {"kind": "File", "metadata": {"name": name}, "text": doc.text or ""}))
    return out


def _differing_folders(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return sorted({cluster_folder_of(p) for p in old.keys() | new.keys() if old.get(p) != new.get(p)})


def _in_folder(files: dict[str, bytes], folder: str) -> dict[str, bytes]:
    return {p: c for p, c in files.items() if cluster_folder_of(p) == folder}


def _compare_clusters(root: Path, base: gitrev.Base, disk: Tree, result: Result) -> None:
    """Every clusters/<cluster>/<engine> folder where a file differs, all its objects on both sides."""
    old_ids = gitrev.listing(root, base, (CLUSTERS,))
    new = {p: c for p, c in disk.items() if is_cluster_path(p)}
    folders = _differing_folders(old_ids, {p: gitrev.blob_id(c, base.commit) for p, c in new.items()})
    if not folders:
        return
    wanted = {p: i for p, i in old_ids.items() if cluster_folder_of(p) in folders}
    blobs = gitrev.read_blobs(root, set(wanted.values()))
    old = {p: blobs[i] for p, i in wanted.items()}
    for folder in folders:
        mine, now = cluster_objects(_in_folder(old, folder)), cluster_objects(_in_folder(new, folder))
        result.clusters_before[folder], result.clusters_after[folder] = mine, now
        hunks = object_hunks([o for _, o in mine], [o for _, o in now])
        if hunks:
            result.changes.append(Change(folder, f"--- a/{folder} (at {base.label})\n+++ b/{folder} (now)\n"
                                         + "".join(hunks)))


# --- the change plan ---

def _cluster_rows(folder: str, before: list[tuple[str, dict]], after: list[tuple[str, dict]],
                  places: change_plan.Places) -> list[change_plan.Row]:
    """A cluster folder's rows: a unit's own sync object in its environment and model's row, the rest
    (sources, Namespaces, quotas, hand-written files) in the cluster's."""
    groups: dict[change_plan.Place, tuple[list[dict], list[dict]]] = {}
    for side, objects in ((0, before), (1, after)):
        for path, obj in objects:
            groups.setdefault(places.of_cluster_file(path), ([], []))[side].append(obj)
    out = []
    for place, (old, new) in groups.items():
        out += change_plan.rows(place, old, new)
    return out


def plan(result: Result, places: change_plan.Places) -> list[change_plan.Row]:
    """The change plan's rows: units (renames paired), then what clusters/ changes; prod first, then by place."""
    out = []
    for change in result.changes:
        unit = Unit.parse(change.overlay)
        new = change.new_overlay or change.overlay
        if unit is None or change.overlay in result.base_failures or new in result.failures:
            continue  # not "every object deleted": its objects are unknown
        rename = (unit.model, Unit.at(new).model) if change.new_overlay else None
        place = places.of_unit(Unit.at(new))
        out += change_plan.rows(place, result.before.get(change.overlay, []), result.after.get(new, []), rename)
    for folder in sorted(result.clusters_after.keys() | result.clusters_before.keys()):
        out += _cluster_rows(folder, result.clusters_before.get(folder, []), result.clusters_after.get(folder, []),
                             places)
    return sorted(out, key=lambda r: (not r.place.prod, r.place.cluster, r.place.env, r.place.model, r.obj))


def build_failure_findings(result: Result) -> list[Finding]:
    """An overlay that does not build at the base revision, or now: the diff cannot say what it changes (never "all
    new", never "all deleted"), so that is an error naming the overlay (and the revision)."""
    return [Finding("diff-base-build", f"{overlay} does not build at the base revision {result.base.describe()}, "
                    f"so the diff cannot say what it changes: {error}", overlay, Position(),
                    "fix the overlay on the base branch, or compare with another revision (--base REV)")
            for overlay, error in sorted(result.base_failures.items())] + [
        Finding("diff-build", f"{overlay} does not build, so the diff cannot say what the cluster gets: {error}",
                overlay, Position(), "mlgitops check names what to fix; a sync of it would fail")
        for overlay, error in sorted(result.failures.items())]


def claims_in_change(result: Result, places: change_plan.Places) -> tuple[list[change_plan.Claim],
                                                                           list[change_plan.Claim]]:
    """The claims this change creates that name a volume, and the claims that leave Git but stay on the
    cluster (protected from prune) still holding theirs."""
    new: list[change_plan.Claim] = []
    kept: list[change_plan.Claim] = []
    for change in result.changes:
        unit = Unit.parse(change.overlay)
        if unit is None:
            continue
        target = change.new_overlay or change.overlay
        old, now = result.before.get(change.overlay, []), result.after.get(target, [])
        old_keys, now_keys = {change_plan.key(o) for o in old}, {change_plan.key(o) for o in now}
        created = [o for o in now if change_plan.key(o) not in old_keys]
        new += change_plan.claims(places.of_unit(Unit.at(target)), created)
        left = [o for o in old if change_plan.key(o) not in now_keys and sync_guard.protected(o)]
        kept += change_plan.claims(places.of_unit(unit), left, "kept on the cluster: protected from prune")
    return new, kept
