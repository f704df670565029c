"""``linexplain.symbolic``: every output written out, checked against the math it claims.

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

from linexplain.errors import LinexplainError
from linexplain.symbolic import FULL_LIMIT, Notation, expand, expand_numbers

sizes = st.integers(min_value=1, max_value=13)  # crosses 10, where indices get a comma
bases = st.sampled_from([0, 1])
layers = st.one_of(st.none(), st.integers(min_value=0, max_value=12))

SEED_ROW = "z₁⁽²⁾ = w₁₁⁽²⁾⋅x₁ + w₁₂⁽²⁾⋅x₂ + w₁₃⁽²⁾⋅x₃ + b₁⁽²⁾"


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


def all_latex(e) -> list[str]:
    return [r.latex for r in e.scalar] + [
        f.latex for f in (e.scalar_block, e.compact, e.matrix, e.pytorch)
    ]


def all_text(e, style: str) -> list[str]:
    forms = (e.scalar_block, e.compact, e.matrix, e.pytorch)
    return [getattr(r, style) for r in e.scalar] + [getattr(f, style) for f in forms]


def balanced(latex: str) -> bool:
    depth = 0
    for ch in latex.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


# --- the seed's example -----------------------------------------------------------------------


def test_seed_layer_in_every_style() -> None:
    e = expand(3, 3, layer=2)
    assert not e.elided and e.hidden_rows == 0 and e.hidden_terms == 0
    assert e.scalar[0].text == SEED_ROW
    assert e.scalar[0].ascii == "z_1^(2) = w_11^(2)*x_1 + w_12^(2)*x_2 + w_13^(2)*x_3 + b_1^(2)"
    assert e.scalar[0].latex == (
        r"z_{1}^{(2)} = w_{11}^{(2)} x_{1} + w_{12}^{(2)} x_{2} + w_{13}^{(2)} x_{3} + b_{1}^{(2)}"
    )
    assert e.scalar_block.text.splitlines()[0] == SEED_ROW
    assert e.compact.text == "zᵢ⁽²⁾ = Σⱼ₌₁³ wᵢⱼ⁽²⁾⋅xⱼ + bᵢ⁽²⁾   for i = 1, …, 3"
    assert r"\sum_{j=1}^{3} w_{ij}^{(2)} x_{j} + b_{i}^{(2)}" in e.compact.latex
    assert e.matrix.text.splitlines()[0].startswith("Z⁽²⁾ = W⁽²⁾⋅X + B⁽²⁾")
    assert "⎢z₂⁽²⁾⎥ = ⎢w₂₁⁽²⁾  w₂₂⁽²⁾  w₂₃⁽²⁾⎥⋅⎢x₂⎥ + ⎢b₂⁽²⁾⎥" in e.matrix.text
    assert e.pytorch.text.splitlines()[0] == "y = x⋅Aᵀ + b"
    assert "Aᵀ = ⎢w₁₂⁽²⁾  w₂₂⁽²⁾  w₃₂⁽²⁾⎥" in e.pytorch.text  # row j of Aᵀ holds w_ij
    assert "(batch × 3)⋅(3 × 3) = (batch × 3)" in e.pytorch.text


def test_json_matches_the_contract() -> None:
    d = json.loads(json.dumps(expand(3, 3, layer=2).as_dict()))
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
        "latex": expand(3, 3, layer=2).scalar[0].latex,
    }
    for form in ("compact", "matrix", "pytorch"):
        assert set(d[form]) == {"text", "latex"}


# --- the math ---------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(sizes, sizes, bases, st.booleans(), layers)
def test_json_rhs_parses_back_to_the_row_sum(in_f: int, out_f: int, base: int, bias: bool, layer):
    d = expand(in_f, out_f, bias=bias, layer=layer, index_base=base, full=True).as_dict()
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
    e = expand(in_f, out_f, bias=bias, index_base=base, max_terms=keep)
    d = e.as_dict()
    assert d["elided"] == (in_f > keep or out_f > keep)
    last = base + out_f - 1
    expected_rows = (
        list(range(base, last + 1)) if out_f <= keep else [*range(base, base + keep - 1), last]
    )
    assert [r.index for r in e.scalar] == expected_rows
    assert e.hidden_rows == out_f - len(expected_rows)
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
        shown = e.scalar[expected_rows.index(i)].shown
        terms = shown.args if isinstance(shown, sympy.Add) else (shown,)
        assert len(terms) == min(in_f, keep) + (in_f > keep) + bias  # w x terms, ⋯, b


@settings(max_examples=25, deadline=None)
@given(sizes, sizes, st.booleans())
def test_matrix_and_pytorch_forms_are_the_same_sums(in_f: int, out_f: int, bias: bool):
    e = expand(in_f, out_f, bias=bias, full=True)
    rows = sympy.Matrix([r.rhs for r in e.scalar])
    short, long = e.matrix.equations
    assert long.lhs == sympy.Matrix([r.lhs for r in e.scalar])
    assert (sympy.Matrix(long.rhs.doit()) - rows).expand() == sympy.zeros(out_f, 1)
    W = long.rhs.args[0].args[0] if bias else long.rhs.args[0]
    assert W.shape == (out_f, in_f) and short.lhs.shape == (out_f, 1)
    _, transposed = e.pytorch.equations
    assert transposed.rhs == W.T  # Aᵀ written out is W transposed: A is W


@settings(max_examples=30, deadline=None)
@given(sizes, sizes, bases, layers)
def test_every_weight_has_its_own_name_in_every_style(in_f: int, out_f: int, base: int, layer):
    n = Notation(in_f, out_f, layer, base)
    weights = [n.w(i, j) for i in range(base, base + out_f) for j in range(base, base + in_f)]
    for style in ("text", "ascii", "latex"):
        assert len({n.names[style][w] for w in weights}) == in_f * out_f


def test_indices_past_9_are_separated() -> None:
    e = expand(12, 12, layer=2, full=True)
    latex = "\n".join(all_latex(e))
    assert "w_{1,12}^{(2)}" in latex and "w_{11,2}^{(2)}" in latex
    assert "w₁,₁₂⁽²⁾" in e.scalar_block.text and "w₁₁,₂⁽²⁾" in e.scalar_block.text
    assert "w_1,12^(2)" in e.scalar_block.ascii
    assert "w_{12}" in expand(3, 3).scalar[0].latex  # small layers keep the seed's w_12


@pytest.mark.parametrize(
    "kwargs",
    [
        {"in_features": 3, "out_features": 3, "layer": 2},
        {"in_features": 12, "out_features": 10, "layer": 2, "full": True},
        {"in_features": 4096, "out_features": 4096, "layer": 2, "input_shape": ("N", "C", 4096)},
        {"in_features": 5, "out_features": 2, "layer": 2, "bias": False, "index_base": 0},
    ],
)
def test_latex_balances_and_carries_the_layer(kwargs: dict) -> None:
    e = expand(**kwargs)
    for latex in all_latex(e):
        assert balanced(latex), latex
        assert latex.count(r"\left[") == latex.count(r"\right]")
        assert latex.count(r"\begin{aligned}") == latex.count(r"\end{aligned}")
    for latex in [r.latex for r in e.scalar] + [e.compact.latex, e.matrix.latex]:
        assert "^{(2)}" in latex
    for text in all_text(e, "ascii"):
        assert text.isascii(), text


# --- big layers -------------------------------------------------------------------------------


def test_4096_layer_shows_its_corners() -> None:
    e = expand(4096, 4096)
    assert e.elided and e.hidden_rows == 4088 and e.hidden_terms == 4088
    assert [r.index for r in e.scalar] == [1, 2, 3, 4, 5, 6, 7, 4096]
    assert str(e.scalar[0].rhs) == "b_1 + Sum(w_1_j*x_j, (j, 1, 4096))"
    first = "z₁ = w₁,₁⋅x₁ + w₁,₂⋅x₂ + w₁,₃⋅x₃ + w₁,₄⋅x₄ + w₁,₅⋅x₅ + w₁,₆⋅x₆ + w₁,₇⋅x₇ + ⋯ + "
    assert e.scalar[0].text == first + "w₁,₄₀₉₆⋅x₄₀₉₆ + b₁"
    lines = e.scalar_block.text.splitlines()
    assert lines[7].strip() == "⋮"
    assert lines[-1] == "(hidden: 4,088 of the 4,096 terms of each row (⋯); " + (
        "4,088 of the 4,096 rows (z₈ … z₄₀₉₅))"
    )
    assert "⋱" in e.matrix.text and "w₄₀₉₆,₄₀₉₆" in e.matrix.text
    assert r"\ddots" in e.matrix.latex and r"\vdots" in e.scalar_block.latex
    # small: every form is a few KB, and no matrix bigger than its 9 x 9 corners was built
    assert len(json.dumps(e.as_dict(), ensure_ascii=False)) < 30_000
    for form in (e.matrix, e.pytorch):
        for equation in form.equations:
            for part in sympy.preorder_traversal(equation):
                if isinstance(part, sympy.MatrixBase):
                    assert max(part.shape) <= 9


def test_max_terms_sets_how_much_is_shown() -> None:
    e = expand(10, 5, max_terms=4, index_base=0, bias=False)
    assert [r.index for r in e.scalar] == [0, 1, 2, 4]
    assert e.scalar[0].ascii == "z_0 = w_0,0*x_0 + w_0,1*x_1 + w_0,2*x_2 + ... + w_0,9*x_9"
    assert not expand(8, 8).elided  # up to max_terms everything is written out
    nine = expand(9, 8)
    assert nine.elided and nine.hidden_terms == 1 and nine.hidden_rows == 0


def test_full_writes_64_by_64_and_refuses_beyond_the_limit() -> None:
    e = expand(64, 64, full=True)
    assert len(e.scalar) == 64 and not e.elided
    assert len(e.scalar[63].shown.args) == 65
    with pytest.raises(LinexplainError, match="4,160 weights") as error:
        expand(65, 64, full=True)
    assert "--full" in error.value.hint
    with pytest.raises(LinexplainError, match=f"at most {FULL_LIMIT:,}"):
        expand(4096, 4096, max_terms=100)


# --- the PyTorch form -------------------------------------------------------------------------


def test_batched_input_shape_shows_every_factor() -> None:
    text = expand(3, 5, input_shape=("N", "C", 3)).pytorch.text
    assert "(N⋅C × 3)⋅(3 × 5) = (N⋅C × 5)" in text
    assert "x (N, C, 3) → y (N, C, 5): only the last dim changes" in text
    assert "(10 × 3)⋅(3 × 5) = (10 × 5)" in expand(3, 5, input_shape=(2, 5, 3)).pytorch.text
    one = expand(3, 5, input_shape=(3,))
    assert "(1 × 3)⋅(3 × 5) = (1 × 5)" in one.pytorch.text and "x (3,) → y (5,)" in one.pytorch.text
    assert r"(\text{batch} \times 3)" in expand(3, 5).pytorch.latex
    latex = expand(3, 5, input_shape=("batch", "seq_len", 3)).pytorch.latex
    assert r"\text{batch} \cdot \text{seq\_len} \times 3" in latex  # a bare _ breaks LaTeX


def test_zero_based_indices_say_what_they_mean() -> None:
    e = expand(3, 2, index_base=0)
    note = "indices are 0-based: w_{i,j} is layer.weight[i, j]"
    assert e.notes == (note,) and note in e.pytorch.text
    assert e.as_dict()["scalar"][1]["rhs"] == "b_1 + w_1_0*x_0 + w_1_1*x_1 + w_1_2*x_2"
    assert "layer.weight[i-1, j-1]" in expand(3, 2).notes[0]


def test_without_bias_there_is_no_b() -> None:
    e = expand(2, 2, bias=False, layer=1)
    assert e.as_dict()["scalar"][0]["rhs"] == "w_1_1*x_1 + w_1_2*x_2"
    assert e.compact.ascii == "z_i^(1) = sum_{j=1}^{2} w_ij^(1)*x_j   for i = 1, ..., 2"
    assert e.matrix.ascii.startswith("Z^(1) = W^(1)*X   (Z, X: columns")
    assert e.pytorch.ascii.startswith("y = x*A^T\n")
    assert "b" not in expand(1, 1, bias=False).scalar[0].ascii.split("=")[1]


# --- numbers ----------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(sizes, sizes, bases, st.booleans(), st.integers(min_value=0, max_value=2**32 - 1))
def test_numbers_put_into_the_rows_add_up(in_f: int, out_f: int, base: int, bias: bool, seed):
    rng = np.random.default_rng(seed)
    weight, x = rng.normal(size=(out_f, in_f)), rng.normal(size=in_f) * 10.0 ** rng.integers(-6, 6)
    b = rng.normal(size=out_f) if bias else None
    numbers = expand_numbers(weight, b, x, index_base=base, full=True, precision=17)
    y = weight @ x + (0 if b is None else b)
    for i, row in enumerate(numbers.rows):
        assert row.index == base + i and row.value == pytest.approx(y[i])
        assert (
            row.shown == expand(in_f, out_f, bias=bias, index_base=base, full=True).scalar[i].shown
        )
        numbers_part = row.ascii.split(" = ")[1]  # z_i = <the sum, with numbers> = value
        assert row.ascii.isascii()
        assert float(parse_expr(numbers_part)) == pytest.approx(y[i], rel=1e-9, abs=1e-9)


def test_numbers_are_elided_like_the_symbols() -> None:
    weight = np.broadcast_to(np.linspace(-1, 1, 4096, dtype=np.float32), (4096, 4096))
    numbers = expand_numbers(weight, np.zeros(4096, np.float32), np.ones(4096, np.float32), layer=2)
    assert [r.index for r in numbers.rows] == [1, 2, 3, 4, 5, 6, 7, 4096]
    assert [r.shown for r in numbers.rows] == [r.shown for r in expand(4096, 4096, layer=2).scalar]
    assert numbers.block.text.splitlines()[0].startswith("   z₁⁽²⁾ = ")
    assert "⋯" in numbers.rows[0].text and numbers.hidden_rows == 4088
    assert numbers.as_dict()["elided"] is True


def test_numbers_style() -> None:
    weight = np.array([[0.1234, -0.5], [2e-7, 1.0]])
    numbers = expand_numbers(weight, np.array([0.25, -1.0]), np.array([1.0, 2.0]))
    first, second = numbers.rows
    assert first.text == "z₁ = 0.1234⋅1 + (−0.5)⋅2 + 0.25 = −0.6266"
    assert first.ascii == "z_1 = 0.1234*1 + (-0.5)*2 + 0.25 = -0.6266"
    assert first.latex == r"z_{1} = 0.1234 \cdot 1 + (-0.5) \cdot 2 + 0.25 = -0.6266"
    assert second.text.startswith("z₂ = 2 × 10⁻⁷⋅1 + ")
    assert numbers.as_dict()["rows"][0]["values"] == {
        "w_1_1": 0.1234,
        "x_1": 1.0,
        "w_1_2": -0.5,
        "x_2": 2.0,
        "b_1": 0.25,
    }


def test_negative_zero_is_bracketed_like_any_negative_term() -> None:
    (row,) = expand_numbers(np.array([[-0.0, 1.0]]), None, np.array([-0.0, 2.0])).rows
    assert row.text == "z₁ = (−0)⋅(−0) + 1⋅2 = 2"


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_overflow_is_infinity_in_latex() -> None:
    weight, x = np.ones((3, 2)), np.ones(2)
    rows = expand_numbers(weight, None, x, y=np.array([np.nan, np.inf, -np.inf])).rows
    assert rows[0].latex.endswith(r"= \text{NaN}") and rows[0].text.endswith("= nan")
    assert rows[1].latex.endswith(r"= \infty") and rows[2].latex.endswith(r"= -\infty")


def test_numbers_y_from_torch_is_used_as_given() -> None:
    weight, x = np.eye(2), np.array([1.0, 2.0])
    rows = expand_numbers(weight, None, x, y=np.array([1.5, 2.5])).rows
    assert [r.value for r in rows] == [1.5, 2.5]


# --- bad input --------------------------------------------------------------------------------


def test_numpy_ints_are_python_ints_in_the_expansion() -> None:
    given = expand(np.int64(3), np.int32(2), layer=np.int64(2), max_terms=np.int64(4))
    assert given.as_dict() == expand(3, 2, layer=2, max_terms=4).as_dict()


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
        ({"max_terms": np.array([4])}, "max terms: array"),
        ({"input_shape": ("N", 4)}, r"\(Nx4 and 3x3\)"),
        ({"input_shape": ()}, "they are 0D and 2D"),
        ({"input_shape": ("N-1", 3)}, "'N-1' is not a valid name"),
    ],
)
def test_bad_input_is_a_linexplain_error_with_a_hint(kwargs: dict, message: str) -> None:
    args = {"in_features": 3, "out_features": 3} | kwargs
    with pytest.raises(LinexplainError, match=message) as error:
        expand(**args)
    assert error.value.hint


@pytest.mark.parametrize(
    ("weight", "bias", "x", "message"),
    [
        (np.ones(3), None, np.ones(3), "weight has shape"),
        (np.ones((2, 3)), np.ones(3), np.ones(3), "bias has shape"),
        (np.ones((2, 3)), None, np.ones(2), "x has shape"),
    ],
)
def test_bad_arrays_are_linexplain_errors(weight, bias, x, message: str) -> None:
    with pytest.raises(LinexplainError, match=message):
        expand_numbers(weight, bias, x)
