"""Drift as findings: which committed generated files differ from what the specs produce."""

from __future__ import annotations

from mlgitops.report.findings import Finding, Position
from mlgitops.tree.header import Tree, generated_from
from mlgitops.tree.writer import Plan, leftover_findings


def findings(plan: Plan, disk: Tree, tree: Tree | None = None) -> list[Finding]:
    """One finding per file that differs; `tree`, what the specs generate, tells a file whose spec is gone
    from one its spec no longer makes (a sweep that became a Katib Experiment, an Ingress set to null)."""
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
    live = {generated_from(content) for content in tree.values()} if plan.delete and tree else set()
    for path in plan.delete:
        spec = generated_from(disk.get(path, b""))
        message = (f"is no longer generated: {spec} no longer makes it" if spec in live
                   else "is generated from a spec that no longer exists")
        found.append(Finding("drift", message, path, Position(1, 1), "run 'mlgitops generate' to prune it"))
    return found + leftover_findings(plan)
