"""The post's figure as a :class:`~linexplain.document.Figure`: every input wired to every output.

A network's walk gives the columns (one sample's features, the last dim, before and after each
layer) and the wiring between them; big columns are elided by the one rule of
:mod:`linexplain.elide`, so a 4096 × 4096 layer costs what an 8 × 8 one does. With numbers (the
seeded init or given weights) each drawn wire carries its weight. This module imports neither
numpy nor sympy: weights arrive as arrays and leave as Python floats.
"""

from __future__ import annotations

from typing import Any

from .document import ALL, DENSE, EACH, RESHAPE, Column, Figure, Wiring
from .elide import MAX_DRAWN, check_shown, shown_count, shown_indices
from .errors import LinexplainError
from .grammar import Shape, format_shape
from .layers import Linear
from .network import Network, Step
from .readable import counted
from .view import View


def _width(step: Step, shape: Shape, what: str) -> int:
    """The last dim of ``shape`` as a number of neurons."""
    if not shape:
        raise LinexplainError(
            f"{what} has no dims, so it has no neurons to draw", "give an input with a last dim"
        )
    last = shape[-1]
    size = step.sizes.get(last, last) if isinstance(last, str) else last
    if isinstance(size, str):
        raise LinexplainError(
            f"{what}'s last dim {size!r} is a name, so its neurons cannot be counted",
            f"give its size, e.g. --dims {size}=4",
        )
    return size


def layer_name(layer: Any) -> str:
    """A layer as the figure labels it: ``Linear(784 → 256)``, ``ReLU``, ``Softmax(dim=-1)``."""
    if isinstance(layer, Linear):
        bias = "" if layer.bias else ", bias=False"
        return f"Linear({layer.in_features} → {layer.out_features}{bias})"
    return layer.name if not layer.arguments else layer.module


def _kind(layer: Any, before: int, after: int, rank: int) -> str:
    """How ``layer`` wires one sample's ``before`` features to its ``after`` features (its
    input has ``rank`` dims)."""
    from .activations import Flatten, Softmax

    if isinstance(layer, Linear):
        return DENSE
    if isinstance(layer, Softmax):  # over the features: each output from all of them
        return ALL if layer.over_features(rank) else EACH
    if isinstance(layer, Flatten) and before != after:
        return RESHAPE
    return EACH


def figure(
    network: Network,
    steps: tuple[Step, ...],
    view: View,
    params: Any = None,
) -> Figure:
    """The figure of ``network`` as walked in ``steps``; ``params`` (each layer's weight and
    bias arrays, None for a layer without) puts real weights on the wires.

    A lone Linear names its input x_j and its outputs z_i (with the view's (l)); in a network,
    a Linear's outputs are z^(l) and an activation's a^(l), l numbered as ``expand --net`` does.
    """
    base, keep = view.index_base, view.keep
    lone = network.is_one_linear
    numbers = [view.layer] if lone else network.numbers(view.layer)

    def column(letter: str, layer: int | None, size: int, bias: Any = None) -> Column:
        if shown_count(size, keep) > MAX_DRAWN:
            raise LinexplainError(
                f"drawing {shown_count(size, keep):,} neurons in a column is too many: "
                f"linexplain draws at most {MAX_DRAWN}",
                "drop --full: big layers show their first and last neurons"
                if keep is None
                else f"lower --max-terms to {MAX_DRAWN} or less",
            )
        shown = tuple(shown_indices(size, base, keep))
        values = None
        if bias is not None:
            values = tuple(None if k is None else float(bias[k - base]) for k in shown)
        return Column(
            letter, layer, size, shown, bias=bias is not None or False, bias_values=values
        )

    first = steps[0]
    inputs = _width(first, first.input_shape, "the input")
    if _flattens(first):  # one sample is all the numbers Flatten puts in a row
        inputs = _width(first, first.output_shape, "the flattened input")
    columns = [column("x", None, inputs)]
    layers: list[Wiring] = []
    for k, step in enumerate(steps):
        layer = step.layer
        size = _width(step, step.output_shape, f"the output of ({step.index}) {layer.module}")
        kind = _kind(layer, columns[-1].size, size, len(step.input_shape))
        if kind in (DENSE, ALL):
            check_shown(size, columns[-1].size, keep, view.full)
        weight, bias = params[k] if params is not None else (None, None)
        if isinstance(layer, Linear):
            out = column("z", numbers[k], size, bias)
            if bias is None and layer.bias:
                out = Column("z", numbers[k], size, out.shown, bias=True)
        else:
            out = column("a", numbers[k], size)
        weights, scale = None, 0.0
        if weight is not None and weight.size:
            before = columns[-1]
            weights = tuple(
                None
                if i is None
                else tuple(
                    None if j is None else float(weight[i - base, j - base]) for j in before.shown
                )
                for i in out.shown
            )
            scale = max(float(weight.max()), -float(weight.min()))  # no |W| copy
        layers.append(Wiring(kind, layer_name(layer), None if lone else step.index, weights, scale))
        columns.append(out)

    def resize(smaller: int) -> Figure:
        from dataclasses import replace

        return figure(network, steps, replace(view, max_terms=smaller, full=False), params)

    title = " → ".join(w.name for w in layers)
    return Figure(
        columns,
        layers,
        title=title,
        description=_description(columns, layers, first.input_shape),
        index_base=base,
        precision=view.precision,
        keep=keep,
        resize=resize,
    )


