"""The sync objects under clusters/, checked offline: schemas, and that each points at what exists.

- every object validates strictly against its schema (Namespaces and quotas against Kubernetes'; Flux
  and Argo CD objects against the upstream CRDs vendored in schemas/crds/);
- each Flux Kustomization's `path` is a generated overlay (so it builds: `check` builds every overlay),
  each `dependsOn` names a Kustomization of the same cluster, and names are unique;
- each ApplicationSet's git directory generator matches exactly the model folders of its environment:
  a folder a person adds under overlays/<env>/ would otherwise become an Application;
- names that become label values (Flux's `kustomize.toolkit.fluxcd.io/name`, Argo CD's
  `app.kubernetes.io/instance`) fit in 63 characters.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable

import yaml

from mlgitops.kube import schemas as kubeschemas
from mlgitops.kube.validator import Options, validate_objects
from mlgitops.report.findings import Finding, Position
from mlgitops.report.verdicts import to_findings

LABEL_VALUE_MAX = 63
Locate = Callable[[str], tuple[str, Position]]  # model name -> where its name is written


def _objects(tree: dict[str, bytes]) -> dict[str, dict]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser: clusters/ holds a file per model
    return {path: yaml.load(content, Loader=loader) for path, content in sorted(tree.items())
            if path.startswith("clusters/") and path.endswith(".yaml")}


def check(tree: dict[str, bytes], overlay_folders: set[str], kubernetes_version: str,
          locate: Locate) -> list[Finding]:
    """tree: the generated files; overlay_folders: every folder under overlays/<env>/ on disk."""
    objects = _objects(tree)
    options = Options(kubernetes_version, strict=True)
    schemas = kubeschemas.schema_set(kubernetes_version, True)
    findings: list[Finding] = []
    for path, obj in objects.items():
        findings += to_findings(validate_objects([obj], options, source=path, schemas=schemas))
    generated_overlays = {p.rsplit("/", 1)[0] for p in tree if p.startswith("overlays/")
                          and p.endswith("/kustomization.yaml")}
    seen: dict[tuple[str, str, str, str], str] = {}
    for path, obj in objects.items():
        cluster = "/".join(path.split("/")[1:3])  # <cluster>/<engine>: each engine's set is applied alone
        meta = obj.get("metadata", {})
        key = (cluster, obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))
        if key in seen:
            findings.append(Finding("sync-object", f"{key[1]} {key[3]} is generated twice in clusters/{cluster} "
                                    f"(also in {seen[key]})", path, Position(1, 1),
                                    "give the environments sharing this cluster different namespaces"))
        seen.setdefault(key, path)
    for path, obj in objects.items():
        if obj.get("kind") == "Kustomization":
            findings += _flux(path, obj, objects, generated_overlays, locate)
        elif obj.get("kind") == "ApplicationSet":
            findings += _argo(path, obj, overlay_folders, generated_overlays)
    return findings


def _flux(path: str, obj: dict, objects: dict[str, dict], overlays: set[str], locate: Locate) -> list[Finding]:
    out = []
    name = obj["metadata"]["name"]
    model = obj["metadata"].get("labels", {}).get("app.kubernetes.io/name", "")
    target = obj["spec"]["path"].removeprefix("./")
    if target not in overlays:
        out.append(Finding("sync-object", f"Kustomization {name} syncs {target}, which no spec generates",
                           path, Position(1, 1), "run 'mlgitops generate'"))
    if len(name) > LABEL_VALUE_MAX:
        file, where = locate(model)
        out.append(Finding("sync-object", f"the Flux Kustomization name '{name}' is {len(name)} characters; Flux "
                           f"labels every object it applies with it, and label values hold at most {LABEL_VALUE_MAX}",
                           file, where, "shorten the model or environment name"))
    cluster = "/".join(path.split("/")[1:3])
    names = {o["metadata"]["name"] for p, o in objects.items()
             if "/".join(p.split("/")[1:3]) == cluster and o.get("kind") == "Kustomization"}
    for dep in obj["spec"].get("dependsOn") or []:
        if dep.get("name") not in names:
            out.append(Finding("sync-object", f"Kustomization {name} depends on {dep.get('name')}, which cluster "
                               f"{cluster} does not have", path, Position(1, 1)))
    return out


def _argo(path: str, obj: dict, on_disk: set[str], overlays: set[str]) -> list[Finding]:
    out = []
    name = obj["metadata"]["name"]
    template = obj["spec"]["template"]["metadata"]["name"]
    for generator in obj["spec"]["generators"]:
        for directory in generator.get("git", {}).get("directories", []):
            pattern = directory["path"]
            matched = {d for d in on_disk | overlays if _path_match(pattern, d)
                       and not any(part.startswith(".") for part in d.split("/"))}
            meant = {d for d in overlays if _path_match(pattern, d)}
            for extra in sorted(matched - meant):
                out.append(Finding("sync-object", f"ApplicationSet {name} would make an Application for {extra}, "
                                   "which no spec generates", extra, Position(),
                                   "remove the folder (Argo CD would deploy what it holds), or write a spec for it"))
            for model in sorted(meant):
                app = _application_name(template, model)
                if len(app) > LABEL_VALUE_MAX:
                    out.append(Finding("sync-object", f"the Application name '{app}' is {len(app)} characters; "
                                       f"Argo CD labels what it deploys with it (at most {LABEL_VALUE_MAX})",
                                       path, Position(1, 1), "shorten the model or environment name"))
    return out


def _path_match(pattern: str, path: str) -> bool:
    """Go's path.Match, as Argo CD's git directory generator uses it: `*` never crosses a `/`."""
    parts, want = path.split("/"), pattern.split("/")
    return len(parts) == len(want) and all(fnmatch.fnmatchcase(p, w) for p, w in zip(parts, want, strict=True))


def _application_name(template: str, path: str) -> str:
    """The Application name the template gives a folder (the parameters mlgitops' templates use)."""
    segments = path.split("/")
    name = template.replace("{{.path.basename}}", segments[-1])
    for i, segment in enumerate(segments):
        name = name.replace(f"{{{{index .path.segments {i}}}}}", segment)
    return name
