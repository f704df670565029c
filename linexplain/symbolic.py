"""Every output of an nn.Linear layer written out as sympy expressions (``linexplain expand``).

For a layer with inputs x_j and outputs z_i (the seed's notation; the layer number l, when given,
is a superscript), w_ij joins input j to output i and the layer is shown in three forms:

1. scalar:  z_i = w_i1 x_1 + w_i2 x_2 + ... + b_i, one row per output (the seed's equation (1)),
   and the compact z_i = Sum_j w_ij x_j + b_i;
2. matrix:  Z = W X + B with Z, X, B columns and W the out x in matrix (equation (2));
3. PyTorch: y = x A^T + b with x a row, A = layer.weight = W; a batch stacks samples as rows.

Elision: an axis (the terms of a sum, the rows, a matrix's rows or columns) longer than
``max_terms`` shows its first ``max_terms - 1`` entries, a gap (⋯ ⋮ ⋱) and its last entry; the
bias is not counted as a term and is always shown. Only shown entries are ever built, so a
4096 x 4096 layer costs what an 8 x 8 one does. ``full=True`` writes everything out, up to
FULL_LIMIT weights.

Symbols have plain ASCII names (``w_1_2``, ``x_2``, ``b_1``, ``z_1``), so ``str()`` of an expression
is the JSON syntax; each style (unicode text, ASCII, LaTeX) prints them under its own names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import center_pad, pretty_use_unicode
from sympy.printing.pretty.stringpict import prettyForm

from linexplain.elide import MAX_SHOWN, hidden_count, shown_indices
from linexplain.errors import LinexplainError
from linexplain.grammar import MAX_SIZE, as_int
from linexplain.shapes import explain_shape

if TYPE_CHECKING:  # numpy is imported only where numbers are written, keeping `expand` light
    import numpy as np

FULL_LIMIT = 4096
"""The most weights one expansion writes out (a 64 x 64 layer): ``full=True`` refuses beyond it."""

DEFAULT_MAX_TERMS = MAX_SHOWN  # sums shorten as tensors' tables do

Style = Literal["text", "ascii", "latex"]
STYLES: tuple[Style, ...] = ("text", "ascii", "latex")

i, j = sympy.symbols("i j", integer=True)
"""The output and input index of the compact form."""

CDOTS, VDOTS, DDOTS = sympy.symbols("cdots vdots ddots")
"""Placeholders for what an elided expansion leaves out: terms or columns, rows, both."""

_GAPS: dict[Style, tuple[str, str, str]] = {
    "text": ("⋯", "⋮", "⋱"),
    "ascii": ("...", ":", "..."),
    "latex": (r"\cdots", r"\vdots", r"\ddots"),
}
WORDS: dict[Style, dict[str, str]] = {
    "text": {"times": "\N{MULTIPLICATION SIGN}", "dot": "⋅", "dots": "…", "to": "→", "T": "ᵀ"},
    "ascii": {"times": "x", "dot": "*", "dots": "...", "to": "->", "T": "^T"},
    "latex": {"times": r"\times", "dot": r" \cdot ", "dots": r"\dots", "to": r"\to", "T": "^{T}"},
}
_SUBSCRIPT = str.maketrans("0123456789ijs=", "₀₁₂₃₄₅₆₇₈₉ᵢⱼₛ₌")
_SUPERSCRIPT = str.maketrans("0123456789()-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾⁻")


# --- symbols and how each style writes them --------------------------------------------------


class Notation:
    """The symbols of one layer, and the name each style prints for each of them."""

    def __init__(self, in_features: int, out_features: int, layer: int | None, index_base: int):
        self.layer = layer
        self.index_base = index_base
        self.comma = max(in_features, out_features) >= 10  # w_{1,12} vs w_{11,2}
        self.names: dict[Style, dict[sympy.Basic, str]] = {
            style: dict(zip((CDOTS, VDOTS, DDOTS), _GAPS[style], strict=True)) for style in STYLES
        }
        for index in (i, j):
            self._name(index, index.name, (), layered=False)

    def w(self, row: int | sympy.Symbol, col: int | sympy.Symbol) -> sympy.Symbol:
        """The weight joining input ``col`` to output ``row``."""
        return self.symbol("w", row, col)

    def x(self, col: int | sympy.Symbol) -> sympy.Symbol:
        """An input (of layer l - 1, so it carries no layer superscript)."""
        return self.symbol("x", col, layered=False)

    def b(self, row: int | sympy.Symbol) -> sympy.Symbol:
        """The bias of an output."""
        return self.symbol("b", row)

    def z(self, row: int | sympy.Symbol) -> sympy.Symbol:
        """An output."""
        return self.symbol("z", row)

    def symbol(
        self, letter: str, *indices: int | sympy.Symbol, layered: bool = True
    ) -> sympy.Symbol:
        """The scalar ``letter_indices`` (e.g. ``w_1_2``), named in every style."""
        s = sympy.Symbol("_".join([letter, *map(str, indices)]))
        if s not in self.names["text"]:
            self._name(s, letter, indices, layered)
        return s

    def matrix(
        self, letter: str, rows: int, cols: int, *, layered: bool = True
    ) -> sympy.MatrixSymbol:
        """A rows x cols matrix symbol (``W``, ``X``, ...), named in every style."""
        m = sympy.MatrixSymbol(letter, rows, cols)
        self._name(m, letter, (), layered)
        return m

    def _name(self, s: sympy.Basic, letter: str, indices: Sequence[object], layered: bool) -> None:
        sub = ("," if self.comma else "").join(map(str, indices))
        sup = f"({self.layer})" if layered and self.layer is not None else ""
        self.names["text"][s] = letter + sub.translate(_SUBSCRIPT) + sup.translate(_SUPERSCRIPT)
        self.names["ascii"][s] = letter + (f"_{sub}" if sub else "") + (f"^{sup}" if sup else "")
        self.names["latex"][s] = (
            letter + (f"_{{{sub}}}" if sub else "") + (f"^{{{sup}}}" if sup else "")
        )

    def render(self, expr: sympy.Basic, style: Style, numbers: dict | None = None) -> str:
        """``expr`` as one style prints it, terms in the order they were written.

        ``numbers`` prints some symbols as the given (formatted) values instead.
        """
        names = {**self.names[style], **numbers} if numbers else self.names[style]
        if style == "latex":
            # LaTeX writes w x as "w x", but 2 times 3 needs its dot.
            mul = "dot" if numbers else None
            return _Latex({"symbol_names": names, "order": "none", "mul_symbol": mul}).doprint(expr)
        return _Pretty(names, unicode=style == "text").doprint(expr)


class _Pretty(PrettyPrinter):
    """sympy's pretty printer under our names, with sums and transposes kept on one line."""

    def __init__(self, names: dict[sympy.Basic, str], *, unicode: bool):
        super().__init__({"use_unicode": unicode, "order": "none", "wrap_line": False})
        self.names = names

    def doprint(self, expr: sympy.Basic) -> str:
        before = pretty_use_unicode(self._settings["use_unicode"])
        try:
            return "\n".join(line.rstrip() for line in super().doprint(expr).splitlines())
        finally:
            pretty_use_unicode(before)

    def _print_Symbol(self, e: sympy.Basic, bold_name: bool = False) -> prettyForm:
        return prettyForm(self.names[e])

    _print_MatrixSymbol = _print_Symbol

    def _print_Mul(self, e: sympy.Mul) -> prettyForm:
        # sympy's own imports sympy.physics.units (0.2 s) to look for units; ours are plain
        # products of symbols.
        return prettyForm.__mul__(*map(self._print, e.as_ordered_factors()))

    def _print_matrix_contents(self, e: sympy.MatrixBase) -> prettyForm:
        # sympy's own is slow for 64 x 64 and puts a blank line between rows; our entries are
        # all one line, so this aligns them in columns.
        cells = [[self._print(e[r, c]).picture[0] for c in range(e.cols)] for r in range(e.rows)]
        widths = [max(len(row[c]) for row in cells) for c in range(e.cols)]
        lines = ["  ".join(map(_center, row, widths)) for row in cells]
        return prettyForm("\n".join(lines))

    def _print_Transpose(self, e: sympy.Transpose) -> prettyForm:
        return prettyForm(self.names[e.arg] + ("ᵀ" if self._use_unicode else "^T"))

    def _print_Sum(self, e: sympy.Sum) -> prettyForm:
        ((var, low, high),) = e.limits
        if self._use_unicode:
            sigma = "Σ" + f"{var}={low}".translate(_SUBSCRIPT) + str(high).translate(_SUPERSCRIPT)
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

    def _print_MatMul(self, e: sympy.MatMul) -> str:
        return " ".join(map(self._print, e.args))


