"""nn.Linear in NumPy: y = x Wᵀ + b over the last dimension of x.

Dtypes follow torch: input, weight and bias must all be float32 or all float64 (torch
refuses to mix them, and so does ``linear``); the output has that same dtype.
"""

from __future__ import annotations

import math
import operator
import secrets

import numpy as np

from linexplain.errors import LinexplainError
from linexplain.grammar import as_size, check_bool
from linexplain.torch_rng import DTYPES, Generator, linear_init, numpy_dtype

_FLOATS = tuple(DTYPES.values())
# Below this many multiply-adds the call overhead outweighs the BLAS orientation.
_SMALL_PRODUCT = 1 << 18
# NumPy adds a broadcast bias one row at a time; short rows go faster grouped into runs of
# about _BIAS_RUN elements against the bias repeated to match (see _add_bias).
_BIAS_RUN = 1 << 14
# Python sees Ctrl-C only between calls, so a product of more multiply-adds than this is made
# in equal blocks of rows, each at most this many (0.2-0.4 s on 2 cores). Each extra call costs
# about 1-2 % (the BLAS packs W again), so the blocks stay large: every benchmarked shape is
# one call.
_BLOCK_MACS = 1 << 35


def linear(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``torch.nn.functional.linear``: x of shape (*, in) times weight (out, in), plus bias (out,).

    Returns an array of shape (*, out), written into ``out`` when given.
    """
    _check_array(x, "input")
    _check_params(weight, bias)
    if x.ndim == 0:
        raise LinexplainError(
            f"both arguments to linear need to be at least 1D, but they are 0D and {weight.ndim}D",
            "give the input at least one dimension, e.g. shape (in_features,)",
        )
    if x.dtype != weight.dtype:
        raise LinexplainError(
            f"expected input and weight to have the same dtype, but got: "
            f"{x.dtype.name} != {weight.dtype.name}",
            f"cast the input, e.g. x.astype(np.{weight.dtype.name})",
        )
    out_features, in_features = weight.shape
    rows = math.prod(x.shape[:-1])  # a 1-D input is one row
    if x.shape[-1] != in_features:
        raise LinexplainError(  # torch's own message (layers.mismatch_message, for sizes only)
            f"mat1 and mat2 shapes cannot be multiplied "
            f"({rows}x{x.shape[-1]} and {in_features}x{out_features})",
            f"the last dimension of the input must equal in_features={in_features}",
        )
    shape = (*x.shape[:-1], out_features)
    if out is None:
        out = np.empty(shape, dtype=x.dtype)
    else:
        _check_out(out, shape, x.dtype)
    # Fold leading dims into rows (views: a 2-D x or out is used as it is).
    x2 = x if x.ndim == 2 else x.reshape(rows, in_features)
    y = out if out.ndim == 2 else out.reshape(rows, out_features)
    macs = rows * in_features * out_features
    if macs < _SMALL_PRODUCT:
        np.dot(x2, weight.T, out=y)  # the call with the least overhead
        if bias is not None:
            y += bias
        return out
    step = -(-rows // -(-macs // _BLOCK_MACS))  # rows in equal blocks (one below _BLOCK_MACS)
    for start in range(0, rows, step):  # yᵀ = W xᵀ: torch's BLAS orientation, faster here
        np.matmul(weight, x2[start : start + step].T, out=y[start : start + step].T)
    if bias is not None:
        _add_bias(y, bias)
    return out


class Linear:
    """``torch.nn.Linear``: ``weight`` (out_features × in_features) and ``bias`` (or None).

    With a ``seed`` the parameters are bit for bit those of ``torch.manual_seed(seed)``
    then ``torch.nn.Linear(...)``; ``generator`` then continues torch's stream, so
    ``layer.generator.randn(shape)`` is the ``torch.randn(*shape)`` that would follow.
    Without a seed a fresh random one is used (kept in ``seed``).

    Given ``weight`` (and ``bias_values`` when ``bias``), the layer holds those arrays
    instead, with no seed and no generator; :meth:`from_arrays` is the short way to say so.

    Drawn parameters needing more than ``max_memory`` bytes (default a quarter of the machine's
    memory, as ``--max-memory``) are refused before anything is allocated.
    """

    weight: np.ndarray
    bias: np.ndarray | None
    seed: int | None  # as given (generator.seed is it modulo 2**64); None for given weights
    generator: Generator | None

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype: str = "float32",
        seed: int | None = None,
        weight: np.ndarray | None = None,
        bias_values: np.ndarray | None = None,
        max_memory: int | None = None,
    ) -> None:
        in_features = as_size(in_features, "in_features")
        out_features = as_size(out_features, "out_features")
        bias = check_bool(bias, "bias")
        numpy_dtype(dtype)
        if weight is None:
            if bias_values is not None:
                raise LinexplainError(
                    "bias_values are given without weight", "give weight= too, or neither"
                )
            _check_memory(in_features, out_features, bias, dtype, max_memory)
            seed = secrets.randbits(64) if seed is None else seed
            self.generator = Generator(seed)
            self.seed = operator.index(seed)
            self.weight, self.bias = linear_init(
                self.generator, in_features, out_features, bias=bias, dtype=dtype
            )
        else:
            _check_given(in_features, out_features, bias, dtype, seed, weight, bias_values)
            self.weight, self.bias = weight, bias_values
            self.seed, self.generator = None, None

    @classmethod
    def from_arrays(cls, weight: np.ndarray, bias: np.ndarray | None = None) -> Linear:
        """A layer with the given weight (out × in) and bias (out,); no seed, no generator."""
        _check_params(weight, bias)
        out_features, in_features = weight.shape
        return cls(
            in_features,
            out_features,
            bias is not None,
            dtype=weight.dtype.name,
            weight=weight,
            bias_values=bias,
        )

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    @property
    def dtype(self) -> str:
        """The dtype's name: float32 or float64."""
        return self.weight.dtype.name

    def __call__(self, x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """The layer applied to x: ``linear(x, weight, bias)``."""
        return linear(x, self.weight, self.bias, out=out)

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, dtype={self.dtype})"
        )


