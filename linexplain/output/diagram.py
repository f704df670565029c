"""The post's figure drawn in characters: each Linear as a crossbar, which is exactly Wᵀ.

Slanted wires from every input to every output do not survive a character grid, so a dense
layer is drawn as the same graph in the schematic way::

    x₁ ──●────────●────────●
         │w₁₁⁽²⁾  │w₂₁⁽²⁾  │w₃₁⁽²⁾
    x₂ ──●────────●────────●
         │w₁₂⁽²⁾  │w₂₂⁽²⁾  │w₃₂⁽²⁾
    x₃ ──●────────●────────●
         │w₁₃⁽²⁾  │w₂₃⁽²⁾  │w₃₃⁽²⁾
         ╰────────┼────────┼── + b₁⁽²⁾ ─▶ z₁⁽²⁾
                  ╰────────┼── + b₂⁽²⁾ ─▶ z₂⁽²⁾
                           ╰── + b₃⁽²⁾ ─▶ z₃⁽²⁾

Input j is a row from its name on the left; output i is a column (a bus) that turns at the
bottom and runs right, past its bias, to its name. The junction ● where row j meets column i is
the weight w_ij, written under it (its name, or its value with the figure's decimals), so the
grid of ● is Wᵀ: the rows of ``layer.weight`` are the columns here. A plain crossing ┼ joins
nothing. An elided column shows its gap where it is: a row ``⋮ 776 more`` among the inputs, a
bus ``⋯`` among the outputs' columns, a row ``⋮ 248 more`` among the outputs. An elementwise
layer is one arrow per neuron (``z₁⁽²⁾ ──ReLU──▶ a₁⁽²⁾``), a Softmax a crossbar of ○ without
weights, a Flatten that regroups the features one line. Each layer's block is headed by its
index and name (``(0) Linear(784 → 256): 200,704 weights, 256 biases``); the outputs of one
block are the inputs of the next.

The API, for the text and terminal writers (and anyone):

* :func:`diagram_lines` ``(fig, style) -> list[(text, spans)]``: the drawing, one entry per
  line, unindented, with no trailing spaces. ``style`` is ``"text"`` (unicode) or ``"ascii"``
  (printable ASCII only). ``spans`` are ``(start, end, rich style)`` over the line's characters,
  for a terminal only: with numbers, each junction and its weight are blue (positive) or red
  (negative), bold when |w| ≥ ⅔ of the layer's largest |w| (``Wiring.scale``) and dim below ⅓;
  biases are coloured by sign. Symbolically, names are bold and the weights' names dim.
* :func:`legend` ``(fig, style, colour=False) -> list[str]``: the prose lines that say how to
  read it; ``colour`` adds how colour and shading show the weights (for a terminal).

This module imports neither numpy nor sympy, nor any writer: a 4096 × 4096 layer is drawn from
its elided columns, as fast as an 8 × 8 one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..document import ALL, DENSE, EACH, Column, Figure, Wiring
from ..readable import SUBSCRIPT, SUPERSCRIPT, counted, number, visible

Span = tuple[int, int, str]
Drawn = tuple[str, list[Span]]

_ASCII = str.maketrans(
    {
        "→": "->", "×": "x", "−": "-", "·": "*", "…": "...", "ᵀ": "^T", "Σ": "sum", "≥": ">=",
        "⅔": "2/3", "⅓": "1/3", "ᵢ": "_i", "ⱼ": "_j", "⋯": "...", "⋮": ":", "●": "*", "○": "o",
        "┼": "+",
    }
)  # fmt: skip

BOLD_FROM, DIM_BELOW = 2 / 3, 1 / 3  # |w| / the layer's largest |w|: shading by magnitude
POSITIVE, NEGATIVE = "blue", "red"


@dataclass(frozen=True)
class _Glyphs:
    """The characters of one style."""

    wire: str  # a horizontal line
    bus: str  # a vertical line
    joint: str  # a weighted junction (w_ij)
    plain: str  # a junction without a weight (Softmax)
    cross: str  # a crossing that joins nothing
    turn: str  # a bus turning right, to its output
    arrow: str
    vdots: str
    hdots: str
    ddots: str
    dashed: str  # a bus passing the inputs' gap
    minus: str


_GLYPHS = {
    "text": _Glyphs("─", "│", "●", "○", "┼", "╰", "▶", "⋮", "⋯", "⋱", "┆", "−"),
    "ascii": _Glyphs("-", "|", "*", "o", "+", "`", ">", ":", "...", "...", ":", "-"),
}


class _Line:
    """A line being drawn: text pieces, some with a rich style."""

    def __init__(self) -> None:
        self.text = ""
        self.spans: list[Span] = []

    def add(self, piece: str, style: str = "") -> _Line:
        if style and piece.strip():
            self.spans.append((len(self.text), len(self.text) + len(piece), style))
        self.text += piece
        return self

    def pad(self, column: int) -> _Line:
        """Spaces up to ``column``."""
        return self.add(" " * max(0, column - len(self.text)))

    def done(self) -> Drawn:
        text = self.text.rstrip()
        return text, [(a, min(b, len(text)), s) for a, b, s in self.spans if a < len(text)]


def _plain(s: str, style: str) -> str:
    """``s`` in ``style``, its controls spelled out (:func:`~linexplain.readable.visible`: a
    layer's name may come from a file); ASCII spells unicode signs out (anything left over
    becomes ``?``)."""
    s = visible(s)
    if style != "ascii":
        return s
    return s.replace("ᵢⱼ", "_ij").translate(_ASCII).encode("ascii", "replace").decode("ascii")


def _name(letter: str, indices: tuple[int, ...], layer: int | None, style: str, comma: bool) -> str:
    """A symbol as the maths prints it: ``w₁₂⁽²⁾`` / ``w_12^(2)``, ``w₁,₁₂`` past 9."""
    sub = ("," if comma else "").join(map(str, indices))
    sup = "" if layer is None else f"({layer})"
    if style == "ascii":
        return letter + (f"_{sub}" if sub else "") + (f"^{sup}" if sup else "")
    return letter + sub.translate(SUBSCRIPT) + sup.translate(SUPERSCRIPT)


def _more(hidden: int, g: _Glyphs) -> str:
    return f"{g.vdots} {hidden:,} more"


def _sign(v: float) -> str:
    """A number's colour: blue positive, red negative (dim for zero or NaN)."""
    return POSITIVE if v > 0 else NEGATIVE if v < 0 else "dim"