# --- the pieces every form is made of --------------------------------------------------------


def written(*terms: Any) -> Any:
    """The sum of ``terms``, kept unevaluated so it prints in the order written."""
    if len(terms) == 1:
        return terms[0]
    matrices = isinstance(terms[0], (sympy.MatrixBase, sympy.MatrixExpr))
    return (sympy.MatAdd if matrices else sympy.Add)(*terms, evaluate=False)


def _row_as_written(n: Notation, row: int, cols: list[int | None], bias: bool) -> sympy.Expr:
    """z_row's sum as written: w_row1 x_1 + w_row2 x_2 + ... + b_row, ⋯ for hidden terms."""
    terms = [CDOTS if col is None else n.w(row, col) * n.x(col) for col in cols]
    return written(*terms, *([n.b(row)] if bias else []))


def _sigma(n: Notation, row: int | sympy.Symbol, js: tuple) -> sympy.Sum:
    """Σ_j w_row,j x_j. A display form: sympy reads ``w_1_j`` as one symbol, so this Sum is
    not meant for ``.doit()``."""
    return sympy.Sum(n.w(row, j) * n.x(j), js)


def _row_value(n: Notation, row: int, cols: list[int | None], bias: bool, js: tuple) -> sympy.Expr:
    """z_row as sympy math: every term, or Σ_j w_row,j x_j + b_row when some are hidden."""
    products = [_sigma(n, row, js)] if None in cols else [n.w(row, c) * n.x(c) for c in cols]
    return sympy.Add(*products, *([n.b(row)] if bias else []))


