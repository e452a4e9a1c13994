"""Kubernetes knowledge that does not depend on specs.

The strict validator and its schema sets, how Go's YAML reads manifests, reading manifest files and
streams, exporting schemas for kubeconform, running kustomize, image references. Imports only `report`.
"""