def _shade(v: float, scale: float) -> str:
    """A weight's rich style: its sign's colour, bold or dim by its size against ``scale``."""
    colour = _sign(v)
    if colour == "dim":
        return colour
    size = abs(v) / scale if scale > 0 else 1.0
    return (
        f"bold {colour}" if size >= BOLD_FROM else f"dim {colour}" if size < DIM_BELOW else colour
    )


def _number(v: float, precision: int, style: str) -> str:
    """``v`` as the maths writes numbers (:func:`linexplain.readable.number`)."""
    return number(v, precision, "ascii" if style == "ascii" else "text")


def _signed(v: float | None, precision: int, style: str, g: _Glyphs) -> str:
    """A bias as an addition on the wire: ``+ 0.0153``, ``− 0.0117``."""
    s = "?" if v is None else _number(v, precision, style)
    if s[0] in "-−":
        return f"{g.minus} {s[1:]}"
    return f"+ {s}"


def diagram_lines(fig: Figure, style: str) -> list[Drawn]:
    """The figure as lines of ``style`` ("text" or "ascii"), each with its rich style spans:
    one block per layer, top to bottom, headed by the layer's index and name, blank lines
    between them."""
    g = _GLYPHS["ascii" if style == "ascii" else "text"]
    out: list[Drawn] = []
    for k, wiring in enumerate(fig.layers):
        if out:
            out.append(("", []))
        before, after = fig.columns[k], fig.columns[k + 1]
        out.append(_header(fig, k, style))
        if not _real(before.shown) or not _real(after.shown):
            what = "inputs" if not _real(before.shown) else "outputs"
            tail = ": each output is its bias" if what == "inputs" and after.bias else ""
            out.append((_plain(f"no {what}, so no wires{tail}", style), []))
        elif wiring.kind in (DENSE, ALL):
            out += _Crossbar(fig, k, style, g).lines()
        elif wiring.kind == EACH and len(before.shown) == len(after.shown):
            out += _each(wiring, before, after, style, g)
        else:
            out.append(_reshape(wiring, before, after, style, g))
    return out


