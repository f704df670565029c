"""Layers: one small unit per layer kind, each with the same interface.

A kind knows its output shape (``nn.Linear`` maps ``(*, in)`` to ``(*, out)``: only the last dim
changes), its parameters and counts (exact :class:`~linexplain.counts.Product` s), its forward and
backward passes (NumPy), its equations (sympy) and its PyTorch code. Importing this module loads
neither NumPy nor sympy: each is imported by the method that needs it. ``Linear`` is the first
kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

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

    from .activations import Activation
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


Layer = Union[Linear, "Activation"]
