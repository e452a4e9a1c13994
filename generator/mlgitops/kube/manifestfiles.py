"""Where manifests come from: files, folders (recursively) and standard input. The I/O edge of validate.

A folder contributes its `*.yaml`, `*.yml` and `*.json` files (any case, as kubeconform does), in
sorted order so that output is deterministic; a file named explicitly is read whatever its name.
A path that does not exist is a usage error (FatalError); a file that cannot be read or is not
UTF-8 becomes a source with an error, so the other files are still validated. A special file found
in a folder (a FIFO, a socket, a device named `*.yaml`) is skipped with a note, never opened for
long: it is opened non-blocking and checked with fstat before a byte is read. A file named
explicitly is read whatever it is (`validate <(kustomize build ...)` names a FIFO).
"""

from __future__ import annotations

import os
import stat
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
    special: bool = False  # a FIFO, socket or device found in a folder: skipped, not an error


def expand(paths: list[str]) -> list[str]:
    """Each path as given, folders replaced by the manifest files under them."""
    return [name for name, _ in _expand(paths)]


def _expand(paths: list[str]) -> list[tuple[str, bool]]:
    """(path, found in a folder) for each source."""
    out: list[tuple[str, bool]] = []
    for path in paths:
        if path == STDIN:
            out.append((path, False))
        elif os.path.isdir(path):
            found = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names
                     if name.lower().endswith(EXTENSIONS)]
            out += [(name, True) for name in sorted(found)]
        elif os.path.exists(path):
            out.append((path, False))
        else:
            raise FatalError(f"no such file or folder: {path}")
    return out


def _decode(name: str, raw: bytes) -> Source:
    try:
        return Source(name, raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Source(name, None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})")


def _special(mode: int) -> str:
    for test, what in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return what
    return "not a regular file"


def _read_found(name: str) -> Source:
    """A file found in a folder: read only if it is a regular file (opened non-blocking, so a FIFO
    cannot hang the run between the check and the read)."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return Source(name, None, exc.strerror or str(exc))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            return Source(name, None, f"{_special(mode)}, not a regular file: skipped", special=True)
        try:
            return _decode(name, handle.read())
        except OSError as exc:
            return Source(name, None, exc.strerror or str(exc))


def read(paths: list[str]) -> Iterator[Source]:
    """The text of every source, standard input read once (at most)."""
    for name, found in _expand(paths):
        if name == STDIN:
            yield _decode(STDIN_NAME, sys.stdin.buffer.read())
            continue
        if found:
            yield _read_found(name)
            continue
        try:
            yield _decode(name, Path(name).read_bytes())
        except OSError as exc:
            yield Source(name, None, exc.strerror or str(exc))
