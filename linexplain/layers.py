"""Layers: one small unit per layer kind, each with the same interface.

A kind knows its output shape (``nn.Linear`` maps ``(*, in)`` to ``(*, out)``: only the last dim
changes), its parameters and counts (exact :class:`~linexplain.counts.Product` s), its forward and
backward passes (NumPy), its equations (sympy) and its PyTorch code. Importing this module loads
neither NumPy nor sympy: each is imported by the method that needs it. ``Linear`` is the first
kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .counts import DTYPE_BYTES, Product, product_as_written
from .errors import LinexplainError
from .grammar import (
    Dim,
    Shape,
    as_size,
    check_bool,
    check_choice,
    check_dims,
    check_shape,
    format_shape,
)

if TYPE_CHECKING:
    import numpy as np

    from .equations import Expansion, GradForms
    from .torch_rng import Generator
    from .view import View


def dim_roles(rank: int) -> list[str]:
    """What each dim of a rank-``rank`` input counts, read from the last dim (seed, point 4)."""
    roles = []
    for axis in range(rank):
        from_end = rank - axis
        if from_end == 1:
            roles.append("features of one sample (in_features): the only dim Linear changes")
        elif from_end == 2:
            roles.append("samples: the rows of one sample matrix")
        elif from_end == 3:
            roles.append("sample matrices: how many (samples × features) matrices are stacked")
        else:
            roles.append(f"stacks of the {from_end - 1}-D blocks to its right")
    return roles


@dataclass(frozen=True)
class ShapeReport:
    """What ``nn.Linear(in_features, out_features, bias)`` does to an input shape."""

    in_features: int
    out_features: int
    bias: bool
    dtype: str
    input_shape: Shape
    output_shape: Shape
    in_features_inferred: bool
    bindings: dict[str, int] = field(default_factory=dict)
    bound_by_in: str | None = None  # the named last dim that took in_features' value

    @property
    def leading(self) -> Shape:
        """The leading dims (all but the last), sizes bound where a binding is known."""
        return _bind(self.input_shape[:-1], self.bindings)

    @property
    def reading(self) -> list[tuple[Dim, str]]:
        """Each input dim with what it counts."""
        roles = dim_roles(len(self.input_shape))
        return list(zip(self.input_shape, roles, strict=True))

    @property
    def rows(self) -> Product:
        """How many samples torch multiplies at once: the leading dims flattened."""
        return Product.of(self.leading)

    @property
    def weight_shape(self) -> tuple[int, int]:
        return (self.out_features, self.in_features)

    @property
    def bias_shape(self) -> tuple[int] | None:
        return (self.out_features,) if self.bias else None

    @property
    def params(self) -> int:
        return self.out_features * self.in_features + (self.out_features if self.bias else 0)

    @property
    def macs(self) -> Product:
        """Multiply-accumulates: rows · in · out."""
        return self.rows * (self.in_features * self.out_features)

    @property
    def bias_adds(self) -> Product:
        return self.rows * self.out_features if self.bias else Product(0)

    @property
    def flops(self) -> Product:
        """2·MACs + bias adds."""
        return self.macs * 2 + self.bias_adds

    @property
    def torchinfo_mult_adds(self) -> Product:
        """What torchinfo reports as "Mult-Adds": params · rows (the bias counted as a MAC)."""
        return self.rows * self.params

    @property
    def torch_flop_counter(self) -> Product:
        """What torch's ``FlopCounterMode`` reports: 2·MACs, bias adds not counted."""
        return self.macs * 2

    @property
    def itemsize(self) -> int:
        return DTYPE_BYTES[self.dtype]

    def memory(self) -> dict[str, Product]:
        """Bytes of the parameters, the input and the output in ``dtype``."""
        size = self.itemsize
        return {
            "params_bytes": Product(self.params * size),
            "input_bytes": self.rows * (self.in_features * size),
            "output_bytes": self.rows * (self.out_features * size),
        }

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` contract of ``linexplain shape`` (documented in the README)."""
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias,
            "dtype": self.dtype,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "weight_shape": list(self.weight_shape),
            "bias_shape": list(self.bias_shape) if self.bias_shape else None,
            "params": self.params,
            "rows": self.rows.value(),
            "macs": self.macs.value(),
            "bias_adds": self.bias_adds.value(),
            "flops": self.flops.value(),
            "memory": {key: val.value() for key, val in self.memory().items()},
            "bindings": dict(self.bindings),
            "in_features_inferred": self.in_features_inferred,
            "dim_roles": [
                {"index": index, "size": d, "role": role}
                for index, (d, role) in enumerate(self.reading)
            ],
            "other_tools": {
                "torchinfo_mult_adds": self.torchinfo_mult_adds.value(),
                "torch_flop_counter_flops": self.torch_flop_counter.value(),
            },
        }


def _bind(shape: Shape, bindings: dict[str, int]) -> Shape:
    """``shape`` with named dims replaced by their bound sizes."""
    return tuple(bindings.get(d, d) if isinstance(d, str) else d for d in shape)


def check_features(in_features: Any, out_features: Any) -> tuple[Any, Any]:
    """in_features and out_features as Python ints, checked to be sizes (None stays None)."""
    return (
        None if in_features is None else as_size(in_features, "in_features (--in)"),
        None if out_features is None else as_size(out_features, "out_features (--out)"),
    )


def mismatch_message(input_shape: Shape, in_features: int, out_features: int) -> str:
    """torch's own error for a last dim that is not in_features, e.g. ``(30x4 and 3x5)``."""
    rows = product_as_written(input_shape[:-1]) if len(input_shape) > 1 else "1"
    return (
        f"mat1 and mat2 shapes cannot be multiplied "
        f"({rows}x{input_shape[-1]} and {in_features}x{out_features})"
    )


def explain_shape(
    input_shape: Shape,
    in_features: int | None,
    out_features: int,
    *,
    bias: bool = True,
    dtype: str = "float32",
    dims: dict[str, int] | None = None,
) -> ShapeReport:
    """Apply the last-dim rule ``(*, in) -> (*, out)`` to ``input_shape``.

    ``in_features`` may be None when the last dim is a size (like ``nn.LazyLinear``); the two
    sizes come in ``nn.Linear``'s order.
    ``dims`` gives sizes to named dims; a named last dim is bound to ``in_features``.
    Raises :class:`LinexplainError` with torch's own message when torch would refuse.
    """
    input_shape = check_shape(input_shape)
    in_features, out_features = check_features(in_features, out_features)
    if out_features is None:
        raise LinexplainError("out_features is unknown", "give --out (out_features)")
    bias = check_bool(bias, "bias")
    dtype = check_choice(dtype, DTYPE_BYTES, "dtype")
    bindings = check_dims(dims, "dims (--dims)")
    unused = [name for name in bindings if name not in input_shape]
    if unused:
        raise LinexplainError(
            f"--dims names {', '.join(unused)}, which the input shape "
            f"{format_shape(input_shape)} does not have",
            "give sizes only for names in --input-shape",
        )
    if not input_shape:
        raise LinexplainError(
            "both arguments to linear need to be at least 1D, but they are 0D and 2D",
            "a Linear input needs at least one dim, its features: e.g. --input-shape 3",
        )
    last = input_shape[-1]
    inferred = in_features is None
    bound_by_in = None
    if isinstance(last, int):
        size = last
    elif last in bindings:
        size = bindings[last]
    elif in_features is not None:
        size = bindings[last] = in_features  # the named last dim takes --in's value
        bound_by_in = last
    else:
        raise LinexplainError(
            f"the last dim {last!r} is a name, so in_features is unknown",
            f"give --in (in_features), which binds {last}, or its size with --dims {last}=SIZE",
        )
    if in_features is None:
        in_features = size
    if size != in_features:
        leading = _bind(input_shape[:-1], bindings)
        rows = product_as_written(leading) if leading else "1"
        why = (
            f"the leading dims {format_shape(leading)} flatten into {rows} rows, and "
            if len(leading) > 1
            else ""
        )
        raise LinexplainError(
            f"{mismatch_message((*leading, size), in_features, out_features)}: {why}"
            f"the last dim {last if isinstance(last, int) else f'{last} = {size}'} "
            f"must equal in_features {in_features}",
            f"use --in {size} (nn.Linear({size}, {out_features})), "
            f"or reshape the input so its last dim is {in_features}",
        )
    return ShapeReport(
        in_features=in_features,
        out_features=out_features,
        bias=bias,
        dtype=dtype,
        input_shape=input_shape,
        output_shape=(*input_shape[:-1], out_features),
        in_features_inferred=inferred,
        bindings=bindings,
        bound_by_in=bound_by_in,
    )


@dataclass(frozen=True)
class Linear:
    """``nn.Linear(in_features, out_features, bias)`` as a layer kind: y = x Wᵀ + b.

    ``in_features`` None is ``nn.LazyLinear``: the input's last dim gives it when walked.
    """

    in_features: int | None
    out_features: int
    bias: bool = True

    def __post_init__(self) -> None:
        in_features, out_features = check_features(self.in_features, self.out_features)
        if out_features is None:
            raise LinexplainError("out_features is unknown", "give it, e.g. Linear(3, 2)")
        object.__setattr__(self, "in_features", in_features)
        object.__setattr__(self, "out_features", out_features)
        object.__setattr__(self, "bias", check_bool(self.bias, "bias"))

    @property
    def module(self) -> str:
        """The module as ``print(model)`` shows it."""
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias})"
        )

    @property
    def torch_code(self) -> str:
        """The expression that builds it: ``torch.nn.Linear(3, 2)``."""
        bias = "" if self.bias else ", bias=False"
        return f"torch.nn.Linear({self.in_features}, {self.out_features}{bias})"

    @property
    def sized(self) -> int:
        """in_features, known (a lazy layer learns it from its input's last dim)."""
        if self.in_features is None:
            raise LinexplainError(
                "in_features is unknown until an input is seen", "give --in, or an input shape"
            )
        return self.in_features

    @property
    def params(self) -> int:
        return self.out_features * self.sized + (self.out_features if self.bias else 0)

    def walk(
        self, input_shape: Shape, dims: dict[str, int] | None = None, dtype: str = "float32"
    ) -> ShapeReport:
        """What the layer does to ``input_shape``, checked as torch checks it."""
        return explain_shape(
            input_shape, self.in_features, self.out_features, bias=self.bias, dtype=dtype,
            dims=dims,
        )  # fmt: skip

    def init(self, generator: Generator, dtype: str) -> tuple[np.ndarray, np.ndarray | None]:
        """The weight and bias ``nn.Linear`` draws from ``generator``."""
        from .torch_rng import linear_init

        return linear_init(generator, self.sized, self.out_features, bias=self.bias, dtype=dtype)

    @staticmethod
    def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """y = x Wᵀ + b over the last dim of x."""
        from .core import linear

        return linear(x, weight, bias)

    @staticmethod
    def backward(
        x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, g: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """∂L/∂W = Gᵀ x, ∂L/∂b = G summed over rows, ∂L/∂x = G W, for G = ∂L/∂y.

        The leading dims are folded into rows as in the forward pass: two 2-D products and a sum.
        """
        import numpy as np

        out, in_ = weight.shape
        rows = math.prod(x.shape[:-1])  # a 1-D input is one row
        g2, x2 = g.reshape(rows, out), x.reshape(rows, in_)
        grad_bias = None if bias is None else _column_sums(g2)
        return np.ascontiguousarray(g2.T @ x2), grad_bias, (g2 @ weight).reshape(x.shape)

    def equations(self, view: View) -> Expansion:
        """Every output written out (sympy), elided as ``view`` says."""
        from .equations import expand

        return expand(self.sized, self.out_features, self.bias, view)

    def grad_equations(self, samples: int, view: View) -> GradForms:
        """The gradients written out for ``samples`` rows (sympy)."""
        from .equations import grad_forms

        return grad_forms(self.sized, self.out_features, samples, self.bias, view)


_SUM_BLOCK = 1 << 16  # numbers per transposed block in _column_sums


def _column_sums(g: np.ndarray) -> np.ndarray:
    """Each column of the 2-D ``g`` summed over its rows, as accurately as torch sums it.

    NumPy's ``sum(axis=0)`` on a C-contiguous array adds one row at a time (an error that grows
    with the row count); its pairwise sum runs only along contiguous memory. float32 is summed
    row by row in float64 and rounded once. float64 needs more: blocks of
    columns are copied transposed, in float64, and summed pairwise along their rows: partial
    sums over blocks of rows, then those summed pairwise too. The float64 result is rounded once
    to ``g``'s dtype (for float32, almost always the correctly rounded sum). Each block holds
    at most ``_SUM_BLOCK`` numbers, so the extra memory stays small.
    """
    import numpy as np

    if g.dtype == np.float32:
        # Rows added one at a time in float64, rounded once: each partial sum is exact to
        # 2**-53, so the error stays far below float32's half ulp (and 10x cheaper than blocks).
        return g.sum(axis=0, dtype=np.float64).astype(np.float32)
    rows, cols = g.shape
    width = max(1, min(cols, _SUM_BLOCK // max(rows, 1)))  # columns per block
    height = max(1, _SUM_BLOCK // width)  # rows per block
    partial = np.zeros((cols, max(1, -(-rows // height))))  # column c over row block k
    for k, start in enumerate(range(0, rows, height)):
        for c in range(0, cols, width):
            block = g[start : start + height, c : c + width].T.astype(np.float64, order="C")
            partial[c : c + width, k] = block.sum(axis=1)
    return partial.sum(axis=1).astype(g.dtype)


@dataclass(frozen=True)
class GradShapes:
    """The shapes of G = ∂L/∂y and of the three gradients, and what computing them costs."""

    report: ShapeReport  # the forward pass (``explain_shape``)

    @property
    def upstream_shape(self) -> Shape:
        """G = ∂L/∂y has y's shape ``(*, out)``."""
        return self.report.output_shape

    @property
    def grad_weight_shape(self) -> tuple[int, int]:
        """∂L/∂W = Gᵀ X is (out × rows)(rows × in) = out × in: W's shape."""
        return self.report.weight_shape

    @property
    def grad_bias_shape(self) -> tuple[int] | None:
        """∂L/∂b, G summed over rows, is (out,): b's shape (None without bias)."""
        return self.report.bias_shape

    @property
    def grad_input_shape(self) -> Shape:
        """∂L/∂x = G W is (rows × out)(out × in) = rows × in, unfolded to x's shape ``(*, in)``."""
        return self.report.input_shape

    @property
    def grad_weight_macs(self) -> Product:
        """Gᵀ X: rows · in · out multiply-accumulates."""
        return self.report.macs

    @property
    def grad_input_macs(self) -> Product:
        """G W: rows · in · out multiply-accumulates."""
        return self.report.macs

    @property
    def grad_bias_adds(self) -> Product:
        """Summing G's rows: rows · out adds (0 without bias)."""
        return self.report.bias_adds

    @property
    def backward_macs(self) -> Product:
        """Both products: 2 × the forward's MACs."""
        return self.grad_weight_macs + self.grad_input_macs

    def as_dict(self) -> dict[str, Any]:
        """JSON: the shapes (names kept) and the counts (ints, or sympy-style strings)."""
        r = self.report
        return {
            "upstream_shape": list(self.upstream_shape),
            "grad_weight_shape": list(self.grad_weight_shape),
            "grad_bias_shape": None if self.grad_bias_shape is None else list(self.grad_bias_shape),
            "grad_input_shape": list(self.grad_input_shape),
            "rows": r.rows.value(),
            "grad_weight_macs": self.grad_weight_macs.value(),
            "grad_input_macs": self.grad_input_macs.value(),
            "grad_bias_adds": self.grad_bias_adds.value(),
            "backward_macs": self.backward_macs.value(),
            "forward_macs": r.macs.value(),
        }


# --- layers without parameters ---------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """A layer without parameters, applied element by element (``Flatten`` only reshapes).

    Each kind says how PyTorch prints it, what it computes per element (``formula``, in words
    for the counts), and does its forward and backward with :mod:`linexplain.special`.
    """

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def arguments(self) -> tuple[tuple[str, object], ...]:
        """Its constructor's keyword arguments, as PyTorch prints them."""
        return tuple((f.name, getattr(self, f.name)) for f in fields(self))

    @property
    def module(self) -> str:
        """The module as ``print(model)`` shows it: ``ReLU()``, ``Softmax(dim=-1)``."""
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.arguments)})"

    @property
    def torch_code(self) -> str:
        return f"torch.nn.{self.module}"

    params = 0
    bias = False
    formula = ""  # what it computes per element, for people
    ops = 1  # elementwise operations per element, for the counts

    def output_shape(self, shape: Shape) -> Shape:
        """The shape it gives back: an activation keeps its input's shape."""
        return shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        """∂L/∂x from its input x, its output y and G = ∂L/∂y."""
        raise NotImplementedError


@dataclass(frozen=True)
class ReLU(Activation):
    formula = "max(0, z)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        from .special import relu

        return relu(x)

    def backward(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        from .special import relu_backward

        return relu_backward(x, g)


@dataclass(frozen=True)
class LeakyReLU(Activation):
    negative_slope: float = 0.01
    formula = "z if z > 0, else slope·z"

    def forward(self, x: np.ndarray) -> np.ndarray:
        from .special import leaky_relu

        return leaky_relu(x, self.negative_slope)

    def backward(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        from .special import leaky_relu_backward

        return leaky_relu_backward(x, g, self.negative_slope)


@dataclass(frozen=True)
class GELU(Activation):
    approximate: str = "none"
    ops = 8

    @property
    def formula(self) -> str:  # type: ignore[override]
        if self.approximate == "tanh":
            return "z/2·(1 + tanh(√(2/π)·(z + 0.044715·z³)))"
        return "z·Φ(z), Φ(z) = (1 + erf(z/√2))/2"

    def forward(self, x: np.ndarray) -> np.ndarray:
        from .special import gelu

        return gelu(x, self.approximate)

    def backward(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        from .special import gelu_backward

        return gelu_backward(x, g, self.approximate)


@dataclass(frozen=True)
class Sigmoid(Activation):
    formula = "σ(z) = 1/(1 + exp(−z))"
    ops = 3

    def forward(self, x: np.ndarray) -> np.ndarray:
        from .special import sigmoid

        return sigmoid(x)

    def backward(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        from .special import sigmoid_backward

        return sigmoid_backward(y, g)


@dataclass(frozen=True)
class Tanh(Activation):
    formula = "tanh(z)"
    ops = 3

    def forward(self, x: np.ndarray) -> np.ndarray:
        from .special import tanh

        return tanh(x)

    def backward(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        from .special import tanh_backward

        return tanh_backward(y, g)


@dataclass(frozen=True)
class SiLU(Activation):
    formula = "z·σ(z)"
    ops = 4

    def forward(self, x: np.ndarray) -> np.ndarray:
        from .special import silu

        return silu(x)

    def backward(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        from .special import silu_backward

        return silu_backward(x, g)


def implicit_softmax_dim(rank: int) -> int:
    """The dim torch's ``Softmax()`` without ``dim`` picks (with a deprecation warning)."""
    return 0 if rank in (0, 1, 3) else 1


@dataclass(frozen=True)
class Softmax(Activation):
    dim: int | None = None
    formula = "exp(z_i) / Σ_k exp(z_k) along dim"
    ops = 4

    def axis(self, rank: int) -> int:
        """The dim it normalises, as a non-negative index (torch's choice when dim is None)."""
        dim = implicit_softmax_dim(rank) if self.dim is None else self.dim
        if not -max(rank, 1) <= dim < max(rank, 1):
            raise LinexplainError(
                f"Dimension out of range (expected to be in range of [{-max(rank, 1)}, "
                f"{max(rank, 1) - 1}], but got {dim}): {self.module} on a {rank}-D input",
                "give Softmax a dim of the input, e.g. softmax(-1) for the last",
            )
        return dim % max(rank, 1)

    def output_shape(self, shape: Shape) -> Shape:
        self.axis(len(shape))
        return shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        from .special import softmax

        return softmax(x, self.axis(x.ndim))

    def backward(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        from .special import softmax_backward

        return softmax_backward(y, g, self.axis(x.ndim))


@dataclass(frozen=True)
class Identity(Activation):
    formula = "z"
    ops = 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        return g


@dataclass(frozen=True)
class Dropout(Activation):
    """``nn.Dropout(p)`` in eval mode, which is what is computed: the identity."""

    p: float = 0.5
    formula = "z (eval mode: dropout is the identity)"
    ops = 0

    @property
    def module(self) -> str:
        return f"Dropout(p={self.p}, inplace=False)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        return g


@dataclass(frozen=True)
class Flatten(Activation):
    """``nn.Flatten(start_dim, end_dim)``: dims start_dim … end_dim become one."""

    start_dim: int = 1
    end_dim: int = -1
    formula = "a reshape: no arithmetic"
    ops = 0

    def span(self, rank: int) -> tuple[int, int]:
        """The first and last dim flattened, as non-negative indices."""
        width = max(rank, 1)
        start, end = (d + width if d < 0 else d for d in (self.start_dim, self.end_dim))
        if not (0 <= start < width and 0 <= end < width) or start > end:
            raise LinexplainError(
                f"{self.module} cannot flatten a {rank}-D input: start_dim and end_dim must "
                f"name dims of it, start_dim first",
                "give an input with more dims, or other start_dim/end_dim",
            )
        return start, end

    def output_shape(self, shape: Shape) -> Shape:
        start, end = self.span(len(shape))
        merged = shape[start : end + 1]
        names = [d for d in merged if isinstance(d, str)]
        if names:
            raise LinexplainError(
                f"{self.module} merges the named dims {', '.join(names)} of "
                f"{format_shape(shape)}: their product is not a size",
                f"give their sizes with --dims, e.g. --dims {names[0]}=2",
            )
        return (*shape[:start], math.prod(merged), *shape[end + 1 :])

    def forward(self, x: np.ndarray) -> np.ndarray:
        start, end = self.span(x.ndim)
        return x.reshape(*x.shape[:start], -1, *x.shape[end + 1 :])

    def backward(self, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        return g.reshape(x.shape)


ACTIVATIONS: dict[str, type[Activation]] = {
    kind.__name__: kind
    for kind in (ReLU, LeakyReLU, GELU, Sigmoid, Tanh, SiLU, Softmax, Identity, Dropout, Flatten)
}
Layer = Linear | Activation
