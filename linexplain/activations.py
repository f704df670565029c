"""The layer kinds without parameters: activations applied element by element, and Flatten.

Each kind says how PyTorch prints it, what it computes per element, and does its forward and
backward passes with :mod:`linexplain.special` (NumPy, imported when a pass runs). Kept apart from
:mod:`linexplain.layers` so that a single Linear's commands do not build these classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from .errors import LinexplainError
from .grammar import Shape, format_shape

if TYPE_CHECKING:
    import numpy as np


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

    def over_features(self, rank: int) -> bool:
        """Whether it normalises one sample's features (the last of ``rank`` dims)."""
        return self.axis(rank) == rank - 1

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
