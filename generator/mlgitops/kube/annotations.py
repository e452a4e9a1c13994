"""Annotation keys mlgitops writes on the objects it generates, and `check` reads back."""

# The reason a spec gives for relaxing the restricted Pod Security Standard (`security.reason`).
SECURITY_EXCEPTION = "mlgitops.io/security-exception"

# Keep an object (a claim and its data) when it leaves Git. Flux: `prune: disabled` stops both garbage collection
# and deletion with its Kustomization. Argo CD: `Prune=false` stops pruning when the object leaves Git,
# `Delete=false` keeps it when its Application is deleted (a renamed model's ApplicationSet entry).
FLUX_PRUNE = "kustomize.toolkit.fluxcd.io/prune"
ARGOCD_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
PRUNE_PROTECTION = {FLUX_PRUNE: "disabled", ARGOCD_SYNC_OPTIONS: "Prune=false,Delete=false"}
