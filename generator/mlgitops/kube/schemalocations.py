"""Where schemas are looked up: kubeconform's `-schema-location` templates, local paths only.

A location is `default` (the built-in schemas: kubernetes-validate's and the CRDs mlgitops ships),
or a path template; a path not ending in `json` gets kubeconform's own layout appended,
`/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`
(what `mlgitops schemas export` writes). The fields, as kubeconform's registry.go fills them:

  {{ .NormalizedKubernetesVersion }}  `v` + the Kubernetes version (`v1.33.0`)
  {{ .StrictSuffix }}                 `-strict` when strict, else empty
  {{ .ResourceKind }}                 the kind, lower-cased (`servicemonitor`)
  {{ .ResourceAPIVersion }}           the version part of apiVersion (`v1`)
  {{ .Group }}                        the group (`monitoring.coreos.com`; `v1` for the core group)
  {{ .KindSuffix }}                   `-` + the group's first part, lower-cased, `-` + the version

Locations are tried in order; the first file found wins. A file that is missing, or whose name could
not be a file (a kind of 300 characters, a `/` in it), is "not here": the next location is tried.
A file that exists but cannot be read, is not a regular file (a FIFO, /dev/zero: never waited on), is larger
than MAX_SCHEMA or is not a JSON schema is an environment error (FatalError), never a silent skip. A
repository's schemas/crds/ is untrusted input: a symlink there (to a file inside or outside the repository, or
to nothing) is never followed, and `refused` lists each with why, for a finding at the file. http(s) locations
are refused: validation is offline.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops.report.findings import FatalError

DEFAULT = "default"
KUBECONFORM_LAYOUT = "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
FIELDS = ("NormalizedKubernetesVersion", "StrictSuffix", "ResourceKind", "ResourceAPIVersion", "Group", "KindSuffix")
_FIELD = re.compile(r"\{\{-?\s*\.([A-Za-z]+)\s*-?\}\}")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}\Z")  # what may become part of a file name


@dataclass(frozen=True)
class Location:
    """One place to look: the built-in schemas (template None) or a local path template."""

    template: str | None = None
    root: str = ""  # a folder written before the template, itself no template
    crds: bool = False  # a repository's folder of CRD schemas kept like mlgitops' own: strict, relaxed with
    # --no-strict; no symlink below root followed (refused says which)

    @property
    def builtin(self) -> bool:
        return self.template is None

    def describe(self) -> str:
        return "the built-in schemas" if self.template is None else self.root + self.template


BUILTIN = Location()


def parse(value: str) -> Location:
    """A --schema-location value as a Location; a usage error (FatalError) when it cannot be one."""
    if value == DEFAULT:
        return BUILTIN
    template = _local(value)
    if not template.endswith("json"):
        template = template.rstrip("/") + KUBECONFORM_LAYOUT
    rest = _FIELD.sub("", template)
    unknown = [name for name in _FIELD.findall(template) if name not in FIELDS]
    if unknown or "{{" in rest or "}}" in rest:
        what = f"unknown field .{unknown[0]}" if unknown else "a template other than {{ .Field }}"
        raise FatalError(f"--schema-location {value}: {what}",
                         f"fields: {', '.join('{{ .' + f + ' }}' for f in FIELDS)}")
    return Location(template)


def _local(value: str) -> str:
    """The value without a file:// scheme; a usage error for any other scheme (validation is offline)."""
    scheme = _SCHEME.match(value)
    if scheme and scheme[1].lower() == "file":
        return value[len(scheme[0]):]
    if scheme:
        raise FatalError(f"--schema-location {value}: only local paths can be read (validation is offline)",
                         "download the schemas and give their folder or a path template; "
                         "'mlgitops schemas export DIR' writes the built-in ones in kubeconform's layout")
    return value


def crds_folder(folder: Path) -> tuple[Location, ...]:
    """A repository's schemas/crds/: files named like mlgitops' own CRD schemas
    (`servicemonitor-monitoring.coreos.com-v1.json`) or laid out like a kubeconform CRD catalogue
    (`monitoring.coreos.com/servicemonitor_v1.json`)."""
    return (Location("/{{ .ResourceKind }}-{{ .Group }}-{{ .ResourceAPIVersion }}.json", str(folder), True),
            Location("/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json", str(folder), True))


