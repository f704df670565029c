"""What each command says, as a :class:`~linexplain.document.Doc`: shape, expand, run, grad,
explain and draw. The words live here; the numbers come from the network, the maths from the
equations, and the writers in ``linexplain.output`` decide how it all looks.

Vocabulary, one name per thing on every screen: W = layer.weight (out × in; PyTorch's docs call
it A), b = layer.bias; X is one sample as a column (the post's matrix form), x the input with one
sample per row (PyTorch's), y = x Wᵀ + b its output, G = ∂L/∂y. "The post" is the blog post
linexplain grew from; "seed" is only ever the random seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .counts import product_as_written
from .document import (
    DENSE,
    Code,
    Doc,
    Eq,
    Figure,
    Lines,
    Math,
    Notes,
    Rendered,
    Section,
    Sym,
    Table,
    Tensor,
)
from .document import Text as Prose
from .document import text as t
from .errors import LinexplainError
from .figure import figure, figure_data
from .grammar import Shape, format_shape
from .layers import Linear, ShapeReport, explain_shape
from .network import Network
from .pieces import (
    LOSS_WORDS,
    block_math,
    check_table,
    compact_math,
    every,
    figure_section,
    form_math,
    matrix_math,
    pytorch_math,
    resizable,
    scalar_math,
    seed_words,
)
from .readable import count, counted, nbytes
from .request import Request
from .view import View

if TYPE_CHECKING:
    from .equations import Block, Expansion, GradForms, NumericExpansion
    from .session import Forward, Gradients


def _bias(words: str, bias: bool) -> str:
    """``words`` as written for a layer with a bias, its "+ b" dropped for one without."""
    return words if bias else words.replace(" + b", "").replace(" + B", "")


def _rows(leading: Shape) -> str:
    """How many sample rows the leading dims make: ``N·C``, ``30``, ``1``."""
    return product_as_written(leading).replace("*", "·") if leading else "1"


# --- shape -----------------------------------------------------------------------------------


def shape_doc(r: ShapeReport) -> Doc:
    """``linexplain shape``: the rule, each dim's reading, counts, memory, other tools."""
    from .tools import other_tools

    ins, outs = format_shape(r.input_shape), format_shape(r.output_shape)
    rows = _rows(r.leading)
    reading = Table(header=("dim", "size", "what it counts"))
    for index, (d, role) in reversed(list(enumerate(r.reading))):
        reading.rows.append((str(index), str(d), role))
    notes = []
    for name, size in r.bindings.items():
        source = "in_features, since it is the last dim" if name == r.bound_by_in else "--dims"
        notes.append(t(f"{name} = {size} (from {source})"))
    if r.in_features_inferred:
        notes.append(
            t(f"in_features = {r.in_features}, read from the last dim (as nn.LazyLinear does)")
        )

    steps = Table()
    plus_b = f" + b{format_shape(r.bias_shape)}" if r.bias_shape else ""
    if len(r.input_shape) == 1:
        steps.rows.append(
            ("1.", f"a 1-D input is one sample: {ins} is used as one row (1 × {r.in_features})")
        )
    elif len(r.input_shape) > 2:
        steps.rows.append(
            (
                "1.",
                f"flatten the leading dims: {ins} → ({rows}, {r.in_features}), one row per sample",
            )
        )
    steps.rows.append(
        (
            f"{len(steps.rows) + 1}.",
            f"({rows} × {r.in_features}) · Wᵀ({r.in_features} × {r.out_features}){plus_b} "
            f"→ ({rows} × {r.out_features})",
        )
    )
    if len(r.input_shape) != 2:
        steps.rows.append(
            (f"{len(steps.rows) + 1}.", f"reshape back: ({rows}, {r.out_features}) → {outs}")
        )

    noun = "row" if rows == "1" else "rows"
    counts = Table(header=("what", "shape", "count", "how"))
    counts.rows += [
        ("weight", format_shape(r.weight_shape), count(r.in_features * r.out_features), "out × in"),
        (
            "bias",
            format_shape(r.bias_shape) if r.bias_shape else "none",
            count(r.out_features if r.bias else 0),
            "",
        ),
        ("params", "", count(r.params), "weight + bias" if r.bias else "weight only"),
        ("MACs", "", count(r.macs), f"{rows} {noun} × {r.in_features} in × {r.out_features} out"),
        (
            "bias adds",
            "",
            count(r.bias_adds),
            f"{rows} {noun} × {r.out_features} out" if r.bias else "no bias",
        ),
        ("FLOPs", "", count(r.flops), "2·MACs + bias adds" if r.bias else "2·MACs"),
    ]
    memory = r.memory()
    mem = Table(
        [
            ("params", nbytes(memory["params_bytes"])),
            ("input", nbytes(memory["input_bytes"])),
            ("output", nbytes(memory["output_bytes"])),
        ]
    )
    tools = other_tools((*r.leading, r.in_features), r.in_features, r.out_features, r.bias)
    other = Table([(tool.tool, count(tool.value), tool.how) for tool in tools])
    data = r.as_dict()
    data["other_tools"] = {tool.key: tool.value.value() for tool in tools}
    return Doc(
        t(f"nn.Linear(in_features={r.in_features}, out_features={r.out_features}, bias={r.bias})"),
        t(
            f"{ins} → {outs}: only the last dim changes, in_features {r.in_features} → "
            f"out_features {r.out_features}"
        ),
        [
            Section(
                t("Reading each dim (from the right)"),
                [reading, *([Notes(notes)] if notes else [])],
            ),
            Section(
                t(_bias("How torch computes it (y = x·Wᵀ + b, W = layer.weight)", r.bias)), [steps]
            ),
            Section(t("Counts"), [counts]),
            Section(t(f"Memory ({r.dtype}, {r.itemsize} bytes per number)"), [mem]),
            Section(t("Other tools count differently"), [other]),
        ],
        data,
    )


