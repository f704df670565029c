"""``linexplain.equations`` and how the writers print it: every output written out, checked
against the math it claims.

The JSON ``rhs`` strings are parsed back with sympy, with an explicit table of our own symbols
(this is our output, not user text), and compared with Σ_j w_ij x_j + b_i built here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.parsing.sympy_parser import parse_expr

from linexplain import lessons as explain
from linexplain.document import Eq, Math
from linexplain.equations import (
    FULL_LIMIT,
    Expansion,
    Notation,
    NumericExpansion,
    expand,
    expand_numbers,
)
from linexplain.errors import LinexplainError
from linexplain.lessons import block_math, expand_doc, expand_sections, expansion_data
from linexplain.output import render
from linexplain.output.json import resolve
from linexplain.output.latex import math_latex, row_latex
from linexplain.output.math import MathPrinter
from linexplain.output.text import math_lines
from linexplain.request import Request
from linexplain.view import View

sizes = st.integers(min_value=1, max_value=13)  # crosses 10, where indices get a comma
bases = st.sampled_from([0, 1])
layers = st.one_of(st.none(), st.integers(min_value=0, max_value=12))

POST_ROW = "z₁⁽²⁾ = w₁₁⁽²⁾⋅x₁ + w₁₂⁽²⁾⋅x₂ + w₁₃⁽²⁾⋅x₃ + b₁⁽²⁾"


def symbols_of(in_features: int, out_features: int, base: int) -> dict[str, sympy.Basic]:
    """The names our JSON may use, as sympy objects, for parse_expr's local_dict."""
    rows = [*range(base, base + out_features), "i"]
    cols = [*range(base, base + in_features), "j"]
    names = [f"w_{r}_{c}" for r in rows for c in cols]
    names += [f"x_{c}" for c in cols] + [f"b_{r}" for r in rows] + [f"z_{r}" for r in rows]
    table: dict[str, sympy.Basic] = {name: sympy.Symbol(name) for name in names}
    return table | {"Sum": sympy.Sum, "j": sympy.Symbol("j", integer=True)}


def row_sum(i: int, in_features: int, base: int, bias: bool) -> sympy.Expr:
    """Σ_j w_ij x_j + b_i, from the definition."""
    w = [sympy.Symbol(f"w_{i}_{j}") for j in range(base, base + in_features)]
    x = [sympy.Symbol(f"x_{j}") for j in range(base, base + in_features)]
    return sum((wj * xj for wj, xj in zip(w, x, strict=True)), sympy.Integer(0)) + (
        sympy.Symbol(f"b_{i}") if bias else 0
    )


def data_of(e: Expansion) -> dict:
    """``expand --json``, through the JSON writer."""
    return json.loads(json.dumps(resolve(expansion_data(e)), ensure_ascii=False))


def scalar_lines(e: Expansion, style: str = "text") -> list[str]:
    """The scalar rows as the text writer prints them (aligned on =, ⋮, what is hidden)."""
    return math_lines(block_math(e.scalar, e.notation), style)


def row_line(e: Expansion, k: int, style: str = "text") -> str:
    """Scalar row ``k`` on its own line (not padded to the others' width)."""
    row = e.scalar.rows[k]
    if style == "latex":
        return row_latex(Eq(row.lhs, row.shown), e.notation)
    return math_lines(Math([Eq(row.lhs, row.shown)], e.notation, aligned=True), style)[0]


def maths(e: Expansion, input_shape: tuple | None = None) -> dict[str, Math]:
    """Each form's maths block, by its section's first word (Scalar, Compact, Matrix, PyTorch)."""
    found = {}
    for section in expand_sections(e, "all", input_shape):
        block = section.blocks[0]
        assert isinstance(block, Math)
        found[section.title[0].split()[0]] = block
    return found


def form_text(e: Expansion, name: str, style: str = "text") -> str:
    return "\n".join(math_lines(maths(e)[name], style))


def all_latex(e: Expansion) -> list[str]:
    return [row_line(e, k, "latex") for k in range(len(e.scalar.rows))] + [
        math_latex(block) for block in maths(e).values()
    ]


