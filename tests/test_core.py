"""core.linear and core.Linear: the NumPy reference, torch's errors, out=, seeding."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linexplain.core import Linear, linear
from linexplain.errors import LinexplainError
from linexplain.session import forward

FIXTURES = json.loads((Path(__file__).parent / "data" / "torch_rng.json").read_text())
DTYPES = [np.float32, np.float64]


def reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """y = x Wᵀ + b, one output at a time in float64."""
    y = np.zeros((*x.shape[:-1], w.shape[0]))
    for index in np.ndindex(*x.shape[:-1]):
        for j in range(w.shape[0]):
            y[(*index, j)] = sum(float(a) * float(c) for a, c in zip(x[index], w[j], strict=True))
            y[(*index, j)] += 0.0 if b is None else float(b[j])
    return y


def arrays(rng: np.random.Generator, shape: tuple, dtype) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


@settings(max_examples=60, deadline=None)
@given(
    lead=st.lists(st.integers(0, 4), max_size=3),
    i=st.integers(0, 6),
    o=st.integers(0, 5),
    bias=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_linear_matches_the_reference_for_ranks_1_to_4(lead, i, o, bias, dtype, seed):
    rng = np.random.default_rng(seed)
    x, w = arrays(rng, (*lead, i), dtype), arrays(rng, (o, i), dtype)
    b = arrays(rng, (o,), dtype) if bias else None
    y = linear(x, w, b)
    assert y.shape == (*lead, o) and y.dtype == dtype and y.flags.c_contiguous
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, reference(x, w, b), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_problems_take_the_blas_path_and_stay_right(dtype):
    rng = np.random.default_rng(1)
    x, w, b = arrays(rng, (4, 16, 32, 64), dtype), arrays(rng, (48, 64), dtype), None
    b = arrays(rng, (48,), dtype)
    expected = x.astype(np.float64) @ w.astype(np.float64).T + b
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(linear(x, w, b), expected, rtol=tol, atol=tol)


def test_non_contiguous_inputs_are_accepted():
    rng = np.random.default_rng(2)
    x = arrays(rng, (5, 3), np.float64).T  # (3, 5), Fortran order
    w = arrays(rng, (4, 10), np.float64)[:, ::2]  # (4, 5), strided
    np.testing.assert_allclose(linear(x, w), reference(x, w, None), rtol=1e-12)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 0, 3), (2, 2, 2, 3)])
def test_out_receives_the_result(shape):
    rng = np.random.default_rng(3)
    x, w, b = arrays(rng, shape, np.float32), arrays(rng, (4, 3), np.float32), None
    b = arrays(rng, (4,), np.float32)
    out = np.full((*shape[:-1], 4), np.nan, dtype=np.float32)
    assert linear(x, w, b, out=out) is out
    np.testing.assert_allclose(out, reference(x, w, b), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("operand", [0, 1])
def test_out_may_be_an_operand(operand):
    rng = np.random.default_rng(4)
    x, w, b = (arrays(rng, shape, np.float64) for shape in [(3, 3), (3, 3), (3,)])
    expected = reference(x, w, b)
    out = (x, w)[operand]
    linear(x, w, b, out=out)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_zero_in_features_give_the_bias():
    x, w = np.ones((2, 0), np.float32), np.ones((3, 0), np.float32)
    b = np.array([1, 2, 3], np.float32)
    np.testing.assert_array_equal(linear(x, w, b), [[1, 2, 3], [1, 2, 3]])
    np.testing.assert_array_equal(linear(x, w), np.zeros((2, 3)))


def raises(match: str):
    return pytest.raises(LinexplainError, match=match)


def test_0d_input_gets_torchs_message():
    with pytest.raises(LinexplainError) as err:
        linear(np.ones((), np.float32), np.ones((5, 3), np.float32))
    assert err.value.message == (
        "both arguments to linear need to be at least 1D, but they are 0D and 2D"
    )


@pytest.mark.parametrize(
    ("x_shape", "text"),
    [((5, 6, 4), "(30x4 and 3x5)"), ((4,), "(1x4 and 3x5)"), ((0, 4), "(0x4 and 3x5)")],
)
def test_shape_mismatch_gets_torchs_message(x_shape, text):
    x, w = np.ones(x_shape, np.float32), np.ones((5, 3), np.float32)
    with pytest.raises(LinexplainError) as err:
        linear(x, w)
    assert err.value.message == f"mat1 and mat2 shapes cannot be multiplied {text}"
    assert "in_features=3" in err.value.hint


@pytest.mark.parametrize(
    ("x", "w", "b", "match"),
    [
        (np.ones(3), np.ones((2, 3), np.float32), None, "float64 != float32"),
        (np.ones(3, np.float32), np.ones((2, 3), np.float32), np.ones(2), "bias and weight"),
        (np.ones(3, np.int64), np.ones((2, 3), np.int64), None, "input has dtype int64"),
        ([1.0, 2.0, 3.0], np.ones((2, 3)), None, "input must be a NumPy array, got list"),
        (np.ones(3), np.ones(3), None, "weight must be 2-D"),
        (np.ones(3), np.ones((1, 2, 3)), None, "weight must be 2-D"),
        (np.ones(3), np.ones((2, 3)), np.ones(3), r"bias has shape \(3,\)"),
        (np.ones(3), np.ones((2, 3)), np.ones((1, 2)), r"bias has shape \(1, 2\)"),
        (np.ones(3), np.ones((2, 3), np.float16), None, "weight has dtype float16"),
    ],
)
def test_bad_operands_are_refused(x, w, b, match):
    with pytest.raises(LinexplainError, match=match) as err:
        linear(x, w, b)
    assert err.value.hint


@pytest.mark.parametrize(
    ("out", "match"),
    [
        (np.empty((2, 5), np.float32), r"out must be an array of shape \(2, 4\)"),
        (np.empty((2, 4), np.float64), "dtype float32"),
        (np.empty((4, 2), np.float32).T, "C-contiguous"),
        ([[0.0] * 4] * 2, "got list"),
    ],
)
def test_bad_out_is_refused(out, match):
    with raises(match):
        linear(np.ones((2, 3), np.float32), np.ones((4, 3), np.float32), out=out)


def test_read_only_out_is_refused():
    out = np.empty((2, 4), np.float32)
    out.flags.writeable = False
    with raises("writable"):
        linear(np.ones((2, 3), np.float32), np.ones((4, 3), np.float32), out=out)


# --- Linear ------------------------------------------------------------------------------


def recorded(seed: int, i: int, o: int, dtype: str) -> dict:
    return next(
        c
        for c in FIXTURES["linear"]
        if (c["seed"], c["in_features"], c["out_features"], c["dtype"], c["bias"])
        == (seed, i, o, dtype, True)
    )


def unhex(values: list[str], dtype: str) -> np.ndarray:
    return np.array([float.fromhex(v) for v in values], dtype=dtype)


@pytest.mark.parametrize(("seed", "i", "o", "dtype"), [(0, 3, 2, "float32"), (1, 17, 3, "float64")])
def test_seeded_layer_is_torchs_bit_for_bit_and_continues_its_stream(seed, i, o, dtype):
    case = recorded(seed, i, o, dtype)
    layer = Linear(i, o, dtype=dtype, seed=seed)
    assert layer.weight.tobytes() == unhex(case["weight"], dtype).tobytes()
    assert layer.bias.tobytes() == unhex(case["bias_values"], dtype).tobytes()
    x = layer.generator.randn(tuple(case["input_shape"]), dtype)
    np.testing.assert_allclose(x.reshape(-1), unhex(case["x"], dtype), rtol=0, atol=1e-6)
    np.testing.assert_allclose(layer(x).reshape(-1), unhex(case["y"], dtype), rtol=1e-5, atol=1e-5)


def test_layer_attributes_are_plain_python():
    layer = Linear(3, 2, bias=False, dtype="float64", seed=5)
    assert (layer.in_features, layer.out_features, layer.dtype) == (3, 2, "float64")
    assert type(layer.in_features) is int and type(layer.out_features) is int
    assert layer.bias is None and layer.weight.shape == (2, 3) and layer.seed == 5
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False, dtype=float64)"


def test_unseeded_layers_get_fresh_seeds_they_can_be_rebuilt_from():
    a, b = Linear(4, 3), Linear(4, 3)
    assert a.seed != b.seed and 0 <= a.seed < 2**64
    np.testing.assert_array_equal(Linear(4, 3, seed=a.seed).weight, a.weight)


def test_layer_from_arrays():
    w, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, -1], np.float32)
    layer = Linear.from_arrays(w, b)
    assert (layer.in_features, layer.out_features) == (3, 2)
    assert layer.seed is None and layer.generator is None
    np.testing.assert_array_equal(layer(np.ones((1, 3), np.float32)), [[4, 11]])
    with raises("bias has shape"):
        Linear.from_arrays(w, np.ones(3, np.float32))
    with raises("weight must be 2-D"):
        Linear.from_arrays(np.ones(3, np.float32))


def test_from_arrays_goes_through_init():
    class Counted(Linear):
        calls = 0

        def __init__(self, *args, **kwargs):
            Counted.calls += 1
            super().__init__(*args, **kwargs)

    w = np.ones((2, 3), np.float64)
    layer = Counted.from_arrays(w)
    assert Counted.calls == 1 and type(layer) is Counted
    assert layer.weight is w and layer.bias is None and layer.dtype == "float64"


def test_weights_given_as_keywords_are_from_arrays():
    w, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, -1], np.float32)
    layer = Linear(np.int64(3), 2, weight=w, bias_values=b)
    assert (layer.weight, layer.bias, layer.seed, layer.generator) == (w, b, None, None)
    assert repr(layer) == repr(Linear.from_arrays(w, b))
    assert Linear(3, 2, bias=False, dtype="float32", weight=w).bias is None


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((3, 2), {"seed": 0}, "seed=0 is given with weight"),
        ((2, 3), {}, r"weight has shape \(2, 3\), but \(out_features, in_features\) is \(3, 2\)"),
        ((3, 2), {"bias": True, "bias_values": None}, "bias=True but bias_values are not given"),
        ((3, 2, False), {"bias_values": np.zeros(2, np.float32)}, "bias=False but bias_values are"),
        ((3, 2, False), {"dtype": "float64"}, "dtype='float64' but weight is float32"),
        ((3, 2, False), {"dtype": "int8"}, "unsupported dtype 'int8'"),
        ((-3, 2, False), {}, "in_features: -3 is out of range"),
        ((3, 2, False), {"bias_values": np.zeros(3, np.float32)}, r"bias has shape \(3,\)"),
    ],
)
def test_given_weights_must_agree_with_the_other_arguments(args, kwargs, match):
    kwargs = {"weight": np.ones((2, 3), np.float32), **kwargs}
    with raises(match) as err:
        Linear(*args, **kwargs)
    assert err.value.hint


def test_bias_values_need_weight():
    with raises("bias_values are given without weight"):
        Linear(3, 2, bias_values=np.zeros(2, np.float32))


def test_layer_refuses_bad_arguments():
    with raises("in_features: -1 is out of range"):
        Linear(-1, 2)
    with raises("unsupported dtype"):
        Linear(2, 2, dtype="int8")
    with raises("out of range"):
        Linear(2, 2, seed=2**64)
    with raises("is not a whole number"):
        Linear(2, 2, seed=1.0)


def test_numpy_int_seed_is_the_same_seed():
    """torch.manual_seed takes NumPy ints; the layer keeps the seed as a Python int."""
    layer = Linear(3, 2, seed=np.int64(-1))
    np.testing.assert_array_equal(layer.weight, Linear(3, 2, seed=-1).weight)
    assert type(layer.seed) is int and layer.seed == -1 and layer.generator.seed == 2**64 - 1


def test_forward_takes_numpy_ints_and_keeps_python_ints():
    run = forward(
        out_features=np.int64(2),
        in_features=np.int32(3),
        seed=np.int64(7),
        input_shape=(np.int64(4), 3),
    )
    reference = forward(out_features=2, in_features=3, seed=7, input_shape=(4, 3))
    np.testing.assert_array_equal(run.y, reference.y)
    assert run.as_dict() == reference.as_dict()
    assert json.dumps(run.as_dict()) == json.dumps(reference.as_dict())


# --- live torch ------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    lead=st.lists(st.integers(0, 4), max_size=3),
    i=st.integers(0, 40),
    o=st.integers(0, 40),
    bias=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_live_linear_matches_torch_functional_linear(torch, lead, i, o, bias, dtype, seed):
    rng = np.random.default_rng(seed)
    x, w = arrays(rng, (*lead, i), dtype), arrays(rng, (o, i), dtype)
    b = arrays(rng, (o,), dtype) if bias else None
    expected = torch.nn.functional.linear(
        torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b)
    )
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(linear(x, w, b), expected.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("x_shape", [(), (4,), (5, 6, 4), (0, 4), (2, 0, 7)])
def test_live_error_messages_are_torchs(torch, x_shape):
    x, w = np.ones(x_shape, np.float32), np.ones((5, 3), np.float32)
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(w))
    with pytest.raises(LinexplainError) as ours:
        linear(x, w)
    assert ours.value.message == str(theirs.value).splitlines()[0]


def test_reference_helper_is_sane():
    x = np.array([[1.0, 2.0]])
    assert math.isclose(reference(x, np.array([[3.0, 4.0]]), np.array([0.5]))[0, 0], 11.5)


def test_forward_takes_nested_lists_and_refuses_what_is_not_numbers():
    run = forward(x=[[1, 2, 3]], weight=[[1, 0, 0], [0, 1, 0]], bias_values=[1, 2])
    assert run.y.tolist() == [[2.0, 4.0]] and run.y.dtype == np.float32
    for bad, message in [
        ({"x": [[1, 2], [3]]}, "x is not an array"),
        ({"x": [["a", "b", "c"]]}, "x has dtype <U1, not real numbers"),
        ({"weight": np.array([[1j, 0, 0]])}, "weight has dtype complex128"),
    ]:
        with raises(message):
            forward(out_features=None if "weight" in bad else 2, in_features=3, **bad)


def test_forward_checks_max_memory_and_casts_that_overflow():
    with raises("max_memory: '1KiB' is not a whole number"):
        forward(out_features=2, in_features=3, max_memory="1KiB")
    with raises("max_memory: -1 is out of range"):
        forward(out_features=2, in_features=3, max_memory=-1)
    with raises(r"x has 1e\+300, which is not a finite float32"):
        forward(out_features=2, in_features=2, x=[[1e300, 1.0]])
    assert (
        forward(out_features=2, in_features=2, x=[[1e300, 1.0]], dtype="float64").x[0, 0] == 1e300
    )


def test_a_named_last_dim_sized_by_dims_must_fit_given_weights():
    with raises("the input's last dim N = 2 must equal the weight's columns, in_features 3"):
        forward(weight=[[1, 2, 3]], input_shape=(4, "N"), dims={"N": 2})
    assert forward(weight=[[1, 2, 3]], input_shape=(4, "N")).x.shape == (4, 3)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((3, 2), {"bias": "no"}, "bias must be True or False, got 'no'"),
        ((3, 2), {"bias": np.array([1, 0])}, "bias must be True or False, got ndarray"),
        ((3, 2), {"dtype": ["float32"]}, "unsupported dtype list"),
        ((3, 2), {"dtype": np.float32}, "unsupported dtype"),
        ((3.0, 2), {}, "in_features: 3.0 is not a whole number"),
        ((3, -2), {}, "out_features: -2 is out of range"),
        ((3, 2), {"seed": 1.5}, "seed: 1.5 is not a whole number"),
        ((3, 2), {"seed": 10**5000}, "seed an int of 16610 bits is out of range"),
        ((2**40, 2**40), {"seed": 0}, ""),  # the memory guard's words
    ],
)
def test_linear_checks_its_arguments_first(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(LinexplainError) as caught:
        Linear(*args, **kwargs)
    assert message in str(caught.value)


def test_linear_takes_numpy_ints_and_bools() -> None:
    layer = Linear(np.int64(3), np.int64(2), np.False_, seed=np.int64(0))
    assert layer.bias is None and layer.weight.shape == (2, 3)
