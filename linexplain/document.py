"""The document every command returns: what to say, never how it looks.

A :class:`Doc` is a title, a summary and sections; a section holds blocks — tables, tensors,
prose lines, notes, code and maths. A maths block keeps its sympy expressions and the notation
that names their symbols, so each writer in ``linexplain.output`` prints them its own way
(unicode, ASCII, LaTeX, Markdown). Prose is authored with unicode signs (× · → ᵀ Σ ∂ …); each
writer spells those signs itself. This module imports neither numpy nor sympy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Sym:
    """Inline maths inside prose: a sympy expression named by ``notation``."""

    expr: Any
    notation: Any


Inline = Union[str, Sym]  # noqa: UP007 (a runtime alias: Python 3.10 has no str | Sym on classes)
Text = tuple[Inline, ...]


def text(*parts: Inline) -> Text:
    """Prose made of strings and inline maths."""
    return tuple(part for part in parts if part != "")


@dataclass
class Table:
    """Rows of prose cells under an optional header; ``numeric`` right-aligns all but column 0."""

    rows: list[tuple[str, ...]] = field(default_factory=list)
    header: tuple[str, ...] | None = None
    numeric: bool = False


@dataclass
class Tensor:
    """An array shown as a table, one row per sample (leading dims flattened), elided when big.

    ``keep`` is how many rows and columns are shown before the middle is elided; a writer may
    show fewer to fit its width.
    """

    array: Any
    precision: int
    keep: int


@dataclass
class Lines:
    """Prose lines, each shown as it is (indentation kept)."""

    lines: list[Text]


@dataclass
class Notes:
    """Remarks under a block (italic on a terminal)."""

    lines: list[Text]


@dataclass
class Code:
    """Source code, the same in every format."""

    code: str
    language: str = "python"


@dataclass(frozen=True)
class Eq:
    """One line of maths, ``lhs = rhs``.

    ``numbers`` prints some symbols as values, ``value`` appends ``= value`` (a row written out
    with numbers); ``where`` says over which indices it holds (``for i = 1, …, 3``); ``aside`` is
    a remark shown beside it on screens.
    """

    lhs: Any
    rhs: Any
    numbers: dict[Any, float] | None = None
    value: float | None = None
    where: Text = ()
    aside: Text = ()


@dataclass
class Math:
    """Lines of maths named by ``notation``.

    ``aligned``: one row per line with the ``=`` signs lined up and ``None`` rows for a gap (⋮);
    otherwise each line is printed whole (a matrix spans several lines). ``hidden`` says what a
    gap leaves out; ``precision`` is the decimals of any numbers. ``resize(keep)`` builds the
    same block showing ``keep`` entries per axis (``keep`` is what it shows now), so a writer
    with little room can elide more.
    """

    rows: list[Eq | None]
    notation: Any
    aligned: bool = False
    hidden: Text = ()
    precision: int = 4
    keep: int | None = None
    resize: Callable[[int], Math] | None = field(default=None, repr=False, compare=False)


Block = Union[Table, Tensor, Lines, Notes, Code, Math]  # noqa: UP007


@dataclass
class Section:
    """A titled part of a document; ``part`` marks a heading that opens a group of sections."""

    title: Text
    blocks: list[Block] = field(default_factory=list)
    part: bool = False


@dataclass
class Doc:
    """What a command says: a title, a summary line, sections, and its JSON data.

    ``data`` is the ``--json`` contract; it may hold :class:`Rendered` nodes, which the JSON
    writer replaces by the node written in the named formats.
    """

    title: Text
    summary: Text = ()
    sections: list[Section] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    result: Any = None  # what was computed (a forward pass, gradients), for the API and --save


@dataclass(frozen=True)
class Rendered:
    """A node the JSON data shows as written text: one string, or ``{format: string}``."""

    node: Math | Eq | Text
    formats: tuple[str, ...] = ("text", "latex")
    notation: Any = None  # for a lone Eq
    precision: int = 4
