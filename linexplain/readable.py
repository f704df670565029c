"""Numbers for people: decimals as the view asks, counts and byte sizes exact at any size.

No numpy, no sympy: ``shape`` and tensor tables use these on their fast paths.
"""

from __future__ import annotations

import math
from typing import Literal

from .counts import Product

Style = Literal["text", "ascii", "latex"]

_PLAIN, _RAISED = "0123456789()-+l", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾⁻⁺ˡ"  # l: the generic layer, a⁽ˡ⁻¹⁾
SUPERSCRIPT = str.maketrans(_PLAIN, _RAISED)
UNRAISED = str.maketrans(_RAISED, _PLAIN)  # ⁽¹²⁾ → (12), for writers that spell exponents
RAISED = _RAISED  # the superscript signs, e.g. for a pattern matching a run of them
SUBSCRIPT = str.maketrans("0123456789ijks=", "₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₛ₌")
_TIMES: dict[Style, str] = {"text": "\N{MULTIPLICATION SIGN}", "ascii": "x", "latex": r"\times"}


def number(v: float, precision: int, style: Style, *, term: bool = False) -> str:
    """``v`` with ``precision`` decimals, in scientific notation when it would hide in them (or
    from 1e8 on); as a term of a sum, a negative number is put in parentheses."""
    s = fixed_or_scientific([v], precision).format(v)
    if style == "latex" and not math.isfinite(v):  # "inf" in maths mode reads as i·n·f
        s = {"inf": r"\infty", "-inf": r"-\infty", "nan": r"\text{NaN}"}[s]
    elif "e" in s and style != "ascii" and math.isfinite(v):
        mantissa, exponent = s.split("e")
        power = str(int(exponent))
        power = f"10^{{{power}}}" if style == "latex" else "10" + power.translate(SUPERSCRIPT)
        s = f"{mantissa} {_TIMES[style]} {power}"
    if style == "text" and s.startswith("-"):
        s = "\N{MINUS SIGN}" + s[1:]
    return f"({s})" if term and s[0] in "-\N{MINUS SIGN}" else s  # -0.0 too: it prints as −0


def fixed_or_scientific(values: list[float], precision: int) -> str:
    """The format for numbers shown together: ``precision`` decimals, or scientific notation
    when one of them would hide in the decimals (below one unit of the last, as torch switches
    below 1e-4) or reaches 1e8 (as torch does). With 0 decimals, whole numbers are asked for and
    small values round to 0."""
    magnitudes = [abs(v) for v in values if v and math.isfinite(v)]
    small = precision > 0 and magnitudes and min(magnitudes) < 10.0**-precision
    if magnitudes and (max(magnitudes) >= 1e8 or small):
        return f"{{:.{precision}e}}"
    return f"{{:.{precision}f}}"


def _approx(n: int, unit: int = 1) -> str:
    """``n / unit`` to 3 significant digits, exact for any size (no float overflow)."""
    if n // unit < 1000:
        text = f"{n / unit:.3g}"  # small enough for a float
        if "e" not in text:  # from 999.5 on it rounds to 1e+03, written 1.00e3 below
            return text
    exponent = len(str(n // unit)) - 1
    scale = unit * 10 ** (exponent - 2)
    digits = (2 * n + scale) // (2 * scale)  # the first 3 digits, rounded half up
    if digits >= 1000:
        digits, exponent = digits // 10, exponent + 1
    text = str(digits)
    return f"{text[0]}.{text[1:]}e{exponent}"


def product(value: Product) -> str:
    """A symbolic count as people read it: ``9·N·C``, ``9·N^2`` (the dims in the input's order)."""
    factors = [name if power == 1 else f"{name}^{power}" for name, power in value.powers]
    if value.coeff != 1 or not factors:
        factors.insert(0, str(value.coeff))
    return "·".join(factors)


def count(value: Product | int) -> str:
    """A count for people: ``1,234,567 (≈1.23e6)``, or a product of dims like ``9·N·C``."""
    value = value if isinstance(value, Product) else Product(value)
    if not value.is_int:
        return product(value)
    n = value.coeff
    return f"{n:,}" if n < 10**6 else f"{n:,} (≈{_approx(n)})"


def nbytes(value: Product) -> str:
    """Bytes for people: ``48 B``, ``1.5 GiB (1,610,612,736 B)``, or ``12·N·C bytes``."""
    if not value.is_int:
        return f"{product(value)} bytes"  # "B" would read as a dim named B
    n = value.coeff
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        # Also from 999.5 of the unit below (above KiB), which would print as 1e3 of it.
        if n >= size or (size > 2**10 and 2048 * n >= 1999 * size):
            return f"{_approx(n, size)} {unit} ({n:,} B)"
    return f"{n} B"


# Characters a terminal or a page would act on rather than show: C0 and C1 controls (ESC starts
# terminal escape codes) and the bidirectional controls that reorder text (U+202E shows "evil"
# as "live"). Names read from files and typed by users are shown with these spelled out.
_UNSEEN = {
    *range(0x00, 0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
}  # fmt: skip
_SEEN = {code: f"\\x{code:02x}" if code < 0x100 else f"<U+{code:04X}>" for code in _UNSEEN}


def visible(text: str) -> str:
    r"""``text`` with control and bidi-override characters spelled out (``\x1b``, ``<U+202E>``),
    so no name can move a terminal's cursor or reorder a line; anything else is kept."""
    return text.translate(_SEEN)


def counted(n: int, one: str, many: str | None = None) -> str:
    """``1 weight``, ``200,704 weights`` (``many`` for an irregular plural: biases)."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"