def numbers_lines(numbers: NumericExpansion, style: str = "text", precision: int = 4) -> list[str]:
    """The rows with numbers as the writers print them."""
    block = block_math(numbers.block, numbers.notation, precision, numbers)
    if style == "latex":
        return math_latex(block).splitlines()
    return math_lines(block, style)


def balanced(latex: str) -> bool:
    depth = 0
    for ch in latex.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


# --- the post's example -----------------------------------------------------------------------


def test_post_layer_in_every_style() -> None:
    e = expand(3, 3, view=View(layer=2))
    assert not e.elided and e.scalar.hidden_rows == 0 and e.scalar.hidden_terms == 0
    assert row_line(e, 0) == POST_ROW
    assert row_line(e, 0, "ascii") == (
        "z_1^(2) = w_11^(2)*x_1 + w_12^(2)*x_2 + w_13^(2)*x_3 + b_1^(2)"
    )
    assert row_line(e, 0, "latex") == (
        r"z_{1}^{(2)} = w_{11}^{(2)} x_{1} + w_{12}^{(2)} x_{2} + w_{13}^{(2)} x_{3} + b_{1}^{(2)}"
    )
    assert scalar_lines(e)[0] == POST_ROW
    assert form_text(e, "Compact") == "zᵢ⁽²⁾ = Σⱼ₌₁³ wᵢⱼ⁽²⁾⋅xⱼ + bᵢ⁽²⁾   for i = 1, …, 3"
    assert r"\sum_{j=1}^{3} w_{ij}^{(2)} x_{j} + b_{i}^{(2)}" in math_latex(maths(e)["Compact"])
    matrix = form_text(e, "Matrix")
    assert matrix.splitlines()[0].startswith("Z⁽²⁾ = W⁽²⁾⋅X + B⁽²⁾")
    assert "⎢z₂⁽²⁾⎥ = ⎢w₂₁⁽²⁾  w₂₂⁽²⁾  w₂₃⁽²⁾⎥⋅⎢x₂⎥ + ⎢b₂⁽²⁾⎥" in matrix
    pytorch = form_text(e, "PyTorch")
    assert pytorch.splitlines()[0] == "y = x⋅Wᵀ + b"  # W = layer.weight, as everywhere
    assert "Wᵀ = ⎢w₁₂⁽²⁾  w₂₂⁽²⁾  w₃₂⁽²⁾⎥" in pytorch  # row j of Wᵀ holds w_ij
    doc = render(expand_doc(e))
    assert "Scalar form (the post's equation (1))" in doc
    assert "PyTorch form, row vectors: y = x Wᵀ + b, W = layer.weight" in doc
    assert doc.count("PyTorch's docs write y = x Aᵀ + b, A = W") == 1  # said once
    assert "(batch × 3)⋅(3 × 3) = (batch × 3)" in doc


def test_json_matches_the_contract() -> None:
    e = expand(3, 3, view=View(layer=2))
    d = data_of(e)
    assert list(d) == [
        "in_features",
        "out_features",
        "bias",
        "layer",
        "index_base",
        "elided",
        "scalar",
        "compact",
        "matrix",
        "pytorch",
    ]
    assert (d["in_features"], d["out_features"], d["bias"], d["layer"]) == (3, 3, True, 2)
    assert (d["index_base"], d["elided"]) == (1, False)
    assert d["scalar"][0] == {
        "lhs": "z_1",
        "rhs": "b_1 + w_1_1*x_1 + w_1_2*x_2 + w_1_3*x_3",
        "latex": row_line(e, 0, "latex"),
    }
    for form in ("compact", "matrix", "pytorch"):
        assert set(d[form]) == {"text", "latex"}
    assert d["compact"]["text"] == form_text(e, "Compact")
    assert d["matrix"]["latex"] == math_latex(maths(e)["Matrix"])
    # pytorch: only the maths lines, y = x⋅Wᵀ + b and Wᵀ written out
    assert d["pytorch"]["text"].splitlines()[0] == "y = x⋅Wᵀ + b"
    assert d["pytorch"]["text"].splitlines()[-1].startswith("     ⎣w₁₃⁽²⁾")
    assert d["pytorch"]["latex"].startswith("\\begin{aligned}\ny &= x W^{T} + b \\\\\nW^{T} &= ")
    assert expand_doc(e).data == expansion_data(e)  # the document carries the same contract


