"""The run kinds' health, as the engines evaluate it, against example status documents of each kind
(tests/cases/health/<Kind>.yaml: a run just created, running, succeeded, failed).

Flux's `healthCheckExprs` are CEL, evaluated here with the CEL implementation `common-expression-language`
the way kustomize-controller does (the object's fields as variables; `failed` first, then `current`, else
in progress). Argo CD's health checks are Lua, run here with `lupa` as Argo CD runs them (`obj` the object,
a table {status, message} returned)."""

from __future__ import annotations

from pathlib import Path

import cel
import lupa
import pytest
import yaml
from mlgitops.kube.workloads import KINDS, health_checks

CASES = Path(__file__).resolve().parents[1] / "cases" / "health"
FLUX = {"created": "Current", "running": "Current", "healthy": "Current", "failed": "Failed"}
ARGO = {"created": "Progressing", "running": "Progressing", "healthy": "Healthy", "failed": "Degraded"}


def _documents(kind: str) -> dict[str, dict]:
    return yaml.safe_load((CASES / f"{kind}.yaml").read_text())


def flux_status(exprs: dict[str, str], obj: dict) -> str:
    for status, key in (("Failed", "failed"), ("Current", "current")):
        if cel.evaluate(exprs[key], obj):
            return status
    return "InProgress"


def argo_health(script: str, obj: dict) -> dict:
    runtime = lupa.LuaRuntime(unpack_returned_tuples=True)
    run = runtime.eval(f"function(obj) {script} end")
    result = run(runtime.table_from(obj, recursive=True))
    return dict(result.items())


def test_every_custom_run_kind_has_a_health_check_and_example_documents():
    assert sorted(w.kind for w, _ in health_checks()) == ["Experiment", "PyTorchJob", "TrainJob"]
    assert KINDS["Job"].health is not None and KINDS["Job"].health.core  # the engines read Jobs themselves
    assert sorted(p.stem for p in CASES.glob("*.yaml")) == ["Experiment", "PyTorchJob", "TrainJob"]


@pytest.mark.parametrize("kind", sorted(w.kind for w, _ in health_checks()))
@pytest.mark.parametrize("state", sorted(FLUX))
def test_flux_reads_a_run_in_progress_as_healthy_and_a_failed_one_as_failed(kind, state):
    health = KINDS[kind].health
    assert health is not None
    assert flux_status(health.cel, _documents(kind)[state]) == FLUX[state]


@pytest.mark.parametrize("kind", sorted(w.kind for w, _ in health_checks()))
@pytest.mark.parametrize("state", sorted(ARGO))
def test_argo_cd_reads_a_run_as_progressing_healthy_or_degraded(kind, state):
    health = KINDS[kind].health
    assert health is not None
    got = argo_health(health.lua, _documents(kind)[state])
    assert got["status"] == ARGO[state]
    if state == "failed":  # the controller's reason reaches the Application's health message
        assert got["message"] == _documents(kind)["failed"]["status"]["conditions"][-1]["message"]


def test_the_docs_show_exactly_the_argo_cd_health_settings_the_table_makes():
    from mlgitops.kube.workloads import argocd_health_settings

    docs = (Path(__file__).resolve().parents[2] / "docs/training.md").read_text()
    block = docs.split("<!-- argocd-health:start -->\n", 1)[1].split("<!-- argocd-health:end -->", 1)[0]
    shown = yaml.safe_load(block.removeprefix("```yaml\n").rstrip().removesuffix("```"))
    assert shown["data"] == argocd_health_settings()
