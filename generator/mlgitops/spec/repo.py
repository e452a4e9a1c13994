"""The repository on disk: where things are, and reading files safely (the I/O edge for inputs)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from mlgitops.report.findings import FatalError, Finding, Position

CONFIG_FILE = "mlgitops.yaml"
MODELS_DIR = "models"
GENERATED_ROOTS = ("base", "overlays", "clusters")


@dataclass(frozen=True)
class Repo:
    root: Path

    def rel(self, path: Path) -> str:
        inside = _under(str(self.root), str(path))  # a string slice: relative_to costs ~5 µs, once per spec
        return inside or path.relative_to(self.root).as_posix()

    def why_no_specs(self) -> str:
        """Why models/ gives no spec, naming the folder: missing, not a folder, or empty."""
        folder = self.root / MODELS_DIR
        if not folder.exists() and not folder.is_symlink():
            return f"{MODELS_DIR}/ does not exist ({folder})"
        if not folder.is_dir():
            return f"{MODELS_DIR} is not a folder ({folder})"
        return f"{MODELS_DIR}/ holds no specs ({folder})"

    def _entries(self) -> list[tuple[str, bool]]:
        """(name, whether it is a folder, a symlink to one included) of what models/ holds, by name; an
        unreadable models/ is one line of error (FatalError), not a traceback. The folder's own listing says
        which entries are folders: no stat per spec."""
        folder = self.root / MODELS_DIR
        try:
            if not folder.is_dir():
                return []
            with os.scandir(folder) as found:
                return sorted((entry.name, entry.is_dir()) for entry in found)
        except OSError as exc:
            raise FatalError(f"cannot read {MODELS_DIR}/ ({folder}): {exc.strerror or exc}",
                             f"make it readable (chmod u+rx {MODELS_DIR})") from None

    def listing(self) -> list[Path]:
        """What models/ holds, by name."""
        folder = self.root / MODELS_DIR
        return [folder / name for name, _ in self._entries()]

    def model_files(self) -> list[Path]:
        folder = self.root / MODELS_DIR
        return [folder / name for name, is_dir in self._entries() if _is_spec_name(name, is_dir)]

    def misnamed_files(self) -> list[Path]:
        """What sits in models/ under a name that is not UTF-8: it cannot be named in a message or a file."""
        folder = self.root / MODELS_DIR
        return [folder / name for name, _ in self._entries() if not _utf8(name)]

    def stray_files(self) -> list[tuple[Path, str]]:
        """What sits in models/ but is not read as a spec, and why (a key of STRAYS): another extension, a
        hidden file named like a spec, a spec-named file in a sub-folder (at any depth), or a sub-folder holding
        none. Dotfiles that are not named like specs (.gitkeep), an editor's lock (.#x.yaml) and a README stay
        silent."""
        folder = self.root / MODELS_DIR
        out: list[tuple[Path, str]] = []
        for name, is_dir in self._entries():
            if _is_spec_name(name, is_dir) or name in ("README.md", "README") or not _utf8(name):
                continue
            if name.startswith("."):
                if _is_spec_name(name.lstrip("."), is_dir) and not name.startswith(".#"):
                    out.append((folder / name, HIDDEN))
                continue
            nested = _nested_specs(folder / name) if is_dir else []
            out += [(path, NESTED) for path in nested] or [(folder / name, FOLDER if is_dir else OTHER)]
        return out

    def read_input(self, path: Path) -> tuple[bytes | None, list[Finding]]:
        """Bytes of a spec or config file; a symlink leading outside the repository is refused."""
        if not _linked_folder(self.root, path.parent):
            plain = _read_plain(path)  # the common case: a regular file, no symlink on the way
            if plain is not None:
                return plain, []
        rel = self.rel(path)
        real = path
        if path.is_symlink() or _linked_folder(self.root, path.parent):
            try:
                real = path.resolve(strict=True)
            except (OSError, RuntimeError):
                return None, [Finding("file-unreadable", "is a broken symlink", rel, Position(1, 1))]
            root = self.root.resolve()
            if real != root and root not in real.parents:
                return None, [Finding("symlink-outside", f"is a symlink to {real}, outside the repository",
                                      rel, Position(1, 1), "copy the file into the repository")]
        if not real.is_file():
            return None, [Finding("file-unreadable", "is not a regular file", rel, Position(1, 1))]
        try:
            return real.read_bytes(), []
        except OSError as exc:
            return None, [Finding("file-unreadable", f"cannot be read: {exc.strerror}", rel, Position(1, 1))]


OTHER, FOLDER, HIDDEN, NESTED = "other", "folder", "hidden", "nested"  # why stray_files lists a path
NESTED_AT_MOST = 100  # spec-named files listed under one sub-folder; the entries looked at, 100 times that


def _nested_specs(folder: Path) -> list[Path]:
    """The files named like specs under a sub-folder of models/, by path, none of the folders a symlink (a link to /
    is never walked). A large tree is looked at only so far (NESTED_AT_MOST)."""
    found: list[Path] = []
    todo, looked = ([] if folder.is_symlink() else [str(folder)]), 0
    while todo and len(found) < NESTED_AT_MOST and looked < 100 * NESTED_AT_MOST:
        try:
            with os.scandir(todo.pop()) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError:
            continue
        looked += len(listed)
        todo += [e.path for e in reversed(listed) if e.is_dir(follow_symlinks=False)]
        found += [Path(e.path) for e in listed if _is_spec_name(e.name, e.is_dir()) and not e.is_symlink()]
    return sorted(found)[:NESTED_AT_MOST]


def _is_spec_name(name: str, is_dir: bool) -> bool:
    """A file of models/ read as a spec: <name>.yaml or .yml (any case), not hidden, not a folder, UTF-8."""
    dot = name.rfind(".")
    suffix = name[dot:] if 0 < dot < len(name) - 1 else ""  # pathlib's suffix
    return suffix.lower() in (".yaml", ".yml") and not name.startswith(".") and not is_dir and _utf8(name)


def _read_plain(path: Path) -> bytes | None:
    """The bytes of a regular file that is not a symlink, read without following one; None for anything
    else or any error (read_input's careful path then says what it is)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since the lstat
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _under(root: str, path: str) -> str | None:
    """path relative to root, as a string ("" for root itself), when path is root or below it; else None."""
    if path == root:
        return ""
    top = root if root.endswith(os.sep) else root + os.sep
    return path[len(top):] if path.startswith(top) else None


def _linked_folder(root: Path, folder: Path) -> bool:
    """Whether a folder between the root and this one (included) is a symlink: one lstat per level."""
    inside = _under(str(root), str(folder))
    if inside is None:  # not below root as a string: root may be spelled otherwise (a relative one)
        try:
            inside = os.sep.join(folder.relative_to(root).parts)
        except ValueError:
            return False
    current = str(root)
    for part in inside.split(os.sep) if inside else ():
        current = os.path.join(current, part)
        if os.path.islink(current):
            return True
    return False


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a byte that is not UTF-8, kept by Python as a lone surrogate
        return False
    return True


def escaped(path: str) -> str:
    """A path for a message: bytes that are not UTF-8 written as \\xff escapes."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def find_root(start: Path) -> Repo:
    """The nearest folder at or above start holding mlgitops.yaml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return Repo(folder)
    raise FatalError(f"no {CONFIG_FILE} in {start} or any folder above it",
                     "run 'mlgitops init' to start a repository, or cd into one")

