"""render's numbers for people: counts and byte sizes, exact at any size."""

from __future__ import annotations

import pytest

from linexplain.render import count, nbytes
from linexplain.shapes import Product


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KiB (1,024 B)"),
        (1536, "1.5 KiB (1,536 B)"),
        (1_023_487, "999 KiB (1,023,487 B)"),
        (1_023_488, "0.976 MiB (1,023,488 B)"),  # 999.5 KiB would print as 1e+03 KiB
        (1_048_575, "1 MiB (1,048,575 B)"),
        (3 * 2**30, "3 GiB (3,221,225,472 B)"),
        (2**40 * 1000 - 1, "1.00e3 TiB (1,099,511,627,775,999 B)"),
        (10**30, "9.09e17 TiB (1,000,000,000,000,000,000,000,000,000,000 B)"),
    ],
)
def test_nbytes(n: int, text: str) -> None:
    assert nbytes(Product(n)) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (999_999, "999,999"),
        (1_000_000, "1,000,000 (≈1.00e6)"),
        (123_456_789, "123,456,789 (≈1.23e8)"),
        (999_500_000, "999,500,000 (≈1.00e9)"),  # rounded half up, exactly
        (10**20, "100,000,000,000,000,000,000 (≈1.00e20)"),
        ((2**63 - 1) ** 3, f"{(2**63 - 1) ** 3:,} (≈7.85e56)"),
    ],
)
def test_count(n: int, text: str) -> None:
    assert count(n) == text


def test_symbolic_values_are_written_as_products() -> None:
    assert count(Product.of(("N", 9, "C"))) == "9*C*N"
    assert nbytes(Product.of(("N", "N", 12))) == "12*N**2 B"
