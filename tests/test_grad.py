"""The backward pass: ``linexplain.session`` (numbers vs torch autograd), ``layers.GradShapes``
and ``explain.grad_lines`` (shapes and costs), ``equations.grad_forms`` (the sympy formulas)."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import io
import json
import math
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.parsing.sympy_parser import parse_expr

from linexplain import lessons as explain
from linexplain.core import Linear
from linexplain.counts import Product
from linexplain.document import Math, Rendered
from linexplain.equations import Block, GradForms, expand, grad_forms
from linexplain.errors import LinexplainError
from linexplain.layers import GradShapes, explain_shape
from linexplain.lessons import block_math, grad_formula_sections, grad_lines
from linexplain.output.json import resolve
from linexplain.output.text import math_lines, prose
from linexplain.request import Request
from linexplain.session import backward, finite_difference_check, forward, seed_upstream
from linexplain.view import View

FIXTURES = json.loads((Path(__file__).parent / "data" / "torch_grad.json").read_text())
CASES = FIXTURES["cases"]
RUN_KEYS = {
    "in_features",
    "out_features",
    "dtype",
    "seed",
    "input_shape",
    "output_shape",
    "dims",
    "weight",
    "bias",
    "input",
    "output",
    "torch",
}
# Ours and torch's sum in different orders; float32 inputs of >= 16 draws are within 1e-6.
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}


def unhex(values: list[str], dtype: str) -> np.ndarray:
    return np.array([float.fromhex(v) for v in values], dtype=dtype)


def run_of(case: dict):
    return forward(
        case["in_features"],  # nn.Linear's order: in_features first
        case["out_features"],
        bias=case["bias"],
        seed=case["seed"],
        dtype=case["dtype"],
        input_shape=tuple(case["input_shape"]),
    )


def assert_close(ours: np.ndarray, theirs: np.ndarray, dtype: str) -> None:
    """Equal up to summation order: the tolerance scales with the largest value."""
    assert ours.shape == theirs.shape
    scale = max(1.0, float(np.abs(theirs).max(initial=0)))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOLERANCE[dtype] * scale)


# --- numbers against torch autograd (fixtures: no torch needed) ------------------------------


def test_fixtures_cover_the_brief() -> None:
    assert {len(c["input_shape"]) for c in CASES} == {1, 2, 3, 4}
    assert {c["bias"] for c in CASES} == {True, False}
    assert {c["dtype"] for c in CASES} == {"float32", "float64"}
    assert {c["upstream"] for c in CASES} == {"ones", "seed", "given"}
    assert (Path(__file__).parent / "data" / "torch_grad.json").stat().st_size < 300_000


@pytest.mark.parametrize(
    "case",
    CASES,
    ids=lambda c: (
        f"s{c['seed']}-{c['in_features']}x{c['out_features']}-"
        f"{','.join(map(str, c['input_shape']))}-{c['dtype']}-{c['upstream']}"
        f"{'' if c['bias'] else '-nobias'}"
    ),
)
def test_backward_gives_torchs_gradients(case: dict) -> None:
    dtype, run = case["dtype"], run_of(case)
    g = unhex(case["g"], dtype).reshape(run.y.shape)
    grads = backward(run, g if case["upstream"] == "given" else case["upstream"])
    assert grads.source == case["upstream"]
    # the upstream: ones, given, or torch.randn(*y.shape) drawn after x on the same generator
    if case["upstream"] != "seed" or g.size < 16:
        np.testing.assert_array_equal(grads.upstream, g)  # bit for bit
    else:  # torch's vectorised randn: the goals of torch_rng (NumPy's log may differ by an ulp)
        atol = 1e-6 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(grads.upstream, g, rtol=0, atol=atol)
    assert grads.upstream.dtype == run.y.dtype
    for key in ("grad_weight", "grad_bias", "grad_input"):
        ours = getattr(grads, key)
        if case[key] is None:
            assert ours is None
            continue
        assert ours.dtype == run.y.dtype
        assert_close(ours.reshape(-1), unhex(case[key], dtype), dtype)
    assert grads.grad_weight.shape == run.layer.weight.shape
    assert grads.grad_input.shape == run.x.shape


def test_ones_upstream_is_the_sum_of_y() -> None:
    """L = y.sum(): ∂L/∂b_i counts the rows, ∂L/∂w_ij sums x's column j, ∂L/∂x_sj sums w's j."""
    run = forward(3, 2, input_shape=(2, 4, 3), seed=5, dtype="float64")
    grads = backward(run)
    x2 = run.x.reshape(-1, 3)
    np.testing.assert_array_equal(grads.upstream, np.ones((2, 4, 2)))
    np.testing.assert_array_equal(grads.grad_bias, [8.0, 8.0])
    np.testing.assert_allclose(grads.grad_weight, np.tile(x2.sum(axis=0), (2, 1)), rtol=1e-14)
    np.testing.assert_allclose(
        grads.grad_input, np.broadcast_to(run.layer.weight.sum(axis=0), (2, 4, 3)), rtol=1e-14
    )
    assert grads.loss == pytest.approx(float(run.y.sum()), rel=1e-14)


def test_seed_upstream_leaves_the_run_alone_and_follows_a_given_input() -> None:
    run = forward(3, 2, input_shape=(5, 3), seed=1)
    first, second = seed_upstream(run), seed_upstream(run)
    np.testing.assert_array_equal(first, second)  # a copy of the generator is drawn from
    after_x = Linear(3, 2, seed=1).generator
    assert after_x is not None
    after_x.randn((5, 3))
    np.testing.assert_array_equal(first, after_x.randn((5, 2)))
    # given input: nothing is drawn after the init, so G is the first randn after it
    given = forward(3, 2, x=run.x, seed=1)
    after_init = Linear(3, 2, seed=1).generator
    assert after_init is not None
    np.testing.assert_array_equal(seed_upstream(given), after_init.randn((5, 2)))


def test_given_upstream_is_cast_to_the_runs_dtype() -> None:
    run = forward(3, 2, input_shape=(4, 3), seed=0)
    g = np.arange(8, dtype=np.float64).reshape(4, 2) / 3
    grads = backward(run, g)
    assert grads.upstream.dtype == np.float32 and grads.source == "given"
    np.testing.assert_array_equal(grads.upstream, g.astype(np.float32))
    assert backward(run, np.ones((4, 2), dtype=np.int64)).upstream.dtype == np.float32


@pytest.mark.parametrize(
    ("upstream", "message"),
    [
        (
            np.ones((2, 4)),
            "the upstream gradient has shape (2, 4), but y = layer(x) has shape (4, 2)",
        ),
        (np.ones(8), "has shape (8,), but y"),
        (np.array([["a", "b"]] * 4), "has dtype <U1, not real numbers"),
        ("zeros", "unknown upstream gradient 'zeros'"),
    ],
)
def test_upstream_errors(upstream: object, message: str) -> None:
    run = forward(3, 2, input_shape=(4, 3))
    with pytest.raises(LinexplainError) as err:
        backward(run, upstream)  # type: ignore[arg-type]
    assert message in err.value.message
    assert err.value.hint and "\n" not in str(err.value)


def test_seed_upstream_needs_a_generator() -> None:
    run = dataclasses.replace(forward(3, 2), generator=None)
    with pytest.raises(LinexplainError, match="no random generator"):
        backward(run, "seed")


def test_json_contract() -> None:
    run = forward(3, 2, input_shape=(4, 3), seed=0)
    data = json.loads(json.dumps(backward(run, "seed").as_dict()))
    grad_keys = {"upstream", "upstream_source", "loss", "grad_weight", "grad_bias", "grad_input"}
    assert set(data) == RUN_KEYS | grad_keys
    assert data["upstream_source"] == "seed"
    assert np.array(data["grad_weight"]).shape == (2, 3)
    assert np.array(data["grad_bias"]).shape == (2,)
    assert np.array(data["grad_input"]).shape == (4, 3)
    assert np.array(data["upstream"]).shape == (4, 2)
    grads = backward(run, "seed")
    np.testing.assert_array_equal(np.array(data["grad_input"], np.float32), grads.grad_input)
    assert "y.backward(g)" in data["torch"]
    no_bias = backward(forward(3, 2, bias=False)).as_dict()
    assert no_bias["grad_bias"] is None and no_bias["bias"] is None


def test_torch_snippet_text() -> None:
    snippet = backward(forward(3, 2, input_shape=(4, 3), seed=0)).torch_snippet()
    assert snippet.splitlines() == [
        "import torch",
        "",
        "torch.manual_seed(0)",
        "layer = torch.nn.Linear(3, 2)",
        "x = torch.randn(4, 3)",
        "x.requires_grad_()  # so that backward() fills x.grad",
        "y = layer(x)",
        "y.sum().backward()  # L = y.sum(), so G = dL/dy is all ones",
        "print(layer.weight.grad)  # dL/dW = G^T x: (2, 3), like W",
        "print(layer.bias.grad)  # dL/db = G summed over rows: (2,), like b",
        "print(x.grad)  # dL/dx = G W: (4, 3), like x",
    ]
    no_bias = backward(forward(3, 2, bias=False), np.ones((4, 2))).torch_snippet()
    assert "layer.bias.grad" not in no_bias
    assert "g = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])" in no_bias


def test_a_seeded_upstream_uses_the_seed_even_with_given_weights_and_input() -> None:
    request = Request(x=np.ones((2, 3)), weight=np.eye(3)[:2], seed=4, upstream="seed")
    doc = explain.grad(request)
    assert prose(doc.title, "text").endswith("  seed 4, float32")  # G is drawn from it
    assert "torch.manual_seed(4)" in doc.result.torch_snippet()  # else torch.randn is not G
    ones = explain.grad(dataclasses.replace(request, upstream="ones"))
    assert prose(ones.title, "text").endswith("  no seed used (weights and input given), float32")
    assert "manual_seed" not in ones.result.torch_snippet()


# --- finite differences ----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES[::4], ids=lambda c: f"s{c['seed']}-{c['dtype']}")
def test_finite_differences_agree(case: dict) -> None:
    run = run_of(case)
    grads = backward(run, case["upstream"] if case["upstream"] != "given" else "seed")
    error = finite_difference_check(grads)
    scale = max(
        1.0, float(np.abs(run.x).max(initial=0)), float(np.abs(grads.upstream).max(initial=0))
    )
    assert error <= (1e-5 if case["dtype"] == "float32" else 1e-9) * scale * 10, error


@pytest.mark.parametrize("key", ["grad_weight", "grad_bias", "grad_input"])
def test_finite_differences_catch_a_wrong_entry(key: str) -> None:
    run = forward(4, 3, input_shape=(2, 3, 4), seed=3, dtype="float64")
    grads = backward(run, "seed")
    assert finite_difference_check(grads, max_entries=100) < 1e-10
    for flat in range(getattr(grads, key).size):  # every entry is checked when they all fit
        wrong = getattr(grads, key).copy()
        wrong.reshape(-1)[flat] += 0.25
        bad = dataclasses.replace(grads, **{key: wrong})
        expected = 0.25 / max(1.0, abs(float(wrong.reshape(-1)[flat])))  # relative above 1
        assert finite_difference_check(bad, max_entries=100) == pytest.approx(expected, abs=1e-9)


def test_finite_differences_are_bounded_and_handle_empty_tensors() -> None:
    big = backward(forward(1024, 1024, input_shape=(256, 1024), seed=0), "seed")
    start = time.perf_counter()
    assert finite_difference_check(big) < 1e-4
    assert time.perf_counter() - start < 1.0  # 32 entries per tensor, not 1.3 million
    assert finite_difference_check(backward(forward(3, 2, input_shape=(0, 3)))) == 0.0
    # with one entry per tensor, a wrong entry elsewhere goes unseen: the check is a sample
    grads = backward(forward(3, 2, input_shape=(4, 3), seed=0))
    wrong = grads.grad_input.copy()
    wrong += 1.0
    assert (
        finite_difference_check(dataclasses.replace(grads, grad_input=wrong), max_entries=1) > 0.9
    )


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_an_overflowed_gradient_is_not_passed_as_checked() -> None:
    run = forward(x=[[3e38], [3e38]], weight=[[1.0]], bias=False)  # float32: dL/dW = 6e38 = inf
    grads = backward(run)
    assert np.isinf(grads.grad_weight).all()
    assert not finite_difference_check(grads) < 1  # nan: no number can vouch for inf


def test_finite_differences_scale_with_huge_entries() -> None:
    """A fixed step of 1e-3 is lost in 1e30 (the differences come out 0); a scaled one is not."""
    huge = np.full((1, 3), 1e30)
    run = forward(x=huge * [[1, -1, 1]], weight=huge, dtype="float64")
    assert finite_difference_check(backward(run)) < 1e-12


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eps": 0.0}, "eps must be a positive number"),
        ({"eps": float("nan")}, "eps must be a positive number"),
        ({"max_entries": 0}, "max_entries must be a whole number >= 1"),
    ],
)
def test_finite_difference_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(LinexplainError, match=message):
        finite_difference_check(backward(forward(3, 2)), **kwargs)


def test_a_big_given_upstream_is_a_placeholder_in_the_snippet() -> None:
    run = forward(3, 2, input_shape=(40, 3))
    snippet = backward(run, np.zeros((40, 2))).torch_snippet()
    assert "g = torch.from_numpy(...)  # your upstream gradient, shape (40, 2)\n" in snippet


# --- shapes and costs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "bias", "rows", "macs", "adds"),
    [
        ((4, 3), True, 4, 24, 8),
        ((3,), True, 1, 6, 2),
        ((2, 5, 7, 3), False, 70, 420, 0),
        ((0, 3), True, 0, 0, 0),
        (("N", "C", 3), True, "N*C", "6*N*C", "2*N*C"),  # the names in the input's order
    ],
)
def test_grad_shapes(shape: tuple, bias: bool, rows: object, macs: object, adds: object) -> None:
    report = explain_shape(shape, 3, 2, bias=bias)  # in_features 3, out_features 2
    gs = GradShapes(report)
    data = json.loads(json.dumps(gs.as_dict()))
    assert data["upstream_shape"] == [*shape[:-1], 2]
    assert data["grad_weight_shape"] == [2, 3]
    assert data["grad_bias_shape"] == ([2] if bias else None)
    assert data["grad_input_shape"] == list(shape)
    assert (data["rows"], data["grad_weight_macs"], data["grad_bias_adds"]) == (rows, macs, adds)
    assert data["grad_input_macs"] == data["forward_macs"] == macs
    assert gs.backward_macs == report.macs * 2  # twice the forward's
    assert isinstance(gs.backward_macs, Product)
    assert data["backward_macs"] == gs.backward_macs.value()


leading_dims = st.lists(st.integers(min_value=0, max_value=3), max_size=3)
features = st.integers(min_value=1, max_value=5)


@settings(max_examples=40, deadline=None)
@given(leading_dims, features, features, st.booleans())
def test_grad_shapes_agree_with_the_numbers(leading: list, in_f: int, out_f: int, bias: bool):
    shape = (*leading, in_f)
    report = explain_shape(shape, in_f, out_f, bias=bias)
    gs = GradShapes(report)
    grads = backward(forward(in_f, out_f, bias=bias, input_shape=shape))
    assert grads.upstream.shape == gs.upstream_shape
    assert grads.grad_weight.shape == gs.grad_weight_shape
    assert (None if grads.grad_bias is None else grads.grad_bias.shape) == gs.grad_bias_shape
    assert grads.grad_input.shape == gs.grad_input_shape
    rows = math.prod(leading)
    assert gs.grad_weight_macs == gs.grad_input_macs == Product(rows * in_f * out_f)
    assert gs.grad_bias_adds == Product(rows * out_f if bias else 0)
    assert all(line.isascii() for line in lines_of(report, "ascii"))


def lines_of(report, style: str = "text") -> list[str]:
    """``grad_lines`` written by the text writer."""
    return [prose(line, style) for line in grad_lines(report)]


def test_grad_lines() -> None:
    assert lines_of(explain_shape((4, 3), 3, 2)) == [
        "G = ∂L/∂y has y's shape (4, 2); 4 rows: x is (4 × 3), G is (4 × 2)",
        "∂L/∂W = Gᵀ⋅x: (2 × 4)⋅(4 × 3) = (2 × 3), W's shape (layer.weight)   24 MACs",
        "∂L/∂b = G summed over its 4 rows: (2,), b's shape (layer.bias)   8 adds",
        "∂L/∂x = G⋅W: (4 × 2)⋅(2 × 3) = (4 × 3), unfolded to x's shape (4, 3)   24 MACs",
        "backward: 48 MACs = 2 × the forward's 24 MACs",
    ]
    assert lines_of(explain_shape((3,), 3, 2))[0] == (
        "G = ∂L/∂y has y's shape (2,); one row: a 1-D x is a single sample: "
        "x is (1 × 3), G is (1 × 2)"
    )
    named = explain_shape(("N", "C", 3), 3, 2, bias=False, dims={"C": 3})
    lines = lines_of(named, "ascii")
    assert lines[0].startswith("G = dL/dy has y's shape (N, C, 2); the leading dims (N, C) fold")
    assert "fold into 3*N rows: x is (3*N x 3), G is (3*N x 2)" in lines[0]  # C = 3
    assert not any("dL/db" in line for line in lines)  # no bias
    assert lines[-1] == "backward: 36*N MACs = 2 x the forward's 18*N MACs"
    assert all(line.isascii() for line in lines)
    assert lines_of(named)[-1] == "backward: 36·N MACs = 2 × the forward's 18·N MACs"


def test_grad_shapes_and_lines_load_neither_numpy_nor_sympy() -> None:
    code = (
        "import sys; from linexplain.layers import GradShapes, explain_shape; "
        "from linexplain.lessons import grad_lines; from linexplain.output.text import prose; "
        "r = explain_shape((4, 3), 3, 2); GradShapes(r).as_dict(); "
        "[prose(line, 'text') for line in grad_lines(r)]; "
        "print(sorted({'numpy', 'sympy'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the formulas (sympy) --------------------------------------------------------------------


def written(forms: GradForms, block: Block | None, style: str = "text") -> list[str]:
    """A gradient's rows as the text writer writes them."""
    assert block is not None
    return math_lines(block_math(block, forms.notation), style)


