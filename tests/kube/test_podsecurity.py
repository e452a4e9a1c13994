"""Pod Security as admission evaluates it: every upstream fixture gets Kubernetes' own verdict.

tests/cases/pod-security/ holds kubernetes/pod-security-admission's test/testdata (Apache-2.0, provenance in
its README): `<level>/v<version>/{pass,fail}/*.yaml`, one Pod each.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import EXHAUSTIVE, ROOT
from mlgitops.kube import podsecurity

FIXTURES = ROOT / "tests/cases/pod-security"
CASES = sorted(FIXTURES.glob("*/v*/*/*.yaml"))


def _case(path: Path) -> tuple[str, str, str]:
    verdict, version, level = path.parent.name, path.parent.parent.name, path.parent.parent.parent.name
    return level, version.removeprefix("v"), verdict


# The oldest and the newest version in the fast loop, make test two between them too (v1.29, v1.33); the other
# nine (the same controls, thirteen times 1,732 cases in all) are exhaustive: make test-all and .ci/run run every
# fixture (test_controls_change_with_the_version, in every loop, holds where the controls do change).
EDGE_VERSIONS = {"v1.25", "v1.37"}
STANDARD_VERSIONS = {"v1.29", "v1.33"}


def _version_marks(version: str) -> tuple:
    return () if version in EDGE_VERSIONS else (pytest.mark.slow,) if version in STANDARD_VERSIONS else EXHAUSTIVE


CASE_PARAMS = [pytest.param(p, id=str(p.relative_to(FIXTURES)), marks=_version_marks(p.parent.parent.name))
               for p in CASES]


@pytest.mark.parametrize("path", CASE_PARAMS)
def test_every_upstream_fixture_gets_the_upstream_verdict(path):
    level, version, verdict = _case(path)
    problems = podsecurity.evaluate(yaml.safe_load(path.read_text()), level, version)
    if verdict == "pass":
        assert problems == [], [p.text() for p in problems]
    else:
        assert problems, f"{path.name} is refused by Kubernetes {version} at {level}, admitted here"
        named = re.sub(r"[0-9]+$", "", path.stem)  # the control the fixture exercises: restrictedvolumes7
        controls = {p.control.lower() for p in problems}
        assert named in controls | {_NAMED.get(c) for c in controls}


# A restricted control that overrides a baseline one refuses that baseline control's fixtures too.
_NAMED = {"capabilities_restricted": "capabilities_baseline", "seccompprofile_restricted": "seccompprofile_baseline",
          "restrictedvolumes": "hostpathvolumes", "procmount_restricted": "procmount"}


def test_the_fixtures_cover_every_level_and_version_from_1_25_to_1_37():
    assert len(CASES) == 1732
    assert {_case(p)[:2] for p in CASES} == {(lvl, f"1.{m}") for lvl in ("baseline", "restricted")
                                             for m in range(25, 38)}


def _pod(**container) -> dict:
    return {"metadata": {}, "spec": {"containers": [{"name": "c", "image": "i", **container}]}}


RESTRICTED_OK = {"securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                     "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}}


def test_a_fully_hardened_pod_passes_restricted_at_every_version():
    for m in range(25, 38):
        assert podsecurity.evaluate(_pod(**RESTRICTED_OK), "restricted", f"1.{m}") == []


def test_restricted_names_the_control_upstream_names_and_its_words():
    pod = _pod(securityContext={**RESTRICTED_OK["securityContext"],
                                "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}})
    [problem] = podsecurity.evaluate(pod, "restricted", "1.33")
    assert problem.control == "capabilities_restricted"
    assert problem.reason == "unrestricted capabilities"
    assert problem.detail == 'container "c" must not include "SYS_ADMIN" in securityContext.capabilities.add'
    assert problem.pointer == "/spec/containers/0/securityContext/capabilities/add"
    [baseline] = podsecurity.evaluate(pod, "baseline", "1.33")
    assert baseline.control == "capabilities_baseline"


def test_controls_change_with_the_version():
    probe = _pod(**RESTRICTED_OK, readinessProbe={"httpGet": {"host": "10.0.0.1", "port": 80}})
    assert podsecurity.evaluate(probe, "baseline", "1.33") == []  # the host field is checked from v1.34
    assert [p.control for p in podsecurity.evaluate(probe, "baseline", "1.34")] == ["hostProbesAndHostLifecycle"]
    sysctl = {"metadata": {}, "spec": {"containers": [{"name": "c"}], "securityContext": {
        "sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]}}}
    assert [p.control for p in podsecurity.evaluate(sysctl, "baseline", "1.31")] == ["sysctls"]
    assert podsecurity.evaluate(sysctl, "baseline", "1.32") == []
    user_ns = _pod(securityContext={**RESTRICTED_OK["securityContext"], "procMount": "Unmasked"})
    user_ns["spec"]["hostUsers"] = False
    assert podsecurity.evaluate(user_ns, "baseline", "1.35") == []  # relaxed in a user namespace from v1.35
    assert [p.control for p in podsecurity.evaluate(user_ns, "restricted", "1.35")] == ["procMount_restricted"]
    assert [p.control for p in podsecurity.evaluate(user_ns, "baseline", "1.34")] == ["procMount"]


def test_malformed_fields_are_read_as_absent_never_a_crash():
    weird = {"metadata": "x", "spec": {"containers": ["c", {"securityContext": "no", "ports": [{"hostPort": "80"}]}],
                                       "volumes": [None, {"name": 3}], "securityContext": [1]}}
    assert {p.control for p in podsecurity.evaluate(weird, "restricted", "1.37")} >= {"runAsNonRoot"}
    assert podsecurity.evaluate({}, "restricted", "1.37") == []
