"""What generate last found on disk, by stat, so an unchanged run need not read the generated files again.

Like git's index: for each generated file that held exactly what the specs produce, the index (the
cache's stat-index/) keeps its stat (inode, device, size, mtime, ctime) and a digest of that content.
A later scan trusts a file without reading it only when its lstat is the very same and the tree now
wants the very same content; anything else (no entry, another stat, other content wanted, a file no
spec produces) is read as before. So a hand edit, a deleted or an extra file is found exactly as
strictly: an edit changes the ctime, which no one can set back (utime sets it to now).

The racy case is a change in the same clock tick as the stat recorded for it: the stat would not
change. So an entry is recorded only for a file whose mtime and ctime are older than the file
system's clock read before the scan began (`writer.clock`); a file written or changed since, by this
run or anyone, is read again by the next run, which then records it. Files this run writes are not
recorded at all (the next run reads them once).

The index is one file signed like every cache entry (HMAC under this machine's key, see cache.py): a
repository cannot plant or edit one, and a damaged, foreign or missing index only means reading every
file. Digests: a file of a model's tree is named by the cache key of its spec (key -> files is what the
generate cache already relies on); other files (clusters/) by the SHA-256 of their bytes.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from pathlib import Path

from mlgitops.tree import cache, writer
from mlgitops.tree.layout import Tree

FORMAT = "stat index 1"
Stat = tuple[int, int, int, int, int]  # inode, device, size, mtime_ns, ctime_ns
Record = tuple[Stat, bytes]  # the stat, and the digest of the content the file held


def stat_of(info: os.stat_result) -> Stat:
    return info.st_ino, info.st_dev, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def _valid(found: object) -> bool:
    return isinstance(found, dict) and all(
        isinstance(k, str) and type(v) is tuple and len(v) == 2 and type(v[0]) is tuple and len(v[0]) == 5
        and all(type(n) is int for n in v[0]) and type(v[1]) is bytes for k, v in found.items())


class StatIndex:
    """scan() the generated roots against tree, reading only what the index cannot vouch for; save() after
    the run wrote its plan. origins names the spec cache key each model file of tree came from."""

    def __init__(self, root: Path, tree: Tree, origins: dict[str, str], enabled: bool = True):
        self.root = root
        self.tree = tree
        self.origins = origins
        self.store = cache.Store(root, "stat-index", enabled)
        self.name = cache.key(FORMAT)
        self.loaded: dict[str, Record] = self._load()
        self.seen: dict[str, Stat] = {}  # every file the scan found (temp files aside), by its lstat
        self.vouched: set[str] = set()  # the files taken from the index without a read

    def _load(self) -> dict[str, Record]:
        payload = self.store.get(self.name) if self.store.enabled else None
        if payload is None:
            return {}
        try:
            found = marshal.loads(payload)
        except (ValueError, EOFError, TypeError):
            return {}
        return found if _valid(found) else {}

    def digest(self, path: str, content: bytes) -> bytes:
        origin = self.origins.get(path)
        if origin is not None:
            return b"spec:" + origin.encode()
        return b"sha256:" + hashlib.sha256(content).digest()

    def _known(self, path: str, entry: os.DirEntry[str]) -> bytes | None:
        found = stat_of(entry.stat(follow_symlinks=False))
        self.seen[path] = found
        record = self.loaded.get(path)
        if record is None or record[0] != found:
            return None
        wanted = self.tree.get(path)
        if wanted is None or len(wanted) != found[2] or record[1] != self.digest(path, wanted):
            return None
        self.vouched.add(path)
        return wanted

    def scan(self) -> Tree:
        """writer.scan, with the files the index vouches for taken from tree instead of read."""
        return writer.scan(self.root, known=self._known if self.store.enabled else None)

    def save(self, disk: Tree, the_plan: writer.Plan, stamp: int | None) -> None:
        """Record the files that hold what tree wants and that the plan left alone, when their last change
        is older than stamp (the file system's clock before the scan: see the racy case above)."""
        if not self.store.enabled or stamp is None:
            return
        entries: dict[str, Record] = {}
        loaded, seen, vouched = self.loaded, self.seen, self.vouched
        for path, content in self.tree.items():
            found = seen.get(path)
            if found is None or path in the_plan.write or found[3] >= stamp or found[4] >= stamp:
                continue
            if path in vouched:
                entries[path] = loaded[path]  # the same stat, and the digest of what tree wants
            elif disk.get(path) == content:
                entries[path] = (found, self.digest(path, content))
        if entries != loaded:
            self.store.put(self.name, marshal.dumps(entries))
