"""Elementwise activations and their gradients as PyTorch computes them, in NumPy alone.

``erf``/``erfc`` port FreeBSD's ``s_erf.c`` (fdlibm, Sun 1993; glibc's and musl's erf too): its
rational approximations and coefficients, region by region, in float64 (erf within 1 ulp, erfc
within 2); float32 is computed in float64 and rounded once. Exact GELU is x·Φ(x) with
Φ(−|x|) = erfc(|x|/√2)/2, never 1 + erf(x/√2), which cancels for x < 0 (torch's float32 loses
GELU's left tail that way). The float32 GELU, the hot path of a transformer's MLP, computes
Φ(−|x|) = exp(−x²/2)·P(|x|)/Q(|x|) in float64 instead: one exponential and one rational
function for every x, no branches, within 0.6 ulp (see ``_MILLS_P``). Every function takes
float32 or float64 arrays and returns the input's dtype; NaN, ±inf and signed zeros come out as
in torch's ATen kernels. tests/test_special.py says how results are compared with torch's.

Large arrays are cut into chunks that stay in the L2 cache and bound the temporaries, and the
chunks are shared among threads (NumPy's ufuncs release the GIL): :func:`set_num_threads`.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = [
    "erf",
    "erfc",
    "gelu",
    "gelu_backward",
    "get_num_threads",
    "leaky_relu",
    "leaky_relu_backward",
    "relu",
    "relu_backward",
    "set_num_threads",
    "sigmoid",
    "sigmoid_backward",
    "silu",
    "silu_backward",
    "softmax",
    "softmax_backward",
    "tanh",
    "tanh_backward",
]

Array = np.ndarray[Any, Any]
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)

# --- fdlibm s_erf.c: coefficients as printed there (each equals the hex word beside it) ---------
# erx = (float)0.84506291151, the constant part on [0.84375, 1.25)
_ERX = 8.45062911510467529297e-01
# 8·(2/√π − 1), for |x| < 2**-28, where erf(x) = x + x·efx
_EFX8 = 1.02703333676410069053e00
# erf on [0, 0.84375): x + x·pp(z)/qq(z), z = x²
_PP = (
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
)
_QQ = (
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
)
# erf on [0.84375, 1.25): erx + pa(s)/qa(s), s = |x| − 1
_PA = (
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
)
_QA = (
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
)
# erfc on [1.25, 1/0.35): exp(−x² − 0.5625 + ra(s)/sa(s))/x, s = 1/x²
_RA = (
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e01,
    -6.23753324503260060396e01,
    -1.62396669462573470355e02,
    -1.84605092906711035994e02,
    -8.12874355063065934246e01,
    -9.81432934416914548592e00,
)
_SA = (
    1.0,
    1.96512716674392571292e01,
    1.37657754143519042600e02,
    4.34565877475229228821e02,
    6.45387271733267880336e02,
    4.29008140027567833386e02,
    1.08635005541779435134e02,
    6.57024977031928170135e00,
    -6.04244152148580987438e-02,
)
# erfc on [1/0.35, 28): the same form with rb/sb
_RB = (
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e01,
    -1.60636384855821916062e02,
    -6.37566443368389627722e02,
    -1.02509513161107724954e03,
    -4.83519191608651397019e02,
)
_SB = (
    1.0,
    3.03380607434824582924e01,
    3.25792512996573918826e02,
    1.53672958608443695994e03,
    3.19985821950859553908e03,
    2.55305040643316442583e03,
    4.74528541206955367215e02,
    -2.24409524465858183362e01,
)
# s_erf.c compares high words: these are the doubles whose high words it names.
_TINY_ERF = 2.0**-28  # 0x3e300000
_TINY_ERFC = 2.0**-56  # 0x3c700000
_ERF_RA_RB = 2.857142925262451171875  # 0x4006DB6E: erf's switch from ra/sb to rb/sb
_ERFC_RA_RB = 2.85714244842529296875  # 0x4006DB6D: erfc's

# --- float32 GELU: Φ(−u) = exp(−u²/2)·P(u)/Q(u) for u = |x| ----------------------------------
# P/Q approximates the Mills ratio over √(2π) (highest degree first, Q monic), so the left tail
# keeps its relative accuracy: Φ(−u) ~ φ(u)/u. Fitted for this module to erfc(u/√2)/2·exp(u²/2)
# computed by mpmath at 40 digits on 3000 Chebyshev nodes of [0, 14] (float32's GELU underflows
# below −14), with P(0)/Q(0) = 1/2 exactly: least squares on the linearised relative error,
# then Lawson's reweighting toward minimax. Max relative error 5.8e-9 on [0, 14], a tenth of
# float32's ulp (degree 5/6 would give 8e-11 at 15% more time); the tests hold the float32
# GELU to within 1 ulp of the float64 one. All coefficients are positive: Horner cannot cancel.
_MILLS_P = (
    0.3989474592275754,
    3.960805903630219,
    17.93163429588938,
    43.03009951443707,
    49.28342271164489,
)
_MILLS_Q = (
    9.92895281317084,
    45.93232239709921,
    117.99520878744464,
    164.70518949135663,
    98.56684542328978,
)

_SQRT1_2 = 0.70710678118654752440  # M_SQRT1_2, what torch multiplies x by
_SQRT2 = 1.41421356237309504880
_INV_SQRT_2PI = 0.39894228040143267794  # 1/√(2π)
_SQRT_2_PI = 0.79788456080286535588  # √(2/π), tanh-GELU's kBeta
_KAPPA = 0.044715

# --- chunks and threads --------------------------------------------------------------------
# 16384 float64 elements are 128 KiB: a kernel's handful of scratch arrays fit the L2 cache, and
# NumPy's per-call overhead (~0.4 µs) stays small against each pass (~4 µs).
CHUNK = 16384


def _default_threads() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


_threads = _default_threads()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_local = threading.local()


def set_num_threads(n: int) -> None:
    """Use up to n threads for large arrays (default: the usable CPUs, at most 8)."""
    global _threads, _pool
    if n < 1:
        raise ValueError(f"need at least one thread, got {n}")
    with _pool_lock:
        _threads = int(n)
        if _pool is not None:
            _pool.shutdown(wait=False)
            _pool = None


def _forget_pool() -> None:
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()  # a forked child has none of the pool's threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def get_num_threads() -> int:
    """The number of threads large arrays are shared among."""
    return _threads


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_threads - 1, thread_name_prefix="linexplain-special")
        return _pool


def _scratch(k: int, n: int, dtype: np.dtype[Any] = F64) -> list[Array]:
    """k scratch arrays of length n (≤ CHUNK), kept per thread and dtype across calls."""
    pools: dict[np.dtype[Any], list[Array]] | None = getattr(_local, "pools", None)
    if pools is None:
        pools = _local.pools = {}
    bufs = pools.setdefault(dtype, [])
    while len(bufs) < k:
        bufs.append(np.empty(CHUNK, dtype))
    return [b[:n] for b in bufs[:k]]


def _chunked(kernel: Callable[..., None], out: Array, *ins: Array, step: int = CHUNK) -> None:
    """kernel(out_part, *in_parts) over [s, s + step) slices of flat arrays, in threads."""
    n = out.shape[0]
    chunks = -(-n // step)
    threads = min(_threads, chunks // 2)  # a thread's hand-off costs about a chunk

    def work(lo: int, hi: int) -> None:
        with np.errstate(all="ignore"):  # errstate is per thread: set it in each
            for s in range(lo, hi, step):
                e = min(s + step, hi)
                kernel(out[s:e], *(a[s:e] for a in ins))

    if threads <= 1:
        work(0, n)
        return
    per = -(-chunks // threads) * step
    pool = _get_pool()
    futures: list[Future[None]] = [
        pool.submit(work, lo, min(lo + per, n)) for lo in range(per, n, per)
    ]
    try:
        work(0, per)
    finally:
        for f in futures:
            f.result()


def _float_array(x: Any, name: str = "x") -> Array:
    a = np.asarray(x)
    if a.dtype != F32 and a.dtype != F64:
        raise TypeError(f"{name} must be a float32 or float64 array, got {a.dtype}")
    return a if a.flags.c_contiguous else np.array(a, order="C")


def _with_grad(v: Any, grad: Any, vname: str) -> tuple[Array, Array]:
    a = _float_array(v, vname)
    g = _float_array(grad, "grad")
    if g.shape != a.shape:
        raise ValueError(f"grad has shape {g.shape}, {vname} has shape {a.shape}: they must match")
    if g.dtype != a.dtype:
        raise TypeError(f"grad is {g.dtype}, {vname} is {a.dtype}: they must match")
    return a, g


def _map(kernel: Callable[..., None], *ins: Array) -> Array:
    """A new array of ins[0]'s shape and dtype, filled chunk by chunk by kernel."""
    out = np.empty_like(ins[0])
    if out.size:
        _chunked(kernel, out.reshape(-1), *(a.reshape(-1) for a in ins))
    return out


