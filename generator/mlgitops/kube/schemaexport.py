"""`mlgitops schemas export DIR`: the offline schemas, laid out for kubeconform's -schema-location.

kubeconform, given `-schema-location DIR` (a path not ending in `.json`), reads
`DIR/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`:
NormalizedKubernetesVersion is `v` + the -kubernetes-version given (`v1.33.0`), StrictSuffix is
`-strict` under -strict (else empty), ResourceKind is the kind lower-cased and KindSuffix is `-` +
the first dot-separated part of the group + `-` + the version (`-apps-v1`; `-v1` for the core group).

"standalone" means a file needs no other file: each schema gets the definitions it reaches copied
into its own `definitions` and its `$ref`s rewritten to `#/definitions/...` (a self-contained
equivalent of inlining, which would not terminate on recursive definitions such as JSONSchemaProps).
`$schema` and `$id` are dropped, so kubeconform compiles the files as JSON Schema draft 4, its
default, exactly as it does its own schema files: in draft 4 `format` is asserted (a malformed
`date-time` is invalid), which is also what the built-in validator does. Every schema the built-in
validator can use is written (building blocks such as `affinity-v1.json` too, as kubeconform's own
schema sets have them), plus the CRD schemas of schemas/crds/ under kubeconform's name for them
(`servicemonitor-monitoring-v1.json`).
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from mlgitops.kube import schemas as kubeschemas

_REF_PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")
_LOCAL = "#/definitions/"


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _local(ref: str) -> str:
    for prefix in _REF_PREFIXES:
        if ref.startswith(prefix):
            return _LOCAL + ref[len(prefix):]
    return ref


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (_local(v) if k == "$ref" and isinstance(v, str) else _rewrite(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def standalone(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """The schema with every definition it reaches (transitively) in its own `definitions`, refs
    pointing there, and neither `$schema` nor `$id`."""
    wanted: set[str] = set()
    _refs(schema, wanted)
    done: set[str] = set()
    while wanted - done:
        name = min(wanted - done)
        done.add(name)
        _refs(definitions.get(name, {}), wanted)
    out = {k: v for k, v in _rewrite(schema).items() if k not in ("$id", "$schema", "$defs")}
    if done:
        out["definitions"] = {name: _rewrite(definitions[name]) for name in sorted(done) if name in definitions}
    return out


def _write(path: str, schema: Any) -> None:
    tmp = path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(schema, f, separators=(",", ":"), sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:  # a failed write or Ctrl-C leaves no temp file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def kubeconform_crd_name(schema: dict[str, Any]) -> str | None:
    for gvk in schema.get("x-kubernetes-group-version-kind", []):
        api_version = f"{gvk['group']}/{gvk['version']}" if gvk.get("group") else gvk["version"]
        return f"{gvk['kind'].lower()}{kubeschemas.kind_suffix(api_version)}.json"
    # schemas converted by shared/external/crds/convert.py pin apiVersion and kind with a one-value enum
    props = schema.get("properties") or {}
    api_versions, kinds = (props.get(k, {}).get("enum") or [] for k in ("apiVersion", "kind"))
    if len(api_versions) == 1 and len(kinds) == 1:
        return f"{kinds[0].lower()}{kubeschemas.kind_suffix(api_versions[0])}.json"
    return None


def export(directory: str, kubernetes_version: str, strict: bool) -> tuple[str, int]:
    """Write one `v<version>-standalone[-strict]` folder; returns (its path, files written)."""
    schemas = kubeschemas.SchemaSet(kubernetes_version, strict)
    target = os.path.join(directory, f"v{kubernetes_version}-standalone{'-strict' if strict else ''}")
    os.makedirs(target, exist_ok=True)
    definitions = schemas.read("_definitions.json")["$defs"]
    written = 0
    for name in schemas.k8s_names():
        if name in ("_definitions.json", "all.json"):
            continue
        _write(os.path.join(target, name), standalone(schemas.read(name), definitions))
        written += 1
    for crd in kubeschemas.crd_schemas().values():
        crd_name = kubeconform_crd_name(crd)
        if crd_name:
            _write(os.path.join(target, crd_name), standalone(crd if strict else kubeschemas.relaxed(crd),
                                                          crd.get("$defs") or crd.get("definitions", {})))
            written += 1
    return target, written
