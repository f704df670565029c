"""A PyTorch session's numbers for a network: the forward pass, the backward pass, the check.

``forward(...)`` reproduces::

    torch.manual_seed(seed)
    layer = torch.nn.Linear(in_features, out_features, bias=bias)
    x = torch.randn(*input_shape)
    y = layer(x)

with NumPy (see :mod:`linexplain.torch_rng`), or uses the input and weights you give; the memory
it needs is checked before anything is allocated. ``backward(...)`` gives what torch's autograd
gives for ``y.backward(G)``, and :func:`finite_difference_check` checks it.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .activations import Dropout
from .core import Linear as LinearModule
from .errors import LinexplainError
from .grammar import (
    Shape,
    as_int,
    as_size,
    check_bool,
    check_dims,
    check_shape,
    format_shape,
    show_value,
)
from .layers import (
    Linear,
    ShapeReport,
    check_features,
    explain_shape,
    mismatch_message,
)
from .network import Network
from .torch_rng import Generator, as_numbers, numpy_dtype

DEFAULT_BATCH = 4  # with no input given: x = torch.randn(4, in_features)
DEFAULT_NAME_SIZE = 2  # a named dim with no --dims size
INLINE_LIMIT = 64  # given arrays up to this many numbers are written into the torch snippet


@dataclass(frozen=True)
class Forward:
    """A layer, its input and its output, and how they were made."""

    layer: LinearModule
    x: np.ndarray
    y: np.ndarray
    seed: int
    input_shape: Shape  # as written, names kept (e.g. ("N", "C", 3))
    dims: dict[str, int] = field(default_factory=dict)  # sizes used for the names
    defaulted: tuple[str, ...] = ()  # the names that took DEFAULT_NAME_SIZE (no size given)
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

    @property
    def seed_used(self) -> bool:
        """Whether the seed makes any number shown (not when weights and input are given)."""
        return not (self.given_weight and self.given_input)

    def torch_snippet(self, requires_grad: bool = False, seeded: bool = False) -> str:
        """The PyTorch code that gives the same numbers (``x.requires_grad_()`` before the
        layer runs, for a backward pass; ``seeded`` keeps the seed for draws that follow)."""
        layer = self.layer
        bias = "" if layer.bias is not None or self.given_weight else ", bias=False"
        model = [f"layer = torch.nn.Linear({layer.in_features}, {layer.out_features}{bias})"]
        if self.given_weight:
            model.append(f"layer.weight.data = {tensor_literal(layer.weight, 'your weight')}")
            model.append(
                "layer.bias = None"
                if layer.bias is None
                else f"layer.bias.data = {tensor_literal(layer.bias, 'your bias')}"
            )
        seed = self.seed if self.seed_used or seeded else None
        return snippet(self.dtype, seed, model, self.x, self.given_input, requires_grad, "layer")


def snippet(
    dtype: str,
    seed: int | None,
    model: list[str],
    x: np.ndarray,
    given_input: bool,
    requires_grad: bool,
    name: str,
) -> str:
    """PyTorch code: the dtype, the seed (None: none needed), the lines that build ``name``,
    the input (drawn, or given), and ``y = name(x)``."""
    lines = ["import torch", ""]
    if dtype == "float64":
        lines.append("torch.set_default_dtype(torch.float64)")
    if seed is not None:
        lines.append(f"torch.manual_seed({seed})")
    lines += model
    shape = ", ".join(map(str, x.shape))
    lines.append(
        f"x = {tensor_literal(x, 'your input') if given_input else f'torch.randn({shape})'}"
    )
    if requires_grad:
        lines.append("x.requires_grad_()  # so that backward() fills x.grad")
    lines.append(f"y = {name}(x)")
    return "\n".join(lines)


def tensor_literal(a: np.ndarray, what: str) -> str:
    """``torch.tensor([...])`` for a small array, else a placeholder naming it."""
    if a.size <= INLINE_LIMIT:
        return f"torch.tensor({a.tolist()!r})"
    return f"torch.from_numpy(...)  # {what}, shape {tuple(a.shape)}"


def forward(
    in_features: int | None = None,
    out_features: int | None = None,
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
    reported: bool = True,
) -> Forward:
    """Build the layer (seeded like torch, or from ``weight``), make the input, run it.

    The input is ``x`` if given, else ``torch.randn(*input_shape)`` drawn after the layer's
    init, with named dims sized by ``dims`` (default 2 each); with neither, the shape is
    ``(4, in_features)``. Refuses, before allocating, a pass needing more than ``max_memory``
    (default a quarter of RAM), counting the gradients too when ``for_backward``, and the
    numbers as Python floats for a report unless not ``reported`` (a figure reads a few).
    """
    if x is not None and input_shape is not None:
        raise LinexplainError(
            "both an input and an input shape were given", "give one: the input has its shape"
        )
    in_features, out_features = check_features(in_features, out_features)
    max_memory = None if max_memory is None else as_size(max_memory, "max_memory")
    bias, for_backward = check_bool(bias, "bias"), check_bool(for_backward, "for_backward")
    seed, dtype = as_int(seed, "seed"), numpy_dtype(dtype).name  # the range: Generator(seed)
    input_shape = None if input_shape is None else check_shape(input_shape)
    dims = check_dims(dims, "dims (--dims)")
    x, weight, bias_values = (
        None if a is None else as_numbers(a, what)
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
    if in_features is None:  # read from the input's last dim, as nn.LazyLinear does
        in_features = explain_shape(written, None, out_features, dtype=dtype, dims=dims).in_features
    network = Network((Linear(in_features, out_features, bias),))
    (step,) = network.walk(written, dims, dtype)
    assert step.report is not None
    report = step.report
    written = report.input_shape  # sizes as Python ints
    sizes = {name: DEFAULT_NAME_SIZE for name in written if isinstance(name, str)}
    sizes |= report.bindings
    shape = tuple(sizes[d] if isinstance(d, str) else d for d in written)
    # Given weights replace an init that is still drawn: their parameters are held twice.
    copies = 2 if weight is not None else 1
    sized = network.walk(shape, None, dtype)[0].report
    assert sized is not None
    _check_memory(sized, max_memory, copies, for_backward, check_bool(reported, "reported"))
    _check_addressable(sized)

    # torch draws the init even when weights are then replaced, so the input's draws follow it.
    seeded = network
    if weight is not None and not bias:  # the replaced init is nn.Linear's default, with bias
        seeded = Network((Linear(report.in_features, out_features, True),))
    generator, ((w, b),) = seeded.init(seed, dtype)
    dt = w.dtype
    if weight is not None:
        w = _cast(weight, dt, "weight")
        b = None if bias_values is None else _cast(bias_values, dt, "bias_values")
    layer = LinearModule.from_arrays(w, b)
    given_input = x is not None
    x = generator.randn(shape, dtype) if x is None else _cast(x, dt, "x")
    return Forward(
        layer=layer,
        x=x,
        y=Linear.forward(x, w, b),
        seed=as_int(seed, "seed"),
        input_shape=written,
        dims=dict(sizes),
        defaulted=tuple(name for name in sizes if name not in report.bindings),
        given_input=given_input,
        given_weight=weight is not None,
        generator=generator,
    )


def check_fits_weight(
    input_shape: Shape, weight_shape: tuple[int, ...], dims: dict[str, int] | None = None
) -> None:
    """Refuse an input whose last dim, if its size is known (a number, or a name in ``dims``),
    is not the given weight's column count."""
    input_shape, dims = check_shape(input_shape), check_dims(dims, "dims (--dims)")
    out_features, in_features = weight_shape
    last = input_shape[-1] if input_shape else None
    size = dims.get(last) if isinstance(last, str) else last
    if size is not None and size != in_features:
        written = last if isinstance(last, int) else f"{last} = {size}"
        leading = tuple(dims.get(d, d) if isinstance(d, str) else d for d in input_shape[:-1])
        raise LinexplainError(
            f"{mismatch_message((*leading, size), in_features, out_features)}: the "
            f"input's last dim {written} must equal the weight's columns, "
            f"in_features {in_features}",
            f"give an input whose last dim is {in_features}, "
            f"or a weight of shape ({out_features}, {size})",
        )


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