def _check_memory(
    in_features: int, out_features: int, bias: bool, dtype: str, max_memory: int | None
) -> None:
    """Refuse, before drawing, parameters (and the draw's temporaries) over the limit."""
    from linexplain import memory

    max_memory = None if max_memory is None else as_size(max_memory, "max_memory")
    numbers = out_features * in_features + (out_features if bias else 0)
    memory.check(
        numbers * numpy_dtype(dtype).itemsize + memory.draw_scratch(numbers),
        f"weight{' and bias' if bias else ''} in {dtype}, and the draw's temporaries",
        max_memory,
        subject=f"Linear({in_features}, {out_features})",
        option="max_memory=",
    )


def _add_bias(y: np.ndarray, bias: np.ndarray) -> None:
    """y += bias on every row of the C-contiguous 2-D y.

    Groups of rows are added as one long row against the bias repeated to match: a copy
    of at most _BIAS_RUN elements, and of at most 1/16 of y (the output's memory budget).
    """
    rows, features = y.shape
    group = min(_BIAS_RUN // features, rows // 16)
    if group > 1:
        whole = rows - rows % group
        grouped = y[:whole].reshape(-1, group * features)
        grouped += np.tile(bias, group)
        y = y[whole:]
    y += bias


def _check_array(a: object, what: str) -> None:
    """a must be a float32 or float64 NumPy array."""
    if not isinstance(a, np.ndarray):
        raise LinexplainError(
            f"{what} must be a NumPy array, got {type(a).__name__}",
            f"convert it first, e.g. np.asarray({what}, dtype=np.float32)",
        )
    if a.dtype not in _FLOATS:
        raise LinexplainError(
            f"{what} has dtype {a.dtype}; linear supports float32 and float64",
            f"cast it, e.g. {what}.astype(np.float32)",
        )


def _check_params(weight: np.ndarray, bias: np.ndarray | None) -> None:
    """weight must be (out, in) and bias None or (out,), both of one dtype."""
    _check_array(weight, "weight")
    if weight.ndim != 2:
        raise LinexplainError(
            f"weight must be 2-D (out_features x in_features), but it is {weight.ndim}D "
            f"with shape {weight.shape}",
            "reshape it to (out_features, in_features)",
        )
    if bias is None:
        return
    _check_array(bias, "bias")
    if bias.shape != (weight.shape[0],):
        raise LinexplainError(
            f"bias has shape {bias.shape} but weight has {weight.shape[0]} output features",
            f"give a bias of shape ({weight.shape[0]},)",
        )
    if bias.dtype != weight.dtype:
        raise LinexplainError(
            f"expected bias and weight to have the same dtype, but got: "
            f"{bias.dtype.name} != {weight.dtype.name}",
            f"cast the bias, e.g. bias.astype(np.{weight.dtype.name})",
        )


def _check_given(
    in_features: int,
    out_features: int,
    bias: bool,
    dtype: str,
    seed: int | None,
    weight: np.ndarray,
    bias_values: np.ndarray | None,
) -> None:
    """Given parameters must be what the other arguments of ``Linear`` say."""
    _check_params(weight, bias_values)
    if seed is not None:
        raise LinexplainError(
            f"seed={seed!r} is given with weight: a seed draws weights, these are given",
            "leave out seed (or weight)",
        )
    size = (as_size(out_features, "out_features"), as_size(in_features, "in_features"))
    if weight.shape != size:
        raise LinexplainError(
            f"weight has shape {weight.shape}, but (out_features, in_features) is {size}",
            f"pass in_features={weight.shape[1]}, out_features={weight.shape[0]}",
        )
    if bias and bias_values is None:
        raise LinexplainError(
            "bias=True but bias_values are not given",
            f"give bias_values of shape ({weight.shape[0]},), or pass bias=False",
        )
    if not bias and bias_values is not None:
        raise LinexplainError(
            "bias=False but bias_values are given", "pass bias=True, or leave out bias_values"
        )
    if numpy_dtype(dtype) != weight.dtype:
        raise LinexplainError(
            f"dtype={dtype!r} but weight is {weight.dtype.name}",
            f"pass dtype={weight.dtype.name!r}",
        )


def _check_out(out: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """out must be a writable C-contiguous array of the output's shape and dtype."""
    if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != dtype:
        got = (out.shape, out.dtype.name) if isinstance(out, np.ndarray) else type(out).__name__
        raise LinexplainError(
            f"out must be an array of shape {shape} and dtype {dtype.name}, got {got}",
            f"allocate it with np.empty({shape}, dtype=np.{dtype.name})",
        )
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise LinexplainError(
            "out must be a writable C-contiguous array",
            "allocate it with np.empty (not a slice or a transposed view)",
        )
