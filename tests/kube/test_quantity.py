"""Kubernetes quantities: every form resource.Quantity accepts reads as the value it gives, and nothing else.

The expected values are resource.Quantity's (k8s.io/apimachinery pkg/api/resource ParseQuantity): decimal and
binary suffixes, exponents, n/u/m, rounding up to a whole nano, binary values capped at the largest int64."""

from __future__ import annotations

from decimal import Decimal

import pytest
from mlgitops.kube import quantity

ACCEPTED = [
    ("0", "0"), ("1", "1"), ("+1", "1"), ("-1", "-1"), ("1.5", "1.5"), (".5", "0.5"), ("1.", "1"), ("007", "7"),
    ("1n", "1e-9"), ("1u", "1e-6"), ("100m", "0.1"), ("1500m", "1.5"), ("1k", "1000"), ("1M", "1e6"),
    ("1G", "1e9"), ("1T", "1e12"), ("1P", "1e15"), ("1E", "1e18"), ("2.5G", "2.5e9"),
    ("1Ki", "1024"), ("1Mi", str(2**20)), ("1Gi", str(2**30)), ("1Ti", str(2**40)), ("1Pi", str(2**50)),
    ("1Ei", str(2**60)), ("1.5Gi", str(3 * 2**29)), ("0.5Ki", "512"), ("-2Gi", str(-2 * 2**30)),
    ("1e3", "1000"), ("1E3", "1000"), ("1e-3", "0.001"), ("1.5e+2", "150"), ("12e0", "12"),
    ("1.0000000001", "1.000000001"),  # rounded up to a whole nano
    ("0.1n", "1e-9"), ("-0.1n", "-1e-9"),  # away from zero: a request of "a little" is never 0
    (" 2Gi ", str(2 * 2**30)),  # JSON unmarshalling trims spaces
    (4, "4"), (0.5, "0.5"), (2.0, "2"), (1e-05, "0.00001"),  # numbers, as YAML reads them
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED, ids=[repr(t) for t, _ in ACCEPTED])
def test_every_form_kubernetes_accepts_reads_as_its_value(text, expected):
    assert quantity.parse(text) == Decimal(expected)


REFUSED = ["", "Ki", "1.2.3", "1Ki2", "1 Gi", "1KI", "1ki", "1K", "1e", "1e3Ki", "e3", "0x10", "1b", "one", "--1",
           "1.5.Gi", "∞", True, None, [], "1e99999999999"]


@pytest.mark.parametrize("text", REFUSED, ids=[repr(t) for t in REFUSED])
def test_anything_else_is_refused(text):
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        quantity.parse(text)
    assert quantity.value(text) is None


def test_huge_and_tiny_values_read_exactly_and_never_raise():
    assert quantity.parse("1e300") == Decimal(10) ** 300  # decimal values are not capped
    assert quantity.parse("99999999999Ei") == 2**63 - 1  # binary ones are, as resource.Quantity does
    assert quantity.parse("1e2147483647") > quantity.parse("1e300")
    assert quantity.parse("1e-2147483647") == Decimal("1e-9")
    huge = quantity.parse("1e2147483647")
    assert quantity.cpu_text(huge) == "1e2147483647"
    assert quantity.memory_text(quantity.parse("1e300")).endswith("Ti")
    assert quantity.format_bytes(huge) == "1e2147483647"
    assert quantity.add_bytes("1Ei", "1Ei") == "2Ei"


def test_text_for_manifests_and_for_people():
    assert [quantity.text(v) for v in (2.0, 0.5, "500m", 3)] == ["2", "0.5", "500m", "3"]
    assert quantity.format_bytes(Decimal(3 * 2**29)) == "1536Mi"
    assert quantity.add_bytes("512Mi", "1Gi") == "1536Mi"
    assert quantity.add_bytes("1G", "1Gi") == "2073741824"
    assert [quantity.cpu_text(Decimal(v)) for v in ("2", "1.5", "0.25")] == ["2", "1500m", "250m"]
    assert [quantity.memory_text(Decimal(v)) for v in (3 * 2**29, 2**29, 100)] == ["1.5Gi", "512Mi", "100"]
