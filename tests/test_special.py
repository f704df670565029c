"""linexplain.special: PyTorch's activations and their gradients, in NumPy.

Against torch, live (the ``torch`` fixture) and recorded (tests/data/torch_special.json, made by
scripts/gen_special_fixtures.py), elementwise:

    |ours − torch| ≤ rtol·|torch| + 8·eps·S + tiny

rtol is 1e-5 (float32) or 1e-12 (float64); eps and tiny (the smallest normal number) are the
dtype's. ``tiny`` lets subnormal results count as zero: torch's oneDNN GELU flushes them, and a
subnormal has few significant bits anyway. S is the size of the terms torch's own formula adds
or subtracts, so 8·eps·S is the rounding torch itself makes (the most seen is 2.5·eps·S):

* GELU, both forms, forward: S = |x|. torch computes x/2·(1 + erf(x/√2)) (1 + tanh(…)), whose
  1 + … cancels for x < 0: its float32 GELU(−3.5) is off by 0.1% and it gives −0 for x < −5.5,
  where GELU is −1e-7 (float64 is off from x < −6 on). Ours uses erfc (Φ(−|x|)) there and stays
  accurate; torch's error is ≤ 3·eps·|x|, so the floor is an absolute one scaled by |x|.
* GELU backward: S = |g| (Φ(x) + x·φ(x) has the same cancellation); tanh form: S =
  |g|·(1 + |x|·(1 + 3·0.044715·x²)), the size of torch's right-hand term.
* tanh backward (from y): S = |g|, as 1 − y² loses eps near |y| = 1; SiLU backward: S =
  |g|·σ(x)·(1 + |x|), it cancels near x = −1.28; softmax backward: S = y·(|g| + Σ|g·y|).
* Everything else (erf, erfc, sigmoid, SiLU, tanh, softmax, ReLU, LeakyReLU, sigmoid backward):
  S = 0, a relative tolerance with the tiny floor.

NaN and ±inf must fall where torch's do, and at x = ±0 the results must be torch's bit for bit
(signs of zero included). Two documented exceptions, where torch's float32 kernels deviate from
its own float64 and from the function: exact GELU(+inf) is NaN in float32 (oneDNN) and +inf
here (torch's float64 and ATen kernels agree); the tanh-GELU gradient is NaN in float32 for
|x| > 1.8e19, where x² overflows, and the limit (1 or 0) here, computed in float64.

Independently of torch: erf/erfc against mpmath, the float32 GELU within 1 ulp of the float64
one, and Hypothesis properties.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linexplain import special

DATA = Path(__file__).parent / "data" / "torch_special.json"
DTYPES = [np.float32, np.float64]
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
C_EPS = 8
KAPPA = 0.044715
ACTIVATIONS = ["gelu", "gelu_tanh", "sigmoid", "silu", "tanh", "relu"]
SLOPES = [0.01, 0.2, -0.5, 1.5]


# --- the comparison rule ---------------------------------------------------------------------


def sigmoid64(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def scale_of(name: str, x, g, y, part: str, dim: int | None = None) -> np.ndarray:
    """S of the module docstring: the size of the terms torch's formula adds up."""
    ax = np.abs(np.asarray(x, np.float64))
    if part == "y":
        return ax if name.startswith("gelu") else np.zeros_like(ax)
    ag = np.abs(np.asarray(g, np.float64))
    with np.errstate(invalid="ignore", over="ignore"):
        if name == "gelu":
            return ag
        if name == "gelu_tanh":
            return ag * (1 + ax * (1 + 3 * KAPPA * ax * ax))
        if name == "tanh":
            return ag
        if name == "silu":
            return ag * sigmoid64(x) * (1 + ax)
        if name == "softmax":
            yy = np.asarray(y, np.float64)
            return yy * (ag + np.sum(np.abs(ag * yy), axis=dim, keepdims=True))
    return np.zeros_like(ax)