def _grid(rows: list[int | None], cols: list[int | None], entry: Callable) -> sympy.ImmutableMatrix:
    """The matrix of the shown entries ``entry(r, c)``, with ⋮ ⋯ ⋱ where some are hidden."""

    def cell(r: int | None, c: int | None) -> sympy.Basic:
        if r is None:
            return DDOTS if c is None else VDOTS
        return CDOTS if c is None else entry(r, c)

    return sympy.ImmutableMatrix([[cell(r, c) for c in cols] for r in rows])


def _column(indices: list[int | None], entry: Callable) -> sympy.ImmutableMatrix:
    """The column of the shown entries ``entry(k)``, ⋮ where some are hidden."""
    return _grid(indices, [0], lambda k, _: entry(k))


# --- results ---------------------------------------------------------------------------------


class _Rendered:
    """Unicode text, ASCII and LaTeX renderings, each computed on first use."""

    def _render(self, style: Style) -> str:
        raise NotImplementedError

    @cached_property
    def text(self) -> str:
        """Unicode text (may span lines)."""
        return self._render("text")

    @cached_property
    def ascii(self) -> str:
        """Plain ASCII text (may span lines)."""
        return self._render("ascii")

    @cached_property
    def latex(self) -> str:
        """LaTeX math (one expression; ``aligned`` when it has several lines)."""
        return self._render("latex")


class _Row(_Rendered):
    """One output's line, ``lhs = rhs``."""

    def sides(self, style: Style) -> tuple[str, str]:
        """The two sides of the line as ``style`` prints them."""
        raise NotImplementedError

    def _render(self, style: Style) -> str:
        return " = ".join(self.sides(style))


@dataclass(frozen=True)
class Equation(_Row):
    """One output written out: ``lhs = rhs``, printed as ``lhs = shown``."""

    index: int  # the output's index i, in the expansion's index base
    lhs: sympy.Symbol  # z_i
    rhs: sympy.Expr  # Σ_j w_ij x_j + b_i: the full sum, or the compact Sum when terms are hidden
    shown: sympy.Expr  # the sum as printed, in math order, ⋯ where terms are hidden
    notation: Notation = field(repr=False, compare=False)

    def sides(self, style: Style) -> tuple[str, str]:
        return self.notation.render(self.lhs, style), self.notation.render(self.shown, style)