# --- the math ---------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(sizes, sizes, bases, st.booleans(), layers)
def test_json_rhs_parses_back_to_the_row_sum(in_f: int, out_f: int, base: int, bias: bool, layer):
    d = data_of(expand(in_f, out_f, bias, View(index_base=base, layer=layer, full=True)))
    table = symbols_of(in_f, out_f, base)
    assert [row["lhs"] for row in d["scalar"]] == [f"z_{i}" for i in range(base, base + out_f)]
    for i, row in zip(range(base, base + out_f), d["scalar"], strict=True):
        assert parse_expr(row["rhs"], local_dict=table) == row_sum(i, in_f, base, bias)
        assert balanced(row["latex"])


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=1, max_value=20),
    bases,
    st.booleans(),
    st.integers(min_value=2, max_value=9),
)
def test_elided_json_shows_first_rows_last_row_and_compact_sums(
    in_f: int, out_f: int, base: int, bias: bool, keep: int
):
    e = expand(in_f, out_f, bias, View(index_base=base, max_terms=keep))
    d = data_of(e)
    assert d["elided"] == (in_f > keep or out_f > keep) == e.elided
    last = base + out_f - 1
    expected_rows = (
        list(range(base, last + 1)) if out_f <= keep else [*range(base, base + keep - 1), last]
    )
    assert [r.index for r in e.scalar.rows] == expected_rows
    assert e.scalar.hidden_rows == out_f - len(expected_rows)
    table = symbols_of(in_f, out_f, base)
    j = table["j"]
    for i, row in zip(expected_rows, d["scalar"], strict=True):
        got = parse_expr(row["rhs"], local_dict=table)
        if in_f <= keep:
            assert got == row_sum(i, in_f, base, bias)
        else:  # the row's sum is elided: rhs is the compact Σ_j, with its bounds
            summand = sympy.Symbol(f"w_{i}_j") * sympy.Symbol("x_j")
            sigma = sympy.Sum(summand, (j, base, base + in_f - 1))
            assert got == sigma + (sympy.Symbol(f"b_{i}") if bias else 0)
        shown = e.scalar.rows[expected_rows.index(i)].shown
        terms = shown.args if isinstance(shown, sympy.Add) else (shown,)
        assert len(terms) == min(in_f, keep) + (in_f > keep) + bias  # w x terms, ⋯, b
    # the text shows a ⋮ where rows are hidden, and says what is hidden
    lines = scalar_lines(e)
    assert ("⋮" in [line.strip() for line in lines]) == (out_f > keep)
    assert lines[-1].startswith("(hidden: ") == e.elided


@settings(max_examples=25, deadline=None)
@given(sizes, sizes, st.booleans())
def test_matrix_and_pytorch_forms_are_the_same_sums(in_f: int, out_f: int, bias: bool):
    e = expand(in_f, out_f, bias, View(full=True))
    rows = sympy.Matrix([r.rhs for r in e.scalar.rows])
    short, long = e.matrix, e.matrix_long
    assert long.lhs == sympy.Matrix([r.lhs for r in e.scalar.rows])
    assert (sympy.Matrix(long.rhs.doit()) - rows).expand() == sympy.zeros(out_f, 1)
    W = long.rhs.args[0].args[0] if bias else long.rhs.args[0]
    assert W.shape == (out_f, in_f) and short.lhs.shape == (out_f, 1)
    assert e.transposed.rhs == W.T  # Wᵀ written out is W transposed: layer.weight is W
    assert e.transposed.lhs.arg.shape == (out_f, in_f)


@settings(max_examples=30, deadline=None)
@given(sizes, sizes, bases, layers)
def test_every_weight_has_its_own_name_in_every_style(in_f: int, out_f: int, base: int, layer):
    n = Notation(in_f, out_f, View(index_base=base, layer=layer))
    weights = [n.w(i, j) for i in range(base, base + out_f) for j in range(base, base + in_f)]
    for style in ("text", "ascii", "latex"):
        printer = MathPrinter(n, style)
        assert len({printer.name(w) for w in weights}) == in_f * out_f


