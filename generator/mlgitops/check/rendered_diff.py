"""`mlgitops diff`: what the clusters will get that they do not get now, as built manifests.

The generated tree at a base Git revision (default: the merge base with origin/main, else HEAD) is
unpacked with `git archive` into a scratch folder; only overlays whose inputs differ are built, with
the same batched kustomize as `check`, and each overlay's output is diffed object by object.
"""

from __future__ import annotations

import difflib
import io
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from mlgitops.check import build
from mlgitops.report.findings import FatalError
from mlgitops.tree import writer
from mlgitops.tree.yamlemit import dumps


def _git(root: Path, *args: str) -> bytes:
    proc = subprocess.run(["git", *args], check=False, cwd=root, capture_output=True)
    if proc.returncode != 0:
        raise FatalError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}",
                         "run inside a Git checkout, and fetch the base revision")
    return proc.stdout


def default_base(root: Path) -> str:
    for ref in ("origin/main", "origin/master"):
        probe = subprocess.run(["git", "merge-base", "HEAD", ref], check=False, cwd=root, capture_output=True,
                               text=True)
        if probe.returncode == 0:
            return probe.stdout.strip()
    return "HEAD"


def unpack(root: Path, rev: str, into: Path) -> None:
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    tops = [t for t in ("base", "overlays") if _git(root, "ls-tree", "--name-only", rev, t).strip()]
    if not tops:
        return
    data = _git(root, "archive", "--format=tar", rev, *tops)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")


def _overlays(tree: dict[str, bytes]) -> set[str]:
    return {p.rsplit("/", 1)[0] for p in tree if p.startswith("overlays/") and p.endswith("/kustomization.yaml")}


def _inputs(tree: dict[str, bytes], overlay: str) -> list:
    name = overlay.split("/")[2]
    return sorted((p, c) for p, c in tree.items() if p.startswith((overlay + "/", f"base/{name}/")))


def _text(objects: list[dict]) -> list[str]:
    ordered = sorted(objects, key=lambda o: (str(o.get("kind")), str(o.get("metadata", {}).get("name"))))
    return "---\n".join(dumps(o) for o in ordered).splitlines(keepends=True)


def diff(root: Path, rev: str) -> str:
    scratch = Path(tempfile.mkdtemp(prefix="mlgitops-diff-")) / "base"  # outside: a read-only checkout works
    try:
        unpack(root, rev, scratch)
        old_tree = writer.scan(scratch, ("base", "overlays"))
        new_tree = writer.scan(root, ("base", "overlays"))
        changed = sorted(o for o in _overlays(old_tree) | _overlays(new_tree)
                         if _inputs(old_tree, o) != _inputs(new_tree, o))
        old = build.build_all(scratch, [o for o in changed if o in _overlays(old_tree)]) if changed else {}
        new = build.build_all(root, [o for o in changed if o in _overlays(new_tree)]) if changed else {}
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)
    chunks = []
    for overlay in changed:
        before = old.get(overlay)
        after = new.get(overlay)
        a = _text(before.objects) if before else []
        b = _text(after.objects) if after else []
        if after and after.error:
            chunks.append(f"# {overlay}: does not build: {after.error}\n")
            continue
        chunks.extend(difflib.unified_diff(a, b, f"a/{overlay} (built at {rev[:12]})", f"b/{overlay} (built now)"))
    return "".join(chunks)


def markdown(text: str) -> str:
    """For $GITHUB_STEP_SUMMARY: the diff in a collapsible block."""
    if not text:
        return "**mlgitops**: the clusters get no change.\n"
    return (f"<details><summary><b>mlgitops</b>: rendered changes the clusters will get</summary>\n\n"
            f"```diff\n{text}```\n</details>\n")