def known_deviations(name: str, x: np.ndarray, part: str) -> tuple[np.ndarray, np.ndarray]:
    """Where torch is documented to differ, and what ours gives there (grad: times g)."""
    mask = np.zeros(x.shape, bool)
    ours = np.full(x.shape, np.nan)
    f32 = x.dtype == np.float32
    if name == "gelu" and part == "y" and f32:
        # oneDNN overflows x·(1 + erf) above FLT_MAX/2 (inf) and gives NaN at +inf
        mask = x > np.finfo(np.float32).max / 2
        ours = x.astype(np.float64)
    if name == "gelu_tanh" and part == "grad_input":
        # torch: NaN in float32 once x² overflows, arbitrary in float64 once x³ does
        mask = np.isfinite(x) & (np.abs(x) > (1.8e19 if f32 else 5.6e102))
        ours = np.where(x > 0, 1.0, 0.0)
    return mask, ours


def check(ours, theirs, x, scale, what: str, known=None, elementwise=True) -> None:
    """Assert ours matches torch's values under the rule of the module docstring."""
    theirs = np.asarray(theirs)
    assert ours.dtype == theirs.dtype, what
    assert ours.shape == theirs.shape, what
    dt = ours.dtype
    info = np.finfo(dt)
    o, t = ours.astype(np.float64), theirs.astype(np.float64)
    x = np.broadcast_to(np.asarray(x), o.shape)
    skip = np.zeros(o.shape, bool)
    if known is not None:
        mask, expected = known
        skip = mask
        bad = mask & ~((o == expected) | (np.isnan(o) & np.isnan(expected)))
        assert not bad.any(), f"{what}: documented value missed at x = {x[bad][:5]}"
    with np.errstate(invalid="ignore", over="ignore"):
        tol = RTOL[dt] * np.abs(t) + C_EPS * info.eps * np.asarray(scale) + info.tiny
        err = np.abs(o - t)
        bad = (np.isnan(o) != np.isnan(t)) | (np.isinf(t) & (o != t)) | (np.isinf(o) & (o != t))
        bad |= np.isfinite(t) & np.isfinite(o) & (err > tol)
        zero_in = (x == 0) & ~np.isnan(t) & elementwise
        bad |= zero_in & ((o != t) | (np.signbit(o) != np.signbit(t)))
    bad &= ~skip
    if bad.any():
        i = np.flatnonzero(bad.reshape(-1))[:8]
        rows = [
            f"x={x.reshape(-1)[k]!r} torch={t.reshape(-1)[k]!r} ours={o.reshape(-1)[k]!r}"
            for k in i
        ]
        raise AssertionError(f"{what}: {bad.sum()} of {bad.size} differ\n" + "\n".join(rows))


def forward(name: str, x: np.ndarray, slope: float | None = None, dim: int | None = None):
    if name == "gelu_tanh":
        return special.gelu(x, "tanh")
    if name == "leaky_relu":
        return special.leaky_relu(x, slope)
    if name == "softmax":
        return special.softmax(x, dim)
    return getattr(special, name)(x)


def backward(name: str, x, y, g, slope: float | None = None, dim: int | None = None):
    """Ours, given what torch's autograd gives the backward: x, or y for sigmoid/tanh/softmax."""
    if name == "gelu_tanh":
        return special.gelu_backward(x, g, "tanh")
    if name == "gelu":
        return special.gelu_backward(x, g)
    if name == "leaky_relu":
        return special.leaky_relu_backward(x, g, slope)
    if name == "softmax":
        return special.softmax_backward(y, g, dim)
    if name in ("sigmoid", "tanh"):
        return getattr(special, f"{name}_backward")(y, g)
    return getattr(special, f"{name}_backward")(x, g)


