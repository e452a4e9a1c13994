"""How fast Ctrl-C stops `mlgitops generate` and `mlgitops check` (a benchmark, not a test).

On a synthesized repository of N models x 3 environments, start the real CLI, wait until it is
working (generate: holds the lock, so it is writing; check: a kustomize build is running), send
SIGINT as a terminal does, and time until the process has exited. Also counts what it left behind:
temp files in the repository and kustomize processes still running.

    .venv/bin/python benchmarks/bench_interrupt.py [--models 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import cli_command, machine
from synth import synthesize


def children(pid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            count += int(stat.rsplit(")", 1)[1].split()[1]) == pid
    return count


def survivors(text: str) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                count += text.encode() in Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
    return count


def interrupt(repo: Path, scratch: Path, args: list[str], ready) -> tuple[float, int, str]:
    env = {**os.environ, "CI": "1", "TMPDIR": str(scratch)}
    proc = subprocess.Popen([*cli_command(), *args, "--repo", str(repo)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    while not ready(proc) and proc.poll() is None:
        time.sleep(0.005)
    start = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    last = err.strip().splitlines()[-1] if err.strip() else ""
    return elapsed, proc.returncode, last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as top:
        repo, scratch = Path(top) / "repo", Path(top) / "scratch"
        scratch.mkdir()
        synthesize(repo, args.models)
        print(f"{machine()}; {args.models} models x 3 environments")
        for trial in range(args.repeat):
            for spec in (repo / "models").glob("*.yaml"):  # every run has files to write
                spec.write_text(spec.read_text().replace("team: ", f"team: t{trial}", 1))
            (repo / ".mlgitops.lock").unlink(missing_ok=True)
            elapsed, code, last = interrupt(repo, scratch, ["generate"],
                                            lambda p: (repo / ".mlgitops.lock").exists())
            left = len(list(repo.rglob("*.tmp")))
            print(f"generate: exit {code} {elapsed * 1000:6.0f} ms after SIGINT, {left} temp files left: {last}")
        subprocess.run([*cli_command(), "generate", "--repo", str(repo)], check=True, capture_output=True)
        for _ in range(args.repeat):
            elapsed, code, last = interrupt(repo, scratch, ["check", "--no-cache"], lambda p: children(p.pid) > 0)
            time.sleep(0.2)
            print(f"check:    exit {code} {elapsed * 1000:6.0f} ms after SIGINT, "
                  f"{survivors(str(scratch)) + survivors(str(repo))} kustomize left, "
                  f"{len(list(scratch.iterdir()))} scratch folders left: {last}")


if __name__ == "__main__":
    main()
