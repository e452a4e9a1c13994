"""`mlgitops --version` (mlgitops, its kustomize and its schemas, without the CLI's imports) and shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import run_cli

BIN = Path(sys.executable).parent


def test_version_names_the_kustomize_and_the_schemas_it_carries(capsys):
    result = run_cli(capsys, "--version")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].startswith("mlgitops 0.1.0 (Python ")
    assert lines[1].startswith("kustomize: Client Version: v1.37") and "Kustomize Version: v5." in lines[1]
    assert "the kubectl installed with mlgitops" in lines[1]
    assert lines[2].startswith("Kubernetes schemas: 1.25.0 .. 1.37.0, default 1.33.0 (kubernetes-validate 1.37")


def test_version_from_the_console_script_does_not_import_the_cli():
    script = "import sys; from mlgitops.__main__ import entry; sys.argv = ['mlgitops', '--version']; sys.exit(entry())"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", script],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("mlgitops ")
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "mlgitops.commands.about" in imported
    assert not {"mlgitops.cli", "mlgitops.check.pipeline", "rich", "ruamel.yaml"} & imported


def test_shell_completion_completes_commands_and_options():
    env = {**os.environ, "_MLGITOPS_COMPLETE": "bash_complete", "COMP_WORDS": "mlgitops ge", "COMP_CWORD": "1"}
    done = subprocess.run([BIN / "mlgitops"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "plain,generate" in done.stdout.splitlines()
    env.update(COMP_WORDS="mlgitops init --mlg", COMP_CWORD="2")
    done = subprocess.run([BIN / "mlgitops"], env=env, capture_output=True, text=True, check=False)
    assert "plain,--mlgitops-source" in done.stdout.splitlines()


def test_the_schemas_package_version_is_the_one_importlib_metadata_reads():
    from importlib import metadata

    from mlgitops.commands import about

    for name in ("kubernetes-validate", "jsonschema-rs", "yaml-rs", "click"):
        assert about._dist_info_version(name) == metadata.version(name)


def _imported(*args: str, cwd: Path | None = None) -> set[str]:
    script = f"import sys; from mlgitops.__main__ import entry; sys.argv = ['mlgitops', *{list(args)!r}]; entry()"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", script], capture_output=True, text=True,
                          check=False, cwd=cwd)
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}


def test_start_up_imports_only_what_the_command_needs(tmp_path):
    """--version reads no package metadata; validating a plain file outside a repository needs neither
    PyYAML (no document needs the exact reader), the spec stage, nor XML."""
    assert "importlib.metadata" not in _imported("--version")
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n")
    imported = _imported("validate", "cm.yaml", cwd=tmp_path)
    assert "mlgitops.kube.validator" in imported
    assert not {"yaml", "mlgitops.spec.config", "xml.sax.saxutils", "urllib.request"} & imported