def check_case(name, x, g, y_t, dx_t, slope=None, dim=None, label="") -> None:
    """Forward and, when dx_t is given, backward of one activation against torch's values."""
    what = f"{label}{name}{'' if slope is None else slope}{'' if dim is None else dim}"
    y = forward(name, x, slope, dim)
    known = known_deviations(name, x, "y")
    elementwise = name != "softmax"
    scale = scale_of(name, x, g, y_t, "y", dim)
    check(y, y_t, x, scale, what + " forward", known, elementwise)
    if dx_t is None:
        return
    dx = backward(name, x, y_t, g, slope, dim)
    mask, expected = known_deviations(name, x, "grad_input")
    known = (mask, expected * g.astype(np.float64))
    scale = scale_of(name, x, g, y_t, "grad_input", dim)
    check(dx, dx_t, x, scale, what + " backward", known, elementwise)


# --- recorded fixtures (no torch needed) -----------------------------------------------------


def unhex(values: list[str], dtype) -> np.ndarray:
    return np.array([float.fromhex(v) for v in values], dtype=dtype)


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(DATA.read_text())


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_recorded_torch_values(recorded, dtype) -> None:
    d = recorded[np.dtype(dtype).name]
    x, g = unhex(d["x"], dtype), unhex(d["g"], dtype)
    cases = d["cases"]
    for name in ("erf", "erfc"):
        y = getattr(special, name)(x)
        check(y, unhex(cases[name]["y"], dtype), x, 0.0, f"recorded {name}")
    for name in ACTIVATIONS:
        c = cases[name]
        check_case(
            name, x, g, unhex(c["y"], dtype), unhex(c["grad_input"], dtype), label="recorded "
        )
    for slope in recorded["slopes"]:
        c = cases[f"leaky_relu_{slope}"]
        y_t, dx_t = unhex(c["y"], dtype), unhex(c["grad_input"], dtype)
        check_case("leaky_relu", x, g, y_t, dx_t, slope=slope, label="recorded ")
    shape = d["softmax_shape"]
    sx = unhex(d["softmax_x"], dtype).reshape(shape)
    sg = unhex(d["softmax_g"], dtype).reshape(shape)
    for dim in (0, 1):
        c = cases[f"softmax_{dim}"]
        y_t = unhex(c["y"], dtype).reshape(shape)
        dx_t = unhex(c["grad_input"], dtype).reshape(shape)
        check_case("softmax", sx, sg, y_t, dx_t, dim=dim, label="recorded ")


def test_fixture_is_small_and_covers_the_specials(recorded) -> None:
    assert DATA.stat().st_size < 200_000
    x = unhex(recorded["float32"]["x"], np.float32)
    assert np.isnan(x).any() and np.isposinf(x).any() and np.isneginf(x).any()
    assert ((x == 0) & np.signbit(x)).any()
    assert ((x != 0) & (np.abs(x) < np.finfo(np.float32).tiny)).any()


# --- live torch ------------------------------------------------------------------------------


