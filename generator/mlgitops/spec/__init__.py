"""Reading and validating the inputs: model specs and mlgitops.yaml, with positions.

YAML with a source map, the JSON Schema checks, defaults, layers and deep merge into one effective
spec per environment, semantic checks, and the repository reader. Imports `kube` and `report`.
"""
