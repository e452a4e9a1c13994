"""Drift as findings: which committed generated files differ from what the specs produce."""

from __future__ import annotations

from mlgitops.report.findings import Finding, Position
from mlgitops.tree.header import Tree
from mlgitops.tree.writer import Plan, leftover_findings


def findings(plan: Plan, disk: Tree) -> list[Finding]:
    found = list(plan.findings)
    for path in plan.write:
        if path in plan.edited:
            found.append(Finding("drift", "was edited by hand since it was generated (its content no longer matches "
                                 "the digest in its header): generate would overwrite the edit", path, Position(1, 1),
                                 "move the change into the model spec (an override or a patch), then run "
                                 "'mlgitops generate'"))
        elif path in disk:
            found.append(Finding("drift", "differs from what the specs generate", path, Position(1, 1),
                                 "run 'mlgitops generate' and commit the result"))
        else:
            found.append(Finding("drift", "is missing: the specs generate it", path, Position(),
                                 "run 'mlgitops generate' and commit the result"))
    for path in plan.delete:
        found.append(Finding("drift", "is generated from a spec that no longer exists", path, Position(1, 1),
                             "run 'mlgitops generate' to prune it"))
    return found + leftover_findings(plan)