@dataclass(frozen=True)
class Form(_Rendered):
    """One way of writing the layer: its sympy equations, and how each style prints them."""

    equations: tuple[sympy.Basic, ...]
    draw: Callable[[Style], str] = field(repr=False, compare=False)

    def _render(self, style: Style) -> str:
        return self.draw(style)


@dataclass(frozen=True)
class NumericRow(_Row):
    """One output with the layer's numbers put in: z_i = w_i1⋅x_1 + ... + b_i = value."""

    index: int  # the output's index i, in the index base
    lhs: sympy.Symbol  # z_i
    shown: sympy.Expr  # the symbolic row as written (elided as ``expand`` elides it)
    values: dict[sympy.Symbol, float]  # the number of every symbol in ``shown``
    value: float  # the output z_i
    precision: int = field(repr=False)
    notation: Notation = field(repr=False, compare=False)

    def sides(self, style: Style) -> tuple[str, str]:
        numbers = {s: _number(v, self.precision, style, term=True) for s, v in self.values.items()}
        total = _number(self.value, self.precision, style)
        return (
            self.notation.render(self.lhs, style),
            f"{self.notation.render(self.shown, style, numbers)} = {total}",
        )


@dataclass(frozen=True)
class NumericExpansion:
    """The scalar rows with a layer's numbers put in."""

    rows: tuple[NumericRow, ...]  # the rows shown
    hidden_rows: int  # outputs not shown
    hidden_terms: int  # w_ij x_j terms not shown in each row
    block: Form  # the shown rows as one block, ⋮ where rows are hidden

    def as_dict(self) -> dict[str, Any]:
        """JSON: each shown row's value and the numbers of its symbols (by their str names)."""
        return {
            "elided": bool(self.hidden_rows or self.hidden_terms),
            "rows": [
                {
                    "lhs": str(r.lhs),
                    "value": r.value,
                    "values": {str(s): v for s, v in r.values.items()},
                    "text": r.text,
                    "latex": r.latex,
                }
                for r in self.rows
            ],
        }


@dataclass(frozen=True)
class Expansion:
    """A layer's outputs written out in the scalar, matrix and PyTorch forms."""

    in_features: int
    out_features: int
    bias: bool
    layer: int | None  # the (l) superscript, or None
    index_base: int  # 1 (math style) or 0 (as in layer.weight[i, j])
    elided: bool  # some terms or rows are hidden
    scalar: tuple[Equation, ...]  # the rows shown
    hidden_rows: int  # outputs not shown
    hidden_terms: int  # w_ij x_j terms not shown in each row
    scalar_block: Form  # the shown rows as one block, ⋮ where rows are hidden
    compact: Form  # z_i = Σ_j w_ij x_j + b_i
    matrix: Form  # Z = W X + B, and W, X, B written out
    pytorch: Form  # y = x Aᵀ + b, written out for one sample row, and the shapes of a batch
    notes: tuple[str, ...]  # what the index base means for layer.weight[i, j]

    def as_dict(self) -> dict[str, Any]:
        """The JSON form. ``rhs`` is ``str()`` of the row's sympy expression: the full sum, or
        ``b_1 + Sum(w_1_j*x_j, (j, 1, n))`` when the row's terms are elided."""
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias,
            "layer": self.layer,
            "index_base": self.index_base,
            "elided": self.elided,
            "scalar": [
                {"lhs": str(e.lhs), "rhs": str(e.rhs), "latex": e.latex} for e in self.scalar
            ],
            "compact": {"text": self.compact.text, "latex": self.compact.latex},
            "matrix": {"text": self.matrix.text, "latex": self.matrix.latex},
            "pytorch": {"text": self.pytorch.text, "latex": self.pytorch.latex},
        }


# --- expand ----------------------------------------------------------------------------------


