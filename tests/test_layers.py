"""The last-dim rule, checked against real torch (fixtures and live), its exact counts, the
Linear layer kind and a network of layers."""

from __future__ import annotations

import json
import math
import random
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from linexplain.counts import DTYPE_BYTES, Product
from linexplain.errors import LinexplainError
from linexplain.layers import Linear, explain_shape
from linexplain.network import Network

FIXTURES = json.loads((Path(__file__).parent / "data" / "shape_rule.json").read_text())


def ours(case: dict) -> dict:
    """What linexplain says of a fixture case: the output shape or the error message."""
    try:
        report = explain_shape(
            tuple(case["input_shape"]), case["in"], case["out"], bias=case["bias"]
        )
    except LinexplainError as error:
        return {"error": error.message}
    return {"output_shape": list(report.output_shape), "flop_counter": report.torch_flop_counter}


def test_fixtures_come_from_torch_2_13() -> None:
    assert FIXTURES["torch"].startswith("2.13.0")
    assert len(FIXTURES["cases"]) >= 400
    assert sum("error" in case for case in FIXTURES["cases"]) >= 50


@pytest.mark.parametrize("case", FIXTURES["cases"], ids=lambda c: f"{c['input_shape']}-{c['in']}")
def test_rule_matches_torch(case: dict) -> None:
    got = ours(case)
    if "error" in case:
        assert case["error"] in got["error"]  # torch's own words come first
    else:
        assert got["output_shape"] == case["output_shape"]
        assert got["flop_counter"].coeff == case["flop_counter"]


def test_rule_matches_live_torch(torch) -> None:
    rng = random.Random(7)
    for _ in range(200):
        shape = [rng.randint(0, 5) for _ in range(rng.randint(0, 4))]
        in_features = shape[-1] if shape and rng.random() < 0.6 else rng.randint(0, 5)
        out_features, bias = rng.randint(0, 5), rng.random() < 0.5
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layer = torch.nn.Linear(in_features, out_features, bias=bias)
        case = {"input_shape": shape, "in": in_features, "out": out_features, "bias": bias}
        try:
            expected = list(layer(torch.zeros(shape)).shape)
        except RuntimeError as error:
            assert str(error).splitlines()[0] in ours(case)["error"]
        else:
            assert ours(case)["output_shape"] == expected


def test_seed_example_symbolic() -> None:
    report = explain_shape(("N", "C", 3), 3, 3)
    data = report.as_dict()
    assert data["output_shape"] == ["N", "C", 3]
    assert data["weight_shape"] == [3, 3] and data["bias_shape"] == [3]
    assert data["params"] == 12
    # Names in the input's dim order, as the rows N*C are written: 9*N*C, not sympy's 9*C*N.
    assert (data["macs"], data["bias_adds"], data["flops"]) == ("9*N*C", "3*N*C", "21*N*C")
    assert data["memory"] == {"params_bytes": 48, "input_bytes": "12*N*C", "output_bytes": "12*N*C"}
    assert data["other_tools"] == {
        "torchinfo_mult_adds": "12*N*C",
        "torch_flop_counter_flops": "18*N*C",
    }
    assert [(d["index"], d["size"]) for d in data["dim_roles"]] == [(0, "N"), (1, "C"), (2, 3)]
    assert [d["role"].split(":")[0] for d in data["dim_roles"]] == [
        "sample matrices",
        "samples",
        "features of one sample (in_features)",
    ]


def test_in_features_come_first() -> None:
    """nn.Linear's order: explain_shape(shape, in_features, out_features)."""
    report = explain_shape((5, 3), 3, 4)
    assert (report.in_features, report.out_features, report.output_shape) == (3, 4, (5, 4))
    assert report.weight_shape == (4, 3)
    assert explain_shape((5, 3), out_features=4, in_features=3) == report
    with pytest.raises(LinexplainError, match=re.escape("(5x3 and 4x3)")):
        explain_shape((5, 3), 4, 3)


