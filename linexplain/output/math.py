"""Printing maths: a layer's sympy expressions in unicode, ASCII or LaTeX, under the post's names.

A :class:`MathPrinter` names each symbol from the notation's record of how it was made (letter,
subscripts, the layer's superscript), so the same expression prints as ``w₁₂⁽²⁾``, ``w_12^(2)`` or
``w_{12}^{(2)}``. Numbers put in for symbols are written with the view's decimals.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import center_pad, pretty_use_unicode
from sympy.printing.pretty.stringpict import prettyForm

from ..equations import CDOTS, DDOTS, VDOTS, Notation
from ..readable import SUBSCRIPT, SUPERSCRIPT, Style, number

GAPS: dict[Style, tuple[str, str, str]] = {
    "text": ("⋯", "⋮", "⋱"),
    "ascii": ("...", ":", "..."),
    "latex": (r"\cdots", r"\vdots", r"\ddots"),
}
_PARTIAL: dict[Style, tuple[str, str]] = {
    "text": ("∂L/∂", ""),
    "ascii": ("dL/d", ""),
    "latex": (r"\frac{\partial L}{\partial ", "}"),
}


class MathPrinter:
    """Prints expressions of one notation in one style."""

    def __init__(self, notation: Notation, style: Style, precision: int = 4):
        self.notation = notation
        self.style = style
        self.precision = precision
        self.gaps = GAPS[style]
        self._names: dict[Any, str] = dict(zip((CDOTS, VDOTS, DDOTS), self.gaps, strict=True))

    def name(self, s: Any) -> str:
        """The name ``style`` prints for a symbol of the notation."""
        if s not in self._names:
            n = self.notation
            if s in n.partials:
                before, after = _PARTIAL[self.style]
                self._names[s] = before + self.name(n.partials[s]) + after
            else:
                part = n.parts[s]
                sub = ("," if n.comma else "").join(part.indices)
                layer = part.layer if part.layer is not None else n.layer
                sup = f"({layer})" if part.layered and layer is not None else ""
                if self.style == "text":
                    name = part.letter + sub.translate(SUBSCRIPT) + sup.translate(SUPERSCRIPT)
                elif self.style == "ascii":
                    name = part.letter + (f"_{sub}" if sub else "") + (f"^{sup}" if sup else "")
                else:
                    name = (
                        part.letter
                        + (f"_{{{sub}}}" if sub else "")
                        + (f"^{{{sup}}}" if sup else "")
                    )
                self._names[s] = name
        return self._names[s]

    def expr(self, e: Any, numbers: dict[Any, float] | None = None) -> str:
        """``e`` printed, terms in the order written; ``numbers`` prints those symbols as values."""
        names = {s: self.name(s) for s in _symbols(e)}
        if numbers:
            names |= {
                s: number(v, self.precision, self.style, term=True) for s, v in numbers.items()
            }
        if self.style == "latex":
            # LaTeX writes w x as "w x", but 2 times 3 needs its dot.
            settings = {
                "symbol_names": names,
                "order": "none",
                "mul_symbol": "dot" if numbers else None,
            }
            return _Latex(settings).doprint(e)
        return _Pretty(names, unicode=self.style == "text").doprint(e)

    def value(self, v: float) -> str:
        """A result written after ``=``."""
        return number(v, self.precision, self.style)


def _symbols(e: Any) -> set[Any]:
    """Every symbol and matrix symbol in ``e`` (matrices' entries included)."""
    if isinstance(e, (sympy.Symbol, sympy.MatrixSymbol)):
        return {e}
    found: set[Any] = set()
    if isinstance(e, sympy.MatrixBase):
        for entry in e:
            found |= _symbols(entry)
        return found
    for arg in getattr(e, "args", ()):
        found |= _symbols(arg)
    return found


class _Pretty(PrettyPrinter):
    """sympy's pretty printer under our names, with sums and transposes kept on one line."""

    def __init__(self, names: dict[Any, str], *, unicode: bool):
        super().__init__({"use_unicode": unicode, "order": "none", "wrap_line": False})
        self.names = names

    def doprint(self, expr: Any) -> str:
        before = pretty_use_unicode(self._settings["use_unicode"])
        try:
            return "\n".join(line.rstrip() for line in super().doprint(expr).splitlines())
        finally:
            pretty_use_unicode(before)

    def _print_Symbol(self, e: Any, bold_name: bool = False) -> prettyForm:
        if e in self.names:
            return prettyForm(self.names[e])
        return super()._print_Symbol(e, bold_name)  # a function's name (max, σ, tanh)

    _print_MatrixSymbol = _print_Symbol

    def _print_Mul(self, e: Any) -> prettyForm:
        # sympy's own imports sympy.physics.units (0.2 s) to look for units; ours are plain
        # products of symbols. A ratio (Softmax's) stays on its line: a / b.
        factors = e.as_ordered_factors()
        over = [f for f in factors if f.is_Pow and f.exp == -1]
        top = [f for f in factors if f not in over]
        if not over:
            return prettyForm.__mul__(*map(self._print, top))
        ratio = prettyForm.__mul__(*map(self._print, top)) if top else prettyForm("1")
        for f in over:
            ratio = prettyForm(*ratio.right(" / ", self._print(f.base)))
        return ratio

    def _print_matrix_contents(self, e: Any) -> prettyForm:
        # sympy's own is slow for 64 x 64 and puts a blank line between rows; our entries are
        # all one line, so this aligns them in columns.
        cells = [[self._print(e[r, c]).picture[0] for c in range(e.cols)] for r in range(e.rows)]
        widths = [max(len(row[c]) for row in cells) for c in range(e.cols)]
        lines = ["  ".join(map(_center, row, widths)) for row in cells]
        return prettyForm("\n".join(lines))

    def _print_Max(self, e: Any) -> prettyForm:
        # sympy's pretty printer writes Max(0, z) as plain str() text, losing our names.
        return self._helper_print_function(e.func, e.args, func_name=type(e).__name__.lower())

    _print_Min = _print_Max

    def _print_Transpose(self, e: Any) -> prettyForm:
        return prettyForm(self.names[e.arg] + ("ᵀ" if self._use_unicode else "^T"))

    def _print_Sum(self, e: Any) -> prettyForm:
        ((var, low, high),) = e.limits
        if self._use_unicode:
            sigma = "Σ" + f"{var}={low}".translate(SUBSCRIPT) + str(high).translate(SUPERSCRIPT)
        else:
            sigma = f"sum_{{{var}={low}}}^{{{high}}}"
        return prettyForm(*prettyForm(sigma + " ").right(self._print(e.function)))


def _center(cell: str, width: int) -> str:
    """``cell`` centred in ``width``, an odd space going right (as sympy centres)."""
    left, right = center_pad(len(cell), width)
    return left + cell + right


class _Latex(LatexPrinter):
    """sympy's LaTeX printer, printing a product of explicit matrices as written (sympy's own
    multiplies it out to look for a minus sign)."""

    def _print_MatMul(self, e: Any) -> str:
        return " ".join(map(self._print, e.args))