# --- expand ----------------------------------------------------------------------------------

NUMBERS_TITLE = "The scalar form with numbers (x: the torch.randn(in_features) after the init)"


def _index_note(view: View) -> Prose:
    """How w_ij maps to layer.weight."""
    if view.index_base == 0:
        return t("indices are 0-based: w_ij is layer.weight[i, j]")
    return t("indices are 1-based (math style): w_ij is layer.weight[i-1, j-1]")


def _shape_words(input_shape: Shape | None, in_: int, out: int) -> list[Prose]:
    """Why Wᵀ: the batched shapes, written for the input shape (or ``batch``)."""
    leading: tuple[Any, ...] = ("*",) if input_shape is None else tuple(input_shape[:-1])
    if input_shape is None:
        rows = "batch"
    elif all(isinstance(d, int) for d in leading):
        rows = str(math.prod(leading))
    else:
        rows = "⋅".join(map(str, leading))

    def dims(last: int) -> str:
        inner = ", ".join([*map(str, leading), str(last)])
        return f"({inner},)" if not leading else f"({inner})"

    return [
        t("Why Wᵀ: x holds one sample per row, so x⋅Wᵀ is (rows × in)⋅(in × out) = (rows × out):"),
        t(f"  ({rows} × {in_})⋅({in_} × {out}) = ({rows} × {out})"),
        t(f"  x {dims(in_)} → y {dims(out)}: only the last dim changes"),
    ]


def expand_sections(
    e: Expansion, form: str = "all", input_shape: Shape | None = None
) -> list[Section]:
    """The forms ``form`` asks for, each a section of maths and words."""
    n, view, bias = e.notation, e.view, e.bias
    sections = []
    if form in ("all", "scalar"):
        sections.append(
            Section(
                t("Scalar form (the post's equation (1)): w_ij joins input j to output i"),
                [form_math(e, scalar_math)],
            )
        )
        sections.append(Section(t("Compact form"), [compact_math(e)]))
    if form in ("all", "matrix"):
        sections.append(
            Section(
                t(_bias("Matrix form, column vectors (equation (2)): Z = W X + B", bias)),
                [form_math(e, matrix_math)],
            )
        )
    if form in ("all", "pytorch"):
        W = next(s for s in n.parts if str(s) == "W" and n.parts[s].layered)
        lines = [
            t(
                f"W = layer.weight is out × in = {e.out_features} × {e.in_features}: the matrix ",
                Sym(W, n),
                " above" if form == "all" else " of the matrix form",
                _bias("; Wᵀ is in × out (PyTorch's docs write y = x Aᵀ + b, A = W)", bias),
            ),
            t(
                f"b = layer.bias has shape ({e.out_features},)"
                if bias
                else "no bias: b is left out"
            ),
            *_shape_words(input_shape, e.in_features, e.out_features),
        ]
        sections.append(
            Section(
                t(_bias("PyTorch form, row vectors: y = x Wᵀ + b, W = layer.weight", bias)),
                [form_math(e, pytorch_math), Lines(lines)],
            )
        )
    sections[-1].blocks.append(Notes([_index_note(view)]))
    return sections


