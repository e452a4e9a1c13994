"""`mlgitops --version`: mlgitops, and the kustomize and Kubernetes schemas it carries.

Kept light: `python -m mlgitops --version` imports this module, not the CLI (whose imports cost ~0.5 s),
nor importlib.metadata or jsonschema-rs; it asks kustomize its version once per program (tool_version).
"""

from __future__ import annotations

import os
import platform
import sys

from mlgitops import __version__
from mlgitops.kube import kustomize, schemas
from mlgitops.report.findings import FatalError


def _distribution(name: str) -> str:
    version = _dist_info_version(name)
    if version is None:  # not where pip puts it: ask importlib.metadata (whose imports cost ~0.05 s)
        from importlib import metadata

        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            return f"{name} not installed"
    return f"{name} {version}"


def _dist_info_version(name: str) -> str | None:
    """The Version in the METADATA of name's `<name>-<version>.dist-info` folder in the first sys.path
    entry holding one, as importlib.metadata finds it (None: no such folder)."""
    prefix = name.replace("-", "_").lower() + "-"
    for entry in sys.path:
        try:
            found = sorted(n for n in os.listdir(entry or ".") if n.lower().startswith(prefix) and n.endswith(".dist-info"))
        except OSError:
            continue
        for folder in found:
            try:
                with open(os.path.join(entry or ".", folder, "METADATA"), encoding="utf-8") as handle:
                    for line in handle:
                        if line.startswith("Version:"):
                            return line.removeprefix("Version:").strip()
            except OSError:
                continue
    return None


def tool_version(found: kustomize.Kustomize) -> str:
    """What the kustomize program says its version is (`kubectl version --client`: ~0.1 s of a Go program
    starting), remembered in this machine's signed cache (tree/cache.py: outside any repository, so no
    commit can plant an answer) under the command and the identity of every file it names (path, size,
    times, inode: kustomize.file_fingerprint). A program replaced or changed is asked again."""
    from pathlib import Path

    from mlgitops.tree import cache

    store = cache.Store(Path(found.program), "tool-versions")
    digest = cache.key("version", str(found.version_command()), found.identity())
    remembered = store.get(digest)
    if remembered is not None:
        return remembered.decode("utf-8", "replace")
    version = found.version()
    if not version.startswith("unknown"):
        store.put(digest, version.encode())
    return version


def text() -> str:
    try:
        found = kustomize.find()
        tool = f"{tool_version(found)} ({found.source}: {found.program})"
    except FatalError as exc:
        tool = f"not found ({exc})"
    versions = schemas.available_versions()
    shipped = f"{versions[0]} .. {versions[-1]}" if versions else "none"
    return "\n".join([
        f"mlgitops {__version__} (Python {platform.python_version()})",
        f"kustomize: {tool}",
        (f"Kubernetes schemas: {shipped}, default {schemas.DEFAULT_KUBERNETES_VERSION} "
         f"({_distribution('kubernetes-validate')}; CRDs in schemas/crds/ of mlgitops)"),
    ])
