"""A request: everything one command was asked, checked once, in the library's own types.

The command line builds one from its options (``linexplain.cli.request``); the commands in
:mod:`linexplain.lessons` take it. Sizes come in ``nn.Linear``'s order, in_features first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .counts import DTYPE_BYTES
from .errors import LinexplainError
from .grammar import (
    Shape,
    as_int,
    as_size,
    check_bool,
    check_choice,
    check_dims,
    check_shape,
    show_value,
)
from .layers import check_features
from .view import DEFAULT_VIEW, View

if TYPE_CHECKING:
    from .model import ModelQuery
    from .network import Network

FORMS = ("all", "scalar", "matrix", "pytorch")  # expand --form
UPSTREAMS = ("ones", "seed")  # G = dL/dy named, not given as an array


@dataclass(frozen=True)
class Request:
    """One command's input: the layer, the input, the numbers, and how to show them.

    ``in_features`` / ``out_features`` may be None where the input or the weight gives them
    (``network`` holds a network of several layers instead);
    ``input_shape`` keeps names (sized by ``dims``); ``x``, ``weight`` and ``bias_values`` are
    arrays read from the options; ``upstream`` is "ones", "seed" or an array (``grad``).
    """

    in_features: int | None = None
    out_features: int | None = None
    bias: bool = True
    input_shape: Shape | None = None
    dims: dict[str, int] = field(default_factory=dict)
    dtype: str = "float32"
    seed: int | None = None
    x: Any = None
    weight: Any = None
    bias_values: Any = None
    max_memory: int | None = None
    view: View = DEFAULT_VIEW
    form: str = "all"
    steps: bool = False
    upstream: Any = "ones"
    check: bool = False
    notes: tuple[str, ...] = ()  # what reading the input files did (a skipped header line)
    network: Network | None = None  # a network of layers (--net); None: one Linear
    state: dict[str, Any] | None = None  # a network's given weights, by state_dict name
    model: ModelQuery | None = None  # a checkpoint read from its header (linexplain model)

    def __post_init__(self) -> None:
        """Check every field once, in the library's own words; sizes, flags and arrays are kept
        in their checked form (Python ints and bools, NumPy arrays)."""
        in_features, out_features = check_features(self.in_features, self.out_features)
        checked: dict[str, Any] = {
            "in_features": in_features,
            "out_features": out_features,
            "bias": check_bool(self.bias, "bias"),
            "input_shape": None if self.input_shape is None else check_shape(self.input_shape),
            "dims": check_dims(self.dims, "dims (--dims)"),
            "dtype": check_choice(self.dtype, DTYPE_BYTES, "dtype"),
            "seed": None if self.seed is None else as_int(self.seed, "seed"),  # range: Generator
            "max_memory": _size(self.max_memory, "max_memory"),
            "view": _check_view(self.view),
            "form": check_choice(self.form, FORMS, "form"),
            "steps": check_bool(self.steps, "steps"),
            "check": check_bool(self.check, "check"),
            "notes": _check_notes(self.notes),
            "upstream": _check_upstream(self.upstream),
        }
        for name in ("x", "weight", "bias_values"):
            value = getattr(self, name)
            checked[name] = None if value is None else _numbers(value, name)
        if self.network is not None:
            from .network import Network

            if not isinstance(self.network, Network):
                raise LinexplainError(
                    f"network must be a Network, got {type(self.network).__name__}",
                    "e.g. Network((Linear(3, 4), ReLU(), Linear(4, 2))), or None for one Linear",
                )
        if self.state is not None:
            from .session import check_state

            checked["state"] = check_state(self.state)
        if self.model is not None:
            from .model import ModelQuery

            if not isinstance(self.model, ModelQuery):
                raise LinexplainError(
                    f"model must be a ModelQuery, got {type(self.model).__name__}",
                    "e.g. ModelQuery(read_checkpoint('model.safetensors')), or None",
                )
        for name, value in checked.items():
            object.__setattr__(self, name, value)


def _size(value: object, what: str) -> int | None:
    return None if value is None else as_size(value, what)


def _numbers(value: object, what: str) -> Any:
    """An array of finite numbers (NumPy is imported only when an array is given)."""
    from .torch_rng import as_numbers

    return as_numbers(value, what)


def _check_view(view: object) -> View:
    if not isinstance(view, View):
        raise LinexplainError(
            f"view must be a View, got {type(view).__name__}", "e.g. View(index_base=0)"
        )
    return view


def _check_notes(notes: object) -> tuple[str, ...]:
    """What reading the input files did: a tuple of lines of text."""
    if not isinstance(notes, (tuple, list)) or not all(isinstance(n, str) for n in notes):
        raise LinexplainError(
            f"notes must be a tuple of text, got {type(notes).__name__}", "e.g. notes=()"
        )
    return tuple(notes)


def _check_upstream(upstream: object) -> Any:
    """G = dL/dy: "ones", "seed", or an array of numbers."""
    if isinstance(upstream, str):
        if upstream not in UPSTREAMS:
            raise LinexplainError(
                f"unknown upstream gradient {show_value(upstream)}",
                "use ones (L = y.sum()), seed (torch.randn after x), or give an array of y's shape",
            )
        return upstream
    return _numbers(upstream, "the upstream gradient")
