"""Check's unit results, read in one go: the last run's results in one signed file.

A warm check used to open, verify and parse one cache entry per unit (900 files at N=300). The index
(the cache's results-index/) holds a copy of every unit result of the last run of this shard, under the
same digests as the per-unit entries in results/, in one file signed like every entry (HMAC under this
machine's key over the kind, the name and the payload: a repository cannot plant or edit one) and
marshalled (fast; only a payload whose signature verifies is unmarshalled).

A copy is used only while the entry it was taken from is still the very same file (inode, size, times:
one stat, no read): an entry removed, replaced, truncated or rewritten makes the copy stale, and the
entry itself is read as before (a miss unless it verifies). So forgetting the results (rm -r results/)
forgets the index too, and the index never answers what the per-unit store would not.
"""

from __future__ import annotations

import marshal
from pathlib import Path

from mlgitops.tree import cache

Identity = cache.FileStat




def _valid(found: object) -> bool:
    return isinstance(found, dict) and all(
        isinstance(k, str) and isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], dict)
        for k, v in found.items())


class ResultIndex:
    """get/put of unit results by digest, like cache.JsonStore, plus save() of the run's index."""

    def __init__(self, root: Path, enabled: bool = True, name: str = ""):
        self.entries = cache.JsonStore(root, enabled)
        self.index = cache.Store(root, "results-index", enabled)
        self.name = cache.key("results index", name)
        self.loaded: dict[str, tuple[Identity, dict]] = self._load()
        self.used: dict[str, tuple[Identity, dict]] = {}
        self.index_hits = 0

    @property
    def enabled(self) -> bool:
        return self.entries.store.enabled and self.index.enabled

    @property
    def hits(self) -> int:
        return self.index_hits + self.entries.hits

    @property
    def warnings(self) -> list[str]:
        return self.entries.warnings + [w for w in self.index.warnings if w not in self.entries.warnings]

    def _load(self) -> dict[str, tuple[Identity, dict]]:
        return cache.load_marshalled(self.index, self.name, _valid) or {}

    def _keep(self, digest: str, record: dict) -> None:
        identity = cache.file_stat(self.entries.store.path(digest))
        if identity is not None:
            self.used[digest] = (identity, record)

    def get(self, digest: str) -> dict | None:
        copy = self.loaded.get(digest)
        if copy is not None and cache.file_stat(self.entries.store.path(digest)) == copy[0]:
            self.index_hits += 1
            self.used[digest] = copy
            return copy[1]
        record = self.entries.get(digest)
        if not isinstance(record, dict):
            return None
        self._keep(digest, record)
        return record

    def put(self, digest: str, record: dict) -> None:
        self.entries.put(digest, record)
        if self.entries.store.enabled:
            self._keep(digest, record)

    def save(self) -> None:
        """Write the index of this run's units, unless it holds exactly what was read."""
        if not self.enabled or self.used == self.loaded:
            return
        try:
            payload = marshal.dumps(self.used)
        except ValueError:  # a value marshal cannot hold: the per-unit entries serve the next run
            return
        self.index.put(self.name, payload)
