"""Output: plain text when piped (or ``NO_COLOR``), styled text on a terminal, and JSON.

A command's explanation is a title plus :class:`Section` tables; the same aligned lines are
written plain or, on a terminal, with rich styles, so both outputs always say the same thing.
rich is imported only when a terminal asks for it.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from .elide import shown_indices
from .grammar import format_shape
from .shapes import Product, ShapeReport, product_as_written
from .terminal import use_rich

if TYPE_CHECKING:
    import numpy as np

    from .grad import GradReport
    from .session import Forward
    from .symbolic import Expansion, Form, NumericExpansion


@dataclass
class Section:
    """One titled table of an explanation, with optional notes under it."""

    title: str
    rows: list[tuple[str, ...]] = field(default_factory=list)
    header: tuple[str, ...] | None = None
    notes: list[str] = field(default_factory=list)
    body: str = ""  # preformatted lines (equations, matrices), shown as they are
    numeric: bool = False  # right-align every column but the first


@dataclass
class Explanation:
    """What a command prints: a title line, a summary line, then sections."""

    title: str
    summary: str = ""
    sections: list[Section] = field(default_factory=list)


def emit(explanation: Explanation, stream: TextIO | None = None) -> None:
    """Write an explanation: rich on a terminal, plain text otherwise."""
    stream = stream or sys.stdout
    if use_rich(stream):
        _emit_rich(explanation, stream)
    else:
        stream.write(plain(explanation))


def emit_json(data: Any, stream: TextIO | None = None) -> None:
    """Write ``data`` as indented JSON, keys in contract order.

    JSON has no inf or nan: such floats (an overflowing output) are written as the strings
    "inf", "-inf" and "nan", which ``float()`` reads back.
    """
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(data), indent=2, ensure_ascii=False, allow_nan=False)
    (stream or sys.stdout).write(text + "\n")


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its name ("inf", "-inf", "nan")."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _styled_lines(explanation: Explanation) -> list[tuple[str, str]]:
    """The explanation as aligned lines, each with a rich style name for terminals."""
    lines = [(explanation.title, "bold")]
    if explanation.summary:
        lines.append((explanation.summary, "cyan"))
    for section in explanation.sections:
        lines += [("", ""), (section.title, "bold underline")]
        table = ([section.header] if section.header else []) + section.rows
        widths = [
            max(len(row[i]) for row in table if i < len(row))
            for i in range(max((len(row) for row in table), default=0))
        ]
        for number, row in enumerate(table):
            cells = [
                cell.rjust(widths[i]) if section.numeric and i else cell.ljust(widths[i])
                for i, cell in enumerate(row)
            ]
            style = "dim" if section.header and number == 0 else ""
            lines.append((("  " + "  ".join(cells)).rstrip(), style))
        lines += [(f"  {line}".rstrip(), "") for line in section.body.splitlines()]
        lines += [(f"  {note}", "italic") for note in section.notes]
    return lines


def plain(explanation: Explanation) -> str:
    """The explanation as plain, aligned text with no escape codes."""
    return "".join(text + "\n" for text, _ in _styled_lines(explanation))


def _emit_rich(explanation: Explanation, stream: TextIO) -> None:
    from rich.console import Console
    from rich.text import Text

    text = Text()
    for line, style in _styled_lines(explanation):
        text.append(line + "\n", style=style or None)
    Console(file=stream, highlight=False, soft_wrap=True).print(text, end="")


def _approx(n: int, unit: int = 1) -> str:
    """``n / unit`` to 3 significant digits, exact for any size (no float overflow)."""
    if n // unit < 1000:
        text = f"{n / unit:.3g}"  # small enough for a float
        if "e" not in text:  # from 999.5 on it rounds to 1e+03, written 1.00e3 below
            return text
    exponent = len(str(n // unit)) - 1
    scale = unit * 10 ** (exponent - 2)
    digits = (2 * n + scale) // (2 * scale)  # the first 3 digits, rounded half up
    if digits >= 1000:
        digits, exponent = digits // 10, exponent + 1
    text = str(digits)
    return f"{text[0]}.{text[1:]}e{exponent}"


def count(value: Product | int) -> str:
    """A count for people: ``1,234,567 (≈1.23e6)`` or a symbolic product like ``9*C*N``."""
    value = value if isinstance(value, Product) else Product(value)
    if not value.is_int:
        return str(value)
    n = value.coeff
    return f"{n:,}" if n < 10**6 else f"{n:,} (≈{_approx(n)})"


def nbytes(value: Product) -> str:
    """Bytes for people: ``48 B``, ``1.5 GiB (1,610,612,736 B)``, or ``12*C*N B``."""
    if not value.is_int:
        return f"{value} B"
    n = value.coeff
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        # Also from 999.5 of the unit below (above KiB), which would print as 1e3 of it.
        if n >= size or (size > 2**10 and 2048 * n >= 1999 * size):
            return f"{_approx(n, size)} {unit} ({n:,} B)"
    return f"{n} B"


def shape_explanation(report: ShapeReport) -> Explanation:
    """The text of ``linexplain shape``: the rule, each dim's reading, counts, memory."""
    r = report
    ins, outs = format_shape(r.input_shape), format_shape(r.output_shape)
    rows = product_as_written(r.leading)
    title = f"nn.Linear(in_features={r.in_features}, out_features={r.out_features}, bias={r.bias})"
    summary = (
        f"{ins} → {outs}: only the last dim changes, in_features {r.in_features} → "
        f"out_features {r.out_features}"
    )
    reading = Section(
        "Reading each dim (from the right)",
        [(str(i), str(d), role) for i, (d, role) in enumerate(r.reading)],
        header=("dim", "size", "what it counts"),
    )
    for name, size in r.bindings.items():
        source = "in_features, since it is the last dim" if name == r.bound_by_in else "--dims"
        reading.notes.append(f"{name} = {size} (from {source})")
    if r.in_features_inferred:
        reading.notes.append(
            f"in_features = {r.in_features}, read from the last dim (as nn.LazyLinear does)"
        )

    steps = Section(_with_bias("How torch computes it (y = x·Aᵀ + b, A = layer.weight)", r.bias))
    plus_b = f" + b{format_shape(r.bias_shape)}" if r.bias_shape else ""
    if len(r.input_shape) == 1:
        steps.rows.append(
            ("1.", f"a 1-D input is one sample: {ins} is used as one row (1 × {r.in_features})")
        )
        rows = "1"
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
            f"({rows} × {r.in_features}) · Aᵀ({r.in_features} × {r.out_features}){plus_b} "
            f"→ ({rows} × {r.out_features})",
        )
    )
    if len(r.input_shape) != 2:
        steps.rows.append(
            (f"{len(steps.rows) + 1}.", f"reshape back: ({rows}, {r.out_features}) → {outs}")
        )

    noun = "row" if rows == "1" else "rows"
    counts = Section("Counts", header=("what", "shape", "count", "how"))
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
    mem = Section(
        f"Memory ({r.dtype}, {r.itemsize} bytes per number)",
        [
            ("params", nbytes(memory["params_bytes"])),
            ("input", nbytes(memory["input_bytes"])),
            ("output", nbytes(memory["output_bytes"])),
        ],
    )
    other = Section(
        "Other tools count differently",
        [
            (
                "torchinfo Mult-Adds",
                count(r.torchinfo_mult_adds),
                "params × rows: counts each bias add as a MAC",
            ),
            ("torch FlopCounterMode", count(r.torch_flop_counter), "2·MACs: bias adds not counted"),
        ],
    )
    return Explanation(title, summary, [reading, steps, counts, mem, other])


