"""--schema-location as kubeconform reads it (templates, `default`, folders), local files only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mlgitops.kube import schemalocations
from mlgitops.kube.schemalocations import BUILTIN, KUBECONFORM_LAYOUT, Location, fields, parse
from mlgitops.kube.schemas import SchemaSet
from mlgitops.kube.validator import Options, validate_objects
from mlgitops.report.findings import FatalError

CATALOGUE = Path("/work/shared/external/crds/jsonschema")
SCALED_OBJECT = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "s"},
                 "spec": {"scaleTargetRef": {"name": "d"}, "triggers": [{"type": "cpu", "metadata": {"value": "50"}}]}}
CATALOGUE_TEMPLATE = "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


@pytest.fixture
def catalogue(tmp_path) -> Path:
    """A two-schema copy of a kubeconform CRD catalogue (<group>/<kind>_<version>.json)."""
    for name in ("keda.sh/scaledobject_v1alpha1.json", "monitoring.coreos.com/prometheusrule_v1.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        if (CATALOGUE / name).is_file():
            shutil.copy(CATALOGUE / name, tmp_path / name)
        else:  # pragma: no cover - the shared catalogue is missing: a schema of the same shape
            (tmp_path / name).write_text(json.dumps(_minimal_scaled_object_schema()))
    return tmp_path


def _minimal_scaled_object_schema() -> dict:
    return {"type": "object", "required": ["apiVersion", "kind", "spec"], "additionalProperties": False,
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                           "spec": {"type": "object", "required": ["scaleTargetRef", "triggers"],
                                    "additionalProperties": False,
                                    "properties": {"scaleTargetRef": {"type": "object"}, "triggers": {"type": "array"}}}}}


def test_fields_are_filled_as_kubeconforms_registry_fills_them():
    assert fields("monitoring.coreos.com/v1", "ServiceMonitor", "1.30.0", True) == {
        "NormalizedKubernetesVersion": "v1.30.0", "StrictSuffix": "-strict", "ResourceKind": "servicemonitor",
        "ResourceAPIVersion": "v1", "Group": "monitoring.coreos.com", "KindSuffix": "-monitoring-v1"}
    core = fields("v1", "Service", "1.33.0", False)
    assert core is not None and (core["Group"], core["ResourceAPIVersion"], core["KindSuffix"], core["StrictSuffix"]) \
        == ("v1", "v1", "-v1", "")


@pytest.mark.parametrize("kind", ["A" * 300, "../../etc/passwd", "a/b", "nul\x00l", ".hidden", ""],
                         ids=["300 characters", "dot-dot", "slash", "NUL", "leading dot", "empty"])
def test_a_kind_that_cannot_name_a_file_is_looked_up_nowhere(kind):
    assert fields("v1", kind, "1.33.0", True) is None


def test_default_is_the_built_in_schemas_and_a_folder_gets_kubeconforms_layout():
    assert parse("default") is BUILTIN
    assert parse("/schemas/") == Location("/schemas" + KUBECONFORM_LAYOUT)
    assert parse("file:///c/{{ .ResourceKind }}.json") == Location("/c/{{ .ResourceKind }}.json")


@pytest.mark.parametrize(("value", "says"), [
    ("https://raw.githubusercontent.com/x/{{.ResourceKind}}.json", "only local paths can be read"),
    ("http://example.com/schemas", "only local paths can be read"),
    ("/c/{{ .Kind }}.json", "unknown field .Kind"),
    ("/c/{{ if .Group }}x{{ end }}.json", "a template other than {{ .Field }}"),
], ids=["https", "http folder", "unknown field", "template logic"])
def test_what_cannot_be_read_offline_is_a_usage_error(value, says):
    with pytest.raises(FatalError, match="--schema-location"):
        parse(value)
    with pytest.raises(FatalError) as caught:
        parse(value)
    assert says in caught.value.message


def verdicts(objects, *locations: Location, strict: bool = True) -> list[str]:
    return [r.verdict.value for r in validate_objects(objects, Options(strict=strict, locations=locations))]


def test_a_crd_catalogue_template_finds_custom_resources(catalogue):
    location = parse(str(catalogue) + CATALOGUE_TEMPLATE)
    broken = {**SCALED_OBJECT, "spec": {"scaleTargetRef": {"name": "d"}}}
    assert verdicts([SCALED_OBJECT, broken], BUILTIN, location) == ["valid", "invalid"]


def test_locations_are_tried_in_order_and_without_default_built_in_kinds_are_not_found(catalogue):
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
    location = parse(str(catalogue) + CATALOGUE_TEMPLATE)
    assert verdicts([service, SCALED_OBJECT], location) == ["error", "valid"]
    assert verdicts([service, SCALED_OBJECT], BUILTIN) == ["valid", "error"]


def test_a_repository_crds_folder_takes_both_namings_and_is_relaxed_without_strict(tmp_path, catalogue):
    crds = tmp_path / "crds"
    crds.mkdir()
    shutil.copy(catalogue / "keda.sh/scaledobject_v1alpha1.json", crds / "scaledobject-keda.sh-v1alpha1.json")
    extra = {**SCALED_OBJECT, "spec": {**SCALED_OBJECT["spec"], "unknown": 1}}
    assert verdicts([SCALED_OBJECT, extra], *schemalocations.crds_folder(crds)) == ["valid", "invalid"]
    assert verdicts([extra], *schemalocations.crds_folder(crds), strict=False) == ["valid"]
    assert verdicts([SCALED_OBJECT], *schemalocations.crds_folder(catalogue)) == ["valid"]


def test_a_kind_of_300_characters_has_no_schema_instead_of_a_file_name_too_long(catalogue):
    long_kind = {"apiVersion": "keda.sh/v1alpha1", "kind": "A" * 300, "metadata": {"name": "x"}}
    assert verdicts([long_kind], BUILTIN, parse(str(catalogue) + CATALOGUE_TEMPLATE),
                    *schemalocations.crds_folder(catalogue)) == ["error"]
    assert verdicts([{**long_kind, "apiVersion": "v1"}], BUILTIN) == ["error"]


def test_a_schema_file_that_is_not_json_is_an_environment_error_naming_it(tmp_path):
    (tmp_path / "keda.sh").mkdir()
    (tmp_path / "keda.sh/scaledobject_v1alpha1.json").write_text("{not json")
    sets = SchemaSet("1.33.0", True, (parse(str(tmp_path) + CATALOGUE_TEMPLATE),))
    with pytest.raises(FatalError, match=r"scaledobject_v1alpha1\.json is not JSON"):
        sets.validator("keda.sh/v1alpha1", "ScaledObject")


def test_a_schema_file_may_refer_to_local_files_but_never_to_the_network(tmp_path):
    (tmp_path / "defs.json").write_text(json.dumps({"definitions": {"spec": {"type": "object",
                                                                              "required": ["size"]}}}))
    schema = {"type": "object", "properties": {"spec": {"$ref": "defs.json#/definitions/spec"}}}
    (tmp_path / "widget_v1.json").write_text(json.dumps(schema))
    location = parse(str(tmp_path) + "/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"size": 1}}
    assert verdicts([widget, {**widget, "spec": {}}], location) == ["valid", "invalid"]
    (tmp_path / "widget_v1.json").write_text(json.dumps({"$ref": "https://example.com/widget.json"}))
    with pytest.raises(FatalError, match="cannot be used"):
        SchemaSet("1.33.0", True, (location,)).validator("example.com/v1", "Widget")
