"""`mlgitops import`: the corpus under tests/cases/import/<case>/ (input manifests, the spec it prints, the report
it gives), writing without overwriting, literal secrets never shown, and the round trip: importing what an
example spec builds to gives back the spec on every field import carries.

MLGITOPS_UPDATE_GOLDEN=1 rewrites the expected files; read their diff line by line before committing it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, make_repo, run_cli
from mlgitops.commands.import_ import read_documents
from mlgitops.spec.config import load_config
from mlgitops.spec.import_text import spec_text
from mlgitops.spec.importer import import_documents
from mlgitops.spec.model import expand_version, parse_model
from mlgitops.spec.repo import Repo

CASES = Path(__file__).resolve().parents[1] / "cases/import"
NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())
UPDATE = os.environ.get("MLGITOPS_UPDATE_GOLDEN") == "1"
# the examples that serve (a training-only example, models/demand-forecast.yaml, has no serving overlay)
EXAMPLES = sorted(p.stem for p in (ROOT / "models").glob("*.yaml")
                  if (ROOT / "overlays/dev" / p.stem / "kustomization.yaml").exists())


def _golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual)
    assert actual == path.read_text(), f"{path} differs (MLGITOPS_UPDATE_GOLDEN=1 rewrites it)"


@pytest.mark.parametrize("case", NAMES)
def test_corpus_case_prints_its_expected_spec_and_report(case, capsys, monkeypatch):
    monkeypatch.chdir(CASES / case)
    result = run_cli(capsys, "import", "input.yaml", "--dry-run", "--repo", str(ROOT))
    _golden(CASES / case / "expected.yaml", result.out)
    _golden(CASES / case / "expected.txt", f"exit {result.code}\n{result.err}")


def test_a_literal_secret_is_neither_written_nor_shown(capsys, monkeypatch):
    monkeypatch.chdir(CASES / "refused")
    result = run_cli(capsys, "import", "input.yaml", "--dry-run", "--repo", str(ROOT))
    for secret in ("correct-horse-battery-staple", "s3cr3tPassw0rd", "sk-live-51HqZz2eZvKYlo2C8aBcDeFgHiJkLmNoP"):
        assert secret not in result.out and secret not in result.err
    assert "env 'DB_PASSWORD' holds a literal value" in result.err
    assert result.code == 1


def test_a_report_points_at_the_line_and_column_of_the_field(capsys, monkeypatch):
    monkeypatch.chdir(CASES / "llm-vllm")
    result = run_cli(capsys, "import", "input.yaml", "--dry-run", "--repo", str(ROOT))
    lines = (CASES / "llm-vllm/input.yaml").read_text().splitlines()
    assert "input.yaml:77:9: mount path /root/.cache/huggingface" in result.err
    assert lines[76][8:] == "name: cache-volume"  # the volume, 1-based line 77, column 9


def test_a_document_that_is_no_mapping_is_reported_at_its_first_column(tmp_path, capsys, monkeypatch):
    """Columns are 1-based, as everywhere else (it said 6:0)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.yaml").write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n---\n- a\n- b\n")
    result = run_cli(capsys, "import", "in.yaml", "--dry-run", "--repo", str(ROOT))
    assert "in.yaml:6:1: a YAML document is not a mapping (k8s-not-object)" in result.err


def test_import_writes_the_spec_and_never_overwrites_it(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", models=[])
    source = str(CASES / "sklearn-flask/input.yaml")
    assert run_cli(capsys, "import", source, "--repo", str(repo)).code == 0
    written = (repo / "models/house-price-api.yaml").read_text()
    assert written.startswith("# yaml-language-server: $schema=../schemas/model.schema.json\n")
    # the header names the input relative to the current directory: no absolute path of this machine
    assert f"from {os.path.relpath(source)}.\n" in written and source not in written
    again = run_cli(capsys, "import", source, "--repo", str(repo))
    assert again.code == 1
    assert "models/house-price-api.yaml already exists: never overwritten" in again.err
    assert (repo / "models/house-price-api.yaml").read_text() == written


def test_import_and_new_never_write_through_a_symlink_out_of_the_repository(tmp_path, capsys):
    """A repository whose models/ (or a spec's path) is a symlink elsewhere: nothing is written there."""
    repo = make_repo(tmp_path / "repo", models=[])
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "models").rmdir()
    (repo / "models").symlink_to(outside)
    source = str(CASES / "sklearn-flask/input.yaml")
    result = run_cli(capsys, "import", source, "--repo", str(repo))
    assert result.code == 2 and "models is a symlink (it could lead outside the repository)" in result.err
    assert run_cli(capsys, "new", "foo", "--image", "registry.example.com/foo:1.0.0", "--repo", str(repo)).code == 2
    assert not list(outside.iterdir())
    (repo / "models").unlink()
    (repo / "models").mkdir()
    (repo / "models/house-price-api.yaml").symlink_to(outside / "spec.yaml")  # dangling: exists() is False
    result = run_cli(capsys, "import", source, "--repo", str(repo))
    assert result.code == 2 and not list(outside.iterdir())
    assert (repo / "models/house-price-api.yaml").is_symlink()


