"""Weights lineage (issue 17), on what the cluster receives: the weights a pod serves are the weights its version
names, through set, promote and canaries; no training run, trial or node writes where a pod reads; each run
and trial writes its own prefix; prod serves pinned weights; the download volume follows model.size."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, make_repo, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlgitops.check import lineage
from mlgitops.check import pipeline as check
from mlgitops.kube import weights
from mlgitops.kube.kustomize import build
from mlgitops.report.findings import Severity

VERSION = "app.kubernetes.io/version"
ENVS = ("dev", "staging", "prod")


def objects(path) -> list[dict]:
    return [o for o in yaml.safe_load_all(build(path)) if o]


def lineage_findings(repo) -> list[str]:
    result = check.run(check.Options(repo, use_cache=False))
    return sorted(f"{f.location()}: {f.message} ({f.rule})" for f in result.findings if f.rule.startswith("weights-"))


def served(objs: list[dict]) -> dict[str, tuple[str, list[str]]]:
    """Deployment -> (its pods' version label, the weights they load), read from built objects only."""
    out = {}
    for obj in objs:
        if obj["kind"] == "Deployment":
            template = obj["spec"]["template"]
            pod = template["spec"]
            refs = [c["args"][0] for c in pod.get("initContainers", []) if c["name"] == "storage-initializer"]
            refs += [v["value"] for c in pod["containers"] for v in c.get("env", []) if v["name"] == "MODEL_URI"]
            out[obj["metadata"]["name"]] = (template["metadata"]["labels"].get(VERSION, ""), refs)
    return out


def assert_each_pod_loads_its_version(objs: list[dict]) -> None:
    """The invariant, stated on the built objects alone."""
    pods = served(objs)
    for name, (version, refs) in pods.items():
        for ref in refs:
            assert weights.names_version(ref, version) or weights.pinned(ref) in ("digest", "commit"), (name, ref)
    by_version: dict[str, str] = {}
    for version, refs in pods.values():
        for ref in refs:
            assert by_version.setdefault(ref, version) == version, f"{ref} under {by_version[ref]} and {version}"


# --- the reproducers of the issue, on the built output ---

@pytest.mark.slow  # five edits, each generating, then three builds; the fast loop keeps the lineage findings
# (test_a_canary_that_names_the_stable_weights_is_an_error_at_the_canary and the rules below)
def test_promote_then_canary_promote_serves_the_weights_the_version_names(generated, capsys):
    """Reproducer 1: set staging 3.3.0, promote to prod, a 3.4.0 canary in prod, promote the canary."""
    repo = str(generated)
    steps = [("set", "fraud-detector", 'model.version="3.3.0"',
              "serving.image=registry.example.com/risk/fraud-detector:3.3.0", "--env", "staging"),
             ("promote", "fraud-detector", "--from", "staging", "--to", "prod"),
             ("set", "fraud-detector", ('serving.canary={version: "3.4.0", image: '
                                        '"registry.example.com/risk/fraud-detector:3.4.0", weight: 10}'), "--env", "prod")]
    for step in steps:
        assert run_cli(capsys, *step, "--repo", repo).code == 0
    during = served(objects(generated / "overlays/prod/fraud-detector"))
    assert during == {"fraud-detector": ("3.3.0", ["s3://models/fraud-detector/3.3.0/model.json"]),
                      "fraud-detector-canary": ("3.4.0", ["s3://models/fraud-detector/3.4.0/model.json"])}
    assert run_cli(capsys, "promote", "fraud-detector", "--canary", "--env", "prod", "--repo", repo).code == 0
    after = objects(generated / "overlays/prod/fraud-detector")
    assert served(after) == {"fraud-detector": ("3.4.0", ["s3://models/fraud-detector/3.4.0/model.json"])}
    assert lineage_findings(generated) == []


def test_a_canary_that_names_the_stable_weights_is_an_error_at_the_canary(tmp_path, capsys):
    """Reproducer 2: a 2.1.0 canary whose uri names 2.0.0 (a literal uri the canary inherits)."""
    spec = (ROOT / "tests/cases/policies/weights-canary-inherits-stable-weights/model.yaml").read_text()
    repo = make_repo(tmp_path / "repo", models=[])
    (repo / "models/m.yaml").write_text(spec.replace("    immutable: true\n", ""))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    built = served(objects(repo / "overlays/staging/m"))
    assert built["m-canary"] == ("2.1.0", ["s3://models/m/2.0.0/model.pt"])
    assert [f for f in lineage_findings(repo) if "(weights-version)" in f] == [(
        "models/m.yaml:18:9: staging: its pods are labelled version 2.1.0 but load s3://models/m/2.0.0/model.pt, "
        "which names neither that version nor pinned content: they may serve other weights under this version "
        "(weights-version)")]


@pytest.mark.slow  # reproducer 3; the fast loop keeps reproducer 1 and the lineage units
def test_the_old_example_trains_where_prod_reads_and_the_new_one_per_run(generated, capsys):
    """Reproducer 3: image-classifier's nightly retrain and its six trials wrote s3://models/image-classifier/2.1.0/,
    which every environment fetches. The example now writes runs/{version}/{run}/{trial}/."""
    built = objects(generated / "overlays/dev/image-classifier/training")
    outputs = {o["kind"]: _env(o, "MODEL_OUTPUT_URI") for o in built if o["kind"] in ("CronJob", "Job")}
    assert outputs == {"CronJob": "s3://models/image-classifier/runs/2.1.0/$(MLGITOPS_RUN)/$(MLGITOPS_TRIAL)/",
                       "Job": "s3://models/image-classifier/runs/2.1.0/$(MLGITOPS_RUN)/$(MLGITOPS_TRIAL)/"}
    assert lineage_findings(generated) == []
    spec = generated / "models/image-classifier.yaml"
    spec.write_text(spec.read_text().replace("runs/{version}/{run}/{trial}/", "{version}/"))
    assert run_cli(capsys, "generate", "--repo", str(generated)).code == 0
    found = lineage_findings(generated)
    overwrite = [f for f in found if f.endswith("(weights-overwrite)")]
    assert [f.split(": ")[0] for f in overwrite] == ["models/image-classifier.yaml:49:19"] * 2  # CronJob, sweep
    assert all("prod (s3://models/image-classifier/2.1.0/)" in f for f in overwrite)
    assert any("its 6 trials all write to s3://models/image-classifier/2.1.0/" in f for f in found)


def _env(obj: dict, name: str) -> str:
    pod = (obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"])["template"]["spec"]
    return next(v["value"] for v in pod["containers"][0]["env"] if v["name"] == name)


def test_mutable_hf_weights_in_prod_and_their_size(tmp_path, capsys):
    """Reproducer 4: an hf:// URI without a revision can change under one version, and without model.size it
    downloads into the 2Gi HOME volume; with it, HOME and the ephemeral-storage request grow by the size."""
    repo = make_repo(tmp_path / "repo", models=[])
    spec = (ROOT / "tests/cases/policies/weights-hf-with-size-ok/model.yaml").read_text()
    (repo / "models/m.yaml").write_text(spec.replace(":0123456789abcdef0123456789abcdef01234567", ""))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    deployment = next(o for o in objects(repo / "overlays/prod/m") if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert {v["name"]: v["emptyDir"]["sizeLimit"] for v in pod["volumes"] if v["name"] == "home"} == {"home": "17Gi"}
    # /tmp 1Gi + HOME 17Gi + 512Mi of logs
    assert pod["containers"][0]["resources"]["requests"]["ephemeral-storage"] == "18944Mi"
    assert lineage_findings(repo) == [
        ("models/m.yaml:9:10: dev, staging, prod: its pods are labelled version 2.1.0 but load hf://acme/llm-7b, which "
         "names neither that version nor pinned content: they may serve other weights under this version "
         "(weights-version)"),
        ("models/m.yaml:9:10: prod: serves hf://acme/llm-7b, whose content can change under the same version: a "
         "retrain or a copy changes what a restarted pod loads (weights-pinned)")]


def test_weights_pinning_error_in_mlgitops_yaml_makes_mutable_prod_weights_an_error(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", models=[])
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text().replace("  namespace: ml-prod\n",
                                                 "  namespace: ml-prod\n  policies: {weightsPinning: error}\n"))
    (repo / "models/m.yaml").write_bytes((ROOT / "tests/cases/policies/weights-mutable-in-prod/model.yaml").read_bytes())
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = check.run(check.Options(repo, use_cache=False))
    assert [(f.rule, f.severity) for f in result.findings] == [("weights-pinned", Severity.ERROR)]


# --- the rules on objects ---

def _deployment(name: str, version: str, uri: str, canary_of: str = "") -> dict:
    labels = {"mlgitops.io/canary-of": canary_of} if canary_of else {}
    return {"kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"template": {"metadata": {"labels": {VERSION: version}},
                                  "spec": {"containers": [{"name": "s", "env": [{"name": "MODEL_URI", "value": uri}]}]}}}}


SPEC = {"model": {"version": "2.0.0"}, "serving": {}}


def test_a_canary_on_the_stable_pinned_weights_is_an_error():
    pinned = "oci://r.example.com/w@sha256:" + "a" * 64
    objs = [_deployment("m", "2.0.0", pinned), _deployment("m-canary", "2.1.0", pinned, canary_of="m")]
    (problem,) = lineage.serving(objs, SPEC, "none")
    assert (problem.rule, problem.name, problem.spec_pointer) == ("weights-version", "m-canary", "/spec/serving/canary/uri")


def test_the_same_pinned_weights_under_another_version_elsewhere_is_an_error():
    commit = "hf://acme/m:" + "b" * 40
    (problem,) = lineage.serving([_deployment("m", "2.1.0", commit)], SPEC, "none", {"staging": ("2.0.0", commit)})
    assert "which staging serves as 2.0.0" in problem.message
    assert lineage.serving([_deployment("m", "2.0.0", commit)], SPEC, "none", {"staging": ("2.0.0", commit)}) == []


@pytest.mark.parametrize(("uri", "version", "names"), [
    ("s3://m/2.1.0/model.pt", "2.1.0", True), ("s3://m/model-2.1.0.pt", "2.1.0", True),
    ("s3://m/v2.1.0/", "2.1.0", True), ("s3://m/2.1.0/", "2.1", False), ("s3://m/12.1.0/", "2.1.0", False),
    ("s3://m/2.1.0rc1/", "2.1.0", False), ("s3://m/latest/", "2.1.0", False)])
def test_names_version_takes_whole_versions_only(uri, version, names):
    assert weights.names_version(uri, version) is names


@pytest.mark.parametrize(("uri", "how"), [
    ("oci://r.example.com/w@sha256:" + "c" * 64, "digest"), ("oci://r.example.com/w:2.1.0", ""),
    ("hf://org/m:" + "d" * 40, "commit"), ("hf://org/m:main", ""), ("hf://org/m", ""), ("s3://m/2.1.0/", "")])
def test_pinned_means_content_addressed(uri, how):
    assert weights.pinned(uri) == how


@pytest.mark.parametrize(("writer", "reader", "reaches"), [
    ("s3://m/2.1.0/", "s3://m/2.1.0/", True), ("s3://m/", "s3://m/2.1.0/model.pt", True),
    ("s3://m/2.1.0/runs/", "s3://m/2.1.0/", True),  # the reader fetches the folder the runs land in
    ("s3://m/2.1.0/runs/", "s3://m/2.1.0/model.pt", False), ("s3://m/runs/2.1.0/", "s3://m/2.1.0/", False)])
def test_a_writer_reaches_the_weights_under_its_prefix_or_in_a_folder_it_writes_into(writer, reader, reaches):
    assert weights.reaches(writer, reader) is reaches


def test_a_run_variable_defined_after_the_output_is_not_expanded():
    job = {"kind": "Job", "metadata": {"name": "m-train-1"}, "spec": {"template": {"spec": {"containers": [
        {"name": "t", "env": [{"name": "MODEL_OUTPUT_URI", "value": "s3://m/runs/$(MLGITOPS_RUN)/"},
                              {"name": "MLGITOPS_RUN", "value": "x"}]}]}}}}
    assert [p.rule for p in lineage.training([job], {})] == ["weights-run-prefix"]
    job["spec"]["template"]["spec"]["containers"][0]["env"].reverse()
    assert lineage.training([job], {}) == []


# --- the invariant through random edit sequences ---

OWN = {
    "pinned-per-version": """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: scorer, team: t}
spec:
  model: {version: "1.0.0", uri: "s3://models/scorer/{version}/", immutable: true, fetch: {sizeLimit: 1Gi}}
  serving:
    image: r.example.com/scorer:1.0.0
    replicas: 2
    health: {readiness: /ready, liveness: /healthz}
    ingress: {host: scorer.example.com}
""",
}
MODELS = {"fraud-detector": "registry.example.com/risk/fraud-detector", "image-classifier":
          "registry.example.com/vision/image-classifier", "scorer": "r.example.com/scorer"}
VERSIONS = st.sampled_from(["3.3.0", "3.4.0", "4.0.0", "2.2.0"])


def _step(model: str):
    image = MODELS[model]
    env = st.sampled_from(ENVS)
    return st.one_of(
        st.tuples(st.just("set"), VERSIONS, env).map(
            lambda t: ("set", model, f'model.version="{t[1]}"', f"serving.image={image}:{t[1]}", "--env", t[2])),
        st.tuples(st.just("promote"), st.sampled_from([("dev", "staging"), ("staging", "prod")])).map(
            lambda t: ("promote", model, "--from", t[1][0], "--to", t[1][1])),
        st.tuples(VERSIONS, env, st.integers(1, 50)).map(
            lambda t: ("set", model, f'serving.canary={{version: "{t[0]}", image: "{image}:{t[0]}", weight: {t[2]}}}',
                       "--env", t[1])),
        st.tuples(env, st.integers(1, 50)).map(lambda t: ("set", model, f"serving.canary.weight={t[1]}", "--env", t[0])),
        env.map(lambda e: ("promote", model, "--canary", "--env", e)),
        env.map(lambda e: ("set", model, "serving.canary=null", "--env", e)),
    )


SEQUENCES = st.sampled_from(sorted(MODELS)).flatmap(lambda m: st.tuples(st.just(m), st.lists(_step(m), min_size=1,
                                                                                              max_size=4)))


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(SEQUENCES)
def test_every_edit_sequence_keeps_weights_and_versions_together(tmp_path_factory, sequence):
    model, steps = sequence
    repo = make_repo(tmp_path_factory.mktemp("repo") / "repo")
    (repo / "models/scorer.yaml").write_text(OWN["pinned-per-version"])
    assert main_ok("generate", "--repo", str(repo))
    for step in steps:
        main_ok(*step, "--repo", str(repo))  # a refused edit leaves the spec as it was
        for env in ENVS:
            inputs = _build_inputs(repo, env)
            if inputs not in BUILT_AND_HELD:
                assert_each_pod_loads_its_version(objects(repo / "overlays" / env / model))
                BUILT_AND_HELD.add(inputs)


# The digests of the build inputs whose built objects held the invariant: an overlay whose files (and its
# bases') are byte for byte ones already built builds to the same objects (a step edits one environment, and
# every sequence starts from the same tree), so it is not built again.
BUILT_AND_HELD: set[str] = set()


def _build_inputs(repo: Path, env: str) -> str:
    """A digest of every file kustomize may read for an overlay of env: base/ and overlays/<env>/, by path."""
    digest = hashlib.sha256()
    for top in (repo / "base", repo / "overlays" / env):
        for path in sorted(p for p in top.rglob("*") if p.is_file()):
            digest.update(f"{path.relative_to(repo).as_posix()}\0{path.stat().st_size}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def main_ok(*args: str) -> bool:
    import contextlib
    import io

    from mlgitops.cli import main
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(list(args)) == 0


# --- every kind that writes weights, through the workload-kind table ---

KIND_CASES = {  # the training section of each kind (tests/render/test_training.py has them all)
    "cronjob": 'resources: {cpu: "4", memory: 16Gi}\n    schedule: "0 3 * * 0"\n',
    "trainjob": 'resources: {cpu: "8", memory: 64Gi, gpu: 4}\n    workers: 4\n',
    "pytorchjob": 'resources: {cpu: "8", memory: 64Gi, gpu: 4}\n    workers: 3\n',
    "sweep": 'resources: {cpu: "4", memory: 16Gi}\n    sweep: {parameters: {lr: [0.1, 0.01]}, parallelism: 2}\n',
    "katib": ('resources: {cpu: "4", memory: 16Gi}\n    sweep: {strategy: random, parameters: {lr: [0.1, 0.01]}, '
              "trials: 4, parallelism: 2, objective: {metric: acc}}\n"),
}
KIND_CONFIG = {"pytorchjob": "training: {distributed: pytorchjob}\n", "katib": "training: {katib: true}\n"}


def _training_objects(case: str, output: str) -> tuple[list[dict], dict]:
    from mlgitops.spec.config import parse_config
    from mlgitops.spec.model import parse_model
    from mlgitops.tree.layout import training_intended
    cfg, _ = parse_config("mlgitops.yaml", ((ROOT / "mlgitops.yaml").read_text() + KIND_CONFIG.get(case, "")).encode())
    assert cfg is not None
    text = ("apiVersion: mlgitops.io/v1alpha1\nkind: Model\nmetadata: {name: resnet, team: vision}\nspec:\n"
            '  model: {version: "2.1.0", uri: "s3://models/resnet/{version}/"}\n'
            "  serving: {image: r.example.com/resnet:2.1.0, replicas: 2, health: {readiness: /r, liveness: /l}}\n"
            "  training:\n    image: r.example.com/resnet-train:2.1.0\n    command: [python, train.py]\n"
            f'    output: {{uri: "{output}"}}\n    ' + KIND_CASES[case])
    parsed, found = parse_model("models/resnet.yaml", text.encode(), cfg)
    assert parsed is not None, [str(f) for f in found]
    specs = {env: parsed.effective[env]["spec"] for env in cfg.env_names}
    return [m.obj for m in training_intended(parsed, cfg, "dev")], specs


@pytest.mark.parametrize("case", sorted(KIND_CASES))
def test_every_writer_kind_is_checked(case):
    objs, specs = _training_objects(case, "s3://models/resnet/{version}/")
    found = {(p.kind, p.rule) for p in lineage.training(objs, lineage.readers(specs))}
    writers = {o["kind"] for o in objs if o["kind"] not in ("ConfigMap", "NetworkPolicy")}  # no pod template
    assert {(kind, "weights-overwrite") for kind in writers} <= found
    assert {(kind, "weights-run-prefix") for kind in writers} <= found
    objs, specs = _training_objects(case, "s3://models/resnet/runs/{version}/{run}/{trial}/")
    assert lineage.training(objs, lineage.readers(specs)) == []
