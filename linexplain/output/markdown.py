"""Markdown: headings, prose, pipe tables, ``$$`` maths (GitHub and Jupyter render it), code,
the figure drawn in a text block."""

from __future__ import annotations

from ..document import Code, Doc, Figure, Lines, Math, Notes, Sym, Table, Tensor, Text
from ..readable import visible

_ESCAPE = str.maketrans({ch: "\\" + ch for ch in "\\*_|`<>[]"})


def prose(t: Text) -> str:
    """Prose in Markdown: unicode signs kept, Markdown's own characters escaped, maths in $…$."""
    out = []
    for part in t:
        if isinstance(part, Sym):
            from .math import MathPrinter

            out.append(f"${MathPrinter(part.notation, 'latex').expr(part.expr)}$")
        else:
            out.append(visible(part).translate(_ESCAPE))
    return "".join(out).strip()


def _table(table: Table) -> list[str]:
    header = table.header or ("",) * max((len(row) for row in table.rows), default=1)
    align = ["---"] + (["---:" if table.numeric else "---"] * (len(header) - 1))
    lines = ["| " + " | ".join(prose((c,)) for c in header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(prose((c,)) for c in row) + " |" for row in table.rows]
    return lines


def markdown(doc: Doc) -> str:
    """The document as Markdown."""
    from .latex import math_latex
    from .text import code_text, tensor_table

    out = [f"### {prose(doc.title)}", ""]
    if doc.summary:
        out += [prose(doc.summary), ""]
    for section in doc.sections:
        out += [f"#### {prose(section.title)}" if section.part else f"**{prose(section.title)}**"]
        out.append("")
        for block in section.blocks:
            if isinstance(block, Tensor):
                block = tensor_table(block)
            if isinstance(block, Table):
                out += [*_table(block), ""]
            elif isinstance(block, Math):
                out += ["$$", math_latex(block), "$$", ""]
                out += [prose(block.hidden), ""] if block.hidden else []
            elif isinstance(block, Code):
                out += [f"```{block.language}", code_text(block.code), "```", ""]
            elif isinstance(block, Notes):
                out += [f"> {prose(line)}" for line in block.lines] + [""]
            elif isinstance(block, Lines):
                out += ["  \n".join(prose(line) for line in block.lines), ""]
            elif isinstance(block, Figure):
                from .diagram import diagram_lines, legend

                out += ["```text", *(line for line, _ in diagram_lines(block, "text")), "```", ""]
                out += [f"> {prose((line,))}" for line in legend(block, "text")] + [""]
    return "\n".join(out).rstrip("\n") + "\n"
