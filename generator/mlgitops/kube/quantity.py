"""Kubernetes resource quantities (`500m`, `2Gi`, `1e3`, `4`) as numbers, and back to text for people."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

SUFFIXES = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12,
            "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
            "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
            "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


def parse(value: Any) -> Decimal:
    """The value of a quantity; ValueError for text that is not one."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    try:
        return Decimal(match.group(1)) * SUFFIXES[match.group(2) or ""]
    except InvalidOperation:
        raise ValueError(f"not a Kubernetes quantity: {value!r}") from None


def cpu_text(cores: Decimal) -> str:
    return f"{cores.normalize():f}" if cores == cores.to_integral() else f"{int(cores * 1000)}m"


def memory_text(size: Decimal) -> str:
    for unit in ("Ti", "Gi", "Mi", "Ki"):
        if size >= SUFFIXES[unit]:
            return f"{(size / SUFFIXES[unit]).quantize(Decimal('0.1')).normalize():f}{unit}"
    return f"{size:f}"
