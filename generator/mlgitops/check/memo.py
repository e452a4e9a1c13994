"""A whole `check` run's result, kept while nothing it read has changed: a warm check of an unchanged
repository neither renders, nor scans file contents, nor imports the pipeline.

The memo (the cache's check-memo/, one signed entry) is keyed on everything the verdict depends on: this
mlgitops (version and code), the kustomize program and the validator's libraries and CRD schemas, the
options that change a verdict (the shard), and the stat of every file check reads: mlgitops.yaml,
every entry under models/ (a sub-folder's too: a spec-named file in one is a finding), the legacy cache folder, every file under the generated roots (inode, device,
size, mtime, ctime and mode, like git's index and tree/stat_index.py). An edit changes the ctime, which
no one can set back; an added, removed or renamed file changes the listing. So any change is a miss,
and the pipeline runs as before.

The racy case: a file changed in the same clock tick as the stat recorded for it. The file system's clock
is read (writer.clock) before the stats are taken, the pipeline reads the files after, and a result is
kept only when every file's mtime and ctime are older than that clock: a file changed after its stat
shows a newer ctime next time. Never kept: a run with notes (the cache was not whole), --no-cache,
--verbose (it describes the tool as it is now), the kubeconform validator (a program of its own), a
repository holding a symlink in models/ or under the generated roots (its target is not stat-ed), a run
one of whose builds may read outside the generated roots (Result.uncached: a hand-edited kustomization naming
`../../../extra`, whose files no stat here covers), or one without a lock file (no clock). The entry is signed with the machine's key like every cache
entry (tree/cache.py): a repository cannot plant or alter one, and an entry that does not verify or
parse is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops import __version__
from mlgitops.check.kubecheck import libraries
from mlgitops.check.result import Result
from mlgitops.kube import kustomize
from mlgitops.kube import schemas as kubeschemas
from mlgitops.report.findings import FatalError, Finding
from mlgitops.spec.repo import CONFIG_FILE, GENERATED_ROOTS, MODELS_DIR
from mlgitops.tree import cache, writer

FORMAT = "check memo 1"
_STAT = struct.Struct("<QQQqqI")  # inode, device, size, mtime_ns, ctime_ns, mode


class _Symlink(Exception):
    """A symlink where check reads: its target's changes would not show in its own stat."""


@dataclass(frozen=True)
class Snapshot:
    digest: str  # of every (path, packed lstat), sorted by path
    newest: int  # the latest mtime or ctime of them, in ns
    stats: dict[str, os.stat_result]  # each file's lstat, by path: a miss's pipeline scans with them (Seen)


@dataclass(frozen=True)
class Seen:
    """What a memo's lookup found on disk, for the pipeline's scan on a miss (the tree is stat-ed once): the
    file system's clock read before the stats were taken, and each file's lstat by path."""

    stamp: int
    stats: dict[str, os.stat_result]


Found = list[tuple[str, os.stat_result]]  # path, lstat


def _walk(folder: str, prefix: str, out: Found, folders: bool) -> None:
    """Every entry under folder, at any depth (a stack, no recursion: a tree 2,000 folders deep is no
    RecursionError); each sub-folder's own stat too when folders (models/: a sub-folder is a finding, empty or
    not, and so is a spec-named file in it)."""
    append = out.append
    todo = [(folder, prefix)]
    while todo:
        here, at = todo.pop()
        try:
            entries = list(os.scandir(here))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if folders:
                    append((f"{at}{entry.name}/", entry.stat(follow_symlinks=False)))
                todo.append((entry.path, f"{at}{entry.name}/"))
            elif entry.is_symlink():
                raise _Symlink(at + entry.name)
            else:
                append((at + entry.name, entry.stat(follow_symlinks=False)))


def _top(root: str, name: str, out: Found) -> bool:
    """A top-level entry's stat (absent: nothing); whether it is a folder."""
    try:
        info = os.lstat(os.path.join(root, name))
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        raise _Symlink(name)
    out.append((name, info))
    return stat.S_ISDIR(info.st_mode)


