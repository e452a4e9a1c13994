"""A content-addressed cache of per-overlay check results in .mlgitops-cache/ (git-ignored, safe to delete).

The key hashes every input that can change a result; an entry that cannot be read back whole is a
miss, never a wrong answer: each entry stores its own key and a checksum of its payload.
"""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
import os
from pathlib import Path

from mlgitops.tree.writer import write_atomic

CACHE_DIR = ".mlgitops-cache/results"
FORMAT = 1


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
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


class Cache:
    def __init__(self, root: Path, enabled: bool = True):
        self.folder = root / CACHE_DIR
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    def _path(self, digest: str) -> Path:
        return self.folder / digest[:2] / f"{digest}.json"

    def get(self, digest: str):
        if not self.enabled:
            return None
        try:
            entry = json.loads(self._path(digest).read_bytes())
            payload = json.dumps(entry["payload"], sort_keys=True)
            if entry["format"] != FORMAT or entry["key"] != digest or entry["sum"] != key(payload):
                raise ValueError("stale or damaged entry")
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return entry["payload"]

    def put(self, digest: str, payload) -> None:
        if not self.enabled:
            return
        text = json.dumps(payload, sort_keys=True)
        entry = {"format": FORMAT, "key": digest, "sum": key(text), "payload": payload}
        try:
            write_atomic(self._path(digest), json.dumps(entry, sort_keys=True).encode())
        except OSError:
            pass  # a cache that cannot be written only makes the next run slower


class TreeCache:
    """Generated files per model spec, keyed on everything that decides them (marshal: fast, bytes-safe)."""

    def __init__(self, root: Path, enabled: bool = True):
        self.folder = root / ".mlgitops-cache/generate"
        self.enabled = enabled

    def get(self, digest: str) -> tuple[str, dict[str, bytes]] | None:
        if not self.enabled:
            return None
        try:
            blob = (self.folder / digest[:2] / digest).read_bytes()
            checksum, payload = blob[:64].decode(), blob[64:]
            if checksum != hashlib.sha256(payload).hexdigest():
                return None
            name, tree = marshal.loads(payload)
            if not isinstance(name, str) or not isinstance(tree, dict):
                return None
            return name, tree
        except (OSError, ValueError, EOFError, TypeError, UnicodeDecodeError):
            return None

    def put(self, digest: str, name: str, tree: dict[str, bytes]) -> None:
        if not self.enabled:
            return
        payload = marshal.dumps((name, tree))
        try:
            write_atomic(self.folder / digest[:2] / digest, hashlib.sha256(payload).hexdigest().encode() + payload)
        except OSError:
            pass


def file_identity(path: str) -> str:
    """Cheap identity of a binary (path, size, mtime): a tool upgrade changes it."""
    import shutil

    path = shutil.which(path) or path
    try:
        st = os.stat(path)
    except OSError:
        return path
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"