def test_a_pytorchjob_stays_one_where_mlgitops_yaml_says_distributed_pytorchjob(tmp_path, capsys):
    # the corpus's repository makes TrainJobs (the default): its report says the PyTorchJob becomes one
    assert "the PyTorchJob becomes a TrainJob" in (CASES / "pytorchjob/expected.txt").read_text()
    repo = make_repo(tmp_path / "repo", models=[])
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text() + "training:\n  distributed: pytorchjob\n")
    result = run_cli(capsys, "import", str(CASES / "pytorchjob/input.yaml"), "--dry-run", "--repo", str(repo))
    assert result.code == 0
    assert "becomes a TrainJob" not in result.err and "becomes a TrainJob" not in result.out


def test_name_renames_the_model_and_refuses_an_input_of_several(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", models=[])
    assert run_cli(capsys, "import", str(CASES / "odd-shapes/input.yaml"), "--name", "echo",
                   "--repo", str(repo)).code == 0
    assert "  name: echo\n" in (repo / "models/echo.yaml").read_text()
    both = run_cli(capsys, "import", str(CASES / "sklearn-flask"), str(CASES / "odd-shapes"), "--name", "x",
                   "--repo", str(repo))
    assert both.code == 1 and "--name x: the input holds 2 models" in both.err


# the corpus cases without a serving workload: each is written, generated and checked like the others
TRAINING_ONLY = {"job", "job-root-cache", "katib", "katib-tpe", "katib-pytorchjob", "pytorchjob", "pytorchjob-dshm", "trainjob-runtime",
                 "cronjob-nightly", "katib-grid", "pytorchjob-elastic-efa", "trainjob-initializer"}
WRITTEN = [case for case in NAMES if (CASES / case / "expected.txt").read_text().startswith("exit 0\n")]


@pytest.mark.slow  # a check of every written case (about 15 models); the fast loop keeps each case's import
# against its expected spec and report (test_corpus_case_prints_its_expected_spec_and_report) and the round
# trip of a generated build (tests/commands/test_import_roundtrip.py)
def test_imported_specs_generate_and_pass_check_or_the_report_names_what_remains(tmp_path, capsys):
    """Every case whose import exits 0 writes a spec that `generate` builds; `check` then passes it, or each
    error it still finds is a rule the import's report named (e.g. min-replicas for a one-pod input,
    image-pinned for a tag that is no version)."""
    repo = make_repo(tmp_path / "repo", models=[])
    for case in WRITTEN:
        result = run_cli(capsys, "import", str(CASES / case / "input.yaml"), "--name", case, "--repo", str(repo))
        assert result.code == 0, (case, result.err)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo), "--format", "json")
    errors = [f for f in json.loads(result.out)["findings"] if f["severity"] == "error"]
    for finding in errors:
        case = Path(finding["file"]).stem
        assert finding["rule"] in (CASES / case / "expected.txt").read_text(), finding
    assert len(WRITTEN) >= 12
    assert set(WRITTEN) >= TRAINING_ONLY, "a training-only case is not written, so neither generated nor checked"


# --- round trip ---------------------------------------------------------------------------------------------
# Equivalence: the effective dev spec (defaults filled, {version} expanded) of the example and of the spec
# imported from its built dev overlay agree on every field import carries (CARRIED). Not compared: what
# mlgitops derives in dev from other fields or from mlgitops.yaml (the rollout a single GPU pod gets, the GPU
# node selector and toleration, the HPA's gentle scale-down), and model.fetch (read back as an init container
# and a volume, reported as not carried over).
CARRIED = {
    "model": ("version", "uri", "framework"),
    "serving": ("image", "command", "args", "port", "replicas", "resources", "health", "env", "secrets",
                "storage", "sharedMemory", "ingress", "metrics"),
}
AUTOSCALING = ("minReplicas", "maxReplicas", "targetCPUUtilization", "targetRequestsPerSecond", "metric")


def _carried(spec: dict[str, Any]) -> dict[str, Any]:
    out = {f"{section}.{key}": spec[section].get(key) for section, keys in CARRIED.items() for key in keys}
    scaling = spec["serving"].get("autoscaling") or {}
    out |= {f"serving.autoscaling.{key}": scaling.get(key) for key in AUTOSCALING}
    return out


def _effective_dev(path: str, raw: bytes) -> dict[str, Any]:
    config, _ = load_config(Repo(ROOT))
    model, findings = parse_model(path, raw, config)
    assert model is not None, findings
    return expand_version(model.effective["dev"])["spec"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_importing_an_examples_dev_build_gives_back_its_dev_spec(example, tmp_path):
    built = subprocess.run(["kubectl", "kustomize", str(ROOT / "overlays/dev" / example)], check=True,
                           capture_output=True, text=True).stdout
    (tmp_path / "built.yaml").write_text(built)
    docs, findings = read_documents([str(tmp_path / "built.yaml")])
    [imported], found = import_documents(docs)
    config, _ = load_config(Repo(ROOT))
    text = spec_text(imported.spec, imported.sources, imported.findings, config.env_names)
    original = _effective_dev(f"models/{example}.yaml", (ROOT / "models" / f"{example}.yaml").read_bytes())
    back = _effective_dev(f"models/{example}.yaml", text.encode())
    assert _carried(back) == _carried(original)
    assert imported.name == example and not findings
    # what is left of the input: only the objects mlgitops makes itself from the spec
    # (the SLO objects too: serving.slo's PrometheusRule and dashboard ConfigMap)
    assert {f.object.split("/")[0] for f in found} <= {"ServiceAccount", "NetworkPolicy", "PrometheusRule", "ConfigMap"}
