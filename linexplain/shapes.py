"""The last-dim rule of ``nn.Linear``, with exact counts and memory (pure Python ints).

``nn.Linear(in, out)`` maps an input of shape ``(*, in)`` to ``(*, out)``: only the last dim
changes. Every count is the product of the leading dims times a constant, so a count is a
:class:`Product` — an exact int, or an int times named dims like ``9*C*N`` — built without sympy,
so that ``linexplain shape`` starts fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .counts import DTYPE_BYTES, Product, product_as_written
from .errors import LinexplainError
from .grammar import Dim, Shape, as_size, check_shape, format_shape


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
            "dim_roles": [{"dim": d, "role": role} for d, role in self.reading],
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
    out_features: int,
    in_features: int | None = None,
    *,
    bias: bool = True,
    dtype: str = "float32",
    dims: dict[str, int] | None = None,
) -> ShapeReport:
    """Apply the last-dim rule ``(*, in) -> (*, out)`` to ``input_shape``.

    ``in_features`` may be None when the last dim is a size (like ``nn.LazyLinear``).
    ``dims`` gives sizes to named dims; a named last dim is bound to ``in_features``.
    Raises :class:`LinexplainError` with torch's own message when torch would refuse.
    """
    input_shape = check_shape(input_shape)
    in_features, out_features = check_features(in_features, out_features)
    if out_features is None:
        raise LinexplainError("out_features is unknown", "give --out (out_features)")
    if dtype not in DTYPE_BYTES:
        raise LinexplainError(f"unknown dtype {dtype!r}", "use one of " + ", ".join(DTYPE_BYTES))
    bindings = {name: as_size(size, f"size of {name}") for name, size in (dims or {}).items()}
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
