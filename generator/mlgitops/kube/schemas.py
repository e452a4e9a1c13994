"""Finding and compiling the JSON schema of a Kubernetes kind, offline.

Lookup, for a resource with `apiVersion` and `kind`:
1. Custom resources the project emits: `schemas/crds/<kind>-<group>-<version>.json` (shipped as the
   package `mlgitops.schemas.crds`), kind lower-cased and the group written in full, e.g.
   `servicemonitor-monitoring.coreos.com-v1.json` for `monitoring.coreos.com/v1` ServiceMonitor.
   These files are the strict schemas; the non-strict variant drops their `additionalProperties: false`.
2. Built-in kinds: the `kubernetes-validate` wheel's `kubernetes-json-schema/v<X.Y>.0-local[-strict]/`,
   file named the way kubeconform names it: `<kind><KindSuffix>.json`, where KindSuffix is `-` + the
   first dot-separated part of the group + `-` + the version (`deployment-apps-v1.json`,
   `ingress-networking-v1.json`, `service-v1.json`). As with kubeconform, the schema's own
   `apiVersion` enum then rejects a lookalike group (`apps.example.com/v1` Deployment is invalid).
   Their `$ref`s point into `_definitions.json`, served from memory: nothing is ever fetched.
No schema found is None: the caller decides between an error and a skip, never "valid".
Each (Kubernetes version, strictness) is a SchemaSet; each schema is compiled once and cached.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

import jsonschema_rs

from mlgitops.report.findings import FatalError

DEFAULT_KUBERNETES_VERSION = "1.33.0"
DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?\Z")
_DIR = re.compile(r"v(\d+)\.(\d+)\.0-local\Z")
_SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*\Z")  # kind/group/version parts that may name a file


def _k8s_root():
    return resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")


def _crd_root():
    return resources.files("mlgitops.schemas.crds")


@functools.lru_cache(maxsize=1)
def available_versions() -> tuple[str, ...]:
    """Kubernetes versions with schemas in the kubernetes-validate wheel, oldest first."""
    found = [_DIR.match(entry.name) for entry in _k8s_root().iterdir()]
    return tuple(f"{m[1]}.{m[2]}.0" for m in sorted(filter(None, found), key=lambda m: (int(m[1]), int(m[2]))))


def schema_version(kubernetes_version: str) -> str:
    """The schema set for a version: any patch release of a shipped minor (1.33, 1.33.4 -> 1.33.0)."""
    match = _VERSION.match(kubernetes_version.strip())
    wanted = f"{int(match[1])}.{int(match[2])}.0" if match else None
    if wanted not in available_versions():
        raise FatalError(f"no Kubernetes schemas for version {kubernetes_version!r}",
                         f"available versions: {', '.join(available_versions())}")
    return wanted


def kind_suffix(api_version: str) -> str:
    """kubeconform's {{ .KindSuffix }}: `-<first part of the group>[-<version>]`, lower-cased."""
    group_version = api_version.split("/")
    suffix = "-" + group_version[0].split(".")[0].lower()
    return suffix + ("-" + group_version[1].lower() if len(group_version) > 1 else "")


def crd_file_name(api_version: str, kind: str) -> str | None:
    group, _, version = api_version.rpartition("/")
    parts = (kind.lower(), group.lower(), version.lower())
    return "-".join(parts) + ".json" if group and all(_SAFE_NAME.match(p) for p in parts) else None


def k8s_file_name(api_version: str, kind: str) -> str | None:
    name = kind.lower() + kind_suffix(api_version)
    return name + ".json" if _SAFE_NAME.match(name) else None


def relaxed(schema: Any) -> Any:
    """The non-strict variant of a strict schema: every `additionalProperties: false` removed."""
    if isinstance(schema, dict):
        return {k: relaxed(v) for k, v in schema.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(schema, list):
        return [relaxed(v) for v in schema]
    return schema


def _refuse(uri: str) -> Any:
    raise ValueError(f"schemas are offline; refusing to fetch {uri}")


@functools.cache
def crd_schemas() -> dict[str, dict]:
    """Every hand-written CRD schema, by file name."""
    return {entry.name: json.loads(entry.read_text(encoding="utf-8"))
            for entry in _crd_root().iterdir() if entry.name.endswith(".json")}


class SchemaSet:
    """The schemas of one Kubernetes version, strict or not; compiled on first use, then cached."""

    def __init__(self, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION, strict: bool = True):
        self.kubernetes_version = kubernetes_version
        self.version = schema_version(kubernetes_version)
        self.strict = strict
        self.directory = _k8s_root().joinpath(f"v{self.version}-local{'-strict' if strict else ''}")
        self._validators: dict[tuple[str, str], Any] = {}
        self._registry: Any = None

    def k8s_names(self) -> list[str]:
        return sorted(e.name for e in self.directory.iterdir() if e.name.endswith(".json"))

    def read(self, name: str) -> Any:
        return json.loads(self.directory.joinpath(name).read_text(encoding="utf-8"))

    def schema(self, api_version: str, kind: str) -> tuple[str, dict] | None:
        """(origin, raw schema) for a kind, origin being "crd" or "kubernetes"; None when unknown."""
        crd = crd_file_name(api_version, kind)
        if crd and crd in crd_schemas():
            schema = crd_schemas()[crd]
            return "crd", schema if self.strict else relaxed(schema)
        name = k8s_file_name(api_version, kind)
        if name and name not in ("_definitions.json", "all.json") and self.directory.joinpath(name).is_file():
            return "kubernetes", self.read(name)
        return None

    def registry(self) -> Any:
        if self._registry is None:
            self._registry = jsonschema_rs.Registry([(DEFINITIONS_URI, self.read("_definitions.json"))],
                                                    retriever=_refuse)
        return self._registry

    def validator(self, api_version: str, kind: str) -> Any | None:
        """A compiled validator for the kind, or None when no schema is known."""
        key = (api_version, kind)
        if key not in self._validators:
            found = self.schema(api_version, kind)
            self._validators[key] = None if found is None else jsonschema_rs.validator_for(
                found[1], registry=self.registry() if found[0] == "kubernetes" else None,
                retriever=_refuse, validate_formats=True)
        return self._validators[key]


@functools.cache
def schema_set(kubernetes_version: str = DEFAULT_KUBERNETES_VERSION, strict: bool = True) -> SchemaSet:
    """One SchemaSet per (version, strictness) per process, so compiled schemas are shared."""
    return SchemaSet(kubernetes_version, strict)