def expand(
    in_features: int,
    out_features: int,
    *,
    bias: bool = True,
    layer: int | None = None,
    index_base: int = 1,
    max_terms: int = DEFAULT_MAX_TERMS,
    full: bool = False,
    input_shape: tuple[int | str, ...] | None = None,
) -> Expansion:
    """Every output of ``nn.Linear(in_features, out_features, bias)`` written out.

    Axes longer than ``max_terms`` are elided unless ``full``; ``input_shape`` (ints or names
    such as ``"N"``, the last one ``in_features``) adds the batched shapes to the PyTorch form.
    Raises LinexplainError for bad input, or when more than FULL_LIMIT weights would be shown.
    """
    in_features = check_size("in_features", in_features)
    out_features = check_size("out_features", out_features)
    layer, index_base, max_terms = check_options(layer, index_base, max_terms)
    if input_shape is not None:
        explain_shape(input_shape, out_features, in_features)  # torch's rule, torch's messages
    keep = None if full else max_terms
    _check_printed(out_features, in_features, keep, full)
    rows, cols = (
        shown_indices(out_features, index_base, keep),
        shown_indices(in_features, index_base, keep),
    )

    n = Notation(in_features, out_features, layer, index_base)
    js = (j, index_base, index_base + in_features - 1)
    scalar = tuple(
        Equation(
            index=row,
            lhs=n.z(row),
            rhs=_row_value(n, row, cols, bias, js),
            shown=_row_as_written(n, row, cols, bias),
            notation=n,
        )
        for row in rows
        if row is not None
    )
    return Expansion(
        in_features=in_features,
        out_features=out_features,
        bias=bias,
        layer=layer,
        index_base=index_base,
        elided=None in rows or None in cols,
        scalar=scalar,
        hidden_rows=hidden_count(rows),
        hidden_terms=hidden_count(cols),
        scalar_block=block(n, scalar, rows, cols, in_features, out_features),
        compact=_compact_form(n, out_features, bias, js),
        matrix=_matrix_form(n, rows, cols, bias, in_features, out_features),
        pytorch=_pytorch_form(n, rows, cols, bias, in_features, out_features, input_shape),
        notes=(_index_note(index_base),),
    )


def block(
    n: Notation,
    lines: Sequence[_Row],
    rows: list,
    cols: list,
    in_: int,
    out: int,
    name_of: Callable[[int], sympy.Basic] | None = None,
) -> Form:
    """The shown rows, one per line, ``=`` aligned, ⋮ where rows are hidden, and what is hidden.

    ``name_of(k)`` names row k in the note on hidden rows (default: the output z_k).
    """
    by_index = {line.index: line for line in lines}
    name_of = name_of or n.z

    def draw(style: Style) -> str:
        lhs, rhs = {}, {}
        for k, line in by_index.items():
            lhs[k], rhs[k] = line.sides(style)
        if style == "latex":
            return aligned([r"\vdots" if r is None else f"{lhs[r]} &= {rhs[r]}" for r in rows])
        width = max(map(len, lhs.values()))
        gap = _GAPS[style][1]
        text = [gap.rjust(width) if r is None else f"{lhs[r]:>{width}} = {rhs[r]}" for r in rows]
        hidden = []
        if hidden_count(cols):
            hidden.append(
                f"{hidden_count(cols):,} of the {in_:,} terms of each row ({_GAPS[style][0]})"
            )
        if hidden_count(rows):
            first, last = rows[rows.index(None) - 1] + 1, rows[-1] - 1
            span = n.render(name_of(first), style)
            if last > first:
                span += f" {WORDS[style]['dots']} {n.render(name_of(last), style)}"
            hidden.append(f"{hidden_count(rows):,} of the {out:,} rows ({span})")
        if hidden:
            text.append(f"(hidden: {'; '.join(hidden)})")
        return "\n".join(text)

    return Form(tuple(sympy.Eq(line.lhs, line.shown, evaluate=False) for line in lines), draw)


def _compact_form(n: Notation, out: int, bias: bool, js: tuple) -> Form:
    """z_i = Σ_j w_ij x_j + b_i, for i over every output."""
    sum_ = written(_sigma(n, i, js), *([n.b(i)] if bias else []))
    equation = sympy.Eq(n.z(i), sum_, evaluate=False)
    first, last = n.index_base, n.index_base + out - 1

    def draw(style: Style) -> str:
        every_i = f"i = {first}" if out == 1 else f"i = {first}, {WORDS[style]['dots']}, {last}"
        if style == "latex":
            return rf"{n.render(equation, style)}, \quad {every_i}"
        return f"{n.render(equation, style)}   for {every_i}"

    return Form((equation,), draw)