def expansion_data(e: Expansion, numbers: NumericExpansion | None = None) -> dict[str, Any]:
    """``expand --json``: each row's ``lhs`` and ``rhs`` as sympy's ``str()`` (``rhs`` is
    ``b_1 + Sum(w_1_j*x_j, (j, 1, n))`` when the row's terms are elided), and the forms written."""
    n = e.notation
    data: dict[str, Any] = {
        "in_features": e.in_features,
        "out_features": e.out_features,
        "bias": e.bias,
        "layer": e.view.layer,
        "index_base": e.view.index_base,
        "elided": e.elided,
        "scalar": [
            {
                "lhs": str(r.lhs),
                "rhs": str(r.rhs),
                "latex": Rendered(Eq(r.lhs, r.shown), ("latex",), n),
            }
            for r in e.scalar.rows
        ],
        "compact": Rendered(compact_math(e)),
        "matrix": Rendered(matrix_math(e)),
        "pytorch": Rendered(pytorch_math(e)),
    }
    if numbers is not None:
        data["numbers"] = numbers_data(numbers, e.view.precision)
    return data


def numbers_data(numbers: NumericExpansion, precision: int) -> dict[str, Any]:
    """JSON: each shown row's value and the numbers of its symbols (by their str names)."""
    n = numbers.notation
    return {
        "elided": numbers.elided,
        "rows": [
            {
                "lhs": str(r.lhs),
                "value": r.value,
                "values": {str(s): v for s, v in r.values.items()},
                "text": Rendered(Eq(r.lhs, r.shown, r.values, r.value), ("text",), n, precision),
                "latex": Rendered(Eq(r.lhs, r.shown, r.values, r.value), ("latex",), n, precision),
            }
            for r in numbers.rows
        ],
    }


def expand_doc(
    e: Expansion,
    form: str = "all",
    input_shape: Shape | None = None,
    sample: Forward | None = None,
) -> Doc:
    """``linexplain expand``: the forms, and with ``sample`` (one sample through the layer) the
    scalar form with its numbers."""
    layer = f", layer {e.view.layer}" if e.view.layer is not None else ""
    sections = expand_sections(e, form, input_shape)
    numbers = None if sample is None else steps(sample, e.view)
    if sample is not None and numbers is not None:
        sections.append(Section(t(NUMBERS_TITLE), [numbers_math(sample, e.view, numbers)]))
    return Doc(
        t(f"nn.Linear(in_features={e.in_features}, out_features={e.out_features}, bias={e.bias})"),
        t(f"every output written out{layer}"),
        sections,
        expansion_data(e, numbers),
    )


# --- run -------------------------------------------------------------------------------------


def steps(run: Forward, view: View) -> NumericExpansion | None:
    """Sample 0's outputs written out with their numbers (None when x or y is empty)."""
    if not (run.x.size and run.y.size):
        return None
    from .equations import expand_numbers

    weight, bias = run.layer.weight, run.layer.bias
    return expand_numbers(
        weight,
        bias,
        run.x.reshape(-1, weight.shape[1])[0],
        y=run.y.reshape(-1, weight.shape[0])[0],
        view=view,
    )


def numbers_math(run: Forward, view: View, written: NumericExpansion) -> Math:
    """Sample 0's rows written out with numbers (``written``), able to show fewer terms."""

    def rebuild(smaller: View) -> Math:
        again = steps(run, smaller)
        assert again is not None  # the same run had numbers
        return block_math(again.block, again.notation, smaller.precision, again)

    math = block_math(written.block, written.notation, view.precision, written)
    return resizable(math, view, rebuild)


def run_sections(run: Forward, view: View, written: NumericExpansion | None) -> list[Section]:
    """W, b, x, y as tables, sample 0 written out, and the PyTorch code."""
    layer, x, y, p, keep = run.layer, run.x, run.y, view.precision, view.max_terms
    source = "given" if run.given_input else "torch.randn" + format_shape(x.shape)
    weight_source = "given" if run.given_weight else f"torch.manual_seed({run.seed}) init"
    sections = [
        Section(
            t(f"W = layer.weight {format_shape(layer.weight.shape)}: out × in ({weight_source})"),
            [Tensor(layer.weight, p, keep)],
        )
    ]
    if layer.bias is not None:
        sections.append(Section(t("b = layer.bias (out,)"), [Tensor(layer.bias, p, keep)]))
    sections.append(Section(t(f"x {format_shape(x.shape)}: {source}"), [Tensor(x, p, keep)]))
    sections.append(
        Section(
            t(
                _bias(
                    f"y = x·Wᵀ + b {format_shape(y.shape)}: one row per sample",
                    layer.bias is not None,
                )
            ),
            [Tensor(y, p, keep)],
        )
    )
    if written is not None:
        first = "the first row of y" if y.ndim > 1 else "y"
        base = view.index_base
        where = "i" if base == 0 else "i-1"
        sections.append(
            Section(
                t("Sample 0 written out: the post's equation (1) with numbers"),
                [
                    numbers_math(run, view, written),
                    Notes([t(f"z_i is column {where} of {first} above ({base}-based indices)")]),
                ],
            )
        )
    sections.append(Section(t("The same in PyTorch"), [Code(run.torch_snippet())]))
    return sections


