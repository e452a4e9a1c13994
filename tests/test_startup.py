"""Start-up: each command imports what it needs, when it runs (issue 22). `validate` of one file does not pay
for `check`, the render stage or the secret detector; `init` still lists its engines; --version imports
neither jsonschema nor the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

HEAVY = {"mlgitops.check.pipeline", "mlgitops.render", "mlgitops.commands.check", "detect_secrets", "requests",
         "jsonschema", "ruamel.yaml"}


def _imported(*argv: str, cwd: Path = ROOT) -> tuple[subprocess.CompletedProcess, set[str]]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "mlgitops", *argv], cwd=cwd,
                          capture_output=True, text=True, check=False)
    return done, {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}


def test_validate_of_one_file_outside_a_repository_imports_nothing_of_check_render_or_the_secret_detector(tmp_path):
    manifest = tmp_path / "sa.yaml"
    manifest.write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n")
    done, imported = _imported("validate", str(manifest), cwd=tmp_path)
    assert done.returncode == 0 and "1 valid" in done.stdout
    assert "mlgitops.commands.validate" in imported
    assert not HEAVY & imported


def test_version_imports_neither_jsonschema_nor_the_cli():
    done, imported = _imported("--version")
    assert done.returncode == 0 and "Kubernetes schemas: 1.25.0 .. " in done.stdout
    assert not ({"mlgitops.cli", "kubernetes_validate"} | HEAVY) & imported


def test_help_lists_init_and_init_lists_its_engines_though_it_is_built_when_looked_up():
    done, _ = _imported("--help")
    assert "  init " in done.stdout
    done, imported = _imported("init", "--help")
    assert "--engine [flux|argocd|both]" in done.stdout
    assert "mlgitops.render" in imported


def test_a_bad_shard_is_still_a_usage_error_with_the_check_imported_only_then(tmp_path):
    done, _ = _imported("check", "--shard", "3/2", "--repo", str(tmp_path))
    assert done.returncode == 2 and "expected K/N with 1 <= K <= N" in done.stderr


def test_an_unchanged_generate_does_not_import_the_secret_detector_but_a_new_credential_is_still_found(repo):
    """The values the detector cleared are kept (as digests, signed, in the cache): a second run meets only
    known ones (mlgitops.yaml's git.url) and imports no detect-secrets; a new value is still checked."""
    first, imported = _imported("generate", "--repo", str(repo))
    assert first.returncode == 0 and "detect_secrets" in imported
    second, imported = _imported("generate", "--repo", str(repo))
    assert second.returncode == 0 and "0 written" in second.stderr and "detect_secrets" not in imported
    assert "mlgitops.kube.validator" not in imported  # only --check validates (the hand-written files)
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text().replace("https://", "https://deploy:hunter2hunter2@", 1))
    third, imported = _imported("generate", "--repo", str(repo))
    assert third.returncode == 1 and "git.url holds" in third.stderr and "detect_secrets" in imported


def test_an_unchanged_generate_imports_no_yaml_parser_schema_check_or_renderer_yet_a_config_edit_is_read(repo):
    """The config (its memo, signed in the cache) and the clusters' files come from the cache: a run that renders
    nothing needs neither PyYAML, jsonschema-rs, the spec parser nor render/; an edited mlgitops.yaml is parsed and
    checked again (here: a schema error at its line)."""
    heavy = {"yaml", "jsonschema_rs", "mlgitops.spec.model", "mlgitops.spec.yamlsource", "mlgitops.render",
             "mlgitops.tree.layout", "mlgitops.kube.schemas"}
    first, imported = _imported("generate", "--repo", str(repo))
    assert first.returncode == 0 and heavy <= imported
    second, imported = _imported("generate", "--repo", str(repo))
    assert second.returncode == 0 and "0 written" in second.stderr and not heavy & imported
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text().replace("prometheusOperator: true", "prometheusOperator: sometimes", 1))
    third, imported = _imported("generate", "--repo", str(repo))
    assert third.returncode == 1 and "mlgitops.yaml:" in third.stderr and "jsonschema_rs" in imported