def test_no_bias() -> None:
    data = explain_shape((2, 3), 3, 4, bias=False).as_dict()
    assert data["bias_shape"] is None
    assert (data["params"], data["bias_adds"], data["macs"], data["flops"]) == (12, 0, 24, 48)


def test_one_d_and_zero_size() -> None:
    assert explain_shape((3,), None, 5).output_shape == (5,)
    assert explain_shape((3,), None, 5).macs.coeff == 15
    report = explain_shape((7, 0, 3), 3, 5)
    assert report.output_shape == (7, 0, 5) and report.macs.value() == 0
    assert explain_shape(("N", 0, 3), 3, 5).macs.value() == 0


def test_counts_are_exact_past_int64() -> None:
    report = explain_shape((100_000, 100_000, 100_000), None, 100_000, dtype="float64")
    assert report.macs.value() == 10**20
    assert report.flops.value() == 2 * 10**20 + 10**15
    assert report.memory()["output_bytes"].value() == 8 * 10**15
    assert type(report.macs.value()) is int


def test_named_last_dim_binds_to_in() -> None:
    report = explain_shape(("N", "F"), 3, 4)
    assert report.bindings == {"F": 3}
    assert report.output_shape == ("N", 4)
    with pytest.raises(LinexplainError, match="in_features is unknown"):
        explain_shape(("N", "F"), None, 4)


def test_dims_make_counts_concrete() -> None:
    report = explain_shape(("N", "C", 3), 3, 3, dims={"N": 5, "C": 6})
    assert report.as_dict()["macs"] == 270
    assert report.as_dict()["input_shape"] == ["N", "C", 3]


def test_numpy_ints_become_python_ints() -> None:
    report = explain_shape(("N", np.int64(10**10)), None, np.int64(10**10), dims={"N": np.int32(3)})
    assert report.as_dict()["params"] == 10**20 + 10**10  # exact, not wrapped at int64
    assert report.as_dict()["macs"] == 3 * 10**20
    assert type(report.input_shape[1]) is int
    assert type(report.out_features) is int and type(report.bindings["N"]) is int


def test_repeated_names_are_powers() -> None:
    assert explain_shape(("N", "N", 3), None, 3).as_dict()["macs"] == "9*N**2"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (((5, 6, 4), 3, 3), {}, "mat1 and mat2 shapes cannot be multiplied (30x4 and 3x3)"),
        ((("N", "C", 4), 3, 3), {}, "(N*Cx4 and 3x3)"),
        ((("N", 5, 4), 3, 3), {}, "(5*Nx4 and 3x3)"),
        (((4,), 3, 5), {}, "(1x4 and 3x5)"),
        (((), 3, 3), {}, "but they are 0D and 2D"),
        ((("N", "F"), 3, 3), {"dims": {"F": 4}}, "(Nx4 and 3x3): the last dim F = 4 must"),
        ((("N", 3), 3, 3), {"dims": {"C": 4}}, "--dims names C"),
        (((3,), 3, 3), {"dtype": "int8"}, "unknown dtype"),
        (((3,), 3, -1), {}, "out_features (--out): -1 is out of range"),
        (((4, 3), None, True), {}, "True is not a whole number"),
        (((4, 3), None, None), {}, "out_features is unknown"),
        (((4, 3), None, 2.0), {}, "2.0 is not a whole number"),
        (((4, 3), 2**63, 2), {}, "in_features (--in): 9223372036854775808 is out of range"),
        (((4, True), None, 2), {}, "dim 2 of 2: True is not a whole number"),
        ((("N", 3), None, 3), {"dims": {"N": -5}}, "size of N: -5 is out of range"),
        ((("N", 3), None, 3), {"dims": {"N": 2.5}}, "size of N: 2.5 is not a whole number"),
        ((("N", 3), None, 3), {"dims": {"N": 2**70}}, "is out of range"),
    ],
)
def test_refusals(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(LinexplainError) as caught:
        explain_shape(*args, **kwargs)
    assert message in caught.value.message
    assert caught.value.hint


def test_mismatch_explains_in_our_words() -> None:
    with pytest.raises(LinexplainError) as caught:
        explain_shape((5, 6, 4), 3, 3)
    assert "flatten into 30 rows" in caught.value.message
    assert "last dim 4 must equal in_features 3" in caught.value.message
    assert "--in 4" in caught.value.hint and "reshape" in caught.value.hint


name_st = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,6}", fullmatch=True)


