"""Training objects reach `mlgitops check` like serving: built by kustomize, validated strictly against the
Kubernetes schemas and the vendored upstream CRDs (TrainJob, PyTorchJob, Katib Experiment), policy-checked
and synced apart from serving."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from conftest import run_cli
from mlgitops.check import policies

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "render"))
from test_training import CASES, HEAD

ROOT = Path(__file__).resolve().parents[2]


def make_training_repo(path: Path, cases: list[str], config_extra: str = "") -> Path:
    (path / "models").mkdir(parents=True)
    config = (ROOT / "mlgitops.yaml").read_text().replace("prometheusOperator: true\n",
                                                          "prometheusOperator: true\nsync: {engine: both}\n")
    (path / "mlgitops.yaml").write_text(config + config_extra)
    for case in cases:
        name = f"m-{case}"
        (path / "models" / f"{name}.yaml").write_text(HEAD.replace("name: resnet", f"name: {name}") + CASES[case])
    return path


def test_every_kind_passes_a_strict_check(tmp_path, capsys):
    repo = make_training_repo(tmp_path / "repo", ["job", "cronjob", "trainjob", "sweep-grid", "sweep-random"])
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo))
    assert result.code == 0, result.out
    assert result.out.endswith("5 models, 20 overlays, 89 resources: 0 errors, 0 warnings\n")
    assert "GPU-hour bound: m-sweep-grid dev: the sweep may use 16 GPU-hours (6 trials, 4 at a time: 4 pods x 1 GPU x 2 rounds of 2h)\n" in result.out
    assert "GPU-hour bound: m-trainjob dev: the distributed job may use 384 GPU-hours (4 pods x 4 GPUs x 24h)\n" \
        in result.out


def test_pytorchjob_and_katib_pass_a_strict_check_with_a_deprecation_warning(tmp_path, capsys):
    repo = make_training_repo(tmp_path / "repo", ["pytorchjob", "katib-experiment"],
                              "training: {distributed: pytorchjob, katib: true}\n")
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo))
    assert result.code == 0, result.out
    assert "Kubeflow Trainer v2's TrainJob replaces (deprecated)" in result.out
    assert result.out.endswith("resources: 0 errors, 1 warning\n")


def test_a_broken_training_object_is_found_by_the_crd_schema(tmp_path, capsys):
    repo = make_training_repo(tmp_path / "repo", ["trainjob"])
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    path = next((repo / "overlays/dev/m-trainjob/training").glob("trainjob.yaml"))
    path.write_text(path.read_text().replace("    numNodes: 4\n", "    numNodes: 4\n    numWorkers: 4\n"))
    out = run_cli(capsys, "check", "--repo", str(repo), "--no-cache").out
    assert "numWorkers" in out and "(k8s-schema)" in out


def test_training_is_synced_apart_from_serving(tmp_path, capsys):
    repo = make_training_repo(tmp_path / "repo", ["job"])
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    serving = yaml.safe_load((repo / "clusters/dev/flux/dev/m-job.yaml").read_text())
    training = yaml.safe_load((repo / "clusters/dev/flux/dev/training/m-job.yaml").read_text())
    assert serving["spec"]["wait"] is True and serving["spec"]["path"] == "./overlays/dev/m-job"
    assert training["metadata"]["name"] == "m-job-dev-training"
    assert training["spec"]["wait"] is True and training["spec"]["path"] == "./overlays/dev/m-job/training"
    assert training["spec"]["prune"] is True
    serving_kustomization = yaml.safe_load((repo / "overlays/dev/m-job/kustomization.yaml").read_text())
    assert not any("training" in r for r in serving_kustomization["resources"])
    appset = yaml.safe_load((repo / "clusters/dev/argocd/applicationset-dev-training.yaml").read_text())
    assert appset["metadata"]["name"] == "mlgitops-dev-training"
    assert appset["spec"]["generators"][0]["git"]["directories"] == [{"path": "overlays/dev/*/training"}]
    assert appset["spec"]["template"]["metadata"]["name"] == "{{index .path.segments 2}}-dev-training"
    assert appset["spec"]["syncPolicy"] == {"preserveResourcesOnDeletion": False}  # a CronJob must not outlive its spec
    assert not (repo / "clusters/prod/flux/prod/training").exists()  # only dev trains
    assert not (repo / "clusters/prod/argocd/applicationset-prod-training.yaml").exists()


def test_a_stray_training_folder_would_become_an_application(tmp_path, capsys):
    repo = make_training_repo(tmp_path / "repo", ["job"])
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    stray = repo / "overlays/dev/m-job-old/training"
    stray.mkdir(parents=True)
    (stray / "kustomization.yaml").write_text("resources: []\n")
    out = run_cli(capsys, "check", "--repo", str(repo)).out
    assert "ApplicationSet mlgitops-dev-training would make an Application for overlays/dev/m-job-old/training" in out


def test_policies_find_an_unpinned_training_image_at_its_spec_line(tmp_path, capsys):
    repo = make_training_repo(tmp_path / "repo", ["cronjob"])
    spec = repo / "models/m-cronjob.yaml"
    spec.write_text(spec.read_text().replace("resnet-train:2.1.0", "resnet-train:latest"))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    out = run_cli(capsys, "check", "--repo", str(repo)).out
    line = next(i for i, text in enumerate(spec.read_text().splitlines(), 1) if "resnet-train:latest" in text)
    assert f"{line}:12  error    dev: image 'registry.example.com/vision/resnet-train:latest' is tagged :latest " \
        "[CronJob/m-cronjob-train] (image-latest)" in out


SETTINGS = policies.Settings.for_environment("prod", {})
GPU = {"resource": "nvidia.com/gpu", "nodeSelector": {"nvidia.com/gpu.present": "true"},
       "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}


def _rules(obj: dict) -> list[tuple[str, str]]:
    return sorted((v.rule, v.pointer) for v in policies.evaluate([obj], SETTINGS, GPU))


def _golden(case: str, kind: str) -> dict:
    """The object of `kind` in a rendered golden file (beside it, the training NetworkPolicies)."""
    text = (Path(__file__).resolve().parents[1] / f"render/golden/training/{case}.yaml").read_text()
    [obj] = [o for o in yaml.safe_load_all(text) if o["kind"] == kind]
    return obj


def test_policies_read_a_trainjob_through_its_trainer_and_runtime_patch():
    obj = _golden("trainjob", "TrainJob")
    assert _rules(obj) == []
    obj["spec"]["trainer"]["image"] = "registry.example.com/vision/resnet-train:nightly"
    pod = obj["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0][
        "template"]["spec"]["template"]["spec"]
    del pod["tolerations"]
    pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    at = "/spec/runtimePatches/0/trainingRuntimeSpec/template/spec/replicatedJobs/0/template/spec/template/spec"
    assert _rules(obj) == [("gpu-scheduling", f"{at}/tolerations"), ("image-pinned", "/spec/trainer/image"),
                           ("pod-security", f"{at}/containers/0/securityContext")]


def test_policies_read_every_pytorchjob_replica_and_skip_probes_on_batch_pods():
    obj = _golden("pytorchjob", "PyTorchJob")
    assert _rules(obj) == []
    del obj["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    worker = "/spec/pytorchReplicaSpecs/Worker/template/spec/containers/0"
    assert _rules(obj) == [("container-resources", f"{worker}/resources")]


def test_a_training_change_shows_in_the_rendered_diff_as_a_new_job(tmp_path, capsys):
    import subprocess

    repo = make_training_repo(tmp_path / "repo", ["job"])
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=repo, check=True,
                       capture_output=True)
    spec = repo / "models/m-job.yaml"
    spec.write_text(spec.read_text().replace("--epochs=20", "--epochs=30")
                    .replace("image: registry.example.com/vision/resnet:2.1.0", "image: registry.example.com/vision/resnet:2.1.1"))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    out = run_cli(capsys, "diff", "--repo", str(repo), "--base", "HEAD").out
    assert "+++ b/overlays/dev/m-job/training (built now)" in out
    assert '-    - "--epochs=20"\n+    - "--epochs=30"\n' not in out  # not an edit in place: a new Job
    assert "-  name: m-job-train-" in out and "+  name: m-job-train-" in out
    assert "+++ b/overlays/dev/m-job (built now)" in out and "resnet:2.1.1" in out  # serving, built apart


def test_a_spec_that_stops_training_leaves_no_training_files(tmp_path, capsys):
    repo = make_training_repo(tmp_path / "repo", ["sweep-grid"])
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    assert (repo / "overlays/dev/m-sweep-grid/training/sweep-job.yaml").is_file()
    spec = repo / "models/m-sweep-grid.yaml"
    spec.write_text(spec.read_text() + "  environments:\n    dev: {training: null}\n")
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    assert not (repo / "overlays/dev/m-sweep-grid/training").exists()
    assert not (repo / "clusters/dev/flux/dev/training").exists()
    assert not (repo / "clusters/dev/argocd/applicationset-dev-training.yaml").exists()
    assert (repo / "overlays/dev/m-sweep-grid/kustomization.yaml").is_file()


def test_an_environment_named_like_a_training_sync_object_is_refused(tmp_path, capsys):
    repo = make_training_repo(tmp_path / "repo", ["job"])
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text().replace("- name: staging\n", "- name: dev-training\n"))
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 1
    line = config.read_text().splitlines().index("- name: dev-training") + 1
    assert f"mlgitops.yaml:{line}:9: environment name 'dev-training' is reserved" in result.err
    assert not (repo / "overlays").exists()


@pytest.mark.slow
def test_training_kinds_are_exported_for_kubeconform_and_stand_alone(tmp_path):
    import json

    import jsonschema_rs
    from mlgitops.cli import main

    assert main(["schemas", "export", str(tmp_path), "--kubernetes-version", "1.33.0"]) == 0
    folder = tmp_path / "v1.33.0-standalone-strict"
    golden = Path(__file__).resolve().parents[1] / "render/golden/training"
    for name, case, kind in (("trainjob-trainer-v1alpha1.json", "trainjob", "TrainJob"),
                             ("pytorchjob-kubeflow-v1.json", "pytorchjob", "PyTorchJob"),
                             ("experiment-kubeflow-v1beta1.json", "katib-experiment", "Experiment")):
        text = (folder / name).read_text()
        schema = json.loads(text)
        refs = [part.split('"')[0] for part in text.split('"$ref":"')[1:]]
        assert all(r.startswith("#/definitions/") and r[14:] in schema.get("definitions", {}) for r in refs), name
        validator = jsonschema_rs.Draft4Validator(schema, validate_formats=True)
        [obj] = [o for o in yaml.safe_load_all((golden / f"{case}.yaml").read_text()) if o["kind"] == kind]
        assert validator.is_valid(obj), name
        assert not validator.is_valid({**obj, "spec": {**obj["spec"], "unknownField": 1}}), name


def test_check_names_what_katib_and_trainer_need_in_text_and_json(tmp_path, capsys):
    import json

    repo = make_training_repo(tmp_path / "repo", ["trainjob", "katib-experiment"],
                              "training: {katib: true, runtime: torch-distributed-with-cache}\n")
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    namespace = yaml.safe_load((repo / "clusters/dev/flux/namespace-ml-dev.yaml").read_text())
    assert namespace["metadata"]["labels"]["katib.kubeflow.org/metrics-collector-injection"] == "enabled"
    staging = yaml.safe_load((repo / "clusters/staging/flux/namespace-ml-staging.yaml").read_text())
    assert "katib.kubeflow.org/metrics-collector-injection" not in staging["metadata"]["labels"]  # no training
    text = run_cli(capsys, "check", "--repo", str(repo))
    assert text.code == 0, text.out
    [line] = [x for x in text.out.splitlines() if x.startswith("prerequisite: ml-dev needs")]
    for need in ("ClusterTrainingRuntime torch-distributed-with-cache", "PersistentVolumeClaim imagenet",
                 "init.controller.injectSecurityContext: true", "resources for the dataset-initializer containers"):
        assert need in line
    report = json.loads(run_cli(capsys, "check", "--repo", str(repo), "--format", "json").out)
    assert report["findings"] == [] and report["prerequisites"] == [line.removeprefix("prerequisite: ")]


def test_training_pods_take_no_ingress_but_from_the_workers_of_their_own_run(tmp_path, capsys):
    repo = make_training_repo(tmp_path / "repo", ["trainjob", "job"])
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    folder = repo / "overlays/dev/m-trainjob/training"
    [train_job] = list(yaml.safe_load_all((folder / "trainjob.yaml").read_text()))
    run = train_job["metadata"]["name"]
    workers = yaml.safe_load((folder / "networkpolicy-workers.yaml").read_text())
    assert workers["spec"]["podSelector"]["matchLabels"]["mlgitops.io/run"] == run
    assert workers["spec"]["ingress"] == [{"from": [{"podSelector": workers["spec"]["podSelector"]}]}]
    deny = yaml.safe_load((repo / "overlays/dev/m-job/training/networkpolicy.yaml").read_text())
    assert deny["spec"]["ingress"] == [] and deny["spec"]["policyTypes"] == ["Ingress"]
    assert not (repo / "overlays/dev/m-job/training/networkpolicy-workers.yaml").exists()  # one pod: no peers
