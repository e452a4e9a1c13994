"""The one secret detector: credential shapes are found whatever their name, content addresses never are, and
what is found is masked in every diff without the value appearing anywhere."""

from __future__ import annotations

import pytest
from mlgitops.report.redact import MASK, mask_secrets
from mlgitops.report.secrets import arg_problems, env_problem, is_secret_name, secret_kind, split_secret_flags

# Known credential shapes (documentation examples and fakes of the real formats; none is a live credential).
CREDENTIALS = {
    "postgres://app:hunter2@db:5432/x": "Basic Auth Credentials",
    "https://user:ghtok3n@github.com/example/ml-models.git": "Basic Auth Credentials",
    "AKIAIOSFODNN7EXAMPLE": "AWS Access Key",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": "High Entropy String",  # AWS's documented secret access key
    "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789": "High Entropy String",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U":
        "JSON Web Token",
    "-----BEGIN RSA PRIVATE KEY-----": "Private Key",
    "ghp_abcdefghijklmnopqrstuvwxyzABCDEF1234": "GitHub Token",
    "xoxb-123456789012-123456789012-abcdefghijABCDEFGHIJklmn": "Slack Token",
}
# Known false positives of naive detectors: content addresses, ids, paths and ordinary settings.
NOT_CREDENTIALS = [
    "sha256:3f4e2a0c1b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f",
    "registry.example.com/m@sha256:3f4e2a0c1b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f",
    "5f1b3c9e2a4d6f8b0c1e3a5d7f9b2c4e6a8d0f1b",  # a git / Hugging Face revision
    "123e4567-e89b-12d3-a456-426614174000",
    "hf://meta-llama/Llama-3.1-8B-Instruct@5f1b3c9e2a4d6f8b0c1e3a5d7f9b2c4e6a8d0f1b",
    "s3://models/churn-scorer/1.2.0/model.pt", "gs://bucket/datasets/imagenet-2012/train",
    "postgres://db:5432/x", "postgres://app:$(DB_PASSWORD)@db:5432/x", "https://github.com/example/ml-models.git",
    "--max-batch-size=32", "/models/weights/checkpoint-000120", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "registry.example.com/vision/resnet-train:2024.06.01-abc123", "$(API_KEY)",
]


@pytest.mark.parametrize("value", CREDENTIALS, ids=list(CREDENTIALS.values()))
def test_a_credential_is_found_by_its_shape(value):
    assert secret_kind(value) == CREDENTIALS[value]


@pytest.mark.parametrize("value", NOT_CREDENTIALS)
def test_content_addresses_ids_and_settings_are_not_credentials(value):
    assert secret_kind(value) is None


