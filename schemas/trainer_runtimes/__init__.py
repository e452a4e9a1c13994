"""Kubeflow Trainer's shipped ClusterTrainingRuntimes (data; see PROVENANCE.md)."""