def fields(api_version: str, kind: str, kubernetes_version: str, strict: bool) -> dict[str, str] | None:
    """The template fields for a resource (None when its kind or apiVersion could not name a file)."""
    group_version = api_version.split("/")
    group, version = group_version[0], group_version[-1]
    if len(group_version) > 2 or not all(_PART.match(p) for p in (kind, group, version)):
        return None
    suffix = "-" + group.split(".")[0].lower() + ("-" + version.lower() if len(group_version) > 1 else "")
    return {"NormalizedKubernetesVersion": "v" + kubernetes_version.removeprefix("v"),
            "StrictSuffix": "-strict" if strict else "", "ResourceKind": kind.lower(),
            "ResourceAPIVersion": version, "Group": group, "KindSuffix": suffix}


def path(location: Location, values: dict[str, str]) -> Path:
    assert location.template is not None
    return Path(location.root + _FIELD.sub(lambda m: values[m[1]], location.template))


MAX_SCHEMA = 64 << 20  # bytes; Kubernetes' largest schema file is a few MB


def read(file: Path, within: str = "") -> Any | None:
    """The schema in a file, None when there is no such file (or no such name is possible). within: a folder
    below which no symlink is followed (a repository's schemas/crds/: `refused` names each)."""
    raw = _read_regular(file, within)
    if raw is None:
        return None
    try:
        schema = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FatalError(f"schema {file} is not JSON: {str(exc).splitlines()[0] if str(exc) else 'too deep'}",
                         "fix or remove the file") from None
    if not isinstance(schema, dict):
        raise FatalError(f"schema {file} is not a JSON object", "fix or remove the file")
    return schema


def _linked(file: Path, within: str) -> bool:
    """Whether a part of file below the folder within is a symlink (within itself not asked)."""
    parts = Path(os.path.relpath(file, within)).parts
    return any(os.path.islink(os.path.join(within, *parts[:i + 1])) for i in range(len(parts)))


def _read_regular(file: Path, within: str) -> bytes | None:
    """The bytes of a regular file, opened without waiting (a FIFO) and read up to MAX_SCHEMA; None when there is
    none, or a symlink below within."""
    if within and _linked(file, within):
        return None
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):  # no such schema can exist
            return None
        raise FatalError(f"cannot read schema {file}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            if within:  # refused says so, at the file
                return None
            raise FatalError(f"schema {file} is not a regular file", "give the schema's JSON file")
        return _bounded(fd, file)
    finally:
        os.close(fd)


def _bounded(fd: int, file: Path) -> bytes:
    """An open file's bytes, up to MAX_SCHEMA (FatalError past it)."""
    chunks, size = [], 0
    try:
        while size <= MAX_SCHEMA and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise FatalError(f"cannot read schema {file}: {exc.strerror or exc}") from None
    if size > MAX_SCHEMA:
        raise FatalError(f"schema {file} is larger than {MAX_SCHEMA >> 20} MiB", "give the schema's JSON file")
    return b"".join(chunks)


def refused(folder: Path) -> list[tuple[Path, str]]:
    """Every entry of a repository's schemas/crds/ (in either layout of crds_folder) that is never read, and why:
    a symlink (folder itself, a group folder, a schema), or a schema that is not a regular file."""
    if os.path.islink(folder):
        return [(folder, _SYMLINK)]
    out: list[tuple[Path, str]] = []
    todo = [folder]
    while todo:
        here = todo.pop()
        try:
            with os.scandir(here) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                out.append((Path(entry.path), _SYMLINK))
            elif entry.is_dir(follow_symlinks=False) and here == folder:  # a group of the catalogue layout
                todo.append(Path(entry.path))
            elif entry.name.endswith(".json") and not entry.is_file(follow_symlinks=False) and not entry.is_dir():
                out.append((Path(entry.path), "is not a regular file: it is never read"))
    return sorted(out)


_SYMLINK = "is a symlink: a schema in schemas/crds/ is read only from a regular file there, never through a link"
