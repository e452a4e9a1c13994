"""`mlgitops --version`: mlgitops, and the kustomize and Kubernetes schemas it carries.

Kept light: `python -m mlgitops --version` imports this module, not the CLI (whose imports cost ~0.5 s),
and asks kustomize its version once (~50 ms).
"""

from __future__ import annotations

import platform
from importlib import metadata

from mlgitops import __version__
from mlgitops.kube import kustomize, schemas
from mlgitops.report.findings import FatalError


def _distribution(name: str) -> str:
    try:
        return f"{name} {metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return f"{name} not installed"


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
