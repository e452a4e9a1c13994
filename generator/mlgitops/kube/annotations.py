"""Annotation and label keys mlgitops writes on the objects it generates, and `check` reads back."""

# The reason a spec gives for relaxing the restricted Pod Security Standard (`security.reason`).
SECURITY_EXCEPTION = "mlgitops.io/security-exception"

# The label on a canary's objects naming the model whose canary they are (render/canary.py).
CANARY_OF = "mlgitops.io/canary-of"

# A policy rule a spec (or one environment of it) excepts, with its reason (`policies.exceptions`):
# `policy-exception.mlgitops.io/<rule id>: <reason>`.
POLICY_EXCEPTION_PREFIX = "policy-exception.mlgitops.io/"


def is_grant(key: str) -> bool:
    """Whether an annotation grants an exception; only the spec may write one (a raw patch is refused)."""
    return key == SECURITY_EXCEPTION or key.startswith(POLICY_EXCEPTION_PREFIX)

# Keep an object (a claim and its data) when it leaves Git. Flux: `prune: disabled` stops both garbage collection
# and deletion with its Kustomization. Argo CD: `Prune=false` stops pruning when the object leaves Git,
# `Delete=false` keeps it when its Application is deleted (the resources finalizer skips it: a renamed or deleted
# model), and `IgnoreExtraneous` keeps a kept claim that left Git from marking its Application OutOfSync forever
# (argo-cd docs/user-guide/sync-options.md "No Prune Resources", docs/user-guide/compare-options.md).
FLUX_PRUNE = "kustomize.toolkit.fluxcd.io/prune"
ARGOCD_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
ARGOCD_COMPARE_OPTIONS = "argocd.argoproj.io/compare-options"
PRUNE_PROTECTION = {FLUX_PRUNE: "disabled", ARGOCD_SYNC_OPTIONS: "Prune=false,Delete=false",
                    ARGOCD_COMPARE_OPTIONS: "IgnoreExtraneous"}

# What a generated object needs the cluster to run beyond its API group's operator (the DCGM exporter for GPU
# alerts, Grafana's dashboard sidecar): `check` lists it among the namespace's prerequisites.
REQUIRES = "mlgitops.io/requires"