FACTOR = re.compile(r"(?<!\*)\*(?!\*)")  # a product's "*", not a power's "**"


def assert_like_sympy(written: int | str, expected: sympy.Expr, order: list[str]) -> None:
    """``written`` (a count's JSON value) is ``expected`` as sympy's ``str()`` writes it, but
    with the names in their first-appearance order in ``order`` (the input's dims), not sorted."""
    if expected.is_number:
        assert written == int(expected)
        return
    assert isinstance(written, str)
    factors = FACTOR.split(written)
    assert sorted(factors) == sorted(FACTOR.split(str(expected)))
    assert not any(f.isdigit() for f in factors[1:])  # the coefficient first, if any
    names = [f.split("**")[0] for f in factors if not f.isdigit()]
    assert names == [name for name in dict.fromkeys(order) if name in names]


@given(
    st.integers(min_value=0, max_value=10**30),
    st.lists(st.tuples(name_st, st.integers(min_value=1, max_value=4)), max_size=5),
)
def test_product_prints_like_sympy_in_dim_order(coeff: int, factors: list) -> None:
    product = Product(coeff)
    expected = sympy.Integer(coeff)
    for name, power in factors:
        product = product * Product.of((name,) * power)
        expected *= sympy.Symbol(name) ** power
    assert_like_sympy(product.value(), expected, [name for name, _ in factors])
    assert str(product) == str(product.value())


def test_product_keeps_the_dim_order() -> None:
    assert str(Product.of(("N", "C")) * 9) == "9*N*C"
    assert str(Product.of(("seq", 4, "batch", "seq"))) == "4*seq**2*batch"
    assert str(Product.of(("N", 0, "C"))) == "0"


@given(
    st.lists(st.one_of(st.integers(0, 10**6), name_st), max_size=6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.booleans(),
    st.sampled_from(sorted(DTYPE_BYTES)),
)
def test_counts_follow_the_formulas(leading, in_f, out_f, bias, dtype) -> None:
    report = explain_shape((*leading, in_f), in_f, out_f, bias=bias, dtype=dtype)
    rows = sympy.Integer(1)
    for d in leading:
        rows *= sympy.Symbol(d) if isinstance(d, str) else d
    names = [d for d in leading if isinstance(d, str)]
    macs = rows * in_f * out_f
    data = report.as_dict()
    assert_like_sympy(data["macs"], macs, names)
    flops = 2 * macs + (rows * out_f if bias else 0)
    assert_like_sympy(data["flops"], flops, names)
    assert data["output_shape"] == [*leading, out_f]
    assert data["params"] == out_f * in_f + (out_f if bias else 0)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (None, "must be a tuple of dims, got NoneType"),
        (3, "must be a tuple of dims, got int"),
        ((np.array(4.0), 3), "array(4.) is not a whole number"),
        ((np.array([4]), 3), "is not a whole number"),
    ],
)
def test_shapes_that_are_not_shapes_are_our_error(shape: object, message: str) -> None:
    with pytest.raises(LinexplainError, match=re.escape(message)):
        explain_shape(shape, None, 2)  # type: ignore[arg-type]


# --- the layer kind: Linear -------------------------------------------------------------------


@pytest.mark.parametrize(("in_f", "out_f", "bias"), [(3, 2, True), (3, 2, False), (0, 5, True)])
def test_linear_is_what_torch_prints_and_builds(torch, in_f: int, out_f: int, bias: bool) -> None:
    layer = Linear(in_f, out_f, bias)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about a 0-element init
        module = torch.nn.Linear(in_f, out_f, bias=bias)
        built = eval(layer.torch_code, {"torch": torch})  # noqa: S307 - our own code, run in torch
    assert layer.module == repr(module) == repr(built)
    assert layer.params == sum(p.numel() for p in module.parameters())