NUMBERS_TITLE = "The scalar form with numbers (x: the torch.randn(in_features) after the init)"
EXPAND_TITLES = {
    "scalar": "Scalar form (the seed's equation (1)): w_ij joins input j to output i",
    "compact": "Compact form",
    "matrix": "Matrix form, column vectors (equation (2)): Z = W X + B",
    "pytorch": "PyTorch form, row vectors: y = x Aᵀ + b, A = layer.weight",
}


def _with_bias(text: str, bias: bool) -> str:
    """``text`` as written for a layer with a bias, its "+ b" dropped for one without."""
    return text if bias else text.replace(" + b", "").replace(" + B", "")


def expand_forms(expansion: Expansion, form: str) -> dict[str, Form]:
    """The forms ``--form`` asks for, by name, each a sympy-built object with text/ascii/latex."""
    forms = {
        "scalar": expansion.scalar_block,
        "compact": expansion.compact,
        "matrix": expansion.matrix,
        "pytorch": expansion.pytorch,
    }
    if form == "scalar":
        return {"scalar": forms["scalar"], "compact": forms["compact"]}
    return forms if form == "all" else {form: forms[form]}


def expand_explanation(
    expansion: Expansion,
    form: str,
    ascii_only: bool,
    numbers: NumericExpansion | None = None,
) -> Explanation:
    """The text of ``linexplain expand``: each form as unicode (pretty) or ASCII text, and the
    scalar form with a seeded layer's numbers when there are some."""
    e = expansion
    layer = f", layer {e.layer}" if e.layer is not None else ""
    title = f"nn.Linear(in_features={e.in_features}, out_features={e.out_features}, bias={e.bias})"
    forms = expand_forms(e, form)
    sections = [
        Section(_with_bias(EXPAND_TITLES[name], e.bias), body=obj.ascii if ascii_only else obj.text)
        for name, obj in forms.items()
    ]
    if "pytorch" not in forms:
        sections[-1].notes.extend(e.notes)  # the PyTorch form states the index base itself
    if numbers is not None:
        sections.append(
            Section(NUMBERS_TITLE, body=numbers.block.ascii if ascii_only else numbers.block.text)
        )
    explanation = Explanation(title, f"every output written out{layer}", sections)
    return to_ascii(explanation) if ascii_only else explanation