def _check_addressable(report: ShapeReport) -> None:
    """Refuse shapes NumPy cannot make even empty (it raises "array is too big"): the nonzero
    dims times the item size must fit in an intp. torch makes such empty tensors."""
    itemsize, limit = np.dtype(report.dtype).itemsize, np.iinfo(np.intp).max
    for shape in (report.input_shape, report.output_shape, report.weight_shape):
        if itemsize * math.prod(int(d) for d in shape if d) > limit:
            flags = "" if report.bias else " --no-bias"
            flags += "" if report.dtype == "float32" else f" --dtype {report.dtype}"
            sizes = ",".join(str(d) for d in report.input_shape)
            torch = f"; torch gives an empty y of shape {format_shape(report.output_shape)}"
            raise LinexplainError(
                f"NumPy cannot make an array of shape {format_shape(shape)}"
                f"{', even empty' if 0 in shape else ''}: its nonzero dims times {itemsize} bytes "
                f"pass NumPy's limit of {limit:,} bytes{torch if 0 in shape else ''}",
                f"'linexplain shape --in {report.in_features} --out {report.out_features} "
                f"-s {sizes}{flags}' explains that shape without making it",
            )


def _check_memory(
    report: ShapeReport,
    max_memory: int | None,
    param_copies: int,
    backward: bool,
    reported: bool = True,
) -> None:
    """Refuse a pass needing more than ``max_memory`` (see :mod:`linexplain.memory`).

    It holds its arrays (weight and bias, given ones beside the drawn ones; input and output)
    and, for the document (``as_dict``, the ``--json`` data, made for every format), the same
    numbers as Python floats while the output is written. A backward pass also holds
    G = dL/dy and the three gradients, as arrays and as Python floats; its finite-difference
    check's float64 copies are freed before the document is made. The generator's chunks are
    freed before y is made.
    """
    from . import memory

    itemsize = np.dtype(report.dtype).itemsize
    written = [report.weight_shape, *([report.bias_shape] if report.bias_shape else [])]
    tensors = [tuple(int(d) for d in shape) for shape in (*written, report.input_shape)]
    tensors.append(tuple(int(d) for d in report.output_shape))
    params = tensors[: len(written)]
    arrays = memory.array_bytes(params, itemsize) * param_copies
    arrays += memory.array_bytes(tensors[len(params) :], itemsize)
    held = "weight, bias, input and output"
    if backward:
        arrays += memory.array_bytes(tensors, itemsize)
        held += " and their gradients"
        tensors *= 2
    numbers = [memory.count(shape) for shape in tensors[: len(params) + 2]]
    rows = memory.count(tensors[len(params)][:-1])
    # One at a time, beside the arrays: the draws, the check, the report.
    extra = {
        "the generator's temporaries": memory.draw_scratch(max(numbers)),
        "the check's float64 copies": (
            16 * sum(numbers) + 48 * rows * min(32, numbers[0]) if backward else 0
        ),
        "their numbers as Python floats for the report": (
            memory.document_bytes(tensors) if reported else 0
        ),
    }
    memory.check_pass(arrays, f"{held} in {report.dtype}", extra, max_memory)