def compact(forms: GradForms, style: str = "text") -> list[str]:
    """The three formulas for general indices, as the text writer writes them."""
    block = grad_formula_sections(forms)[0].blocks[0]
    assert isinstance(block, Math)
    return math_lines(block, style)


def formulas(forms: GradForms) -> list[dict[str, str]]:
    """What ``grad --json`` writes under "formulas" ({text, latex} for each section)."""
    blocks = [section.blocks[0] for section in grad_formula_sections(forms)]
    return [resolve(Rendered(block)) for block in blocks if isinstance(block, Math)]


def table(names: set[str]) -> dict[str, sympy.Basic]:
    """parse_expr's local_dict for our own str() output: every name a plain Symbol."""
    return {name: sympy.Symbol(name) for name in names} | {"Sum": sympy.Sum}


def names_in(rows: list[dict]) -> set[str]:
    """The names in the rows' lhs and rhs: the identifiers of sympy's str()."""
    return {
        name for row in rows for name in re.findall(r"[A-Za-z_]\w*", row["lhs"] + " " + row["rhs"])
    }


@pytest.mark.parametrize(
    ("in_f", "out_f", "samples", "base", "bias"),
    [(3, 2, 4, 1, True), (2, 3, 1, 0, False), (4, 1, 3, 1, True), (2, 2, 2, 0, True)],
)
def test_rows_parse_back_to_the_definitions(
    in_f: int, out_f: int, samples: int, base: int, bias: bool
) -> None:
    forms = grad_forms(in_f, out_f, samples, bias, View(index_base=base, max_terms=100))
    assert not forms.elided
    blocks = [forms.grad_weight, forms.grad_input, *([forms.grad_bias] if forms.grad_bias else [])]
    rows = [{"lhs": str(row.lhs), "rhs": str(row.rhs)} for block in blocks for row in block.rows]
    t = table(names_in(rows))
    samples_, outs, ins = (range(base, base + k) for k in (samples, out_f, in_f))

    def sym(*parts: object) -> sympy.Symbol:
        return sympy.Symbol("_".join(map(str, parts)))

    expected = {}
    for i in outs:
        for j in ins:
            expected[f"dL_dw_{i}_{j}"] = sum(sym("g", s, i) * sym("x", s, j) for s in samples_)
        if bias:
            expected[f"dL_db_{i}"] = sum(sym("g", s, i) for s in samples_)
    for s in samples_:
        for j in ins:
            expected[f"dL_dx_{s}_{j}"] = sum(sym("g", s, i) * sym("w", i, j) for i in outs)
    assert sorted(row["lhs"] for row in rows) == sorted(expected)  # every entry, once
    for row in rows:
        assert parse_expr(row["rhs"], local_dict=t) == expected[row["lhs"]]  # our own output
    assert (forms.grad_bias is None) == (not bias)


