"""The importer reads untrusted manifests: whatever type any field holds, it gives a spec and findings, never a
traceback. Every value of every corpus input (tests/cases/import) is replaced in turn by a value of another
type, and the import runs to the end."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from conftest import import_inputs
from mlgitops.kube.manifests import Document, parse_stream
from mlgitops.spec.import_text import spec_text
from mlgitops.spec.importer import import_documents

OTHERS: tuple[Any, ...] = ("x", 7, [1, "y"], {"a": {"b": 1}}, None)


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for key, child in items:
        out += _paths(child, (*path, key))
    return out


def _replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(data)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return out


ENVIRONMENTS = ["dev", "prod"]
STUB = {"spec": {"model": {}}}  # the least spec_text writes a body for


def write_once(seen: tuple[set[bytes], set[bytes]], spec, sources, findings) -> None:
    """spec_text on each distinct spec and each distinct header, never twice on the same. spec_text writes
    the header from sources and findings alone and the YAML body from the spec (and environments) alone; a
    third of the mutations give a spec already written with findings not yet written (the finding quotes the
    mutated value, the spec left it out): those findings are written over STUB, not the whole spec again
    (PyYAML's pure-Python dumper is most of this test's time)."""
    specs, headers = seen
    spec_key, header_key = pickle.dumps(spec), pickle.dumps((sources, findings))
    if spec_key not in specs:
        spec_text(spec, sources, findings, ENVIRONMENTS)
    elif header_key not in headers:
        spec_text(STUB, sources, findings, ENVIRONMENTS)
    specs.add(spec_key)
    headers.add(header_key)


@pytest.mark.parametrize("source", import_inputs())
def test_any_field_of_any_type_gives_findings_never_a_traceback(source):
    docs = [d for d in parse_stream(source.read_text(), "input.yaml") if d.data is not None]
    runs, seen = 0, (set(), set())
    for i, doc in enumerate(docs):
        for path in _paths(doc.data):
            for other in OTHERS:
                mutated = [Document("input.yaml", j, d.line, _replaced(d.data, path, other) if j == i else d.data)
                           for j, d in enumerate(docs)]
                imported, _ = import_documents(mutated)
                for model in imported:
                    write_once(seen, model.spec, model.sources, model.findings)
                runs += 1
    assert runs > 50  # every value of the input, replaced by each of OTHERS


EXPERIMENT = """apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {name: sweep}
spec:
  algorithm: {algorithmName: grid}
  parameters:
  - {name: p, parameterType: %s, feasibleSpace: {min: "%s", max: "%s", step: "%s"}}
  trialTemplate:
    trialSpec: {apiVersion: batch/v1, kind: Job, spec: {template: {spec: {containers: [
      {name: t, image: "registry.example.com/t:1.0.0", command: [python, train.py]}]}}}}
"""


@pytest.mark.parametrize(("kind", "low", "high", "step"), [
    ("int", "0", "100000000000", "1"),  # 10^11 values: once a list built in memory
    ("double", "1e308", "1.7e308", "1e-300"),  # a span the floats cannot count (inf)
    ("double", "nan", "inf", "0.1"),
    ("double", "0", "1", "0.0000001"),
])
def test_a_stepped_range_too_long_to_list_stays_a_range_and_is_said(kind, low, high, step):
    docs = parse_stream(EXPERIMENT % (kind, low, high, step), "input.yaml")
    (model,), _ = import_documents([d for d in docs if d.data is not None])
    assert isinstance(model.spec["spec"]["training"]["sweep"]["parameters"]["p"], dict)
    assert any("its step makes more than 1000 values" in f.message for f in model.findings)


def test_a_stepped_double_range_lists_its_values():
    docs = parse_stream(EXPERIMENT % ("double", "0.05", "0.3", "0.05"), "input.yaml")
    (model,), _ = import_documents([d for d in docs if d.data is not None])
    assert model.spec["spec"]["training"]["sweep"]["parameters"]["p"] == [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]


ODD_DIGITS = """apiVersion: apps/v1
kind: Deployment
metadata: {name: m}
spec:
  replicas: "%(n)s"
  selector: {matchLabels: {app: m}}
  template:
    metadata: {labels: {app: m}}
    spec:
      containers:
      - name: server
        image: registry.example.com/m:1.0.0
        ports: [{containerPort: "%(n)s"}]
        resources: {limits: {nvidia.com/gpu: "%(n)s"}}
---
apiVersion: v1
kind: Service
metadata: {name: m}
spec: {selector: {app: m}, ports: [{port: 80, targetPort: "%(n)s"}]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: m}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: m}
  maxReplicas: 4
  metrics:
  - type: Pods
    pods: {metric: {name: inference_requests_per_second}, target: {type: AverageValue, averageValue: "%(n)s"}}
"""


@pytest.mark.parametrize("digits", ["²", "9" * 5000], ids=["superscript-two", "5000-digits"])
def test_digits_int_refuses_are_no_count_never_a_traceback(digits):
    """str.isdigit() takes '²' and 5,000 nines; int() refuses both: replicas, port and GPUs are then no number."""
    docs = parse_stream(ODD_DIGITS % {"n": digits}, "input.yaml")
    (model,), _ = import_documents([d for d in docs if d.data is not None])
    serving = model.spec["spec"]["serving"]
    assert "replicas" not in serving and "port" not in serving
    assert any("replicas is no number" in f.message for f in model.findings)