def _poly(s: Array, coefs: tuple[float, ...]) -> Array:
    """Σ coefs[k]·s**k by Horner's rule (a fresh array)."""
    r = np.full_like(s, coefs[-1])
    for c in coefs[-2::-1]:
        r *= s
        r += c
    return r


# --- erf and erfc (fdlibm) -----------------------------------------------------------------


def _regions(ax: Array, edges: tuple[float, ...]) -> list[Array]:
    """Indices of ax in [0, e0), [e0, e1), …, [e_last, ∞]; NaN in none."""
    below = [ax < e for e in edges]
    parts = [below[0], *(hi ^ lo for lo, hi in itertools.pairwise(below))]
    parts.append(ax >= edges[-1])
    return [np.flatnonzero(p) for p in parts]


def _erf_small(x: Array) -> Array:
    """erf on 2**-28 ≤ |x| < 0.84375."""
    z = x * x
    return x + x * (_poly(z, _PP) / _poly(z, _QQ))


def _erf_mid(ax: Array) -> Array:
    """erf(|x|) − erx on [0.84375, 1.25)."""
    s = ax - 1.0
    return _poly(s, _PA) / _poly(s, _QA)


def _high(a: Array) -> Array:
    """a with the low 32 bits of its significand cleared: 21 bits, so its square is exact."""
    return (a.view(np.uint64) & np.uint64(0xFFFFFFFF00000000)).view(np.float64)