_TO_ASCII = str.maketrans(
    {
        "ᵀ": "^T", "→": "->", "×": "x", "·": "*", "⋅": "*", "Σ": "sum", "∂": "d", "−": "-",
        "≈": "~", "…": "...", "⋯": "...", "⋮": ":", "⋱": "...", "━": "=",
    }
)  # fmt: skip


def _ascii(text: str) -> str:
    """``text`` with the signs linexplain's own words use spelled in ASCII."""
    return text.translate(_TO_ASCII)


def to_ascii(explanation: Explanation) -> Explanation:
    """The explanation with every title, cell, note and line spelled in ASCII.

    Bodies that came from sympy should already be its ASCII rendering; this catches the rest.
    """
    explanation.title = _ascii(explanation.title)
    explanation.summary = _ascii(explanation.summary)
    for section in explanation.sections:
        section.title = _ascii(section.title)
        section.header = section.header and tuple(map(_ascii, section.header))
        section.rows = [tuple(map(_ascii, row)) for row in section.rows]
        section.notes = [_ascii(note) for note in section.notes]
        section.body = _ascii(section.body)
    return explanation


def expand_latex(expansion: Expansion, form: str, numbers: NumericExpansion | None = None) -> str:
    """LaTeX: one display-math block per form, each headed by a comment."""
    blocks = [
        f"% {_with_bias(EXPAND_TITLES[name], expansion.bias)}\n\\[\n{obj.latex}\n\\]"
        for name, obj in expand_forms(expansion, form).items()
    ]
    if numbers is not None:
        blocks.append(f"% {NUMBERS_TITLE}\n\\[\n{numbers.block.latex}\n\\]")
    return "\n\n".join(blocks) + f"\n% {expansion.notes[0]}\n"


def expand_markdown(
    expansion: Expansion, form: str, numbers: NumericExpansion | None = None
) -> str:
    """Markdown: a heading and a ``$$`` math block per form (GitHub and Jupyter render it)."""
    e = expansion
    lines = [f"### nn.Linear({e.in_features}, {e.out_features}, bias={e.bias})", ""]
    blocks = [
        (_with_bias(EXPAND_TITLES[name], e.bias), obj)
        for name, obj in expand_forms(e, form).items()
    ]
    if numbers is not None:
        blocks.append((NUMBERS_TITLE, numbers.block))
    for title, obj in blocks:
        lines += [f"**{title}**", "", "$$", obj.latex, "$$", ""]
    lines.append(f"> {e.notes[0]}")
    return "\n".join(lines) + "\n"


