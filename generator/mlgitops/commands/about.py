"""`mlgitops --version`: mlgitops, and the kustomize and Kubernetes schemas it carries.

Kept light: `python -m mlgitops --version` imports this module, not the CLI (whose imports cost ~0.5 s),
nor importlib.metadata or jsonschema-rs, and asks kustomize its version once (~0.1 s of wall time: a Go
program starting; caching the answer in the signed cache costs more imports than it saves).
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


def text() -> str:
    try:
        found = kustomize.find()
        tool = f"{found.version()} ({found.source}: {found.program})"
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
