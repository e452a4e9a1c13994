"""Kubernetes quantities (500m, 1Gi, 2) read as numbers, and byte counts written back as quantities."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_SUFFIX = {"m": Decimal("0.001"), "": Decimal(1), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
           "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18, "Ki": Decimal(2) ** 10,
           "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50,
           "Ei": Decimal(2) ** 60}
_QUANTITY = re.compile(r"^\+?([0-9.]+(?:[eE][-+]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")


def quantity(value: Any) -> Decimal | None:
    """The value of a Kubernetes quantity (500m -> 0.5, 1Gi -> 1073741824), None if unreadable."""
    match = _QUANTITY.match(str(value))
    if not match:
        return None
    try:
        return Decimal(match[1]) * _SUFFIX[match[2] or ""]
    except InvalidOperation:
        return None


def format_bytes(value: Decimal) -> str:
    """A byte count as the largest binary unit that divides it exactly: 1610612736 -> 1536Mi."""
    value = -(-value // 1)  # whole bytes, rounded up
    for unit in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        size = _SUFFIX[unit]
        if value and value % size == 0:
            return f"{int(value // size)}{unit}"
    return str(int(value))


def add_bytes(*values: Any) -> str:
    """The sum of memory or storage quantities, as a quantity: 16Gi + 1Gi -> 17Gi."""
    total = Decimal(0)
    for v in values:
        total += quantity(v) or Decimal(0)
    return format_bytes(total)