def tensor_section(title: str, a: np.ndarray, precision: int) -> Section:
    """A tensor as a table: one row per sample (leading dims flattened), elided when big."""
    leading = a.shape[:-1]
    rows = a.reshape(math.prod(leading), a.shape[-1]) if a.ndim else a.reshape(1, 1)
    if not rows.size:
        return Section(title, notes=[f"(empty: shape {format_shape(a.shape)} has no numbers)"])
    cols, shown_rows = shown_indices(rows.shape[1]), shown_indices(rows.shape[0])
    spec = _number_spec(
        [float(rows[i, j]) for i in shown_rows if i is not None for j in cols if j is not None],
        precision,
    )
    header = ("", *("⋯" if j is None else str(j) for j in cols))
    section = Section(title, header=header, numeric=True)
    for i in shown_rows:
        if i is None:
            section.rows.append(("⋮", *("⋮" if j is not None else "⋱" for j in cols)))
            continue
        cells = ("⋯" if j is None else format(rows[i, j], spec) for j in cols)
        section.rows.append((_index_label(i, leading), *cells))
    return section


def _number_spec(values: list[float], precision: int) -> str:
    """``precision`` decimals, or scientific notation for the whole table when a value needs
    it: one below the last decimal (1e-20 would read 0.0000; torch switches below 1e-4 too) or
    from 1e8 on (as torch does)."""
    magnitudes = [abs(v) for v in values if v and math.isfinite(v)]
    if magnitudes and (max(magnitudes) >= 1e8 or min(magnitudes) < 10.0**-precision):
        return f".{precision}e"
    return f".{precision}f"


def _index_label(flat: int, leading: tuple[int, ...]) -> str:
    """Where row ``flat`` of the flattened leading dims sits: ``3`` or ``[1, 0]``."""
    if len(leading) <= 1:
        return str(flat) if leading else ""
    index = []
    for size in reversed(leading):
        flat, position = divmod(flat, size)
        index.append(position)
    return "[" + ", ".join(map(str, reversed(index))) + "]"


def run_explanation(
    run: Forward,
    precision: int,
    steps: NumericExpansion | None,
    index_base: int = 0,
    ascii_only: bool = False,
) -> Explanation:
    """The text of ``linexplain run``: W, b, x, y, optionally one sample written out, and the
    PyTorch code that gives the same numbers."""
    layer, x, y = run.layer, run.x, run.y
    title = (
        f"nn.Linear(in_features={layer.in_features}, out_features={layer.out_features}, "
        f"bias={layer.bias is not None})  seed {run.seed}, {run.dtype}"
    )
    summary = f"x {format_shape(x.shape)} → y {format_shape(y.shape)}"
    if run.dims:
        last = run.input_shape[-1]  # a name there is in_features
        sizes = ", ".join(
            f"{name} = {size}" + (" = in_features" if name == last else "")
            for name, size in run.dims.items()
        )
        free = [name for name in run.dims if name != last]
        how = f"; set {', '.join(free)} with --dims" if free else ""
        summary += f"   (names: {sizes}{how})"
    source = "given" if run.given_input else "torch.randn" + format_shape(x.shape)
    weight_source = "given" if run.given_weight else f"torch.manual_seed({run.seed}) init"
    sections = [
        tensor_section(
            f"W = layer.weight {format_shape(layer.weight.shape)}: out × in ({weight_source})",
            layer.weight,
            precision,
        )
    ]
    if layer.bias is not None:
        sections.append(tensor_section("b = layer.bias (out,)", layer.bias, precision))
    sections.append(tensor_section(f"x {format_shape(x.shape)}: {source}", x, precision))
    sections.append(
        tensor_section(
            _with_bias(
                f"y = x·Wᵀ + b {format_shape(y.shape)}: one row per sample", layer.bias is not None
            ),
            y,
            precision,
        )
    )
    if steps is not None:
        first = "the first row of y" if run.y.ndim > 1 else "y"
        where = "i" if index_base == 0 else "i-1"
        sections.append(
            Section(
                "Sample 0 written out: the seed's equation (1) with numbers",
                body=steps.block.ascii if ascii_only else steps.block.text,
                notes=[f"z_i is column {where} of {first} above ({index_base}-based indices)"],
            )
        )
    sections.append(Section("The same in PyTorch", body=run.torch_snippet()))
    return Explanation(title, summary, sections)


