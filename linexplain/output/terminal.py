"""A terminal: the plain text's lines with rich styles, fitted to the console's width.

Tables of numbers, blocks of maths and figures that would run past the width show fewer entries
(the same elision, with a smaller ``keep``); prose wraps at its spaces, continued under its
indentation. Only what cannot be broken (a maths picture or a figure already at its smallest,
one long word) may still go past the edge. A figure's weights are coloured by sign and shaded by
size (the spans of its :class:`~linexplain.output.text.Painted` lines).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import TextIO

from ..document import Block, Code, Doc, Figure, Math, Tensor
from .text import Line, Painted, block_lines, doc_lines, figure_lines

MIN_KEEP = 2  # a shortened axis shows its first entry, the gap and its last
MAX_STEPS = 64  # bounds the work of fitting one block
BUS = 4  # the fewest columns of characters one output of a figure takes


def smaller(block: Block, width: int | None = None) -> Block | None:
    """The block showing one entry fewer per axis, or None when it cannot shrink.

    A figure showing more outputs than ``width`` has room for (each takes BUS columns) goes
    straight to the most that could fit (``--full`` on a 4096-wide layer draws once, not 4096
    times)."""
    if isinstance(block, Figure) and block.resize is not None:
        widest = max(len(c.shown) for c in block.columns)
        keep = widest if block.keep is None else min(block.keep, widest)
        if width is not None:
            keep = min(keep, width // BUS + 1)
        return block.resize(keep - 1) if keep > MIN_KEEP else None
    if isinstance(block, Tensor):
        shown = min(block.keep, max(block.array.shape, default=1))
        return Tensor(block.array, block.precision, shown - 1) if shown > MIN_KEEP else None
    if isinstance(block, Math) and block.resize is not None and block.keep is not None:
        return block.resize(block.keep - 1) if block.keep > MIN_KEEP else None
    return None


def _wrap(line: Line, width: int) -> list[Line]:
    """A line of prose broken at its spaces to fit ``width``, continued under its indentation;
    a word longer than the width stays whole."""
    text, style = line
    if len(text) <= width:
        return [line]
    indent = " " * (len(text) - len(text.lstrip()) + 4)
    parts = textwrap.wrap(
        text, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )
    return [(part, style) for part in parts]


def _widest(lines: list[Line], block: Block) -> int:
    """The widest line that cannot wrap (a maths block's closing remark is prose, as is a
    figure's legend)."""
    if isinstance(block, Math) and block.hidden:
        lines = lines[:-1]
    if isinstance(block, Figure):
        lines = lines[: _drawn(lines)]
    return max((len(line) for line, _ in lines), default=0)


def _drawn(lines: list[Line]) -> int:
    """How many lines a figure's drawing takes (its legend follows)."""
    return sum(isinstance(line, Painted) for line, _ in lines)


def fitted(width: int) -> Callable[[list[Line], Block], list[Line]]:
    """A ``fit`` for :func:`doc_lines`: each block shrunk while it is wider than ``width`` and
    shrinking makes it narrower (a long remark beside the maths is prose, and wraps); the lines
    of maths, numbers and code are marked never to wrap."""

    def fit(lines: list[Line], block: Block) -> list[Line]:
        candidate = block
        # A block showing all of a short axis shrinks only once its keep drops below it.
        for _ in range(MAX_STEPS):
            if _widest(lines, block) <= width:
                break
            less = smaller(candidate, width)
            if less is None:
                break
            candidate, narrower = less, block_lines(less, "text")
            if _widest(narrower, less) < _widest(lines, block):
                block, lines = less, narrower
        whole = len(lines) if isinstance(block, (Math, Tensor, Code)) else 0
        if isinstance(block, Math) and block.hidden:
            whole -= 1  # its closing remark is prose
        if isinstance(block, Figure):
            lines = figure_lines(block, "text", colour=True)  # the legend says what colour shows
            whole = _drawn(lines)
        fixed = [(line, f"{NO_WRAP} {style}".strip()) for line, style in lines[:whole]]
        return fixed + [wrapped for line in lines[whole:] for wrapped in _wrap(line, width)]

    return fit


NO_WRAP = "nowrap"  # a style word write_rich reads and removes


def write_rich(doc: Doc, stream: TextIO, width: int | None = None) -> None:
    """Write ``doc`` with rich styles, fitted to the terminal's width (or ``width``)."""
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, highlight=False, width=width)
    out = Text()
    for line, style in doc_lines(doc, "text", fitted(console.width)):
        words = style.split()
        start = len(out)
        out.append(line + "\n", style=" ".join(w for w in words if w != NO_WRAP) or None)
        for begin, end, paint in getattr(line, "spans", ()):
            out.stylize(paint, start + begin, start + end)
    console.print(out, end="", soft_wrap=True)  # fitted already: rich must not wrap again