def test_rows_with_the_numbers_put_in_are_the_gradients() -> None:
    run = forward(3, 2, input_shape=(4, 3), seed=0, dtype="float64")
    grads = backward(run, "seed")
    forms = grad_forms(3, 2, 4, view=View(index_base=0, max_terms=20))
    values = {}
    for s in range(4):
        for i in range(2):
            values[sympy.Symbol(f"g_{s}_{i}")] = grads.upstream[s, i]
        for j in range(3):
            values[sympy.Symbol(f"x_{s}_{j}")] = run.x[s, j]
    for i in range(2):
        for j in range(3):
            values[sympy.Symbol(f"w_{i}_{j}")] = run.layer.weight[i, j]
    assert forms.grad_bias is not None
    for row in forms.grad_weight.rows:
        i, j = divmod(row.index, 3)
        assert float(row.rhs.subs(values)) == pytest.approx(grads.grad_weight[i, j], abs=1e-12)
    for row in forms.grad_bias.rows:
        assert float(row.rhs.subs(values)) == pytest.approx(grads.grad_bias[row.index], abs=1e-12)
    for row in forms.grad_input.rows:
        s, j = divmod(row.index, 3)
        assert float(row.rhs.subs(values)) == pytest.approx(grads.grad_input[s, j], abs=1e-12)


