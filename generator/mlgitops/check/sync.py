"""The sync objects under clusters/, checked offline: schemas, and that each points at what exists.

- every object validates strictly against its schema (Namespaces and quotas against Kubernetes'; Flux
  and Argo CD objects against the upstream CRDs vendored in schemas/crds/);
- names are unique per cluster and engine;
- each engine's own checks of its objects (render/engines/: Flux Kustomizations point at generated
  overlays, Argo CD ApplicationSets match exactly the model folders, names fit in a label value);
- with both engines generated, no Flux Kustomization or Argo CD Application under clusters/ (a bootstrap's own,
  `flux bootstrap --path=clusters/<c>`) applies a folder that holds both engines' folders of a cluster: each
  engine would then apply the other's objects and both would fight over the same Namespaces and models.
"""

from __future__ import annotations

import posixpath

import yaml

from mlgitops.kube import manifests
from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube.validator import Options, validate_objects
from mlgitops.render.engines import ENGINES
from mlgitops.render.engines.base import Locate, SyncView
from mlgitops.render.units import (
    KUSTOMIZATION,
    ClusterPath,
    Unit,
    cluster_folder,
    cluster_root,
    is_cluster_path,
)
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


def _mapping(obj: dict, key: str) -> dict:
    """obj[key] when it is a mapping, else {} (an untrusted file may hold anything there)."""
    found = obj.get(key)
    return found if isinstance(found, dict) else {}


def _applied_folder(obj: dict) -> str | None:
    """The folder a Flux Kustomization applies (kustomize-controller builds every YAML below a folder without a
    kustomization.yaml, recursively), or an Argo CD Application with `directory.recurse` (without it Argo CD reads
    only the folder's own files)."""
    spec = _mapping(obj, "spec")
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    if group == "kustomize.toolkit.fluxcd.io" and obj.get("kind") == "Kustomization":
        path = spec.get("path")
    elif group == "argoproj.io" and obj.get("kind") == "Application":
        source = _mapping(spec, "source")
        path = source.get("path") if _mapping(source, "directory").get("recurse") else None
    else:
        return None
    return posixpath.normpath(path.removeprefix("./")) if isinstance(path, str) and path else None


def engines_together(disk: dict[str, bytes], tree: dict[str, bytes]) -> list[Finding]:
    """A sync object on disk under clusters/ (not generated: a bootstrap's) whose folder holds both engines'
    folders of a cluster."""
    both = _clusters_with_both(tree)
    out: list[Finding] = []
    for path, content in sorted(disk.items()):
        if not both or path in tree or not is_cluster_path(path) or not path.endswith((".yaml", ".yml")):
            continue
        for doc in manifests.parse_stream(content.decode("utf-8", "replace"), path):
            folder = _applied_folder(doc.data) if isinstance(doc.data, dict) else None
            out += [_together(path, doc.data, folder, cluster, engines) for cluster, engines in both.items()
                    if folder is not None and _holds(folder, cluster_root(cluster))]
    return out


def _clusters_with_both(tree: dict[str, bytes]) -> dict[str, list[str]]:
    """The clusters the generated tree has folders of more than one engine for, with those engines, sorted."""
    engines: dict[str, set[str]] = {}
    for path in tree:
        where = ClusterPath.parse(path)
        if where:
            engines.setdefault(where.cluster, set()).add(where.engine)
    return {cluster: sorted(found) for cluster, found in sorted(engines.items()) if len(found) > 1}


def _holds(folder: str, cluster_folder: str) -> bool:
    """Whether applying folder (a repository-relative path, "." the root) applies cluster_folder too."""
    return folder == "." or f"{cluster_folder}/".startswith(f"{folder}/")


def _together(path: str, obj: dict, folder: str, cluster: str, engines: list[str]) -> Finding:
    name = (obj.get("metadata") or {}).get("name", "?") if isinstance(obj.get("metadata"), dict) else "?"
    folders = [cluster_folder(cluster, engine) for engine in engines]
    return Finding("sync-object", f"{obj.get('kind')} {name} applies {folder}, which holds both "
                   f"{' and '.join(folders)}: both engines ({', '.join(engines)}) would manage the "
                   "same Namespaces and models and undo each other's changes", path, Position(1, 1),
                   f"point it at {' or '.join(folders)}: one engine per cluster")