def _real(shown: tuple[int | None, ...]) -> list[int]:
    return [i for i in shown if i is not None]


def _header(fig: Figure, k: int, style: str) -> Drawn:
    """``(0) Linear(784 → 256)`` and what it holds."""
    wiring, after = fig.layers[k], fig.columns[k + 1]
    name = wiring.name if wiring.index is None else f"({wiring.index}) {wiring.name}"
    if wiring.kind == DENSE:
        what = counted(fig.wires(k), "weight")
        what += f", {counted(after.size, 'bias', 'biases')}" if after.bias else ""
    elif wiring.kind == ALL:
        what = "each output from every input"
    elif wiring.kind == EACH:
        what = "on each neuron alone"
    else:
        what = "the features regrouped"
    line = _Line().add(_plain(name, style), "bold").add(": ").add(_plain(what, style), "dim")
    return line.done()


class _Crossbar:
    """A dense layer (or a Softmax: ○ and no weights) as rows of inputs crossing buses of
    outputs."""

    def __init__(self, fig: Figure, k: int, style: str, g: _Glyphs):
        self.g, self.style, self.precision = g, style, fig.precision
        self.wiring, self.before, self.after = fig.layers[k], fig.columns[k], fig.columns[k + 1]
        self.dense = self.wiring.kind == DENSE
        self.comma = max(self.before.size, self.after.size) >= 10
        self.numeric = self.wiring.weights is not None
        layer = self.after.layer
        self.inputs = [
            _more(self.before.hidden, g)
            if j is None
            else _name(self.before.letter, (j,), self.before.layer, style, False)
            for j in self.before.shown
        ]
        self.outputs = [
            _more(self.after.hidden, g)
            if i is None
            else _name(self.after.letter, (i,), layer, style, False)
            for i in self.after.shown
        ]
        # labels[r][c]: the weight at output r (a bus), input c (a row); None at a gap
        self.labels = [
            [self._label(r, c, i, j) for c, j in enumerate(self.before.shown)]
            for r, i in enumerate(self.after.shown)
        ]
        self.biases = [self._bias(r, i) for r, i in enumerate(self.after.shown)]
        self.left = max(map(len, self.inputs)) + 3  # the names, then " ──" to the first bus
        widths = [self._width(r, i) for r, i in enumerate(self.after.shown)]
        self.at = [self.left + sum(widths[:r]) for r in range(len(widths))]  # each bus's column
        self.end = self.at[-1] + 1  # where the outputs' lines leave the last bus
        self.slot = max((len(b) for b in self.biases if b), default=0)

    def _width(self, r: int, i: int | None) -> int:
        """The columns of characters bus r takes: itself, its widest label, two spaces."""
        if i is None:
            return len(self.g.hdots) + 2  # ─⋯─
        if not self.dense:
            return 4  # ○───
        return 1 + max(len(s) for s in self.labels[r] if s is not None) + 2

    def _label(self, r: int, c: int, i: int | None, j: int | None) -> str | None:
        if i is None or j is None or not self.dense:
            return None
        weights = self.wiring.weights
        if weights is not None:
            row = weights[r]
            v = None if row is None else row[c]
            if v is None:
                return "?"
            s = _number(v, self.precision, self.style)
            return s if s[0] in "-−" else " " + s  # the digits line up under the sign
        return _name("w", (i, j), self.after.layer, self.style, self.comma)

    def _bias(self, r: int, i: int | None) -> str | None:
        if i is None or not self.after.bias:
            return None
        values = self.after.bias_values
        if values is not None and values[r] is not None:
            text = _signed(values[r], self.precision, self.style, self.g)
        else:
            text = "+ " + _name("b", (i,), self.after.layer, self.style, False)
        return f"[{text}]" if self.style == "ascii" else text  # "-- - 0.1" reads as one line

    def _weight(self, r: int, c: int) -> float | None:
        weights = self.wiring.weights
        row = None if weights is None else weights[r]
        return None if row is None else row[c]

    def lines(self) -> list[Drawn]:
        out = []
        for c, j in enumerate(self.before.shown):
            if j is None:
                out.append(self._input_gap(c))
                continue
            out.append(self._row(c))
            if self.dense:
                out.append(self._labels(c))
        for r in range(len(self.after.shown)):
            out.append(self._output(r))
        return out

    def _row(self, c: int) -> Drawn:
        """Input c's line, a junction on every bus."""
        g, line = self.g, _Line()
        name = self.inputs[c]
        line.add(name, "bold").add(" " + g.wire * (self.left - len(name) - 1))
        for r, i in enumerate(self.after.shown):
            line.pad(self.at[r])
            if i is None:
                line.add(g.wire + g.hdots + g.wire, "dim")
                continue
            v = self._weight(r, c)
            joint = g.joint if self.dense else g.plain
            line.add(joint, self._style(v) if self.numeric else "cyan")
            if r + 1 < len(self.at):
                line.add(g.wire * (self.at[r + 1] - self.at[r] - 1))
        return line.done()

    def _style(self, v: float | None) -> str:
        return "" if v is None else _shade(v, self.wiring.scale)

    def _labels(self, c: int) -> Drawn:
        """The weights of input c's junctions, each under its junction."""
        line = _Line().pad(self.left)
        for r, i in enumerate(self.after.shown):
            if i is None:
                continue
            line.pad(self.at[r])
            label = self.labels[r][c] or ""
            if self.numeric:
                line.add(self.g.bus + label, self._style(self._weight(r, c)))
            else:
                line.add(self.g.bus).add(label, "dim")
        return line.done()

    def _input_gap(self, c: int) -> Drawn:
        """The hidden inputs: their count, the buses passing them."""
        g, line = self.g, _Line()
        line.add(self.inputs[c], "dim")
        for r, i in enumerate(self.after.shown):
            line.pad(self.at[r])
            line.add(f" {g.ddots}" if i is None else g.dashed, "dim")
        return line.done()

    def _output(self, r: int) -> Drawn:
        """Output r's bus turning right, crossing the buses after it, to its bias and name."""
        g, line = self.g, _Line().pad(self.left)
        gap = self.after.shown[r] is None
        for s, i in enumerate(self.after.shown):
            if s < r:
                continue
            line.pad(self.at[s])
            last = s + 1 == len(self.at)
            if s == r:
                line.add(f" {g.vdots}" if gap else g.turn, "dim" if gap else "")
            elif i is None:
                line.add(" " * (len(g.hdots) + 2) if gap else g.wire + g.hdots + g.wire, "dim")
                continue
            else:
                line.add(g.bus if gap else g.cross)
            if not last and not gap:
                line.add(g.wire * (self.at[s + 1] - self.at[s] - 1))
        tail = 2 + (self.slot + 2 if self.slot else 0) + 1 + 2  # ── + b ─▶ then the name
        if gap:
            return line.pad(self.end + tail).add(self.outputs[r], "dim").done()
        bias = self.biases[r]
        line.add(g.wire * 2)
        if self.slot:
            text = bias or ""
            v = self._bias_value(r)
            style = "dim" if v is None else _sign(v)
            line.add(" ").add(text, style).add(" " + g.wire * (self.slot - len(text)))
        return line.add(g.wire + g.arrow + " ").add(self.outputs[r], "bold").done()

    def _bias_value(self, r: int) -> float | None:
        values = self.after.bias_values
        return None if values is None else values[r]


