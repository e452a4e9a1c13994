"""A canary beside the stable version: its own pods, a weighted split, and a selector that never moves."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from conftest import run_cli

CANARY = '        canary: {version: "3.3.0", image: "registry.example.com/risk/fraud-detector:3.3.0", weight: 10}\n'


def _with_canary(repo, canary: str = CANARY, gateway: bool = True) -> None:
    spec = repo / "models/fraud-detector.yaml"
    spec.write_text(spec.read_text().replace("        replicas: 4\n", "        replicas: 4\n" + canary))
    if gateway:
        config = repo / "mlgitops.yaml"
        config.write_text(config.read_text().replace("prometheusOperator: true\n",
                                                     "prometheusOperator: true\ngateway: {name: public, namespace: gw}\n"))


def _built(repo, overlay="overlays/prod/fraud-detector") -> dict[tuple[str, str], dict]:
    out = subprocess.run(["kubectl", "kustomize", str(repo / overlay)], capture_output=True, text=True, check=True)
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out.stdout)}


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.slow
def test_a_canary_runs_beside_the_stable_version_with_disjoint_selectors(repo, capsys, monkeypatch):
    monkeypatch.setenv("PATH", f"{__import__('sys').executable.rsplit('/', 1)[0]}:{__import__('os').environ['PATH']}")
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    stable_before = _built(repo)[("Deployment", "fraud-detector")]
    _with_canary(repo)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    built = _built(repo)
    stable, canary = built[("Deployment", "fraud-detector")], built[("Deployment", "fraud-detector-canary")]
    assert stable["spec"]["selector"] == stable_before["spec"]["selector"]  # selectors are immutable
    assert stable["spec"]["template"] == stable_before["spec"]["template"]  # the stable pods do not restart
    stable_pods, canary_pods = stable["spec"]["template"]["metadata"]["labels"], canary["spec"]["template"]["metadata"]["labels"]
    for selector_owner, own, other in ((stable, stable_pods, canary_pods), (canary, canary_pods, stable_pods)):
        assert _selects(selector_owner["spec"]["selector"]["matchLabels"], own)
        assert not _selects(selector_owner["spec"]["selector"]["matchLabels"], other)
    services = (built[("Service", "fraud-detector")], built[("Service", "fraud-detector-canary")])
    assert _selects(services[0]["spec"]["selector"], stable_pods) and not _selects(services[0]["spec"]["selector"], canary_pods)
    assert _selects(services[1]["spec"]["selector"], canary_pods) and not _selects(services[1]["spec"]["selector"], stable_pods)
    assert canary_pods["app.kubernetes.io/version"] == "3.3.0" and stable_pods["app.kubernetes.io/version"] == "3.1.4"
    assert canary["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/risk/fraud-detector:3.3.0"
    assert canary["spec"]["replicas"] == 1
    env = {e["name"]: e.get("value") for e in canary["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MODEL_VERSION"] == "3.3.0"
    route = built[("HTTPRoute", "fraud-detector")]
    weights = {b["name"]: b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]}
    assert weights == {"fraud-detector": 90, "fraud-detector-canary": 10} and sum(weights.values()) == 100
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gw"}]
    pdb = built[("PodDisruptionBudget", "fraud-detector-canary")]
    assert _selects(pdb["spec"]["selector"]["matchLabels"], canary_pods)
    policy = built[("NetworkPolicy", "fraud-detector-canary")]
    assert _selects(policy["spec"]["podSelector"]["matchLabels"], canary_pods)
    checked = run_cli(capsys, "check", "--repo", str(repo), "--no-cache")  # strict schemas, HTTPRoute CRD, fidelity
    assert checked.code == 0, checked.out


def test_without_a_gateway_ingress_nginx_splits_the_traffic(repo, capsys):
    _with_canary(repo, gateway=False)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    built = _built(repo)
    ingress = built[("Ingress", "fraud-detector-canary")]
    assert ingress["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/canary": "true",
                                                  "nginx.ingress.kubernetes.io/canary-weight": "10"}
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "fraud-detector-canary"
    assert ("HTTPRoute", "fraud-detector") not in built


def test_a_canary_with_no_way_to_split_traffic_is_an_error_at_its_line(repo, capsys):
    spec = repo / "models/house-prices.yaml"
    text = spec.read_text()
    assert "prod:" in text
    spec.write_text(text.rstrip("\n") + "\n")
    before = spec.read_bytes()
    result = run_cli(capsys, "set", "house-prices", 'serving.canary={version: "1.5.0", image: "r/h:1.5.0", weight: 5}',
                     "--env", "prod", "--repo", str(repo))
    assert result.code == 1 and "(canary-traffic)" in result.err and "models/house-prices.yaml:" in result.err
    assert spec.read_bytes() == before and "is unchanged" in result.err  # refused before it was written


def test_weight_0_or_100_says_remove_or_promote(repo, capsys):
    _with_canary(repo, CANARY.replace("weight: 10", "weight: 100"))
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 1 and "at 100 promote it" in result.err


@pytest.mark.slow
def test_promote_canary_makes_it_stable_and_removing_it_rolls_back(repo, capsys):
    _with_canary(repo)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    data = json.loads(run_cli(capsys, "status", "--repo", str(repo), "--format", "json").out)
    row = next(r for r in data["models"] if (r["model"], r["environment"]) == ("fraud-detector", "prod"))
    assert row["canary"] == "3.3.0 (10%)"
    assert run_cli(capsys, "promote", "fraud-detector", "--canary", "--env", "prod", "--repo", str(repo)).code == 0
    text = (repo / "models/fraud-detector.yaml").read_text()
    assert "canary" not in text and 'model: {version: "3.3.0"}' in text
    assert "image: registry.example.com/risk/fraud-detector:3.3.0" in text
    assert not (repo / "overlays/prod/fraud-detector/deployment-canary.yaml").exists()
    assert run_cli(capsys, "check", "--repo", str(repo), "--no-cache").code == 0


def test_status_flags_a_canary_older_than_its_stable_version(repo, capsys):
    _with_canary(repo, CANARY.replace("3.3.0", "3.0.9"))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    data = json.loads(run_cli(capsys, "status", "--repo", str(repo), "--format", "json").out)
    row = next(r for r in data["models"] if (r["model"], r["environment"]) == ("fraud-detector", "prod"))
    assert "the prod canary 3.0.9 is older than its stable version 3.1.4" in row["flags"]


def test_a_canary_loads_and_fetches_its_own_version_of_the_weights(repo, capsys):
    """image-classifier's uri is s3://models/image-classifier/{version}/ and an init container fetches it: the
    canary's MODEL_URI and the initializer's argument name the canary's version, never the stable one's."""
    spec = repo / "models/image-classifier.yaml"
    spec.write_text(spec.read_text().replace(
        "        autoscaling: {minReplicas: 3, maxReplicas: 16}\n",
        "        autoscaling: {minReplicas: 3, maxReplicas: 16}\n"
        "        ingress: {host: images.example.com}\n"
        '        canary: {version: "2.2.0", image: "registry.example.com/vision/image-classifier:2.2.0", weight: 10}\n'))
    _with_canary(repo, canary="")  # the gateway only
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    built = _built(repo, "overlays/prod/image-classifier")
    for name, version in (("image-classifier", "2.1.0"), ("image-classifier-canary", "2.2.0")):
        pod = built[("Deployment", name)]["spec"]["template"]["spec"]
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        assert env["MODEL_URI"] == f"s3://models/image-classifier/{version}/", name
        assert pod["initContainers"][0]["args"][0] == f"s3://models/image-classifier/{version}/", name


def _callers(rule: dict) -> list[str]:
    return [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] if "namespaceSelector" in p
            else "(own namespace)" for p in rule["from"]]


def test_the_gateway_namespace_may_call_both_versions_when_callers_are_restricted(repo, capsys):
    """fraud-detector admits payments; with a Gateway its HTTPRoute is its entry point, so the Gateway's proxies
    call the stable and the canary pods alike, and the ingress controller (no Ingress any more) does not."""
    _with_canary(repo)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    built = _built(repo)
    for name in ("fraud-detector", "fraud-detector-canary"):
        serving_rule = built[("NetworkPolicy", name)]["spec"]["ingress"][0]
        assert _callers(serving_rule) == ["payments", "gw", "(own namespace)"], name
    staging = _built(repo, "overlays/staging/fraud-detector")[("NetworkPolicy", "fraud-detector")]  # no canary there
    assert _callers(staging["spec"]["ingress"][0]) == ["payments", "gw", "(own namespace)"]  # the route stays


def test_with_a_gateway_the_httproute_is_the_permanent_entry_point_and_no_ingress_shares_its_host(repo, capsys):
    _with_canary(repo, canary="")  # the gateway only: no canary runs
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    built = _built(repo)
    assert not [key for key in built if key[0] == "Ingress"]
    route = built[("HTTPRoute", "fraud-detector")]
    assert route["spec"]["hostnames"] == ["fraud.example.com"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "fraud-detector", "port": 80}]  # stable only
    _with_canary(repo, gateway=False)  # the gateway is there already
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    route = _built(repo)[("HTTPRoute", "fraud-detector")]  # the same object, now weighted: DNS never changes
    assert [(b["name"], b["weight"]) for b in route["spec"]["rules"][0]["backendRefs"]] == [
        ("fraud-detector", 90), ("fraud-detector-canary", 10)]


@pytest.mark.slow
def test_a_raw_patch_without_a_name_reaches_the_canary_too(repo, capsys):
    """fraud-detector's prod patch targets {kind: Deployment}: both versions get it (the canary is the stable
    version's objects with another version); a patch that names its object patches that one only."""
    _with_canary(repo)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    built = _built(repo)
    for name in ("fraud-detector", "fraud-detector-canary"):
        spread = built[("Deployment", name)]["spec"]["template"]["spec"]["topologySpreadConstraints"]
        zone = next(c for c in spread if c["topologyKey"] == "topology.kubernetes.io/zone")
        assert zone["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == "fraud-detector", name  # the patch's
    spec = repo / "models/fraud-detector.yaml"
    spec.write_text(spec.read_text().replace("      - target: {kind: Deployment}\n",
                                             "      - target: {kind: Deployment, name: fraud-detector}\n"))
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    canary = _built(repo)[("Deployment", "fraud-detector-canary")]["spec"]["template"]["spec"]
    assert canary["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == (
        "fraud-detector-canary")
    assert not (repo / "overlays/prod/fraud-detector/user-patch-1-canary.yaml").exists()
    assert run_cli(capsys, "check", "--repo", str(repo), "--no-cache").code == 0


@pytest.mark.slow  # the fast loop keeps the ingress-nginx and Gateway splits
def test_an_in_cluster_canary_is_split_by_a_gamma_route_on_the_models_service(repo, capsys):
    """image-classifier has no ingress: its callers are in the cluster; the route attaches to its Service (Gateway
    API's service-mesh routing), never to the Gateway, where a route without hostnames would take every host."""
    spec = repo / "models/image-classifier.yaml"
    spec.write_text(spec.read_text().replace(
        "        autoscaling: {minReplicas: 3, maxReplicas: 16}\n",
        "        autoscaling: {minReplicas: 3, maxReplicas: 16}\n"
        '        canary: {version: "2.2.0", image: "registry.example.com/vision/image-classifier:2.2.0", weight: 10}\n'))
    _with_canary(repo, canary="")  # the gateway only
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    route = _built(repo, "overlays/prod/image-classifier")[("HTTPRoute", "image-classifier")]
    assert route["spec"]["parentRefs"] == [{"group": "", "kind": "Service", "name": "image-classifier", "port": 80}]
    assert "hostnames" not in route["spec"]
    assert [b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]] == [90, 10]
    assert run_cli(capsys, "check", "--repo", str(repo), "--no-cache").code == 0