def test_indices_past_9_are_separated() -> None:
    e = expand(12, 12, view=View(layer=2, full=True))
    latex = "\n".join(all_latex(e))
    assert "w_{1,12}^{(2)}" in latex and "w_{11,2}^{(2)}" in latex
    text, ascii_ = "\n".join(scalar_lines(e)), "\n".join(scalar_lines(e, "ascii"))
    assert "w₁,₁₂⁽²⁾" in text and "w₁₁,₂⁽²⁾" in text
    assert "w_1,12^(2)" in ascii_
    assert "w_{12}" in row_line(expand(3, 3), 0, "latex")  # small layers keep the post's w_12


@pytest.mark.parametrize(
    ("in_f", "out_f", "bias", "view", "input_shape"),
    [
        (3, 3, True, View(layer=2), None),
        (12, 10, True, View(layer=2, full=True), None),
        (4096, 4096, True, View(layer=2), ("N", "C", 4096)),
        (5, 2, False, View(layer=2, index_base=0), None),
        (3, 5, True, View(layer=2), ("batch", "seq_len", 3)),
    ],
)
def test_latex_balances_and_carries_the_layer(
    in_f: int, out_f: int, bias: bool, view: View, input_shape: tuple | None
) -> None:
    e = expand(in_f, out_f, bias, view)
    doc = expand_doc(e, "all", input_shape)
    for latex in [*all_latex(e), render(doc, "latex"), render(doc, "markdown")]:
        assert balanced(latex), latex
        assert latex.count(r"\left[") == latex.count(r"\right]")
        assert latex.count(r"\begin{aligned}") == latex.count(r"\end{aligned}")
    for latex in all_latex(e):  # x, y, b and W in y = x Wᵀ + b are not, but Wᵀ's entries are
        assert "^{(2)}" in latex
    assert render(doc, "ascii").isascii()
    for style in ("pretty", "ascii", "latex", "markdown"):  # the layer is in every format
        assert ("(2)" if style != "pretty" else "⁽²⁾") in render(doc, style)


# --- big layers -------------------------------------------------------------------------------


def test_4096_layer_shows_its_corners() -> None:
    e = expand(4096, 4096)
    assert e.elided and e.scalar.hidden_rows == 4088 and e.scalar.hidden_terms == 4088
    assert [r.index for r in e.scalar.rows] == [1, 2, 3, 4, 5, 6, 7, 4096]
    assert str(e.scalar.rows[0].rhs) == "b_1 + Sum(w_1_j*x_j, (j, 1, 4096))"
    first = "z₁ = w₁,₁⋅x₁ + w₁,₂⋅x₂ + w₁,₃⋅x₃ + w₁,₄⋅x₄ + w₁,₅⋅x₅ + w₁,₆⋅x₆ + w₁,₇⋅x₇ + ⋯ + "
    assert row_line(e, 0) == first + "w₁,₄₀₉₆⋅x₄₀₉₆ + b₁"
    lines = scalar_lines(e)
    assert lines[0] == "   " + first + "w₁,₄₀₉₆⋅x₄₀₉₆ + b₁"  # aligned with z₄₀₉₆
    assert lines[7].strip() == "⋮"
    assert lines[-1] == "(hidden: 4,088 of the 4,096 terms of each row (⋯); " + (
        "4,088 of the 4,096 rows (z₈ … z₄₀₉₅))"
    )
    matrix = form_text(e, "Matrix")
    assert "⋱" in matrix and "w₄₀₉₆,₄₀₉₆" in matrix
    assert r"\ddots" in math_latex(maths(e)["Matrix"])
    assert r"\vdots" in math_latex(maths(e)["Scalar"])
    # small: every form is a few KB, and no matrix bigger than its 9 x 9 corners was built
    assert len(json.dumps(data_of(e), ensure_ascii=False)) < 30_000
    assert len(render(expand_doc(e, "all", ("N", "C", 4096)))) < 30_000
    for equation in (e.matrix, e.matrix_long, e.pytorch, e.transposed):
        for part in sympy.preorder_traversal(equation):
            if isinstance(part, sympy.MatrixBase):
                assert max(part.shape) <= 9