def _each(wiring: Wiring, before: Column, after: Column, style: str, g: _Glyphs) -> list[Drawn]:
    """One arrow per neuron: ``z₁⁽²⁾ ──ReLU──▶ a₁⁽²⁾``."""
    fn = _plain(wiring.name.split("(")[0], style)
    names = [
        None if i is None else _name(before.letter, (i,), before.layer, style, False)
        for i in before.shown
    ]
    width = max(len(n) for n in names if n is not None)
    out = []
    for n, i in zip(names, after.shown, strict=True):
        if n is None or i is None:
            out.append(_Line().add(_more(after.hidden, g), "dim").done())
            continue
        line = _Line().add(n, "bold").pad(width).add(f" {g.wire * 2}")
        line.add(fn, "cyan").add(g.wire * 2 + g.arrow + " ")
        out.append(line.add(_name(after.letter, (i,), after.layer, style, False), "bold").done())
    return out


def _reshape(wiring: Wiring, before: Column, after: Column, style: str, g: _Glyphs) -> Drawn:
    """A Flatten that regroups one sample's numbers: one line, no wires."""
    x = _name(before.letter, (), before.layer, style, False)
    a = _name(after.letter, (), after.layer, style, False)
    features = counted(before.size, "feature")
    line = _Line().add(x, "bold").add(f" ({features} a row) {g.wire * 2}")
    line.add(_plain(wiring.name.split("(")[0], style), "cyan").add(g.wire * 2 + g.arrow + " ")
    features = counted(after.size, "feature")
    line.add(a, "bold").add(f" ({features}): the same numbers regrouped, no weights")
    return line.done()


