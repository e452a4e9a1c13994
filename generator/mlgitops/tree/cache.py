"""The content-addressed cache, kept outside the repository and signed with a per-machine key.

The API is two calls on a `Store`, one folder per kind of result:

    store = Store(root, "results")          # <cache home>/<repo id>/results/
    digest = key(salt, spec_bytes, ...)      # every input that can change the result
    payload = store.get(digest)              # bytes, or None: a miss
    store.put(digest, payload)               # never raises: a cache that cannot be written is only slower

`JsonStore` and `TreeCache` wrap a Store for JSON values (check results) and generated trees.

A repository is untrusted input (a pull request can commit any file), so a cache entry must be
something it cannot forge:

- the cache lives outside the work tree: `$MLGITOPS_CACHE_DIR`, else `$XDG_CACHE_HOME/mlgitops`, else
  `~/.cache/mlgitops`, one folder per repository (a hash of its resolved path). A cache home inside the
  repository is refused (a run without the cache, one warning). A `.mlgitops-cache` folder in the
  repository (where older versions kept it, or planted by a commit) is never read: `generate` flags it.
- every entry is signed: HMAC-SHA256 with a random key of this machine over the kind of store, the
  full key and the payload. The key file (`$MLGITOPS_CACHE_KEY`, else `$XDG_STATE_HOME/mlgitops/cache-key`,
  else `~/.local/state/mlgitops/cache-key`) is created 0600, apart from the cache, so a cache folder
  copied from elsewhere (a CI cache restored from another run) is only misses.

Anything that does not verify is a miss: an entry copied over another, or under another model's key,
truncated, corrupted, forged, or written by another version of the format. Only regular files are
read (no symlink followed, no FIFO or device opened for long), up to MAX_ENTRY bytes. A cache that
cannot be used (its folder or key cannot be made) makes a cache-less run with one warning in
`Store.warnings`, never an error. And a cache never decides a verdict on its own: the writer proves
every path of a tree, from the cache or not, before it writes anything (writer.plan).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import marshal
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlgitops.tree.writer import write_atomic

LEGACY_DIR = ".mlgitops-cache"  # where the cache once lived, in the repository: never read, flagged
HOME_ENV = "MLGITOPS_CACHE_DIR"
KEY_ENV = "MLGITOPS_CACHE_KEY"
MAGIC = b"mlgitops-cache 3\n"
MAX_ENTRY = 64 << 20  # bytes; a larger file is not an entry we wrote
KEY_BYTES = 32


class Unusable(Exception):
    """Why the cache cannot be used in this run (said once as a warning, never an error)."""


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / fallback


def home() -> Path:
    """The folder holding every repository's cache on this machine."""
    value = os.environ.get(HOME_ENV, "")
    return Path(value).absolute() if value else _xdg("XDG_CACHE_HOME", ".cache") / "mlgitops"


def key_file() -> Path:
    value = os.environ.get(KEY_ENV, "")
    return Path(value).absolute() if value else _xdg("XDG_STATE_HOME", ".local/state") / "mlgitops" / "cache-key"


def location(root: Path) -> Path:
    """This repository's cache folder: one per resolved repository path, outside the repository."""
    real = os.path.realpath(root)
    return home() / hashlib.sha256(os.fsencode(real)).hexdigest()[:32]