def test_max_terms_sets_how_much_is_shown() -> None:
    e = expand(10, 5, False, View(max_terms=4, index_base=0))
    assert [r.index for r in e.scalar.rows] == [0, 1, 2, 4]
    assert row_line(e, 0, "ascii") == "z_0 = w_0,0*x_0 + w_0,1*x_1 + w_0,2*x_2 + ... + w_0,9*x_9"
    assert not expand(8, 8).elided  # up to max_terms everything is written out
    nine = expand(9, 8)
    assert nine.elided and nine.scalar.hidden_terms == 1 and nine.scalar.hidden_rows == 0


def test_full_writes_64_by_64_and_refuses_beyond_the_limit() -> None:
    e = expand(64, 64, view=View(full=True))
    assert len(e.scalar.rows) == 64 and not e.elided
    assert len(e.scalar.rows[63].shown.args) == 65
    with pytest.raises(LinexplainError, match="4,160 weights") as error:
        expand(65, 64, view=View(full=True))
    assert "--full" in error.value.hint
    with pytest.raises(LinexplainError, match=f"at most {FULL_LIMIT:,}") as error:
        expand(4096, 4096, view=View(max_terms=100))
    assert "--max-terms" in error.value.hint


# --- the PyTorch form -------------------------------------------------------------------------


def pytorch_doc(in_f: int, out_f: int, input_shape: tuple | None, fmt: str = "pretty") -> str:
    return render(expand_doc(expand(in_f, out_f), "pytorch", input_shape), fmt)


def test_batched_input_shape_shows_every_factor() -> None:
    text = pytorch_doc(3, 5, ("N", "C", 3))
    assert "(N⋅C × 3)⋅(3 × 5) = (N⋅C × 5)" in text
    assert "x (N, C, 3) → y (N, C, 5): only the last dim changes" in text
    assert "(10 × 3)⋅(3 × 5) = (10 × 5)" in pytorch_doc(3, 5, (2, 5, 3))
    one = pytorch_doc(3, 5, (3,))
    assert "(1 × 3)⋅(3 × 5) = (1 × 5)" in one and "x (3,) → y (5,)" in one
    assert "(batch × 3)⋅(3 × 5) = (batch × 5)" in pytorch_doc(3, 5, None)
    assert r"(batch $\times$ 3)" in pytorch_doc(3, 5, None, "latex")
    latex = pytorch_doc(3, 5, ("batch", "seq_len", 3), "latex")
    assert r"(batch$\cdot$seq\_len $\times$ 3)" in latex
    assert "seq_len" not in latex  # a bare _ in text breaks LaTeX
    assert r"seq\_len" in pytorch_doc(3, 5, ("batch", "seq_len", 3), "markdown")


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (("N", 4), r"\(Nx4 and 3x3\)"),
        ((), "they are 0D and 2D"),
        (("N-1", 3), "'N-1' is not a valid name"),
    ],
)
def test_an_input_shape_the_layer_refuses(shape: tuple, message: str) -> None:
    with pytest.raises(LinexplainError, match=message) as error:
        explain.expand(Request(in_features=3, out_features=3, input_shape=shape))
    assert error.value.hint


def test_zero_based_indices_say_what_they_mean() -> None:
    e = expand(3, 2, view=View(index_base=0))
    note = "indices are 0-based: w_ij is layer.weight[i, j]"
    assert note in render(expand_doc(e))
    assert note in render(expand_doc(e, "scalar"))  # every form says it once
    assert render(expand_doc(e, "matrix")).count(note) == 1
    assert data_of(e)["scalar"][1]["rhs"] == "b_1 + w_1_0*x_0 + w_1_1*x_1 + w_1_2*x_2"
    assert "layer.weight[i-1, j-1]" in render(expand_doc(expand(3, 2), "pytorch"))


