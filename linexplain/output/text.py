"""Plain text: unicode (``pretty``) or ASCII, aligned, with no escape codes.

Prose is authored in unicode; ASCII spells its signs (× → x, ᵀ → ^T, a⁽²⁾ → a^(2), …). Maths
is printed by :mod:`linexplain.output.math` in the same style, never translated afterwards.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Literal

from ..document import (
    Block,
    Code,
    Doc,
    Eq,
    Figure,
    Lines,
    Math,
    Notes,
    Sym,
    Table,
    Tensor,
    Text,
)
from ..elide import shown_indices
from ..grammar import format_shape
from ..readable import RAISED, UNRAISED, fixed_or_scientific, visible
from .diagram import Span, diagram_lines, legend

Style = Literal["text", "ascii"]

_ASCII = str.maketrans(
    {
        "ᵀ": "^T", "→": "->", "×": "x", "·": "*", "⋅": "*", "Σ": "sum", "∂": "d", "−": "-",
        "≈": "~", "…": "...", "⋯": "...", "⋮": ":", "⋱": "...", "━": "=", "δ": "delta",
        "⊙": "(*)", "′": "'", "√": "sqrt", "π": "pi", "Φ": "Phi", "σ": "sigma",
    }
)  # fmt: skip
# A run of superscript signs is one exponent, spelled after a single ^ as the maths printer
# spells a layer: a⁽¹²⁾ → a^(12), a⁽ˡ⁻¹⁾ → a^(l-1), z³ → z^3, 10⁻⁵ → 10^-5.
_SUPERSCRIPTS = re.compile(f"[{RAISED}]+")


def _ascii(s: str) -> str:
    """Prose with its unicode signs spelled in ASCII."""
    s = _SUPERSCRIPTS.sub(lambda m: "^" + m[0].translate(UNRAISED), s)
    return s.translate(_ASCII)


Line = tuple[str, str]  # the text and a rich style name ("" for none)


class Painted(str):
    """A line of a drawing with colour spans for a terminal (``(start, end, rich style)``);
    every other writer sees the plain string it is."""

    spans: tuple[Span, ...]

    def __new__(cls, text: str, spans: tuple[Span, ...] = ()) -> Painted:
        line = super().__new__(cls, text)
        line.spans = spans
        return line


def prose(t: Text, style: str) -> str:
    """Prose as ``style`` writes it: its signs spelled out in ASCII, inline maths printed."""
    out = []
    for part in t:
        if isinstance(part, Sym):
            from .math import MathPrinter

            out.append(MathPrinter(part.notation, style).expr(part.expr))  # type: ignore[arg-type]
        else:
            out.append(_cell(part, style))
    return "".join(out)


def _cell(s: str, style: str) -> str:
    """A string from the document as ``style`` writes it: its controls spelled out (a name from
    a file must not drive the terminal), its signs in ASCII when asked."""
    s = visible(s)
    return _ascii(s) if style == "ascii" else s


def code_text(code: str) -> str:
    """Code with its controls spelled out line by line (a snippet may hold a name from a file),
    its line breaks kept."""
    return "\n".join(visible(line) for line in code.split("\n"))


def math_lines(block: Math, style: str) -> list[str]:
    """A maths block as lines of unicode or ASCII text."""
    from .math import MathPrinter

    printer = MathPrinter(block.notation, style, block.precision)  # type: ignore[arg-type]
    if block.aligned:
        sides = [None if row is None else _sides(printer, row) for row in block.rows]
        width = max(len(s[0]) for s in sides if s is not None)
        lines = [
            printer.gaps[1].rjust(width) if s is None else f"{s[0]:>{width}} = {s[1]}"
            for s in sides
        ]
    else:
        texts = [printer.expr(_equation(row)) for row in block.rows if row is not None]
        rows = [row for row in block.rows if row is not None]
        width = max((len(t) for t, row in zip(texts, rows, strict=True) if row.where), default=0)
        lines = []
        for t, row in zip(texts, rows, strict=True):
            if row.where:
                t = f"{t:<{width}}   for {prose(row.where, style)}"
            if row.aside:
                t += f"   ({prose(row.aside, style)})"
            lines += t.splitlines()
    if block.hidden:
        lines.append(prose(block.hidden, style))
    return lines


def _sides(printer: Any, row: Eq) -> tuple[str, str]:
    """The two sides of an aligned row; a row with numbers ends in ``= value``."""
    rhs = printer.expr(row.rhs, row.numbers)
    if row.value is not None:
        rhs += f" = {printer.value(row.value)}"
    return printer.expr(row.lhs), rhs


def _equation(row: Eq) -> Any:
    import sympy

    return sympy.Eq(row.lhs, row.rhs, evaluate=False)


def tensor_table(t: Tensor, keep: int | None = None) -> Table | Notes:
    """A tensor as a table: one row per sample (leading dims flattened), its middle elided."""
    a = t.array
    keep = t.keep if keep is None else keep
    leading = a.shape[:-1]
    rows = a.reshape(math.prod(leading), a.shape[-1]) if a.ndim else a.reshape(1, 1)
    if not rows.size:
        return Notes([(f"(empty: shape {format_shape(a.shape)} has no numbers)",)])
    cols, shown_rows = shown_indices(rows.shape[1], 0, keep), shown_indices(rows.shape[0], 0, keep)
    spec = fixed_or_scientific(
        [float(rows[i, j]) for i in shown_rows if i is not None for j in cols if j is not None],
        t.precision,
    )
    table = Table(header=("", *("⋯" if j is None else str(j) for j in cols)), numeric=True)
    for i in shown_rows:
        if i is None:
            table.rows.append(("⋮", *("⋮" if j is not None else "⋱" for j in cols)))
            continue
        cells = ("⋯" if j is None else spec.format(rows[i, j]) for j in cols)
        table.rows.append((_index_label(i, leading), *cells))
    return table


def _index_label(flat: int, leading: tuple[int, ...]) -> str:
    """Where row ``flat`` of the flattened leading dims sits: ``3`` or ``[1, 0]``."""
    if len(leading) <= 1:
        return str(flat) if leading else ""
    index = []
    for size in reversed(leading):
        flat, position = divmod(flat, size)
        index.append(position)
    return "[" + ", ".join(map(str, reversed(index))) + "]"


def table_lines(table: Table, style: str) -> list[Line]:
    """A table as aligned lines, its header dim."""
    cells = [tuple(_cell(c, style) for c in row)
             for row in ([table.header] if table.header else []) + table.rows]  # fmt: skip
    widths = [
        max(len(row[i]) for row in cells if i < len(row))
        for i in range(max((len(row) for row in cells), default=0))
    ]
    lines = []
    for number, row in enumerate(cells):
        padded = [
            cell.rjust(widths[i]) if table.numeric and i else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        style_name = "dim" if table.header and number == 0 else ""
        lines.append((("  " + "  ".join(padded)).rstrip(), style_name))
    return lines


def figure_lines(fig: Figure, style: str, colour: bool = False) -> list[Line]:
    """The figure drawn (:mod:`linexplain.output.diagram`), each line :class:`Painted`, then its
    legend as prose; ``colour`` says in the legend how a terminal colours the weights."""
    lines: list[Line] = [
        (Painted(f"  {text}" if text else "", tuple((a + 2, b + 2, s) for a, b, s in spans)), "")
        for text, spans in diagram_lines(fig, style)
    ]
    notes = legend(fig, style, colour)
    return lines + ([("", "")] if notes else []) + [(f"  {line}", "italic") for line in notes]


def block_lines(block: Block, style: str) -> list[Line]:
    """One block as indented lines with rich style names."""
    if isinstance(block, Figure):
        return figure_lines(block, style)
    if isinstance(block, Tensor):
        block = tensor_table(block)
    if isinstance(block, Table):
        return table_lines(block, style)
    if isinstance(block, Notes):
        return [(f"  {prose(line, style)}", "italic") for line in block.lines]
    if isinstance(block, Lines):
        return [(f"  {prose(line, style)}".rstrip(), "") for line in block.lines]
    if isinstance(block, Code):
        return [(f"  {line}".rstrip(), "") for line in code_text(block.code).splitlines()]
    return [(f"  {line}".rstrip(), "") for line in math_lines(block, style)]


def doc_lines(
    doc: Doc, style: str, fit: Callable[[list[Line], Block], list[Line]] | None = None
) -> list[Line]:
    """The document as lines, each with a rich style name for terminals; ``fit`` may replace a
    block's lines (a terminal's writer shows less to fit its width)."""
    lines = [(prose(doc.title, style), "bold")]
    if doc.summary:
        lines.append((prose(doc.summary, style), "cyan"))
    for section in doc.sections:
        lines += [("", ""), (prose(section.title, style), "bold underline")]
        for block in section.blocks:
            written = block_lines(block, style)
            lines += written if fit is None else fit(written, block)
    return lines


def plain(doc: Doc, style: str = "text") -> str:
    """The document as plain, aligned text with no escape codes."""
    return "".join(line + "\n" for line, _ in doc_lines(doc, style))
