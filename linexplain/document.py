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


DENSE, EACH, ALL, RESHAPE = "dense", "each", "all", "reshape"  # how a layer wires its neurons


@dataclass(frozen=True)
class Column:
    """One column of the figure: the features of one sample (a tensor's last dim) as neurons.

    ``letter`` and ``layer`` name them (x_j, z_i^(l), a_i^(l)); ``shown`` are the indices drawn,
    in the figure's index base, with None where a gap hides ``hidden`` of them; ``bias`` puts
    b_i at each neuron, ``bias_values`` its numbers (one per shown index, None at the gap).
    """

    letter: str
    layer: int | None
    size: int
    shown: tuple[int | None, ...]
    bias: bool = False
    bias_values: tuple[float | None, ...] | None = None

    @property
    def hidden(self) -> int:
        """How many neurons the gap hides (0: every one is drawn)."""
        from .elide import hidden_count

        return hidden_count(list(self.shown))


@dataclass(frozen=True)
class Wiring:
    """What joins two columns, named as PyTorch names the layer (``Linear(784 → 256)``, ``ReLU``).

    ``kind``: DENSE (a Linear: every input to every output, a weight w_ij on each wire), EACH
    (input i to output i: an elementwise activation, Dropout, Identity, Flatten) or ALL
    (Softmax: every output depends on every input, no weights) or RESHAPE (a Flatten that
    changes how many features one sample has: no wires). ``weights[r][c]`` is the weight
    joining the r-th shown output to the c-th shown input (None at a gap), given only with
    numbers; ``scale`` is the largest |w| of the whole layer, for shading by magnitude.
    ``index`` is the layer's position in the nn.Sequential (None for a lone Linear).
    """

    kind: str
    name: str
    index: int | None = None
    weights: tuple[tuple[float | None, ...] | None, ...] | None = None
    scale: float = 0.0


@dataclass
class Figure:
    """The post's figure: columns of neurons, each joined to the next by a layer.

    ``columns[k]`` → ``layers[k]`` → ``columns[k + 1]``. ``index_base`` is 1 (w_11 first) or 0;
    ``precision`` the decimals of weights written on wires; ``keep`` how many neurons a column
    shows before its middle is elided, and ``resize(keep)`` the same figure showing fewer (a
    writer with little room draws less). ``title`` names it (layers as PyTorch names them) and
    ``description`` says in a sentence what it shows (an SVG's <desc>, a page's alt text).
    """

    columns: list[Column]
    layers: list[Wiring]
    title: str = ""
    description: str = ""
    index_base: int = 1
    precision: int = 4
    keep: int | None = None
    resize: Callable[[int], Figure] | None = field(default=None, repr=False, compare=False)

    @property
    def numeric(self) -> bool:
        """Whether the wires carry real weights."""
        return any(layer.weights is not None for layer in self.layers)

    def drawn(self, k: int) -> int:
        """How many wires of layer ``k`` the figure draws (those between shown neurons)."""
        kind = self.layers[k].kind
        before, after = (sum(i is not None for i in c.shown) for c in self.columns[k : k + 2])
        if kind == RESHAPE:
            return 0
        return before * after if kind in (DENSE, ALL) else after

    def wires(self, k: int) -> int:
        """How many wires layer ``k`` has in the real network (drawn or hidden)."""
        kind, before, after = self.layers[k].kind, self.columns[k].size, self.columns[k + 1].size
        if kind == RESHAPE:
            return 0
        return before * after if kind in (DENSE, ALL) else after


Block = Union[Table, Tensor, Lines, Notes, Code, Math, Figure]  # noqa: UP007


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
