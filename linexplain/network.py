"""A network: layers in ``nn.Sequential`` order, their shapes walked once.

A single ``nn.Linear`` is a network of one; every command goes through :class:`Network`. Its
numbers (the forward and backward passes) are in :mod:`linexplain.session`; importing this module
loads neither NumPy nor sympy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .counts import DTYPE_BYTES, Product
from .errors import LinexplainError
from .grammar import Shape, check_choice, check_dims, check_shape, format_shape, show_value
from .layers import Layer, Linear, ShapeReport

if TYPE_CHECKING:
    from .netspec import LayerSpec
    from .torch_rng import Generator

MAX_LAYERS = 1000  # a network of more layers is refused before any work


@dataclass(frozen=True)
class Step:
    """One layer of the walk: what reaches it, what leaves it, and what it costs."""

    index: int  # its position in the nn.Sequential
    layer: Layer
    input_shape: Shape
    output_shape: Shape
    report: ShapeReport | None = None  # a Linear's shapes and counts
    rows: Product = field(default_factory=Product)  # the leading dims, flattened
    elementwise: Product = field(default_factory=lambda: Product(0))  # an activation's ops
    note: str = ""  # a trap worth saying (Softmax without dim)
    sizes: dict[str, int] = field(default_factory=dict)  # the named dims' known sizes

    @property
    def params(self) -> int:
        return self.layer.params if isinstance(self.layer, Linear) else 0

    @property
    def macs(self) -> Product:
        return self.report.macs if self.report else Product(0)

    @property
    def bias_adds(self) -> Product:
        return self.report.bias_adds if self.report else Product(0)

    @property
    def flops(self) -> Product:
        """2·MACs + bias adds; an activation's elementwise operations are counted apart."""
        return self.report.flops if self.report else Product(0)

    def count(self, shape: Shape) -> Product:
        """Numbers in a tensor of ``shape``, its named dims sized where known."""
        return Product.of(tuple(self.sizes.get(d, d) if isinstance(d, str) else d for d in shape))

    @property
    def numel(self) -> Product:
        """Numbers in its output."""
        return self.count(self.output_shape)


