"""One forward pass as a PyTorch session would do it: seed, layer, input, output.

``forward(...)`` reproduces::

    torch.manual_seed(seed)
    layer = torch.nn.Linear(in_features, out_features, bias=bias)
    x = torch.randn(*input_shape)
    y = layer(x)

with NumPy (see :mod:`linexplain.torch_rng`), or uses the input and weights you give. The memory
it needs is checked before anything is allocated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .core import Linear
from .elide import MAX_SHOWN
from .errors import LinexplainError
from .grammar import Shape, as_size
from .shapes import ShapeReport, check_features, explain_shape, mismatch_message

if TYPE_CHECKING:
    from .symbolic import NumericExpansion
    from .torch_rng import Generator

DEFAULT_BATCH = 4  # with no input given: x = torch.randn(4, in_features)
DEFAULT_NAME_SIZE = 2  # a named dim with no --dims size
INLINE_LIMIT = 64  # given arrays up to this many numbers are written into the torch snippet


def default_max_memory() -> int:
    """A quarter of this machine's memory (4 GiB when it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


@dataclass(frozen=True)
class Forward:
    """A layer, its input and its output, and how they were made."""

    layer: Linear
    x: np.ndarray
    y: np.ndarray
    seed: int
    input_shape: Shape  # as written, names kept (e.g. ("N", "C", 3))
    dims: dict[str, int] = field(default_factory=dict)  # sizes used for the names
    given_input: bool = False
    given_weight: bool = False
    # torch's generator after the init and the input's draws: what the next torch.randn draws
    generator: Generator | None = field(default=None, repr=False, compare=False)

    @property
    def dtype(self) -> str:
        return self.layer.dtype

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` contract of ``linexplain run`` (floats round-trip exactly)."""
        layer = self.layer
        return {
            "in_features": layer.in_features,
            "out_features": layer.out_features,
            "dtype": self.dtype,
            "seed": self.seed,
            "input_shape": list(self.x.shape),
            "output_shape": list(self.y.shape),
            "dims": dict(self.dims),
            "weight": layer.weight.tolist(),
            "bias": None if layer.bias is None else layer.bias.tolist(),
            "input": self.x.tolist(),
            "output": self.y.tolist(),
            "torch": self.torch_snippet(),
        }

    def steps(
        self,
        *,
        layer: int | None = None,
        index_base: int = 0,
        precision: int = 4,
        max_terms: int = MAX_SHOWN,
        full: bool = False,
    ) -> NumericExpansion | None:
        """Sample 0's outputs written out with their numbers (None when x or y is empty),
        shortened as ``expand`` shortens its rows unless ``full``."""
        if not (self.x.size and self.y.size):
            return None
        from .symbolic import expand_numbers

        weight, bias = self.layer.weight, self.layer.bias
        return expand_numbers(
            weight,
            bias,
            self.x.reshape(-1, weight.shape[1])[0],
            y=self.y.reshape(-1, weight.shape[0])[0],
            layer=layer,
            index_base=index_base,
            max_terms=max_terms,
            full=full,
            precision=precision,
        )

    def torch_snippet(self) -> str:
        """The PyTorch code that gives the same numbers."""
        layer = self.layer
        bias = "" if layer.bias is not None or self.given_weight else ", bias=False"
        lines = ["import torch", ""]
        if self.dtype == "float64":
            lines.append("torch.set_default_dtype(torch.float64)")
        lines += [
            f"torch.manual_seed({self.seed})",
            f"layer = torch.nn.Linear({layer.in_features}, {layer.out_features}{bias})",
        ]
        if self.given_weight:
            lines.append(f"layer.weight.data = {tensor_literal(layer.weight, 'your weight')}")
            lines.append(
                "layer.bias = None"
                if layer.bias is None
                else f"layer.bias.data = {tensor_literal(layer.bias, 'your bias')}"
            )
        shape = ", ".join(map(str, self.x.shape))
        x = tensor_literal(self.x, "your input") if self.given_input else f"torch.randn({shape})"
        lines += [f"x = {x}", "y = layer(x)"]
        return "\n".join(lines)


def tensor_literal(a: np.ndarray, what: str) -> str:
    """``torch.tensor([...])`` for a small array, else a placeholder naming it."""
    if a.size <= INLINE_LIMIT:
        return f"torch.tensor({a.tolist()!r})"
    return f"torch.from_numpy(...)  # {what}, shape {tuple(a.shape)}"


def forward(
    out_features: int | None = None,
    in_features: int | None = None,
    *,
    bias: bool = True,
    seed: int = 0,
    dtype: str = "float32",
    input_shape: Shape | None = None,
    dims: dict[str, int] | None = None,
    x: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    bias_values: np.ndarray | None = None,
    max_memory: int | None = None,
    for_backward: bool = False,
) -> Forward:
    """Build the layer (seeded like torch, or from ``weight``), make the input, run it.

    The input is ``x`` if given, else ``torch.randn(*input_shape)`` drawn after the layer's
    init, with named dims sized by ``dims`` (default 2 each); with neither, the shape is
    ``(4, in_features)``. Refuses, before allocating, a pass needing more than ``max_memory``
    (default a quarter of RAM), counting the gradients too when ``for_backward``.
    """
    if x is not None and input_shape is not None:
        raise LinexplainError(
            "both an input and an input shape were given", "give one: the input has its shape"
        )
    in_features, out_features = check_features(in_features, out_features)
    max_memory = None if max_memory is None else as_size(max_memory, "max_memory")
    x, weight, bias_values = (
        None if a is None else _numbers(a, what)
        for a, what in ((x, "x"), (weight, "weight"), (bias_values, "bias_values"))
    )
    if weight is not None:
        if weight.ndim != 2:
            raise LinexplainError(
                f"the weight has shape {weight.shape}; it must be (out_features, in_features)",
                "give a 2-D weight, e.g. [[1, 2, 3], [4, 5, 6]] for 3 inputs and 2 outputs",
            )
        in_features = _agree(in_features, weight.shape[1], "--in", "the weight's columns")
        out_features = _agree(out_features, weight.shape[0], "--out", "the weight's rows")
        if not bias and bias_values is not None:
            raise LinexplainError(
                "no bias (--no-bias) was asked for, but the weights come with a bias",
                "drop --no-bias to use them, or give the weight without a bias",
            )
        bias = bias_values is not None
    elif bias_values is not None:
        raise LinexplainError("bias values were given without a weight", "give the weight too")
    if x is not None:
        in_features = in_features if in_features is not None else int(x.shape[-1]) if x.ndim else 0
        written: Shape = tuple(int(d) for d in x.shape)
    else:
        written = input_shape if input_shape is not None else (DEFAULT_BATCH, in_features or 0)
        if input_shape is None and in_features is None:
            raise LinexplainError("in_features is unknown", "give --in, or an input shape")
    if out_features is None:
        raise LinexplainError("out_features is unknown", "give --out, or a weight")
    if weight is not None:
        check_fits_weight(written, weight.shape, dims)
    report = explain_shape(written, out_features, in_features, bias=bias, dtype=dtype, dims=dims)
    written = report.input_shape  # sizes as Python ints
    sizes = {name: DEFAULT_NAME_SIZE for name in written if isinstance(name, str)}
    sizes |= report.bindings
    shape = tuple(sizes[d] if isinstance(d, str) else d for d in written)
    # Given weights replace an init that is still drawn: their parameters are held twice.
    copies = 2 if weight is not None else 1
    _check_memory(
        explain_shape(shape, out_features, bias=bias, dtype=dtype), max_memory, copies, for_backward
    )

    # torch draws the init even when weights are then replaced, so the input's draws follow it.
    seeded = Linear(
        report.in_features, out_features, bias or weight is not None, dtype=dtype, seed=seed
    )
    layer = seeded
    if weight is not None:
        dt = seeded.weight.dtype
        given_bias = None if bias_values is None else _cast(bias_values, dt, "bias_values")
        layer = Linear.from_arrays(_cast(weight, dt, "weight"), given_bias)
    given_input = x is not None
    if x is None:
        assert seeded.generator is not None  # a seeded layer has its generator
        x = seeded.generator.randn(shape, dtype)
    x = _cast(x, seeded.weight.dtype, "x")
    return Forward(
        layer=layer,
        x=x,
        y=layer(x),
        seed=seeded.seed,
        input_shape=written,
        dims=dict(sizes),
        given_input=given_input,
        given_weight=weight is not None,
        generator=seeded.generator,
    )


def check_fits_weight(
    input_shape: Shape, weight_shape: tuple[int, ...], dims: dict[str, int] | None = None
) -> None:
    """Refuse an input whose last dim, if its size is known (a number, or a name in ``dims``),
    is not the given weight's column count."""
    out_features, in_features = weight_shape
    last = input_shape[-1] if input_shape else None
    size = (dims or {}).get(last) if isinstance(last, str) else last
    if size is not None and size != in_features:
        written = last if isinstance(last, int) else f"{last} = {size}"
        raise LinexplainError(
            f"{mismatch_message((*input_shape[:-1], size), in_features, out_features)}: the "
            f"input's last dim {written} must equal the weight's columns, "
            f"in_features {in_features}",
            f"give an input whose last dim is {in_features}, "
            f"or a weight of shape ({out_features}, {size})",
        )


def _numbers(a: Any, what: str) -> np.ndarray:
    """An array of numbers from an array or nested lists."""
    try:
        array = np.asarray(a)
    except ValueError as error:  # ragged lists
        raise LinexplainError(f"{what} is not an array: {error}", "give a NumPy array") from None
    if array.dtype.kind not in "biuf":
        raise LinexplainError(
            f"{what} has dtype {array.dtype}, not numbers", "give a float32 or float64 array"
        )
    return array


def _cast(a: np.ndarray, dt: np.dtype, what: str) -> np.ndarray:
    """``a`` in dtype ``dt``, refused when a finite number would become inf (1e300 in float32)."""
    if a.dtype == dt:
        return a
    with np.errstate(over="ignore"):
        cast = a.astype(dt)
    lost = ~np.isfinite(cast) & np.isfinite(a)
    if lost.any():
        raise LinexplainError(
            f"{what} has {float(a[lost].flat[0])!r}, which is not a finite {dt.name}",
            f"use numbers within ±{np.finfo(dt).max:.3g}, or dtype float64",
        )
    return cast


def _agree(given: int | None, actual: int, option: str, what: str) -> int:
    """``actual``, checked against an option that also gave it."""
    if given is not None and given != actual:
        raise LinexplainError(
            f"{option} {given} disagrees with {what} ({actual})", f"drop {option}"
        )
    return int(actual)


def _check_memory(
    report: ShapeReport, max_memory: int | None, param_copies: int, backward: bool
) -> None:
    """Refuse a pass whose weight, bias, input and output need more than ``max_memory``.

    A backward pass also holds G = dL/dy and the three gradients, each its tensor's size.
    """
    limit = default_max_memory() if max_memory is None else max_memory
    memory = report.memory()
    params, x, y = (memory[k].coeff for k in ("params_bytes", "input_bytes", "output_bytes"))
    needed = params * param_copies + x + y
    held = "weight, bias, input and output"
    if backward:
        needed += params + x + y
        held += " and their gradients"
    if needed > limit:
        raise LinexplainError(
            f"this pass needs {needed:,} bytes ({held} in "
            f"{report.dtype}), over the limit of {limit:,}",
            "use smaller sizes, or raise --max-memory if the machine has the room",
        )
