"""The gradients of nn.Linear (``linexplain grad``): their shapes and costs, formulas and numbers.

For ``y = x Wᵀ + b`` and an upstream gradient ``G = ∂L/∂y`` of y's shape ``(*, out)``, fold the
leading dims into rows as the forward pass does (X is rows × in, G is rows × out); then

* ``∂L/∂W = Gᵀ X`` (out × in, W's shape): ∂L/∂w_ij = Σ_s g_si x_sj, summed over all rows s;
* ``∂L/∂b = Σ_s G[s]`` (out,): ∂L/∂b_i = Σ_s g_si;
* ``∂L/∂x = G W`` (rows × in, unfolded to x's shape): ∂L/∂x_sj = Σ_i g_si w_ij.

Each of the two products costs rows · in · out multiply-accumulates, so the backward pass costs
twice the forward's MACs (plus rows · out adds for the bias).

Three layers, like the rest of linexplain: :func:`grad_shapes` (pure Python, symbolic dims
work), :func:`grad_forms` (sympy, elided like ``expand``) and :func:`backward` (NumPy, the
numbers torch's autograd gives) with :func:`finite_difference_check`. Importing this module loads
neither NumPy nor sympy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .elide import shown_indices
from .errors import LinexplainError
from .grammar import Shape, as_int, format_shape
from .shapes import Product, ShapeReport, product_as_written

if TYPE_CHECKING:
    import numpy as np
    import sympy

    from .session import Forward
    from .symbolic import Equation, Form, Notation, Style

UpstreamSource = Literal["ones", "seed", "given"]
FD_ENTRIES = 32
"""How many entries of each gradient :func:`finite_difference_check` checks at most."""


# --- shapes and costs (pure Python) ----------------------------------------------------------


@dataclass(frozen=True)
class GradShapes:
    """The shapes of G = ∂L/∂y and of the three gradients, and what computing them costs."""

    report: ShapeReport  # the forward pass (``explain_shape``)

    @property
    def upstream_shape(self) -> Shape:
        """G = ∂L/∂y has y's shape ``(*, out)``."""
        return self.report.output_shape

    @property
    def grad_weight_shape(self) -> tuple[int, int]:
        """∂L/∂W = Gᵀ X is (out × rows)(rows × in) = out × in: W's shape."""
        return self.report.weight_shape

    @property
    def grad_bias_shape(self) -> tuple[int] | None:
        """∂L/∂b, G summed over rows, is (out,): b's shape (None without bias)."""
        return self.report.bias_shape

    @property
    def grad_input_shape(self) -> Shape:
        """∂L/∂x = G W is (rows × out)(out × in) = rows × in, unfolded to x's shape ``(*, in)``."""
        return self.report.input_shape

    @property
    def grad_weight_macs(self) -> Product:
        """Gᵀ X: rows · in · out multiply-accumulates."""
        return self.report.macs

    @property
    def grad_input_macs(self) -> Product:
        """G W: rows · in · out multiply-accumulates."""
        return self.report.macs

    @property
    def grad_bias_adds(self) -> Product:
        """Summing G's rows: rows · out adds (0 without bias)."""
        return self.report.bias_adds

    @property
    def backward_macs(self) -> Product:
        """Both products: 2 × the forward's MACs."""
        return self.grad_weight_macs + self.grad_input_macs

    def as_dict(self) -> dict[str, Any]:
        """JSON: the shapes (names kept) and the counts (ints, or sympy-style strings)."""
        r = self.report
        return {
            "upstream_shape": list(self.upstream_shape),
            "grad_weight_shape": list(self.grad_weight_shape),
            "grad_bias_shape": None if self.grad_bias_shape is None else list(self.grad_bias_shape),
            "grad_input_shape": list(self.grad_input_shape),
            "rows": r.rows.value(),
            "grad_weight_macs": self.grad_weight_macs.value(),
            "grad_input_macs": self.grad_input_macs.value(),
            "grad_bias_adds": self.grad_bias_adds.value(),
            "backward_macs": self.backward_macs.value(),
            "forward_macs": r.macs.value(),
        }

    def lines(self, style: Literal["text", "ascii"] = "text") -> list[str]:
        """The shapes walked through, one step a line: G, the folding, each gradient, the cost."""
        r = self.report
        uni = style == "text"
        x_, dot, T, d = ("×", "⋅", "ᵀ", "∂") if uni else ("x", "*", "^T", "d")
        rows = product_as_written(r.leading) if r.leading else "1"
        rows = rows.replace("*", dot)
        in_, out = r.in_features, r.out_features
        fold = (
            f"the leading dims {format_shape(r.input_shape[:-1])} fold into {rows} rows"
            if len(r.input_shape) > 2
            else "one row: a 1-D x is a single sample"
            if len(r.input_shape) == 1
            else f"{rows} rows"
        )
        lines = [
            f"G = {d}L/{d}y has y's shape {format_shape(self.upstream_shape)}; {fold}: "
            f"X is ({rows} {x_} {in_}), G is ({rows} {x_} {out})",
            f"{d}L/{d}W = G{T}{dot}X: ({out} {x_} {rows}){dot}({rows} {x_} {in_}) = "
            f"({out} {x_} {in_}), W's shape (layer.weight)   "
            f"{_count(self.grad_weight_macs, uni)} MACs",
        ]
        if self.grad_bias_shape is not None:
            lines.append(
                f"{d}L/{d}b = G summed over its {rows} rows: ({out},), b's shape (layer.bias)   "
                f"{_count(self.grad_bias_adds, uni)} adds"
            )
        lines += [
            f"{d}L/{d}x = G{dot}W: ({rows} {x_} {out}){dot}({out} {x_} {in_}) = ({rows} {x_} {in_})"
            f", unfolded to x's shape {format_shape(self.grad_input_shape)}   "
            f"{_count(self.grad_input_macs, uni)} MACs",
            f"backward: {_count(self.backward_macs, uni)} MACs = 2 {x_} the forward's "
            f"{_count(r.macs, uni)} MACs",
        ]
        return lines