def _erfc_tail(ax: Array, ra_below: float, unscaled: Array | None = None) -> Array:
    """erfc(|x|) on [1.25, 28); with unscaled = √2·|x| given exactly, exp(−x²) is exact too."""
    s = 1.0 / (ax * ax)
    near = ax < ra_below
    ratio = np.empty_like(ax)
    if near.all():
        ratio = _poly(s, _RA) / _poly(s, _SA)
    else:
        i, j = np.flatnonzero(near), np.flatnonzero(~near)
        ratio[i] = _poly(s[i], _RA) / _poly(s[i], _SA)
        ratio[j] = _poly(s[j], _RB) / _poly(s[j], _SB)
    # −x² = −z² + (z − x)(z + x) with z = _high(x): z² is exact and the rest small.
    if unscaled is None:
        z = _high(ax)
        return np.exp(-z * z - 0.5625) * np.exp((z - ax) * (z + ax) + ratio) / ax
    # GELU's x/√2 is rounded, and erfc's relative error grows as 2x² times that rounding: take
    # −x²/2 from the unscaled x instead (the ratio and 1/x barely feel the rounding).
    z = _high(unscaled)
    head = np.exp(-0.5 * (z * z) - 0.5625)
    return head * np.exp(0.5 * ((z - unscaled) * (z + unscaled)) + ratio) * (_SQRT2 / unscaled)


def _erf64(out: Array, x: Array) -> None:
    ax = np.abs(x)
    np.copyto(out, x)  # NaN stays NaN: it falls in no region
    tiny, small, mid, tail, one = _regions(ax, (_TINY_ERF, 0.84375, 1.25, 6.0))
    if tiny.size:
        v = x[tiny]
        out[tiny] = (8.0 * v + _EFX8 * v) * 0.125
    if small.size:
        out[small] = _erf_small(x[small])
    if mid.size:
        out[mid] = np.copysign(_ERX + _erf_mid(ax[mid]), x[mid])
    if tail.size:
        out[tail] = np.copysign(1.0 - _erfc_tail(ax[tail], _ERF_RA_RB), x[tail])
    if one.size:
        out[one] = np.copysign(1.0, x[one])