def _inside(path: Path, root: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _read_key(path: Path, create: bool = True) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return _create_key(path) if create else None
    except OSError as exc:
        raise Unusable(f"cannot read the cache key {path} ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise Unusable(f"the cache key {path} is not a file of yours that only you can read (mode 0600)")
        secret = handle.read(KEY_BYTES + 1)
    if len(secret) != KEY_BYTES:
        raise Unusable(f"the cache key {path} is damaged (delete it: a new one is made)")
    return secret


def _create_key(path: Path) -> bytes:
    secret = os.urandom(KEY_BYTES)
    try:
        os.makedirs(path.parent, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # another run made it first
        return _read_key(path, create=False) or b""
    except OSError as exc:
        raise Unusable(f"cannot create the cache key {path} ({exc.strerror or exc})") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    return secret


_secrets: dict[Path, bytes] = {}


def _secret(path: Path, create: bool = True) -> bytes | None:
    """The machine's key; made on first use by a run that writes (a read-only run never creates it)."""
    if path not in _secrets:
        secret = _read_key(path, create)
        if secret is None:
            return None
        _secrets[path] = secret
    return _secrets[path]


def open_cache(root: Path) -> Path:
    """This repository's cache folder, or Unusable saying why it cannot be used."""
    folder = location(root)
    for what, path in (("cache folder", folder), ("cache key", key_file())):
        if _inside(path, root):
            raise Unusable(f"the {what} {path} is inside the repository, where a commit could plant it "
                           f"(set {HOME_ENV} / {KEY_ENV} to a folder outside it)")
    return folder


def _sources(folder: str, rel: str = "") -> list[tuple[str, str]]:
    """(path relative to the package, full path) of every .py file under folder (os.scandir: pathlib's rglob
    cost most of the fingerprint, which every run takes)."""
    found = []
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            found += _sources(entry.path, f"{rel}{entry.name}/")
        elif entry.name.endswith(".py"):
            found.append((rel + entry.name, entry.path))
    return found


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of mlgitops's own source and schemas: an edited generator never reuses old results."""
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    h = hashlib.sha256()
    for rel, path in sorted(_sources(package)):
        h.update(rel.encode())
        with open(path, "rb") as handle:
            h.update(handle.read())
    for name, read in _schemas():
        if name.endswith(".json"):
            h.update(name.encode())
            h.update(read())
    return h.hexdigest()


def _schemas() -> list[tuple[str, Callable[[], bytes]]]:
    """(name, a function reading it) of each file of the package mlgitops.schemas, by name: from its folder
    (importlib.resources, ~5 ms to import, only for a package that is not one)."""
    import importlib.util

    spec = importlib.util.find_spec("mlgitops.schemas")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if len(folders) == 1:
        return sorted((e.name, Path(e.path).read_bytes) for e in os.scandir(folders[0]) if e.is_file())
    from importlib import resources

    return sorted((e.name, e.read_bytes) for e in resources.files("mlgitops.schemas").iterdir())


def key(*parts: bytes | str) -> str:
    """A cache key (64 hex digits) over parts, each length-prefixed so no two lists of parts collide."""
    chunks: list[bytes] = []  # one update of the joined bytes: ~15% less time than two a part (~40 small parts)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        chunks += (len(data).to_bytes(8, "big"), data)
    return hashlib.sha256(b"".join(chunks)).hexdigest()


def _checksum(secret: bytes, kind: str, digest: str, payload: bytes) -> bytes:
    """HMAC-SHA256 under this machine's key: without the key, no one can make an entry that verifies."""
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    for part in (MAGIC, kind.encode(), digest.encode(), payload):
        mac.update(len(part).to_bytes(8, "big"))
        mac.update(part)
    return mac.hexdigest().encode()


def encode(secret: bytes, kind: str, digest: str, payload: bytes) -> bytes:
    """An entry file: the format, the full key, a signature over kind + key + payload, the payload."""
    return MAGIC + digest.encode() + b"\n" + _checksum(secret, kind, digest, payload) + b"\n" + payload


def decode(secret: bytes, kind: str, digest: str, blob: bytes) -> bytes | None:
    """The payload of an entry file, or None unless it is whole, signed with this machine's key and
    was written for exactly this key."""
    head = len(MAGIC)
    if not blob.startswith(MAGIC) or len(blob) < head + 130:
        return None
    stored_key, stored_sum, payload = blob[head:head + 64], blob[head + 65:head + 129], blob[head + 130:]
    if stored_key != digest.encode() or not hmac.compare_digest(stored_sum, _checksum(secret, kind, digest, payload)):
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


def legacy(root: Path) -> bool:
    """Whether the repository holds a `.mlgitops-cache` (committed or planted): never read."""
    return os.path.lexists(root / LEGACY_DIR)


class Store:
    """Entries of one kind (a folder in this repository's cache), get and put by key; bytes in, bytes out."""

    def __init__(self, root: Path, kind: str, enabled: bool = True):
        self.kind = kind
        self.warnings: list[str] = []
        self.folder = Path(os.devnull)
        if enabled:
            try:
                self.folder = open_cache(root) / kind
            except Unusable as exc:
                self.warnings.append(f"{exc}: running without the cache")
                enabled = False
        self.enabled = enabled
        self.hits = 0
        self.misses = 0
        self._secret: bytes | None = None

    def path(self, digest: str) -> Path:
        return Path(self._where(digest))

    def _where(self, digest: str) -> str:
        return os.path.join(self.folder, digest[:2], digest)

    def secret(self, create: bool) -> bytes | None:
        """The machine's key, or None (no key yet, and create is False); a key that cannot be used
        turns the cache off with one warning."""
        if self._secret is not None:  # one look-up of the key file per store, not one per entry
            return self._secret
        try:
            self._secret = _secret(key_file(), create)
            return self._secret
        except Unusable as exc:
            self.enabled = False
            self.warnings.append(f"{exc}: running without the cache")
            return None

    def get(self, digest: str) -> bytes | None:
        if not self.enabled:
            return None
        secret = self.secret(create=False)
        blob = read_regular(self._where(digest)) if secret else None
        payload = None if blob is None or secret is None else decode(secret, self.kind, digest, blob)
        if payload is None:
            self.misses += 1
        else:
            self.hits += 1
        return payload

    def put(self, digest: str, payload: bytes) -> None:
        if not self.enabled:
            return
        secret = self.secret(create=True)
        if not secret:
            return
        try:
            write_atomic(self._where(digest), encode(secret, self.kind, digest, payload))
        except OSError as exc:  # a cache that cannot be written only makes the next run slower
            self.enabled = False
            self.warnings.append(f"cannot write the cache in {self.folder.parent} ({exc.strerror or exc}): "
                                 "running without it")


class JsonStore:
    """Check's per-overlay results (the cache's results/): JSON values, by key."""

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
    """Generated files per model spec (the cache's generate/; the clusters' files in clusters/), keyed on everything
    that decides them (marshal: fast and bytes-safe; only entries whose checksum matches are unmarshalled)."""

    def __init__(self, root: Path, enabled: bool = True, kind: str = "generate"):
        self.store = Store(root, kind, enabled)

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
        if not {*map(type, tree)} <= {str} or not {*map(type, tree.values())} <= {bytes}:  # (marshal makes no subclass)
            return None
        return name, tree

    def put(self, digest: str, name: str, tree: dict[str, bytes]) -> None:
        self.store.put(digest, marshal.dumps((name, tree)))


def file_identity(path: str) -> str:
    """Identity of a program: its resolved path, size, times and inode (content too when small). kube.kustomize is
    imported here: generate, which names no program, then imports neither it nor subprocess, shlex, Go's YAML
    rules and yaml_rs (~0.02 s of every run)."""
    from mlgitops.kube.kustomize import file_fingerprint

    return file_fingerprint(path)


FileStat = tuple[int, int, int, int, int]  # (device, inode, size, mtime_ns, ctime_ns) of a regular file


def file_stat(path: str | os.PathLike[str]) -> FileStat | None:
    """What changes whenever a file is replaced or written (device, inode, size, both times), from lstat;
    None for what is not a regular file (a symlink included) or is not there."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def load_marshalled(store: Store, name: str, valid: Callable[[object], bool]) -> Any:
    """A signed entry holding marshalled plain data, or None when it is missing, damaged or not what
    valid accepts (every index kept in the cache is read so: a bad one is as good as none)."""
    payload = store.get(name) if store.enabled else None
    if payload is None:
        return None
    try:
        found = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    return found if valid(found) else None