def _run_summary(run: Forward) -> str:
    summary = f"x {format_shape(run.x.shape)} → y {format_shape(run.y.shape)}"
    if run.dims:
        last = run.input_shape[-1]  # a name there is in_features
        sizes = ", ".join(
            f"{name} = {size}" + (" = in_features" if name == last else "")
            for name, size in run.dims.items()
        )
        free = [name for name in run.defaulted if name != last]
        how = f"; set {', '.join(free)} with --dims" if free else ""
        summary += f"   (names: {sizes}{how})"
    return summary


def run_data(run: Forward, view: View, written: NumericExpansion | None) -> dict[str, Any]:
    """``run --json``."""
    data = run.as_dict() | {"index_base": view.index_base}
    if written is not None:
        data["steps"] = numbers_data(written, view.precision)
    return data


def run_doc(run: Forward, view: View, show_steps: bool = False) -> Doc:
    """``linexplain run``: W, b, x, y, optionally one sample written out, and the torch code."""
    layer = run.layer
    written = steps(run, view) if show_steps else None
    return Doc(
        t(
            f"nn.Linear(in_features={layer.in_features}, out_features={layer.out_features}, "
            f"bias={layer.bias is not None})  {seed_words(run)}, {run.dtype}"
        ),
        t(_run_summary(run)),
        run_sections(run, view, written),
        run_data(run, view, written),
        result=run,
    )


# --- grad ------------------------------------------------------------------------------------


def grad_lines(r: ShapeReport) -> list[Prose]:
    """The gradients' shapes walked through, one step a line: G, the folding, each gradient, the
    cost (the backward pass is 2 × the forward's MACs)."""
    from .layers import GradShapes

    gs = GradShapes(r)
    rows = _rows(r.leading)
    in_, out = r.in_features, r.out_features
    fold = (
        f"the leading dims {format_shape(r.input_shape[:-1])} fold into {rows} rows"
        if len(r.input_shape) > 2
        else "one row: a 1-D x is a single sample"
        if len(r.input_shape) == 1
        else f"{rows} rows"
    )
    lines = [
        t(
            f"G = ∂L/∂y has y's shape {format_shape(gs.upstream_shape)}; {fold}: "
            f"x is ({rows} × {in_}), G is ({rows} × {out})"
        ),
        t(
            f"∂L/∂W = Gᵀ⋅x: ({out} × {rows})⋅({rows} × {in_}) = ({out} × {in_}), W's shape "
            f"(layer.weight)   {count(gs.grad_weight_macs)} MACs"
        ),
    ]
    if gs.grad_bias_shape is not None:
        lines.append(
            t(
                f"∂L/∂b = G summed over its {rows} rows: ({out},), b's shape (layer.bias)   "
                f"{count(gs.grad_bias_adds)} adds"
            )
        )
    lines += [
        t(
            f"∂L/∂x = G⋅W: ({rows} × {out})⋅({out} × {in_}) = ({rows} × {in_}), unfolded to x's "
            f"shape {format_shape(gs.grad_input_shape)}   {count(gs.grad_input_macs)} MACs"
        ),
        t(f"backward: {count(gs.backward_macs)} MACs = 2 × the forward's {count(r.macs)} MACs"),
    ]
    return lines


def _written_out(forms: GradForms, pick: Callable[[GradForms], Block | None]) -> Math:
    """One gradient written out, able to be rebuilt with fewer entries shown."""

    def rebuild(view: View) -> Math:
        from .equations import grad_forms

        again = grad_forms(forms.in_features, forms.out_features, forms.samples, forms.bias, view)
        block = pick(again)
        assert block is not None
        return block_math(block, again.notation)

    return resizable(rebuild(forms.view), forms.view, rebuild)


def grad_formula_sections(forms: GradForms) -> list[Section]:
    """The formulas for general indices, then each gradient written out."""
    n, first = forms.notation, forms.view.index_base
    compact = Math(
        [
            Eq(eq.lhs, eq.rhs, where=t("; ".join(every(k, first, forms.sizes[k]) for k in free)))
            for eq, free in forms.compact
        ],
        n,
    )
    sections = [
        Section(t("The formulas (sympy)"), [compact]),
        Section(t("∂L/∂W written out"), [_written_out(forms, lambda f: f.grad_weight)]),
    ]
    if forms.grad_bias is not None:
        sections.append(
            Section(t("∂L/∂b written out"), [_written_out(forms, lambda f: f.grad_bias)])
        )
    sections.append(Section(t("∂L/∂x written out"), [_written_out(forms, lambda f: f.grad_input)]))
    return sections