def test_without_bias_there_is_no_b() -> None:
    e = expand(2, 2, False, View(layer=1))
    assert data_of(e)["scalar"][0]["rhs"] == "w_1_1*x_1 + w_1_2*x_2"
    assert form_text(e, "Compact", "ascii") == (
        "z_i^(1) = sum_{j=1}^{2} w_ij^(1)*x_j   for i = 1, ..., 2"
    )
    assert form_text(e, "Matrix", "ascii").startswith("Z^(1) = W^(1)*X   (Z, X: columns")
    assert form_text(e, "PyTorch", "ascii").startswith("y = x*W^T\n")
    assert "b" not in row_line(expand(1, 1, False), 0, "ascii").split("=")[1]
    doc = render(expand_doc(e), "ascii")
    assert "y = x W^T, W = layer.weight" in doc and "no bias: b is left out" in doc


# --- numbers ----------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(sizes, sizes, bases, st.booleans(), st.integers(min_value=0, max_value=2**32 - 1))
def test_numbers_put_into_the_rows_add_up(in_f: int, out_f: int, base: int, bias: bool, seed):
    rng = np.random.default_rng(seed)
    weight, x = rng.normal(size=(out_f, in_f)), rng.normal(size=in_f) * 10.0 ** rng.integers(-6, 6)
    b = rng.normal(size=out_f) if bias else None
    view = View(index_base=base, full=True, precision=17)
    numbers = expand_numbers(weight, b, x, view=view)
    y = weight @ x + (0 if b is None else b)
    symbols = expand(in_f, out_f, bias, view).scalar.rows
    lines = numbers_lines(numbers, "ascii", precision=17)
    for i, row in enumerate(numbers.rows):
        assert row.index == base + i and row.value == pytest.approx(y[i])
        assert row.shown == symbols[i].shown
        numbers_part = lines[i].split(" = ")[1]  # z_i = <the sum, with numbers> = value
        assert lines[i].isascii()
        assert float(parse_expr(numbers_part)) == pytest.approx(y[i], rel=1e-9, abs=1e-9)


def test_numbers_are_elided_like_the_symbols() -> None:
    weight = np.broadcast_to(np.linspace(-1, 1, 4096, dtype=np.float32), (4096, 4096))
    view = View(layer=2)
    numbers = expand_numbers(
        weight, np.zeros(4096, np.float32), np.ones(4096, np.float32), view=view
    )
    assert [r.index for r in numbers.rows] == [1, 2, 3, 4, 5, 6, 7, 4096]
    assert [r.shown for r in numbers.rows] == [
        r.shown for r in expand(4096, 4096, view=view).scalar.rows
    ]
    lines = numbers_lines(numbers)
    assert lines[0].startswith("   z₁⁽²⁾ = ") and "⋯" in lines[0]
    assert numbers.block.hidden_rows == 4088 and numbers.elided
    assert lines[-1].startswith("(hidden: 4,088 of the 4,096 terms of each row (⋯); 4,088 of")
    assert json.loads(json.dumps(resolve(explain.numbers_data(numbers, 4))))["elided"] is True


def test_numbers_style() -> None:
    weight = np.array([[0.1234, -0.5], [2e-7, 1.0]])
    numbers = expand_numbers(weight, np.array([0.25, -1.0]), np.array([1.0, 2.0]))
    # --precision is decimals: 4 of them on every number
    first = "z₁ = 0.1234⋅1.0000 + (−0.5000)⋅2.0000 + 0.2500 = −0.6266"
    assert numbers_lines(numbers)[0] == first
    assert numbers_lines(numbers, "ascii")[0] == (
        "z_1 = 0.1234*1.0000 + (-0.5000)*2.0000 + 0.2500 = -0.6266"
    )
    assert numbers_lines(numbers, "latex")[1] == (
        r"z_{1} &= 0.1234 \cdot 1.0000 + (-0.5000) \cdot 2.0000 + 0.2500 = -0.6266 \\"
    )
    # a number that would hide in the decimals is written in scientific notation
    assert numbers_lines(numbers)[1].startswith("z₂ = 2.0000 × 10⁻⁷⋅1.0000 + ")
    assert numbers_lines(numbers, precision=0) == [
        "z₁ = 0⋅1 + (−0)⋅2 + 0 = −1",  # precision 0: whole numbers, never scientific
        "z₂ = 0⋅1 + 1⋅2 + (−1) = 1",
    ]
    data = json.loads(json.dumps(resolve(explain.numbers_data(numbers, 4)), ensure_ascii=False))
    assert data["rows"][0]["values"] == {
        "w_1_1": 0.1234,
        "x_1": 1.0,
        "w_1_2": -0.5,
        "x_2": 2.0,
        "b_1": 0.25,
    }
    assert data["rows"][0]["text"] == first