def test_forms_text_for_the_issue_example() -> None:
    forms = grad_forms(3, 2, 4)
    assert compact(forms) == [
        "∂L/∂wᵢⱼ = Σₛ₌₁⁴ gₛᵢ⋅xₛⱼ   for i = 1, …, 2; j = 1, …, 3",
        "∂L/∂bᵢ = Σₛ₌₁⁴ gₛᵢ        for i = 1, …, 2",
        "∂L/∂xₛⱼ = Σᵢ₌₁² gₛᵢ⋅wᵢⱼ   for s = 1, …, 4; j = 1, …, 3",
    ]
    assert compact(forms, "ascii")[0] == (
        "dL/dw_ij = sum_{s=1}^{4} g_si*x_sj   for i = 1, ..., 2; j = 1, ..., 3"
    )
    assert formulas(forms)[0]["latex"].splitlines()[1] == (
        r"\frac{\partial L}{\partial w_{ij}} &= \sum_{s=1}^{4} g_{si} x_{sj}, "
        r"\quad i = 1, \dots, 2; j = 1, \dots, 3 \\"
    )
    assert written(forms, forms.grad_weight)[0] == "∂L/∂w₁₁ = g₁₁⋅x₁₁ + g₂₁⋅x₂₁ + g₃₁⋅x₃₁ + g₄₁⋅x₄₁"
    assert written(forms, forms.grad_bias) == [
        "∂L/∂b₁ = g₁₁ + g₂₁ + g₃₁ + g₄₁",
        "∂L/∂b₂ = g₁₂ + g₂₂ + g₃₂ + g₄₂",
    ]
    lines = written(forms, forms.grad_input)  # 12 entries: 7, ⋮, the last
    assert lines[0] == "∂L/∂x₁₁ = g₁₁⋅w₁₁ + g₁₂⋅w₂₁"
    assert lines[-3:] == [
        "      ⋮",
        "∂L/∂x₄₃ = g₄₁⋅w₁₃ + g₄₂⋅w₂₃",
        "(hidden: 4 of the 12 rows (∂L/∂x₃₂ … ∂L/∂x₄₂))",
    ]
    assert written(forms, forms.grad_input, "ascii")[-1] == (
        "(hidden: 4 of the 12 rows (dL/dx_32 ... dL/dx_42))"
    )
    # the JSON "formulas" are these same lines, and LaTeX for each
    assert [f["text"] for f in formulas(forms)] == [
        "\n".join(compact(forms)),
        *("\n".join(written(forms, b)) for b in (forms.grad_weight, forms.grad_bias)),
        "\n".join(written(forms, forms.grad_input)),
    ]


