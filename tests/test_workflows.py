"""The GitHub Actions workflow users copy: valid, free of zizmor findings, and its run: steps work."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

pytestmark = pytest.mark.slow  # subprocesses and signals end to end

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
SHA = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    assert found, f"{name} is installed with the lint extras (make test)"
    return found


def _steps(workflow: Path):
    data = yaml.safe_load(workflow.read_text())
    for job in data["jobs"].values():
        yield from job["steps"]


def test_there_is_a_workflow():
    assert [w.name for w in WORKFLOWS] == ["mlgitops.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_valid_against_the_github_workflow_schema(workflow):
    run = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_zizmor_finds_nothing(workflow):
    run = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", str(workflow)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No findings" in run.stdout + run.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_pinned_actions(workflow):
    data = yaml.safe_load(workflow.read_text())
    assert data["permissions"] == {}, "the workflow grants nothing by default; jobs ask for what they need"
    for job in data["jobs"].values():
        assert set(job["permissions"].values()) <= {"read", "none"}, job["permissions"]
    for step in _steps(workflow):
        if "uses" in step:
            assert SHA.match(step["uses"]), f"{step['uses']} is not pinned to a commit"
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
        assert "${{" not in step.get("run", ""), f"expression expanded inside run: {step['run']}"


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def test_the_run_steps_work_in_a_copy_of_the_repository(tmp_path):
    """Every run: step but the install (this venv is that install) runs as CI runs it, on shard 1/3 of a pull
    request against main: the drift check, the sharded check and the diff into the job summary."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(".venv", ".git", ".mlgitops-cache", "*.egg-info",
                                                              ".pytest_cache", ".hypothesis", "__pycache__"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    summary = tmp_path / "summary.md"
    values = {"matrix.shard": "1/3", "github.base_ref": "main", "github.event_name": "pull_request"}
    ran = []
    for step in _steps(WORKFLOWS[0]):
        if "run" not in step or "pip install" in step["run"]:
            continue
        env = {k: re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: values[m.group(1)], v)
               for k, v in (step.get("env") or {}).items()}
        env = {**os.environ, **env, "PATH": f"{BIN}:{os.environ['PATH']}", "GITHUB_STEP_SUMMARY": str(summary)}
        run = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True,
                             check=False)
        assert run.returncode == 0, f"{step.get('name', step['run'])}:\n{run.stdout}\n{run.stderr}"
        ran.append(step["run"].split()[1])
    assert ran == ["generate", "check", "diff"]
    assert summary.exists()


def _without_install_step(text: str) -> list[str]:
    data = yaml.safe_load(text)
    steps = data["jobs"]["check"]["steps"]
    data["jobs"]["check"]["steps"] = [s for s in steps if "pip install" not in s.get("run", "")]
    return yaml.safe_dump(data, sort_keys=True).splitlines()


def test_init_writes_the_same_hardened_workflow_but_for_the_install_step(tmp_path, capsys):
    from conftest import run_cli

    assert run_cli(capsys, "init", str(tmp_path / "team")).code == 0
    written = tmp_path / "team/.github/workflows/mlgitops.yml"
    assert _without_install_step(written.read_text()) == _without_install_step(WORKFLOWS[0].read_text())
    assert 'MLGITOPS_VERSION: "0.1.0"' in written.read_text()
    run = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", str(written)], capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_pre_commit_hooks_run_their_entries(generated):
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["mlgitops-generate", "mlgitops-check"]
    for hook in hooks:
        assert {"id", "name", "entry", "language", "files"} <= set(hook) and hook["pass_filenames"] is False
        run = subprocess.run(hook["entry"].split(), cwd=generated, capture_output=True, text=True, check=False,
                             env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})
        assert run.returncode == 0, run.stderr
