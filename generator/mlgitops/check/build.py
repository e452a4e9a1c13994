"""Build overlays with the real kustomize: batched, in parallel, split back per overlay.

One `kubectl kustomize` process per overlay costs ~50 ms of start-up alone; an aggregate
kustomization of up to 40 overlays of one environment pays it once. Its output splits back per
overlay by the model each object names: every object mlgitops renders carries the instance label
and the model's name. (kustomize's origin annotations would name the source file instead, but they
cost 27% more kustomize time here: 18.9 against 13.7 ms per overlay.) An object that cannot be
attributed, or a batch that fails, is rebuilt one overlay at a time, so a failure names its overlay.
Flux and Argo CD build each overlay alone; tests prove the batched output equals that.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mlgitops.kube import kustomize, manifests

INSTANCE = "app.kubernetes.io/instance"
BATCH_SIZE = 40
WORK_DIR = ".mlgitops-cache/build"


@dataclass
class Built:
    overlay: str  # e.g. overlays/prod/house-prices
    objects: list[dict] = field(default_factory=list)
    error: str = ""  # kustomize's complaint when the overlay does not build


class Unreadable(Exception):
    """kustomize printed something that is not YAML."""


def parse_stream(text: str) -> list[dict]:
    """kustomize's output, read by Go's rules (as the clusters' tools read it); empty documents dropped."""
    docs = []
    for doc in manifests.parse_stream(text, "kustomize output"):
        if doc.error:
            raise Unreadable(f"line {doc.error_line}: {doc.error}")
        if not doc.empty:
            docs.append(doc.data)
    return docs


def _owner(obj: dict, by_name: dict[str, str]) -> str | None:
    """Which overlay of a one-environment batch an object came from: the model its instance label and
    its name both point at (every object mlgitops renders carries both). Anything else: None."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        return None
    labels = meta.get("labels") or {}
    model = labels.get(INSTANCE)
    training = labels.get("app.kubernetes.io/component") == "training"  # named by hash; only in training batches
    if model not in by_name or not training and meta.get("name") not in (model, f"{model}-storage"):
        return None
    return by_name[model]


def build_one(root: Path, overlay: str, argv: list[str]) -> Built:
    try:
        out = kustomize.run(kustomize.Command((*argv, str(root / overlay))))
    except kustomize.Failed as exc:
        return Built(overlay, error=exc.stderr.strip() or str(exc))
    try:
        return Built(overlay, parse_stream(out))
    except Unreadable as exc:
        return Built(overlay, error=f"kustomize printed unreadable YAML: {exc}")


def _aggregate(root: Path, overlays: list[str]) -> Path:
    digest = hashlib.sha256("\n".join(overlays).encode()).hexdigest()[:16]
    folder = root / WORK_DIR / digest
    folder.mkdir(parents=True, exist_ok=True)
    resources = "".join(f"- ../../../{o}\n" for o in overlays)
    (folder / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources:\n{resources}")
    return folder


def build_batch(root: Path, overlays: list[str], argv: list[str]) -> list[Built]:
    """All overlays of one batch (one environment), or each alone if the batch fails."""
    if len(overlays) == 1:
        return [build_one(root, overlays[0], argv)]
    folder = _aggregate(root, overlays)
    try:
        out = kustomize.run(kustomize.Command((*argv, str(folder))))
        docs = parse_stream(out)
    except (kustomize.Failed, Unreadable):
        return [build_one(root, o, argv) for o in overlays]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results = {o: Built(o) for o in overlays}
    by_name = {o.split("/")[2]: o for o in overlays}
    for obj in docs:
        owner = _owner(obj, by_name)
        if owner is None:  # an object we cannot attribute: trust only single builds
            return [build_one(root, o, argv) for o in overlays]
        results[owner].objects.append(obj)
    return [results[o] for o in overlays]


def batches(overlays: list[str], size: int = BATCH_SIZE) -> list[list[str]]:
    """Overlays grouped by environment (training folders apart: they name the same models as the serving
    overlays), then cut into batches of at most `size`."""
    by_env: dict[tuple[str, int], list[str]] = {}
    for overlay in sorted(overlays):
        by_env.setdefault((overlay.split("/")[1], overlay.count("/")), []).append(overlay)
    out = []
    for group in by_env.values():
        count = -(-len(group) // size)
        step = -(-len(group) // count)
        out += [group[i:i + step] for i in range(0, len(group), step)]
    return out


def build_iter(root: Path, overlays: list[str], jobs: int | None = None, progress=None) -> Iterator[Built]:
    """Build every overlay, yielding each batch's results as soon as it is done (in batch order), so
    the caller's checking overlaps the builds still running. One code path for one job or many."""
    argv = kustomize.build_argv()
    groups = batches(overlays)
    jobs = jobs or os.cpu_count() or 1

    def work(group: list[str]) -> list[Built]:
        return build_batch(root, group, argv)

    try:
        if jobs == 1 or len(groups) <= 1:
            outputs: Iterator[list[Built]] = map(work, groups)
            for built in outputs:
                if progress:
                    progress(len(built))
                yield from built
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                for built in pool.map(work, groups):
                    if progress:
                        progress(len(built))
                    yield from built
    finally:
        shutil.rmtree(root / WORK_DIR, ignore_errors=True)


def build_all(root: Path, overlays: list[str], jobs: int | None = None, progress=None) -> dict[str, Built]:
    """Build every overlay; results by overlay."""
    return {b.overlay: b for b in build_iter(root, overlays, jobs, progress)}
