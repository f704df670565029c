"""``linexplain.readable``: counts and byte sizes for people, exact at any size."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linexplain.counts import Product
from linexplain.output import latex
from linexplain.output.text import prose
from linexplain.readable import count, nbytes

UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


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


@given(st.integers(min_value=0, max_value=10**60))
def test_count_is_exact_and_its_approximation_is_close(n: int) -> None:
    text = count(n)
    exact, _, approx = text.partition(" (≈")
    assert exact == f"{n:,}"
    if n < 10**6:
        assert not approx
    else:  # 3 significant digits, rounded: within half a unit of the third digit
        value = float(approx.removesuffix(")"))
        assert abs(value - n) <= 0.005 * n


@given(st.integers(min_value=0, max_value=10**40))
def test_nbytes_is_exact_and_its_unit_is_readable(n: int) -> None:
    text = nbytes(Product(n))
    if n < 1024:
        assert text == f"{n} B"
        return
    shown, unit, exact = text.split(" ", 2)
    assert exact == f"({n:,} B)"
    value = float(shown) * UNITS[unit]
    assert abs(value - n) <= 0.005 * n  # 3 significant digits
    assert "e" in shown or float(shown) < 1000  # never "1e+03 KiB"


def test_symbolic_values_are_written_as_products() -> None:
    # the names in the input's dim order, the number first, "·" between (ASCII: "*")
    assert count(Product.of(("N", 9, "C"))) == "9·N·C"
    assert nbytes(Product.of(("N", "C", 12))) == "12·N·C bytes"  # "B" would read as a dim
    assert prose((count(Product.of(("N", 9, "C"))),), "ascii") == "9*N*C"


def test_a_repeated_dim_is_a_power() -> None:
    # an input shape (N, N, 3) has N^2 rows, written as a power (JSON keeps sympy's "N**2")
    assert count(Product.of(("N", "N", 9))) == "9·N^2"
    assert nbytes(Product.of(("N", "N", 12))) == "12·N^2 bytes"
    assert prose((nbytes(Product.of(("N", "N", 12))),), "ascii") == "12*N^2 bytes"


@given(
    st.lists(st.sampled_from(["N", "C", "batch", "seq_len", "H"]), min_size=1, unique=True),
    st.integers(min_value=2, max_value=10**6),
)
def test_named_products_keep_the_input_order(names: list[str], coeff: int) -> None:
    dims = [*names[:1], coeff, *names[1:]]
    assert count(Product.of(tuple(dims))) == "·".join([str(coeff), *names])
    assert count(Product.of(tuple(names))) == "·".join(names)  # a coefficient of 1 is left out
    assert nbytes(Product.of(tuple(dims))) == "·".join([str(coeff), *names]) + " bytes"


@pytest.mark.parametrize(
    ("unicode", "ascii_", "tex"),
    [
        ("a⁽¹²⁾ = x", "a^(12) = x", "a$^{(12)}$ = x"),
        ("a⁽³⁾", "a^(3)", "a$^{(3)}$"),  # ³ in a layer's superscript is a digit
        ("0.044715·z³", "0.044715*z^3", r"0.044715$\cdot$z$^{3}$"),  # alone, a power
        ("W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾", "W^(l+1)^T delta^(l+1)", r"W$^{(l+1)T}$ $\delta^{(l+1)}$"),
        ("a⁽ˡ⁻¹⁾", "a^(l-1)", "a$^{(l-1)}$"),
        ("a⁽⁻¹⁾", "a^(-1)", "a$^{(-1)}$"),
        ("10⁻⁵", "10^-5", "10$^{-5}$"),
        ("x Wᵀ", "x W^T", "x W$^{T}$"),
        ("f′⁽²⁾", "f'^(2)", "f$'$$^{(2)}$"),  # a prime keeps its own group: no double ^
    ],
)
def test_each_writer_spells_superscripts(unicode: str, ascii_: str, tex: str) -> None:
    """Prose is authored with unicode superscripts, as the maths prints a layer (a⁽¹²⁾); ASCII
    writes one ^ per run (a^(12)), LaTeX one maths group per run (a$^{(12)}$)."""
    assert prose((unicode,), "text") == unicode
    assert prose((unicode,), "ascii") == ascii_
    assert latex.prose((unicode,)) == tex
