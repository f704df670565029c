"""What ``linexplain model`` says: a checkpoint's Linear layers, their kinds and costs.

The layers come from :mod:`linexplain.model` (header only); counts are exact
(:class:`~linexplain.counts.Product`), for an input whose leading dims are ``-s`` without its
last (named dims kept, or sized by ``--dims``). No numpy, no sympy.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .counts import Product
from .document import Doc, Notes, Section, Table
from .document import Text as Prose
from .document import text as t
from .errors import LinexplainError
from .grammar import Shape, format_shape
from .model import LinearLayer, Model, ModelQuery, Tensor
from .readable import count, nbytes

SOURCE_WORDS = {
    "option": "named by --conv1d/--linear",
    "bias": "the bias length tells",
    "config": "config.json's model_type",
    "metadata": "__metadata__'s model_type",
    "file": "the file's other layers",
    "name": "the name alone",
    "text": "PyTorch's text",
    "default": "nothing tells: nn.Linear assumed",
    "tied": "tied weight",
}
CONV1D_NOTE = (
    "conv1d: transformers' Conv1D stores its weight in × out and computes y = x·W + b; the "
    "equivalent nn.Linear's layer.weight is its transpose, out × in (nanoGPT transposes these "
    "when it loads GPT-2's weights)"
)


def _rows_of(input_shape: Shape | None, dims: dict[str, int]) -> tuple[Shape, Shape]:
    """The leading dims as given (``N`` without -s) and with --dims' sizes put in."""
    leading: Shape = ("N",) if input_shape is None else tuple(input_shape[:-1])
    unused = [name for name in dims if name not in leading]
    if unused:
        shown = format_shape(leading) if leading else "()"
        raise LinexplainError(
            f"--dims names {', '.join(unused)}, which the leading dims {shown} do not have",
            "give sizes only for names in --input-shape's leading dims (all but the last)",
        )
    return leading, tuple(dims.get(d, d) if isinstance(d, str) else d for d in leading)


def _group(name: str) -> str:
    """A name with its layer numbers starred: ``h.*.ln_1.weight``."""
    return re.sub(r"(?<=\.)\d+(?=\.)|^\d+(?=\.)", "*", name)


def _grouped(tensors: tuple[Tensor, ...], with_why: bool = False) -> Table:
    """Tensors of one role, those differing only in their layer numbers on one row."""
    groups: dict[tuple[str, tuple[int, ...], str], list[Tensor]] = {}
    for tensor in tensors:
        groups.setdefault((_group(tensor.name), tensor.shape, tensor.dtype), []).append(tensor)
    header = ("name", "shape", "dtype", "count", "numbers", "bytes")
    table = Table(header=(*header, "what") if with_why else header)
    for (pattern, shape, dtype), members in groups.items():
        name = members[0].name if len(members) == 1 else pattern
        numel = sum(m.numel for m in members)
        size = sum(m.nbytes for m in members)
        row = (name, format_shape(shape), dtype, f"{len(members)}", _count_int(numel),
               _short_bytes(size))  # fmt: skip
        table.rows.append((*row, members[0].why) if with_why else row)
    return table


def _dims_words(dims: Shape) -> str:
    """``N``, ``(B, T)``, or ``()`` (one row)."""
    if len(dims) == 1:
        return str(dims[0])
    return "(" + ", ".join(str(d) for d in dims) + ")"


def _layer_row(layer: LinearLayer, rows: Product) -> tuple[str, ...]:
    macs, _, flops = _costs(layer, rows)
    return (
        layer.name,
        layer.kind,
        format_shape(layer.stored) if layer.in_file else "(not in file)",
        f"{layer.in_features} → {layer.out_features}",
        "yes" if layer.bias else "no",
        _count_int(layer.params),
        _count(macs),
        _count(flops),
        _short_bytes(layer.nbytes) if layer.in_file else "0 (tied)",
        layer.how,
    )


@lru_cache(maxsize=4096)
def _short_bytes(n: int) -> str:
    """``3.19 KiB``: a table's bytes without the exact count (the JSON has it)."""
    return nbytes(Product(n)).split(" (")[0]


@lru_cache(maxsize=4096)
def _times(rows: Product, k: int) -> Product:
    """``rows · k``, made once per distinct value (a model repeats its layers' sizes)."""
    return rows * k