def _matrix_form(n: Notation, rows: list, cols: list, bias: bool, in_: int, out: int) -> Form:
    """Z = W X + B with columns Z, X, B and the out x in matrix W, then each written out."""
    Z, W = n.matrix("Z", out, 1), n.matrix("W", out, in_)
    X, B = n.matrix("X", in_, 1, layered=False), n.matrix("B", out, 1)
    short = sympy.Eq(Z, written(W * X, *([B] if bias else [])), evaluate=False)
    product = sympy.MatMul(_grid(rows, cols, n.w), _column(cols, n.x), evaluate=False)
    long = sympy.Eq(
        _column(rows, n.z),
        written(product, *([_column(rows, n.b)] if bias else [])),
        evaluate=False,
    )

    def draw(style: Style) -> str:
        if style == "latex":
            return aligned([latex_line(n, short), latex_line(n, long)])
        times = WORDS[style]["times"]
        shapes = f"Z, X{', B' if bias else ''}: columns; W: out {times} in = {out} {times} {in_}"
        return f"{n.render(short, style)}   ({shapes})\n{n.render(long, style)}"

    return Form((short, long), draw)


def _pytorch_form(
    n: Notation,
    rows: list,
    cols: list,
    bias: bool,
    in_: int,
    out: int,
    input_shape: tuple[int | str, ...] | None,
) -> Form:
    """y = x Aᵀ + b for x a row (one sample), Aᵀ written out, and the shapes of a batch."""
    y, x = n.matrix("y", 1, out, layered=False), n.matrix("x", 1, in_, layered=False)
    A, b = n.matrix("A", out, in_, layered=False), n.matrix("b", 1, out, layered=False)
    W = n.matrix("W", out, in_)
    short = sympy.Eq(y, written(x * A.T, *([b] if bias else [])), evaluate=False)
    # Aᵀ is in x out: row j, column i holds w_ij.
    transposed = sympy.Eq(A.T, _grid(cols, rows, lambda c, r: n.w(r, c)), evaluate=False)

    def draw(style: Style) -> str:
        words = WORDS[style]
        times, dot, T = words["times"], words["dot"], words["T"]
        batch = _batch_rows(input_shape, style)
        shapes = (
            f"({batch} {times} {in_}){dot}({in_} {times} {out})",
            f"({batch} {times} {out})",
        )
        x_to_y = (f"x {_dims(input_shape, in_, style)}", f"y {_dims(input_shape, out, style)}")
        if style == "latex":
            return aligned(
                [
                    latex_line(n, short),
                    latex_line(n, transposed),
                    f"{shapes[0]} &= {shapes[1]}",
                    rf"{x_to_y[0]} &\to {x_to_y[1]}",
                ]
            )
        lines = [
            n.render(short, style),
            n.render(transposed, style),
            f"A = layer.weight is out {times} in = {out} {times} {in_}, the same matrix as "
            f"{n.render(W, style)}; A{T} is in {times} out",
            f"b = layer.bias has shape ({out},)" if bias else "no bias: b is left out",
            f"Why A{T}: x holds one sample per row, so x{dot}A{T} is "
            f"(rows {times} in){dot}(in {times} out) = (rows {times} out):",
            f"  {shapes[0]} = {shapes[1]}",
            f"  {x_to_y[0]} {words['to']} {x_to_y[1]}: only the last dim changes",
            _index_note(n.index_base),
        ]
        return "\n".join(lines)

    return Form((short, transposed), draw)


def latex_line(n: Notation, equation: sympy.Eq) -> str:
    """``lhs &= rhs`` for an aligned block."""
    return f"{n.render(equation.lhs, 'latex')} &= {n.render(equation.rhs, 'latex')}"


def aligned(lines: list[str]) -> str:
    """LaTeX lines as one math expression."""
    if len(lines) == 1:
        return lines[0].replace("&", "")
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def _dim(d: int | str, style: Style) -> str:
    """One dimension: a number or a name (``\\text{batch}`` in LaTeX)."""
    if style == "latex" and isinstance(d, str) and len(d) > 1:
        return r"\text{" + d.replace("_", r"\_") + "}"  # _ is a subscript in maths mode
    return str(d)


