"""PyTorch's CPU random numbers, reproduced with NumPy.

``Generator(seed)`` draws what ``torch.manual_seed(seed)`` followed by ``nn.Linear`` and
``torch.randn`` draw on the CPU (checked against torch 2.13):

* the engine is MT19937 seeded with ``seed & 0xffffffff``; NumPy's legacy ``RandomState``
  is the same engine, so its raw 32-bit words are torch's;
* a float32 uniform uses one word, a float64 uniform one 64-bit word
  ``(first << 32) | second``; the low 24 (53) bits scaled by 2**-24 (2**-53) give ``u`` in
  [0, 1), and the value is ``u * (high - low) + low`` rounded once (torch's kernel is built
  with fused multiply-add on AVX2/AVX512 CPUs; a CPU without FMA rounds twice), except that
  a value rounding to ``high`` becomes ``low``;
* ``randn`` with fewer than 16 elements draws Box–Muller pairs from two float64 uniforms
  and keeps the second value of a pair for the next call; with 16 or more it fills
  uniforms and transforms them in blocks of 16 (within 1e-6 in float32, where torch uses
  vectorised approximations of log, sin and cos; within an ulp or two in float64, where
  NumPy's own vectorised log can differ from the C library's in the last bit).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from linexplain.errors import LinexplainError
from linexplain.grammar import MAX_DIMS, as_int, as_size, check_bool, show_dims, show_value

DTYPES: dict[str, np.dtype] = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}
SEED_MIN = -(2**63)
SEED_MAX = 2**64 - 1
# torch.randn switches from one-at-a-time Box–Muller to blocks of 16 at this size.
NORMAL_BLOCK = 16
# high - low where the float64 error-free multiply-add below stays exact (no underflow of
# its error terms, no overflow of the splitting); every float32 range is inside it.
_EXACT_SPAN = (1e-250, 1e300)
_CHUNK = 1 << 15  # elements per vectorised step (a multiple of 16): temporaries stay small


def numpy_dtype(dtype: str) -> np.dtype:
    """The NumPy dtype for a torch dtype name, "float32" or "float64"."""
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise LinexplainError(
            f"unsupported dtype {show_value(dtype)}", "use float32 (torch's default) or float64"
        )
    return DTYPES[dtype]


def sizes(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A tensor shape as Python ints, each checked to be a size (NumPy ints too, as in torch)."""
    if not isinstance(shape, (tuple, list)):
        raise LinexplainError(
            f"a shape must be a tuple of sizes, got {type(shape).__name__}", "e.g. (2, 3)"
        )
    if len(shape) > MAX_DIMS:
        raise LinexplainError(f"shape has {len(shape)} dims", f"at most {MAX_DIMS} are allowed")
    return tuple(as_size(n, f"shape {show_dims(shape)}") for n in shape)


