"""`set` and `promote` under faults: an edit generate would refuse is never written, a bad MODEL is a
usage error, a killed edit's temp file is found and removed, a read-only command writes nothing."""

from __future__ import annotations

import os

from conftest import run_cli, snapshot


def test_an_edit_that_cannot_be_generated_leaves_the_spec_as_it_was(generated, capsys):
    # the spec validates on its own, but a canary needs a route: a gateway in mlgitops.yaml, or an ingress
    spec = generated / "models/house-prices.yaml"
    before = snapshot(generated)
    result = run_cli(capsys, "set", "house-prices", "--env", "prod", "--repo", str(generated),
                     'serving.canary={version: "1.5.0", image: "registry.example.com/pricing/house-prices:1.5.0", '
                     "weight: 10}")
    assert result.code == 1
    assert "unchanged" in result.err and "was written" not in result.err
    assert snapshot(generated) == before
    assert "canary" not in spec.read_text()


def test_model_names_a_spec_in_models_and_nothing_else(generated, capsys):
    (generated / "elsewhere").mkdir()
    outside = generated / "elsewhere/house-prices.yaml"
    outside.write_bytes((generated / "models/house-prices.yaml").read_bytes())
    before = snapshot(generated)
    for name in ("../elsewhere/house-prices", "../mlgitops", "."):
        result = run_cli(capsys, "set", name, "serving.replicas=3", "--repo", str(generated))
        assert result.code == 2, result.err
        assert f"no spec models/{name}.yaml" in result.err and "house-prices" in result.err
        promoted = run_cli(capsys, "promote", name, "--from", "dev", "--to", "prod", "--repo", str(generated))
        assert promoted.code == 2, promoted.err
    assert snapshot(generated) == before


def test_the_temp_file_of_a_killed_set_is_reported_then_removed_by_generate(generated, capsys):
    # `set` writes models/.<spec>.<pid>.tmp, then renames it over the spec: kill -9 between the two leaves it
    spec = generated / "models/house-prices.yaml"
    leftover = generated / "models/.house-prices.yaml.4242.tmp"
    leftover.write_bytes(spec.read_bytes()[:40])
    drift = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert drift.code == 1 and "models/.house-prices.yaml.4242.tmp" in drift.err and "leftover-temp" in drift.err
    checked = run_cli(capsys, "check", "--no-cache", "--repo", str(generated))
    assert checked.code == 1 and "models/.house-prices.yaml.4242.tmp" in checked.out
    assert leftover.exists()
    repaired = run_cli(capsys, "generate", "--repo", str(generated))
    assert repaired.code == 0 and "1 leftover temp files removed" in repaired.err
    assert not leftover.exists() and spec.exists()
    assert run_cli(capsys, "generate", "--check", "--repo", str(generated)).code == 0


def test_removing_the_last_leftover_keeps_models_folder(tmp_path, capsys):
    from conftest import make_repo
    repo = make_repo(tmp_path / "empty", models=())
    (repo / "models/.gone.yaml.77.tmp").write_text("half")
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    assert (repo / "models").is_dir() and not (repo / "models/.gone.yaml.77.tmp").exists()


def test_when_the_lock_cannot_be_taken_nothing_is_edited(generated, capsys, monkeypatch):
    # a repository root nobody may write in (as root, chmod would not stop us: the lock's open fails instead)
    from mlgitops.tree import writer

    real_open = os.open

    def no_lock(path, *args, **kwargs):
        if str(path).endswith(writer.LOCK_FILE):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_lock)
    before = snapshot(generated)
    result = run_cli(capsys, "set", "house-prices", "serving.replicas=4", "--repo", str(generated))
    assert result.code == 2
    assert "cannot create the lock file" in result.err and "edited" not in result.err
    assert snapshot(generated) == before


def test_when_generate_refuses_the_tree_the_edit_is_undone(generated, capsys):
    # a hand-edited generated file of another model: generate will not overwrite it, so it writes nothing
    edited = generated / "overlays/prod/fraud-detector/kustomization.yaml"
    edited.write_text(edited.read_text().split("\n", 1)[1] + "# tuned by hand\n")
    before = snapshot(generated)
    result = run_cli(capsys, "set", "house-prices", "serving.replicas=4", "--repo", str(generated))
    assert result.code == 1
    assert "hand-edited" in result.err and "models/house-prices.yaml is unchanged" in result.err
    assert snapshot(generated) == before


def test_an_edit_keeps_the_specs_mode(generated, capsys):
    spec = generated / "models/house-prices.yaml"
    spec.chmod(0o600)
    assert run_cli(capsys, "set", "house-prices", "serving.replicas=4", "--repo", str(generated)).code == 0
    assert spec.stat().st_mode & 0o777 == 0o600


def test_a_sweep_parameter_named_like_a_secret_is_refused_and_never_printed(generated, capsys):
    # its values go into the trials' ConfigMap as --api-token=..., and into every diff
    spec = generated / "models/image-classifier.yaml"
    text = spec.read_text()
    assert "        batch-size: [64, 128]\n" in text
    spec.write_text(text.replace("        batch-size: [64, 128]\n",
                                 '        batch-size: [64, 128]\n        api-token: ["tokS3cr3tABC"]\n'))
    before = snapshot(generated)
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert result.code == 1
    assert "sweep parameter 'api-token' lists literal values, and its name says it is a secret" in result.err
    assert "models/image-classifier.yaml:" in result.err
    assert "tokS3cr3tABC" not in result.err + result.out
    assert snapshot(generated) == before


def test_a_secret_passed_as_a_literal_argument_is_refused_and_never_printed(generated, capsys):
    spec = generated / "models/image-classifier.yaml"
    text = spec.read_text()
    assert "    args: [--epochs=20]\n" in text
    spec.write_text(text.replace("    args: [--epochs=20]\n",  # training's args; $(VAR) and --token-file are fine
                                 '    args: [--epochs=20, --api-key=argS3cr3tXYZ, "--hf-token=$(HF_TOKEN)", '
                                 "--token-file=/var/run/token]\n"))
    result = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if "(secret-in-env)" in line]
    assert len(errors) == 1 and "argument '--api-key=...' holds a literal value" in errors[0]
    assert "argS3cr3tXYZ" not in result.err + result.out
    edited = run_cli(capsys, "set", "house-prices", "serving.args=[--db-password=pw123456]", "--repo", str(generated))
    assert edited.code == 1 and "'--db-password=...'" in edited.err and "pw123456" not in edited.err


def test_a_spec_that_is_a_symlink_is_edited_where_it_points(generated, capsys):
    shared = generated / "shared"
    shared.mkdir()
    spec = generated / "models/house-prices.yaml"
    target = shared / "house-prices.yaml"
    spec.rename(target)
    spec.symlink_to("../shared/house-prices.yaml")
    assert run_cli(capsys, "set", "house-prices", "serving.replicas=4", "--repo", str(generated)).code == 0
    assert spec.is_symlink() and "replicas: 4" in target.read_text()
