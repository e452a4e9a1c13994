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
3. Other locations (kubeconform's --schema-location templates, a repository's schemas/crds/), in the
   order given, the built-in schemas (1 and 2) being the location `default`: schemalocations.py.
   A schema file without `$schema` is compiled as draft 4, as kubeconform does; its `$ref`s may
   point at local files, never at the network.
A name that cannot be a file (a 300-character kind, a `/` in it) is simply not found.
No schema found is None: the caller decides between an error and a skip, never "valid".
Each (Kubernetes version, strictness, locations) is a SchemaSet; each schema is compiled once and cached.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from mlgitops.kube import schemalocations
from mlgitops.kube.schemalocations import BUILTIN, Location
from mlgitops.report.findings import FatalError

DEFAULT_KUBERNETES_VERSION = "1.33.0"
DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?\Z")
_DIR = re.compile(r"v(\d+)\.(\d+)\.0-local\Z")
_SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,199}\Z")  # kind/group/version parts that may name a file


def _k8s_root() -> Any:
    """kubernetes-validate's schema folder, found without importing the package (its __init__ imports
    jsonschema, ~0.4 s, which mlgitops never uses)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        return resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


def _crd_root() -> Any:
    return resources.files("mlgitops.schemas.crds")


@functools.lru_cache(maxsize=1)
def available_versions() -> tuple[str, ...]:
    """Kubernetes versions with schemas in the kubernetes-validate wheel, oldest first."""
    found = [_DIR.match(entry.name) for entry in _k8s_root().iterdir()]
    return tuple(f"{m[1]}.{m[2]}.0" for m in sorted(filter(None, found), key=lambda m: (int(m[1]), int(m[2]))))


@functools.lru_cache(maxsize=64)  # asked for every object of every model; a pure function of its text
def schema_version(kubernetes_version: str) -> str:
    """The schema set for a version: any patch release of a shipped minor (1.33, 1.33.4 -> 1.33.0)."""
    match = _VERSION.match(kubernetes_version.strip())
    wanted = f"{int(match[1])}.{int(match[2])}.0" if match else None
    if wanted not in available_versions():
        raise FatalError(f"no Kubernetes schemas for version {kubernetes_version!r}",
                         f"available versions: {', '.join(available_versions())}")
    return wanted


@functools.lru_cache(maxsize=64)
def full_version(kubernetes_version: str) -> str:
    """A version as MAJOR.MINOR.PATCH: a bare minor means its newest shipped patch release
    ("1.30" -> "1.30.0"), a patch release stays as written ("v1.30.4" -> "1.30.4"). FatalError when
    no schemas are shipped for that minor."""
    shipped = schema_version(kubernetes_version)
    match = _VERSION.match(kubernetes_version.strip())
    assert match is not None
    if match[3] is None:
        minor = shipped.rsplit(".", 1)[0]
        return max((v for v in available_versions() if v.rsplit(".", 1)[0] == minor),
                   key=lambda v: int(v.rsplit(".", 1)[1]))
    return f"{int(match[1])}.{int(match[2])}.{int(match[3])}"


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


def _local_files(uri: str) -> Any:
    """A `$ref` of a schema file: another local file, read like the schema itself; nothing else."""
    if not uri.startswith("file://"):
        return _refuse(uri)
    schema = schemalocations.read(Path(uri.removeprefix("file://").split("#", 1)[0]))
    if schema is None:
        raise ValueError(f"no such file: {uri}")
    return schema


def _compile_file(schema: dict[str, Any], file: Path) -> Any:
    """A schema from a file, compiled as kubeconform compiles it (draft 4 unless it says otherwise)."""
    import jsonschema_rs  # here, not at the top: `mlgitops --version` reads this module and compiles nothing

    compile_ = jsonschema_rs.validator_for if "$schema" in schema else jsonschema_rs.Draft4Validator
    try:
        return compile_(schema, retriever=_local_files, validate_formats=True, base_uri=file.absolute().as_uri())
    except (jsonschema_rs.ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FatalError(f"schema {file} cannot be used: {first}", "fix or remove the file") from None


@functools.cache
def crd_schemas() -> dict[str, dict[str, Any]]:
    """Every hand-written CRD schema, by file name."""
    return {entry.name: json.loads(entry.read_text(encoding="utf-8"))
            for entry in _crd_root().iterdir() if entry.name.endswith(".json")}


@functools.cache
def crd_fingerprint() -> str:
    """A hash of every hand-written CRD schema file, name and bytes: what decides crd_schemas(), without
    parsing its 3.5 MB of JSON (a check answered from its cache needs this identity, not the schemas)."""
    h = hashlib.sha256()
    for entry in sorted(_crd_root().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            for part in (entry.name.encode(), entry.read_bytes()):
                h.update(len(part).to_bytes(8, "big"))
                h.update(part)
    return h.hexdigest()


@functools.cache
def _crd_schema(name: str) -> dict[str, Any] | None:
    """One hand-written CRD schema by file name (None: none so named), read alone: validating a few
    resources should not parse every vendored CRD (crd_schemas)."""
    entry = _crd_root().joinpath(name)
    return json.loads(entry.read_text(encoding="utf-8")) if name.endswith(".json") and entry.is_file() else None


class SchemaSet:
    """The schemas of one Kubernetes version, strict or not, from the locations given (by default the
    built-in ones alone); compiled on first use, then cached."""

    def __init__(self, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION, strict: bool = True,
                 locations: tuple[Location, ...] = (BUILTIN,)):
        self.kubernetes_version = kubernetes_version
        self.version = schema_version(kubernetes_version)
        self.strict = strict
        self.locations = locations
        self.directory = _k8s_root().joinpath(f"v{self.version}-local{'-strict' if strict else ''}")
        self._validators: dict[tuple[str, str], Any] = {}
        self._registry: Any = None

    def k8s_names(self) -> list[str]:
        return sorted(e.name for e in self.directory.iterdir() if e.name.endswith(".json"))

    def read(self, name: str) -> Any:
        return json.loads(self.directory.joinpath(name).read_text(encoding="utf-8"))

    def builtin(self, api_version: str, kind: str) -> tuple[str, dict[str, Any]] | None:
        """(origin, raw schema) from the built-in schemas, origin "crd" or "kubernetes"; None when unknown."""
        crd = crd_file_name(api_version, kind)
        schema = _crd_schema(crd) if crd else None
        if schema is not None:
            return "crd", schema if self.strict else relaxed(schema)
        name = k8s_file_name(api_version, kind)
        if name and name not in ("_definitions.json", "all.json") and self.directory.joinpath(name).is_file():
            return "kubernetes", self.read(name)
        return None

    def schema(self, api_version: str, kind: str) -> tuple[str, dict[str, Any], Path | None] | None:
        """(origin, raw schema, file) for a kind from the first location that has it, origin being
        "crd", "kubernetes" (file None: built in) or "file"; None when no location has it."""
        values = schemalocations.fields(api_version, kind, self.kubernetes_version, self.strict)
        for location in self.locations:
            if location.builtin:
                found = self.builtin(api_version, kind)
                if found is not None:
                    return found[0], found[1], None
            elif values is not None:
                file = schemalocations.path(location, values)
                schema = schemalocations.read(file, location.root if location.crds else "")
                if schema is not None:
                    return "file", relaxed(schema) if location.crds and not self.strict else schema, file
        return None

    def registry(self) -> Any:
        if self._registry is None:
            import jsonschema_rs

            self._registry = jsonschema_rs.Registry([(DEFINITIONS_URI, self.read("_definitions.json"))],
                                                    retriever=_refuse)
        return self._registry

    def validator(self, api_version: str, kind: str) -> Any | None:
        """A compiled validator for the kind, or None when no schema is known."""
        key = (api_version, kind)
        if key not in self._validators:
            self._validators[key] = self._compile(self.schema(api_version, kind))
        return self._validators[key]

    def _compile(self, found: tuple[str, dict[str, Any], Path | None] | None) -> Any | None:
        if found is None:
            return None
        origin, schema, file = found
        if file is not None:
            return _compile_file(schema, file)
        import jsonschema_rs

        return jsonschema_rs.validator_for(schema, registry=self.registry() if origin == "kubernetes" else None,
                                           retriever=_refuse, validate_formats=True)


@functools.cache
def schema_set(kubernetes_version: str = DEFAULT_KUBERNETES_VERSION, strict: bool = True,
               locations: tuple[Location, ...] = (BUILTIN,)) -> SchemaSet:
    """One SchemaSet per (version, strictness, locations) per process, so compiled schemas are shared."""
    return SchemaSet(kubernetes_version, strict, locations)