def grad_doc(
    grads: Gradients,
    report: ShapeReport,
    forms: GradForms | None,
    check_error: float | None,
    view: View,
) -> Doc:
    """``linexplain grad``: shapes and costs, formulas, numbers, the check, the torch code."""
    run, layer, p, keep = grads.run, grads.run.layer, view.precision, view.max_terms
    loss = LOSS_WORDS[grads.source]
    if run.dims:
        loss += "; names: " + ", ".join(f"{k} = {v}" for k, v in run.dims.items())
    sections = [Section(t("Shapes and cost"), [Lines(grad_lines(report))])]
    if forms is not None:
        sections += grad_formula_sections(forms)
    sections.append(
        Section(
            t(f"G = ∂L/∂y {format_shape(grads.upstream.shape)}"), [Tensor(grads.upstream, p, keep)]
        )
    )
    sections.append(
        Section(
            t(f"∂L/∂W = layer.weight.grad {format_shape(grads.grad_weight.shape)}"),
            [Tensor(grads.grad_weight, p, keep)],
        )
    )
    if grads.grad_bias is not None:
        sections.append(
            Section(
                t(f"∂L/∂b = layer.bias.grad {format_shape(grads.grad_bias.shape)}"),
                [Tensor(grads.grad_bias, p, keep)],
            )
        )
    sections.append(
        Section(
            t(f"∂L/∂x = x.grad {format_shape(grads.grad_input.shape)}"),
            [Tensor(grads.grad_input, p, keep)],
        )
    )
    if check_error is not None:
        sections.append(Section(t("Finite-difference check"), [check_table(check_error)]))
    sections.append(Section(t("The same in PyTorch"), [Code(grads.torch_snippet())]))
    from .layers import GradShapes

    data = grads.as_dict() | {"index_base": view.index_base, "shapes": GradShapes(report).as_dict()}
    if forms is not None:
        data["formulas"] = {
            key: Rendered(section.blocks[0])  # type: ignore[arg-type]
            for key, section in zip(
                [
                    "compact",
                    "grad_weight",
                    *(["grad_bias"] if forms.grad_bias else []),
                    "grad_input",
                ],
                grad_formula_sections(forms),
                strict=True,
            )
        }
    if check_error is not None:
        data["check_max_error"] = check_error
        data["check_judged"] = not math.isinf(check_error)  # inf: the step is lost in rounding
    return Doc(
        t(
            f"Gradients of nn.Linear(in_features={layer.in_features}, "
            f"out_features={layer.out_features}, bias={layer.bias is not None})  "
            f"{seed_words(run, grads.source == 'seed')}, {run.dtype}"
        ),
        t(loss),
        sections,
        data,
        result=grads,
    )


# --- explain ---------------------------------------------------------------------------------


def explain_doc(
    report: ShapeReport, expansion: Expansion, run: Forward, view: View, drawn: Figure
) -> Doc:
    """The whole post in one document: the layer, the shape walk, the figure, the equations,
    real numbers."""
    r = report
    bias = f" + bias {format_shape(r.bias_shape)}" if r.bias_shape else ""
    shape = shape_doc(report)
    written = steps(run, view)

    def part(number: int, words: Prose) -> Section:
        return Section(t(f"━━ {number}. ", *words, " ━━"), part=True)

    summary = _run_summary(run)
    return Doc(
        t(
            f"nn.Linear(in_features={r.in_features}, out_features={r.out_features}, "
            f"bias={r.bias}): weight {format_shape(r.weight_shape)}{bias} = {r.params:,} parameters"
        ),
        (),
        [
            part(1, t("The shape walk: ", *shape.summary)),
            *shape.sections,
            part(2, t("What every output is made of (written out by sympy)")),
            figure_section(drawn),
            *expand_sections(expansion, "all", r.input_shape),
            part(3, t(f"Real numbers: {seed_words(run)}, {summary}")),
            *run_sections(run, view, written),
        ],
        {
            "shape": shape.data,
            "figure": figure_data(drawn),
            "expand": expansion_data(expansion),
            "run": run_data(run, view, written),
        },
    )


# --- draw ------------------------------------------------------------------------------------


