"""`mlgitops generate`: idempotent, all-or-nothing, prunes its own files, never touches a person's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, make_repo, run_cli, snapshot
from mlgitops.tree import cache
from mlgitops.tree.header import is_generated


def test_second_run_changes_nothing_and_keeps_mtimes(generated, capsys):
    before = snapshot(generated)
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert result.code == 0
    assert "0 written, 0 deleted" in result.err
    assert snapshot(generated) == before


def test_output_is_the_same_bytes_in_another_place(generated, tmp_path, capsys):
    from conftest import make_repo

    other = make_repo(tmp_path / "elsewhere")
    assert run_cli(capsys, "generate", "--repo", str(other)).code == 0
    generated_files = {k: v[0] for k, v in snapshot(generated).items()}
    other_files = {k: v[0] for k, v in snapshot(other).items()}
    assert generated_files == other_files


def test_every_generated_file_has_the_header_lf_and_a_final_newline(generated):
    files = [p for top in ("base", "overlays") for p in (generated / top).rglob("*.yaml")]
    assert len(files) > 20
    for path in files:
        data = path.read_bytes()
        assert is_generated(data), path
        assert b"\r" not in data and data.endswith(b"\n"), path


def test_the_repository_tree_is_up_to_date(capsys):
    """The committed base/ and overlays/ of this repository are the golden tree."""
    result = run_cli(capsys, "generate", "--check", "--repo", str(ROOT))
    assert result.code == 0, result.out + result.err


def test_check_reports_drift_as_a_diff_and_writes_nothing(generated, capsys):
    deployment = generated / "base/house-prices/deployment.yaml"
    deployment.write_text(deployment.read_text().replace("cpu: 250m", "cpu: 300m"))
    before = snapshot(generated)
    result = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert result.code == 1
    assert "--- a/base/house-prices/deployment.yaml" in result.out
    assert "-            cpu: 300m\n+            cpu: 250m" in result.out
    assert "1 generated file differ" in result.err
    assert snapshot(generated) == before


def test_check_reports_a_missing_file(generated, capsys):
    (generated / "overlays/dev/house-prices/kustomization.yaml").unlink()
    result = run_cli(capsys, "generate", "--check", "--repo", str(generated))
    assert result.code == 1
    assert "--- /dev/null\n+++ b/overlays/dev/house-prices/kustomization.yaml" in result.out


def test_a_hand_edited_file_is_refused_and_nothing_is_written(generated, capsys):
    path = generated / "overlays/prod/house-prices/kustomization.yaml"
    path.write_text("# mine now\nresources: []\n")
    spec = generated / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("replicas: 2", "replicas: 3"))
    before = snapshot(generated)
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert result.code == 1
    assert "overlays/prod/house-prices/kustomization.yaml:1:1: this file was edited by hand" in result.err
    assert snapshot(generated) == before


def test_files_of_a_deleted_spec_are_pruned_with_their_folders(generated, capsys):
    (generated / "models/house-prices.yaml").unlink()
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert result.code == 0
    assert not (generated / "base/house-prices").exists()
    assert not any((generated / "overlays").glob("*/house-prices"))
    assert (generated / "base/fraud-detector/deployment.yaml").exists()


def test_a_persons_file_beside_generated_ones_is_kept(generated, capsys):
    notes = generated / "overlays/prod/house-prices/NOTES.md"
    notes.write_text("owned by a person\n")
    (generated / "models/house-prices.yaml").unlink()
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0
    assert notes.read_text() == "owned by a person\n"


def test_a_changed_spec_rewrites_only_the_files_it_affects(generated, capsys):
    spec = generated / "models/house-prices.yaml"
    spec.write_text(spec.read_text().replace("cpu: 250m", "cpu: 300m"))
    before = snapshot(generated)
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0
    after = snapshot(generated)
    changed = sorted(k for k in after if after[k] != before.get(k))
    assert changed == ["base/house-prices/deployment.yaml"]


def test_a_missing_config_is_an_environment_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli(capsys, "generate")
    assert result.code == 2
    assert "no mlgitops.yaml" in result.err
    assert result.out == ""  # text: the error on stderr alone


@pytest.mark.parametrize("command", ["generate", "check"])
def test_a_run_that_cannot_go_on_is_a_finding_for_a_program_reading_json(command, tmp_path, capsys, monkeypatch):
    """A CI step parsing --format json got an empty stdout after an exit 2: it now gets the reason."""
    monkeypatch.chdir(tmp_path)
    result = run_cli(capsys, command, "--format", "json")
    assert result.code == 2
    [finding] = json.loads(result.out)["findings"]
    assert (finding["rule"], finding["severity"]) == ("run-error", "error")
    assert "no mlgitops.yaml" in finding["message"] and "mlgitops init" in finding["hint"]
    assert "no mlgitops.yaml" in result.err
    assert run_cli(capsys, "status").out == ""  # the next run in this process chose no format
    assert "Traceback" not in result.err


def test_temp_files_never_remain(generated):
    leftovers = list(Path(generated).rglob(".*.tmp"))
    assert leftovers == []


def test_a_changed_generator_is_not_served_from_the_cache(generated, monkeypatch, capsys):
    from mlgitops.render import labels
    from mlgitops.tree import cache

    monkeypatch.setattr(labels, "MANAGED_BY", "mlgitops-next")
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "an edited generator")
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0
    assert "app.kubernetes.io/managed-by: mlgitops-next" in (generated / "base/house-prices/service.yaml").read_text()


def test_a_failed_run_writes_no_cache_either(repo, capsys):
    (repo / "models/broken.yaml").write_text("apiVersion: mlgitops.io/v1alpha1\nkind: Model\n")
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 1
    assert not cache.location(repo).exists()


HOLD_LOCK = "import fcntl, sys; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); " \
            "sys.stdin.read()"


def test_two_runs_cannot_interleave(generated):
    import subprocess
    import sys

    import pytest
    from mlgitops.report.findings import FatalError
    from mlgitops.tree import writer

    other = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(generated / writer.LOCK_FILE)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline() == "held\n"
        with pytest.raises(FatalError, match=r"another mlgitops run holds \.mlgitops\.lock"), \
                writer.locked(generated, timeout=0.2):
            pass
    finally:
        other.communicate("", timeout=10)
    with writer.locked(generated, timeout=0.2), writer.locked(generated, timeout=0.2):
        pass  # within one process the lock is re-entrant: set holds it around the generate it runs


def test_a_kubernetes_version_without_schemas_is_a_config_error(repo, capsys):
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text().replace('kubernetesVersion: "1.33.0"', 'kubernetesVersion: "1.24.0"'))
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 1
    assert result.err.startswith("mlgitops.yaml:5:20: no Kubernetes schemas for version 1.24.0 (schema)\n"
                                 "    hint: choose one of 1.25.0,")


def test_generate_never_writes_through_a_symlinked_folder(repo, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "deployment.yaml").write_text("a person's file\n")
    (repo / "base").mkdir()
    (repo / "base/house-prices").symlink_to(outside)
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 1
    assert "base/house-prices:1:1: cannot write base/house-prices/deployment.yaml: base/house-prices is a " \
           "symlink or not a folder (path-blocked)" in result.err
    assert (outside / "deployment.yaml").read_text() == "a person's file\n"
    assert sorted(p.name for p in outside.iterdir()) == ["deployment.yaml"]


def test_a_planted_lock_file_symlink_is_refused_and_its_target_never_created(repo, tmp_path, capsys):
    target = tmp_path / "outside" / "created-by-mlgitops"
    target.parent.mkdir()
    (repo / ".mlgitops.lock").symlink_to(target)
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code != 0
    assert "the lock file" in result.err and "is a symbolic link: nothing is written through it" in result.err
    assert not target.exists()
    assert not (repo / "base").exists()


def test_a_planted_temp_file_symlink_is_replaced_not_written_through(tmp_path, monkeypatch):
    from mlgitops.tree.writer import write_atomic

    victim = tmp_path / "victim.txt"
    victim.write_text("a person's file\n")
    folder = tmp_path / "base"
    folder.mkdir()
    monkeypatch.setattr("os.getpid", lambda: 4242)
    (folder / ".deployment.yaml.4242.tmp").symlink_to(victim)
    write_atomic(folder / "deployment.yaml", b"generated\n")
    assert victim.read_text() == "a person's file\n"
    assert (folder / "deployment.yaml").read_bytes() == b"generated\n"
    assert sorted(p.name for p in folder.iterdir()) == ["deployment.yaml"]


def test_a_file_in_models_that_is_not_a_spec_is_a_warning(generated, capsys):
    (generated / "models/old").mkdir()
    (generated / "models/notes.txt").write_text("x\n")
    (generated / "models/House.YAML").write_bytes((generated / "models/house-prices.yaml").read_bytes())
    result = run_cli(capsys, "generate", "--repo", str(generated))
    assert "models/notes.txt: this file in models/ is not read as a spec (not-a-spec)" in result.err
    assert "models/old: this folder in models/ is not read as a spec (not-a-spec)" in result.err
    assert "models/House.YAML:6:9: metadata.name 'house-prices' differs from the file name 'House'" in result.err
    assert result.code == 1


STRAYS = {  # a file of models/ not read as a spec -> how generate and check name it
    "models/.hidden.yaml": "models/.hidden.yaml: this file in models/ is not read as a spec: its name starts with a "
                           "dot (a hidden file) (not-a-spec)\n    hint: rename it to models/hidden.yaml to make it a "
                           "spec, or move it out of models/",
    "models/team/a.yaml": "models/team/a.yaml: this file is not read as a spec: a sub-folder of models/ is never read "
                          "(not-a-spec)\n    hint: move it to models/a.yaml to make it a spec",
    "models/team/deeper/b.yml": "models/team/deeper/b.yml: this file is not read as a spec",
}


def test_a_hidden_spec_or_one_in_a_sub_folder_is_a_warning_at_the_file(generated, capsys):
    spec = (generated / "models/house-prices.yaml").read_bytes()
    for path in STRAYS:
        (generated / path).parent.mkdir(parents=True, exist_ok=True)
        (generated / path).write_bytes(spec)
    (generated / "models/.gitkeep").write_text("")  # a dotfile that is no spec, an editor's lock: silent
    (generated / "models/.#house-prices.yaml").symlink_to("nobody@host.1234")
    (generated / "models/team/deeper/away").symlink_to("/")  # never walked
    generate = run_cli(capsys, "generate", "--repo", str(generated))
    check = run_cli(capsys, "check", "--repo", str(generated))
    for shown in STRAYS.values():
        assert shown in generate.err
    assert generate.code == 0 and generate.err.count("(not-a-spec)") == len(STRAYS)
    assert check.out.count("(not-a-spec)") == len(STRAYS)  # check reads models/ as generate does


def test_config_mistakes_are_findings(repo, capsys):
    config = repo / "mlgitops.yaml"
    text = config.read_text().replace("- name: staging\n  namespace: ml-staging",
                                      "- name: staging\n  namespace: ml-dev\n  policies: {immutableTagPattern: '(', "
                                      "disabled: [no-such-rule]}")
    config.write_text(text)
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 1
    assert "environments 'dev' and 'staging' share the namespace 'ml-dev'" in result.err
    assert "immutableTagPattern is not a valid regular expression" in result.err
    assert "unknown policy rule 'no-such-rule'" in result.err


def test_config_defaults_hold_only_spec_sections(repo, capsys):
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text().replace("environments:\n- name: dev",
                                                 "defaults:\n  environments: {prod: {}}\nenvironments:\n- name: dev"))
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 1
    assert "defaults key 'environments' is not a spec section" in result.err


def _tree(repo: Path, use_cache: bool) -> dict[str, bytes]:
    from mlgitops.spec.repo import Repo
    from mlgitops.tree import generation

    result = generation.build(Repo(repo), use_cache=use_cache, store_cache=use_cache)
    assert not [f for f in result.findings if f.severity.name == "ERROR"], result.findings
    return result.tree


def test_the_cached_config_and_clusters_files_are_what_a_run_without_the_cache_makes(tmp_path):
    """mlgitops.yaml (its memo) and the clusters' files (keyed on every spec kept) come from the cache on a
    later run: after each change (a model removed, the one training, the config edited) the cached run's
    tree is the one a run without any cache makes."""
    from mlgitops.spec import config as configs
    from mlgitops.spec.repo import Repo
    from mlgitops.tree import generation

    repo = make_repo(tmp_path / "repo", sorted((ROOT / "models").glob("*.yaml")))  # the training-only one too
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text() + "sync:\n  engine: both\n")  # Argo CD's ApplicationSets: per training
    assert _tree(repo, True) == _tree(repo, False)
    assert _tree(repo, True) == _tree(repo, False)  # the second: config and clusters/ from the cache
    assert all(any((cache.location(repo) / kind).rglob("*")) for kind in ("config", "clusters"))
    (repo / "models/house-prices.yaml").unlink()
    assert _tree(repo, True) == _tree(repo, False)
    (repo / "models/demand-forecast.yaml").unlink()  # the one model training in prod: its ApplicationSet goes
    before = _tree(repo, True)
    assert "clusters/prod/argocd/applicationset-prod-training.yaml" not in before
    assert before == _tree(repo, False)
    config.write_text(config.read_text().replace("prometheusOperator: true", "prometheusOperator: false", 1))
    after = _tree(repo, True)
    assert after == _tree(repo, False) and after != before
    parsed, _ = configs.parse_config("mlgitops.yaml", config.read_bytes())
    memo, _, keep = generation._load_config(Repo(repo), True)  # from the cache: the same Config, positions too
    assert keep is None and parsed is not None and memo == parsed and memo.doc == parsed.doc