def as_numbers(a: object, what: str, finite: bool = True) -> np.ndarray:
    """Numbers given in Python (an array, nested lists, a number) as an array, by the rules of
    an input file: ints or floats only (no bools, complex, text or objects), all finite (NaN
    and infinity allowed with ``finite=False``, for a layer's own output)."""
    if not (
        isinstance(a, (np.ndarray, np.generic, list, tuple, int, float))
        or hasattr(type(a), "__array__")  # a torch tensor
    ):  # not text, a range or an iterator, which NumPy would spell out or wrap
        raise LinexplainError(
            f"{what} must be an array or nested lists of numbers, got {type(a).__name__}",
            "give a NumPy array of floats, e.g. np.asarray(values, dtype=np.float32)",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy's warnings on odd input: the checks say it
            array = np.asarray(a)
    except (ValueError, TypeError, RuntimeError, OverflowError, MemoryError) as error:
        raise LinexplainError(
            f"{what} is not an array of numbers ({type(error).__name__}: {error})"[:200],
            "give a NumPy array of floats, or nested lists of numbers of one shape",
        ) from None
    if array.dtype.kind not in "iuf":
        raise LinexplainError(
            f"{what} has dtype {array.dtype}, not real numbers", "give a float32 or float64 array"
        )
    if array.ndim > MAX_DIMS:
        raise LinexplainError(f"{what} has {array.ndim} dims", f"at most {MAX_DIMS} are allowed")
    if finite and array.dtype.kind == "f":
        with np.errstate(all="ignore"):  # a sum makes no temporary array
            total = array.sum(dtype=np.float64)
        if not np.isfinite(total):  # a NaN or an infinity, or only an overflowing sum
            bad = ~np.isfinite(array)
            if bad.any():
                index = [int(i) for i in np.argwhere(bad)[0]]
                raise LinexplainError(
                    f"{what}{index if index else ''} is {array[tuple(index)]}, which is not a "
                    "finite number",
                    "use finite numbers only",
                )
    return array


def _shaped(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """flat in ``shape``, refused when NumPy cannot make that shape: even with no elements,
    the product of its nonzero dims times the item size must fit in an int64."""
    try:
        return flat.reshape(shape)
    except ValueError:
        raise LinexplainError(
            f"NumPy cannot make an array of shape {show_dims(shape)}: its nonzero dims times "
            f"{flat.dtype.itemsize} bytes a number pass 2**63-1, though it holds no numbers",
            "use smaller dims",
        ) from None


def _empty(n: int, dt: np.dtype) -> np.ndarray:
    """An array of n numbers of dt, refused when the machine cannot hold it."""
    try:
        return np.empty(n, dtype=dt)
    except (MemoryError, ValueError):  # ValueError: more bytes than NumPy can address
        raise LinexplainError(
            f"{n:,} {dt.name} numbers need {n * dt.itemsize:,} bytes, more than this machine "
            "can allocate",
            "use smaller sizes",
        ) from None


class Generator:
    """A PyTorch CPU generator after ``torch.manual_seed(seed)``."""

    def __init__(self, seed: int) -> None:
        seed = as_int(seed, "seed")  # NumPy ints too, as torch.manual_seed takes them
        if not SEED_MIN <= seed <= SEED_MAX:
            raise LinexplainError(
                f"seed {show_value(seed)} is out of range",
                "torch.manual_seed accepts integers from -2**63 to 2**64 - 1",
            )
        self.seed = seed % 2**64  # what torch.initial_seed() reports
        self._engine = np.random.RandomState(seed & 0xFFFFFFFF)
        self._next_normal: float | None = None  # the sin half of the last Box–Muller pair

    def _random(self, n: int, dtype: np.dtype) -> np.ndarray:
        """The next n uniforms in [0, 1) of dtype, from the low 24 or 53 bits of the draws."""
        if dtype == np.float32:
            words = self._engine.randint(0, 2**32, size=n, dtype=np.uint32)
            return (words & np.uint32(2**24 - 1)).astype(np.float32) * np.float32(2**-24)
        words = self._engine.randint(0, 2**32, size=2 * n, dtype=np.uint32).astype(np.uint64)
        bits = ((words[0::2] << np.uint64(32)) | words[1::2]) & np.uint64(2**53 - 1)
        return bits.astype(np.float64) * 2.0**-53

    def uniform(
        self, shape: tuple[int, ...], low: float, high: float, dtype: str = "float32"
    ) -> np.ndarray:
        """``torch.empty(shape, dtype=dtype).uniform_(low, high)``."""
        dt = numpy_dtype(dtype)
        lo, hi, span = _check_bounds(low, high, dt)
        shape = sizes(shape)
        out = _empty(math.prod(shape), dt)
        for i in range(0, out.size, _CHUNK):
            u = self._random(min(_CHUNK, out.size - i), dt).astype(np.float64)
            value = _fma(u, span, lo, dt)
            out[i : i + u.size] = np.where(value == hi, lo, value)  # torch keeps [low, high)
        return _shaped(out, shape)

    def randn(self, shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
        """``torch.randn(*shape, dtype=dtype)``."""
        dt = numpy_dtype(dtype)
        shape = sizes(shape)
        n = math.prod(shape)
        if n < NORMAL_BLOCK:
            return _shaped(np.array([self._normal() for _ in range(n)], dtype=dt), shape)
        out = _empty(n, dt)
        for i in range(0, n, _CHUNK):  # torch draws all n uniforms first...
            u = self._random(min(_CHUNK, n - i), dt)
            whole = u.size - u.size % NORMAL_BLOCK  # only the last chunk has a partial block
            out[i : i + whole] = _box_muller_16(u[:whole])
        if n % NORMAL_BLOCK:  # ...then redraws the last 16 values, partial block included
            out[-NORMAL_BLOCK:] = _box_muller_16(self._random(NORMAL_BLOCK, dt))
        return _shaped(out, shape)

    def _normal(self) -> float:
        """One standard normal as a Python float, exactly as torch's scalar path."""
        if self._next_normal is not None:
            z, self._next_normal = self._next_normal, None
            return z
        u1, u2 = self._random(2, DTYPES["float64"]).tolist()
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._next_normal = r * math.sin(theta)
        return r * math.cos(theta)


def linear_init(
    gen: Generator,
    in_features: int,
    out_features: int,
    *,
    bias: bool = True,
    dtype: str = "float32",
) -> tuple[np.ndarray, np.ndarray | None]:
    """``nn.Linear(in_features, out_features, bias)``'s weight and bias, drawn from gen."""
    if not isinstance(gen, Generator):
        raise LinexplainError(
            f"gen must be a linexplain Generator, got {type(gen).__name__}", "e.g. Generator(0)"
        )
    in_features = as_size(in_features, "in_features")
    out_features = as_size(out_features, "out_features")
    bias = check_bool(bias, "bias")
    dt = numpy_dtype(dtype)
    fan_in = in_features
    if fan_in * out_features == 0:  # kaiming_uniform_ skips zero-element weights
        weight = np.zeros((out_features, in_features), dtype=dt)
    else:
        a = math.sqrt(5)  # kaiming_uniform_(weight, a=sqrt(5))
        gain = math.sqrt(2.0 / (1 + a**2))
        bound = math.sqrt(3.0) * (gain / math.sqrt(fan_in))
        weight = gen.uniform((out_features, in_features), -bound, bound, dtype)
    if not bias:
        return weight, None
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0  # an int, so -bound is +0.0 as in torch
    return weight, gen.uniform((out_features,), -bound, bound, dtype)


def _check_bounds(low: float, high: float, dt: np.dtype) -> tuple[float, float, float]:
    """low, high and high - low computed in dt, checked as torch's uniform_ does."""
    for name, bound in (("low", low), ("high", high)):
        if not isinstance(bound, numbers.Real) or isinstance(bound, (bool, np.bool_)):
            raise LinexplainError(
                f"uniform's {name} must be a real number, got {show_value(bound)}",
                "give int or float bounds, e.g. uniform(shape, -1.0, 1.0)",
            )
    try:
        with np.errstate(over="ignore"):
            lo, hi = dt.type(low), dt.type(high)
    except OverflowError:  # an int past float64's range
        lo = hi = dt.type(math.inf)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise LinexplainError(
            f"uniform bounds {show_value(low)}, {show_value(high)} are out of range for {dt.name}",
            "give finite bounds within the dtype's range",
        )
    if lo > hi:
        raise LinexplainError(
            f"uniform expects a [low, high) range, but found low={low} > high={high}",
            "swap the bounds",
        )
    with np.errstate(over="ignore"):
        span = float(hi - lo)  # rounded to dt, as torch computes it
    if not math.isfinite(span):
        raise LinexplainError(
            f"uniform range high - low overflows {dt.name} (low={low}, high={high})",
            "give bounds whose difference fits the dtype",
        )
    if span and not _EXACT_SPAN[0] <= span <= _EXACT_SPAN[1]:  # _fma would under/overflow
        raise LinexplainError(
            f"uniform range high - low = {span:g} cannot be reproduced exactly",
            f"give bounds whose difference is 0 or between {_EXACT_SPAN[0]:g} and "
            f"{_EXACT_SPAN[1]:g}",
        )
    return float(lo), float(hi), span


def _box_muller_16(u: np.ndarray) -> np.ndarray:
    """torch's normal_fill: in each block of 16 uniforms, 8 cos and 8 sin normals."""
    u = u.reshape(-1, 2, NORMAL_BLOCK // 2)
    u1, u2 = 1 - u[:, 0], u[:, 1]  # 1 - u maps [0, 1) to (0, 1] for the log
    r = np.sqrt(-2 * np.log(u1))
    theta = u.dtype.type(2 * math.pi) * u2
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1).reshape(-1)


# Exact a*b + c with float64 operations (error-free transformations; Boldo & Melquiond,
# "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to odd").


def _fma(a: np.ndarray, b: float, c: float, dt: np.dtype) -> np.ndarray:
    """a*b + c rounded once to dt; a (float64 array), b and c hold dt values.

    For float32 values a*b is exact in float64 and no error term can underflow, so rounding
    to odd and then to float32 is exact everywhere (53 >= 24 + 2 bits).
    """
    ph, pl = _two_prod(a, np.asarray(b, dtype=np.float64))
    th, tl = _two_sum(np.asarray(c, dtype=np.float64), ph)
    v = _add_odd(tl, pl)
    if dt == np.float64:
        return th + v
    return _add_odd(th, v).astype(dt)


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s, e with s = fl(a + b) and a + b = s + e exactly."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p, e with p = fl(a * b) and a * b = p + e exactly (Dekker, Veltkamp split)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a = hi + lo with hi and lo of at most 26 significant bits each."""
    c = (2.0**27 + 1) * a
    hi = c - (c - a)
    return hi, a - hi


def _add_odd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b rounded to odd: if inexact, the neighbour whose last bit is 1."""
    s, e = _two_sum(a, b)
    even = (s.view(np.uint64) & np.uint64(1)) == 0
    return np.where((e != 0) & even, np.nextafter(s, np.copysign(np.inf, e)), s)
