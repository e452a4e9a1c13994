"""The GitHub Actions files users copy or use: this repository's workflow, its composite action (action.yml),
and the workflows `mlgitops init` writes: valid, free of zizmor findings, pinned, and their run: steps work."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_cli
from ghactions import Context, run_action, run_workflow_job

pytestmark = pytest.mark.slow  # subprocesses and signals end to end

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
ACTION = ROOT / "action.yml"
BIN = Path(sys.executable).parent
SHA = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SOURCES = {"action": f"acme/mlgitops@{COMMIT}", "git": f"git+https://git.example.com/ml/mlgitops.git@{COMMIT}",
           "unknown": None}
PULL_REQUEST = {"base_ref": "main", "event_name": "pull_request", "ref": "refs/pull/1/merge"}


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    assert found, f"{name} is installed with the lint extras (make test)"
    return found


def _steps(path: Path):
    data = yaml.safe_load(path.read_text())
    if "runs" in data:
        yield from data["runs"]["steps"]
        return
    for job in data["jobs"].values():
        yield from job["steps"]


@pytest.fixture(scope="module")
def init_workflows(tmp_path_factory) -> dict[str, Path]:
    """The workflow `mlgitops init` writes for each kind of --mlgitops-source."""
    from mlgitops.commands import scaffold
    from mlgitops.commands import source as sources

    written = {}
    for kind, source in SOURCES.items():
        root = tmp_path_factory.mktemp(kind)
        scaffold.init_repo(root, "flux", None, sources.parse(source) if source else None)
        written[kind] = root / ".github/workflows/mlgitops.yml"
    return written


def _all_files(init_workflows) -> list[tuple[str, Path, str]]:
    return ([(p.name, p, "vendor.github-workflows") for p in WORKFLOWS] + [("action.yml", ACTION, "vendor.github-actions")]
            + [(f"init-{kind}", p, "vendor.github-workflows") for kind, p in init_workflows.items()])


def test_there_is_a_workflow_and_an_action():
    assert [w.name for w in WORKFLOWS] == ["mlgitops.yml"]
    assert ACTION.is_file()


def test_valid_against_githubs_schemas(init_workflows):
    for name, path, schema in _all_files(init_workflows):
        run = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", schema, str(path)],
                             capture_output=True, text=True, check=False)
        assert run.returncode == 0, f"{name}: {run.stdout}{run.stderr}"


def test_zizmor_finds_nothing(init_workflows):
    for name, path, _ in _all_files(init_workflows):
        run = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", str(path)], capture_output=True,
                             text=True, check=False)
        assert run.returncode == 0, f"{name}: {run.stdout}{run.stderr}"
        assert "No findings" in run.stdout + run.stderr, name


def test_least_privilege_pinned_actions_and_no_expressions_in_scripts(init_workflows):
    for name, path, _ in _all_files(init_workflows):
        data = yaml.safe_load(path.read_text())
        if "jobs" in data:
            assert data["permissions"] == {}, "the workflow grants nothing by default; jobs ask for what they need"
            for job in data["jobs"].values():
                assert set(job["permissions"].values()) <= {"read", "none"}, job["permissions"]
        for step in _steps(path):
            if "uses" in step:  # ./ is this repository's action at the commit checked out
                assert step["uses"] == "./" or SHA.match(step["uses"]), f"{name}: {step['uses']} is not pinned"
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            assert "${{" not in step.get("run", ""), f"{name}: expression expanded inside run: {step['run']}"


def test_the_action_passes_every_input_through_env_and_runs_the_command_as_words():
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    assert action["inputs"]["command"]["default"] == "check --format github"
    scripts = "\n".join(s.get("run", "") for s in action["runs"]["steps"])
    assert not re.search(r"\beval\b", scripts) and 'read -r -a words <<< "$MLGITOPS_COMMAND"' in scripts
    assert '-c "$ACTION_PATH/constraints.txt" "$ACTION_PATH"' in scripts  # this very commit, the tested versions


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


IGNORE = shutil.ignore_patterns(".venv*", ".git", ".mlgitops-cache", "*.egg-info", ".pytest_cache", ".hypothesis",
                                "__pycache__", ".mypy_cache", ".ruff_cache", ".import_linter_cache")


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of this repository as actions/checkout leaves it on a pull request against main."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=IGNORE)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    return repo


def _runner_temp(tmp_path: Path, action_path: Path, python_bin: Path) -> Path:
    """$RUNNER_TEMP of a job whose earlier step installed the action's mlgitops: this test's venv."""
    temp = tmp_path / "runner-temp"
    (temp / "mlgitops-venv").mkdir(parents=True)
    (temp / "mlgitops-venv/bin").symlink_to(python_bin)
    (temp / "mlgitops-venv/installed-from").write_text(str(action_path))
    return temp


def test_the_workflows_steps_run_through_the_action_in_a_copy_of_the_repository(checkout, tmp_path):
    """Shard 1/3 of a pull request against main, as CI runs it: the action's steps with the inputs the workflow
    gives (mlgitops already installed in this job: the install steps are skipped): the drift check, the sharded
    check and the diff into the job summary."""
    summary = tmp_path / "summary.md"
    temp = _runner_temp(tmp_path, checkout, BIN)
    context = Context(PULL_REQUEST, {"shard": "1/3"},
                      {"RUNNER_TEMP": str(temp), "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_OS": "Linux"})
    run_workflow_job(WORKFLOWS[0], "check", context, checkout, tmp_path)
    assert len([s for s in context.ran if "read -r -a words" in s]) == 3  # generate --check, check, diff
    assert not [s for s in context.ran if "pip install" in s]  # installed once per job: here, before
    assert summary.read_text().startswith("**mlgitops diff** against origin/main")


def test_the_action_writes_sarif_for_code_scanning_and_findings_fail_only_the_command(checkout, tmp_path):
    (checkout / "models/house-prices.yaml").write_text(
        (checkout / "models/house-prices.yaml").read_text().replace("replicas: 2", "replicas: 1", 1))
    temp = _runner_temp(tmp_path, checkout, BIN)
    context = Context(PULL_REQUEST, {}, {"RUNNER_TEMP": str(temp), "RUNNER_OS": "Linux"})
    with pytest.raises(AssertionError, match="::error"):  # check finds the drift: the command's step fails
        run_action(checkout, {"command": "check --format github"}, context, checkout, tmp_path, {})
    run_action(checkout, {"command": "--version", "sarif-file": "mlgitops.sarif"}, context, checkout, tmp_path, {})
    sarif = yaml.safe_load((checkout / "mlgitops.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"], "the drift is a result in the SARIF file"


def _without(steps_of: str, text: str) -> list:
    data = yaml.safe_load(text)
    return [s for s in data["jobs"]["check"]["steps"] if steps_of not in str(s.get("uses", "")) + s.get("run", "")]


def test_init_writes_this_repositorys_workflow_with_the_action_at_a_commit(init_workflows):
    written = yaml.safe_load(init_workflows["action"].read_text())
    ours = yaml.safe_load(WORKFLOWS[0].read_text())
    for step in ours["jobs"]["check"]["steps"]:
        if step.get("uses") == "./":
            step["uses"] = SOURCES["action"]
    assert written == ours
    assert "pip install" not in init_workflows["action"].read_text()


def test_init_never_installs_a_package_by_name(init_workflows):
    for kind, path in init_workflows.items():
        for step in _steps(path):
            assert not re.search(r"pip install[^\n]*\bmlgitops\b", step.get("run", "")), (kind, step)
    unknown = [s for s in _steps(init_workflows["unknown"]) if s.get("name") == "Install mlgitops"]
    assert unknown and "exit 1" in unknown[0]["run"]  # fails loudly until the team says where mlgitops comes from


def test_the_git_source_installs_that_commit_with_its_constraints(init_workflows):
    steps = {s.get("name", ""): s for s in _steps(init_workflows["git"])}
    install = next(s for name, s in steps.items() if name.startswith("Install mlgitops"))
    assert install["env"] == {"MLGITOPS_GIT": "https://git.example.com/ml/mlgitops.git", "MLGITOPS_COMMIT": COMMIT}
    assert 'fetch -q --depth 1 "$MLGITOPS_GIT" "$MLGITOPS_COMMIT"' in install["run"]
    assert 'pip install -c "$src/constraints.txt" "$src"' in install["run"]


@pytest.mark.install
def test_the_git_install_step_installs_the_commit_it_names_into_a_fresh_python(checkout, tmp_path):
    """The install step of init's git-source workflow, run for real: a fresh virtual environment gets mlgitops from
    a Git repository at a commit, with that commit's constraints.txt (pip through the configured index), and the
    workflow's other steps then pass with it."""
    commit = _git(checkout, "rev-parse", "HEAD").strip()
    team = tmp_path / "team"
    source = f"git+file://{checkout}@{commit}"
    assert subprocess.run([BIN / "mlgitops", "init", str(team), "--mlgitops-source", source],
                          capture_output=True, check=False).returncode == 0
    _git(team, "init", "-q", "-b", "main")
    _git(team, "add", "-A")
    _git(team, "commit", "-q", "-m", "init")
    _git(team, "update-ref", "refs/remotes/origin/main", "HEAD")
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True)
    summary = tmp_path / "summary.md"
    context = Context(PULL_REQUEST, {"shard": "1/3"},
                      {"RUNNER_TEMP": str(tmp_path / "temp"), "GITHUB_STEP_SUMMARY": str(summary),
                       "PATH": f"{fresh / 'bin'}:{os.environ['PATH']}"})
    (tmp_path / "temp").mkdir()
    run_workflow_job(team / ".github/workflows/mlgitops.yml", "check", context, team, tmp_path)
    assert len(context.ran) == 4 and "pip install" in context.ran[0]
    installed = subprocess.run([fresh / "bin/python", "-m", "pip", "freeze"], capture_output=True, text=True,
                               check=True).stdout
    pinned = set((ROOT / "constraints.txt").read_text().splitlines())
    assert {"click==8.5.1", "rich==15.0.0"} <= pinned and {"click==8.5.1", "rich==15.0.0"} <= set(installed.split())


def test_pre_commit_hooks_run_their_entries(generated):
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["mlgitops-generate", "mlgitops-check"]
    for hook in hooks:
        assert {"id", "name", "entry", "language", "files"} <= set(hook) and hook["pass_filenames"] is False
        assert hook["language"] == "python"  # pre-commit installs mlgitops itself: nothing needed on PATH
        run = subprocess.run(hook["entry"].split(), cwd=generated, capture_output=True, text=True, check=False,
                             env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})
        assert run.returncode == 0, run.stderr


def test_init_names_the_hooks_of_this_repository_for_pre_commit(tmp_path, capsys):
    result = run_cli(capsys, "init", str(tmp_path), "--mlgitops-source", SOURCES["action"])
    assert result.code == 0, result.err
    config = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    ids = [h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())]
    assert config == {"repos": [{"repo": "https://github.com/acme/mlgitops", "rev": COMMIT,
                                 "hooks": [{"id": hook} for hook in ids]}]}
