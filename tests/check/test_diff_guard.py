"""`mlgitops diff` guards the pull request: what a sync would break (exit 1) or delete, per cluster."""

from __future__ import annotations

import pytest
from conftest import run_cli
from gitrepo import commit, edit, git, init

pytestmark = pytest.mark.slow  # each test builds overlays with kustomize; make test-fast leaves them out

STORAGE = ('    storage: {size: 20Gi, accessMode: ReadWriteOnce, mountPath: /data}\n'
           '    rollout: {type: Recreate}\n')


def _with_storage(repo, extra: str = "") -> None:
    spec = repo / "models/house-prices.yaml"
    text = spec.read_text()
    spec.write_text(text.replace("    port: 5000\n", "    port: 5000\n" + STORAGE.replace("}\n", extra + "}\n", 1), 1))
    path = repo / "mlgitops.yaml"
    path.write_text(path.read_text().replace("prometheusOperator: true\n", "prometheusOperator: true\nsync: {engine: both}\n"))


def _generate(capsys, repo) -> None:
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 0, result.err


def _single_replica(repo) -> None:
    spec = repo / "models/house-prices.yaml"
    text = spec.read_text()
    assert "    replicas: 2\n" in text
    text = text.replace("    replicas: 2\n", "    replicas: 1\n", 1)
    spec.write_text(text)


def test_changing_an_immutable_field_is_an_error_naming_object_field_and_fix(repo, capsys):
    _with_storage(repo)
    _single_replica(repo)
    _generate(capsys, repo)
    commit(init(repo), "base")
    edit(repo / "models/house-prices.yaml", "accessMode: ReadWriteOnce", "accessMode: ReadWriteOncePod")
    _generate(capsys, repo)
    result = run_cli(capsys, "diff", "--repo", str(repo), "--base", "HEAD")
    assert result.code == 1  # without --exit-code: a sync would fail, so the check fails
    assert "spec.accessModes of PersistentVolumeClaim/house-prices-storage" in result.err
    assert "(['ReadWriteOnce'] -> ['ReadWriteOncePod'])" in result.err and "(immutable-field)" in result.err
    assert "first add the new claim beside the old one" in result.err
    markdown = run_cli(capsys, "diff", "--repo", str(repo), "--base", "HEAD", "--markdown").out
    caution = markdown.split("> [!CAUTION]\n", 1)[1].split("\n\n", 1)[0]
    assert "spec.accessModes of PersistentVolumeClaim/house-prices-storage changes" in caution


def test_a_deleted_model_lists_what_each_engine_prunes_and_keeps_its_protected_claim(repo, capsys):
    _with_storage(repo)
    _single_replica(repo)
    _generate(capsys, repo)
    commit(init(repo), "base")
    (repo / "models/house-prices.yaml").unlink()
    _generate(capsys, repo)
    result = run_cli(capsys, "diff", "--repo", str(repo), "--base", "HEAD")
    assert result.code == 0
    assert "overlays/prod/house-prices disappears from cluster prod: Flux deletes its Kustomization" in result.err
    # both engines delete the workloads (Argo CD through the Application's resources finalizer), neither the claim
    assert ("Argo CD deletes its Application and, through its resources finalizer, what it deployed (claims marked "
            "Delete=false stay)") in result.err
    assert "PersistentVolumeClaim/house-prices-storage stays (protected from prune), with its data" in result.err
    assert "(prune)" in result.err
    assert "fraud-detector" not in result.err  # untouched models are neither rebuilt nor reported


def test_a_claim_that_opted_out_of_protection_is_called_out_with_the_two_step_rename(repo, capsys):
    _with_storage(repo, ", prune: true")
    _single_replica(repo)
    _generate(capsys, repo)
    commit(init(repo), "base")
    (repo / "models/house-prices.yaml").unlink()
    _generate(capsys, repo)
    result = run_cli(capsys, "diff", "--repo", str(repo), "--base", "HEAD")
    assert "Among them PersistentVolumeClaim/house-prices-storage: the data on the volume goes with it" in result.err
    assert "hint: to rename a claim without losing its data" in result.err


def test_renaming_a_model_prunes_the_old_name_and_builds_the_new_one_only(repo, capsys):
    _with_storage(repo)
    _single_replica(repo)
    _generate(capsys, repo)
    commit(init(repo), "base")
    old = repo / "models/house-prices.yaml"
    old.rename(repo / "models/home-prices.yaml")
    edit(repo / "models/home-prices.yaml", "name: house-prices", "name: home-prices")
    _generate(capsys, repo)
    result = run_cli(capsys, "diff", "--repo", str(repo), "--base", "HEAD")
    assert result.code == 0
    assert "+++ b/overlays/prod/home-prices (built now)" in result.out
    assert "overlays/prod/house-prices disappears from cluster prod" in result.err
    assert "PersistentVolumeClaim/house-prices-storage stays (protected from prune)" in result.err
    assert "fraud-detector" not in result.out + result.err


