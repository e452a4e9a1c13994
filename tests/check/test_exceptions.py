"""Per-model policy exceptions: granted only by a reason in the spec, written on the Deployment, listed by check."""

from __future__ import annotations

import json

from conftest import ROOT, make_repo, run_cli
from mlgitops.report.rules import POLICY_RULES

SPEC = ROOT / "tests/cases/policies/exceptions-granted-by-spec-ok/model.yaml"


def _repo(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", models=[])
    (repo / "models/m.yaml").write_bytes(SPEC.read_bytes())
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    return repo


def test_the_generated_deployment_records_the_exceptions_of_its_environment(tmp_path, capsys):
    repo = _repo(tmp_path, capsys)
    base = (repo / "base/m/deployment.yaml").read_text()
    assert "policy-exception.mlgitops.io/container-probes: a batch scorer that serves no HTTP endpoint\n" in base
    prod = (repo / "overlays/prod/m/deployment-patch.yaml").read_text()
    assert ('policy-exception.mlgitops.io/min-replicas: "one pod is enough: a queue consumer, restarts are '
            'harmless"\n') in prod
    assert "policy-exception.mlgitops.io/pdb-required: " in prod


def test_check_lists_every_exception_in_its_summary_also_from_the_cache(tmp_path, capsys):
    repo = _repo(tmp_path, capsys)
    for _ in range(2):  # the second run answers from the cache
        result = run_cli(capsys, "check", "--repo", str(repo))
        assert result.code == 0, result.out
        lines = [line for line in result.out.splitlines() if line.startswith("policy exception:")]
        assert lines == [
            "policy exception: models/m.yaml: dev: container-probes (a batch scorer that serves no HTTP endpoint)",
            "policy exception: models/m.yaml: prod: container-probes (a batch scorer that serves no HTTP endpoint)",
            ("policy exception: models/m.yaml: prod: min-replicas (one pod is enough: a queue consumer, restarts are "
             "harmless)"),
            ("policy exception: models/m.yaml: prod: pdb-required (one pod is enough: a queue consumer, restarts are "
             "harmless)"),
            "policy exception: models/m.yaml: staging: container-probes (a batch scorer that serves no HTTP endpoint)",
        ]


def test_the_schema_accepts_exactly_the_policy_rules():
    schema = json.loads((ROOT / "schemas/model.schema.json").read_text())
    exceptions = schema["properties"]["spec"]["properties"]["policies"]["properties"]["exceptions"]
    assert exceptions["propertyNames"]["enum"] == sorted(POLICY_RULES)


RELAXED = ROOT / "tests/cases/policies/security-relaxed-with-reason-in-a-restricted-namespace/model.yaml"


def test_a_security_exception_runs_where_the_namespace_enforces_baseline(tmp_path, capsys):
    """Admission reads no reasons: an environment whose models escalate privileges says podSecurity: baseline,
    its Namespace enforces baseline (audit and warn stay restricted), and check passes there only."""
    repo = make_repo(tmp_path / "repo", models=[])
    (repo / "models/m.yaml").write_bytes(RELAXED.read_bytes())
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text().replace("  namespace: ml-dev\n", "  namespace: ml-dev\n  podSecurity: baseline\n"))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    namespace = (repo / "clusters/dev/flux/namespace-ml-dev.yaml").read_text()
    assert "pod-security.kubernetes.io/enforce: baseline\n" in namespace
    assert "pod-security.kubernetes.io/audit: restricted\n" in namespace
    assert "pod-security.kubernetes.io/warn: restricted\n" in namespace
    assert "enforce: restricted\n" in (repo / "clusters/prod/flux/namespace-ml-prod.yaml").read_text()
    result = run_cli(capsys, "check", "--repo", str(repo), "--no-cache")
    admission = [line for line in result.out.splitlines() if "(pod-security-admission)" in line]
    assert len(admission) == 1 and "staging, prod: the namespace enforces the restricted" in admission[0]