# --- the backward pass ----------------------------------------------------------------------

UpstreamSource = Literal["ones", "seed", "given"]
FD_ENTRIES = 32
"""How many entries of each gradient :func:`finite_difference_check` checks at most."""


@dataclass(frozen=True)
class Gradients:
    """∂L/∂W, ∂L/∂b and ∂L/∂x of one forward pass, for the upstream gradient G = ∂L/∂y."""

    run: Forward
    upstream: np.ndarray  # G: y's shape and dtype
    source: UpstreamSource  # ones (L = y.sum()), seed (torch.randn after x), or given
    grad_weight: np.ndarray  # (out, in), layer.weight.grad
    grad_bias: np.ndarray | None  # (out,), layer.bias.grad; None without bias
    grad_input: np.ndarray  # x's shape, x.grad

    @property
    def loss(self) -> float:
        """L = Σ G ⊙ y, in float64 (y.sum() when G is ones)."""
        return float((self.upstream.astype("float64") * self.run.y).sum())

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` contract: ``run``'s keys, then the upstream and the gradients."""
        return {
            **self.run.as_dict(),
            "upstream": self.upstream.tolist(),
            "upstream_source": self.source,
            "loss": self.loss,
            "grad_weight": self.grad_weight.tolist(),
            "grad_bias": None if self.grad_bias is None else self.grad_bias.tolist(),
            "grad_input": self.grad_input.tolist(),
            "torch": self.torch_snippet(),
        }

    def torch_snippet(self) -> str:
        """The PyTorch code that gives the same gradients: ``run``'s, then the backward pass."""
        run = self.run
        lines = run.torch_snippet(requires_grad=True, seeded=self.source == "seed").splitlines()
        if self.source == "ones":
            lines.append("y.sum().backward()  # L = y.sum(), so G = dL/dy is all ones")
        else:
            if self.source == "seed":
                shape = ", ".join(map(str, self.upstream.shape))
                lines.append(f"g = torch.randn({shape})  # G = dL/dy: the generator's next draws")
            else:
                g = tensor_literal(self.upstream, "your upstream gradient")
                lines.append(f"g = {g}" + ("" if "#" in g else "  # G = dL/dy"))
            lines.append("y.backward(g)  # L = (g * y).sum()")
        out, in_ = self.grad_weight.shape
        x_shape = format_shape(tuple(run.x.shape))
        lines.append(f"print(layer.weight.grad)  # dL/dW = G^T x: ({out}, {in_}), like W")
        if self.grad_bias is not None:
            lines.append(f"print(layer.bias.grad)  # dL/db = G summed over rows: ({out},), like b")
        lines.append(f"print(x.grad)  # dL/dx = G W: {x_shape}, like x")
        return "\n".join(lines)


def seed_upstream(run: Forward) -> np.ndarray:
    """``torch.randn(*y.shape)`` drawn right after the run's input, on the same generator
    (after the input's draws, or the init's when the input was given). ``run`` is unchanged."""
    if run.generator is None:
        raise LinexplainError(
            "this run has no random generator to draw the upstream gradient from",
            "make the run with linexplain.forward(...), or give the upstream gradient",
        )
    return copy.deepcopy(run.generator).randn(tuple(run.y.shape), run.dtype)


def backward(run: Forward, upstream: np.ndarray | Literal["ones", "seed"] = "ones") -> Gradients:
    """The gradients torch's autograd gives for ``y.backward(G)``, with NumPy.

    ``upstream`` is G = ∂L/∂y: ``"ones"`` (L = y.sum(), the default), ``"seed"`` (see
    :func:`seed_upstream`) or an array of y's shape, cast to the run's dtype as torch casts it.
    The leading dims are folded into rows as in the forward pass: two 2-D products and a sum.
    """
    if not isinstance(run, Forward):
        raise LinexplainError(
            f"backward needs a forward pass, got {type(run).__name__}",
            "e.g. backward(forward(3, 2, input_shape=(4, 3)))",
        )
    if not isinstance(upstream, str):  # an array: --upstream FILE's rules, in the run's dtype
        upstream = _cast(
            as_numbers(upstream, "the upstream gradient"), run.y.dtype, "the upstream gradient"
        )
    g, source = _upstream(run, upstream)
    grad_weight, grad_bias, grad_input = Linear.backward(run.x, run.layer.weight, run.layer.bias, g)
    return Gradients(run, g, source, grad_weight, grad_bias, grad_input)


def _upstream(run: Forward, upstream: Any) -> tuple[np.ndarray, UpstreamSource]:
    """G and where it came from; a given array is checked to have y's shape."""
    if isinstance(upstream, str):
        if upstream == "ones":
            return np.ones_like(run.y), "ones"
        if upstream == "seed":
            return seed_upstream(run), "seed"
        raise LinexplainError(
            f"unknown upstream gradient {upstream!r}",
            "use ones (L = y.sum()), seed (torch.randn after x), or give an array of y's shape",
        )
    g = np.asarray(upstream)
    y_shape = format_shape(tuple(run.y.shape))
    if g.dtype.kind not in "fiu":
        raise LinexplainError(
            f"the upstream gradient has dtype {g.dtype}, not a number type",
            f"give numbers: G = dL/dy is a {y_shape} array of floats",
        )
    if g.shape != run.y.shape:
        raise LinexplainError(
            f"the upstream gradient has shape {format_shape(g.shape)}, but y = layer(x) has "
            f"shape {y_shape}",
            f"G = dL/dy has y's shape: give a {y_shape} array",
        )
    return g.astype(run.y.dtype), "given"


def finite_difference_check(
    grads: Gradients, *, eps: float = 1e-3, max_entries: int = FD_ENTRIES, seed: int = 0
) -> float:
    """The largest error of ``grads`` against central finite differences.

    The error of an entry is |numeric − analytic| / max(1, |analytic|): absolute for gradients
    up to 1, relative above. In float64, for L = Σ G ⊙ y: each checked entry θ is nudged by
    ±eps·max(1, |θ|) and L evaluated again (only the outputs the entry feeds: a weight or bias
    entry of output i feeds y[:, i], an input row feeds y[s, :]; the rest of L does not change).
    L is linear in each entry, so any step gives the derivative up to rounding. At most
    ``max_entries`` entries per gradient are checked, drawn at random with ``seed``, so a check
    costs O(max_entries · (rows + out) · in). The result is inf when the check cannot judge:
    at values so large that float64's rounding of L swamps the step, a wrong gradient would pass.
    """
    if not isinstance(grads, Gradients):
        raise LinexplainError(
            f"finite_difference_check needs gradients, got {type(grads).__name__}",
            "e.g. finite_difference_check(backward(forward(3, 2)))",
        )
    eps, max_entries, seed = _check_nudges(eps, max_entries, seed, FD_ENTRIES)
    run = grads.run
    f64 = np.float64
    weight = run.layer.weight.astype(f64)
    bias = None if run.layer.bias is None else run.layer.bias.astype(f64)
    out, in_ = weight.shape
    rows = math.prod(run.x.shape[:-1])
    x = run.x.reshape(rows, in_).astype(f64)
    g = grads.upstream.reshape(rows, out).astype(f64)
    b = np.zeros(out) if bias is None else bias
    rng = np.random.default_rng(seed)
    errors = [0.0]

    def check(
        nudged: tuple[np.ndarray, np.ndarray], analytic: np.ndarray, size: np.ndarray
    ) -> None:
        """Record the largest error, or inf when L's rounding, ``size`` (the sum of its terms'
        magnitudes) times float64's epsilon, swamps the step: a 0.1% error would not show."""
        numeric, h = nudged
        if not numeric.size:
            return
        analytic = analytic.astype(f64)
        scale = np.maximum(1, abs(analytic))
        if (8 * np.finfo(f64).eps * size / (2 * h) / scale > 1e-3).any():
            errors.append(math.inf)
        errors.append(float((np.abs(numeric - analytic) / scale).max()))

    ax, aw, ab, ag = abs(x), abs(weight), abs(b), abs(g)
    # ∂L/∂w_ij: L restricted to output column i is Σ_s g_si (x_s · w_i + b_i).
    i, j = _pick(rng, (out, in_), max_entries)
    check(
        _central(lambda w: (g[:, i] * (x @ w.T + b[i])).sum(axis=0), weight[i], j, eps),
        grads.grad_weight[i, j],
        (ag[:, i] * (ax @ aw[i].T + ab[i])).sum(axis=0),
    )
    # ∂L/∂b_i: the same column, nudging b_i.
    if grads.grad_bias is not None:
        (i,) = _pick(rng, (out,), max_entries)
        column = x @ weight[i].T  # rows × picked
        check(
            _central(lambda c: (g[:, i] * (column + c[:, 0])).sum(axis=0), b[i, None], 0, eps),
            grads.grad_bias[i],
            (ag[:, i] * (ax @ aw[i].T + ab[i])).sum(axis=0),
        )
    # ∂L/∂x_sj: L restricted to sample row s is Σ_i g_si (w_i · x_s + b_i).
    s, j = _pick(rng, (rows, in_), max_entries)
    check(
        _central(lambda xs: (g[s] * (xs @ weight.T + b)).sum(axis=1), x[s], j, eps),
        grads.grad_input.reshape(rows, in_)[s, j],
        (ag[s] * (ax[s] @ aw.T + ab)).sum(axis=1),
    )
    # nan (a gradient that overflowed) beats inf (cannot judge) beats any error
    return float(np.max(errors))


def _pick(rng: np.random.Generator, shape: tuple[int, ...], most: int) -> tuple[np.ndarray, ...]:
    """The indices of up to ``most`` distinct entries of an array of ``shape``, at random."""
    size = math.prod(shape)
    flat = rng.choice(size, size=min(size, most), replace=False)
    return np.unravel_index(flat, shape)


def _central(
    loss: Callable[[np.ndarray], np.ndarray], at: np.ndarray, cols: Any, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """(loss(at + h·e) − loss(at − h·e)) / 2h for each row of ``at``, e the unit vector at that
    row's column in ``cols`` and h = eps·max(1, |entry|): one nudged entry per row, all rows in
    one product; and the steps h."""
    picked = np.arange(len(at)), cols
    h = eps * np.maximum(1, abs(at[picked]))  # a step that is not lost in a large entry
    step = np.zeros_like(at)
    step[picked] = h
    return (loss(at + step) - loss(at - step)) / (2 * h), h


# --- networks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trace:
    """A forward pass through a network: every layer's parameters and output.

    ``torch.manual_seed(seed)``, then ``nn.Sequential(...)`` draws each Linear's weight and bias
    in order, then ``x = torch.randn(...)`` follows (unless given), and ``outputs[i]`` is layer
    i's output in eval mode (Dropout is the identity).
    """

    network: Network
    params: tuple[tuple[np.ndarray | None, np.ndarray | None], ...]
    x: np.ndarray
    outputs: tuple[np.ndarray, ...]
    seed: int
    input_shape: Shape  # as written, names kept
    dims: dict[str, int] = field(default_factory=dict)
    defaulted: tuple[str, ...] = ()
    given_input: bool = False
    given_weights: bool = False
    generator: Generator | None = field(default=None, repr=False, compare=False)

    @property
    def y(self) -> np.ndarray:
        return self.outputs[-1] if self.outputs else self.x

    @property
    def dtype(self) -> str:
        return self.x.dtype.name

    @property
    def seed_used(self) -> bool:
        return not (self.given_weights and self.given_input)

    def input_of(self, index: int) -> np.ndarray:
        """What reaches layer ``index``."""
        return self.x if index == 0 else self.outputs[index - 1]

    def torch_snippet(self, requires_grad: bool = False, seeded: bool = False) -> str:
        """The PyTorch code that gives the same numbers."""
        model = [f"net = {self.network.torch_code}"]
        if any(isinstance(layer, Dropout) for layer in self.network.layers):
            model.append("net.eval()  # Dropout is the identity in eval mode")
        if self.given_weights:
            model.append("net.load_state_dict(state_dict)  # your weights, as numbers")
        seed = self.seed if self.seed_used or seeded else None
        return snippet(self.dtype, seed, model, self.x, self.given_input, requires_grad, "net")

    def as_dict(self) -> dict[str, Any]:
        """The ``run --net --json`` contract (floats round-trip exactly)."""
        layers = []
        for i, (layer, (weight, bias)) in enumerate(
            zip(self.network.layers, self.params, strict=True)
        ):
            entry: dict[str, Any] = {"index": i, "module": layer.module}
            if isinstance(layer, Linear):
                assert weight is not None
                entry["weight"] = weight.tolist()
                entry["bias"] = None if bias is None else bias.tolist()
            entry["output"] = self.outputs[i].tolist()
            layers.append(entry)
        return {
            "module": self.network.module,
            "dtype": self.dtype,
            "seed": self.seed,
            "input_shape": list(self.x.shape),
            "output_shape": list(self.y.shape),
            "dims": dict(self.dims),
            "input": self.x.tolist(),
            "output": self.y.tolist(),
            "layers": layers,
            "torch": self.torch_snippet(),
        }


def run_network(
    network: Network,
    *,
    seed: int = 0,
    dtype: str = "float32",
    input_shape: Shape | None = None,
    dims: dict[str, int] | None = None,
    x: Any = None,
    state: dict[str, Any] | None = None,
    max_memory: int | None = None,
    for_backward: bool = False,
    reported: bool = True,
) -> Trace:
    """A network's forward pass as PyTorch computes it (see :class:`Trace`).

    ``state`` holds given parameters by ``nn.Sequential``'s names (``0.weight``, ``0.bias``, …),
    each checked against the network. The input is ``x``, else ``torch.randn(*input_shape)`` with
    named dims sized by ``dims`` (2 each by default), else ``(4, in_features)`` of the first layer.
    Memory is checked as :func:`forward` checks it (``reported`` as there).
    """
    if not isinstance(network, Network):
        raise LinexplainError(
            f"run_network needs a Network, got {type(network).__name__}",
            "e.g. run_network(Network((Linear(3, 4), ReLU(), Linear(4, 2))))",
        )
    if x is not None and input_shape is not None:
        raise LinexplainError(
            "both an input and an input shape were given", "give one: the input has its shape"
        )
    max_memory = None if max_memory is None else as_size(max_memory, "max_memory")
    for_backward = check_bool(for_backward, "for_backward")
    seed, dtype = as_int(seed, "seed"), numpy_dtype(dtype).name  # the range: Generator(seed)
    input_shape = None if input_shape is None else check_shape(input_shape)
    dims = check_dims(dims, "dims (--dims)")
    x = None if x is None else as_numbers(x, "x")
    state = None if state is None else check_state(state)
    if x is not None:
        written: Shape = tuple(int(d) for d in x.shape)
    elif input_shape is not None:
        written = input_shape
    else:
        first = network.layers[0] if network.layers else None
        if not isinstance(first, Linear) or first.in_features is None:
            raise LinexplainError(
                "the input shape is unknown", "give --input-shape, e.g. -s 4,784, or --input"
            )
        written = (DEFAULT_BATCH, first.in_features)
    steps = network.walk(written, dims, dtype)
    names = [d for d in steps[0].input_shape if isinstance(d, str)] if steps else []
    bound = steps[0].report.bindings if steps and steps[0].report else {}
    sizes = {name: dims.get(name, bound.get(name, DEFAULT_NAME_SIZE)) for name in names}
    shape = tuple(sizes[d] if isinstance(d, str) else d for d in written)
    sized = network.walk(shape, None, dtype)
    _check_network_memory(
        sized, shape, dtype, max_memory, bool(state), for_backward, check_bool(reported, "reported")
    )
    for step in sized:
        if step.report is not None:
            _check_addressable(step.report)
    generator, params = network.init(seed, dtype)
    if state is not None:
        params = _given_state(network, params, state)
    dt = np.dtype(dtype)
    given_input = x is not None
    x = generator.randn(shape, dtype) if x is None else _cast(x, dt, "x")
    outputs = forward_layers(network, params, x)
    return Trace(
        network=network,
        params=tuple(params),
        x=x,
        outputs=tuple(outputs),
        seed=as_int(seed, "seed"),
        input_shape=written,
        dims=sizes,
        defaulted=tuple(name for name in sizes if name not in dims and name not in bound),
        given_input=given_input,
        given_weights=state is not None,
        generator=generator,
    )


def forward_layers(network: Network, params: Any, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each layer's output for the input x (eval mode), layer after layer."""
    outputs = []
    h = x
    for layer, (weight, bias) in zip(network.layers, params, strict=True):
        h = Linear.forward(h, weight, bias) if isinstance(layer, Linear) else layer.forward(h)
        outputs.append(h)
    return tuple(outputs)


def backward_layers(
    network: Network, params: Any, x: np.ndarray, outputs: Any, g: np.ndarray
) -> tuple[list[tuple[Any, Any]], list[np.ndarray], np.ndarray]:
    """Backpropagation from G = ∂L/∂y: each layer's (∂L/∂W, ∂L/∂b), each layer's δ (∂L/∂ its
    output), and ∂L/∂x."""
    grads: list[tuple[Any, Any]] = []
    deltas = []
    delta = g
    for i in reversed(range(len(network.layers))):
        layer, (weight, bias) = network.layers[i], params[i]
        deltas.append(delta)
        x_in = x if i == 0 else outputs[i - 1]
        if isinstance(layer, Linear):
            gw, gb, delta = Linear.backward(x_in, weight, bias, delta)
            grads.append((gw, gb))
        else:
            delta = layer.backward(x_in, outputs[i], delta)
            grads.append((None, None))
    return grads[::-1], deltas[::-1], delta


def check_state(state: object) -> dict[str, np.ndarray]:
    """A network's given parameters: state_dict names (``0.weight``, …) to arrays of finite
    numbers, as :func:`run_network` takes them."""
    if not isinstance(state, Mapping):
        raise LinexplainError(
            f"state must map state_dict names to arrays, got {show_value(state)}",
            "e.g. {'0.weight': weight, '0.bias': bias}, or None for the seeded init",
        )
    checked = {}
    for name, value in state.items():
        if not isinstance(name, str):
            raise LinexplainError(
                f"state: the key {show_value(name)} is not a state_dict name",
                "the names are the keys, e.g. {'0.weight': weight}",
            )
        checked[name] = as_numbers(value, name if len(name) <= 40 else show_value(name))
    return checked


def _given_state(
    network: Network, drawn: list[tuple[Any, Any]], state: dict[str, Any]
) -> list[tuple[Any, Any]]:
    """The network's parameters from a state_dict, each checked against the layer."""
    expected: dict[str, tuple[int, ...]] = {}
    for i, layer in enumerate(network.layers):
        if isinstance(layer, Linear):
            expected[f"{i}.weight"] = (layer.out_features, layer.sized)
            if layer.bias:
                expected[f"{i}.bias"] = (layer.out_features,)
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        said = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"not in the network: {', '.join(extra)}" if extra else "",
            )
            if part
        )
        raise LinexplainError(
            f"the weights do not match the network ({said})",
            f"give exactly {', '.join(expected)} (nn.Sequential's state_dict names)",
        )
    params: list[tuple[Any, Any]] = []
    for i, (weight, bias) in enumerate(drawn):
        if weight is None:
            params.append((None, None))
            continue
        given: list[Any] = []
        for key, like in ((f"{i}.weight", weight), (f"{i}.bias", bias)):
            if like is None:
                given.append(None)
                continue
            array = as_numbers(state[key], key)
            if array.shape != like.shape:
                raise LinexplainError(
                    f"{key} has shape {format_shape(array.shape)}, but layer ({i}) "
                    f"{network.layers[i].module} needs {format_shape(like.shape)}",
                    "give the weights of this network (a state_dict of the same layers)",
                )
            given.append(_cast(array, like.dtype, key))
        params.append((given[0], given[1]))
    return params


def _check_network_memory(
    steps: tuple[Any, ...],
    shape: Shape,
    dtype: str,
    max_memory: int | None,
    given: bool,
    backward: bool,
    reported: bool = True,
) -> None:
    """Refuse, before allocating, a network pass over the limit (see :mod:`linexplain.memory`):
    its parameters (given ones beside the drawn ones), input and every layer's output, their
    gradients for a backward pass, and the same numbers as Python floats for the report."""
    from . import memory

    itemsize = np.dtype(dtype).itemsize
    params: list[tuple[int, ...]] = []
    for step in steps:
        if step.report is not None:
            params.append(step.report.weight_shape)
            params += [step.report.bias_shape] if step.report.bias_shape else []
    outputs = [tuple(int(d) for d in step.output_shape) for step in steps]
    tensors = [*params, tuple(int(d) for d in shape), *outputs]
    arrays = memory.array_bytes(params, itemsize) * (2 if given else 1)
    arrays += memory.array_bytes(tensors[len(params) :], itemsize)
    held = "parameters, input and every layer's output"
    if backward:
        arrays += memory.array_bytes(tensors, itemsize)
        held += " and their gradients"
        tensors *= 2
    extra = {
        "the generator's temporaries": memory.draw_scratch(max(map(memory.count, tensors))),
        "their numbers as Python floats for the report": (
            memory.document_bytes(tensors) if reported else 0
        ),
    }
    memory.check_pass(arrays, f"{held} in {dtype}", extra, max_memory)


@dataclass(frozen=True)
class NetGradients:
    """∂L/∂W and ∂L/∂b of every Linear and ∂L/∂x, for G = ∂L/∂y, as torch's autograd gives.

    ``deltas[i]`` is ∂L/∂(layer i's output): δ of a Linear's z, or of an activation's a.
    """

    trace: Trace
    upstream: np.ndarray
    source: UpstreamSource
    grads: tuple[tuple[np.ndarray | None, np.ndarray | None], ...]  # per layer (W, b)
    deltas: tuple[np.ndarray, ...]
    grad_input: np.ndarray

    @property
    def loss(self) -> float:
        return float((self.upstream.astype("float64") * self.trace.y).sum())

    def torch_snippet(self) -> str:
        """The PyTorch code that gives the same gradients."""
        lines = self.trace.torch_snippet(True, self.source == "seed").splitlines()
        if self.source == "ones":
            lines.append("y.sum().backward()  # L = y.sum(), so G = dL/dy is all ones")
        elif self.source == "seed":
            shape = ", ".join(map(str, self.upstream.shape))
            lines.append(f"g = torch.randn({shape})  # G = dL/dy: the generator's next draws")
            lines.append("y.backward(g)  # L = (g * y).sum()")
        else:
            lines.append(f"g = {tensor_literal(self.upstream, 'your upstream gradient')}")
            lines.append("y.backward(g)  # L = (g * y).sum()")
        for i, layer in enumerate(self.trace.network.layers):
            if isinstance(layer, Linear):
                lines.append(f"print(net[{i}].weight.grad)")
                if layer.bias:
                    lines.append(f"print(net[{i}].bias.grad)")
        lines.append("print(x.grad)")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """The ``grad --net --json`` contract."""
        layers = [
            {
                "index": i,
                "module": layer.module,
                "grad_weight": None if gw is None else gw.tolist(),
                "grad_bias": None if gb is None else gb.tolist(),
            }
            for i, (layer, (gw, gb)) in enumerate(
                zip(self.trace.network.layers, self.grads, strict=True)
            )
            if isinstance(layer, Linear)
        ]
        return {
            **self.trace.as_dict(),
            "upstream": self.upstream.tolist(),
            "upstream_source": self.source,
            "loss": self.loss,
            "grad_input": self.grad_input.tolist(),
            "layers": layers,
            "torch": self.torch_snippet(),
        }


def backward_network(trace: Trace, upstream: Any = "ones") -> NetGradients:
    """Backpropagation through the network: δ of the last layer is G, each layer gives the
    δ of its input (a Linear's ∂L/∂x = δ W, an activation's δ ⊙ f′(z)), and each Linear's
    ∂L/∂W = δᵀ a and ∂L/∂b = δ summed over the rows."""
    if not isinstance(trace, Trace):
        raise LinexplainError(
            f"backward_network needs a network's forward pass, got {type(trace).__name__}",
            "e.g. backward_network(run_network(network, input_shape=(4, 3)))",
        )
    g, source = _network_upstream(trace, upstream)
    grads, deltas, grad_input = backward_layers(
        trace.network, trace.params, trace.x, trace.outputs, g
    )
    return NetGradients(trace, g, source, tuple(grads), tuple(deltas), grad_input)


def _network_upstream(trace: Trace, upstream: Any) -> tuple[np.ndarray, UpstreamSource]:
    """G for a network's output: ones, the generator's next draws, or an array of y's shape."""
    y = trace.y
    if isinstance(upstream, str) and upstream == "ones":
        return np.ones_like(y), "ones"
    if isinstance(upstream, str) and upstream == "seed":
        if trace.generator is None:
            raise LinexplainError("this run has no random generator", "give the upstream array")
        return copy.deepcopy(trace.generator).randn(tuple(y.shape), trace.dtype), "seed"
    if isinstance(upstream, str):
        raise LinexplainError(
            f"unknown upstream gradient {show_value(upstream)}",
            "use ones (L = y.sum()), seed (torch.randn after x), or an array of y's shape",
        )
    g = as_numbers(upstream, "the upstream gradient")
    if g.shape != y.shape:
        raise LinexplainError(
            f"the upstream gradient has shape {format_shape(g.shape)}, but y = net(x) has "
            f"shape {format_shape(y.shape)}",
            f"G = dL/dy has y's shape: give a {format_shape(y.shape)} array",
        )
    return _cast(g, y.dtype, "the upstream gradient"), "given"


NET_FD_ENTRIES = 8
"""How many entries of each gradient the network check nudges (each costs two forward passes)."""


def finite_difference_network(
    grads: NetGradients, *, eps: float = 1e-3, max_entries: int = NET_FD_ENTRIES, seed: int = 0
) -> float:
    """The largest error of a network's gradients against central finite differences of
    L = Σ G ⊙ y, the whole forward pass redone in float64 for each nudge (inf when float64's
    rounding of L swamps the step: the check cannot judge there)."""
    if not isinstance(grads, NetGradients):
        raise LinexplainError(
            f"finite_difference_network needs a network's gradients, got {type(grads).__name__}",
            "e.g. finite_difference_network(backward_network(run_network(network)))",
        )
    eps, max_entries, seed = _check_nudges(eps, max_entries, seed, NET_FD_ENTRIES)
    trace = grads.trace
    f64 = np.float64
    layers = trace.network.layers
    params = [
        (None if w is None else w.astype(f64), None if b is None else b.astype(f64))
        for w, b in trace.params
    ]
    x = trace.x.astype(f64)
    g = grads.upstream.astype(f64)

    def loss() -> tuple[float, float]:
        h = x
        for layer, (w, b) in zip(layers, params, strict=True):
            h = Linear.forward(h, w, b) if isinstance(layer, Linear) else layer.forward(h)  # type: ignore[arg-type]
        return float((g * h).sum()), float(abs(g * h).sum())

    rng = np.random.default_rng(seed)
    targets: list[tuple[Any, Any]] = [(x, grads.grad_input)]
    for (w, b), (gw, gb) in zip(params, grads.grads, strict=True):
        targets += [(a, ga) for a, ga in ((w, gw), (b, gb)) if a is not None]
    errors = [0.0]
    for array, analytic in targets:
        flat, exact = array.reshape(-1), np.asarray(analytic, dtype=f64).reshape(-1)
        if not flat.size:
            continue
        for k in rng.choice(flat.size, size=min(flat.size, max_entries), replace=False):
            keep = flat[k]
            h = eps * max(1.0, abs(float(keep)))
            flat[k] = keep + h
            up, size = loss()
            flat[k] = keep - h
            down, _ = loss()
            flat[k] = keep
            scale = max(1.0, abs(float(exact[k])))
            if 8 * np.finfo(f64).eps * size / (2 * h) / scale > 1e-3:
                errors.append(math.inf)
            errors.append(abs((up - down) / (2 * h) - float(exact[k])) / scale)
    return float(np.max(errors))


def _check_nudges(eps: float, max_entries: int, seed: int, default: int) -> tuple[float, int, int]:
    """A finite-difference check's step, entry count and seed, checked."""
    real = isinstance(eps, numbers.Real) and not isinstance(eps, (bool, np.bool_))
    if not (real and 0 < eps < 1e300):  # a float step (a huge int would not convert)
        raise LinexplainError(
            f"eps must be a positive number (got {show_value(eps)})", "the default is 1e-3"
        )
    entries = as_int(max_entries, "max_entries")
    if entries < 1:
        raise LinexplainError(
            f"max_entries must be a whole number >= 1 (got {show_value(entries)})",
            f"the default is {default}",
        )
    picks = as_int(seed, "seed")
    if picks < 0:
        raise LinexplainError(
            f"seed must be a whole number >= 0 (got {show_value(picks)})",
            "it picks the entries to check, e.g. seed=0",
        )
    return float(eps), entries, picks