def snapshot(root: Path) -> Snapshot | None:
    """The stat of everything check reads in the repository; None when it holds a symlink there (or cannot be
    listed): then nothing is kept."""
    base = str(root)
    found: Found = []
    try:
        for name in (CONFIG_FILE, cache.LEGACY_DIR):
            _top(base, name, found)
        for name in (MODELS_DIR, *GENERATED_ROOTS):
            if _top(base, name, found):
                _walk(os.path.join(base, name), f"{name}/", found, folders=name == MODELS_DIR)
    except (_Symlink, OSError):
        return None
    found.sort(key=lambda item: item[0])
    pack = _STAT.pack
    # each path (no NUL in it), a NUL, then its stat packed (fixed size): one string for the whole listing
    listing = b"".join(path.encode("utf-8", "surrogateescape") + b"\0" + pack(
        info.st_ino, info.st_dev, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode)
        for path, info in found)
    newest = max((max(info.st_mtime_ns, info.st_ctime_ns) for _, info in found), default=0)
    return Snapshot(hashlib.sha256(listing).hexdigest(), newest, dict(found))


def _salt(shard: str) -> str | None:
    """What besides the repository's files decides a verdict; None when the kustomize cannot be found (the
    pipeline then says why)."""
    try:
        tool = kustomize.find()
    except FatalError:
        return None
    return cache.key(FORMAT, __version__, cache.code_fingerprint(), tool.identity(), libraries(),
                     kubeschemas.crd_fingerprint(), shard)


def _encode(result: Result) -> bytes:
    needs = {ns: [sorted(secrets), sorted(operators)] for ns, (secrets, operators) in result.needs.items()}
    return json.dumps({"findings": [f.as_record() for f in result.findings], "models": result.models,
                       "overlays": result.overlays, "resources": result.resources,
                       "exceptions": result.exceptions, "prerequisites": result.prerequisites,
                       "budgets": result.budgets, "needs": needs}).encode()


def _decode(payload: bytes) -> Result | None:
    try:
        data: Any = json.loads(payload)
        return Result(findings=[Finding.from_dict(d) for d in data["findings"]], models=int(data["models"]),
                      overlays=int(data["overlays"]), resources=int(data["resources"]),
                      cache_hits=int(data["overlays"]),  # every unit's result from the cache, as a warm run's
                      exceptions=[(str(a), str(b), str(c), str(d)) for a, b, c, d in data["exceptions"]],
                      prerequisites=[str(line) for line in data["prerequisites"]],
                      budgets=[str(line) for line in data["budgets"]],
                      needs={str(ns): (set(s), set(o)) for ns, (s, o) in data["needs"].items()})
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class Memo:
    """lookup() before the pipeline runs, keep() after it ran (on a miss)."""

    def __init__(self, root: Path):
        self.root = root
        self.store = cache.Store(root, "check-memo")
        self.stamp: int | None = None
        self.digest: str | None = None
        self.newest = 0
        self.seen: Seen | None = None  # what the lookup found on disk, when its clock could be read

    def lookup(self, shard: str) -> Result | None:
        if not self.store.enabled:
            return None
        self.stamp = writer.clock(self.root)  # before the stats: see the racy case above
        taken = snapshot(self.root)
        salt = _salt(shard)
        if taken is not None and self.stamp is not None:
            self.seen = Seen(self.stamp, taken.stats)
        if taken is None or salt is None:
            return None
        self.digest, self.newest = cache.key(salt, taken.digest), taken.newest
        payload = self.store.get(self.digest)
        return None if payload is None else _decode(payload)

    def keep(self, result: Result) -> None:
        """Keep the pipeline's result, when it is whole and every file seen is older than the clock."""
        if self.digest is None or self.stamp is None or self.newest >= self.stamp or result.notes or result.uncached:
            return
        self.store.put(self.digest, _encode(result))