def test_negative_zero_is_bracketed_like_any_negative_term() -> None:
    numbers = expand_numbers(np.array([[-0.0, 1.0]]), None, np.array([-0.0, 2.0]))
    assert numbers_lines(numbers) == ["z₁ = (−0.0000)⋅(−0.0000) + 1.0000⋅2.0000 = 2.0000"]
    assert numbers_lines(numbers, precision=0) == ["z₁ = (−0)⋅(−0) + 1⋅2 = 2"]


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_overflow_is_infinity_in_latex() -> None:
    weight, x = np.ones((3, 2)), np.ones(2)
    numbers = expand_numbers(weight, None, x, y=np.array([np.nan, np.inf, -np.inf]))
    latex, text = numbers_lines(numbers, "latex"), numbers_lines(numbers)
    assert latex[1].endswith(r"= \text{NaN} \\") and text[0].endswith("= nan")
    assert latex[2].endswith(r"= \infty \\") and latex[3].endswith(r"= -\infty")
    data = json.loads(json.dumps(resolve(explain.numbers_data(numbers, 4)), allow_nan=False))
    assert [row["value"] for row in data["rows"]] == ["nan", "inf", "-inf"]  # JSON has no inf


def test_numbers_y_from_torch_is_used_as_given() -> None:
    weight, x = np.eye(2), np.array([1.0, 2.0])
    numbers = expand_numbers(weight, None, x, y=np.array([1.5, 2.5]))
    assert [r.value for r in numbers.rows] == [1.5, 2.5]
    assert numbers_lines(numbers)[0].endswith("= 1.5000")


# --- bad input --------------------------------------------------------------------------------


def test_numpy_ints_are_python_ints_in_the_expansion() -> None:
    view = View(layer=np.int64(2), max_terms=np.int64(4), index_base=np.int8(0))
    given_ = expand(np.int64(3), np.int32(2), view=view)
    assert data_of(given_) == data_of(expand(3, 2, view=View(layer=2, max_terms=4, index_base=0)))
    assert type(given_.in_features) is int and type(given_.view.layer) is int


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_features": 0}, "in_features must be at least 1"),
        ({"out_features": -2}, "out_features must be at least 1"),
        ({"in_features": 2.5}, "in_features: 2.5 is not a whole number"),
        ({"out_features": True}, "out_features: True is not a whole number"),
        ({"index_base": 2}, "index base must be 1 or 0"),
        ({"index_base": True}, "index base: True is not a whole number"),
        ({"layer": -1}, "layer must be a whole number >= 0"),
        ({"layer": 2.0}, "layer: 2.0 is not a whole number"),
        ({"max_terms": 1}, "max terms must be at least 2"),
        ({"max_terms": np.array([4])}, "max terms: ndarray is not a whole number"),
        ({"precision": 18}, "precision 18 is out of range"),
    ],
)
def test_bad_input_is_a_linexplain_error_with_a_hint(kwargs: dict, message: str) -> None:
    sizes_ = {"in_features": 3, "out_features": 3}
    view = {key: value for key, value in kwargs.items() if key not in sizes_}
    with pytest.raises(LinexplainError, match=message) as error:
        expand(**(sizes_ | {k: v for k, v in kwargs.items() if k in sizes_}), view=View(**view))
    assert error.value.hint


@pytest.mark.parametrize(
    ("weight", "bias", "x", "message"),
    [
        (np.ones(3), None, np.ones(3), "weight has shape"),
        (np.ones((2, 3)), np.ones(3), np.ones(3), "bias has shape"),
        (np.ones((2, 3)), None, np.ones(2), "x has shape"),
        (np.ones((2, 3)), None, np.ones(3), "y has shape"),
    ],
)
def test_bad_arrays_are_linexplain_errors(weight, bias, x, message: str) -> None:
    y = np.ones(3) if message.startswith("y") else None
    with pytest.raises(LinexplainError, match=message):
        expand_numbers(weight, bias, x, y=y)