def _flattens(step: Step) -> bool:
    """Whether a first layer is a Flatten that puts more than the last dim in one row."""
    from .activations import Flatten

    last_in, last_out = step.input_shape[-1:], step.output_shape[-1:]
    return isinstance(step.layer, Flatten) and last_in != last_out


def _description(columns: list[Column], layers: list[Wiring], shape: Shape) -> str:
    """What the figure shows, in a sentence or two (an SVG's <desc>)."""
    parts = [f"One sample of an input {format_shape(shape)}: {counted(columns[0].size, 'feature')}"]
    for k, wiring in enumerate(layers):
        before, after = columns[k], columns[k + 1]
        if wiring.kind == DENSE:
            parts.append(
                f"{wiring.name} wires each of its {counted(before.size, 'input')} to each of its "
                f"{counted(after.size, 'output')} by a weight w_ij "
                f"({counted(before.size * after.size, 'wire')}"
                f"{', with a bias b_i at each output' if after.bias else ''})"
            )
        elif wiring.kind == ALL:
            parts.append(f"{wiring.name} makes each output from every input")
        elif wiring.name.startswith("Softmax"):
            parts.append(
                f"{wiring.name} normalises along another dim than the features, so each "
                "feature's output comes from that feature alone (across the samples)"
            )
        elif wiring.kind == RESHAPE:
            parts.append(f"{wiring.name} reshapes them into {counted(after.size, 'feature')}")
        else:
            parts.append(f"{wiring.name} acts on each of its {counted(after.size, 'neuron')} alone")
    hidden = sum(c.hidden for c in columns)
    tail = f" The drawing hides {counted(hidden, 'neuron')} in marked gaps." if hidden else ""
    return "; ".join(parts) + "." + tail


def figure_data(f: Figure) -> dict[str, Any]:
    """The figure's JSON: its columns and layers, with the real wire counts."""
    return {
        "title": f.title,
        "index_base": f.index_base,
        "numeric": f.numeric,
        "neurons": sum(c.size for c in f.columns),
        "wires": sum(f.wires(k) for k in range(len(f.layers))),
        "weighted_wires": sum(f.wires(k) for k, w in enumerate(f.layers) if w.kind == DENSE),
        "columns": [
            {
                "name": c.letter,
                "layer": c.layer,
                "size": c.size,
                "shown": list(c.shown),
                "hidden": c.hidden,
                "bias": c.bias,
            }
            for c in f.columns
        ],
        "layers": [
            {
                "name": w.name,
                "index": w.index,
                "kind": w.kind,
                "wires": f.wires(k),
                "drawn": f.drawn(k),
                "weights": None
                if w.weights is None
                else [list(r) if r else None for r in w.weights],
                "bias": None if after.bias_values is None else list(after.bias_values),
            }
            for k, (w, after) in enumerate(zip(f.layers, f.columns[1:], strict=True))
        ],
    }