def draw_doc(drawn: Figure, source: str) -> Doc:
    """The figure alone; ``source`` says where its weights came from (empty: none shown)."""
    dense = [k for k, w in enumerate(drawn.layers) if w.kind == DENSE]
    wires = sum(drawn.wires(k) for k in dense)
    sizes = " → ".join(f"{c.size:,}" for c in drawn.columns)
    summary = f"neurons {sizes}; {counted(wires, 'weighted wire')}"
    summary += f"; {source}" if source else "; no numbers (give --seed or weights for them)"
    return Doc(t(drawn.title), t(summary), [figure_section(drawn)], figure_data(drawn))


# --- the commands: a request in, a document out ---------------------------------------------

POST_IN_FEATURES = 3  # the post's example: a 3 -> 3 layer on an (N, C, 3) input (out too)


def shape(req: Request) -> Doc:
    """What shape comes out and why, with counts and memory."""
    if req.network is not None:
        from . import networks

        steps = req.network.walk(_shape(req), req.dims, req.dtype)
        return networks.shape_doc(req.network, steps, req.dtype)
    layer = Linear(req.in_features, _out(req), req.bias)
    (step,) = Network((layer,)).walk(_shape(req), req.dims, req.dtype)
    assert step.report is not None
    report = step.report
    return shape_doc(report)


def expand(req: Request) -> Doc:
    """Every output written out; with a seed or weights, the scalar form with numbers too."""
    from .session import check_fits_weight, forward

    if req.network is not None:
        from . import networks

        if req.seed is not None or req.state is not None:
            raise LinexplainError(
                "expand --net writes a network's equations, not its numbers",
                "drop --seed/--weight-file, or see every layer's numbers with run --net --steps",
            )
        steps = req.network.walk(_net_shape(req), req.dims, req.dtype)
        return networks.expand_doc(req.network, steps, req.view)
    in_features, out_features, bias, shape_ = (
        req.in_features,
        req.out_features,
        req.bias,
        req.input_shape,
    )
    one_sample = None
    if req.weight is not None:  # the weights give the sizes and whether there is a bias
        if shape_ is not None:
            check_fits_weight(shape_, req.weight.shape)
        one_sample = forward(
            in_features,
            out_features,
            bias=bias,
            seed=req.seed or 0,
            dtype=req.dtype,
            input_shape=(int(req.weight.shape[1]),),
            weight=req.weight,
            bias_values=req.bias_values,
            max_memory=req.max_memory,
        )
        in_features, out_features = one_sample.layer.in_features, one_sample.layer.out_features
        bias = one_sample.layer.bias is not None
    if out_features is None:
        raise LinexplainError("out_features is unknown", "give --out, e.g. --out 2")
    if shape_ and isinstance(shape_[-1], str) and in_features is None:
        raise LinexplainError(
            f"the last dim {shape_[-1]!r} is a name, so in_features is unknown",
            f"give --in (in_features), which is the size of {shape_[-1]}",
        )
    if shape_ is not None:
        in_features = explain_shape(shape_, in_features, out_features).in_features
    if in_features is None:
        raise LinexplainError("in_features is unknown", "give --in, e.g. --in 3")
    expansion = Linear(in_features, out_features, bias).equations(req.view)
    if req.seed is not None and one_sample is None:  # x = torch.randn(in) after the init
        one_sample = forward(
            in_features,
            out_features,
            bias=bias,
            seed=req.seed,
            dtype=req.dtype,
            input_shape=(in_features,),
            max_memory=req.max_memory,
        )
    doc = expand_doc(expansion, req.form, shape_, one_sample)
    if req.weight is not None:  # where the weights came from (--key)
        _add_notes(doc, req)
    return doc


def _forward(req: Request, for_backward: bool = False) -> Forward:
    from .session import forward

    return forward(
        req.in_features,
        req.out_features,
        bias=req.bias,
        seed=req.seed or 0,
        dtype=req.dtype,
        input_shape=req.input_shape,
        dims=req.dims,
        x=req.x,
        weight=req.weight,
        bias_values=req.bias_values,
        max_memory=req.max_memory,
        for_backward=for_backward,
    )


def run(req: Request) -> Doc:
    """The real numbers: PyTorch's own weights for the seed, run on the input."""
    if req.network is not None:
        from . import networks

        doc = networks.run_doc(_trace(req), req.view, req.steps)
        _add_notes(doc, req)
        return doc
    doc = run_doc(_forward(req), req.view, req.steps)
    _add_notes(doc, req)
    return doc


