"""Every rule id mlgitops reports, with what it means. Ids are stable: CI configurations refer to them."""

from __future__ import annotations

from mlgitops.policies import RULES as POLICY_RULES

RULES: dict[str, str] = {
    "yaml-syntax": "the file is not valid YAML",
    "yaml-encoding": "the file is not UTF-8",
    "yaml-tab": "a tab character where YAML expects indentation",
    "yaml-duplicate-key": "a key appears twice in one mapping",
    "yaml-alias": "anchors, aliases and merge keys are refused (they allow YAML bombs)",
    "yaml-multiple-documents": "a spec or config file holds more than one YAML document",
    "yaml-empty": "the file holds no YAML document",
    "yaml-key-type": "a mapping key is not a string",
    "yaml-depth": "the document nests deeper than allowed",
    "file-unreadable": "the file cannot be read",
    "symlink-outside": "a spec is a symlink to a file outside the repository",
    "schema": "a value breaks the JSON Schema of the spec or config",
    "unknown-field": "a field the schema does not know (often a typo)",
    "missing-field": "a required field is missing",
    "name-mismatch": "metadata.name differs from the file name",
    "name-collision": "two specs define the same model name",
    "unknown-environment": "an override names an environment mlgitops.yaml does not define",
    "duplicate-environment": "mlgitops.yaml defines an environment twice",
    "autoscaling-bounds": "autoscaling.minReplicas is greater than maxReplicas",
    "reserved-env": "an env var mlgitops sets itself (MODEL_NAME, MODEL_VERSION, MODEL_URI)",
    "duplicate-env": "an env var is set twice (env and secrets)",
    "mount-conflict": "a volume is mounted over the reserved /tmp scratch volume",
    "patch-target": "a raw patch targets an object the environment does not generate",
    "hand-edited": "a generated file was edited by hand; it is never overwritten",
    "path-blocked": "a file or folder is in the way of a generated file",
    "drift": "the committed generated tree differs from what the specs generate",
    "build": "kustomize cannot build an overlay",
    "kubernetes-schema": "a built resource breaks the Kubernetes (or custom resource) schema",
    "kubernetes-error": "a built resource cannot be validated (no kind, no schema, duplicate key)",
    "fidelity": "kustomize built something other than what the generator meant",
    **{f"{rule}": text for rule, text in POLICY_RULES.items()},
}


def describe(rule: str) -> str:
    return RULES.get(rule, rule)