CANARY = '        canary: {version: "3.3.0", image: "registry.example.com/risk/fraud-detector:3.3.0", weight: 10}\n'


def test_canaries_show_as_what_they_are(generated, capsys):
    config = generated / "mlgitops.yaml"
    config.write_text(config.read_text().replace("prometheusOperator: true\n",
                                                 "prometheusOperator: true\ngateway: {name: public, namespace: gw}\n"))
    _generate(capsys, generated)
    commit(init(generated), "no canary")
    spec = generated / "models/fraud-detector.yaml"
    spec.write_text(spec.read_text().replace("        replicas: 4\n", "        replicas: 4\n" + CANARY))
    _generate(capsys, generated)
    started = run_cli(capsys, "diff", "--repo", str(generated), "--base", "HEAD")
    assert "note: prod: canary 3.3.0 of fraud-detector starts, taking 10% of the requests" in started.err
    commit(generated, "canary")
    edit(spec, "weight: 10", "weight: 50")
    _generate(capsys, generated)
    assert "goes from 10% to 50% of the requests" in run_cli(capsys, "diff", "--repo", str(generated), "--base",
                                                             "HEAD").err
    commit(generated, "50%")
    assert run_cli(capsys, "promote", "fraud-detector", "--canary", "--env", "prod", "--repo", str(generated)).code == 0
    promoted = run_cli(capsys, "diff", "--repo", str(generated), "--base", "HEAD", "--markdown")
    assert "> [!NOTE]\n> - prod: the canary 3.3.0 of fraud-detector is promoted" in promoted.out
    git(generated, "checkout", "-q", "--", ".")  # back to the 50% canary: now roll it back instead
    edit(spec, CANARY.replace("weight: 10", "weight: 50"), "")
    _generate(capsys, generated)
    rolled = run_cli(capsys, "diff", "--repo", str(generated), "--base", "HEAD")
    assert "note: prod: the canary 3.3.0 of fraud-detector is rolled back; 3.1.4 stays" in rolled.err


def test_a_changed_training_spec_warns_that_the_old_job_is_stopped_and_names_the_spec(generated, capsys):
    """image-classifier sweeps in dev: new arguments make a new Job name, and the engines prune the old Job."""
    commit(init(generated), "base")
    edit(generated / "models/image-classifier.yaml", "args: [--epochs=20]", "args: [--epochs=30]")
    _generate(capsys, generated)
    result = run_cli(capsys, "diff", "--repo", str(generated), "--base", "HEAD")
    assert result.code == 0
    warning = next(line for line in result.err.splitlines() if "(prune)" in line)
    assert warning.startswith("models/image-classifier.yaml: overlays/dev/image-classifier/training on cluster dev")
    assert "stops it if it is still running (its pods are deleted, the run is lost)" in warning
    assert "hint: to let a running training finish, merge the change once it has completed" in result.err


def test_a_training_folder_that_goes_is_deleted_by_argo_cd_too(generated, capsys):
    config = generated / "mlgitops.yaml"
    config.write_text(config.read_text().replace("prometheusOperator: true\n", "prometheusOperator: true\nsync: {engine: both}\n"))
    _generate(capsys, generated)
    commit(init(generated), "base")
    edit(generated / "models/image-classifier.yaml", "  training:", "  training_off:")
    text = (generated / "models/image-classifier.yaml").read_text()
    (generated / "models/image-classifier.yaml").write_text(text.split("  training_off:")[0])
    _generate(capsys, generated)
    result = run_cli(capsys, "diff", "--repo", str(generated), "--base", "HEAD")
    line = next(x for x in result.err.splitlines() if "overlays/dev/image-classifier/training disappears" in x)
    assert line.startswith("models/image-classifier.yaml: ")
    assert "Argo CD deletes its training Application and, through its resources finalizer, what it deployed" in line


def test_removing_serving_from_a_model_that_trains_says_the_serving_unit_goes_and_the_training_unit_stays(
        generated, capsys):
    commit(init(generated), "base")
    spec = generated / "models/image-classifier.yaml"
    text = spec.read_text()
    spec.write_text(text[:text.index("  serving:\n")] + text[text.index("  training:  "):])
    _generate(capsys, generated)
    result = run_cli(capsys, "diff", "--repo", str(generated), "--base", "HEAD")
    assert (generated / "overlays/dev/image-classifier/training/kustomization.yaml").is_file()
    line = next(x for x in result.err.splitlines() if "overlays/prod/image-classifier " in x)
    assert line.startswith("models/image-classifier.yaml: overlays/prod/image-classifier disappears from cluster prod")
    dev = next(x for x in result.err.splitlines() if "overlays/dev/image-classifier " in x)
    assert ("the serving unit overlays/dev/image-classifier disappears from cluster dev (the training unit "
            "overlays/dev/image-classifier/training stays)") in dev
    assert "stays" not in line  # prod never trained: nothing of the model stays there