def _erfc64(out: Array, x: Array, unscaled: Array | None = None) -> None:
    ax = np.abs(x)
    np.copyto(out, x)
    tiny, small, mid, tail, far = _regions(ax, (_TINY_ERFC, 0.84375, 1.25, 28.0))
    if tiny.size:
        out[tiny] = 1.0 - x[tiny]
    if small.size:
        v = x[small]
        z = v * v
        vy = v * (_poly(z, _PP) / _poly(z, _QQ))
        # Below 1/4, 1 − erf loses nothing; above, 0.5 − (x − 0.5 + x·y) keeps the low bits.
        out[small] = np.where(v < 0.25, 1.0 - (v + vy), 0.5 - (vy + (v - 0.5)))
    if mid.size:
        v = x[mid]
        pq = _erf_mid(ax[mid])
        out[mid] = np.where(v >= 0, (1.0 - _ERX) - pq, 1.0 + (_ERX + pq))
    if tail.size:
        v = x[tail]
        r = _erfc_tail(ax[tail], _ERFC_RA_RB, None if unscaled is None else unscaled[tail])
        out[tail] = np.where(v > 0, r, np.where(v <= -6.0, 2.0, 2.0 - r))
    if far.size:
        out[far] = np.where(x[far] > 0, 0.0, 2.0)


def _via64(kernel64: Callable[[Array, Array], None]) -> Callable[[Array, Array], None]:
    """A float32 kernel from a float64 one: widen, compute, round once."""

    def kernel(out: Array, x: Array) -> None:
        (w,) = _scratch(1, x.shape[0])
        np.copyto(w, x)
        kernel64(w, w)
        np.copyto(out, w, casting="same_kind")

    return kernel


_erf32 = _via64(_erf64)
_erfc32 = _via64(_erfc64)


def erf(x: Any) -> Array:
    """The error function 2/√π·∫₀ˣ exp(−t²) dt, elementwise (fdlibm's algorithm)."""
    a = _float_array(x)
    return _map(_erf32 if a.dtype == F32 else _erf64, a)


def erfc(x: Any) -> Array:
    """1 − erf(x) without cancellation: relative accuracy out to erfc(x) ≈ 1e-308."""
    a = _float_array(x)
    return _map(_erfc32 if a.dtype == F32 else _erfc64, a)


# --- GELU ----------------------------------------------------------------------------------


def _mills32(x: Array, bufs: list[Array]) -> tuple[Array, Array, Array, Array]:
    """x, u = |x|, q = Φ(−u) and f = exp(−u²/2) in float64 from a float32 chunk.

    bufs are 5 float64 scratch arrays; the fifth is free on return. u = inf gives q = NaN (∞/∞).
    """
    x64, u, q, f, p = bufs
    np.copyto(x64, x)
    np.abs(x64, out=u)
    np.multiply(u, _MILLS_P[0], out=p)
    np.add(p, _MILLS_P[1], out=p)
    for c in _MILLS_P[2:]:
        np.multiply(p, u, out=p)
        np.add(p, c, out=p)
    np.add(u, _MILLS_Q[0], out=q)
    for c in _MILLS_Q[1:]:
        np.multiply(q, u, out=q)
        np.add(q, c, out=q)
    np.divide(p, q, out=q)
    np.multiply(u, -0.5, out=f)
    np.multiply(f, u, out=f)
    np.exp(f, out=f)
    np.multiply(q, f, out=q)
    return x64, u, q, f


def _keep_where_nonneg(t: Array, x: Array, scratch: Array) -> None:
    """t = t where x ≥ +0, else +0 (−0 counts as negative): a bit mask, faster than a branch."""
    m = scratch.view(np.int64)
    np.right_shift(x.view(np.int64), 63, out=m)  # −1 where the sign bit is set, else 0
    np.invert(m, out=m)
    ti = t.view(np.int64)
    np.bitwise_and(ti, m, out=ti)