def test_linear_texts() -> None:
    assert Linear(3, 2).module == "Linear(in_features=3, out_features=2, bias=True)"
    assert Linear(3, 2).torch_code == "torch.nn.Linear(3, 2)"
    assert Linear(3, 2, bias=False).torch_code == "torch.nn.Linear(3, 2, bias=False)"
    assert (Linear(3, 2).params, Linear(3, 2, bias=False).params) == (8, 6)
    assert Linear(10**10, 10**10).params == 10**20 + 10**10  # exact past int64


def test_linear_sizes_become_python_ints() -> None:
    layer = Linear(np.int64(3), np.int32(2))
    assert (type(layer.in_features), type(layer.out_features)) == (int, int)
    assert layer == Linear(3, 2)


@pytest.mark.parametrize(
    ("shape", "dims", "dtype"),
    [
        ((5, 3), None, "float32"),
        (("N", "C", 3), {"N": 4}, "float64"),
        (("N", "F"), None, "float16"),
    ],
)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_walk_is_explain_shape(
    shape: tuple, dims: dict | None, dtype: str, bias: bool
) -> None:
    report = Linear(3, 2, bias).walk(shape, dims, dtype)
    assert report == explain_shape(shape, 3, 2, bias=bias, dtype=dtype, dims=dims)
    assert report.output_shape == (*shape[:-1], 2) and report.bias is bias


def test_linear_without_in_features_reads_the_last_dim() -> None:
    report = Linear(None, 2).walk((4, 3))
    assert report.in_features == 3 and report.in_features_inferred


def test_linear_walk_refuses_as_torch_does() -> None:
    with pytest.raises(LinexplainError) as caught:
        Linear(3, 2).walk((5, 6, 4))
    assert "(30x4 and 3x2)" in caught.value.message and "--in 4" in caught.value.hint


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 2), "in_features (--in): -1 is out of range"),
        ((3, -2), "out_features (--out): -2 is out of range"),
        ((3, 2.0), "out_features (--out): 2.0 is not a whole number"),
        ((True, 2), "in_features (--in): True is not a whole number"),
        (("3", 2), "in_features (--in): '3' is not a whole number"),
        ((3, 2**63), "out_features (--out): 9223372036854775808 is out of range"),
        ((3, None), "out_features is unknown"),
        ((3, 2, 1), "bias must be True or False, got 1"),
        ((3, 2, "no"), "bias must be True or False, got 'no'"),
        ((3, 2, None), "bias must be True or False, got None"),
    ],
)
def test_linear_refuses_bad_sizes_and_bias(args: tuple, message: str) -> None:
    with pytest.raises(LinexplainError) as caught:
        Linear(*args)
    assert message in caught.value.message
    assert caught.value.hint


# --- a network: the shapes walked once through its layers -----------------------------------


def test_network_of_one_is_its_layer() -> None:
    layer = Linear(3, 2)
    (step,) = Network((layer,)).walk(("N", 3), {"N": 5})
    assert step.report == layer.walk(("N", 3), {"N": 5})


def test_network_walks_each_layer_from_the_last_output() -> None:
    first, second = (
        step.report
        for step in Network((Linear(3, 4), Linear(4, 2, bias=False))).walk(
            ("N", "C", "F"), {"N": 5}, "float64"
        )
    )
    assert first is not None and second is not None
    assert (first.input_shape, first.output_shape) == (("N", "C", "F"), ("N", "C", 4))
    assert first.bindings == {"N": 5, "F": 3} and first.bound_by_in == "F"
    assert (second.input_shape, second.output_shape) == (("N", "C", 4), ("N", "C", 2))
    assert second.bindings == {"N": 5}  # F is gone: the first layer replaced it
    assert (str(first.macs), str(second.macs)) == ("60*C", "40*C")
    assert not second.bias and second.dtype == "float64"


def test_network_infers_a_lazy_layers_in_features() -> None:
    reports = Network((Linear(3, 4), Linear(None, 6))).walk((2, 3))
    lazy = reports[1].report
    assert lazy is not None and lazy.in_features == 4 and lazy.in_features_inferred
    assert reports[-1].output_shape == (2, 6)


