"""Proof that a build read exactly the files its cache key hashed (`check` stores only such results).

A `generate` (or an editor) running while `check` builds could make kustomize read other files than
the ones hashed into the key; a result stored under that key would then be a wrong verdict for every
later run. Building from a private copy of the hashed bytes would rule that out, but writing the copy
cost 6.6 s for 24,000 files on this machine's disk; reading the folders again after the build costs
0.12 s of a 16.6 s cold check at N=300.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from mlgitops.kube import kustomize
from mlgitops.render.units import Unit, base_dir
from mlgitops.tree import cache, writer
from mlgitops.tree.layout import overlay_dir


def input_folders(name: str, env: str) -> tuple[str, str]:
    """The folders whose files a unit's result is keyed on: its serving overlay's (training's included) and its
    model's base folder."""
    return overlay_dir(env, name), base_dir(name)


def overlay_inputs(name: str, env: str, files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The files a build of the overlay reads: its folder and its model's base folder."""
    prefixes = tuple(f"{folder}/" for folder in input_folders(name, env))
    return [(path, content) for path, content in files if path.startswith(prefixes)]


def in_folders(root: str, name: str, env: str) -> Callable[[str], bool]:
    """Whether check's key of a unit holds a path (absolute, normalized): anything under input_folders, existing or
    not (a file that appears there later is in the next key)."""
    folders = tuple(os.path.join(root, folder) for folder in input_folders(name, env))
    under = tuple(f"{folder}/" for folder in folders)
    return lambda path: path in folders or path.startswith(under)


def read_elsewhere(root: str, unit: Unit, keyed: Callable[[str], bool]) -> str:
    """What a build of the unit may read that its cache key does not hold (keyed says what it holds), or "" when
    nothing: a hand-edited kustomization naming `../../../extra`, another model's base, a folder outside the
    repository (whether it exists yet or not); a path through a symlink (the link is in no key: writer.scan skips
    links); a temp file's name (scan never reads its bytes). root: the repository's real path (or diff's scratch
    folder); what is found is named relative to it when it lies under it. The walk is kustomize's own
    (kustomize.named_paths: every string of every kustomization a build reads, taken as a path): a name or a label
    that reads as a path outside only costs the unit its cache."""
    for path in kustomize.named_paths(os.path.join(root, unit.folder)):
        if not keyed(path) or (os.path.lexists(path) and (os.path.realpath(path) != path or writer.is_temp(path))):
            return os.path.relpath(path, root) if path.startswith(root + "/") else path
    return ""


class Inputs:
    """What each overlay's result was keyed on, to prove after its build that kustomize read exactly that.

    Before the build each input file's identity is taken (its bytes were read before that); after it the
    folders are read again: the same files, the same bytes, and identities unchanged in between (a file
    replaced or written changes inode or ctime, even if it is put back byte for byte) mean the build
    read the hashed bytes.
    """

    def __init__(self, root: Path):
        self.root = root
        self.before: dict[str, tuple | None] = {}
        self.folders: dict[str, tuple[dict[str, bytes], bool]] = {}  # read again once: a base serves every env

    def note(self, files: list[tuple[str, bytes]]) -> None:
        for path, _ in files:
            if path not in self.before:
                self.before[path] = cache.file_stat(os.path.join(self.root, path))

    def _again(self, folder: str) -> tuple[dict[str, bytes], bool]:
        """The folder's files now, and whether each is the very file whose identity was noted."""
        if folder not in self.folders:
            found = writer.scan(self.root, (folder,))
            same = all(self.before.get(path) is not None
                       and cache.file_stat(os.path.join(self.root, path)) == self.before[path] for path in found)
            self.folders[folder] = found, same
        return self.folders[folder]

    def unchanged(self, name: str, env: str, files: list[tuple[str, bytes]]) -> bool:
        overlay, base = self._again(overlay_dir(env, name)), self._again(base_dir(name))
        return overlay[1] and base[1] and {**overlay[0], **base[0]} == dict(files)