@pytest.mark.parametrize("name", ["PGPASSWORD", "MYSQL_PWD", "HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "api-key"])
def test_names_the_databases_and_hubs_use_say_secret(name):
    assert is_secret_name(name)


def test_env_problems_say_why_and_never_repeat_the_value():
    rule, message, _, at_key = env_problem("PGPASSWORD", "hunter2")
    assert (rule, at_key) == ("secret-in-env", True) and "hunter2" not in message
    rule, message, hint, at_key = env_problem("DATABASE_URL", "postgres://app:hunter2@db:5432/x")
    assert (rule, at_key) == ("secret-in-value", False)
    assert "hunter2" not in message + hint and "Basic Auth Credentials" in message
    assert env_problem("DATABASE_URL", "postgres://app:$(DB_PASSWORD)@db:5432/x") is None
    assert env_problem("PGPASSWORD", "$(FROM_A_SECRET)") is None
    assert env_problem("MODEL_REVISION", "5f1b3c9e2a4d6f8b0c1e3a5d7f9b2c4e6a8d0f1b") is None


def test_split_flags_and_flag_values_are_found():
    args = ["serve", "--api-key", "SECRET", "--port", "8080", "--token=abc", "--hf-token", "$(HF_TOKEN)",
            "--url", "postgres://app:hunter2@db/x"]
    assert split_secret_flags(args) == [(2, "api-key")]
    assert [(i, rule) for i, rule, _, _ in arg_problems(args)] == [
        (2, "secret-in-env"), (5, "secret-in-env"), (9, "secret-in-value")]


DIFF = """--- a/base/m/deployment.yaml
+++ b/base/m/deployment.yaml
@@ -1,12 +1,12 @@
         - name: DATABASE_URL
-          value: postgres://app:hunter2@db:5432/x
+          value: "postgres://app:$(DB_PASSWORD)@db:5432/x"
         - name: PGPASSWORD
+          value: hunter2
         args:
         - --api-key
         - s3cr3t-value
         - --token=abc123456
         - --port=8080
+        - {name: AWS_ACCESS_KEY_ID, value: AKIAIOSFODNN7EXAMPLE}
         image: r.example.com/m@sha256:3f4e2a0c1b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f
"""


def test_a_diff_shows_what_changed_but_no_secret():
    masked = mask_secrets(DIFF)
    for secret in ("hunter2", "s3cr3t-value", "abc123456", "AKIAIOSFODNN7EXAMPLE"):
        assert secret not in masked
    assert masked.count(MASK) == 5
    assert "postgres://app:$(DB_PASSWORD)@db:5432/x" in masked  # a reference is no secret
    assert "--port=8080" in masked and "@sha256:3f4e2a0c" in masked
    assert mask_secrets(mask_secrets(DIFF)) == masked


HAND_EDIT = ("        - name: DATABASE_URL\n          value: postgres://app:hunter2@db:5432/x\n"
             "        - name: PGPASSWORD\n          value: S3cr3t-pg\n")


def _plant(generated) -> str:
    deployment = generated / "base/house-prices/deployment.yaml"
    clean = deployment.read_text()
    anchor = "        - name: MODEL_NAME\n"
    assert anchor in clean
    deployment.write_text(clean.replace(anchor, HAND_EDIT + anchor))
    return clean


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif", "junit"])
def test_generate_check_masks_every_secret_in_every_format(generated, capsys, fmt):
    from conftest import run_cli
    _plant(generated)
    result = run_cli(capsys, "generate", "--check", "--format", fmt, "--repo", str(generated))
    assert result.code == 1
    assert "value: ***" in result.out + result.err
    assert "hunter2" not in result.out + result.err and "S3cr3t-pg" not in result.out + result.err


@pytest.mark.parametrize("markdown", [False, True], ids=["text", "markdown"])
def test_mlgitops_diff_masks_credentials_in_values(generated, capsys, markdown):
    import subprocess

    from conftest import run_cli

    def git(*args):
        subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=generated,
                       check=True, capture_output=True)

    clean = _plant(generated)
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "credentials were committed once")
    (generated / "base/house-prices/deployment.yaml").write_text(clean)
    result = run_cli(capsys, "diff", *(["--markdown"] if markdown else []), "--base", "HEAD", "--repo",
                     str(generated))
    assert "name: DATABASE_URL" in result.out and "value: ***" in result.out
    assert "hunter2" not in result.out + result.err and "S3cr3t-pg" not in result.out + result.err


def test_init_refuses_a_repo_url_with_a_password_without_printing_it(tmp_path, capsys):
    from conftest import run_cli
    result = run_cli(capsys, "init", str(tmp_path / "new"), "--repo-url", "https://me:ghtok3n-x9@github.com/o/r.git")
    assert result.code == 2 and "holds credentials" in result.err
    assert "ghtok3n-x9" not in result.out + result.err
    assert not (tmp_path / "new" / "mlgitops.yaml").exists()


def test_a_git_url_with_a_password_in_mlgitops_yaml_is_a_finding(tmp_path, capsys):
    from conftest import ROOT, make_repo, run_cli
    repo = make_repo(tmp_path / "repo")
    config = (ROOT / "mlgitops.yaml").read_text()
    assert "url: https://github.com/example/ml-models.git" in config
    (repo / "mlgitops.yaml").write_text(config.replace("https://github.com/", "https://me:ghtok3n-x9@github.com/"))
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code != 0 and "git.url holds a credential" in result.err and "(secret-in-value)" in result.err
    assert "ghtok3n-x9" not in result.out + result.err
