"""A Linear layer's equations as sympy expressions, in the post's notation (no text, no printers).

For a layer with inputs x_j and outputs z_i (the layer number l, when given, is a superscript),
w_ij joins input j to output i, and the layer is written three ways:

1. scalar:  z_i = w_i1 x_1 + w_i2 x_2 + ... + b_i, one row per output (the post's equation (1)),
   and the compact z_i = Σ_j w_ij x_j + b_i;
2. matrix:  Z = W X + B with Z, X, B columns (one sample) and W the out × in matrix (equation (2));
3. PyTorch: y = x Wᵀ + b with x a row of samples, W = layer.weight (PyTorch's docs call it A).

The backward pass is written the same way (:func:`grad_forms`). Elision: an axis longer than
``view.max_terms`` shows its first max_terms - 1 entries, a gap and its last entry
(``linexplain.elide``); only shown entries are built, so a 4096 × 4096 layer costs what an 8 × 8
one does. Symbols have plain ASCII names (``w_1_2``, ``x_2``), so ``str()`` of an expression is the
JSON syntax; :class:`Notation` records how each symbol is made, and each printer in
``linexplain.output`` writes it its own way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import sympy

from .elide import FULL_LIMIT, check_shown, hidden_count, shown_count, shown_indices
from .errors import LinexplainError
from .grammar import MAX_SIZE, as_int, check_bool, show_value
from .view import DEFAULT_VIEW, View

i, j = sympy.symbols("i j", integer=True)
"""The output and input index of the compact form."""

CDOTS, VDOTS, DDOTS = sympy.symbols("cdots vdots ddots")
"""Placeholders for what an elided expansion leaves out: terms or columns, rows, both."""

Index: TypeAlias = "int | sympy.Symbol"
Axis: TypeAlias = list[int | None]


@dataclass(frozen=True)
class Part:
    """How a symbol is made: a letter, its subscripts, and whether it carries the (l)."""

    letter: str
    indices: tuple[str, ...]
    layered: bool
    layer: int | None = None  # its own layer number, when not the notation's (a^(l-1))


class Notation:
    """The symbols of one layer and how each is made; printers name them from this."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        view: View,
        samples: int = 1,
        input_layer: int | None = None,
    ):
        self.layer = view.layer
        # In a network, the inputs of layer l are the activations a^(l-1); alone, they are x.
        self.input_layer = input_layer
        self.index_base = view.index_base
        # w_{1,12} rather than w_{112} once an index can have two digits
        self.comma = max(in_features, out_features, samples) >= 10
        self.parts: dict[sympy.Basic, Part] = {}
        self.partials: dict[sympy.Basic, sympy.Basic] = {}  # ∂L/∂target -> target
        for index in (i, j):
            self.parts[index] = Part(index.name, (), False)

    def w(self, row: Index, col: Index) -> sympy.Symbol:
        """The weight joining input ``col`` to output ``row``."""
        return self.symbol("w", row, col)

    def x(self, col: Index) -> sympy.Symbol:
        """An input: x_j, or a_j^(l-1) in a network (the previous layer's activation)."""
        s = self.symbol("x", col, layered=False)  # named x either way: w_ij x_j keeps its order
        if self.input_layer is not None:
            self.parts[s] = Part("a", (str(col),), True, self.input_layer)
        return s

    def b(self, row: Index) -> sympy.Symbol:
        """The bias of an output."""
        return self.symbol("b", row)

    def z(self, row: Index) -> sympy.Symbol:
        """An output."""
        return self.symbol("z", row)

    def symbol(self, letter: str, *indices: Index, layered: bool = True) -> sympy.Symbol:
        """The scalar ``letter_indices`` (e.g. ``w_1_2``)."""
        s = sympy.Symbol("_".join([letter, *map(str, indices)]))
        self.parts.setdefault(s, Part(letter, tuple(map(str, indices)), layered))
        return s

    def matrix(
        self, letter: str, rows: int, cols: int, *, layered: bool = True, name: str = ""
    ) -> sympy.MatrixSymbol:
        """A rows x cols matrix symbol (``W``, ``X``, ...); ``name`` tells apart two matrices
        written with the same letter."""
        m = sympy.MatrixSymbol(name or letter, rows, cols)
        self.parts[m] = Part(letter, (), layered)
        return m

    def partial(self, target: sympy.Symbol) -> sympy.Symbol:
        """The symbol ∂L/∂target (``dL_dw_1_2``)."""
        s = sympy.Symbol(f"dL_d{target.name}")
        self.partials[s] = target
        return s


