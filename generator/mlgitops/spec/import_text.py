"""`mlgitops import`: an imported spec (a plain dict) -> the commented YAML text of `models/<name>.yaml`.

The header names the schema (editors then complete and check the file), where it came from, and each finding
the import made, so what was not carried over is in the file as well as in the report. Values are written as
block YAML with strings quoted where YAML 1.1 would read them otherwise ("1.10", "on", "0755").
"""

from __future__ import annotations

from typing import Any

import yaml

from mlgitops.report.findings import Finding, printable

SCHEMA_HEADER = "# yaml-language-server: $schema=../schemas/model.schema.json"
_ORDER = ("image", "command", "args", "port", "replicas", "resources", "health", "env", "secrets", "storage",
          "sharedMemory", "autoscaling", "ingress", "metrics")


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    """Block style; PyYAML quotes a string that its YAML 1.1 resolver would read as another type."""


class Quoted(str):
    """A string always written in double quotes (model.version: "1.10" is never read as 1.1)."""


def _quoted(dumper: yaml.SafeDumper, value: Quoted) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"')


_Dumper.add_representer(Quoted, _quoted)


def spec_text(data: dict[str, Any], sources: list[str], findings: list[Finding],
              environments: list[str]) -> str:
    header = [SCHEMA_HEADER, f"# Imported by 'mlgitops import' from {', '.join(sources) or 'standard input'}."]
    if findings:
        header.append("# Not carried over, or changed on purpose (the import report says where):")
        header += [f"#   - {printable(f.message)}" for f in findings]
    header.append("# Every field: ../schemas/model.schema.json (docs/spec.md).")
    ordered = dict(data)
    spec = dict(data["spec"])
    spec["model"] = {k: Quoted(v) if k == "version" else v for k, v in spec["model"].items()}
    for section in ("serving", "training"):
        if section in spec:
            spec[section] = _ordered(spec[section])
    spec["environments"] = {env: {} for env in environments}
    ordered["spec"] = spec
    body: str = yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096,
                     allow_unicode=True)
    return "\n".join(header) + "\n" + body.replace("environments:\n", "environments:                # deep-merged "
                                                   "over spec per environment: maps merge, lists replace\n", 1)


def _ordered(section: dict[str, Any]) -> dict[str, Any]:
    first = {k: section[k] for k in _ORDER if k in section}
    return first | {k: v for k, v in section.items() if k not in first}
