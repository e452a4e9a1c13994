"""What generate last found on disk, by stat, so an unchanged run need not read the generated files again.

Like git's index: for each generated file that held exactly what the specs produce, the index (the
cache's stat-index/) keeps its stat (inode, device, size, mtime, ctime) and a digest of that content.
A later scan trusts a file without reading it only when its lstat is the very same and the tree now
wants the very same content; anything else (no entry, another stat, other content wanted, a file no
spec produces) is read as before. So a hand edit, a deleted or an extra file is found exactly as
strictly: an edit changes the ctime, which no one can set back (utime sets it to now), and a file put
in place by a copy or a rename is another inode with its own ctime.

The racy case is a change in the same clock tick as the stat recorded for it: the stat would not
change. So an entry is recorded only for a file whose mtime and ctime are strictly older than a
reading of the file system's own clock (`writer.clock`: the lock file touched and lstat'ed, the same
coarse clock file times come from, not time.time_ns):

- a file the scan read: older than the clock read *before* the scan began. Whatever changes it after
  the scan read it shows a ctime of that tick or later, never the recorded one: exact.
- a file this run wrote (git's way, after a checkout): its stat taken right after its rename into
  place (writer.write_atomic: fstat of the file still open, the same inode the path now names),
  recorded when older than the clock read at save time, after every write. A change made since, in
  a later tick than our write, shows another ctime (a replacement: another inode): found. The
  residual case is a change to the same inode, keeping its size, in the very clock tick of our own
  write and after it (between our rename and our fstat, microseconds, or later in that tick): the
  same as git's, whose index is also stamped after its writes. A file written in the tick of the
  save stamp itself is not recorded (the next run reads it once).

Nothing here is the repository's to decide: a pull request can set a file's mtime but not its ctime
or its inode, and the index is one file signed like every cache entry (HMAC under this machine's key,
see cache.py), kept outside the work tree in a folder of this checkout's own path: a repository cannot
plant or edit one, and a damaged, foreign, copied or missing index only means reading every file.
Digests: a file of a model's tree is named by the cache key of its spec (key -> files is what the
generate cache already relies on); other files (clusters/) by the SHA-256 of their bytes.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import struct
from pathlib import Path

from mlgitops.tree import cache, writer
from mlgitops.tree.header import Tree

FORMAT = "stat index 2"
# A record: the file's lstat packed (inode, device, size, mtime_ns, ctime_ns), then the digest of its content.
_STAT = struct.Struct("<QQQqq")


def _valid(found: object) -> bool:
    """A payload of this format (signed by this machine: its records need no check one by one, a record that
    is not bytes only never matches)."""
    return isinstance(found, dict)


class StatIndex:
    """scan() the generated roots against tree, reading only what the index cannot vouch for; save() after
    the run wrote its plan. origins names, for each model file of tree, the spec it came from (a digest of
    the spec's cache key: build's origins)."""

    def __init__(self, root: Path, tree: Tree, origins: dict[str, bytes], enabled: bool = True):
        self.root = root
        self.tree = tree
        self.origins = origins
        self.store = cache.Store(root, "stat-index", enabled)
        self.name = cache.key(FORMAT)
        self.loaded: dict[str, bytes] = self._load()
        self.seen: dict[str, bytes] = {}  # the files the scan read, not racy, by their packed lstat
        self.vouched: set[str] = set()  # the files taken from the index without a read, not racy
        self.stamp: int | None = None
        self.stats: dict[str, os.stat_result] = {}  # lstats taken already (after stamp), by path

    def _load(self) -> dict[str, bytes]:
        return cache.load_marshalled(self.store, self.name, _valid) or {}

    def digest(self, path: str, content: bytes) -> bytes:
        origin = self.origins.get(path)
        if origin is not None:
            return origin
        return b"sha256:" + hashlib.sha256(content).digest()

    def _files(self, prefix: str, files: list[os.DirEntry[str]], out: Tree) -> None:
        """One folder's files into out: from tree when the index vouches for them, else read (writer.read_files)."""
        loaded, tree, origins, vouched, seen = self.loaded, self.tree, self.origins, self.vouched, self.seen
        stamp = -1 if self.stamp is None else self.stamp  # no stamp: nothing is older than it
        pack = _STAT.pack
        unknown = []
        for entry in files:
            path = prefix + entry.name
            info = self.stats.get(path) or entry.stat(follow_symlinks=False)
            mtime, ctime = info.st_mtime_ns, info.st_ctime_ns
            found = pack(info.st_ino, info.st_dev, info.st_size, mtime, ctime)
            old = mtime < stamp and ctime < stamp  # older than the scan: may be recorded (racy otherwise)
            record = loaded.get(path)
            if record is not None and record.startswith(found):
                wanted = tree.get(path)
                if wanted is not None and record == found + (origins.get(path) or self.digest(path, wanted)):
                    out[path] = wanted
                    if old:  # (always, unless the clock was set back since it was recorded)
                        vouched.add(path)
                    continue
            unknown.append(entry)
            if old:
                seen[path] = found
        writer.read_files(prefix, unknown, out)

    def scan(self, stamp: int | None = None, stats: dict[str, os.stat_result] | None = None) -> Tree:
        """writer.scan, with the files the index vouches for taken from tree instead of read. stamp: the file
        system's clock before the scan (writer.clock); without one, nothing of this scan can be saved. stats:
        lstats already taken after stamp (check's memo took them), by path: used instead of taking them again."""
        self.stamp = stamp
        self.stats = stats or {}
        return writer.scan(self.root, files=self._files if self.store.enabled else None)

    def save(self, disk: Tree, the_plan: writer.Plan) -> None:
        """Record the files that hold what tree wants: those the plan left alone, when their last change is
        older than the scan's stamp, and those it wrote, when older than the clock now (see the racy case)."""
        if not self.store.enabled or self.stamp is None:
            return
        if not the_plan.write and len(self.vouched) == len(self.loaded) and not self.seen:
            return  # every file seen was vouched for, as recorded: the index stays as it is
        entries = self._entries(disk, the_plan.write)
        if the_plan.stats:
            self._written(entries, the_plan.stats)
        if entries != self.loaded:
            self.store.put(self.name, marshal.dumps(entries))

    def _written(self, entries: dict[str, bytes], stats: dict[str, os.stat_result | None]) -> None:
        """The files this run wrote, as stat'ed right after each was renamed into place, when strictly older
        than the file system's clock read now, after the last write (none when it cannot be read)."""
        stamp = writer.clock(self.root)
        if stamp is None:
            return
        tree, pack, digest = self.tree, _STAT.pack, self.digest
        for path, info in stats.items():
            content = tree.get(path)
            if info is None or content is None or not (info.st_mtime_ns < stamp and info.st_ctime_ns < stamp):
                continue
            entries[path] = pack(info.st_ino, info.st_dev, info.st_size, info.st_mtime_ns, info.st_ctime_ns) + \
                digest(path, content)

    def _entries(self, disk: Tree, written: dict[str, bytes]) -> dict[str, bytes]:
        """The records to keep: the vouched files as recorded, and the files read that hold what tree wants and
        are older than the scan; never a file the run wrote."""
        loaded, tree = self.loaded, self.tree
        entries = loaded.copy()  # the vouched records (each of tree), less those written: in C loops, not per file
        for path in (loaded.keys() - self.vouched) | (written.keys() & loaded.keys()):
            del entries[path]
        for path, found in self.seen.items():  # the same stat, and the digest of what tree wants
            content = tree.get(path)
            if content is not None and path not in written and disk.get(path) == content:
                entries[path] = found + self.digest(path, content)
        return entries
