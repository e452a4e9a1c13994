"""A hyperparameter sweep's trials: a grid's cartesian product, or a seeded random sample. Pure.

The random sample must be the same on every machine and every run, so it uses no platform float
maths and not Python's `random` or `hash`: each draw is a SHA-256 of (seed, trial, parameter) read as
a fraction, and ranges are computed in `decimal` (log-uniform with its correctly rounded `ln`/`exp`),
then written with 6 significant digits.
"""

from __future__ import annotations

import hashlib
import itertools
from decimal import ROUND_FLOOR, Context, Decimal
from typing import Any

DIGITS = 6  # significant digits of a drawn float
_MATHS = Context(prec=34)
_FRACTION_BITS = 64


def text(value: Any) -> str:
    """A parameter value as a command-line argument: true/false, integers, shortest float repr, strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def draw(seed: int, trial: int, name: str) -> Decimal:
    """A number in [0, 1), fixed by (seed, trial, parameter name): the same everywhere."""
    digest = hashlib.sha256(f"mlgitops-sweep/{seed}/{trial}/{name}".encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2 ** _FRACTION_BITS)


def _sample(space: Any, u: Decimal) -> str:
    if isinstance(space, list):
        return text(space[int(u * len(space))])
    low, high = Decimal(str(space["min"])), Decimal(str(space["max"]))
    if space.get("type", "float") == "int":
        low, high = low.to_integral_value(ROUND_FLOOR), high.to_integral_value(ROUND_FLOOR)
        if space.get("distribution", "uniform") == "log-uniform":
            ratio = _MATHS.divide(high + 1, low)
            value = _MATHS.multiply(low, _MATHS.power(ratio, u))
        else:
            value = low + u * (high - low + 1)
        return str(min(int(value.to_integral_value(ROUND_FLOOR)), int(high)))
    if space.get("distribution", "uniform") == "log-uniform":
        value = _MATHS.exp(_MATHS.ln(low) + u * (_MATHS.ln(high) - _MATHS.ln(low)))
    else:
        value = low + u * (high - low)
    return _float(value)


def _float(value: Decimal) -> str:
    rounded = Context(prec=DIGITS).plus(value)
    out = f"{rounded.normalize():f}" if -7 < rounded.adjusted() < DIGITS else f"{rounded.normalize():e}"
    return out


def trials(sweep: dict[str, Any]) -> list[list[tuple[str, str]]]:
    """Every trial as [(parameter, value text)], parameters in name order; trial i is index i of the Job."""
    names = sorted(sweep["parameters"])
    spaces = [sweep["parameters"][n] for n in names]
    if sweep.get("strategy", "grid") == "grid":
        return [list(zip(names, (text(v) for v in combo), strict=True)) for combo in itertools.product(*spaces)]
    seed = sweep.get("seed", 0)
    return [[(name, _sample(space, draw(seed, i, name))) for name, space in zip(names, spaces, strict=True)]
            for i in range(sweep["trials"])]


def arguments(trial: list[tuple[str, str]]) -> str:
    """One trial's arguments as the ConfigMap holds them: `--name=value`, space-separated."""
    return " ".join(f"--{name}={value}" for name, value in trial)