@dataclass(frozen=True)
class Row:
    """One line written out: ``lhs = shown``; ``rhs`` is the same as maths (the full sum, or a
    compact Sum when terms are hidden: for display, not ``.doit()``)."""

    index: int  # the row's index (an output's i, or a flat entry number)
    lhs: sympy.Basic
    rhs: sympy.Basic
    shown: sympy.Basic


@dataclass(frozen=True)
class Block:
    """Rows shown along an axis with a gap where some are hidden, and what the gap hides."""

    rows: tuple[Row, ...]
    axis: Axis  # the indices shown, None for the gap
    terms: Axis  # the terms shown in each row, None for the gap
    row_count: int  # rows in all
    term_count: int  # terms of each row in all
    name_of: Callable[[int], sympy.Basic]  # names a hidden row by its index

    @property
    def hidden_rows(self) -> int:
        return hidden_count(self.axis)

    @property
    def hidden_terms(self) -> int:
        return hidden_count(self.terms)

    def hidden_span(self) -> tuple[sympy.Basic, sympy.Basic] | None:
        """The first and last hidden row's names (None when no row is hidden)."""
        if not self.hidden_rows:
            return None
        gap = self.axis.index(None)
        first, last = self.axis[gap - 1], self.axis[gap + 1]
        assert first is not None and last is not None
        return self.name_of(first + 1), self.name_of(last - 1)


@dataclass(frozen=True)
class Expansion:
    """A layer's outputs written out in the scalar, matrix and PyTorch forms."""

    in_features: int
    out_features: int
    bias: bool
    view: View
    notation: Notation
    scalar: Block  # z_i = w_i1 x_1 + ... + b_i, the rows shown
    compact: sympy.Eq  # z_i = Σ_j w_ij x_j + b_i
    matrix: sympy.Eq  # Z = W X + B
    matrix_long: sympy.Eq  # Z, W, X, B written out
    pytorch: sympy.Eq  # y = x Wᵀ + b
    transposed: sympy.Eq  # Wᵀ written out

    @property
    def elided(self) -> bool:
        return bool(self.scalar.hidden_rows or self.scalar.hidden_terms)


def written(*terms: Any) -> Any:
    """The sum of ``terms``, kept unevaluated so it prints in the order written."""
    if len(terms) == 1:
        return terms[0]
    matrices = isinstance(terms[0], (sympy.MatrixBase, sympy.MatrixExpr))
    return (sympy.MatAdd if matrices else sympy.Add)(*terms, evaluate=False)


def _row_as_written(n: Notation, row: int, cols: Axis, bias: bool) -> sympy.Basic:
    """z_row's sum as written: w_row1 x_1 + w_row2 x_2 + ... + b_row, ⋯ for hidden terms."""
    terms = [CDOTS if col is None else n.w(row, col) * n.x(col) for col in cols]
    return written(*terms, *([n.b(row)] if bias else []))


def _sigma(n: Notation, row: Index, js: tuple[Any, ...]) -> sympy.Sum:
    """Σ_j w_row,j x_j (sympy reads ``w_1_j`` as one symbol: for display, not ``.doit()``)."""
    return sympy.Sum(n.w(row, j) * n.x(j), js)


def _row_value(n: Notation, row: int, cols: Axis, bias: bool, js: tuple[Any, ...]) -> sympy.Expr:
    """z_row as sympy maths: every term, or Σ_j w_row,j x_j + b_row when some are hidden."""
    products = [_sigma(n, row, js)] if None in cols else [n.w(row, c) * n.x(c) for c in cols]
    return sympy.Add(*products, *([n.b(row)] if bias else []))


def _grid(rows: Axis, cols: Axis, entry: Callable[[int, int], Any]) -> sympy.ImmutableMatrix:
    """The matrix of the shown entries ``entry(r, c)``, with ⋮ ⋯ ⋱ where some are hidden."""

    def cell(r: int | None, c: int | None) -> Any:
        if r is None:
            return DDOTS if c is None else VDOTS
        return CDOTS if c is None else entry(r, c)

    return sympy.ImmutableMatrix([[cell(r, c) for c in cols] for r in rows])


def _column(indices: Axis, entry: Callable[[int], Any]) -> sympy.ImmutableMatrix:
    """The column of the shown entries ``entry(k)``, ⋮ where some are hidden."""
    return _grid(indices, [0], lambda k, _: entry(k))


