"""Secret-named env vars: recognised by their words, and their values never printed in a diff."""

from __future__ import annotations

import pytest
from conftest import run_cli
from mlgitops.report.redact import is_secret_name, mask_env_values

SECRET = ["DB_PASSWORD", "dbPassword", "db-passwd", "HF_TOKEN", "OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY",
          "APIKEY", "GCP_PRIVATE_KEY", "REGISTRY_CREDENTIALS", "clientSecret"]
PLAIN = ["LOG_LEVEL", "MAX_TOKENS", "TOKENIZER_PATH", "DB_PASSWORD_FILE", "KEY", "SECRETS_DIR", "MONKEY"]


@pytest.mark.parametrize("name", SECRET)
def test_a_name_with_a_secret_word_is_secret(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", PLAIN)
def test_other_names_are_not(name):
    assert not is_secret_name(name)


def test_a_unified_diff_shows_that_a_secret_changed_but_not_its_value():
    diff = ("--- a/base/m/deployment.yaml\n+++ b/base/m/deployment.yaml\n@@ -1,6 +1,6 @@\n"
            "         - name: DB_PASSWORD\n"
            "-          value: S3cr3t-old\n"
            "+          value: \"a long new secret that the emitter folded\n"
            "+            over two lines\"\n"
            "         - name: LOG_LEVEL\n"
            "           value: info\n"
            "+        env: [{name: API_TOKEN, value: 'x, y'}, {name: MODE, value: fast}]\n")
    assert mask_env_values(diff) == (
        "--- a/base/m/deployment.yaml\n+++ b/base/m/deployment.yaml\n@@ -1,6 +1,6 @@\n"
        "         - name: DB_PASSWORD\n"
        "-          value: ***\n"
        "+          value: ***\n"
        "+            ***\n"
        "         - name: LOG_LEVEL\n"
        "           value: info\n"
        "+        env: [{name: API_TOKEN, value: ***}, {name: MODE, value: fast}]\n")


def test_a_secret_ref_is_shown_as_it_is():
    text = "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      key: password\n      name: db\n"
    assert mask_env_values(text) == text


def test_generate_check_never_prints_a_committed_secret_value(generated, capsys):
    deployment = generated / "base/house-prices/deployment.yaml"
    text = deployment.read_text()
    anchor = "        - name: MODEL_NAME\n"
    assert anchor in text
    deployment.write_text(text.replace(anchor, "        - name: DB_PASSWORD\n          value: S3cr3t-hunter2\n"
                                       + anchor))
    result = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert result.code == 1
    assert "-          value: ***" in result.out
    assert "hunter2" not in result.out + result.err


@pytest.mark.slow  # the fast loop keeps diff --markdown masking a credential end to end (tests/report/
# test_secrets.py, test_mlgitops_diff_masks_credentials_in_values[markdown])
def test_mlgitops_diff_markdown_never_prints_a_secret_value(generated, capsys):
    import subprocess

    def git(*args):
        subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=generated,
                       check=True, capture_output=True)

    deployment = generated / "base/house-prices/deployment.yaml"
    clean = deployment.read_text()
    anchor = "        - name: MODEL_NAME\n"
    deployment.write_text(clean.replace(anchor, "        - name: DB_PASSWORD\n          value: S3cr3t-hunter2\n"
                                        + anchor))
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "a secret was committed once")
    deployment.write_text(clean)
    result = run_cli(capsys, "diff", "--markdown", "--base", "HEAD", "--repo", str(generated))
    assert "-        - name: DB_PASSWORD\n-          value: ***\n" in result.out
    assert "hunter2" not in result.out + result.err
