"""LaTeX: the whole document as a fragment for notes — sections, prose, tables, display maths,
the figure drawn in ASCII (verbatim)."""

from __future__ import annotations

import re
from typing import Any

from ..document import Code, Doc, Eq, Figure, Lines, Math, Notes, Sym, Table, Tensor, Text
from ..readable import RAISED, UNRAISED, visible

_TEXT_SIGNS = {
    "×": r"$\times$", "·": r"$\cdot$", "⋅": r"$\cdot$", "→": r"$\to$",
    "Σ": r"$\Sigma$", "∂": r"$\partial$", "−": "$-$", "≈": r"$\approx$", "…": r"\dots{}",
    "⋯": r"$\cdots$", "⋮": r"$\vdots$", "⋱": r"$\ddots$", "━": "", "δ": r"$\delta$",
    "⊙": r"$\odot$", "′": "$'$", "√": r"$\surd$", "π": r"$\pi$", "Φ": r"$\Phi$",
    "σ": r"$\sigma$",
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}",  # OT1 text fonts print < > as ¡ ¿
}  # fmt: skip
# A run of superscript signs is one exponent in maths mode: a⁽¹²⁾ → a$^{(12)}$,
# a⁽ˡ⁻¹⁾ᵀ → a$^{(l-1)T}$, z³ → z$^{3}$.
_SUPERSCRIPTS = re.compile(f"([{RAISED}ᵀ]+)")
_SUPERSCRIPT_SIGNS = UNRAISED | str.maketrans("ᵀ", "T")
_GREEK = {_TEXT_SIGNS[letter] for letter in "δσΦπΣ"}  # take a superscript in their own $…$
_MATH_SIGNS = {
    "×": r"\times ", "·": r"\cdot ", "⋅": r"\cdot ", "→": r"\to ", "…": r"\dots",
    "⋯": r"\cdots", "−": "-",
}  # fmt: skip


def prose(t: Text) -> str:
    """Prose in LaTeX's text mode: its signs as maths, special characters escaped."""
    out = []
    for part in t:
        if isinstance(part, Sym):
            from .math import MathPrinter

            out.append(f"${MathPrinter(part.notation, 'latex').expr(part.expr)}$")
        else:
            out.append(_text(visible(part)))
    return "".join(out).strip()


def _text(s: str) -> str:
    r"""A string of prose in text mode: each run of superscripts one ``$^{…}$`` (``δ⁽²⁾`` one
    maths group, ``$\delta^{(2)}$``), signs escaped."""
    out: list[str] = []
    for i, piece in enumerate(_SUPERSCRIPTS.split(s)):
        if not i % 2:  # split keeps the runs of superscripts at the odd places
            out += (_TEXT_SIGNS.get(ch, ch) for ch in piece)
        elif out and out[-1] in _GREEK:
            out[-1] = f"{out[-1][:-1]}^{{{piece.translate(_SUPERSCRIPT_SIGNS)}}}$"
        else:
            out.append(f"$^{{{piece.translate(_SUPERSCRIPT_SIGNS)}}}$")
    return "".join(out)


def _math_prose(t: Text) -> str:
    """Prose inside maths (the range of an index): signs as commands."""
    return "".join(_MATH_SIGNS.get(ch, ch) for part in t if isinstance(part, str) for ch in part)


def aligned(lines: list[str]) -> str:
    """LaTeX lines as one maths expression."""
    if len(lines) == 1:
        return lines[0].replace("&", "")
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def _line(printer: Any, row: Eq) -> str:
    line = f"{printer.expr(row.lhs)} &= {printer.expr(row.rhs, row.numbers)}"
    if row.value is not None:
        line += f" = {printer.value(row.value)}"
    if row.where:
        line += rf", \quad {_math_prose(row.where)}"
    return line


def math_latex(block: Math) -> str:
    """A maths block as one LaTeX expression (``aligned`` when it has several lines)."""
    from .math import MathPrinter

    printer = MathPrinter(block.notation, "latex", block.precision)
    return aligned([r"\vdots" if row is None else _line(printer, row) for row in block.rows])


def row_latex(row: Eq, notation: Any, precision: int = 4) -> str:
    """One row as ``lhs = rhs``."""
    from .math import MathPrinter

    return _line(MathPrinter(notation, "latex", precision), row).replace("&", "")


def _table(table: Table) -> list[str]:
    rows = ([table.header] if table.header else []) + table.rows
    columns = max((len(row) for row in rows), default=1)
    spec = "l" + ("r" if table.numeric else "l") * (columns - 1)
    lines = [rf"\begin{{tabular}}{{{spec}}}"]
    for number, row in enumerate(rows):
        lines.append(" & ".join(prose((cell,)) for cell in row) + r" \\")
        if table.header and number == 0:
            lines.append(r"\hline")
    return [*lines, r"\end{tabular}"]


def _verbatim(lines: list[str]) -> list[str]:
    r"""Lines in a verbatim block; a name holding ``\end{verbatim}`` must not end it early."""
    end = r"\end{verbatim}"
    return [r"\begin{verbatim}", *(line.replace(end, r"\end {verbatim}") for line in lines), end]


def latex(doc: Doc) -> str:
    """The document as LaTeX (amsmath for ``aligned``)."""
    from .text import code_text, tensor_table

    out = [rf"\section*{{{prose(doc.title)}}}"]
    if doc.summary:
        out += [prose(doc.summary)]
    for section in doc.sections:
        heading = "section" if section.part else "subsection"
        out += ["", rf"\{heading}*{{{prose(section.title)}}}"]
        for block in section.blocks:
            if isinstance(block, Tensor):
                block = tensor_table(block)
            if isinstance(block, Table):
                out += _table(block)
            elif isinstance(block, Math):
                out += ["\\[", math_latex(block), "\\]"]
                out += [prose(block.hidden) + r"\par"] if block.hidden else []
            elif isinstance(block, Code):
                out += _verbatim(code_text(block.code).split("\n"))
            elif isinstance(block, Notes):
                out += [rf"\emph{{{prose(line)}}}\par" for line in block.lines]
            elif isinstance(block, Lines):
                out += [prose(line) + r"\par" for line in block.lines]
            elif isinstance(block, Figure):  # verbatim is ASCII-safe in every LaTeX engine
                from .diagram import diagram_lines, legend

                out += _verbatim([line for line, _ in diagram_lines(block, "ascii")])
                out += [prose((line,)) + r"\par" for line in legend(block, "ascii")]
    return "\n".join(out) + "\n"
