"""The content-addressed cache in .mlgitops-cache/ (git-ignored, safe to delete).

The API is two calls on a `Store`, one folder per kind of result:

    store = Store(root, "results")          # .mlgitops-cache/results/
    digest = key(salt, spec_bytes, ...)      # every input that can change the result
    payload = store.get(digest)              # bytes, or None: a miss
    store.put(digest, payload)               # never raises: a cache that cannot be written is only slower

`JsonStore` and `TreeCache` wrap a Store for JSON values (check results) and generated trees.

A cache never changes a verdict, so every entry carries its full key and a checksum over the kind of
store, the key and the payload. Anything that does not match is a miss: an entry copied over another,
or under another model's key, truncated, corrupted, or written by another version of the format. Only
regular files are read (no symlink followed, no FIFO or device opened for long), up to MAX_ENTRY bytes.

A cache that cannot be used (`.mlgitops-cache` is a file, or its folders cannot be written) makes a
cache-less run with one warning in `Store.warnings`, never an error.
"""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
import os
import stat
from pathlib import Path

from mlgitops.kube.kustomize import file_fingerprint
from mlgitops.tree.writer import write_atomic

ROOT_DIR = ".mlgitops-cache"
CACHE_DIR = f"{ROOT_DIR}/results"  # check's per-overlay results
MAGIC = b"mlgitops-cache 2\n"
MAX_ENTRY = 64 << 20  # bytes; a larger file is not an entry we wrote


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of mlgitops's own source and schemas: an edited generator never reuses old results."""
    package = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode())
        h.update(path.read_bytes())
    from importlib import resources

    for entry in sorted(resources.files("mlgitops.schemas").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            h.update(entry.name.encode())
            h.update(entry.read_bytes())
    return h.hexdigest()


def key(*parts: bytes | str) -> str:
    """A cache key (64 hex digits) over parts, each length-prefixed so no two lists of parts collide."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _checksum(kind: str, digest: str, payload: bytes) -> bytes:
    return key(MAGIC, kind, digest, payload).encode()


def encode(kind: str, digest: str, payload: bytes) -> bytes:
    """An entry file: the format, the full key, a checksum over kind + key + payload, the payload."""
    return MAGIC + digest.encode() + b"\n" + _checksum(kind, digest, payload) + b"\n" + payload


def decode(kind: str, digest: str, blob: bytes) -> bytes | None:
    """The payload of an entry file, or None unless it is whole and was written for exactly this key."""
    head = len(MAGIC)
    if not blob.startswith(MAGIC) or len(blob) < head + 130:
        return None
    stored_key, stored_sum, payload = blob[head:head + 64], blob[head + 65:head + 129], blob[head + 130:]
    if stored_key != digest.encode() or stored_sum != _checksum(kind, digest, payload):
        return None
    return payload


def read_regular(path: str, limit: int | None = None) -> bytes | None:
    """The bytes of a regular file of at most limit (default MAX_ENTRY) bytes; None for anything else (a
    symlink, a FIFO, a device, a folder, a missing or unreadable file), never blocking on it or following it."""
    limit = MAX_ENTRY if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return None if size > limit else b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def unusable(root: Path) -> str | None:
    """Why the cache folder cannot be used at all, or None."""
    path = root / ROOT_DIR
    if os.path.lexists(path) and not path.is_dir():
        return f"{ROOT_DIR} is not a folder: running without the cache (delete it to use the cache again)"
    return None


class Store:
    """Entries of one kind (a folder under .mlgitops-cache/), get and put by key; bytes in, bytes out."""

    def __init__(self, root: Path, kind: str, enabled: bool = True):
        self.kind = kind
        self.folder = root / ROOT_DIR / kind
        self.warnings: list[str] = []
        problem = unusable(root) if enabled else None
        if problem:
            self.warnings.append(problem)
        self.enabled = enabled and not problem
        self.hits = 0
        self.misses = 0

    def path(self, digest: str) -> Path:
        return self.folder / digest[:2] / digest

    def get(self, digest: str) -> bytes | None:
        if not self.enabled:
            return None
        blob = read_regular(os.fspath(self.path(digest)))
        payload = None if blob is None else decode(self.kind, digest, blob)
        if payload is None:
            self.misses += 1
        else:
            self.hits += 1
        return payload

    def put(self, digest: str, payload: bytes) -> None:
        if not self.enabled:
            return
        try:
            write_atomic(self.path(digest), encode(self.kind, digest, payload))
        except OSError as exc:  # a cache that cannot be written only makes the next run slower
            self.enabled = False
            self.warnings.append(f"cannot write the cache in {ROOT_DIR}/ ({exc.strerror or exc}): "
                                 "running without it")


class JsonStore:
    """Check's per-overlay results (.mlgitops-cache/results/): JSON values, by key."""

    def __init__(self, root: Path, enabled: bool = True, kind: str = "results"):
        self.store = Store(root, kind, enabled)

    @property
    def hits(self) -> int:
        return self.store.hits

    @property
    def warnings(self) -> list[str]:
        return self.store.warnings

    def get(self, digest: str):
        payload = self.store.get(digest)
        if payload is None:
            return None
        try:
            return json.loads(payload)
        except ValueError:
            return None

    def put(self, digest: str, value) -> None:
        self.store.put(digest, json.dumps(value, sort_keys=True).encode())


Cache = JsonStore  # the name `check` and `diff` have used


class TreeCache:
    """Generated files per model spec (.mlgitops-cache/generate/), keyed on everything that decides them
    (marshal: fast and bytes-safe; only entries whose checksum matches are unmarshalled)."""

    def __init__(self, root: Path, enabled: bool = True):
        self.store = Store(root, "generate", enabled)

    @property
    def warnings(self) -> list[str]:
        return self.store.warnings

    def get(self, digest: str) -> tuple[str, dict[str, bytes]] | None:
        payload = self.store.get(digest)
        if payload is None:
            return None
        try:
            name, tree = marshal.loads(payload)
        except (ValueError, EOFError, TypeError):
            return None
        if not isinstance(name, str) or not isinstance(tree, dict):
            return None
        return name, tree

    def put(self, digest: str, name: str, tree: dict[str, bytes]) -> None:
        self.store.put(digest, marshal.dumps((name, tree)))


def file_identity(path: str) -> str:
    """Identity of a program: its resolved path, size, times and inode (content too when small)."""
    return file_fingerprint(path)