def _dims(input_shape: tuple[int | str, ...] | None, last: int, style: Style) -> str:
    """The input shape with its last dim set to ``last``: ``(N, C, 3)``, or ``(*, 3)``."""
    leading = ("*",) if input_shape is None else input_shape[:-1]
    inner = ", ".join([*(_dim(d, style) for d in leading), str(last)])
    return f"({inner},)" if not leading else f"({inner})"


def _batch_rows(input_shape: tuple[int | str, ...] | None, style: Style) -> str:
    """How many sample rows an input holds: the product of its leading dims (``N⋅C``, ``10``)."""
    if input_shape is None:
        return _dim("batch", style)
    leading = input_shape[:-1]
    if all(isinstance(d, int) for d in leading):
        return str(math.prod(leading))
    return WORDS[style]["dot"].join(_dim(d, style) for d in leading)


def _index_note(index_base: int) -> str:
    """How w_{i,j} maps to layer.weight."""
    if index_base == 0:
        return "indices are 0-based: w_{i,j} is layer.weight[i, j]"
    return "indices are 1-based (math style): w_{i,j} is layer.weight[i-1, j-1]"


# --- numbers ---------------------------------------------------------------------------------


def expand_numbers(
    weight: np.ndarray,
    bias: np.ndarray | None,
    x: np.ndarray,
    *,
    y: np.ndarray | None = None,
    layer: int | None = None,
    index_base: int = 1,
    max_terms: int = DEFAULT_MAX_TERMS,
    full: bool = False,
    precision: int = 4,
) -> NumericExpansion:
    """The scalar rows with the layer's numbers put in, elided as ``expand`` elides them.

    ``weight`` is out x in (``layer.weight``), ``bias`` (out,) or None, ``x`` one sample (in,);
    ``y`` (out,) is the layer's own output (e.g. PyTorch's), else weight @ x + bias in float64.
    Numbers are printed with ``precision`` significant digits.
    """
    import numpy as np

    weight, x = np.asarray(weight), np.asarray(x)
    bias = None if bias is None else np.asarray(bias)
    out, in_ = _check_arrays(weight, bias, x)
    layer, index_base, max_terms = check_options(layer, index_base, max_terms)
    precision = as_int(precision, "precision")
    if precision < 1:
        raise LinexplainError(f"precision must be at least 1 (got {precision})", "use 4")
    if y is not None and np.shape(y) != (out,):
        raise LinexplainError(
            f"y has shape {np.shape(y)}, expected ({out},)", "pass the layer's output for x"
        )
    keep = None if full else max_terms
    _check_printed(out, in_, keep, full)
    rows, cols = shown_indices(out, index_base, keep), shown_indices(in_, index_base, keep)

    n = Notation(in_, out, layer, index_base)
    numeric = tuple(
        NumericRow(
            index=row,
            lhs=n.z(row),
            shown=_row_as_written(n, row, cols, bias is not None),
            values=_values(n, row, cols, weight, bias, x),
            value=_output(row - index_base, weight, bias, x)
            if y is None
            else float(y[row - index_base]),
            precision=precision,
            notation=n,
        )
        for row in rows
        if row is not None
    )
    return NumericExpansion(
        rows=numeric,
        hidden_rows=hidden_count(rows),
        hidden_terms=hidden_count(cols),
        block=block(n, numeric, rows, cols, in_, out),
    )


def _output(k: int, weight: np.ndarray, bias: np.ndarray | None, x: np.ndarray) -> float:
    """Output k, w_k · x + b_k, in float64 (only for the rows shown: big layers stay cheap)."""
    total = weight[k].astype("float64") @ x.astype("float64")
    return float(total + (0.0 if bias is None else bias[k]))


def _values(
    n: Notation, row: int, cols: list, weight: np.ndarray, bias: np.ndarray | None, x: np.ndarray
) -> dict[sympy.Symbol, float]:
    """The number of every symbol row ``row`` shows: its w_ij and x_j, and its b_i."""
    base = n.index_base
    values = {}
    for c in cols:
        if c is not None:
            values[n.w(row, c)] = float(weight[row - base, c - base])
            values[n.x(c)] = float(x[c - base])
    if bias is not None:
        values[n.b(row)] = float(bias[row - base])
    return values


