"""`set` and `promote` under faults: an edit generate would refuse is never written, a bad MODEL is a
usage error, a killed edit's temp file is found and removed, a read-only command writes nothing."""

from __future__ import annotations

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