def test_big_layers_are_elided_and_cheap() -> None:
    start = time.perf_counter()
    forms = grad_forms(4096, 4096, 32)
    text = "\n".join(
        line for block in (forms.grad_weight, forms.grad_input, forms.grad_bias)
        for line in written(forms, block)
    )  # fmt: skip
    latex = [f["latex"] for f in formulas(forms)]
    assert time.perf_counter() - start < 2.0
    assert forms.elided and len(forms.grad_weight.rows) == 8 and len(forms.grad_input.rows) == 8
    assert "(hidden: 24 of the 32 terms of each row (⋯); 16,777,208 of the 16,777,216 rows" in text
    assert all(r"\vdots" in block for block in latex[1:])
    # an elided row's rhs is a Sum over the hidden axis (for display)
    t = table({"g_s_1", "x_s_1", "s", "g_1_i", "w_i_1", "i"})
    assert parse_expr(str(forms.grad_weight.rows[0].rhs), local_dict=t) == sympy.Sum(
        t["g_s_1"] * t["x_s_1"], (t["s"], 1, 32)
    )
    assert str(forms.grad_input.rows[0].rhs) == "Sum(g_1_i*w_i_1, (i, 1, 4096))"
    assert str(forms.grad_weight.rows[0].lhs) == "dL_dw_1_1"