def _number(v: float, precision: int, style: Style, *, term: bool = False) -> str:
    """``v`` to ``precision`` significant digits; in a term, a negative one in parentheses."""
    s = f"{v:.{precision}g}"
    if style == "latex" and not math.isfinite(v):  # "inf" in maths mode reads as i·n·f
        s = {"inf": r"\infty", "-inf": r"-\infty", "nan": r"\text{NaN}"}[s]
    elif "e" in s and style != "ascii":
        mantissa, exponent = s.split("e")
        power = str(int(exponent))
        power = f"10^{{{power}}}" if style == "latex" else "10" + power.translate(_SUPERSCRIPT)
        s = f"{mantissa} {WORDS[style]['times']} {power}"
    if style == "text" and s.startswith("-"):
        s = "\N{MINUS SIGN}" + s[1:]
    return f"({s})" if term and s[0] in "-\N{MINUS SIGN}" else s  # -0.0 too: it prints as −0


# --- input checks ----------------------------------------------------------------------------


def check_size(name: str, value: int) -> int:
    """A layer size to write out, as a Python int: 1 to 2**63-1."""
    value = as_int(value, name)
    if value < 1:
        raise LinexplainError(
            f"{name} must be at least 1 (got {value}): a layer with no "
            f"{'inputs' if name == 'in_features' else 'outputs'} has no sums to write out",
            "PyTorch accepts size 0, but then every output is just its bias (or nothing)",
        )
    if value > MAX_SIZE:
        raise LinexplainError(f"{name} {value} is out of range", "use a size up to 2**63-1")
    return value


def check_options(
    layer: int | None, index_base: int, max_terms: int
) -> tuple[int | None, int, int]:
    """The layer number, index base and max terms, checked, as Python ints."""
    index_base = as_int(index_base, "index base")
    if index_base not in (0, 1):
        raise LinexplainError(
            f"index base must be 1 or 0 (got {index_base})",
            "1 is math style (w_11 is the first weight); 0 matches layer.weight[0, 0]",
        )
    layer = None if layer is None else as_int(layer, "layer")
    if layer is not None and layer < 0:
        raise LinexplainError(
            f"layer must be a whole number >= 0 (got {layer})",
            "it is the (l) superscript, e.g. 2 for z^(2)",
        )
    max_terms = as_int(max_terms, "max terms")
    if max_terms < 2:
        raise LinexplainError(
            f"max terms must be at least 2 (got {max_terms}): a shortened sum shows its first "
            "terms, ⋯, and its last term, which takes room for two",
            f"the default is {DEFAULT_MAX_TERMS}",
        )
    return layer, index_base, max_terms


def _check_printed(out: int, in_: int, keep: int | None, full: bool) -> None:
    """Refuse, before building anything, to write out more than FULL_LIMIT weights."""
    shown_rows, shown_cols = (n if keep is None else min(n, keep) for n in (out, in_))
    if shown_rows * shown_cols > FULL_LIMIT:
        raise LinexplainError(
            f"writing out {shown_rows:,} x {shown_cols:,} = {shown_rows * shown_cols:,} weights is "
            f"too much: linexplain writes out at most {FULL_LIMIT:,} (a 64 x 64 layer)",
            "drop --full: big layers show their corners"
            if full
            else "lower --max-terms: it is how many terms, rows and columns are shown",
        )


def _check_arrays(weight: np.ndarray, bias: np.ndarray | None, x: np.ndarray) -> tuple[int, int]:
    if weight.ndim != 2 or 0 in weight.shape:
        raise LinexplainError(
            f"weight has shape {weight.shape}", "layer.weight is out_features x in_features"
        )
    out, in_ = weight.shape
    if bias is not None and bias.shape != (out,):
        raise LinexplainError(
            f"bias has shape {bias.shape}, expected ({out},)", "layer.bias is (out_features,)"
        )
    if x.shape != (in_,):
        raise LinexplainError(
            f"x has shape {x.shape}, expected ({in_},)", "x is one sample of in_features"
        )
    return out, in_
