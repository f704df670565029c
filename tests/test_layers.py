"""The last-dim rule, checked against real torch (fixtures and live), and its exact counts."""

from __future__ import annotations

import json
import random
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from linexplain.errors import LinexplainError
from linexplain.shapes import DTYPE_BYTES, Product, explain_shape

FIXTURES = json.loads((Path(__file__).parent / "data" / "shape_rule.json").read_text())


def ours(case: dict) -> dict:
    """What linexplain says of a fixture case: the output shape or the error message."""
    try:
        report = explain_shape(
            tuple(case["input_shape"]), case["out"], case["in"], bias=case["bias"]
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
    assert (data["macs"], data["bias_adds"], data["flops"]) == ("9*C*N", "3*C*N", "21*C*N")
    assert data["memory"] == {"params_bytes": 48, "input_bytes": "12*C*N", "output_bytes": "12*C*N"}
    assert data["other_tools"] == {
        "torchinfo_mult_adds": "12*C*N",
        "torch_flop_counter_flops": "18*C*N",
    }
    assert [d["role"].split(":")[0] for d in data["dim_roles"]] == [
        "sample matrices",
        "samples",
        "features of one sample (in_features)",
    ]


def test_no_bias() -> None:
    data = explain_shape((2, 3), 4, 3, bias=False).as_dict()
    assert data["bias_shape"] is None
    assert (data["params"], data["bias_adds"], data["macs"], data["flops"]) == (12, 0, 24, 48)


def test_one_d_and_zero_size() -> None:
    assert explain_shape((3,), 5).output_shape == (5,)
    assert explain_shape((3,), 5).macs.coeff == 15
    report = explain_shape((7, 0, 3), 5, 3)
    assert report.output_shape == (7, 0, 5) and report.macs.value() == 0
    assert explain_shape(("N", 0, 3), 5, 3).macs.value() == 0


def test_counts_are_exact_past_int64() -> None:
    report = explain_shape((100_000, 100_000, 100_000), 100_000, dtype="float64")
    assert report.macs.value() == 10**20
    assert report.flops.value() == 2 * 10**20 + 10**15
    assert report.memory()["output_bytes"].value() == 8 * 10**15
    assert type(report.macs.value()) is int


def test_named_last_dim_binds_to_in() -> None:
    report = explain_shape(("N", "F"), 4, 3)
    assert report.bindings == {"F": 3}
    assert report.output_shape == ("N", 4)
    with pytest.raises(LinexplainError, match="in_features is unknown"):
        explain_shape(("N", "F"), 4)


def test_dims_make_counts_concrete() -> None:
    report = explain_shape(("N", "C", 3), 3, 3, dims={"N": 5, "C": 6})
    assert report.as_dict()["macs"] == 270
    assert report.as_dict()["input_shape"] == ["N", "C", 3]


def test_numpy_ints_become_python_ints() -> None:
    report = explain_shape(("N", np.int64(10**10)), np.int64(10**10), dims={"N": np.int32(3)})
    assert report.as_dict()["params"] == 10**20 + 10**10  # exact, not wrapped at int64
    assert report.as_dict()["macs"] == 3 * 10**20
    assert type(report.input_shape[1]) is int
    assert type(report.out_features) is int and type(report.bindings["N"]) is int


def test_repeated_names_are_powers() -> None:
    assert explain_shape(("N", "N", 3), 3).as_dict()["macs"] == "9*N**2"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (((5, 6, 4), 3, 3), {}, "mat1 and mat2 shapes cannot be multiplied (30x4 and 3x3)"),
        ((("N", "C", 4), 3, 3), {}, "(N*Cx4 and 3x3)"),
        ((("N", 5, 4), 3, 3), {}, "(5*Nx4 and 3x3)"),
        (((4,), 5, 3), {}, "(1x4 and 3x5)"),
        (((), 3, 3), {}, "but they are 0D and 2D"),
        ((("N", "F"), 3, 3), {"dims": {"F": 4}}, "(Nx4 and 3x3): the last dim F = 4 must"),
        ((("N", 3), 3, 3), {"dims": {"C": 4}}, "--dims names C"),
        (((3,), 3, 3), {"dtype": "int8"}, "unknown dtype"),
        (((3,), -1, 3), {}, "out_features (--out): -1 is out of range"),
        (((4, 3), True), {}, "True is not a whole number"),
        (((4, 3), None), {}, "out_features is unknown"),
        (((4, 3), 2.0), {}, "2.0 is not a whole number"),
        (((4, 3), 2, 2**63), {}, "in_features (--in): 9223372036854775808 is out of range"),
        (((4, True), 2), {}, "dim 2 of 2: True is not a whole number"),
        ((("N", 3), 3), {"dims": {"N": -5}}, "size of N: -5 is out of range"),
        ((("N", 3), 3), {"dims": {"N": 2.5}}, "size of N: 2.5 is not a whole number"),
        ((("N", 3), 3), {"dims": {"N": 2**70}}, "is out of range"),
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


@given(
    st.integers(min_value=0, max_value=10**30),
    st.lists(st.tuples(name_st, st.integers(min_value=1, max_value=4)), max_size=5),
)
def test_product_prints_like_sympy(coeff: int, factors: list) -> None:
    product = Product(coeff)
    expected = sympy.Integer(coeff)
    for name, power in factors:
        product = product * Product.of((name,) * power)
        expected *= sympy.Symbol(name) ** power
    assert str(product) == str(expected)


@given(
    st.lists(st.one_of(st.integers(0, 10**6), name_st), max_size=6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.booleans(),
    st.sampled_from(sorted(DTYPE_BYTES)),
)
def test_counts_follow_the_formulas(leading, in_f, out_f, bias, dtype) -> None:
    report = explain_shape((*leading, in_f), out_f, in_f, bias=bias, dtype=dtype)
    rows = sympy.Integer(1)
    for d in leading:
        rows *= sympy.Symbol(d) if isinstance(d, str) else d
    macs = rows * in_f * out_f
    data = report.as_dict()
    assert data["macs"] == (int(macs) if macs.is_number else str(macs))
    flops = 2 * macs + (rows * out_f if bias else 0)
    assert data["flops"] == (int(flops) if flops.is_number else str(flops))
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
        explain_shape(shape, 2)  # type: ignore[arg-type]