def grad_shapes(report: ShapeReport) -> GradShapes:
    """The gradients' shapes and costs for the forward pass ``report`` (from explain_shape)."""
    return GradShapes(report)


def _count(p: Product, unicode: bool) -> str:
    """A count for people: ``1,024`` or ``6⋅C⋅N``."""
    return f"{p.coeff:,}" if p.is_int else str(p).replace("*", "⋅" if unicode else "*")


# --- formulas (sympy) ------------------------------------------------------------------------

_PARTIAL = {
    "text": ("∂L/∂", ""),
    "ascii": ("dL/d", ""),
    "latex": (r"\frac{\partial L}{\partial ", "}"),
}


@dataclass(frozen=True)
class GradForms:
    """∂L/∂w_ij, ∂L/∂b_i and ∂L/∂x_sj as sums, for ``samples`` rows (s) of one layer.

    ``compact`` has the three formulas for general indices (Σ over s or i). The blocks write out
    the entries: one line per entry, its terms over samples (weight, bias) or outputs (input).
    An axis longer than ``max_terms`` (the terms of a sum, or the entries, taken row-major) is
    elided as ``expand`` elides it: the first max_terms - 1, ⋯ or ⋮, the last.
    """

    in_features: int
    out_features: int
    samples: int  # rows s: the leading dims of x, folded
    bias: bool
    layer: int | None
    index_base: int
    elided: bool
    compact: Form  # ∂L/∂w_ij = Σ_s g_si x_sj, ∂L/∂b_i = Σ_s g_si, ∂L/∂x_sj = Σ_i g_si w_ij
    grad_weight: Form  # ∂L/∂w_ij written out over the samples
    grad_bias: Form | None  # ∂L/∂b_i written out over the samples (None without bias)
    grad_input: Form  # ∂L/∂x_sj written out over the outputs
    weight_rows: tuple[Equation, ...]  # the lines shown, as sympy: ``rhs`` is the full sum,
    bias_rows: tuple[Equation, ...]  # or a Sum over the hidden axis when it is elided
    input_rows: tuple[Equation, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON: each shown line's ``lhs`` and ``rhs`` as sympy's ``str()``, and the renderings."""

        def rows(lines: tuple[Equation, ...]) -> list[dict[str, str]]:
            return [{"lhs": str(e.lhs), "rhs": str(e.rhs), "latex": e.latex} for e in lines]

        forms = {"compact": self.compact, "grad_weight": self.grad_weight}
        forms |= {"grad_bias": self.grad_bias, "grad_input": self.grad_input}
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "samples": self.samples,
            "bias": self.bias,
            "layer": self.layer,
            "index_base": self.index_base,
            "elided": self.elided,
            "grad_weight_rows": rows(self.weight_rows),
            "grad_bias_rows": rows(self.bias_rows) if self.bias else None,
            "grad_input_rows": rows(self.input_rows),
            **{
                key: None if f is None else {"text": f.text, "latex": f.latex}
                for key, f in forms.items()
            },
        }


def grad_forms(
    in_features: int,
    out_features: int,
    samples: int = 1,
    *,
    bias: bool = True,
    layer: int | None = None,
    index_base: int = 1,
    max_terms: int = 8,
    full: bool = False,
) -> GradForms:
    """The gradient formulas of ``nn.Linear(in_features, out_features, bias)`` for ``samples``
    rows (the input's leading dims folded; a named dim needs a size first), written out.

    Elided like ``expand`` unless ``full``; raises LinexplainError for bad input, or when more
    than symbolic.FULL_LIMIT terms would be written out.
    """
    import sympy

    from . import symbolic as sy

    in_features = sy.check_size("in_features", in_features)
    out_features = sy.check_size("out_features", out_features)
    samples = as_int(samples, "samples")
    if samples < 1:
        raise LinexplainError(
            f"samples must be a whole number >= 1 (got {samples!r})",
            "it is how many rows the input's leading dims fold into, e.g. 4 for shape (4, 3)",
        )
    layer, index_base, max_terms = sy.check_options(layer, index_base, max_terms)
    keep = None if full else max_terms
    _check_written(samples, in_features, out_features, keep)

    n = sy.Notation(in_features, out_features, layer, index_base)
    n.comma = n.comma or samples >= 10  # g_{12,1} vs g_{1,21}: set before any name is made
    base = index_base
    s = n.symbol("s", layered=False)

    def g(row: Any, out: Any) -> sympy.Symbol:
        return n.symbol("g", row, out)  # ∂L/∂y_si, carrying the layer's (l) like z

    def x(row: Any, col: Any) -> sympy.Symbol:
        return n.symbol("x", row, col, layered=False)  # sample s's feature j

    def d(target: sympy.Symbol) -> sympy.Symbol:
        return _partial(n, target)

    samples_, outs = shown_indices(samples, base, keep), shown_indices(out_features, base, keep)
    # Weight entries and input entries are listed row-major, by a 0-based flat index.
    w_entries = shown_indices(out_features * in_features, 0, keep)
    x_entries = shown_indices(samples * in_features, 0, keep)
    over_s = (s, base, base + samples - 1)
    over_i = (sy.i, base, base + out_features - 1)

    def at(k: int) -> tuple[int, int]:
        """Flat entry k of an (any × in) array as (row, column) indices."""
        row, col = divmod(k, in_features)
        return row + base, col + base

    def d_w(k: int) -> sympy.Symbol:
        return d(n.w(*at(k)))

    def d_x(k: int) -> sympy.Symbol:
        return d(x(*at(k)))

    def d_b(i: int) -> sympy.Symbol:
        return d(n.b(i))

    def weight_line(k: int) -> Equation:  # ∂L/∂w_ij = Σ_s g_si x_sj
        i, j = at(k)
        return _line(n, k, d_w(k), lambda r: g(r, i) * x(r, j), samples_, over_s)

    def bias_line(i: int) -> Equation:  # ∂L/∂b_i = Σ_s g_si
        return _line(n, i, d_b(i), lambda r: g(r, i), samples_, over_s)

    def input_line(k: int) -> Equation:  # ∂L/∂x_sj = Σ_i g_si w_ij
        r, j = at(k)
        return _line(n, k, d_x(k), lambda i: g(r, i) * n.w(i, j), outs, over_i)

    weight_rows = tuple(weight_line(k) for k in w_entries if k is not None)
    bias_rows = tuple(bias_line(i) for i in outs if i is not None) if bias else ()
    input_rows = tuple(input_line(k) for k in x_entries if k is not None)
    compact = [
        (d(n.w(sy.i, sy.j)), sympy.Sum(g(s, sy.i) * x(s, sy.j), over_s), "ij"),
        *([(d(n.b(sy.i)), sympy.Sum(g(s, sy.i), over_s), "i")] if bias else []),
        (d(x(s, sy.j)), sympy.Sum(g(s, sy.i) * n.w(sy.i, sy.j), over_i), "sj"),
    ]
    return GradForms(
        in_features=in_features,
        out_features=out_features,
        samples=samples,
        bias=bias,
        layer=layer,
        index_base=index_base,
        elided=any(None in axis for axis in (samples_, outs, w_entries, x_entries)),
        compact=_compact(n, compact, {"i": out_features, "j": in_features, "s": samples}),
        grad_weight=sy.block(
            n, weight_rows, w_entries, samples_, samples, out_features * in_features, d_w
        ),
        grad_bias=sy.block(n, bias_rows, outs, samples_, samples, out_features, d_b)
        if bias
        else None,
        grad_input=sy.block(
            n, input_rows, x_entries, outs, out_features, samples * in_features, d_x
        ),
        weight_rows=weight_rows,
        bias_rows=bias_rows,
        input_rows=input_rows,
    )


def _partial(n: Notation, target: sympy.Symbol) -> sympy.Symbol:
    """The symbol ∂L/∂target (``dL_dw_1_2``), named in every style from target's names."""
    import sympy

    s = sympy.Symbol(f"dL_d{target.name}")
    if s not in n.names["text"]:
        for style, (before, after) in _PARTIAL.items():
            n.names[style][s] = before + n.names[style][target] + after
    return s


def _line(
    n: Notation,
    index: int,
    lhs: sympy.Symbol,
    term: Callable[[Any], sympy.Expr],
    axis: list[int | None],
    limits: tuple[sympy.Symbol, int, int],
) -> Equation:
    """``lhs = Σ term(k)`` over ``axis``: written as shown (⋯ for a gap), and as math (the full
    sum, or a Sum over ``limits`` when terms are hidden, for display, not ``.doit()``)."""
    import sympy

    from .symbolic import CDOTS, Equation, written

    shown = [CDOTS if k is None else term(k) for k in axis]
    if None in axis:
        rhs = sympy.Sum(term(limits[0]), limits)
    else:
        rhs = sympy.Add(*(term(k) for k in axis))
    return Equation(index=index, lhs=lhs, rhs=rhs, shown=written(*shown), notation=n)


def _compact(n: Notation, formulas: list[tuple], sizes: dict[str, int]) -> Form:
    """The formulas for general indices, each with the range of its free indices."""
    import sympy

    from .symbolic import WORDS, Form, aligned, latex_line

    equations = tuple(sympy.Eq(lhs, rhs, evaluate=False) for lhs, rhs, _ in formulas)
    first = n.index_base

    def every(k: str, style: Style) -> str:
        """``i = 1, …, 4``: the values of the free index k."""
        last = first + sizes[k] - 1
        return (
            f"{k} = {first}" if last == first else f"{k} = {first}, {WORDS[style]['dots']}, {last}"
        )

    def draw(style: Style) -> str:
        ranges = ["; ".join(every(k, style) for k in free) for _, _, free in formulas]
        if style == "latex":
            return aligned(
                [rf"{latex_line(n, e)}, \quad {r}" for e, r in zip(equations, ranges, strict=True)]
            )
        texts = [n.render(e, style) for e in equations]
        width = max(map(len, texts))
        return "\n".join(f"{t:<{width}}   for {r}" for t, r in zip(texts, ranges, strict=True))

    return Form(equations, draw)


def _check_written(samples: int, in_: int, out: int, keep: int | None) -> None:
    """Refuse, before building anything, to write out more than FULL_LIMIT terms in a block."""
    from .symbolic import FULL_LIMIT

    def shown(count: int) -> int:
        return count if keep is None else min(count, keep)

    terms = max(shown(out * in_) * shown(samples), shown(samples * in_) * shown(out))
    if terms > FULL_LIMIT:
        raise LinexplainError(
            f"writing out the gradients takes {terms:,} terms, over linexplain's limit of "
            f"{FULL_LIMIT:,}",
            "lower --max-terms: it is how many terms and lines are shown"
            if keep is not None
            else "drop --full: big layers show their first and last entries",
        )


# --- numbers (NumPy) -------------------------------------------------------------------------


@dataclass(frozen=True)
class Gradients:
    """∂L/∂W, ∂L/∂b and ∂L/∂x of one forward pass, for the upstream gradient G = ∂L/∂y."""

    run: Forward
    upstream: np.ndarray  # G: y's shape and dtype
    source: UpstreamSource  # ones (L = y.sum()), seed (torch.randn after x), or given
    grad_weight: np.ndarray  # (out, in), layer.weight.grad
    grad_bias: np.ndarray | None  # (out,), layer.bias.grad; None without bias
    grad_input: np.ndarray  # x's shape, x.grad

    @property
    def loss(self) -> float:
        """L = Σ G ⊙ y, in float64 (y.sum() when G is ones)."""
        return float((self.upstream.astype("float64") * self.run.y).sum())

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` contract: ``run``'s keys, then the upstream and the gradients."""
        return {
            **self.run.as_dict(),
            "upstream": self.upstream.tolist(),
            "upstream_source": self.source,
            "loss": self.loss,
            "grad_weight": self.grad_weight.tolist(),
            "grad_bias": None if self.grad_bias is None else self.grad_bias.tolist(),
            "grad_input": self.grad_input.tolist(),
            "torch": self.torch_snippet(),
        }

    def torch_snippet(self) -> str:
        """The PyTorch code that gives the same gradients: ``run``'s, then the backward pass."""
        from .session import tensor_literal

        run = self.run
        lines = run.torch_snippet().splitlines()
        at = lines.index("y = layer(x)")
        lines.insert(at, "x.requires_grad_()  # so that backward() fills x.grad")
        if self.source == "ones":
            lines.append("y.sum().backward()  # L = y.sum(), so G = dL/dy is all ones")
        else:
            if self.source == "seed":
                shape = ", ".join(map(str, self.upstream.shape))
                lines.append(f"g = torch.randn({shape})  # G = dL/dy: the generator's next draws")
            else:
                g = tensor_literal(self.upstream, "your upstream gradient")
                lines.append(f"g = {g}" + ("" if "#" in g else "  # G = dL/dy"))
            lines.append("y.backward(g)  # L = (g * y).sum()")
        out, in_ = self.grad_weight.shape
        x_shape = format_shape(tuple(run.x.shape))
        lines.append(f"print(layer.weight.grad)  # dL/dW = G^T X: ({out}, {in_}), like W")
        if self.grad_bias is not None:
            lines.append(f"print(layer.bias.grad)  # dL/db = G summed over rows: ({out},), like b")
        lines.append(f"print(x.grad)  # dL/dx = G W: {x_shape}, like x")
        return "\n".join(lines)


def seed_upstream(run: Forward) -> np.ndarray:
    """``torch.randn(*y.shape)`` drawn right after the run's input, on the same generator
    (after the input's draws, or the init's when the input was given). ``run`` is unchanged."""
    import copy

    if run.generator is None:
        raise LinexplainError(
            "this run has no random generator to draw the upstream gradient from",
            "make the run with linexplain.forward(...), or give the upstream gradient",
        )
    return copy.deepcopy(run.generator).randn(tuple(run.y.shape), run.dtype)


def backward(run: Forward, upstream: np.ndarray | Literal["ones", "seed"] = "ones") -> Gradients:
    """The gradients torch's autograd gives for ``y.backward(G)``, with NumPy.

    ``upstream`` is G = ∂L/∂y: ``"ones"`` (L = y.sum(), the default), ``"seed"`` (see
    :func:`seed_upstream`) or an array of y's shape, cast to the run's dtype as torch casts it.
    The leading dims are folded into rows as in the forward pass: two 2-D products and a sum.
    """
    import numpy as np

    g, source = _upstream(run, upstream)
    weight = run.layer.weight
    out, in_ = weight.shape
    rows = math.prod(run.x.shape[:-1])  # a 1-D input is one row
    g2, x2 = g.reshape(rows, out), run.x.reshape(rows, in_)
    return Gradients(
        run=run,
        upstream=g,
        source=source,
        grad_weight=np.ascontiguousarray(g2.T @ x2),
        grad_bias=None if run.layer.bias is None else g2.sum(axis=0),
        grad_input=(g2 @ weight).reshape(run.x.shape),
    )


def _upstream(run: Forward, upstream: Any) -> tuple[np.ndarray, UpstreamSource]:
    """G and where it came from; a given array is checked to have y's shape."""
    import numpy as np

    if isinstance(upstream, str):
        if upstream == "ones":
            return np.ones_like(run.y), "ones"
        if upstream == "seed":
            return seed_upstream(run), "seed"
        raise LinexplainError(
            f"unknown upstream gradient {upstream!r}",
            "use ones (L = y.sum()), seed (torch.randn after x), or give an array of y's shape",
        )
    g = np.asarray(upstream)
    y_shape = format_shape(tuple(run.y.shape))
    if g.dtype.kind not in "fiu":
        raise LinexplainError(
            f"the upstream gradient has dtype {g.dtype}, not a number type",
            f"give numbers: G = dL/dy is a {y_shape} array of floats",
        )
    if g.shape != run.y.shape:
        raise LinexplainError(
            f"the upstream gradient has shape {format_shape(g.shape)}, but y = layer(x) has "
            f"shape {y_shape}",
            f"G = dL/dy has y's shape: give a {y_shape} array",
        )
    return g.astype(run.y.dtype), "given"


def finite_difference_check(
    grads: Gradients, *, eps: float = 1e-3, max_entries: int = FD_ENTRIES, seed: int = 0
) -> float:
    """The largest error of ``grads`` against central finite differences.

    The error of an entry is |numeric − analytic| / max(1, |analytic|): absolute for gradients
    up to 1, relative above. In float64, for L = Σ G ⊙ y: each checked entry θ is nudged by
    ±eps·max(1, |θ|) and L evaluated again (only the outputs the entry feeds: a weight or bias
    entry of output i feeds y[:, i], an input row feeds y[s, :]; the rest of L does not change).
    L is linear in each entry, so any step gives the derivative up to rounding. At most
    ``max_entries`` entries per gradient are checked, drawn at random with ``seed``, so a check
    costs O(max_entries · (rows + out) · in).
    """
    import numpy as np

    if not (isinstance(eps, (int, float)) and 0 < eps < math.inf):
        raise LinexplainError(f"eps must be a positive number (got {eps!r})", "the default is 1e-3")
    max_entries = as_int(max_entries, "max_entries")
    if max_entries < 1:
        raise LinexplainError(
            f"max_entries must be a whole number >= 1 (got {max_entries!r})",
            f"the default is {FD_ENTRIES}",
        )
    run = grads.run
    f64 = np.float64
    weight = run.layer.weight.astype(f64)
    bias = None if run.layer.bias is None else run.layer.bias.astype(f64)
    out, in_ = weight.shape
    rows = math.prod(run.x.shape[:-1])
    x = run.x.reshape(rows, in_).astype(f64)
    g = grads.upstream.reshape(rows, out).astype(f64)
    b = np.zeros(out) if bias is None else bias
    rng = np.random.default_rng(seed)
    errors = [0.0]

    def check(numeric: np.ndarray, analytic: np.ndarray) -> None:
        if numeric.size:
            analytic = analytic.astype(f64)
            errors.append(float((np.abs(numeric - analytic) / np.maximum(1, abs(analytic))).max()))

    # ∂L/∂w_ij: L restricted to output column i is Σ_s g_si (x_s · w_i + b_i).
    i, j = _pick(rng, (out, in_), max_entries)
    check(
        _central(lambda w: (g[:, i] * (x @ w.T + b[i])).sum(axis=0), weight[i], j, eps),
        grads.grad_weight[i, j],
    )
    # ∂L/∂b_i: the same column, nudging b_i.
    if grads.grad_bias is not None:
        (i,) = _pick(rng, (out,), max_entries)
        column = x @ weight[i].T  # rows × picked
        check(
            _central(lambda c: (g[:, i] * (column + c[:, 0])).sum(axis=0), b[i, None], 0, eps),
            grads.grad_bias[i],
        )
    # ∂L/∂x_sj: L restricted to sample row s is Σ_i g_si (w_i · x_s + b_i).
    s, j = _pick(rng, (rows, in_), max_entries)
    check(
        _central(lambda xs: (g[s] * (xs @ weight.T + b)).sum(axis=1), x[s], j, eps),
        grads.grad_input.reshape(rows, in_)[s, j],
    )
    return float(np.max(errors))  # nan (a gradient that overflowed) is the largest error


def _pick(rng: np.random.Generator, shape: tuple[int, ...], most: int) -> tuple[np.ndarray, ...]:
    """The indices of up to ``most`` distinct entries of an array of ``shape``, at random."""
    import numpy as np

    size = math.prod(shape)
    flat = rng.choice(size, size=min(size, most), replace=False)
    return np.unravel_index(flat, shape)


def _central(
    loss: Callable[[np.ndarray], np.ndarray], at: np.ndarray, cols: Any, eps: float
) -> np.ndarray:
    """(loss(at + h·e) − loss(at − h·e)) / 2h for each row of ``at``, e the unit vector at that
    row's column in ``cols`` and h = eps·max(1, |entry|): one nudged entry per row, all rows in
    one product."""
    import numpy as np

    picked = np.arange(len(at)), cols
    h = eps * np.maximum(1, abs(at[picked]))  # a step that is not lost in a large entry
    step = np.zeros_like(at)
    step[picked] = h
    return (loss(at + step) - loss(at - step)) / (2 * h)


# --- the whole explanation ------------------------------------------------------------------


@dataclass(frozen=True)
class GradReport:
    """Everything ``linexplain grad`` shows: shapes and costs, formulas, numbers, the check."""

    grads: Gradients
    shapes: GradShapes
    forms: GradForms | None  # None when a size is 0: no sums to write out
    check_error: float | None  # the largest finite-difference error, when checked

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` contract of ``linexplain grad``."""
        data = self.grads.as_dict() | {"shapes": self.shapes.as_dict()}
        if self.check_error is not None:
            data["check_max_error"] = self.check_error
        return data


def explain_backward(
    run: Forward,
    upstream: np.ndarray | Literal["ones", "seed"] = "ones",
    *,
    check: bool = False,
    layer: int | None = None,
    index_base: int = 1,
    max_terms: int = 8,
) -> GradReport:
    """The backward pass of ``run`` for the upstream gradient ``upstream``, explained.

    Shapes and costs use the sizes the run used (so they agree with the numbers); the formulas
    are written for the run's rows, elided like ``expand``.
    """
    from .shapes import explain_shape

    grads = backward(run, upstream)
    layer_ = run.layer
    in_, out = layer_.in_features, layer_.out_features
    bias = layer_.bias is not None
    report = explain_shape(
        run.input_shape, out, in_, bias=bias, dtype=run.dtype, dims=dict(run.dims)
    )
    rows = math.prod(run.x.shape[:-1])
    forms = (
        grad_forms(
            in_, out, rows, bias=bias, layer=layer, index_base=index_base, max_terms=max_terms
        )
        if rows and in_ and out
        else None
    )
    error = finite_difference_check(grads) if check else None
    return GradReport(grads, grad_shapes(report), forms, error)
