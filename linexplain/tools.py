"""What other counting tools report for one ``nn.Linear``: exact, and symbolic in named dims.

Each formula was checked against the real package (``scripts/gen_tool_fixtures.py`` records
them in ``tests/data/other_tools.json``; ``tests/test_tools.py`` holds this module to it). With
``rows`` the product of the input's leading dims (1 for a 1-D input), ``MACs = rows·in·out`` and
``params = in·out (+ out with a bias)``:

- torch's ``FlopCounterMode``: ``2·MACs``; the bias adds are not counted.
- torchinfo 1.8.0 (the latest release) "Mult-Adds": ``params × the output's first dim``. For an
  N-D input that ignores all leading dims but the first; for a 1-D input the output's first dim
  is out_features. torchinfo main (PR #318, unreleased): ``params × rows``.
- fvcore ``FlopCountAnalysis`` (``linear_flop_jit``): ``MACs``, called flops; no bias.
- thop ``profile`` (``count_linear``): ``in_features × output elements = MACs``; no bias.
- ptflops ``get_model_complexity_info`` (both backends, the input shape as ``input_res``):
  ``MACs + bias adds = params × rows``.
- calflops ``calculate_flops`` and DeepSpeed's flops profiler: FLOPs ``2·MACs``; no bias.

Pure Python on ``linexplain shape``'s fast path: no numpy, sympy or torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from .counts import Product
from .grammar import Shape


@dataclass(frozen=True)
class ToolCount:
    """One tool's figure for the layer."""

    key: str  # stable JSON key
    tool: str  # the tool and its figure, as people know them
    value: Product  # exact, symbolic in named dims
    how: str  # its definition in a few words, true for this layer


def _torchinfo_1_8(
    input_shape: Shape, out_features: int, params: int, bias: bool
) -> tuple[Product, str]:
    """torchinfo 1.8.0: ``output_size[0] × params`` (layer_info.py, calculate_macs)."""
    leading = input_shape[:-1]
    bias_note = "; bias as MACs" if bias else ""
    if not leading:  # the output is (out_features,): its first dim is out_features
        how = "params × out_features, a 1-D output's first dim"
        return Product(out_features) * params, how + bias_note
    value = Product.of(leading[:1]) * params
    if value == Product.of(leading) * params:
        how = "params × the output's first dim (all the rows here)"
    elif Product.of(leading[1:]) == Product(0):
        how = "params × the output's first dim only: counts an empty input"
    else:
        how = "params × the output's first dim only: undercounts N-D inputs"
    return value, how + bias_note


def other_tools(
    input_shape: Shape, in_features: int, out_features: int, bias: bool
) -> list[ToolCount]:
    """What other tools report for ``nn.Linear(in_features, out_features, bias)`` on an input
    of shape ``input_shape`` (named dims bound to sizes where known), in a reader's order."""
    if not input_shape:
        raise ValueError("nn.Linear needs an input of at least 1 dim")
    rows = Product.of(input_shape[:-1])
    macs = rows * (in_features * out_features)
    params = in_features * out_features + (out_features if bias else 0)
    no_bias_adds = ": bias adds not counted" if bias else ""
    torchinfo_value, torchinfo_how = _torchinfo_1_8(input_shape, out_features, params, bias)
    return [
        ToolCount(
            "torch_flop_counter_flops", "torch FlopCounterMode", macs * 2, "2·MACs" + no_bias_adds
        ),
        ToolCount(
            "torchinfo_1_8_mult_adds", "torchinfo 1.8.0 Mult-Adds", torchinfo_value, torchinfo_how
        ),
        ToolCount(
            "torchinfo_main_mult_adds",
            "torchinfo main Mult-Adds (unreleased)",
            rows * params,
            "params × rows: counts each bias add as a MAC" if bias else "params × rows = MACs",
        ),
        ToolCount("fvcore_flops", "fvcore flops", macs, "MACs, named flops" + no_bias_adds),
        ToolCount("thop_macs", "thop MACs", macs, "in × output elements = MACs" + no_bias_adds),
        ToolCount(
            "ptflops_macs",
            "ptflops MACs",
            rows * params,
            "MACs + bias adds (both backends)" if bias else "MACs (both backends)",
        ),
        ToolCount(
            "calflops_flops", "calflops / DeepSpeed FLOPs", macs * 2, "2·MACs" + no_bias_adds
        ),
    ]