def test_indices_get_commas_when_any_axis_reaches_10_and_layers_show() -> None:
    ten = grad_forms(2, 2, 10, view=View(max_terms=20, full=True))
    assert "g₁₀,₁" in "\n".join(written(ten, ten.grad_bias))
    nine = grad_forms(2, 2, 9)
    assert "g₂₁" in "\n".join(written(nine, nine.grad_bias))
    layered = compact(grad_forms(3, 2, 4, view=View(layer=2)))
    assert layered[0].startswith("∂L/∂wᵢⱼ⁽²⁾ = Σₛ₌₁⁴ gₛᵢ⁽²⁾⋅xₛⱼ ")
    assert "∂L/∂xₛⱼ = Σᵢ₌₁² gₛᵢ⁽²⁾⋅wᵢⱼ⁽²⁾" in layered[-1]  # x is layer l-1's
    no_bias = compact(grad_forms(3, 2, 4, bias=False))
    assert len(no_bias) == 2 and "b" not in "\n".join(no_bias).replace("∂L/∂", "")


def test_numpy_ints_for_counts_and_options() -> None:
    as_numpy = grad_forms(
        np.int64(3), np.int32(2), np.int64(4), view=View(max_terms=np.int64(4), layer=np.int8(1))
    )
    assert formulas(as_numpy) == formulas(grad_forms(3, 2, 4, view=View(max_terms=4, layer=1)))
    assert type(as_numpy.samples) is int and type(as_numpy.view.max_terms) is int
    grads = backward(forward(3, 2, seed=1))
    assert finite_difference_check(grads, max_entries=np.int64(4)) < 1e-4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples": 0}, "samples must be a whole number >= 1 (got 0)"),
        ({"samples": True}, "samples: True is not a whole number"),
        ({"in_features": 0}, "in_features must be at least 1"),
        ({"max_terms": 1}, "max terms must be at least 2"),
        ({"index_base": 2}, "index base must be 1 or 0"),
        ({"full": True, "samples": 1000}, "takes 36,000 terms"),
        ({"max_terms": 100, "in_features": 100, "samples": 100}, "takes 10,000 terms"),
    ],
)
def test_form_errors(kwargs: dict, message: str) -> None:
    args = {"in_features": 3, "out_features": 12, "samples": 4} | kwargs
    view = {key: args.pop(key) for key in ("max_terms", "index_base", "full") if key in args}
    with pytest.raises(LinexplainError) as err:
        grad_forms(**args, view=View(**view))
    assert message in err.value.message
    assert err.value.hint and "\n" not in str(err.value)


