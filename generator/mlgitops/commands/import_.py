"""`mlgitops import FILE...`: write models/<name>.yaml from the Kubernetes manifests a team already runs.

Reads the files (folders recursively, `-` for standard input: `helm template ... | mlgitops import -`), maps
them (spec/importer.py) and checks each spec as `generate` will read it. A spec that reads clean is written,
never over an existing file; one that does not is not written, and its findings say why. Findings go to
standard error; exit 1 when an error remains (a literal secret left out, an untagged image, a spec not written).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from mlgitops.check.policies import Settings, image_problems
from mlgitops.commands import scaffold
from mlgitops.commands.common import emit, repository
from mlgitops.kube import manifestfiles, names
from mlgitops.kube.manifests import Document, parse_stream
from mlgitops.report.findings import Finding, Position, Severity
from mlgitops.spec.config import Config, load_config
from mlgitops.spec.import_text import spec_text
from mlgitops.spec.importer import Imported, import_documents
from mlgitops.spec.model import parse_model


def run(repo_path: str | None, files: list[str], name: str | None, team: str | None, fmt: str,
        dry_run: bool) -> int:
    repo = repository(repo_path)
    config, findings = load_config(repo)
    if config is None:
        emit(findings, fmt)
        return 1
    docs, findings = read_documents(files)
    imported, found = import_documents(docs, name, team, optional_limits(config),
                                       config.training.get("distributed", "trainjob"))
    findings += found
    written = 0
    for model in imported:
        done, model_findings = _one(repo.root, config, model, dry_run)
        findings += model_findings
        written += done
    emit(findings, fmt)
    if not imported:
        click.echo("no serving or training workload found: nothing written", err=True)
    errors = any(f.severity == Severity.ERROR for f in findings)
    return 1 if errors or written < len(imported) or not imported else 0


def optional_limits(config: Config) -> frozenset[str]:
    """The limits (cpu, memory) that no environment's policy requires (mlgitops.yaml policies.requiredLimits):
    a request without such a limit is imported as `limits: {<name>: false}`."""
    required: set[str] = set()
    for env in config.environments:
        required |= Settings.for_environment(env.name, env.policies).required_limits
    return frozenset({"cpu", "memory"} - required)


def read_documents(files: list[str]) -> tuple[list[Document], list[Finding]]:
    docs: list[Document] = []
    findings: list[Finding] = []
    for source in manifestfiles.read(files):
        if source.text is None:
            if not source.special:
                findings.append(Finding("k8s-read", f"cannot read: {source.error}", source.name, Position()))
            continue
        docs += parse_stream(source.text, source.name)
    return docs, findings


def _shown(source: str) -> str:
    """A source file as the committed spec's header names it: an absolute path relative to the current
    directory, so the spec does not record the importer's machine layout (a name as given stays so)."""
    return os.path.relpath(source) if os.path.isabs(source) else source


def _one(root: Path, config: Config, model: Imported, dry_run: bool) -> tuple[bool, list[Finding]]:
    """Write one imported spec (or print it with --dry-run); (whether it was, the findings)."""
    findings = list(model.findings)
    rel = f"models/{model.name}.yaml"
    if not scaffold.NAME.match(model.name):
        findings.append(Finding("import-grouping", f"'{model.name}' is not a valid model name", rel,
                                hint=f"pass --name with {names.MODEL_NAME.short}"))
        return False, findings
    text = spec_text(model.spec, [_shown(s) for s in model.sources], model.findings, config.env_names)
    parsed, checked = parse_model(rel, text.encode(), config)
    findings += checked
    if parsed is not None:
        findings += remaining(config, parsed.effective, rel)
    if any(f.severity == Severity.ERROR for f in checked):
        findings.append(Finding("import-grouping", f"{rel} not written: the imported spec does not read clean "
                                "(the findings above)", rel, hint="fix the input, or write the spec by hand "
                                "from `mlgitops import --dry-run`"))
        if dry_run:
            click.echo(text, nl=False)
        return False, findings
    if dry_run:
        click.echo(text, nl=False)
        return True, findings
    path = root / rel
    if path.exists():
        findings.append(Finding("import-grouping", f"{rel} already exists: never overwritten", rel,
                                hint="pass --name for another name, or compare with --dry-run"))
        return False, findings
    scaffold.write_file(root, path, text)
    click.echo(f"wrote {rel}; next: mlgitops generate && mlgitops check", err=True)
    return True, findings


def remaining(config: Config, effective: dict[str, dict[str, Any]], rel: str) -> list[Finding]:
    """What `check` will still refuse in the written spec, found before it is written: the environments whose
    policies want more pods than the manifests ran, or a pinned image. Warnings: the spec is still written,
    and the report says which finding remains and why."""
    out: list[Finding] = []
    for env in config.environments:
        spec = effective.get(env.name, {}).get("spec", {})
        serving = spec.get("serving")
        if not isinstance(serving, dict):
            continue
        settings = Settings.for_environment(env.name, env.policies)
        scaling = serving.get("autoscaling")
        pods = scaling.get("minReplicas", 1) if isinstance(scaling, dict) else serving.get("replicas", 1)
        if pods < settings.min_replicas and "min-replicas" not in settings.disabled and not serving.get(
                "singleReplica"):
            out.append(Finding.in_environments(
                [env.name], "min-replicas", f"the manifests run {pods} pod(s); check requires at least "
                f"{settings.min_replicas} here (and a PodDisruptionBudget: pdb-required)", rel,
                hint=f"set environments.{env.name}.serving.replicas: {settings.min_replicas}, or autoscaling",
                severity=Severity.WARNING))
        for rule, message, hint in image_problems(str(serving.get("image", "")), settings):
            if rule not in settings.disabled and rule != "image-latest":  # image-latest: reported at the input
                out.append(Finding.in_environments([env.name], rule, message, rel, hint=hint,
                                                   severity=Severity.WARNING))
    return out