@dataclass(frozen=True)
class Network:
    """Layers in ``nn.Sequential`` order."""

    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.layers, (tuple, list)):
            raise LinexplainError(
                f"a network's layers must be a tuple of layers, got {show_value(self.layers)}",
                "e.g. Network((Linear(3, 2), ReLU()))",
            )
        if len(self.layers) > MAX_LAYERS:
            raise LinexplainError(
                f"the network has {len(self.layers):,} layers", f"at most {MAX_LAYERS} are allowed"
            )
        for index, layer in enumerate(self.layers):
            # the Activation base itself computes nothing: only its kinds are layers
            if not isinstance(layer, Linear) and not _is_activation(layer):
                raise LinexplainError(
                    f"layer ({index}) of the network is {show_value(layer)}, not a layer",
                    "give layers of linexplain.layers, e.g. Linear(3, 2), ReLU(), Softmax(dim=-1)",
                )
        object.__setattr__(self, "layers", tuple(self.layers))

    @classmethod
    def of(cls, specs: tuple[LayerSpec, ...]) -> Network:
        """The network a parsed spec describes."""
        layers: list[Layer] = []
        for spec in specs:
            args: dict[str, Any] = dict(spec.args)
            if spec.kind == "Linear":
                layers.append(Linear(args["in_features"], args["out_features"], args["bias"]))
            else:
                from .activations import ACTIVATIONS

                layers.append(ACTIVATIONS[spec.kind](**args))
        return cls(tuple(layers))

    @property
    def linears(self) -> tuple[Linear, ...]:
        return tuple(layer for layer in self.layers if isinstance(layer, Linear))

    @property
    def is_one_linear(self) -> bool:
        """A single nn.Linear: the commands show it as they always have."""
        return len(self.layers) == 1 and isinstance(self.layers[0], Linear)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.linears)

    def numbers(self, first: int | None = None) -> list[int]:
        """Each layer's number l in the post's notation: a Linear starts a new one, an
        activation shares the Linear's before it (a^(l) = f(z^(l))). The first Linear is
        ``first``, or 2 as in the post (the input is layer 1), as ``--layer`` numbers a single
        Linear."""
        out, current = [], 1 if first is None else first - 1
        for layer in self.layers:
            if isinstance(layer, Linear):
                current += 1
            out.append(current)
        return out

    @property
    def module(self) -> str:
        """The network as ``print(model)`` shows an ``nn.Sequential``."""
        lines = [f"  ({i}): {layer.module}" for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"

    @property
    def torch_code(self) -> str:
        """The expression that builds it."""
        if self.is_one_linear:
            return self.layers[0].torch_code
        inner = "".join(f"\n    {layer.torch_code}," for layer in self.layers)
        return f"torch.nn.Sequential({inner}\n)"

    def walk(
        self, input_shape: Shape, dims: dict[str, int] | None = None, dtype: str = "float32"
    ) -> tuple[Step, ...]:
        """Each layer's shapes and counts, the input walked through once."""
        input_shape = check_shape(input_shape)
        dims = check_dims(dims, "dims (--dims)")
        dtype = check_choice(dtype, DTYPE_BYTES, "dtype")
        steps: list[Step] = []
        shape, sizes = input_shape, dict(dims or {})
        for index, layer in enumerate(self.layers):
            # The input's --dims go to the first layer whole (it refuses names the input lacks).
            given = sizes if not steps else {k: v for k, v in sizes.items() if k in shape}
            try:
                step = _step(index, layer, shape, given, dtype)
            except LinexplainError as error:
                if not steps:
                    raise
                raise _misfit(self.layers, index, shape, error) from None
            if step.report is not None:
                sizes |= step.report.bindings
            steps.append(replace(step, sizes=dict(sizes)))
            shape = step.output_shape
        return tuple(steps)

    def init(self, seed: int, dtype: str) -> tuple[Generator, list[tuple[Any, Any]]]:
        """torch.manual_seed(seed), then each Linear's weight and bias drawn in order."""
        from .torch_rng import Generator

        generator = Generator(seed)
        params = [
            layer.init(generator, dtype) if isinstance(layer, Linear) else (None, None)
            for layer in self.layers
        ]
        return generator, params


def _misfit(
    layers: tuple[Layer, ...], index: int, shape: Shape, error: LinexplainError
) -> LinexplainError:
    """A layer that does not fit what reaches it, said with the layer that made that shape."""
    before = next((i for i in range(index - 1, -1, -1) if isinstance(layers[i], Linear)), index - 1)
    layer = layers[index]
    hint = error.hint
    if isinstance(layer, Linear) and shape and isinstance(shape[-1], int):
        width, made = shape[-1], layers[before]
        hint = f"give ({index}) in_features={width} (Linear({width}, {layer.out_features}))"
        if isinstance(made, Linear):
            hint += f", or ({before}) out_features={layer.in_features}"
    return LinexplainError(
        f"layer ({index}) {layer.module} gets {format_shape(shape)} from ({before}) "
        f"{layers[before].module}: {error.message}",
        hint,
    )


def _is_activation(layer: object) -> bool:
    """Whether ``layer`` is one of the kinds without parameters (not their base class)."""
    from .activations import Activation

    return isinstance(layer, Activation) and type(layer) is not Activation


def _step(index: int, layer: Layer, shape: Shape, dims: dict[str, int], dtype: str) -> Step:
    """One layer's walk."""
    if isinstance(layer, Linear):
        report = layer.walk(shape, dims, dtype)
        return Step(index, layer, report.input_shape, report.output_shape, report, report.rows)
    from .activations import Flatten, Softmax, implicit_softmax_dim

    if not shape:
        raise LinexplainError(
            f"{layer.module} needs an input with at least one dim", "give an input shape"
        )
    out = layer.output_shape(shape)
    bound = tuple(dims.get(d, d) if isinstance(d, str) else d for d in out)
    note = ""
    if isinstance(layer, Softmax) and layer.dim is None:
        note = (
            f"Softmax() without dim: torch picks dim {implicit_softmax_dim(len(shape))} for a "
            f"{len(shape)}-D input (and warns); write Softmax(dim=-1) to say which"
        )
    ops = 0 if isinstance(layer, Flatten) else layer.ops
    return Step(
        index,
        layer,
        shape,
        out,
        rows=Product.of(bound[:-1]),
        elementwise=Product.of(bound) * ops,
        note=note,
    )
