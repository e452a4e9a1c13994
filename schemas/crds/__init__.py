"""Schemas of the custom resources mlgitops emits."""
