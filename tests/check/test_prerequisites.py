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


def test_each_training_kind_names_the_operator_that_serves_it():
    """PyTorchJob (Training Operator v1) and Experiment (Katib) share the kubeflow.org group, but are two installs."""
    objects = [{"kind": "TrainJob", "apiVersion": "trainer.kubeflow.org/v1alpha1", "spec": {}},
               {"kind": "PyTorchJob", "apiVersion": "kubeflow.org/v1", "spec": {}},
               {"kind": "Experiment", "apiVersion": "kubeflow.org/v1beta1", "spec": {}},
               {"kind": "Job", "apiVersion": "batch/v1", "spec": {}}]
    needs = "Katib (Experiment); Kubeflow Trainer v2 (TrainJob); Kubeflow Training Operator v1 (PyTorchJob)"
    assert lines({"ml-dev": objects}) == [f"ml-dev needs {needs}"]
