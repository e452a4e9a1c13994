"""`mlgitops generate`: specs -> tree -> disk, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlgitops import drift, writer
from mlgitops.config import Config, load_config
from mlgitops.findings import Finding, has_errors
from mlgitops.layout import Tree, model_tree
from mlgitops.repo import Repo
from mlgitops.spec import Model, load_models


@dataclass
class Generated:
    config: Config | None = None
    models: list[Model] = field(default_factory=list)
    tree: Tree = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def build(repo: Repo) -> Generated:
    """Read and validate every input, then render the whole tree. Touches no output file."""
    config, findings = load_config(repo)
    if config is None:
        return Generated(findings=findings)
    models, findings = load_models(repo, config)
    result = Generated(config, models, {}, list(findings))
    for model in models:
        tree, found = model_tree(model, config)
        result.tree.update(tree)
        result.findings.extend(found)
    return result


@dataclass
class Outcome:
    findings: list[Finding]
    plan: writer.Plan | None = None
    diff: str = ""
    models: int = 0
    environments: int = 0
    drift: list[Finding] = field(default_factory=list)  # with --check: one finding per differing file

    @property
    def exit_code(self) -> int:
        if has_errors(self.findings):
            return 1
        return 1 if self.diff else 0


def run(root: Path, check: bool = False) -> Outcome:
    repo = Repo(root)
    result = build(repo)
    if has_errors(result.findings):
        return Outcome(result.findings)
    envs = len(result.config.environments) if result.config else 0
    if check:
        disk = writer.scan(root)
        the_plan = writer.plan(result.tree, disk, root)
        return Outcome(the_plan.findings, the_plan, writer.unified_diff(result.tree, disk, the_plan),
                       len(result.models), envs, drift.findings(the_plan, disk))
    with writer.locked(root):
        disk = writer.scan(root)
        the_plan = writer.plan(result.tree, disk, root)
        if the_plan.findings:
            return Outcome(the_plan.findings, the_plan)
        writer.apply(root, the_plan)
    return Outcome([], the_plan, "", len(result.models), envs)
