"""Where manifests come from: files, folders (recursively) and standard input. The I/O edge of validate.

A folder contributes its `*.yaml`, `*.yml` and `*.json` files (any case, as kubeconform does), in
sorted order so that output is deterministic; a file named explicitly is read whatever its name.
A path that does not exist is a usage error (FatalError); a file that cannot be read or is not
UTF-8 becomes a source with an error, so the other files are still validated.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlgitops.report.findings import FatalError

STDIN = "-"
STDIN_NAME = "<stdin>"  # how standard input is named in results
EXTENSIONS = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Source:
    name: str  # as given or found ("-" for standard input)
    text: str | None  # None when unreadable
    error: str = ""


def expand(paths: list[str]) -> list[str]:
    """Each path as given, folders replaced by the manifest files under them."""
    out: list[str] = []
    for path in paths:
        if path == STDIN:
            out.append(path)
        elif os.path.isdir(path):
            found = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names
                     if name.lower().endswith(EXTENSIONS)]
            out += sorted(found)
        elif os.path.exists(path):
            out.append(path)
        else:
            raise FatalError(f"no such file or folder: {path}")
    return out


def _decode(name: str, raw: bytes) -> Source:
    try:
        return Source(name, raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Source(name, None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})")


def read(paths: list[str]) -> Iterator[Source]:
    """The text of every source, standard input read once (at most)."""
    for name in expand(paths):
        if name == STDIN:
            yield _decode(STDIN_NAME, sys.stdin.buffer.read())
            continue
        try:
            yield _decode(name, Path(name).read_bytes())
        except OSError as exc:
            yield Source(name, None, exc.strerror or str(exc))
