"""The generated tree against the disk: plan, diff, and atomic writes under a lock (the output edge)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.report import interrupts, textdiff
from mlgitops.report.findings import FatalError, Finding, Position
from mlgitops.spec.repo import GENERATED_ROOTS, MODELS_DIR

if TYPE_CHECKING:  # layout imports the render stage: the cache (check's warm path) needs writer, not layout
    from mlgitops.tree.layout import Tree

LOCK_FILE = ".mlgitops.lock"
PAUSE_ENV = "MLGITOPS_TEST_PAUSE"  # tests only: "<point>:<folder>" waits at that point (see pause)
PAUSE_LIMIT = 30.0  # seconds a paused run waits at most
# write_atomic's temp files: `.<name>.<pid>.tmp`. One left on disk is from a run killed mid-write.
TEMP_FILE = re.compile(r"^\..+\.\d+\.tmp$")
WAIT_NOTICE = 1.0  # seconds of waiting on the lock before saying so


@dataclass
class Plan:
    write: dict[str, bytes] = field(default_factory=dict)  # new or changed files
    delete: list[str] = field(default_factory=list)  # generated files no spec produces any more
    unchanged: int = 0
    findings: list[Finding] = field(default_factory=list)  # hand-edited files in the way
    leftovers: list[str] = field(default_factory=list)  # temp files of a killed run, removed by apply
    edited: list[str] = field(default_factory=list)  # generated files edited by hand since, header kept
    before: dict[str, bytes | None] = field(default_factory=dict)  # what apply changes, as it was (None: absent)
    times: dict[str, tuple[int, int]] = field(default_factory=dict)  # and their (atime, mtime) in ns

    @property
    def changed(self) -> bool:
        return bool(self.write or self.delete or self.leftovers)


def is_temp(path: str) -> bool:
    return path.endswith(".tmp") and bool(TEMP_FILE.match(path.rsplit("/", 1)[-1]))


def leftover_findings(the_plan: Plan) -> list[Finding]:
    return [Finding("leftover-temp", "is a temp file left by an interrupted mlgitops run", path, Position(),
                    "run 'mlgitops generate' to remove it") for path in the_plan.leftovers]


Files = Callable[[str, list[os.DirEntry[str]], "Tree"], None]  # fills a Tree with one folder's files


def scan(root: Path, roots=GENERATED_ROOTS, files: Files | None = None) -> Tree:
    """Every regular file under the generated roots (symlinks are not followed). files, when given, puts each
    folder's files in the tree instead of read_files (tree/stat_index.py: it reads only what it cannot vouch for)."""
    out: Tree = {}
    fill = read_files if files is None else files
    for prefix, found in _folders(root, roots):
        fill(prefix, found, out)
    if roots == GENERATED_ROOTS:  # set and promote write specs atomically too: a killed one leaves its temp file
        out.update(dict.fromkeys(spec_temps(root), b""))
    return out


def _folders(root: Path, roots: tuple[str, ...]) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """(the folder's path relative to root with a final /, its regular files) for each folder under roots."""
    base = str(root)
    stack = [(os.path.join(base, top), f"{top}/") for top in roots if not os.path.islink(os.path.join(base, top))]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise FatalError(f"cannot read {folder}: {exc.strerror or exc}", "make it readable") from None
        files = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, f"{prefix}{entry.name}/"))
            elif entry.is_file(follow_symlinks=False):
                files.append(entry)
        yield prefix, files


def read_files(prefix: str, files: list[os.DirEntry[str]], out: Tree) -> None:
    """Each file's bytes into out under prefix + its name (a temp file: only its name matters)."""
    for entry in files:
        rel = prefix + entry.name
        out[rel] = b"" if rel.endswith(".tmp") and is_temp(rel) else _read(entry.path)


def clock(root: Path) -> int | None:
    """The file system's clock now, in ns, as a file changed now would show it (mtime and ctime come from
    a coarser clock than time.time_ns); read by touching the lock file (generate holds the lock; check
    touches it only when it exists, never creating it). None when it cannot be read."""
    path = os.path.join(root, LOCK_FILE)
    try:
        os.utime(path, follow_symlinks=False)  # a planted symlink: its own times, nothing outside
        info = os.lstat(path)
    except OSError:
        return None
    return min(info.st_mtime_ns, info.st_ctime_ns)


def _read(path: str) -> bytes:
    try:  # os.read, not a file object: an unchanged run reads every generated file, ~20,000 of them
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    except OSError as exc:
        raise FatalError(f"cannot read {path}: {exc.strerror or exc}", "make it readable") from None