def legend(fig: Figure, style: str, colour: bool = False) -> list[str]:
    """How to read the drawing, a line or a few; ``colour`` adds how a terminal colours it."""
    drawn = [
        (w, fig.columns[k + 1])
        for k, w in enumerate(fig.layers)
        if fig.columns[k].shown and fig.columns[k + 1].shown
    ]
    kinds = {w.kind for w, _ in drawn}
    bias = any(w.kind == DENSE and after.bias for w, after in drawn)
    lines = []
    if DENSE in kinds:
        lines.append(
            "● is the weight wᵢⱼ joining input j (its row) to output i (its column); each output "
            + (
                "adds up its column and its bias: zᵢ = Σⱼ wᵢⱼ xⱼ + bᵢ."
                if bias
                else "adds up its column: zᵢ = Σⱼ wᵢⱼ xⱼ."
            )
        )
        lines.append(
            "The grid of ● is Wᵀ: each row of W (layer.weight) is a column here. A plain "
            "crossing ┼ joins nothing."
        )
        if fig.numeric:
            lines.append(
                "Under each ● its weight"
                + ("; before each output its bias, added on the way." if bias else ".")
            )
        if fig.numeric and colour:
            scales = ", ".join(
                f"{number(w.scale, fig.precision, 'text')}"
                + ("" if w.index is None else f" in ({w.index})")
                for w in fig.layers
                if w.kind == DENSE and w.weights is not None
            )
            lines.append(
                f"Blue is positive, red negative; bold when |w| ≥ ⅔ of the layer's largest |w| "
                f"({scales}), dim below ⅓."
            )
    if ALL in kinds:
        names = ", ".join(sorted({w.name for w in fig.layers if w.kind == ALL}))
        lines.append(f"○ ({names}): each output depends on every input, with no weight.")
    if any(c.hidden for c in fig.columns):
        lines.append("⋮ and ⋯ stand for the neurons not drawn, and for all their wires.")
    return [_plain(line, style) for line in lines]