def _gelu32(out: Array, x: Array) -> None:
    n = x.shape[0]
    bufs = _scratch(5, n)
    x64, u, q, _ = _mills32(x, bufs)
    # x·Φ(x) = relu(x) − |x|·Φ(−|x|): exact relu, and the left tail is −|x|·q, no cancellation
    r = bufs[4]
    np.add(x64, u, out=r)
    r *= 0.5
    np.multiply(u, q, out=u)
    np.subtract(r, u, out=out, casting="same_kind")
    # GELU(x) has x's sign, and −0 − (+0) gave +0 for x = −0: copy x's sign bit back in
    (sign,) = _scratch(1, n, F32)
    si, oi = sign.view(np.int32), out.view(np.int32)
    np.bitwise_and(x.view(np.int32), np.int32(-(2**31)), out=si)
    np.bitwise_or(oi, si, out=oi)
    if np.isnan(np.add.reduce(out)):  # NaN or ±inf in x; GELU(+inf) = +inf as in torch's ATen
        out[x == np.inf] = np.inf


def _phi64(x: Array, q: Array, t: Array, m: Array) -> None:
    """t = Φ(x) = erfc(−x/√2)/2 by fdlibm, q = Φ(−|x|) (float64 scratch, m too)."""
    np.abs(x, out=m)
    np.multiply(m, _SQRT1_2, out=q)
    _erfc64(q, q, m)
    q *= 0.5
    np.multiply(q, -2.0, out=t)
    np.add(t, 1.0, out=t)
    _keep_where_nonneg(t, x, m)
    t += q


def _gelu64(out: Array, x: Array) -> None:
    q, t, m = _scratch(3, x.shape[0])
    _phi64(x, q, t, m)
    np.multiply(x, t, out=out)


def _gelu_backward32(out: Array, x: Array, g: Array) -> None:
    bufs = _scratch(5, x.shape[0])
    x64, u, q, f = _mills32(x, bufs)
    t = bufs[4]
    # GELU′(x) = Φ(x) + x·φ(x) = w for x < 0, 1 − w for x ≥ 0, with w = Φ(−u) − u·φ(u)
    f *= _INV_SQRT_2PI  # φ(u)
    f *= u
    np.subtract(q, f, out=f)  # w
    np.multiply(f, -2.0, out=t)
    t += 1.0
    _keep_where_nonneg(t, x64, u)
    t += f
    np.multiply(t, g, out=out, casting="same_kind")  # ±inf: q = ∞/∞ = NaN, torch's NaN too


def _gelu_backward64(out: Array, x: Array, g: Array) -> None:
    q, t, m = _scratch(3, x.shape[0])
    _phi64(x, q, t, m)
    z = _high(x)  # exp(−x²/2) as exp(−z²/2)·exp((z − x)(z + x)/2), as in _erfc_tail
    np.multiply(z, z, out=q)
    np.multiply(q, -0.5, out=q)
    np.exp(q, out=q)
    np.subtract(z, x, out=m)
    z += x
    m *= z
    m *= 0.5
    np.exp(m, out=m)
    q *= m
    np.multiply(q, _INV_SQRT_2PI, out=q)  # φ(x)
    np.multiply(q, x, out=q)
    t += q
    np.multiply(t, g, out=out)


def _gelu_tanh(out: Array, x: Array) -> None:
    # x/2·(1 + tanh(z)) = x·σ(2z) = x/(1 + exp(−2z)): no cancellation for x < 0
    x64, z = _scratch(2, x.shape[0])
    if x.dtype == F64:
        x64 = x
    else:
        np.copyto(x64, x)
    x = x64
    np.multiply(x, x, out=z)
    np.multiply(z, _KAPPA * -2.0 * _SQRT_2_PI, out=z)
    z -= 2.0 * _SQRT_2_PI
    np.multiply(z, x, out=z)  # −2z
    np.exp(z, out=z)
    z += 1.0
    np.divide(x, z, out=out, casting="same_kind")


