"""docs/spec.md, generated from the schemas' descriptions so the reference cannot drift from them.

Run `python -m mlgitops.commands.docs > docs/spec.md` (or `make docs`); a test fails when the file is stale.
"""

from __future__ import annotations

import json

from mlgitops.spec.schema import load_schema


def _type(schema: dict) -> str:
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "oneOf" in schema and "type" not in schema:  # a typed node's oneOf only picks required fields
        return " or ".join(_type(s) for s in schema["oneOf"])
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    names = {"object": "map", "array": "list", "integer": "integer", "string": "string", "number": "number",
             "boolean": "boolean", "null": "null"}
    text = " or ".join(names.get(str(k), str(k)) for k in kinds)
    if "array" in kinds and isinstance(schema.get("items"), dict) and "type" in schema["items"]:
        text += f" of {_type(schema['items'])}"
    return text


def _item_rows(items: object, root: dict, path: str) -> list[str]:
    """The rows of a list's items, when they are objects."""
    if not isinstance(items, dict):
        return []
    if "$ref" in items:
        items = _deref(items["$ref"], root)
    if "properties" not in items:
        return []
    return _rows(items, root, f"{path}[].", set(items.get("required", [])))


def _rows(schema: dict, root: dict, prefix: str, required: set[str]) -> list[str]:
    rows = []
    for name, prop in schema.get("properties", {}).items():
        if "$ref" in prop:
            prop = {**_deref(prop["$ref"], root), **{k: v for k, v in prop.items() if k != "$ref"}}
        path = f"{prefix}{name}"
        default = f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
        req = "yes" if name in required else ""
        desc = prop.get("description", "").replace("\n", " ").replace("|", "\\|")
        rows.append(f"| `{path}` | {_type(prop)} | {req} | {default} | {desc} |")
        if prop.get("type") == "object" or "properties" in prop:
            rows += _rows(prop, root, f"{path}.", set(prop.get("required", [])))
        rows += _item_rows(prop.get("items"), root, path)
        extra = prop.get("additionalProperties")
        if isinstance(extra, dict) and "$ref" in extra:
            target = _deref(extra["$ref"], root)
            rows += _rows(target, root, f"{path}.<name>.", set(target.get("required", [])))
    return rows


def _deref(ref: str, root: dict) -> dict:
    node = root
    for token in ref.removeprefix("#/").split("/"):
        node = node[token]
    return node


def _table(schema: dict) -> str:
    head = ["| Field | Type | Required | Default | Description |", "|---|---|---|---|---|"]
    return "\n".join(head + _rows(schema, schema, "", set(schema.get("required", [])))) + "\n"


def render() -> str:
    model = load_schema("model.schema.json")
    config = load_schema("config.schema.json")
    return (
        "<!-- Generated from schemas/*.schema.json by `make docs`; edit the schemas' descriptions, not this file. -->\n"
        "# Spec reference\n\n"
        "## Model spec (`models/<name>.yaml`)\n\n"
        f"{model['description']}\n\n"
        "Environment overrides (`spec.environments.<env>`) are deep-merged over `spec`: maps merge, lists replace, "
        "`null` removes. Each environment's result is validated against this same schema.\n\n"
        f"{_table(model)}\n"
        "## Repository config (`mlgitops.yaml`)\n\n"
        f"{_table(config)}"
    )


def render_rules() -> str:
    from mlgitops.report.rules import RULES

    rows = "".join(f"| `{rule}` | {text} |\n" for rule, text in sorted(RULES.items()))
    return ("<!-- Generated from generator/mlgitops/report/rules.py by `make docs`. -->\n"
            "# Rule ids\n\nEvery finding names one of these stable ids.\n\n| Rule | Meaning |\n|---|---|\n" + rows)


if __name__ == "__main__":
    import sys

    print(render_rules() if sys.argv[1:] == ["rules"] else render(), end="")