def test_network_matches_torch_sequential(torch) -> None:
    layers = (Linear(3, 4), Linear(4, 5, bias=False), Linear(5, 2))
    code = "torch.nn.Sequential(" + ", ".join(layer.torch_code for layer in layers) + ")"
    model = eval(code, {"torch": torch})  # noqa: S307 - our own code, run in torch
    for shape in [(3,), (7, 3), (2, 0, 3)]:
        reports = Network(layers).walk(shape)
        assert list(reports[-1].output_shape) == list(model(torch.zeros(shape)).shape)
        assert sum(r.params for r in reports) == sum(p.numel() for p in model.parameters())


def test_network_refuses_a_layer_that_does_not_fit() -> None:
    with pytest.raises(LinexplainError) as caught:
        Network((Linear(3, 4), Linear(5, 2))).walk((7, 3))
    assert "mat1 and mat2 shapes cannot be multiplied (7x4 and 5x2)" in caught.value.message


def test_network_refuses_dims_the_input_does_not_have() -> None:
    with pytest.raises(LinexplainError, match="--dims names C"):
        Network((Linear(3, 4),)).walk(("N", 3), {"C": 4})


# --- sums over many rows (issue 15, item 4) ----------------------------------------------------


def _exact_column_sums(g: np.ndarray) -> np.ndarray:
    """Each column's sum, exact (math.fsum), as float64."""
    return np.array([math.fsum(column) for column in g.T.astype(np.float64)])


