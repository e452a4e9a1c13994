"""The check pipeline: batched kustomize builds, Kubernetes validation, fidelity, policies, diff.

Everything `mlgitops check` and `mlgitops diff` do to what a cluster would receive. Imports `tree`
and every stage below it.
"""
