"""`mlgitops diff`: the built manifests that change against a Git revision."""

from __future__ import annotations

import subprocess

from conftest import run_cli


def git(repo, *args):
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=repo, check=True,
                   capture_output=True)


def test_diff_shows_only_what_the_clusters_will_get(generated, capsys):
    git(generated, "init", "-q")
    git(generated, "add", "-A")
    git(generated, "commit", "-qm", "base")
    assert run_cli(capsys, "diff", "--repo", str(generated)).out == ""
    spec = generated / "models/fraud-detector.yaml"
    spec.write_text(spec.read_text().replace("replicas: 4", "replicas: 6"))
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0
    result = run_cli(capsys, "diff", "--repo", str(generated), "--base", "HEAD")
    assert result.code == 0
    assert result.out.count("+++ ") == 1
    assert "+++ b/overlays/prod/fraud-detector (built now)" in result.out
    assert "-  replicas: 4\n+  replicas: 6\n" in result.out
    assert run_cli(capsys, "diff", "--repo", str(generated), "--base", "HEAD", "--exit-code").code == 1
    assert not (generated / ".mlgitops-cache/diff-base").exists()


def test_markdown_for_the_step_summary(generated, capsys):
    git(generated, "init", "-q")
    git(generated, "add", "-A")
    git(generated, "commit", "-qm", "base")
    result = run_cli(capsys, "diff", "--repo", str(generated), "--markdown")
    assert result.out == "**mlgitops**: the clusters get no change.\n"


def test_outside_git_is_an_environment_error(generated, capsys):
    result = run_cli(capsys, "diff", "--repo", str(generated), "--base", "HEAD")
    assert result.code == 2
    assert "git" in result.err and "Traceback" not in result.err
