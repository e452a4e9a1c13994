"""Kubernetes resource quantities (`500m`, `2Gi`, `1e3`, `4`): the one parser, and the one way back to text.

The grammar and values are resource.Quantity's (k8s.io/apimachinery pkg/api/resource, quantity.go
ParseQuantity and suffix.go): a signed decimal number (`1`, `1.5`, `.5`, `1.`) and one suffix, binary
(`Ki` … `Ei`, powers of 1024), decimal (`n`, `u`, `m`, none, `k`, `M`, `G`, `T`, `P`, `E`) or an exponent
(`e3`, `E-2`: an int32). A non-zero value is rounded up, away from zero, to a whole nano (1n), and a
binary-suffixed value is capped at the largest int64. Arithmetic is exact (Decimal, under a context wide
enough for every exponent Kubernetes accepts), so `1Ei`, `100m` and `1e300` all come out exact and nothing
overflows.
"""

from __future__ import annotations

import functools
import re
from decimal import MAX_EMAX, MIN_EMIN, ROUND_CEILING, ROUND_DOWN, ROUND_UP, Context, Decimal, localcontext
from typing import Any

EXACT = Context(prec=200, Emax=MAX_EMAX, Emin=MIN_EMIN)  # every value a spec or a cluster can hold, exactly
DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
SUFFIXES = {**{s: Decimal(10) ** e for s, e in DECIMAL.items()}, **{s: Decimal(2) ** e for s, e in BINARY.items()}}
NANO = Decimal("1e-9")
MAX_BINARY = Decimal(2**63 - 1)  # resource.Quantity's cap on binary-suffixed values (maxAllowed)
INT32 = 2**31
_QUANTITY = re.compile(r"([+-]?)([0-9]+\.?[0-9]*|\.[0-9]+)(?:([eE])([+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?))")


def parse(value: Any) -> Decimal:
    """The value of a quantity (text, or a number as YAML reads one); ValueError for anything else."""
    try:
        return _parse_text(str(value).strip() if not isinstance(value, bool) else "")
    except ValueError as why:
        raise ValueError(f"not a Kubernetes quantity: {value!r}{why}") from None


@functools.lru_cache(maxsize=4096)  # specs repeat a few quantities thousands of times; a Decimal is immutable
def _parse_text(text: str) -> Decimal:
    match = _QUANTITY.fullmatch(text)
    if not match:
        raise ValueError("")
    sign, number, exponent, power, suffix = match.groups()
    if exponent and abs(int(power)) >= INT32:
        raise ValueError(" (the exponent is out of range)")
    with localcontext(EXACT):
        amount = Decimal(number.rstrip(".") or "0")
        amount = amount.scaleb(int(power)) if exponent else amount.scaleb(DECIMAL.get(suffix, 0))
        if suffix in BINARY:
            amount = min(amount * 2 ** BINARY[suffix], MAX_BINARY)
        if amount and amount.as_tuple().exponent < -9:  # type: ignore[operator]
            amount = amount.quantize(NANO, rounding=ROUND_UP)
        return -amount if sign == "-" else amount


def value(text: Any) -> Decimal | None:
    """The value of a quantity, None if it is not one (the schema or a semantic check reports it)."""
    try:
        return parse(text)
    except ValueError:
        return None


def text(value: Any) -> str:
    """A quantity from a spec as the text written into a manifest: strings as they are, whole floats without
    `.0`, so every YAML parser reads the same value."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def format_bytes(amount: Decimal) -> str:
    """A byte count as the largest binary unit that divides it exactly: 1610612736 -> 1536Mi (whole bytes,
    rounded up)."""
    with localcontext(EXACT):
        amount = amount.to_integral_value(rounding=ROUND_CEILING)
        if amount.adjusted() > EXACT.prec // 2:  # too large to divide exactly: no unit
            return _plain(amount)
        for unit in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
            size = SUFFIXES[unit]
            if amount and amount % size == 0:
                return _plain(amount / size) + unit
        return _plain(amount)


def add_bytes(*values: Any) -> str:
    """The sum of memory or storage quantities, as a quantity: 16Gi + 1Gi -> 17Gi (unreadable ones count 0)."""
    with localcontext(EXACT):
        return format_bytes(sum((value(v) or Decimal(0) for v in values), Decimal(0)))


def _plain(amount: Decimal) -> str:
    """A number without exponent while it is short, else in Kubernetes' exponent form (1e40)."""
    with localcontext(EXACT):
        amount = amount.normalize()
        if -30 <= amount.adjusted() <= 30:
            return f"{amount:f}"
        digits, exponent = amount.as_tuple().digits, amount.as_tuple().exponent
        return f"{'-' if amount < 0 else ''}{''.join(map(str, digits))}e{exponent}"


def cpu_text(cores: Decimal) -> str:
    """Cores for people: 2, 1.5 -> 1500m, 0.25 -> 250m."""
    with localcontext(EXACT):
        if cores == cores.to_integral_value():
            return _plain(cores)
        return _plain((cores * 1000).to_integral_value(rounding=ROUND_DOWN)) + "m"


def memory_text(size: Decimal) -> str:
    """Bytes for people, to a tenth of the largest binary unit: 1.5Gi, 512Mi."""
    with localcontext(EXACT):
        for unit in ("Ti", "Gi", "Mi", "Ki"):
            if size >= SUFFIXES[unit]:
                scaled = size / SUFFIXES[unit]
                rounded = scaled.quantize(Decimal("0.1")) if scaled.adjusted() < 30 else scaled
                return _plain(rounded) + unit
        return _plain(size)
