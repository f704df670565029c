"""A request: everything one command was asked, checked once, in the library's own types.

The command line builds one from its options (``linexplain.cli.request``); the commands in
:mod:`linexplain.explain` take it. Sizes come in ``nn.Linear``'s order, in_features first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .grammar import Shape
from .view import DEFAULT_VIEW, View

if TYPE_CHECKING:
    from .model import ModelQuery
    from .network import Network


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