@lru_cache(maxsize=4096)
def _count(value: Product) -> str:
    return count(value)


@lru_cache(maxsize=4096)
def _count_int(value: int) -> str:
    return count(value)


def _costs(layer: LinearLayer, rows: Product) -> tuple[Product, Product, Product]:
    """MACs, bias adds and FLOPs (2·MACs + bias adds) of one layer on ``rows`` rows."""
    weights, adds = layer.in_features * layer.out_features, layer.out_features * layer.bias
    return _times(rows, weights), _times(rows, adds), _times(rows, 2 * weights + adds)


def linear_params(layers: tuple[LinearLayer, ...]) -> int:
    """The layers' parameters, a weight tied to another of them counted once."""
    weights = {layer.weight_name for layer in layers}
    return sum(
        layer.params - (layer.in_features * layer.out_features if layer.tied_to in weights else 0)
        for layer in layers
    )


def layer_data(layer: LinearLayer, rows: Product) -> dict[str, Any]:
    macs, bias_adds, flops = _costs(layer, rows)
    return {
        "name": layer.name,
        "kind": layer.kind,
        "in_features": layer.in_features,
        "out_features": layer.out_features,
        "bias": layer.bias,
        "params": layer.params,
        "macs": macs.value(),
        "dtype": layer.dtype,
        "bias_adds": bias_adds.value(),
        "flops": flops.value(),
        "bytes": layer.nbytes,
        "stored_shape": list(layer.stored),
        "weight": layer.weight_name,
        "kind_source": layer.source,
        "kind_reason": layer.why,
        "tied_to": layer.tied_to,
        "in_file": layer.in_file,
    }


def _tensor_data(tensor: Tensor) -> dict[str, Any]:
    return {
        "name": tensor.name,
        "shape": list(tensor.shape),
        "dtype": tensor.dtype,
        "numel": tensor.numel,
        "bytes": tensor.nbytes,
        "why": tensor.why,
        "tied_to": tensor.tied_to,
        "in_file": tensor.in_file,
    }