def grad(req: Request) -> Doc:
    """The backward pass: gradients' shapes, formulas and numbers, optionally checked."""
    from .session import backward, finite_difference_check

    if req.network is not None:
        from . import networks
        from .session import backward_network, finite_difference_network

        net_grads = backward_network(_trace(req, for_backward=True), req.upstream)
        net_error = finite_difference_network(net_grads) if req.check else None
        doc = networks.grad_doc(net_grads, req.view, net_error)
        _add_notes(doc, req)
        return doc
    result = _forward(req, for_backward=True)
    grads = backward(result, req.upstream)
    layer = Linear(
        result.layer.in_features, result.layer.out_features, result.layer.bias is not None
    )
    (step,) = Network((layer,)).walk(result.input_shape, dict(result.dims), result.dtype)
    assert step.report is not None
    report = step.report
    rows = math.prod(result.x.shape[:-1])
    sizes = rows and layer.in_features and layer.out_features
    forms = layer.grad_equations(rows, req.view) if sizes else None
    error = finite_difference_check(grads) if req.check else None
    doc = grad_doc(grads, report, forms, error, req.view)
    _add_notes(doc, req)
    return doc


def explain(req: Request) -> Doc:
    """The whole post for one layer: shapes, equations and real numbers (the post's 3 -> 3
    layer on an (N, C, 3) input unless told otherwise)."""
    from .session import forward

    if req.network is not None:
        from . import networks

        given = _net_shape(req)
        steps = req.network.walk(given, req.dims, req.dtype)
        trace = _trace(replace(req, input_shape=given))
        return networks.explain_doc(req.network, steps, trace, req.view)
    if req.weight is not None:  # the layer's own weights (--weight-file, --key)
        return _explain_given(req)
    in_features, shape_ = req.in_features, req.input_shape
    if shape_ is None:
        in_features = POST_IN_FEATURES if in_features is None else in_features
        shape_ = ("N", "C", in_features)
    elif (
        in_features is None
        and shape_
        and isinstance(shape_[-1], str)
        and shape_[-1] not in req.dims
    ):
        in_features = POST_IN_FEATURES  # a named last dim with no size: the post's 3
    out = POST_IN_FEATURES if req.out_features is None else req.out_features
    (step,) = Network((Linear(in_features, out, req.bias),)).walk(shape_, req.dims, req.dtype)
    assert step.report is not None
    report = step.report
    layer = Linear(report.in_features, report.out_features, req.bias)
    expansion = layer.equations(req.view)
    drawn = _lone_figure(layer, step, req.view)
    result = forward(
        report.in_features,
        report.out_features,
        bias=req.bias,
        seed=req.seed or 0,
        dtype=req.dtype,
        input_shape=shape_,
        dims=req.dims,
        max_memory=req.max_memory,
    )
    return explain_doc(report, expansion, result, req.view, drawn)


def _explain_given(req: Request) -> Doc:
    """The whole post for a layer with given weights, on (N, C, in_features) unless told."""
    from .session import check_fits_weight, forward

    shape = getattr(req.weight, "shape", None)
    if not (isinstance(shape, tuple) and len(shape) == 2):
        raise LinexplainError(
            "the weight must be a 2-D array (out_features, in_features)",
            "give a 2-D weight, e.g. [[1, 2, 3], [4, 5, 6]] for 3 inputs and 2 outputs",
        )
    out, in_features = (int(d) for d in shape)
    shape_ = req.input_shape if req.input_shape is not None else ("N", "C", in_features)
    check_fits_weight(shape_, req.weight.shape, req.dims)
    bias = req.bias_values is not None
    result = forward(
        req.in_features, req.out_features, bias=bias, seed=req.seed or 0, dtype=req.dtype,
        input_shape=shape_, dims=req.dims, weight=req.weight, bias_values=req.bias_values,
        max_memory=req.max_memory,
    )  # fmt: skip
    (step,) = Network((Linear(in_features, out, bias),)).walk(shape_, req.dims, req.dtype)
    assert step.report is not None
    layer = Linear(in_features, out, bias)
    doc = explain_doc(
        step.report,
        layer.equations(req.view),
        result,
        req.view,
        _lone_figure(layer, step, req.view),
    )
    _add_notes(doc, req)
    return doc