@pytest.mark.parametrize(
    "shape", [(200_000, 2), (70_000, 3), (1_000, 100), (3, 50_000), (1, 4), (0, 3), (5, 0)]
)
def test_grad_bias_is_the_column_sum_rounded_once_in_float32(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(4)
    g = (rng.standard_normal(shape) + 0.3).astype(np.float32)  # a bias so the sums grow
    x = np.ones((shape[0], 1), dtype=np.float32)
    weight = np.ones((shape[1], 1), dtype=np.float32)
    _, grad_bias, _ = Linear.backward(x, weight, np.zeros(shape[1], np.float32), g)
    assert grad_bias is not None and grad_bias.dtype == np.float32 and grad_bias.shape == shape[1:]
    exact = _exact_column_sums(g)
    # within one float32 rounding of the exact sum (a plain row-by-row float32 sum of 200,000
    # rows is thousands of ulps off)
    assert (np.abs(grad_bias - exact) <= np.spacing(np.abs(exact).astype(np.float32))).all()


def test_grad_bias_in_float64_is_summed_pairwise() -> None:
    rng = np.random.default_rng(5)
    g = rng.standard_normal((300_000, 3)) + 1e3  # large terms: a plain sum drifts
    _, grad_bias, _ = Linear.backward(np.ones((300_000, 1)), np.ones((3, 1)), np.zeros(3), g)
    assert grad_bias is not None and grad_bias.dtype == np.float64
    exact = _exact_column_sums(g)
    np.testing.assert_allclose(grad_bias, exact, rtol=1e-14, atol=0)


def test_grad_bias_of_many_rows_is_as_close_as_torchs(torch) -> None:
    """The issue's case: grad --in 2 --out 2 --seed 0 --input-shape 200000,2 --upstream seed."""
    from linexplain.session import backward, forward

    ours = backward(forward(2, 2, seed=0, input_shape=(200_000, 2)), "seed")
    torch.manual_seed(0)
    layer = torch.nn.Linear(2, 2)
    x = torch.randn(200_000, 2)
    g = torch.randn(200_000, 2)
    layer(x).backward(g)
    theirs = layer.bias.grad.numpy()
    assert ours.grad_bias is not None
    # within 1e-5 relative of torch, or closer to the exact sum than torch (each of its own G:
    # torch's vectorised randn differs from ours in the last bits)
    ours_off = np.abs(ours.grad_bias - _exact_column_sums(ours.upstream))
    torch_off = np.abs(theirs - _exact_column_sums(g.numpy()))
    assert (
        (np.abs(ours.grad_bias - theirs) <= 1e-5 * np.abs(theirs)) | (ours_off <= torch_off)
    ).all()
    assert (ours_off <= torch_off).all()
    # the same G given: the same numbers in, and ours at least as close to the exact sum
    given = backward(forward(x=x.numpy(), weight=layer.weight.detach().numpy(),
                             bias_values=layer.bias.detach().numpy()), g.numpy())  # fmt: skip
    assert given.grad_bias is not None
    exact = _exact_column_sums(g.numpy())
    assert (np.abs(given.grad_bias - exact) <= torch_off).all()
    np.testing.assert_allclose(given.grad_bias, theirs, rtol=1e-5)


# --- counts built in Python ---------------------------------------------------------------------


def test_product_combines_with_counts_and_whole_numbers() -> None:
    n = Product(2, (("N", 1),))
    assert n + n == Product(4, (("N", 1),)) and n * 3 == 3 * n == Product(6, (("N", 1),))
    assert Product(2) + 3 == 3 + Product(2) == Product(5)
    assert sum([n, n, n]) == Product(6, (("N", 1),))  # sum() starts from 0
    assert n * np.int64(2) == np.int64(2) * n == Product(4, (("N", 1),))
    assert Product(0, (("N", 1),)) == Product(0)  # zero times anything is zero
    assert Product(2**3000).coeff == 2**3000  # exact past int64


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Product(2) + 2.5, "a count to add: 2.5 is not a whole number"),
        (lambda: Product(2) + "N", "a count to add: 'N' is not a whole number"),
        (lambda: Product(2) * None, "a count to multiply: None is not a whole number"),
        (lambda: np.array([1, 2]) + Product(2), "a count to add: ndarray is not a whole number"),
        (lambda: Product(2, (("N", 1),)) + 3, "cannot add 2\\*N and 3 as one product"),
        (lambda: Product(-1), "a count's coefficient is -1"),
        (lambda: Product(2**9000), "a count's coefficient is an int of 9001 bits"),
        (lambda: Product(2.0), "2.0 is not a whole number"),
        (lambda: Product(2, "N"), "a count's powers must be \\(name, power\\) pairs, got str"),
        (lambda: Product(2, ("N",)), "a count's powers hold strs, not \\(name, power\\) pairs"),
        (lambda: Product(2, (("N", 1), ("N", 2))), "name 'N' twice"),
        (lambda: Product(2, (("3N", 1),)), "'3N' is not a valid name"),
        (lambda: Product(2, ((None, 1),)), "name None instead of a dim name"),
        (lambda: Product(2, (("N", -1),)), "the power of N is -1"),
        (lambda: Product(2, (("N", 1.5),)), "the power of N: 1.5 is not a whole number"),
    ],
)
def test_product_refuses_what_is_not_a_count(make: Any, message: str) -> None:
    with pytest.raises(LinexplainError, match=message):
        make()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bias": "yes"}, "bias must be True or False, got 'yes'"),
        ({"bias": np.array([True])}, "bias must be True or False, got ndarray"),
        ({"dtype": ["float32"]}, "dtype must be a name, got list"),
        ({"dtype": np.dtype("float32")}, "dtype must be a name, got dtype('float32')"),
        ({"dims": "N=2"}, "dims (--dims) must map names to sizes, got 'N=2'"),
        ({"dims": {3: 2}}, "dims (--dims): the key 3 is not a name"),
        ({"dims": {"N": "2"}}, "dims (--dims), size of N: '2' is not a whole number"),
    ],
)
def test_explain_shape_checks_every_argument(kwargs: dict, message: str) -> None:
    with pytest.raises(LinexplainError) as caught:
        explain_shape(("N", 3), 3, 2, **kwargs)
    assert message in str(caught.value)


def test_explain_shape_takes_numpy_bools_and_writes_python_ones() -> None:
    report = explain_shape((4, 3), 3, 2, bias=np.False_)
    assert report.bias is False and report.as_dict()["bias"] is False
    assert Linear(3, 2, np.True_).bias is True
