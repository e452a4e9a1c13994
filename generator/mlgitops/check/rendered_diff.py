"""`mlgitops diff`: what the clusters will get that they do not get now, as built manifests.

Only overlays whose inputs differ are built. An overlay's inputs are the files of its folder and of
its model's base folder (generated overlays reference nothing else), named by their Git blob ids:
the base revision's from `git ls-tree`, the working tree's by hashing the bytes read once. kustomize
is deterministic, so an overlay whose inputs are equal builds equal output and cannot appear in the
diff; tests compare this with building every overlay. Both sides of each changed overlay are written
from exactly the bytes that were compared into a scratch folder and built there with the same
batched kustomize as `check` (so a read-only checkout works too), and built output is cached by those
ids in the check result cache (.mlgitops-cache/results).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mlgitops import __version__
from mlgitops.check import build, gitrev
from mlgitops.check.pipeline import kustomize_version
from mlgitops.kube import kustomize
from mlgitops.render.units import Unit, base_model, is_kustomize_path
from mlgitops.report import textdiff
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
class Change(_InOverlay):
    """One overlay's part of the diff: a unified diff of its built objects, or why it does not build."""

    overlay: str
    text: str


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


def changed(old: dict[str, Signature], new: dict[str, Signature]) -> list[str]:
    """Overlays whose inputs differ, or that exist on one side only."""
    return sorted(o for o in old.keys() | new.keys() if old.get(o) != new.get(o))


def _objects_text(objects: list[dict]) -> list[str]:
    ordered = sorted(objects, key=lambda o: (str(o.get("kind")), str(o.get("metadata", {}).get("name"))))
    return "---\n".join(dumps(o) for o in ordered).splitlines(keepends=True)


def overlay_diff(overlay: str, before: build.Built | None, after: build.Built | None, label: str) -> str:
    if after and after.error:
        return f"# {overlay}: does not build: {after.error}\n"
    a = _objects_text(before.objects) if before else []
    b = _objects_text(after.objects) if after else []
    return "".join(textdiff.unified(a, b, f"a/{overlay} (built at {label})", f"b/{overlay} (built now)"))


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
    version = kustomize_version(tool, tools) if store.store.enabled else ""
    return cache.key("mlgitops diff: built overlay", __version__, cache.code_fingerprint(), tool.identity(), version)


def _cacheable(objects: list[dict]) -> bool:
    """Only what JSON gives back unchanged is cached: a cache never changes the output."""
    try:
        return json.loads(json.dumps(objects)) == objects
    except (TypeError, ValueError):
        return False


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
    _write(folder, read(sorted({path for o in todo for group in sigs[o] for path, _ in group})))
    for overlay, built in build.build_all(folder, sorted(todo), procs=procs).items():
        if built.error:  # name files as the repository does, not the scratch folder; never cached
            built = build.Built(overlay, built.objects, built.error.replace(f"{folder}/", ""))
        elif _cacheable(built.objects):
            store.put(todo[overlay], {"objects": built.objects})
        results[overlay] = built
    return results, len(todo)


def compare(root: Path, base: gitrev.Base, disk: Tree, store: cache.Cache) -> Result:
    """The diff of every overlay whose inputs differ between the base revision and disk (the working tree,
    as writer.scan read it)."""
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
    changes, moves = [], []
    for overlay in todo:
        text = overlay_diff(overlay, before.get(overlay), after.get(overlay), base.label)
        if text:
            changes.append(Change(overlay, text))
        moves += handovers(overlay, before.get(overlay), after.get(overlay))
    return Result(base, changes, moves, built_old + built_new,
                  {o: b.objects for o, b in before.items() if not b.error},
                  {o: b.objects for o, b in after.items() if not b.error})
