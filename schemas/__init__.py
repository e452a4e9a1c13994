"""The JSON Schemas of mlgitops, shipped inside the package as mlgitops.schemas."""