def expand(
    in_features: int,
    out_features: int,
    bias: bool = True,
    view: View = DEFAULT_VIEW,
    input_layer: int | None = None,
) -> Expansion:
    """Every output of ``nn.Linear(in_features, out_features, bias)`` written out; in a
    network, its inputs are the activations a^(input_layer) of the layer before.

    Raises LinexplainError for bad sizes, or when more than FULL_LIMIT weights would be shown.
    """
    in_features = check_size("in_features", in_features)
    out_features = check_size("out_features", out_features)
    bias, view = check_bool(bias, "bias"), _check_view(view)
    base, keep = view.index_base, view.keep
    check_shown(out_features, in_features, view.keep, view.full)
    rows, cols = shown_indices(out_features, base, keep), shown_indices(in_features, base, keep)
    n = Notation(in_features, out_features, view, input_layer=input_layer)
    js = (j, base, base + in_features - 1)
    scalar = tuple(
        Row(row, n.z(row), _row_value(n, row, cols, bias, js), _row_as_written(n, row, cols, bias))
        for row in rows
        if row is not None
    )
    compact = sympy.Eq(n.z(i), written(_sigma(n, i, js), *([n.b(i)] if bias else [])))
    Z, W = n.matrix("Z", out_features, 1), n.matrix("W", out_features, in_features)
    X, B = n.matrix("X", in_features, 1, layered=False), n.matrix("B", out_features, 1)
    if input_layer is not None:  # A^(l-1): the activations of the layer before
        X = n.matrix("A", in_features, 1, name="A_in")
        n.parts[X] = Part("A", (), True, input_layer)
    product = sympy.MatMul(_grid(rows, cols, n.w), _column(cols, n.x), evaluate=False)
    y, x = (
        n.matrix("y", 1, out_features, layered=False),
        n.matrix("x", 1, in_features, layered=False),
    )
    b = n.matrix("b", 1, out_features, layered=False)
    # layer.weight in PyTorch's form: W itself, written without the layer number like x, y, b
    A = n.matrix("W", out_features, in_features, layered=False, name="layer_weight")
    return Expansion(
        in_features=in_features,
        out_features=out_features,
        bias=bias,
        view=view,
        notation=n,
        scalar=Block(scalar, rows, cols, out_features, in_features, n.z),
        compact=sympy.Eq(compact.lhs, compact.rhs, evaluate=False),
        matrix=sympy.Eq(Z, written(W * X, *([B] if bias else [])), evaluate=False),
        matrix_long=sympy.Eq(
            _column(rows, n.z),
            written(product, *([_column(rows, n.b)] if bias else [])),
            evaluate=False,
        ),
        pytorch=sympy.Eq(y, written(x * A.T, *([b] if bias else [])), evaluate=False),
        # Wᵀ is in × out: row j, column i holds w_ij.
        transposed=sympy.Eq(A.T, _grid(cols, rows, lambda c, r: n.w(r, c)), evaluate=False),
    )


# --- numbers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumericRow:
    """One output with the layer's numbers put in: z_i = w_i1⋅x_1 + ... + b_i = value."""

    index: int  # the output's index i, in the index base
    lhs: sympy.Symbol  # z_i
    shown: sympy.Basic  # the symbolic row as written (elided as ``expand`` elides it)
    values: dict[sympy.Basic, float]  # the number of every symbol in ``shown``
    value: float  # the output z_i


@dataclass(frozen=True)
class NumericExpansion:
    """The scalar rows with a layer's numbers put in."""

    notation: Notation
    rows: tuple[NumericRow, ...]
    block: Block

    @property
    def elided(self) -> bool:
        return bool(self.block.hidden_rows or self.block.hidden_terms)