def spec_temps(root: Path) -> list[str]:
    """Temp files of write_atomic in models/ (`.<spec>.<pid>.tmp`, left by a killed set or promote)."""
    try:
        entries = list(os.scandir(os.path.join(str(root), MODELS_DIR)))
    except OSError:
        return []
    return sorted(f"{MODELS_DIR}/{e.name}" for e in entries if is_temp(e.name) and e.is_file(follow_symlinks=False))


# A path under a generated root made of parts that are not empty, `.` or `..` and hold no backslash or NUL.
_PLAIN_GENERATED = re.compile("(?:" + "|".join(map(re.escape, GENERATED_ROOTS)) + r")(?:/(?!\.\.?(?:/|\Z))[^/\\\x00]+)+")


def outside(path: str) -> str | None:
    """Why path is not a file of the generated tree (None when it is): it must be relative, plain
    (no empty, `.` or `..` part, no backslash or NUL) and under base/, overlays/ or clusters/.
    Whatever a path comes from (a render, the cache), this is proven before anything is written."""
    if _PLAIN_GENERATED.fullmatch(path):  # the common case, proven in one match
        return None
    parts = path.split("/")
    if path.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\\" in path or "\0" in path:
        return "is not a plain relative path"
    if len(parts) < 2 or parts[0] not in GENERATED_ROOTS:
        return f"is not under {', '.join(r + '/' for r in GENERATED_ROOTS)}"
    return None


def _outside_finding(path: str, why: str) -> Finding:
    return Finding("path-outside", f"the generated tree names a file that {why}: nothing is written",
                   path.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace"), Position(),
                   "delete the cache folder (a forged or damaged entry) and report this if it persists")


def plan(tree: Tree, disk: Tree, root: Path) -> Plan:
    result = Plan()
    strays = [(path, why) for path in tree if (why := outside(path))]
    if strays:  # refused as a whole: a tree naming one file out of place is not a tree to write
        result.findings = [_outside_finding(path, why) for path, why in sorted(strays)]
        return result
    get = disk.get
    changed = sorted(path for path, content in tree.items() if get(path) != content)  # few, on most runs
    result.unchanged = len(tree) - len(changed)
    folders_ok: set[str] = set()
    for path in changed:
        _plan_write(result, root, path, tree[path], get(path), folders_ok)
    _plan_deletions(result, tree, disk, root)
    result.edited = _edited(result, disk)
    return result


def _plan_write(result: Plan, root: Path, path: str, content: bytes, current: bytes | None,
                folders_ok: set[str]) -> None:
    """One file whose content differs from the disk's: written, or a finding when a person's file or a
    symlink is in the way (folders_ok: the folders already proven, for the files that follow)."""
    from mlgitops.tree.layout import is_generated

    if current is not None and not is_generated(current):
        result.findings.append(Finding(
            "hand-edited", "this file was edited by hand (its 'Generated by mlgitops' header is gone); "
            "mlgitops will not overwrite it", path, Position(1, 1),
            "move the change into the model spec (an environment override or patch), then delete the file"))
        return
    folder = path.rsplit("/", 1)[0]
    blocker = None if folder in folders_ok else blocking_parent(root, path)
    if blocker is None and current is None:
        folders_ok.add(folder)
    if blocker:
        result.findings.append(Finding("path-blocked", f"cannot write {path}: {blocker} is a symlink or not a "
                                       "folder", blocker, Position(1, 1), "move it away"))
        return
    result.write[path] = content
    _remember(result, root, path, current)


def _plan_deletions(result: Plan, tree: Tree, disk: Tree, root: Path) -> None:
    """Generated files no spec produces any more, and temp files of a killed run."""
    from mlgitops.tree.layout import is_generated

    for path in sorted(disk.keys() - tree.keys()):
        content = disk[path]
        if is_temp(path):
            result.leftovers.append(path)
        elif is_generated(content):
            result.delete.append(path)
            _remember(result, root, path, content)


def _remember(the_plan: Plan, root: Path, path: str, content: bytes | None) -> None:
    """What undo needs to put a file back as it was: its bytes and times."""
    the_plan.before[path] = content
    if content is not None:
        with contextlib.suppress(OSError):
            info = os.stat(root / path, follow_symlinks=False)
            the_plan.times[path] = (info.st_atime_ns, info.st_mtime_ns)


def _edited(result: Plan, disk: Tree) -> list[str]:
    """The files the plan overwrites or deletes that were edited by hand since they were generated."""
    from mlgitops.tree.layout import edited_by_hand

    return [p for p in sorted([*result.write, *result.delete]) if p in disk and edited_by_hand(disk[p])]