def draw(req: Request) -> Doc:
    """The post's figure: every input wired to every output, with real weights when a seed or
    weights are given (the post's 3 -> 3 layer unless told otherwise)."""
    if req.network is not None:
        network = req.network
        steps = network.walk(_net_shape(req), req.dims, req.dtype)
        params, source = None, ""
        if req.seed is not None or req.state is not None:
            sample = replace(req, input_shape=_sample(steps[0].input_shape), dims={})
            trace = _trace(sample, reported=False)
            params, source = trace.params, _weights_words(req)
        doc = draw_doc(figure(network, steps, req.view, params), source)
        _add_notes(doc, req)
        return doc
    one, params, source = None, None, ""
    if req.weight is not None:  # checked as run checks it; the weights give the sizes
        from .session import forward

        rows = None if req.input_shape is None else _sample(req.input_shape)
        one = forward(
            req.in_features, req.out_features, bias=req.bias, seed=req.seed or 0,
            dtype=req.dtype, input_shape=rows, weight=req.weight, bias_values=req.bias_values,
            max_memory=req.max_memory, reported=False,
        )  # fmt: skip
    in_features, out = req.in_features, req.out_features
    if one is not None:
        in_features, out = one.layer.in_features, one.layer.out_features
    elif req.input_shape is not None and in_features is None:
        in_features = explain_shape(req.input_shape, None, out or 1, dims=req.dims).in_features
    in_features = POST_IN_FEATURES if in_features is None else in_features
    out = POST_IN_FEATURES if out is None else out
    bias = req.bias if one is None else one.layer.bias is not None
    layer = Linear(in_features, out, bias)
    shape = req.input_shape if req.input_shape is not None else ("N", in_features)
    (step,) = Network((layer,)).walk(shape, req.dims, req.dtype)
    if one is None and req.seed is not None:
        from .session import forward

        one = forward(
            in_features, out, bias=bias, seed=req.seed, dtype=req.dtype,
            input_shape=(in_features,), max_memory=req.max_memory, reported=False,
        )  # fmt: skip
    if one is not None:
        params, source = [(one.layer.weight, one.layer.bias)], _weights_words(req)
    doc = draw_doc(figure(Network((layer,)), (step,), req.view, params), source)
    _add_notes(doc, req)
    return doc


def _weights_words(req: Request) -> str:
    """Where the figure's weights come from."""
    if req.weight is not None or req.state is not None:
        return "the given weights"
    return f"the weights of torch.manual_seed({req.seed})"


def _lone_figure(layer: Linear, step: Any, view: View) -> Figure:
    """A lone Linear's figure, symbols on its wires."""
    return figure(Network((layer,)), (step,), view)


def _sample(shape: Shape) -> Shape:
    """One sample of an input of ``shape``: its leading dims 1 (the figure's numbers need only
    the weights)."""
    return (*(1 for _ in shape[:-1]), shape[-1]) if shape else shape


def model(req: Request) -> Doc:
    """Every Linear-like weight of a checkpoint, from its header only: kinds, sizes, costs."""
    from .models import model_doc

    if req.model is None:
        raise LinexplainError(
            "no checkpoint was given", "give one, e.g. linexplain model model.safetensors"
        )
    return model_doc(req.model, req.input_shape, req.dims)


def _trace(req: Request, for_backward: bool = False, reported: bool = True) -> Any:
    """A network's forward pass, as the request describes it (``reported``: as
    :func:`~linexplain.session.run_network`)."""
    from .session import run_network

    assert req.network is not None
    return run_network(
        req.network, seed=req.seed or 0, dtype=req.dtype, input_shape=req.input_shape,
        dims=req.dims, x=req.x, state=req.state, max_memory=req.max_memory,
        for_backward=for_backward, reported=reported,
    )  # fmt: skip


def _net_shape(req: Request) -> Shape:
    """The input shape of a network: as given, or N rows of the first Linear's inputs."""
    if req.input_shape is not None:
        return req.input_shape
    assert req.network is not None
    first = req.network.layers[0] if req.network.layers else None
    if isinstance(first, Linear) and first.in_features is not None:
        return ("N", first.in_features)
    raise LinexplainError(
        "the input shape is unknown", "give --input-shape, e.g. -s N,3,4 for a flatten first"
    )


def _out(req: Request) -> int:
    if req.out_features is None:
        raise LinexplainError("out_features is unknown", "give --out (out_features)")
    return req.out_features


def _shape(req: Request) -> Shape:
    if req.input_shape is None:
        raise LinexplainError("the input shape is unknown", "give --input-shape, e.g. -s N,3")
    return req.input_shape


def _add_notes(doc: Doc, req: Request) -> None:
    """Say what reading the input files did (e.g. a CSV header line skipped)."""
    if req.notes:
        doc.sections.insert(0, Section(t("Input files"), [Notes([t(n) for n in req.notes])]))
        doc.data["notes"] = list(req.notes)


__all__ = [
    "LOSS_WORDS",
    "draw",
    "draw_doc",
    "expand",
    "expand_doc",
    "explain",
    "explain_doc",
    "grad",
    "grad_doc",
    "run",
    "run_doc",
    "shape",
    "shape_doc",
]
