"""The repository on disk: where things are, and reading files safely (the I/O edge for inputs)."""

from __future__ import annotations

import os
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
        return path.relative_to(self.root).as_posix()

    def why_no_specs(self) -> str:
        """Why models/ gives no spec, naming the folder: missing, not a folder, or empty."""
        folder = self.root / MODELS_DIR
        if not folder.exists() and not folder.is_symlink():
            return f"{MODELS_DIR}/ does not exist ({folder})"
        if not folder.is_dir():
            return f"{MODELS_DIR} is not a folder ({folder})"
        return f"{MODELS_DIR}/ holds no specs ({folder})"

    def listing(self) -> list[Path]:
        """What models/ holds; an unreadable models/ is one line of error (FatalError), not a traceback."""
        folder = self.root / MODELS_DIR
        try:
            return list(folder.iterdir()) if folder.is_dir() else []
        except OSError as exc:
            raise FatalError(f"cannot read {MODELS_DIR}/ ({folder}): {exc.strerror or exc}",
                             f"make it readable (chmod u+rx {MODELS_DIR})") from None

    def model_files(self) -> list[Path]:
        return sorted(p for p in self.listing() if p.suffix.lower() in (".yaml", ".yml")
                      and not p.name.startswith(".") and not p.is_dir() and _utf8(p.name))

    def misnamed_files(self) -> list[Path]:
        """What sits in models/ under a name that is not UTF-8: it cannot be named in a message or a file."""
        return sorted(p for p in self.listing() if not _utf8(p.name))

    def stray_files(self) -> list[Path]:
        """What sits in models/ but is not read as a spec (sub-folders, other extensions)."""
        specs = set(self.model_files())
        return sorted(p for p in self.listing() if p not in specs and not p.name.startswith(".")
                      and p.name not in ("README.md", "README") and _utf8(p.name))

    def read_input(self, path: Path) -> tuple[bytes | None, list[Finding]]:
        """Bytes of a spec or config file; a symlink leading outside the repository is refused."""
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


def _linked_folder(root: Path, folder: Path) -> bool:
    """Whether a folder between the root and this one (included) is a symlink: one lstat per level."""
    try:
        parts = folder.relative_to(root).parts
    except ValueError:
        return False
    current = str(root)
    for part in parts:
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