def blocking_parent(root: Path, path: str) -> str | None:
    """The first part of path that is in the way: a file where a folder belongs, or any symlink
    (writing through one could land outside the repository or over a person's file)."""
    parts = path.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        candidate = root.joinpath(*parts[:i])
        if candidate.is_symlink() or (candidate.exists() and not candidate.is_dir()):
            return "/".join(parts[:i])
        if not candidate.exists():
            return None
    target = root / path
    if target.is_dir() or target.is_symlink():
        return path
    if not parts:  # a file at the top of the repository (init's mlgitops.yaml)
        return None
    real, top = os.path.realpath(target), os.path.realpath(root / parts[0])
    if not real.startswith(top + os.sep):  # a symlinked repository root's parts resolve together
        return parts[0]
    return None


def unified_diff(tree: Tree, disk: Tree, the_plan: Plan) -> str:
    chunks: list[str] = []
    for path in sorted([*the_plan.write, *the_plan.delete]):
        old = disk.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = tree.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        a = f"a/{path}" if path in disk else "/dev/null"
        b = f"b/{path}" if path in tree else "/dev/null"
        chunks.extend(textdiff.unified(old, new, a, b))
    return "".join(chunks)


_held: dict[str, int] = {}  # repositories whose lock this process holds, and how many times


def pause(point: str) -> None:
    """Tests only: with MLGITOPS_TEST_PAUSE=<point>:<folder>, create <folder>/<point>.paused and wait
    (at most PAUSE_LIMIT seconds) for <folder>/<point>.go, so a test can act at exactly this moment
    (start a concurrent run, send a signal)."""
    wanted, _, folder = os.environ.get(PAUSE_ENV, "").partition(":")
    if wanted != point or not folder:
        return
    Path(folder, f"{point}.paused").touch()
    deadline = time.monotonic() + PAUSE_LIMIT
    while not os.path.exists(os.path.join(folder, f"{point}.go")) and time.monotonic() < deadline:
        time.sleep(0.02)


@contextmanager
def locked(root: Path, timeout: float = 60.0, notify: Callable[[str], None] | None = None):
    """Hold the repository's lock file, so two runs cannot interleave their reads and writes (re-entrant
    within a process: set holds it around its edit, and the generate inside it takes it again). notify
    is told once when another run holds the lock for longer than WAIT_NOTICE."""
    held = os.path.realpath(root)
    if held in _held:
        _held[held] += 1
        try:
            yield
        finally:
            _held[held] -= 1
        return
    with _flocked(root, timeout, notify):
        _held[held] = 1
        try:
            yield
        finally:
            del _held[held]


@contextmanager
def _flocked(root: Path, timeout: float, notify: Callable[[str], None] | None):
    start = time.monotonic()
    told = False
    try:  # never through a symlink a repository planted there: opening one would create its target
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FatalError(f"the lock file {root / LOCK_FILE} is a symbolic link: nothing is written through it",
                             f"delete {LOCK_FILE} (mlgitops creates it as a plain file)") from None
        raise FatalError(f"cannot create the lock file {root / LOCK_FILE}: {exc.strerror or exc}",
                         f"generate writes into {root}: make it writable, or run 'mlgitops generate --check', "
                         "which writes nothing") from None
    with os.fdopen(fd, "r+b", buffering=0) as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited > timeout:
                    raise FatalError(f"another mlgitops run holds {LOCK_FILE}",
                                     f"wait for it to finish, or delete {LOCK_FILE} if no run is active") from None
                if notify is not None and not told and waited >= WAIT_NOTICE:
                    notify(f"waiting for another mlgitops run to finish (it holds {LOCK_FILE})")
                    told = True
                time.sleep(0.05)
        yield


def _create(tmp: str) -> int:
    """A new temp file, never an existing one or a symlink's target (a planted `.<name>.<pid>.tmp` link
    would otherwise have its target truncated): what is in the way is a leftover, removed once."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(tmp, flags, 0o666)
    except FileExistsError:
        os.unlink(tmp)  # the link or file itself, never what it points at
        return os.open(tmp, flags, 0o666)


def write_atomic(path: Path | str, content: bytes, make_parent: bool = True) -> None:
    """Write to a temp file in the same folder, then rename over the target: readers never see half a file."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    if make_parent:
        os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    try:  # from the open on: a Ctrl-C landing right after it still removes the temp file
        fd = _create(tmp)
        try:  # os.write, not a file object: generate writes ~20,000 files, and the object cost a third of each
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def unwritable(root: Path, the_plan: Plan) -> list[tuple[str, str]]:
    """(path, reason) for each folder the plan must change but cannot: a folder to write a file into
    (or to create one in) and a folder to delete a file from must be writable. Checked before the
    first write, so a permission problem leaves the tree as it was."""
    folders = {p.rsplit("/", 1)[0] for p in (*the_plan.write, *the_plan.delete, *the_plan.leftovers)}
    out: list[tuple[str, str]] = []
    checked: dict[str, str | None] = {}
    for folder in sorted(folders):
        probe = folder
        while not os.path.isdir(os.path.join(root, probe)) and "/" in probe:
            probe = probe.rsplit("/", 1)[0]  # a missing folder: its nearest existing parent creates it
        if not os.path.isdir(os.path.join(root, probe)):
            probe = "."
        if probe not in checked:
            path = os.path.join(root, probe)
            checked[probe] = None if os.access(path, os.W_OK | os.X_OK) else "not writable"
        reason = checked[probe]
        if reason and (probe, reason) not in out:
            out.append((probe, reason))
    return out