def _gelu_tanh_backward(out: Array, x: Array, g: Array) -> None:
    # d/dx x·σ(2z) = s + x·s·(1 − s)·2z′ with s = σ(2z) = 1/(1 + e), 1 − s = 1/(1 + 1/e)
    x64, e, s, c = _scratch(4, x.shape[0])
    if x.dtype == F64:
        x64 = x
    else:
        np.copyto(x64, x)
    x = x64
    np.multiply(x, x, out=e)
    np.multiply(e, _KAPPA * -2.0 * _SQRT_2_PI, out=e)
    e -= 2.0 * _SQRT_2_PI
    np.multiply(e, x, out=e)
    np.exp(e, out=e)  # exp(−2z)
    np.add(e, 1.0, out=s)
    np.divide(1.0, s, out=s)  # s
    np.divide(1.0, e, out=c)
    c += 1.0
    np.divide(s, c, out=c)
    c *= x  # x·s·(1 − s): 0 once |x| is large, so x² below never meets it as ∞·0
    np.multiply(c, 2.0 * _SQRT_2_PI, out=e)
    c *= x
    c *= x
    c *= 6.0 * _KAPPA * _SQRT_2_PI
    c += e
    c += s
    np.multiply(c, g, out=out, casting="same_kind")


def _check_approximate(approximate: str) -> None:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")


def gelu(x: Any, approximate: str = "none") -> Array:
    """torch.nn.functional.gelu: x·Φ(x), or with approximate="tanh" PyTorch's tanh form."""
    _check_approximate(approximate)
    a = _float_array(x)
    if approximate == "tanh":
        return _map(_gelu_tanh, a)
    return _map(_gelu32 if a.dtype == F32 else _gelu64, a)


def gelu_backward(x: Any, grad: Any, approximate: str = "none") -> Array:
    """∂L/∂x of GELU from its input x and grad = ∂L/∂y, as torch's autograd gives it."""
    _check_approximate(approximate)
    a, g = _with_grad(x, grad, "x")
    if approximate == "tanh":
        return _map(_gelu_tanh_backward, a, g)
    return _map(_gelu_backward32 if a.dtype == F32 else _gelu_backward64, a, g)


# --- sigmoid, SiLU, tanh -------------------------------------------------------------------


def _sigmoid(out: Array, x: Array) -> None:
    # 1/(1 + exp(−x)), as torch: exp(−x) = inf below float's range gives 0, never NaN
    np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1
    np.divide(1, out, out=out)


def _silu(out: Array, x: Array) -> None:
    np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1
    np.divide(x, out, out=out)


def _sigmoid_backward(out: Array, y: Array, g: Array) -> None:
    np.subtract(1, y, out=out)  # torch: g·(1 − y)·y
    out *= g
    out *= y


def _silu_backward(out: Array, x: Array, g: Array) -> None:
    # torch: g·σ·(1 + x·(1 − σ))
    (s,) = _scratch(1, x.shape[0], x.dtype)
    _sigmoid(s, x)
    np.subtract(1, s, out=out)
    out *= x
    out += 1
    out *= s
    out *= g


def _tanh(out: Array, x: Array) -> None:
    np.tanh(x, out=out)


def _tanh_backward(out: Array, y: Array, g: Array) -> None:
    np.multiply(y, y, out=out)  # torch: g·(1 − y²)
    np.subtract(1, out, out=out)
    out *= g


def sigmoid(x: Any) -> Array:
    """torch.sigmoid: 1/(1 + exp(−x)), 0 where exp(−x) overflows."""
    return _map(_sigmoid, _float_array(x))


def sigmoid_backward(y: Any, grad: Any) -> Array:
    """∂L/∂x of sigmoid from its output y: grad·(1 − y)·y."""
    return _map(_sigmoid_backward, *_with_grad(y, grad, "y"))


def silu(x: Any) -> Array:
    """torch.nn.functional.silu: x·σ(x) = x/(1 + exp(−x))."""
    return _map(_silu, _float_array(x))


def silu_backward(x: Any, grad: Any) -> Array:
    """∂L/∂x of SiLU from its input x: grad·σ(x)·(1 + x·(1 − σ(x)))."""
    return _map(_silu_backward, *_with_grad(x, grad, "x"))


def tanh(x: Any) -> Array:
    """torch.tanh."""
    return _map(_tanh, _float_array(x))


def tanh_backward(y: Any, grad: Any) -> Array:
    """∂L/∂x of tanh from its output y: grad·(1 − y²)."""
    return _map(_tanh_backward, *_with_grad(y, grad, "y"))


# --- ReLU, LeakyReLU -----------------------------------------------------------------------