def test_grad_forms_elide_as_expand_does() -> None:
    """One default view: by default the gradients show as many entries as expand does."""
    default = inspect.signature(grad_forms).parameters["view"].default
    assert default == inspect.signature(expand).parameters["view"].default == View()
    forms, expansion = grad_forms(20, 20, 20), expand(20, 20)
    assert forms.grad_bias is not None
    assert forms.grad_bias.axis == expansion.scalar.axis  # the outputs: 1 … 7, gap, 20
    assert forms.grad_bias.terms == expansion.scalar.terms


def test_grad_command_json_and_result() -> None:
    """``grad --json``: run's keys, the gradients, the index base, the shapes and formulas."""
    request = Request(in_features=3, out_features=2, input_shape=(4, 3), seed=0, upstream="seed")
    doc = explain.grad(request)
    data = json.loads(json.dumps(resolve(doc.data)))
    grad_keys = {"upstream", "upstream_source", "loss", "grad_weight", "grad_bias", "grad_input"}
    assert set(data) == RUN_KEYS | grad_keys | {"index_base", "shapes", "formulas"}
    assert data["index_base"] == 1 and data["upstream_source"] == "seed"
    assert data["shapes"] == GradShapes(explain_shape((4, 3), 3, 2)).as_dict()
    assert list(data["formulas"]) == ["compact", "grad_weight", "grad_bias", "grad_input"]
    assert [data["formulas"][key] for key in data["formulas"]] == formulas(grad_forms(3, 2, 4))
    grads = doc.result  # the Gradients, for the API
    assert grads is not None and grads.source == "seed"
    np.testing.assert_array_equal(np.array(data["grad_input"], np.float32), grads.grad_input)
    direct = backward(forward(3, 2, input_shape=(4, 3), seed=0), "seed").as_dict()
    assert {key: data[key] for key in direct} == json.loads(json.dumps(direct))


