"""mlgitops: model specs to Kustomize bases, overlays and GitOps sync objects."""

__version__ = "0.1.0"
