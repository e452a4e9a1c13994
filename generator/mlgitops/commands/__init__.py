"""One module per CLI verb: each takes plain options and returns an exit code.

`cli.py` only wires click to these functions. The highest stage: it may import every other stage,
and nothing imports it.
"""