class PartialWrite(FatalError):
    """A write failed after others succeeded: names what was done, and how to repair it."""

    def __init__(self, failed: str, reason: str, done: list[str]):
        lines = [f"cannot write {failed}: {reason}"]
        if done:
            lines.append(f"the tree is partial: {len(done)} file{'s' * (len(done) != 1)} were already changed:")
            lines += [f"    {path}" for path in done]
        else:
            lines.append("no file was changed")
        super().__init__(lines[0], "fix the cause, then re-run 'mlgitops generate': it repairs the tree"
                         if done else "fix the cause, then re-run 'mlgitops generate'", tuple(lines[1:]))
        self.done = done


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while apply was changing the tree; str() says how much was done."""

    done: list[str] = []  # noqa: RUF012 (the files already changed, set on an instance when any were)


def apply(root: Path, the_plan: Plan, rollback: bool = False) -> None:
    """Change the disk as planned: write, delete, remove leftover temp files. Checks every target
    folder first; a failure or Ctrl-C part-way says which files were already changed. With rollback
    (set and promote, which restore the spec too), those files are first put back as they were."""
    try:
        _apply(root, the_plan)
    except (PartialWrite, Interrupted) as exc:
        done = getattr(exc, "done", [])
        if not rollback or not done:
            raise
        undone = undo(root, the_plan, done)
        if undone:
            raise
        if isinstance(exc, Interrupted):
            raise Interrupted("nothing was written (the files already changed were put back)") from None
        raise FatalError(f"{exc.message}; the {len(done)} files already changed were put back: the tree is as "
                         "it was", exc.hint) from None


def undo(root: Path, the_plan: Plan, done: list[str]) -> list[str]:
    """Put back the files apply changed (newest first), signals held off; the ones it could not."""
    failed = []
    with interrupts.deferred():
        for path in reversed(done):
            old = the_plan.before.get(path)
            try:
                if old is None:
                    (root / path).unlink(missing_ok=True)
                    _prune_empty(root, (root / path).parent)
                else:
                    write_atomic(root / path, old)
                    if path in the_plan.times:
                        os.utime(root / path, ns=the_plan.times[path])
            except OSError:
                failed.append(path)
    return failed


def _apply(root: Path, the_plan: Plan) -> None:
    blocked = unwritable(root, the_plan)
    if blocked:
        folder, reason = blocked[0]
        more = f" (and {len(blocked) - 1} more folders)" if len(blocked) > 1 else ""
        raise FatalError(f"cannot write into {root / folder if folder != '.' else root}: {reason}{more}; "
                         "nothing was written", "make it writable, then re-run 'mlgitops generate'")
    base = str(root)
    made: set[str] = set()
    done: list[str] = []
    current = ""
    try:
        for current, content in the_plan.write.items():
            interrupts.raise_if_received()
            target = os.path.join(base, current)
            folder = os.path.dirname(target)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            write_atomic(target, content, make_parent=False)
            done.append(current)
            if len(done) == 1:
                pause("tree-written")
        for current in (*the_plan.delete, *the_plan.leftovers):
            (root / current).unlink(missing_ok=True)
            done.append(current)
            _prune_empty(root, (root / current).parent)
    except OSError as exc:
        raise PartialWrite(current, exc.strerror or str(exc), done) from None
    except KeyboardInterrupt:
        if not done:
            raise Interrupted("nothing was written") from None
        total = len(the_plan.write) + len(the_plan.delete) + len(the_plan.leftovers)
        interrupted = Interrupted(f"the tree is partial ({len(done)} of {total} files changed); "
                                  "re-run 'mlgitops generate' to repair it")
        interrupted.done = done
        raise interrupted from None


def _prune_empty(root: Path, folder: Path) -> None:
    tops = {root / t for t in (*GENERATED_ROOTS, MODELS_DIR)}  # models/ stays, even when empty
    while folder not in tops and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