def _relu_backward(out: Array, v: Array, g: Array) -> None:
    np.copyto(out, g)
    np.copyto(out, 0, where=v <= 0)


def relu(x: Any) -> Array:
    """torch.relu: 0 where x < 0, else x (so −0 and NaN pass through, as in torch)."""
    a = _float_array(x)
    # maximum(0, x) gives its second argument on a tie (−0 stays −0) and passes NaN: torch's
    # results bit for bit, in one vectorised pass (no chunks: nothing to gain for one op).
    return np.maximum(a.dtype.type(0), a)


def relu_backward(x_or_y: Any, grad: Any) -> Array:
    """∂L/∂x of ReLU from its input or output: 0 where it is ≤ 0 (ReLU′(0) = 0), else grad.

    torch reads the output, so NaN passes grad through; reading the input gives the same.
    """
    return _map(_relu_backward, *_with_grad(x_or_y, grad, "x_or_y"))


def leaky_relu(x: Any, slope: float = 0.01) -> Array:
    """torch.nn.functional.leaky_relu: x where x > 0, else slope·x."""
    a = _float_array(x)
    s = a.dtype.type(slope)

    def kernel(out: Array, x: Array) -> None:
        np.multiply(x, s, out=out)  # |slope| > 1 may overflow to ±inf, as in torch
        np.copyto(out, x, where=x > 0)

    return _map(kernel, a)


def leaky_relu_backward(x: Any, grad: Any, slope: float = 0.01) -> Array:
    """∂L/∂x of LeakyReLU: grad where x > 0, else slope·grad (at 0 and NaN too, as torch)."""
    a, g = _with_grad(x, grad, "x")
    s = a.dtype.type(slope)

    def kernel(out: Array, x: Array, g: Array) -> None:
        np.multiply(g, s, out=out)
        np.copyto(out, g, where=x > 0)

    return _map(kernel, a, g)


# --- softmax -------------------------------------------------------------------------------


def _along(x: Array, dim: int) -> Array:
    """A view of C-contiguous x with dim as axis 1: (rows, n), (a, n, b), or (b, n) strided."""
    nd = x.ndim
    if nd == 0:
        return x.reshape(1, 1)
    if not -nd <= dim < nd:
        raise ValueError(f"dim {dim} is out of range for a {nd}-D array")
    dim %= nd
    a, n, b = math.prod(x.shape[:dim]), x.shape[dim], math.prod(x.shape[dim + 1 :])
    if b == 1:
        return x.reshape(a, n)
    if a == 1:
        return x.reshape(n, b).T
    return x.reshape(a, n, b)


def _softmax_map(kernel: Callable[..., None], dim: int, *ins: Array) -> Array:
    """A new array like ins[0], kernel run on blocks of whole slices along dim."""
    out = np.empty_like(ins[0])
    views = [_along(a, dim) for a in (out, *ins)]
    if out.size:
        per_row = math.prod(views[0].shape[1:])
        _chunked(kernel, *views, step=max(1, CHUNK // max(per_row, 1)))
    return out


def _softmax_rows(out: Array, x: Array) -> None:
    # torch: exp(x − max) then a multiply by 1/Σ
    m = np.max(x, axis=1, keepdims=True)
    np.subtract(x, m, out=out)
    np.exp(out, out=out)
    s = np.add.reduce(out, axis=1, keepdims=True)
    np.divide(1, s, out=s)
    out *= s


def _softmax_backward_rows(out: Array, y: Array, g: Array) -> None:
    np.multiply(g, y, out=out)  # torch: y·(g − Σ g·y)
    s = np.add.reduce(out, axis=1, keepdims=True)
    np.subtract(g, s, out=out)
    out *= y


def softmax(x: Any, dim: int) -> Array:
    """torch.softmax(x, dim): exp(x − max)/Σ exp(x − max) along dim."""
    return _softmax_map(_softmax_rows, dim, _float_array(x))


def softmax_backward(y: Any, grad: Any, dim: int) -> Array:
    """∂L/∂x of softmax from its output y: y·(grad − Σ grad·y) along dim."""
    return _softmax_map(_softmax_backward_rows, dim, *_with_grad(y, grad, "y"))
