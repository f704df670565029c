"""A network: layers in ``nn.Sequential`` order, their shapes walked once.

A single ``nn.Linear`` is a network of one; every command goes through :class:`Network`. Its
numbers (the forward and backward passes) are in :mod:`linexplain.session`; importing this module
loads neither NumPy nor sympy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .grammar import Shape
from .layers import Linear, ShapeReport

if TYPE_CHECKING:
    from .torch_rng import Generator


@dataclass(frozen=True)
class Network:
    """Layers in ``nn.Sequential`` order."""

    layers: tuple[Linear, ...]

    def walk(
        self, input_shape: Shape, dims: dict[str, int] | None = None, dtype: str = "float32"
    ) -> tuple[ShapeReport, ...]:
        """Each layer's shapes and counts, the input walked through once."""
        reports: list[ShapeReport] = []
        shape, sizes = input_shape, dict(dims or {})
        for layer in self.layers:
            # The input's --dims go to the first layer whole (it refuses names the input lacks).
            given = sizes if not reports else {k: v for k, v in sizes.items() if k in shape}
            report = layer.walk(shape, given, dtype)
            reports.append(report)
            shape, sizes = report.output_shape, sizes | report.bindings
        return tuple(reports)

    def init(self, seed: int, dtype: str) -> tuple[Generator, list[tuple[Any, Any]]]:
        """torch.manual_seed(seed), then each layer's parameters drawn in order."""
        from .torch_rng import Generator

        generator = Generator(seed)
        return generator, [layer.init(generator, dtype) for layer in self.layers]