def live_inputs(dtype, n: int = 4000) -> np.ndarray:
    """Every range at once: normal, wide, near 0, tiny, subnormal, huge, and the specials."""
    rng = np.random.default_rng(12345)
    info = np.finfo(dtype)
    sub_exp = -149 if dtype == np.float32 else -1074
    tiny_exp = -126 if dtype == np.float32 else -1022
    parts = [
        rng.standard_normal(n),
        rng.standard_normal(n) * 4,
        rng.uniform(-40, 40, n),
        rng.uniform(-1e4, 1e4, n // 4),
        rng.standard_normal(n // 4) * 1e-4,
        np.ldexp(rng.uniform(-1, 1, n // 4), rng.integers(tiny_exp, -20, n // 4)),
        np.ldexp(rng.uniform(-1, 1, n // 4), rng.integers(sub_exp, tiny_exp, n // 4)),
        np.ldexp(rng.uniform(-1, 1, n // 8), rng.integers(20, info.maxexp, n // 8)),
        [np.nan, np.inf, -np.inf, 0.0, -0.0, info.max, -info.max, info.tiny, -info.tiny],
        [math.ldexp(1, sub_exp), -math.ldexp(1, sub_exp)],
    ]
    return np.concatenate([np.asarray(p, np.float64) for p in parts]).astype(dtype)


def torch_case(torch, name, x, g, slope=None, dim=None):
    """torch's y and, via autograd, x.grad for upstream g."""
    F = torch.nn.functional
    fns = {
        "gelu": F.gelu,
        "gelu_tanh": lambda v: F.gelu(v, approximate="tanh"),
        "sigmoid": torch.sigmoid,
        "silu": F.silu,
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": lambda v: F.leaky_relu(v, slope),
        "softmax": lambda v: torch.softmax(v, dim),
    }
    t = torch.from_numpy(x.copy()).requires_grad_(True)
    y = fns[name](t)
    y.backward(torch.from_numpy(g.copy()))
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_live_erf(torch, dtype, name) -> None:
    x = live_inputs(dtype)
    theirs = getattr(torch, name)(torch.from_numpy(x)).numpy()
    check(getattr(special, name)(x), theirs, x, 0.0, f"live {name}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_live_activation(torch, dtype, name) -> None:
    x = live_inputs(dtype)
    g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    y_t, dx_t = torch_case(torch, name, x, g)
    check_case(name, x, g, y_t, dx_t, label="live ")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("slope", SLOPES)
def test_live_leaky_relu(torch, dtype, slope) -> None:
    x = live_inputs(dtype, 500)
    g = np.random.default_rng(2).standard_normal(x.shape).astype(dtype)
    y_t, dx_t = torch_case(torch, "leaky_relu", x, g, slope=slope)
    check_case("leaky_relu", x, g, y_t, dx_t, slope=slope, label="live ")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_live_softmax(torch, dtype, dim) -> None:
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((5, 7, 33)) * rng.choice([0.1, 3, 30], (5, 7, 33))).astype(dtype)
    x[0, 0, 3] = np.inf
    x[1, 2, :] = -np.inf
    x[2, 3, 4] = np.nan
    x[3, :, 5] = -np.inf
    x[4, 4, 4] = -0.0
    g = rng.standard_normal(x.shape).astype(dtype)
    y_t, dx_t = torch_case(torch, "softmax", x, g, dim=dim)
    check_case("softmax", x, g, y_t, dx_t, dim=dim % 3, label="live ")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_live_large_arrays_across_chunks_and_threads(torch, dtype) -> None:
    """Arrays of many chunks, shared among threads, with a ragged last chunk."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((3, 70001)) * 3).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    for name in ["gelu", "gelu_tanh", "silu"]:
        y_t, dx_t = torch_case(torch, name, x, g)
        check_case(name, x, g, y_t, dx_t, label="large ")
    y_t, dx_t = torch_case(torch, "softmax", x, g, dim=1)
    check_case("softmax", x, g, y_t, dx_t, dim=1, label="large ")


def test_live_torch_tail_is_what_the_tolerance_covers(torch) -> None:
    """In GELU's left tail torch's float32 is off by up to a few eps·|x|, ours by < 1 ulp."""
    x = -np.linspace(2, 9, 701, dtype=np.float32)
    exact = special.gelu(x.astype(np.float64))
    theirs = torch.nn.functional.gelu(torch.from_numpy(x)).numpy().astype(np.float64)
    eps = np.finfo(np.float32).eps
    assert np.all(np.abs(theirs - exact) <= C_EPS * eps * np.abs(x))
    assert ulps(special.gelu(x), exact, np.float32).max() <= 1


# --- exact references (no torch) -------------------------------------------------------------


def mp_values(fn, xs) -> np.ndarray:
    import mpmath

    with mpmath.workdps(40):
        return np.array([float(fn(mpmath.mpf(float(v)))) for v in xs])


def ulps(ours, exact, dtype) -> np.ndarray:
    """|ours − exact| in units of the dtype's spacing at exact (at least the smallest subnormal)."""
    spacing = np.spacing(np.abs(exact).astype(dtype)).astype(np.float64)
    return np.abs(ours.astype(np.float64) - exact) / spacing


def reference_points(n: int = 1500) -> np.ndarray:
    rng = np.random.default_rng(5)
    edges = [0.84375, 1.25, 2.857142925262451, 2.857142448425293, 6.0, 28.0, 2.0**-28]
    near = np.array([e * (1 + k * 2.0**-52) for e in edges for k in (-2, -1, 0, 1, 2)])
    return np.concatenate([rng.standard_normal(n) * 3, rng.uniform(-27, 27, n // 3), near, -near])


def test_erf_and_erfc_float64_against_mpmath() -> None:
    import mpmath

    x = reference_points()
    assert ulps(special.erf(x), mp_values(mpmath.erf, x), np.float64).max() <= 1
    exact = mp_values(mpmath.erfc, x)
    normal = exact > np.finfo(np.float64).tiny
    assert ulps(special.erfc(x), exact, np.float64)[normal].max() <= 2


def test_erf_and_erfc_float32_are_correctly_rounded() -> None:
    import mpmath

    x = reference_points(600).astype(np.float32)
    for fn, ref in ((special.erf, mpmath.erf), (special.erfc, mpmath.erfc)):
        exact = mp_values(ref, x)
        err = ulps(fn(x), exact, np.float32)
        assert err[exact > np.finfo(np.float32).tiny].max() <= 0.5 + 1e-6


def test_gelu_float64_against_mpmath() -> None:
    import mpmath

    x = reference_points(400)
    x = x[np.abs(x) < 37]

    def gelu(v):
        return v * mpmath.ncdf(v)

    def dgelu(v):
        return mpmath.ncdf(v) + v * mpmath.npdf(v)

    def tanh_gelu(v):  # v/2·(1 + tanh z) = v·σ(2z): mpmath would cancel too, at 40 digits
        return v / (1 + mpmath.exp(-2 * mpmath.sqrt(2 / mpmath.pi) * (v + KAPPA * v**3)))

    assert ulps(special.gelu(x), mp_values(gelu, x), np.float64).max() <= 8
    # exp(−2z) of a large argument: its rounding (a few eps) costs |2z| times that
    exact = mp_values(tanh_gelu, x)
    two_z = 2 * np.sqrt(2 / np.pi) * np.abs(x + KAPPA * x**3)
    normal = np.abs(exact) > np.finfo(np.float64).tiny
    rel = np.abs(special.gelu(x, "tanh")[normal] / exact[normal] - 1)
    assert np.all(rel <= (8 + 3 * two_z[normal]) * np.finfo(np.float64).eps)
    exact = mp_values(dgelu, x)
    # Φ(x) + x·φ(x) cancels near its zero at x = −0.7518: an absolute bound there
    err = np.abs(special.gelu_backward(x, np.ones_like(x)) - exact)
    assert np.all(err <= 8 * np.spacing(np.abs(exact)) + 1e-16)


def float32_sweep(limit: float = 20.0, stride: int = 1 << 10) -> np.ndarray:
    """Every stride-th positive float32 up to limit, and their negatives."""
    pos = np.arange(0, 0x7F800000, stride, dtype=np.uint32).view(np.float32)
    pos = pos[pos <= limit]
    return np.concatenate([pos, -pos])


def test_gelu_float32_within_one_ulp_of_float64() -> None:
    """The fast float32 path (the fitted Mills ratio) against fdlibm's erfc in float64."""
    x = float32_sweep()
    exact = special.gelu(x.astype(np.float64))
    assert ulps(special.gelu(x), exact, np.float32).max() <= 1
    assert np.array_equal(np.signbit(special.gelu(x)), np.signbit(x))
    g = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    ours = special.gelu_backward(x, g).astype(np.float64)
    exact = special.gelu_backward(x.astype(np.float64), g.astype(np.float64))
    spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(ours - exact) <= spacing + 4e-9 * np.abs(g))


def test_specials_follow_torch_semantics() -> None:
    """What torch (ATen) gives at the kinks and at ±inf/NaN, written out."""
    inf, nan = np.inf, np.nan

    def same(a, b):
        b = np.array(b, a.dtype)
        signs = np.signbit(a) == np.signbit(b)
        return np.array_equal(a, b, equal_nan=True) and bool(np.all(signs | np.isnan(b)))

    for dt in DTYPES:
        x = np.array([-inf, inf, nan, -0.0, 0.0], dt)
        one = np.ones_like(x)

        assert same(special.gelu(x), [nan, inf, nan, -0.0, 0.0])
        assert same(special.gelu(x, "tanh"), [nan, inf, nan, -0.0, 0.0])
        assert same(special.gelu_backward(x, one), [nan, nan, nan, 0.5, 0.5])
        assert same(special.gelu_backward(x, one, "tanh"), [nan, nan, nan, 0.5, 0.5])
        assert same(special.sigmoid(x), [0.0, 1.0, nan, 0.5, 0.5])
        assert same(special.silu(x), [nan, inf, nan, -0.0, 0.0])
        assert same(special.silu_backward(x, one), [nan, nan, nan, 0.5, 0.5])
        assert same(special.tanh(x), [-1.0, 1.0, nan, -0.0, 0.0])
        assert same(special.relu(x), [0.0, inf, nan, -0.0, 0.0])
        assert same(special.relu_backward(x, one), [0.0, 1.0, 1.0, 0.0, 0.0])  # ReLU′(0) = 0
        assert same(special.leaky_relu(x, 0.1), [-inf, inf, nan, -0.0, 0.0])
        assert same(special.leaky_relu_backward(x, one, 0.1), [0.1, 1.0, 0.1, 0.1, 0.1])
        assert same(special.erf(x), [-1.0, 1.0, nan, -0.0, 0.0])
        assert same(special.erfc(x), [2.0, 0.0, nan, 1.0, 1.0])


def test_dtypes_shapes_and_layouts() -> None:
    rng = np.random.default_rng(7)
    for dt in DTYPES:
        x = rng.standard_normal((4, 6, 5)).astype(dt)
        g = rng.standard_normal(x.shape).astype(dt)
        for fn in (special.erf, special.erfc, special.gelu, special.sigmoid, special.silu):
            y = fn(x)
            assert y.dtype == dt and y.shape == x.shape
            assert np.array_equal(fn(x[:, ::2].T), y[:, ::2].T)  # strided input
            assert fn(x[0, 0, 0]).shape == ()
            assert fn(np.empty((0, 3), dt)).shape == (0, 3)
        dx = special.gelu_backward(x, g)
        assert dx.dtype == dt and np.array_equal(special.gelu_backward(x[::2], g[::2]), dx[::2])
        s = special.softmax(x, 1)
        assert np.allclose(s.sum(axis=1), 1, rtol=1e-6)
        assert np.array_equal(special.softmax(np.moveaxis(x, 1, 0), 0), np.moveaxis(s, 1, 0))
        assert special.softmax(dt(3.0), 0) == 1
        assert special.softmax(np.empty((0, 4), dt), 1).shape == (0, 4)


def test_bad_arguments() -> None:
    x = np.ones(3, np.float32)
    with pytest.raises(TypeError, match="float32 or float64"):
        special.gelu(np.ones(3, np.int64))
    with pytest.raises(TypeError, match="float32 or float64"):
        special.erf(np.ones(3, np.float16))
    with pytest.raises(ValueError, match="approximate"):
        special.gelu(x, "exact")
    with pytest.raises(ValueError, match="shape"):
        special.gelu_backward(x, np.ones(4, np.float32))
    with pytest.raises(TypeError, match="float64"):
        special.sigmoid_backward(x, np.ones(3))
    with pytest.raises(ValueError, match="dim"):
        special.softmax(x, 1)
    with pytest.raises(ValueError, match="thread"):
        special.set_num_threads(0)


def test_threads_give_identical_results() -> None:
    rng = np.random.default_rng(8)
    x = (rng.standard_normal(5 * special.CHUNK + 123) * 4).astype(np.float32)
    before = special.get_num_threads()
    try:
        special.set_num_threads(1)
        one = [special.gelu(x), special.gelu_backward(x, x), special.erf(x.astype(np.float64))]
        special.set_num_threads(3)
        three = [special.gelu(x), special.gelu_backward(x, x), special.erf(x.astype(np.float64))]
    finally:
        special.set_num_threads(before)
    for a, b in zip(one, three, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_threads() -> None:
    x = np.random.default_rng(9).standard_normal(6 * special.CHUNK).astype(np.float32)
    before = special.get_num_threads()
    special.set_num_threads(2)
    try:
        y = special.gelu(x)  # the pool's threads exist now, and a child would not have them
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os._exit(0 if np.array_equal(special.gelu(x), y) else 1)
        deadline = time.monotonic() + 60
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        if done[0] == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung: it waited on its parent's thread pool")
        assert done[1] == 0
    finally:
        special.set_num_threads(before)


def test_no_warnings_from_overflow(recwarn) -> None:
    x = np.array([-1e30, 1e30, -np.inf, np.nan, -100.0], np.float32)
    for fn in (special.sigmoid, special.silu, special.gelu, special.erfc):
        fn(x)
    special.gelu_backward(x, x, "tanh")
    special.softmax(x, 0)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_import_needs_neither_sympy_nor_torch() -> None:
    code = (
        "import sys, linexplain.special\n"
        "assert 'sympy' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- properties ------------------------------------------------------------------------------


def floats_of(dtype, **kw):
    width = 32 if dtype == np.float32 else 64
    return st.floats(allow_nan=False, width=width, **kw)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_erf_properties(dtype) -> None:
    eps = np.finfo(dtype).eps

    @settings(max_examples=150, deadline=None)
    @given(st.lists(floats_of(dtype), min_size=1, max_size=40))
    def prop(values):
        x = np.array(values, dtype)
        e, c = special.erf(x), special.erfc(x)
        assert np.array_equal(special.erf(-x), -e)  # odd, bit for bit
        assert np.all(np.abs(e) <= 1) and np.all((c >= 0) & (c <= 2))
        # erf + erfc = 1: well-conditioned in absolute terms, |erf|, erfc ≤ 2
        assert np.all(np.abs(e.astype(np.float64) + c - 1) <= 4 * eps)
        order = np.argsort(x, kind="stable")
        assert np.all(np.diff(e[order]) >= 0) and np.all(np.diff(c[order]) <= 0)

    prop()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_erf_monotone_across_region_edges(dtype) -> None:
    for edge in (2.0**-28, 0.25, 0.84375, 1.25, 2.857142925262451, 2.857142448425293, 6.0, 28.0):
        c = dtype(edge)
        x = c + np.arange(-300, 300) * np.spacing(c)
        x = np.unique(np.concatenate([-x, x]).astype(dtype))
        assert np.all(np.diff(special.erf(x)) >= 0), edge
        assert np.all(np.diff(special.erfc(x)) <= 0), edge


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_activation_identities(dtype) -> None:
    @settings(max_examples=100, deadline=None)
    @given(st.lists(floats_of(dtype, min_value=-60, max_value=60), min_size=1, max_size=30))
    def prop(values):
        x = np.array(values, dtype)
        eps = np.finfo(dtype).eps
        # GELU(x) − GELU(−x) = x, Φ(x) + Φ(−x) = 1
        tiny = np.finfo(dtype).tiny  # subnormal GELUs keep few bits
        assert np.allclose(special.gelu(x) - special.gelu(-x), x, rtol=4 * eps, atol=tiny)
        s = special.sigmoid(x).astype(np.float64) + special.sigmoid(-x)
        assert np.allclose(s, 1, rtol=0, atol=4 * eps)
        assert np.all(special.gelu(x) >= np.minimum(x, 0) - 4 * eps * np.abs(x))

    prop()
