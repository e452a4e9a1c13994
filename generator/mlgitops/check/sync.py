"""The sync objects under clusters/, checked offline: schemas, and that each points at what exists.

- every object validates strictly against its schema (Namespaces and quotas against Kubernetes'; Flux
  and Argo CD objects against the upstream CRDs vendored in schemas/crds/);
- names are unique per cluster and engine;
- each engine's own checks of its objects (render/engines/: Flux Kustomizations point at generated
  overlays, Argo CD ApplicationSets match exactly the model folders, names fit in a label value).
"""

from __future__ import annotations

import yaml

from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube.validator import Options, validate_objects
from mlgitops.render.engines import ENGINES
from mlgitops.render.engines.base import Locate, SyncView
from mlgitops.render.units import KUSTOMIZATION, ClusterPath, Unit, is_cluster_path
from mlgitops.report.findings import Finding, Position
from mlgitops.report.verdicts import to_findings


def _objects(tree: dict[str, bytes]) -> dict[str, dict]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser: clusters/ holds a file per model
    return {path: yaml.load(content, Loader=loader) for path, content in sorted(tree.items())
            if is_cluster_path(path) and path.endswith(".yaml")}


def check(tree: dict[str, bytes], overlay_folders: set[str], kubernetes_version: str,
          locate: Locate) -> list[Finding]:
    """tree: the generated files; overlay_folders: every folder under overlays/<env>/ on disk."""
    objects = _objects(tree)
    options = Options(kubernetes_version, strict=True)
    schemas = kubeschemas.schema_set(kubernetes_version, True)
    findings: list[Finding] = []
    for path, obj in objects.items():
        findings += to_findings(validate_objects([obj], options, source=path, schemas=schemas))
    generated_overlays = {found[0].folder for p in tree if (found := Unit.of_file(p)) and found[1] == KUSTOMIZATION}
    seen: dict[tuple[str, str, str, str], str] = {}
    for path, obj in objects.items():
        cluster = ClusterPath.at(path).folder  # <cluster>/<engine>: each engine's set is applied alone
        meta = obj.get("metadata", {})
        key = (cluster, obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))
        if key in seen:
            findings.append(Finding("sync-object", f"{key[1]} {key[3]} is generated twice in clusters/{cluster} "
                                    f"(also in {seen[key]})", path, Position(1, 1),
                                    "give the environments sharing this cluster different namespaces"))
        seen.setdefault(key, path)
    view = SyncView(objects, generated_overlays, overlay_folders, locate)
    for path, obj in objects.items():
        engine = ENGINES.get(ClusterPath.at(path).engine)
        findings += engine.check(path, obj, view) if engine else []
    return findings