def expand_numbers(
    weight: Any,
    bias: Any,
    x: Any,
    *,
    y: Any = None,
    view: View = DEFAULT_VIEW,
    input_layer: int | None = None,
) -> NumericExpansion:
    """The scalar rows with the layer's numbers put in, elided as ``expand`` elides them.

    ``weight`` is out x in (``layer.weight``), ``bias`` (out,) or None, ``x`` one sample (in,);
    ``y`` (out,) is the layer's own output, else weight @ x + bias in float64.
    """
    from .torch_rng import as_numbers

    weight, x = as_numbers(weight, "weight"), as_numbers(x, "x")
    bias = None if bias is None else as_numbers(bias, "bias")
    y = None if y is None else as_numbers(y, "y", finite=False)  # an output may overflow
    view = _check_view(view)
    out, in_ = _check_arrays(weight, bias, x)
    if y is not None and y.shape != (out,):
        raise LinexplainError(
            f"y has shape {y.shape}, expected ({out},)", "pass the layer's output for x"
        )
    check_shown(out, in_, view.keep, view.full)
    base, keep = view.index_base, view.keep
    rows, cols = shown_indices(out, base, keep), shown_indices(in_, base, keep)
    n = Notation(in_, out, view, input_layer=input_layer)

    def values(row: int) -> dict[sympy.Basic, float]:
        found = {}
        for c in cols:
            if c is not None:
                found[n.w(row, c)] = float(weight[row - base, c - base])
                found[n.x(c)] = float(x[c - base])
        if bias is not None:
            found[n.b(row)] = float(bias[row - base])
        return found

    def output(row: int) -> float:
        if y is not None:
            return float(y[row - base])
        total = weight[row - base].astype("float64") @ x.astype("float64")
        return float(total + (0.0 if bias is None else bias[row - base]))

    numeric = tuple(
        NumericRow(
            row, n.z(row), _row_as_written(n, row, cols, bias is not None), values(row), output(row)
        )
        for row in rows
        if row is not None
    )
    block_rows = tuple(Row(r.index, r.lhs, r.shown, r.shown) for r in numeric)
    return NumericExpansion(n, numeric, Block(block_rows, rows, cols, out, in_, n.z))


# --- the backward pass -----------------------------------------------------------------------


@dataclass(frozen=True)
class GradForms:
    """∂L/∂w_ij, ∂L/∂b_i and ∂L/∂x_sj as sums over the ``samples`` rows (s) of one layer.

    ``compact`` holds the three formulas for general indices with their free indices; the
    blocks write out the entries (taken row-major), elided as ``expand`` elides.
    """

    in_features: int
    out_features: int
    samples: int
    bias: bool
    view: View
    notation: Notation
    compact: tuple[tuple[sympy.Eq, str], ...]  # (formula, its free indices, e.g. "ij")
    sizes: dict[str, int]  # the range of each free index
    grad_weight: Block
    grad_bias: Block | None
    grad_input: Block

    @property
    def elided(self) -> bool:
        blocks = [self.grad_weight, self.grad_input, *([self.grad_bias] if self.grad_bias else [])]
        return any(b.hidden_rows or b.hidden_terms for b in blocks)


def grad_forms(
    in_features: int,
    out_features: int,
    samples: int = 1,
    bias: bool = True,
    view: View = DEFAULT_VIEW,
) -> GradForms:
    """The gradient formulas of ``nn.Linear(in_features, out_features, bias)`` for ``samples``
    rows (the input's leading dims folded), written out and elided like ``expand``."""
    in_features = check_size("in_features", in_features)
    out_features = check_size("out_features", out_features)
    samples = as_int(samples, "samples")
    if samples < 1:
        raise LinexplainError(
            f"samples must be a whole number >= 1 (got {show_value(samples)})",
            "it is how many rows the input's leading dims fold into, e.g. 4 for shape (4, 3)",
        )
    if samples > MAX_SIZE:  # more rows than a tensor holds: its index arithmetic is torch's
        raise LinexplainError(
            f"samples {show_value(samples)} is out of range",
            "torch's tensors hold at most 2**63-1 rows: use a size up to 2**63-1",
        )
    bias, view = check_bool(bias, "bias"), _check_view(view)
    keep, base = view.keep, view.index_base
    _check_written(samples, in_features, out_features, view)
    n = Notation(in_features, out_features, view, samples)
    s = n.symbol("s", layered=False)

    def g(row: Index, out: Index) -> sympy.Symbol:
        return n.symbol("g", row, out)  # ∂L/∂y_si, carrying the layer's (l) like z

    def x(row: Index, col: Index) -> sympy.Symbol:
        return n.symbol("x", row, col, layered=False)  # sample s's feature j

    samples_, outs = shown_indices(samples, base, keep), shown_indices(out_features, base, keep)
    # Weight entries and input entries are listed row-major, by a 0-based flat index.
    w_entries = shown_indices(out_features * in_features, 0, keep)
    x_entries = shown_indices(samples * in_features, 0, keep)
    over_s = (s, base, base + samples - 1)
    over_i = (i, base, base + out_features - 1)

    def at(k: int) -> tuple[int, int]:
        """Flat entry k of an (any × in) array as (row, column) indices."""
        row, col = divmod(k, in_features)
        return row + base, col + base

    def d_w(k: int) -> sympy.Symbol:
        return n.partial(n.w(*at(k)))

    def d_x(k: int) -> sympy.Symbol:
        return n.partial(x(*at(k)))

    def d_b(row: int) -> sympy.Symbol:
        return n.partial(n.b(row))

    def weight_line(k: int) -> Row:  # ∂L/∂w_ij = Σ_s g_si x_sj
        r, c = at(k)
        return _line(k, d_w(k), lambda t: g(t, r) * x(t, c), samples_, over_s)

    def bias_line(row: int) -> Row:  # ∂L/∂b_i = Σ_s g_si
        return _line(row, d_b(row), lambda t: g(t, row), samples_, over_s)

    def input_line(k: int) -> Row:  # ∂L/∂x_sj = Σ_i g_si w_ij
        r, c = at(k)
        return _line(k, d_x(k), lambda t: g(r, t) * n.w(t, c), outs, over_i)

    def block(entries: Axis, line: Callable[[int], Row], terms: Axis, total: int, count: int,
              name_of: Callable[[int], sympy.Basic]) -> Block:  # fmt: skip
        rows = tuple(line(k) for k in entries if k is not None)
        return Block(rows, entries, terms, count, total, name_of)

    compact = [
        (sympy.Eq(n.partial(n.w(i, j)), sympy.Sum(g(s, i) * x(s, j), over_s)), "ij"),
        *([(sympy.Eq(n.partial(n.b(i)), sympy.Sum(g(s, i), over_s)), "i")] if bias else []),
        (sympy.Eq(n.partial(x(s, j)), sympy.Sum(g(s, i) * n.w(i, j), over_i)), "sj"),
    ]
    return GradForms(
        in_features=in_features,
        out_features=out_features,
        samples=samples,
        bias=bias,
        view=view,
        notation=n,
        compact=tuple(compact),
        sizes={"i": out_features, "j": in_features, "s": samples},
        grad_weight=block(
            w_entries, weight_line, samples_, samples, out_features * in_features, d_w
        ),
        grad_bias=block(outs, bias_line, samples_, samples, out_features, d_b) if bias else None,
        grad_input=block(x_entries, input_line, outs, out_features, samples * in_features, d_x),
    )


