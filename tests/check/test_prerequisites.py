"""check names what each namespace needs before a sync: referenced Secrets (names only) and operators."""

from __future__ import annotations

from conftest import run_cli
from mlgitops.check.prerequisites import lines


def test_secrets_by_reference_tls_and_volumes_and_the_operators_of_custom_resources():
    deployment = {"kind": "Deployment", "apiVersion": "apps/v1", "spec": {"template": {"spec": {
        "containers": [{"env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}],
                        "envFrom": [{"secretRef": {"name": "extra"}}]}],
        "volumes": [{"name": "certs", "secret": {"secretName": "certs"}}]}}}}
    ingress = {"kind": "Ingress", "apiVersion": "networking.k8s.io/v1",
               "spec": {"tls": [{"hosts": ["a.example.com"], "secretName": "tls"}]}}
    monitor = {"kind": "ServiceMonitor", "apiVersion": "monitoring.coreos.com/v1", "spec": {}}
    assert lines({"ml-prod": [deployment, ingress, monitor], "ml-dev": []}) == [
        "ml-prod needs Secrets certs, db, extra, tls and Prometheus Operator (ServiceMonitor)"]


def test_check_prints_them_and_never_a_value(generated, capsys):
    result = run_cli(capsys, "check", "--repo", str(generated))
    assert "prerequisite: ml-prod needs Secrets fraud-detector-feast, fraud-detector-tls" in result.out
    assert "password" not in result.out
    cached = run_cli(capsys, "check", "--repo", str(generated))  # answered from the cache: the same lines
    assert [line for line in cached.out.splitlines() if line.startswith("prerequisite:")] == [
        line for line in result.out.splitlines() if line.startswith("prerequisite:")]
