"""Annotation keys mlgitops writes on the objects it generates, and `check` reads back."""

# The reason a spec gives for relaxing the restricted Pod Security Standard (`security.reason`).
SECURITY_EXCEPTION = "mlgitops.io/security-exception"

# Keep an object when it leaves Git: Flux's kustomize-controller and Argo CD then never delete it (a claim's data).
FLUX_PRUNE = "kustomize.toolkit.fluxcd.io/prune"
ARGOCD_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
PRUNE_PROTECTION = {FLUX_PRUNE: "disabled", ARGOCD_SYNC_OPTIONS: "Delete=false"}
