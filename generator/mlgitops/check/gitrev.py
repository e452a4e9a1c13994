"""The Git side of `mlgitops diff` (an I/O edge): which revision to compare with, and its files.

Nothing is unpacked: `git ls-tree` lists the generated files of the base revision with their blob
ids, the working tree's files get the same ids by hashing their bytes as Git does, and only the
blobs of overlays that differ are read, in one `git cat-file --batch`.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlgitops.report.findings import FatalError

ROOTS = ("base", "overlays")
# Where the default branch is looked for, in order: the remote's own HEAD, then the usual names.
DEFAULT_BRANCHES = (("origin/main", "refs/remotes/origin/main"), ("origin/master", "refs/remotes/origin/master"),
                    ("main", "refs/heads/main"), ("master", "refs/heads/master"))
FETCH_HINT = ("in CI, fetch the history first (actions/checkout with fetch-depth: 0, or git fetch origin <branch>); "
              "or pass --base REV")


@dataclass(frozen=True)
class Base:
    """The revision a diff compares with. commit "" means none: there is no commit yet, so everything is new."""

    name: str  # what the user or the default chose: "origin/main", "HEAD", a --base value
    commit: str = ""
    how: str = ""  # "merge base", or why the default fell back

    @property
    def short(self) -> str:
        return self.commit[:12]

    def describe(self) -> str:
        """For the output's first line: `main (merge base 0123456789ab)`."""
        if not self.commit:
            return "none (no commit yet: everything is new)"
        detail = f"{self.how} {self.short}" if self.how == "merge base" else self.short
        if self.how and self.how != "merge base":
            detail += f"; {self.how}"
        return f"{self.name} ({detail})"

    @property
    def label(self) -> str:
        """How the unified diff names the old side: `built at <label>`."""
        if not self.commit:
            return "no commit"
        return self.short if self.how == "merge base" else self.name


def _git(root: Path, *args: str, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True, check=False)
    except OSError as exc:
        raise FatalError(f"cannot run git: {exc.strerror or exc}", "install git; mlgitops diff compares Git revisions") from None
    if check and proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise FatalError(f"git {' '.join(args[:2])} failed: {message[-1] if message else f'exit {proc.returncode}'}",
                         FETCH_HINT)
    return proc


def _commit(root: Path, rev: str) -> str | None:
    if not rev or rev.startswith("-"):  # never an option to git
        return None
    proc = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def _require_repository(root: Path) -> None:
    proc = _git(root, "rev-parse", "--is-inside-work-tree", check=False)
    if proc.returncode != 0 or proc.stdout.strip() != b"true":
        raise FatalError(f"{root} is not inside a Git work tree, so there is no revision to compare with",
                         "run mlgitops diff in a Git checkout (git init, then commit)")


def default_branch(root: Path) -> str | None:
    """The default branch: origin's HEAD if known, else origin/main, origin/master, main, master."""
    proc = _git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False)
    remote_head = proc.stdout.decode().strip()
    if proc.returncode == 0 and remote_head and _commit(root, remote_head):
        return remote_head
    for name, ref in DEFAULT_BRANCHES:
        if _commit(root, ref):
            return name
    return None


def resolve(root: Path, rev: str | None) -> Base:
    """The revision to compare with: --base as given, else the merge base of HEAD and the default branch."""
    _require_repository(root)
    if rev is not None and rev.endswith("...") and len(rev) > 3:  # as `git diff main...`: since the fork
        return _merge_base(root, rev, rev[:-3])
    if rev is not None:
        commit = _commit(root, rev)
        if commit is None:
            raise FatalError(f"--base {rev!r} is not a commit in this repository",
                             "name a branch, tag or commit that exists here; " + FETCH_HINT)
        return Base(rev, commit)
    head = _commit(root, "HEAD")
    if head is None:
        return Base("none")
    branch = default_branch(root)
    if branch is None:
        return Base("HEAD", head, "no default branch (origin/HEAD, origin/main, origin/master, main, master): "
                    "only uncommitted changes show; pass --base REV")
    return _merge_base(root, branch, _full_ref(branch))


def _merge_base(root: Path, name: str, ref: str) -> Base:
    if _commit(root, ref) is None:
        raise FatalError(f"--base {name!r} is not a commit in this repository",
                         "name a branch, tag or commit that exists here; " + FETCH_HINT)
    if _commit(root, "HEAD") is None:
        return Base("none")
    proc = _git(root, "merge-base", "HEAD", ref, check=False)
    merge_base = proc.stdout.decode().strip()
    if proc.returncode != 0 or not merge_base:
        raise FatalError(f"HEAD and {ref} have no common commit (a shallow clone, or unrelated histories)",
                         FETCH_HINT)
    return Base(name, merge_base, "merge base")


def _full_ref(name: str) -> str:
    for short, ref in DEFAULT_BRANCHES:
        if short == name:
            return ref
    return f"refs/remotes/{name}" if name.startswith("origin/") else name


def listing(root: Path, base: Base, roots: tuple[str, ...] = ROOTS) -> dict[str, str]:
    """The regular files under base/ and overlays/ (or these roots) at the base revision: path (relative to
    root) -> blob id."""
    if not base.commit:
        return {}
    out = _git(root, "ls-tree", "-r", "-z", base.commit, "--", *roots).stdout
    files = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        mode, kind, blob = meta.split(b" ")
        if kind == b"blob" and mode in (b"100644", b"100755"):  # symlinks and submodules: as writer.scan skips them
            files[path.decode("utf-8", "surrogateescape")] = blob.decode()
    return files


def blob_id(content: bytes, commit: str = "") -> str:
    """The id Git gives these bytes as a blob (SHA-256 in a SHA-256 repository)."""
    digest = hashlib.sha256() if len(commit) == 64 else hashlib.sha1()  # Git's object id
    digest.update(b"blob %d\0" % len(content))
    digest.update(content)
    return digest.hexdigest()


def read_blobs(root: Path, ids: set[str]) -> dict[str, bytes]:
    """The contents of these blobs, read in one `git cat-file --batch`."""
    if not ids:
        return {}
    order = sorted(ids)
    out = _git(root, "cat-file", "--batch", stdin="".join(f"{i}\n" for i in order).encode()).stdout
    blobs: dict[str, bytes] = {}
    pos = 0
    for blob in order:
        end = out.index(b"\n", pos)
        header = out[pos:end].split(b" ")
        if len(header) != 3 or header[1] != b"blob":
            raise FatalError(f"git cat-file cannot read blob {blob}: {out[pos:end].decode(errors='replace')}",
                             "the repository may be incomplete (a partial clone?); " + FETCH_HINT)
        size = int(header[2])
        blobs[blob] = out[end + 1:end + 1 + size]
        pos = end + 1 + size + 1
    return blobs