@pytest.mark.slow
def test_a_canary_too_small_for_its_weight_at_the_stable_peak_is_a_warning(repo, capsys):
    """image-classifier scales to 16 pods in prod: 20% of their requests is the load of 4 pods, not 1."""
    spec = repo / "models/image-classifier.yaml"
    spec.write_text(spec.read_text().replace(
        "        autoscaling: {minReplicas: 3, maxReplicas: 16}\n",
        "        autoscaling: {minReplicas: 3, maxReplicas: 16}\n"
        "        ingress: {host: images.example.com}\n"
        '        canary: {version: "2.2.0", image: "registry.example.com/vision/image-classifier:2.2.0", weight: 20}\n'))
    _with_canary(repo, canary="")  # the gateway only
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    result = run_cli(capsys, "check", "--repo", str(repo), "--no-cache", "--format", "github")
    assert result.code == 0
    warning = next(line for line in result.out.splitlines() if "title=canary-capacity" in line)
    line = next(i for i, text in enumerate(spec.read_text().splitlines(), 1) if "canary:" in text)
    assert warning.startswith(f"::warning file=models/image-classifier.yaml,line={line},")  # the canary's line
    assert "beside 16 stable pods that is the load of 4, on 1 pod" in warning
    edit_text = spec.read_text().replace("weight: 20}", "weight: 20, replicas: 4}")
    spec.write_text(edit_text)
    assert run_cli(capsys, "generate", "--repo", str(repo)).code == 0
    assert "(canary-capacity)" not in run_cli(capsys, "check", "--repo", str(repo), "--no-cache").out


