"""Objects to files: layout, overlays as the difference from the base, YAML emission, drift, writing.

Also the generation pipeline (specs -> Tree) and the content cache that `generate` and `check`
share. Imports `render`, `spec`, `kube` and `report`.
"""