# --- live torch (skipped without torch, required in CI) --------------------------------------


def torch_grads(torch, run, upstream: np.ndarray):
    """Autograd on the run's own layer and input (torch.from_numpy: the same numbers)."""
    weight = torch.from_numpy(run.layer.weight.copy()).requires_grad_()
    bias = (
        None if run.layer.bias is None else torch.from_numpy(run.layer.bias.copy()).requires_grad_()
    )
    x = torch.from_numpy(run.x.copy()).requires_grad_()
    y = torch.nn.functional.linear(x, weight, bias)
    y.backward(torch.from_numpy(upstream.copy()))
    return weight.grad.numpy(), None if bias is None else bias.grad.numpy(), x.grad.numpy()


def test_live_random_cases_match_autograd(torch) -> None:
    rng = np.random.default_rng(11)
    for n in range(40):
        dtype = ("float32", "float64")[n % 2]
        i, o = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        shape = (*rng.integers(0 if n == 7 else 1, 6, size=int(rng.integers(0, 4))).tolist(), i)
        seed = int(rng.integers(0, 2**63))
        run = forward(i, o, bias=bool(n % 3), seed=seed, dtype=dtype, input_shape=tuple(shape))
        upstream = ("ones", "seed", rng.standard_normal(run.y.shape))[n % 3]
        grads = backward(run, upstream)
        theirs = torch_grads(torch, run, grads.upstream)
        for ours, their in zip(
            (grads.grad_weight, grads.grad_bias, grads.grad_input), theirs, strict=True
        ):
            if their is None:
                assert ours is None
            else:
                assert_close(ours, their, dtype)


def given_weights(dtype: str = "float32"):
    """A run with a given input, weight and bias (written into the snippet as tensors)."""
    weight = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
    x, b = np.array([[1.0, 2.0, 3.0]]), np.array([1.0, 2.0])
    return forward(x=x, weight=weight, bias_values=b, seed=4, dtype=dtype)


SNIPPET_CASES = {
    "ones": lambda: backward(forward(3, 2, input_shape=(4, 3), seed=0)),
    "seed": lambda: backward(forward(3, 2, input_shape=(4, 3), seed=0), "seed"),
    "1d-spare-normal": lambda: backward(
        forward(3, 5, input_shape=(3,), seed=7, bias=False), "seed"
    ),
    "rank3-f64": lambda: backward(
        forward(6, 4, input_shape=(2, 3, 6), seed=-3, dtype="float64"), "seed"
    ),
    "given-g": lambda: backward(
        forward(8, 2, input_shape=(5, 8), seed=2**63), np.linspace(-1, 1, 10).reshape(5, 2)
    ),
    "given-weights": lambda: backward(given_weights(), "seed"),
    "given-weights-f64": lambda: backward(given_weights("float64"), "seed"),
    "given-no-bias": lambda: backward(
        forward(x=np.ones((2, 3)), weight=np.eye(3)[:2], seed=4), "seed"
    ),
}


@pytest.mark.parametrize("name", SNIPPET_CASES)
def test_live_torch_snippet_gives_the_same_gradients(torch, name: str) -> None:
    grads = SNIPPET_CASES[name]()
    scope: dict = {}
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()) as printed:
            warnings.simplefilter("ignore")
            exec(grads.torch_snippet(), scope)  # noqa: S102 - our own generated snippet, run in torch
    finally:
        torch.set_default_dtype(torch.float32)
    dtype = grads.run.dtype
    assert "tensor(" in printed.getvalue()
    layer, x = scope["layer"], scope["x"]
    assert_close(layer.weight.grad.numpy(), grads.grad_weight, dtype)
    assert_close(x.grad.numpy(), grads.grad_input, dtype)
    if grads.grad_bias is None:
        assert layer.bias is None
    else:
        assert_close(layer.bias.grad.numpy(), grads.grad_bias, dtype)
    if grads.source == "seed":
        np.testing.assert_allclose(scope["g"].numpy(), grads.upstream, rtol=0, atol=1e-6)