def model_doc(query: ModelQuery, input_shape: Shape | None, dims: dict[str, int]) -> Doc:
    """``linexplain model``: one row per Linear-like weight, totals, and the other tensors."""
    model = query.model()
    picked = query.picked(model)
    leading, bound = _rows_of(input_shape, dims)
    rows = Product.of(bound)
    checkpoint = model.checkpoint
    conv = sum(layer.kind == "conv1d" for layer in picked)
    table = Table(
        header=("name", "kind", "stored", "in → out", "bias", "params", "MACs", "FLOPs",
                "bytes", "how"),
    )  # fmt: skip
    table.rows += [_layer_row(layer, rows) for layer in picked]
    notes = _layer_notes(model, picked)
    weights = sum(layer.in_features * layer.out_features for layer in picked)
    adds = sum(layer.out_features for layer in picked if layer.bias)
    macs, bias_adds, flops = rows * weights, rows * adds, rows * (2 * weights + adds)
    params = linear_params(picked)
    layer_bytes = sum(layer.nbytes for layer in picked)
    data_bytes = sum(t.nbytes for t in checkpoint.tensors)
    rows_words = _dims_words(leading)
    if bound != leading:
        rows_words += " = " + _dims_words(bound)
    totals = Table(
        [
            ("Linear layers", f"{len(picked)}", f"{conv} conv1d, {len(picked) - conv} linear"),
            ("params", count(params), "their weights and biases (a tied weight once)"),
            ("MACs", count(macs), f"rows × in × out, summed; rows: the leading dims {rows_words}"),
            ("bias adds", count(bias_adds), "rows × out, for the layers with a bias"),
            ("FLOPs", count(flops), "2·MACs + bias adds"),
            ("bytes", nbytes(Product(layer_bytes)), "their weights and biases in the file"),
            (
                "model parameters",
                count(model.model_params),
                "every parameter once: Linear layers, embeddings, norms, others; no buffers",
            ),
            (
                "file",
                f"{len(checkpoint.tensors)} tensors",
                f"{nbytes(Product(data_bytes))} of data; only the header was read",
            ),
        ]
    )
    sections = [
        Section(
            t("Linear layers (nn.Linear stores its weight out × in; Conv1D in × out)"),
            [table, *([Notes(notes)] if notes else [])],
        ),
        Section(t("Totals"), [totals]),
    ]
    for role, title in (
        ("embedding", "Embeddings (lookups, not Linear layers)"),
        ("norm", "Norms (1-D weights and their biases)"),
        ("buffer", "Buffers (saved with the weights, not parameters)"),
        ("other", "Other tensors (not Linear layers; counted as parameters)"),
    ):
        tensors = model.role(role)
        if tensors:
            blocks: list[Any] = [_grouped(tensors, with_why=role in ("buffer", "other"))]
            tied = [
                t(f"{x.name}: not in the file; it is {x.tied_to}'s storage")
                for x in tensors
                if not x.in_file
            ]
            if tied:
                blocks.append(Notes(tied))
            sections.append(Section(t(title), blocks))
    if model.notes:
        sections.append(Section(t("Reading the file"), [Notes([t(n) for n in model.notes])]))
    picked_words = f"{len(picked)} of {len(model.layers)}" if query.layers else f"{len(picked)}"
    layers_word = "layer" if len(picked) == 1 else "layers"
    type_words = (
        f", model_type {model.model_type} ({model.model_type_source})" if model.model_type else ""
    )
    data = {
        "file": checkpoint.path,
        "format": checkpoint.format,
        "model_type": model.model_type,
        "model_type_source": model.model_type_source,
        "config": checkpoint.config_path,
        "input_shape": None if input_shape is None else list(input_shape),
        "leading_dims": list(leading),
        "rows": rows.value(),
        "dims": dict(dims),
        "layers": [layer_data(layer, rows) for layer in picked],
        "params": params,
        "macs": macs.value(),
        "bias_adds": bias_adds.value(),
        "flops": flops.value(),
        "bytes": layer_bytes,
        "linear_layers": len(picked),
        "conv1d_layers": conv,
        "model_params": model.model_params,
        "file_bytes": checkpoint.size,
        "data_bytes": data_bytes,
        "tensors": len(checkpoint.tensors),
        "tied": [{"name": x.name, "to": x.to, "source": x.source} for x in model.ties],
        "embeddings": [_tensor_data(x) for x in model.role("embedding")],
        "norms": [_tensor_data(x) for x in model.role("norm")],
        "buffers": [_tensor_data(x) for x in model.role("buffer")],
        "other": [_tensor_data(x) for x in model.role("other")],
        "picked": list(query.layers),
        "notes": list(model.notes),
    }
    return Doc(
        t(
            f"{checkpoint.path}: {picked_words} Linear {layers_word} ({conv} conv1d), "
            f"{count(params)} of the model's {count(model.model_params)} parameters"
        ),
        t(
            f"{checkpoint.format}, header only{type_words}; MACs and FLOPs for an input whose "
            f"leading dims are {rows_words}"
        ),
        sections,
        data,
        result=model,
    )


def _layer_notes(model: Model, picked: tuple[LinearLayer, ...]) -> list[Prose]:
    """How each kind was decided (one example per rule), Conv1D, ties, assumptions."""
    notes: list[Prose] = []
    if any(layer.kind == "conv1d" for layer in picked):
        notes.append(t(CONV1D_NOTE))
    seen: dict[str, LinearLayer] = {}
    for layer in picked:
        seen.setdefault(layer.source, layer)
    for source, layer in seen.items():
        if source == "tied":
            continue
        others = sum(x.source == source for x in picked) - 1
        more = f" (and {others} more)" if others else ""
        notes.append(t(f"how — {SOURCE_WORDS[source]}: {layer.name}{more}: {layer.why}"))
    for layer in picked:
        if layer.tied_to is not None:
            where = "not in the file; its weight and" if not layer.in_file else "its weight and"
            tie = next((x for x in model.ties if layer.weight_name in (x.name, x.to)), None)
            said = f" ({tie.source})" if tie else ""
            notes.append(
                t(
                    f"{layer.name}: {where} {layer.tied_to} are one tensor{said}: its "
                    f"{count(layer.in_features * layer.out_features)} weights are counted once "
                    "in the model's parameters"
                )
            )
    if model.checkpoint.format == "text":
        notes.append(t("PyTorch's text has no dtype: bytes are float32's (torch's default)"))
    return notes