def explain_explanation(
    report: ShapeReport,
    expansion: Expansion,
    run: Forward,
    steps: NumericExpansion | None,
    precision: int,
    ascii_only: bool,
) -> Explanation:
    """The whole seed in one text: the layer, the shape walk, the equations, real numbers."""
    r = report
    bias = f" + bias {format_shape(r.bias_shape)}" if r.bias_shape else ""
    title = (
        f"nn.Linear(in_features={r.in_features}, out_features={r.out_features}, bias={r.bias}): "
        f"weight {format_shape(r.weight_shape)}{bias} = {r.params:,} parameters"
    )
    shape = shape_explanation(report)
    forms = expand_explanation(expansion, "all", ascii_only)
    numbers = run_explanation(run, precision, steps, expansion.index_base, ascii_only)

    def part(number: int, text: str) -> Section:
        return Section(f"━━ {number}. {text} ━━")

    sections = [
        part(1, f"The shape walk: {shape.summary}"),
        *shape.sections,
        part(2, "What every output is made of (written out by sympy)"),
        *forms.sections,
        part(3, f"Real numbers: seed {run.seed}, {numbers.summary}"),
        *numbers.sections,
    ]
    explanation = Explanation(title, "", sections)
    return to_ascii(explanation) if ascii_only else explanation


def grad_explanation(report: GradReport, precision: int, ascii_only: bool) -> Explanation:
    """The text of ``linexplain grad``: shapes and costs, formulas, numbers, the torch code."""
    grads, shapes, forms, check_error = (
        report.grads, report.shapes, report.forms, report.check_error
    )  # fmt: skip
    run, layer = grads.run, grads.run.layer
    loss = {
        "ones": "L = y.sum(), so G = ∂L/∂y is all ones",
        "seed": "G = ∂L/∂y is the torch.randn that follows x",
        "given": "G = ∂L/∂y as given",
    }[grads.source]
    if run.dims:
        loss += "; names: " + ", ".join(f"{k} = {v}" for k, v in run.dims.items())
    title = (
        f"Gradients of nn.Linear(in_features={layer.in_features}, "
        f"out_features={layer.out_features}, bias={layer.bias is not None})  seed {run.seed}, "
        f"{run.dtype}"
    )
    sections = [
        Section("Shapes and cost", body="\n".join(shapes.lines("ascii" if ascii_only else "text")))
    ]
    if forms is not None:

        def body(form: Form) -> str:
            return form.ascii if ascii_only else form.text

        sections.append(Section("The formulas (sympy)", body=body(forms.compact)))
        sections.append(Section("∂L/∂W written out", body=body(forms.grad_weight)))
        if forms.grad_bias is not None:
            sections.append(Section("∂L/∂b written out", body=body(forms.grad_bias)))
        sections.append(Section("∂L/∂x written out", body=body(forms.grad_input)))
    sections += [
        tensor_section(
            f"G = ∂L/∂y {format_shape(grads.upstream.shape)}", grads.upstream, precision
        ),
        tensor_section(
            f"∂L/∂W = layer.weight.grad {format_shape(grads.grad_weight.shape)}",
            grads.grad_weight,
            precision,
        ),
    ]
    if grads.grad_bias is not None:
        sections.append(
            tensor_section(
                f"∂L/∂b = layer.bias.grad {format_shape(grads.grad_bias.shape)}",
                grads.grad_bias,
                precision,
            )
        )
    sections.append(
        tensor_section(
            f"∂L/∂x = x.grad {format_shape(grads.grad_input.shape)}", grads.grad_input, precision
        )
    )
    if check_error is not None:
        sections.append(
            Section(
                "Finite-difference check",
                rows=[
                    (
                        "largest error",
                        f"{check_error:.3g}",
                        "|numeric - autograd| / max(1, |autograd|), central differences in "
                        "float64, at most 32 entries per tensor",
                    )
                ],
            )
        )
    sections.append(Section("The same in PyTorch", body=grads.torch_snippet()))
    explanation = Explanation(title, loss, sections)
    return to_ascii(explanation) if ascii_only else explanation
