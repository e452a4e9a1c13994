"""Ctrl-C on a real run: `generate` and `check` on a synthesized repository of a few hundred specs,
interrupted by SIGINT as a terminal would send it. Each must exit 130 without a traceback, leave no
temp file behind, and leave no kustomize process running."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import synth

pytestmark = pytest.mark.slow  # subprocesses and signals end to end

MODELS = 200


def _start(repo: Path, tmp: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """mlgitops run with TMPDIR=tmp; its output goes to files (read by _finish), never to a pipe nobody
    reads while the test waits (a full pipe would block the run before it reaches what the test waits for)."""
    env = {**os.environ, "TMPDIR": str(tmp), "CI": "1", **(env or {})}
    err = tempfile.TemporaryFile()  # noqa: SIM115 - read back by _stderr; in pytest's TMPDIR, not tmp
    proc = subprocess.Popen([sys.executable, "-m", "mlgitops", *args, "--repo", str(repo)], env=env,
                            stdout=subprocess.DEVNULL, stderr=err)
    proc.err_file = err  # type: ignore[attr-defined]
    return proc


def _finish(proc: subprocess.Popen, timeout: float = 60) -> str:
    """Wait for the run (killed after timeout, and the test fails); its stderr."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"still running after {timeout:.0f} s: {_stderr(proc)}")
    return _stderr(proc)


def _stderr(proc: subprocess.Popen) -> str:
    err = proc.err_file  # type: ignore[attr-defined]
    err.seek(0)
    return err.read().decode(errors="replace")


def _children(pid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry))
    return out