def _line(
    index: int,
    lhs: sympy.Symbol,
    term: Callable[[Any], sympy.Expr],
    axis: Axis,
    limits: tuple[sympy.Symbol, int, int],
) -> Row:
    """``lhs = Σ term(k)`` over ``axis``: as shown (⋯ for a gap), and as maths (the full sum,
    or a Sum over ``limits`` when terms are hidden)."""
    shown = [CDOTS if k is None else term(k) for k in axis]
    if None in axis:
        rhs = sympy.Sum(term(limits[0]), limits)
    else:
        rhs = sympy.Add(*(term(k) for k in axis if k is not None))
    return Row(index, lhs, rhs, written(*shown))


# --- input checks ----------------------------------------------------------------------------


def check_size(name: str, value: int) -> int:
    """A layer size to write out, as a Python int: 1 to 2**63-1."""
    value = as_int(value, name)
    if value < 1:
        raise LinexplainError(
            f"{name} must be at least 1 (got {show_value(value)}): a layer with no "
            f"{'inputs' if name == 'in_features' else 'outputs'} has no sums to write out",
            "PyTorch accepts size 0, but then every output is just its bias (or nothing)",
        )
    if value > MAX_SIZE:
        raise LinexplainError(
            f"{name} {show_value(value)} is out of range", "use a size up to 2**63-1"
        )
    return value


def _check_written(samples: int, in_: int, out: int, view: View) -> None:
    """Refuse, before building anything, to write out more than FULL_LIMIT terms in a block."""
    keep = view.keep
    terms = max(
        shown_count(out * in_, keep) * shown_count(samples, keep),
        shown_count(samples * in_, keep) * shown_count(out, keep),
    )
    if terms > FULL_LIMIT:
        raise LinexplainError(
            f"writing out the gradients takes {terms:,} terms, over linexplain's limit of "
            f"{FULL_LIMIT:,}",
            "lower --max-terms: it is how many terms and lines are shown"
            if keep is not None
            else "drop --full: big layers show their first and last entries",
        )


def _check_view(view: object) -> View:
    """How to show the sums: a :class:`~linexplain.view.View`."""
    if not isinstance(view, View):
        raise LinexplainError(
            f"view must be a View, got {type(view).__name__}", "e.g. View(index_base=0)"
        )
    return view


def _check_arrays(weight: Any, bias: Any, x: Any) -> tuple[int, int]:
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
    return int(out), int(in_)


__all__ = (
    "FULL_LIMIT",
    "Block",
    "Expansion",
    "GradForms",
    "Notation",
    "NumericExpansion",
    "Row",
    "expand",
    "expand_numbers",
    "grad_forms",
)
