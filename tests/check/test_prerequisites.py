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
    [line] = lines({"ml-dev": objects})
    assert line.startswith(f"ml-dev needs {needs}; katib-config: ")


def _needs(objects: list[dict]) -> list[str]:
    [line] = lines({"ml-dev": objects})
    return line.removeprefix("ml-dev needs ").split("; ")


def test_a_trainjob_needs_its_runtime_and_initializer_resources_the_trainjob_cannot_set():
    def train_job(runtime: str) -> dict:
        return {"kind": "TrainJob", "apiVersion": "trainer.kubeflow.org/v1alpha1",
                "spec": {"runtimeRef": {"name": runtime}}}

    assert "ClusterTrainingRuntime torch-distributed (Trainer rejects a TrainJob whose runtime does not exist)" \
        in _needs([train_job("torch-distributed")])
    assert not [n for n in _needs([train_job("torch-distributed")]) if n.startswith("resources")]
    assert ("resources for the dataset-initializer, model-initializer containers of ClusterTrainingRuntime "
            "torchtune-llama3.2-1b (a TrainJob cannot set them: in the runtime, or a LimitRange default)"
            in _needs([train_job("torchtune-llama3.2-1b")]))


def test_a_claim_the_pods_mount_but_nothing_creates_is_named():
    def job(claim: str) -> dict:
        return {"kind": "Job", "apiVersion": "batch/v1", "metadata": {"name": "j"}, "spec": {"template": {"spec": {
            "containers": [{"name": "c"}], "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]}}}}

    created = {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "metadata": {"name": "made"}, "spec": {}}
    assert _needs([job("imagenet"), job("made"), created]) == [
        "PersistentVolumeClaim imagenet (not created here: pods stay Pending without it)"]


def test_katib_names_the_exact_katib_config_settings_for_restricted_pods():
    experiment = {"kind": "Experiment", "apiVersion": "kubeflow.org/v1beta1",
                  "spec": {"algorithm": {"algorithmName": "grid"}}}
    katib = [n for n in _needs([experiment]) if n.startswith("katib-config")]
    assert katib == [("katib-config: init.controller.injectSecurityContext: true, and runtime.suggestions "
                      "[algorithmName: grid] securityContext: {allowPrivilegeEscalation: false, capabilities: "
                      "{drop: [ALL]}, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}} (Katib's sidecar "
                      "and suggestion pods under restricted Pod Security)")]


def test_a_requests_per_second_autoscaler_needs_a_custom_metrics_adapter():
    hpa = {"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2", "spec": {"metrics": [
        {"resource": {"name": "cpu"}}, {"pods": {"metric": {"name": "http_requests_per_second"}}}]}}
    assert _needs([hpa]) == [("a custom-metrics adapter serving the pods metric http_requests_per_second "
                              "(custom.metrics.k8s.io, e.g. prometheus-adapter)")]