def _running_under(path: Path) -> list[str]:
    """Command lines of live processes that mention path (kustomize builds of this test's overlays)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(path) in cmdline and "pytest" not in cmdline:
                found.append(cmdline)
    return found


def _wait_for(condition, proc: subprocess.Popen) -> None:
    while not condition():
        assert proc.poll() is None, f"finished before it could be interrupted: {_stderr(proc)}"
        time.sleep(0.01)


def _interrupt(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    err = _finish(proc)
    return proc.returncode, err


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> Path:
    """MODELS specs, for the tests of generate (which generate into it)."""
    repo = tmp_path_factory.mktemp("interrupt") / "repo"
    synth.synthesize(repo, MODELS)
    return repo


@pytest.fixture
def fresh(synthesized, tmp_path_factory) -> Path:
    """The specs, never generated: a generate of its own to interrupt."""
    repo = tmp_path_factory.mktemp("fresh") / "repo"
    shutil.copytree(synthesized, repo)
    return repo


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """MODELS specs and their generated tree, for the tests of check: a check of specs never generated
    would only report the missing tree."""
    repo = tmp_path_factory.mktemp("interrupt-generated") / "repo"
    synth.synthesize(repo, MODELS)
    scratch = tmp_path_factory.mktemp("interrupt-generate-tmp")
    assert _start(repo, scratch, "generate").wait(timeout=300) == 0
    return repo


def test_ctrl_c_during_generate_exits_130_and_leaves_no_temp_file(fresh, tmp_path):
    proc = _start(fresh, tmp_path, "generate")
    _wait_for(lambda: (fresh / ".mlgitops.lock").exists() or (fresh / "base").exists(), proc)
    code, err = _interrupt(proc)
    assert code == 130, err
    assert "Traceback" not in err
    assert err.startswith("mlgitops: interrupted") or "\nmlgitops: interrupted" in err, err
    assert list(fresh.rglob("*.tmp")) == []
    rerun = _start(fresh, tmp_path, "generate")
    assert rerun.wait(timeout=300) == 0
    check = _start(fresh, tmp_path, "generate", "--check")
    assert check.wait(timeout=300) == 0  # re-running repaired whatever the interruption left


def test_ctrl_c_during_check_kills_every_kustomize_and_exits_130(generated, tmp_path):
    proc = _start(generated, tmp_path, "check", "--no-cache", "--jobs", "2")
    _wait_for(lambda: bool(_children(proc.pid)), proc)  # kustomize builds are running
    code, err = _interrupt(proc)
    assert code == 130, err
    assert "Traceback" not in err
    assert _running_under(generated) == [] and _running_under(tmp_path) == []
    assert list(tmp_path.iterdir()) == []  # the aggregate kustomizations' scratch folders
    assert list(generated.rglob("*.tmp")) == []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# SIGHUP goes through the very handler SIGTERM does (report/interrupts): exhaustive, make test keeps SIGTERM
@pytest.mark.parametrize("signum", [signal.SIGTERM, pytest.param(signal.SIGHUP, marks=pytest.mark.exhaustive)],
                         ids=["sigterm", "sighup"])
def test_sigterm_during_check_cleans_up_as_ctrl_c_does(generated, tmp_path, signum):
    """A CI job cancelled (GitHub Actions, `timeout`) sends SIGTERM: the kustomize builds must die with
    the run, not live on as orphans, and their scratch folders must go; the exit code is 128 + the signal."""
    proc = _start(generated, tmp_path, "check", "--no-cache", "--jobs", "2")
    _wait_for(lambda: any("kustomize" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")
                          for c in _children(proc.pid) if _alive(c)), proc)
    builds = _children(proc.pid)
    proc.send_signal(signum)
    err = _finish(proc)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err
    assert "mlgitops: interrupted" in err
    assert [pid for pid in builds if _alive(pid)] == []
    assert _running_under(generated) == [] and _running_under(tmp_path) == []
    assert list(tmp_path.iterdir()) == []  # no mlgitops-build-* scratch folder left
    assert list(generated.rglob("*.tmp")) == []


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="on one CPU generate renders without workers to stop")
def test_sigterm_during_generate_exits_143_and_leaves_no_temp_file(fresh, tmp_path):
    """generate renders in forked workers: they end with the run (a pool terminates them by SIGTERM)."""
    proc = _start(fresh, tmp_path, "generate")
    _wait_for(lambda: bool(_children(proc.pid)), proc)  # the render workers are running
    proc.send_signal(signal.SIGTERM)
    err = _finish(proc)
    assert proc.returncode in (143, 0), err  # 0: it finished before the signal landed
    assert "Traceback" not in err
    assert list(fresh.rglob("*.tmp")) == []
    assert _children(proc.pid) == set()


def test_a_second_ctrl_c_does_not_interrupt_the_cleanup(generated, tmp_path):
    proc = _start(generated, tmp_path, "check", "--no-cache", "--jobs", "2")
    _wait_for(lambda: bool(_children(proc.pid)), proc)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    code, err = _interrupt(proc)
    assert code == 130, err
    assert "Traceback" not in err
    assert _running_under(generated) == []


def test_ctrl_c_while_the_modules_are_imported_is_quiet_too():
    """The console script installs the handler before importing click and the rest."""
    code = ("import signal, os, sys\n"
            "from mlgitops.report import interrupts\n"
            "with interrupts.handled():\n"
            "    pass\n"
            "from mlgitops.__main__ import entry\n"
            "import builtins\n"
            "real = builtins.__import__\n"
            "def slow(name, *a, **k):\n"
            "    if name == 'click':\n"
            "        os.kill(os.getpid(), signal.SIGINT)\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = slow\n"
            "sys.argv = ['mlgitops', '--help']  # --version imports no click\n"
            "sys.exit(entry())\n")
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr == "mlgitops: interrupted\n"


def test_ctrl_c_during_diff_stops_the_builds_of_both_sides(tmp_path):
    """diff builds the base revision in a second thread: Ctrl-C must stop those builds too, not wait for
    them. Here the base side's kustomize never finishes on its own (a script that loops until killed)."""
    repo = tmp_path / "repo"
    synth.synthesize(repo, 4)
    git = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert _start(repo, scratch, "generate").wait(timeout=300) == 0
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "specs"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=git)
    for i in range(4):
        synth.change_one(repo, i)
    assert _start(repo, scratch, "generate").wait(timeout=300) == 0
    started = tmp_path / "base-side-started"
    script = tmp_path / "k.sh"
    kubectl = Path(sys.executable).parent / "kubectl"
    script.write_text("for last; do :; done\n"  # the folder to build: an overlay, or a batch's kustomization
                      'case "$last" in */old/*) old=1;; esac\n'
                      'grep -qs "/old/overlays/" "$last/kustomization.yaml" && old=1\n'
                      f'if [ -n "$old" ]; then touch {started}; i=0\n'
                      '  while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; exit 1\nfi\n'
                      f'exec {kubectl} kustomize "$@"\n')
    proc = _start(repo, scratch, "diff", "--base", "HEAD", "--no-cache", env={"MLGITOPS_KUSTOMIZE": f"sh {script}"})
    try:
        _wait_for(started.exists, proc)
        proc.send_signal(signal.SIGINT)
        err = _finish(proc, timeout=30)  # without the cancel it waits the base side's full minute
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert _running_under(scratch) == []
    assert list(scratch.iterdir()) == []