def test_ingress_only_settings_are_unused_with_a_gateway_and_a_warning_says_so(repo, capsys):
    """fraud-detector's staging ingress names an ingress class and a TLS Secret: the HTTPRoute has neither."""
    _with_canary(repo, canary="")  # the gateway only
    result = run_cli(capsys, "generate", "--repo", str(repo))
    assert result.code == 0
    warnings = [line for line in result.err.splitlines() if "(gateway-route)" in line]
    assert all(line.startswith("models/fraud-detector.yaml:25:") for line in warnings)  # the base's ingress line
    said = {tuple(line.split(": ", 2)[1:3]) for line in warnings}
    assert {(env, f"serving.ingress.{field} is unused") for env in ("staging", "prod")
            for field in ("className", "tlsSecret")} == {(env, text.split(":")[0]) for env, text in said}


def test_a_model_whose_render_only_warns_is_written_and_warns_again_next_run(repo, capsys):
    """The Gateway's ingress warnings come from rendering: the model's files are still written, and a second
    run (which could have read them from the cache) says the warnings again."""
    _with_canary(repo, canary="")
    first = run_cli(capsys, "generate", "--repo", str(repo))
    assert first.code == 0 and (repo / "overlays/prod/fraud-detector/kustomization.yaml").exists()
    again = run_cli(capsys, "generate", "--repo", str(repo))
    warnings = [line for line in again.err.splitlines() if "(gateway-route)" in line]
    assert again.code == 0 and len(warnings) == 4
    assert [line for line in first.err.splitlines() if "(gateway-route)" in line] == warnings
