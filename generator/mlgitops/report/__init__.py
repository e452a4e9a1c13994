"""Findings and how they are shown: the Finding type, the rule catalogue, output formats, progress.

The lowest stage: everything may import it, and it imports no other stage of mlgitops.
"""
