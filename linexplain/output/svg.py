"""The post's figure as SVG: columns of neurons, every input wired to every output.

:func:`svg` draws a :class:`~linexplain.document.Figure` left to right: each column is one
sample's features as circles (``x₁``, ``z₁⁽²⁾``, real text with sub- and superscripts), headed by
its name and size; between two columns the layer, named as PyTorch names it, and its wires: a
Linear joins every drawn input to every drawn output (a ``w_ij`` each), an activation each neuron
to its own, a Softmax every input to every output (dashed: no weights), a Flatten that reshapes
none. A column's gap (``⋮ 4,088 more``) stands where the figure hides neurons; wires join only
drawn neurons. With numbers, a wire's colour is its weight's sign and its strength |w| over the
layer's largest. Small layers get their weights (or their values) written on the wires, each
label on its own wire where no other wire passes and no other label stands (see
:func:`_fit_labels`); a bias is written beside its neuron where no wire passes.

Text widths are the advance widths of DejaVu Sans, the widest of the common sans-serif fonts
(Chromium's on Linux), so no text is laid out shorter than a browser draws it.

Pure string work, no numpy or sympy: a 4096 × 4096 layer is drawn as fast and as small as an
8 × 8 one (the figure is elided before it gets here). Text from the figure is made visible
(control and bidi characters spelled out) and escaped, ids are prefixed (two figures can share a
page), and the styles sit in one ``<style>`` scoped to the figure's id; there is no script, no
link and no external resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..document import ALL, DENSE, EACH, RESHAPE, Column, Figure, Wiring
from ..errors import LinexplainError
from ..readable import counted, number, visible

NS = "http://www.w3.org/2000/svg"
POSITIVE, NEGATIVE, NEUTRAL = "#2166ac", "#b2182b", "#8c8c8c"  # ColorBrewer RdBu: colour-blind safe
LABELLED = 4
"""A dense layer gets a label on each wire when it draws at most this many inputs and outputs."""

SHRINK, FLOOR = 600, 0.6
"""In a page, a figure up to SHRINK px wide shrinks to any width (on a 390 px phone, whose page
is about 358 px wide, that is at least 0.6 of its size); a wider one shrinks to FLOOR of its
size at most (its 12 px notes stay 7 px, its 14 px neuron names 8.4 px) and scrolls in its box.
At 600 px the two rules meet: 0.6 × 600 = 360 px, a phone's width."""

_SANS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
_SERIF = '"STIX Two Math", "Cambria Math", "Times New Roman", Times, serif'

# Font sizes (px) of the kinds of text, and how far a sub- or superscript moves off the baseline.
_NEURON, _HEADER, _LAYER, _NOTE, _WIRE, _BIAS = 14.0, 20.0, 13.0, 12.0, 13.0, 13.0
_SMALL = 0.72  # a sub- or superscript's size, of its text's
_SUB, _SUP = 0.3, -0.45  # its shift, in its text's ems
_BOLD = 1.13  # how much wider bold (600) text is
_SPACE = 16.0  # the least room between two texts side by side
_LINE = 19.0  # the legend's line height

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def svg(figure: Figure, standalone: bool = True, id_prefix: str = "linexplain-figure") -> str:
    """``figure`` as an ``<svg>`` element: a file of its own (``standalone``) or one to put in an
    HTML page, where it scales to the page's width. ``id_prefix`` is the figure's id and starts
    every id in it (its styles are scoped to it): give each figure on one page its own."""
    if not isinstance(figure, Figure):
        raise LinexplainError(
            f"svg draws a Figure, got {type(figure).__name__}", "build one with figure.figure()"
        )
    if not isinstance(id_prefix, str) or not _ID.match(id_prefix):
        raise LinexplainError(
            f"id prefix {id_prefix!r} is not an XML id",
            "start with a letter; use letters, digits, '-' and '_'",
        )
    if not figure.columns:
        raise LinexplainError(
            "a figure needs a column of neurons", "build one with figure.figure()"
        )
    if len(figure.layers) != len(figure.columns) - 1:
        raise LinexplainError(
            f"a figure of {len(figure.columns)} columns needs {len(figure.columns) - 1} layers "
            f"between them, got {len(figure.layers)}",
            "columns[k] -> layers[k] -> columns[k + 1]",
        )
    return _Drawing(figure, id_prefix).draw(standalone)


# --- text -------------------------------------------------------------------------------------


def _clean(s: str) -> str:
    """``s`` as XML character data (or in a double-quoted attribute): escaped, without the
    characters XML 1.0 cannot hold. (Not xml.sax.saxutils: it imports urllib.request, 25 ms.)"""
    s = _BAD_XML.sub("\ufffd", s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace('"', "&quot;")


def _attr(s: str) -> str:
    """``s`` as a quoted XML attribute value."""
    return f'"{_clean(s)}"'


# Advance widths in ems of DejaVu Sans (rounded up into a few classes): the widest of the common
# sans-serif fonts, and wider than the Times-like italics of the letters. Others count as 1 em.
_EM: dict[str, float] = {}
for _chars, _em in (
    ("ijlIJ'", 0.30),
    (" \N{NO-BREAK SPACE}.,:;|/\\·", 0.34),
    ("()[]-frt!", 0.40),
    ('"*_?`csz', 0.56),
    ("aeoFLPTYkvxy", 0.62),
    ("0123456789bdghnpquES${}Σ", 0.64),
    ("ABCKRVXZ", 0.71),
    ("DGHNOQU&", 0.79),
    ("#+<=>^~→×−≤≥≈w", 0.84),
):
    _EM.update(dict.fromkeys(_chars, _em))
_DESCENDS = frozenset("gjpqy()[]{},;_|")


def _width(s: str, size: float, bold: bool = False) -> float:
    """How wide ``s`` is at ``size`` px, at most (for the layout: never shorter than drawn)."""
    return sum(_EM.get(ch, 1.0) for ch in s) * size * (_BOLD if bold else 1.0)


Part = tuple[str, str]  # (text, "" | "v" | "sub" | "sup")


def _symbol(letter: str, sub: str = "", layer: int | None = None) -> list[Part]:
    """A symbol's parts: its letter, its indices below, its layer's ``(l)`` above."""
    parts: list[Part] = [(letter, "v")]
    if sub:
        parts.append((sub, "sub"))
    if layer is not None:
        parts.append((f"({layer})", "sup"))
    return parts


def _indices(*indices: int) -> str:
    """Indices written together: ``12``, or ``12,3`` when one has more than one digit."""
    return ("," if any(abs(i) > 9 for i in indices) else "").join(map(str, indices))


def _scale(kind: str) -> float:
    return _SMALL if kind in ("sub", "sup") else 1.0


def _parts_width(parts: list[Part], size: float) -> float:
    return sum(_width(text, size * _scale(kind)) for text, kind in parts)


def _extent(parts: list[Part], size: float) -> tuple[float, float]:
    """How far the ink of ``parts`` reaches above (negative) and below their baseline, at most."""
    top = bottom = 0.0
    for text, kind in parts:
        small, dy = size * _scale(kind), {"sub": _SUB, "sup": _SUP}.get(kind, 0.0) * size
        top = min(top, dy - 0.78 * small)
        bottom = max(bottom, dy + (0.24 if _DESCENDS.intersection(text) else 0.04) * small)
    return top, bottom


def _tspans(parts: list[Part], size: float) -> str:
    """Parts as text and tspans, sub- and superscripts moved with ``dy`` (which every renderer
    supports, unlike baseline-shift) and the baseline put back after them."""
    out, shift = [], 0.0
    for text, kind in parts:
        target = {"sub": _SUB, "sup": _SUP}.get(kind, 0.0) * size
        dy = round(target - shift, 1)
        shift = target
        cls = {"sub": "s", "sup": "s", "v": "v"}.get(kind)
        attrs = (f' class="{cls}"' if cls else "") + (f' dy="{_num(dy)}"' if dy else "")
        out.append(f"<tspan{attrs}>{_clean(text)}</tspan>" if attrs else _clean(text))
    if shift:  # nothing follows in this element, but a renderer may lay out trailing space
        out.append(f'<tspan dy="{_num(round(-shift, 1))}"></tspan>')
    return "".join(out)


def _wrap(parts: list[Part], size: float, room: float) -> list[list[Part]]:
    """``parts`` in lines at most ``room`` px wide, broken at the spaces of their plain text."""
    words: list[list[Part]] = [[]]
    for text, kind in parts:
        if kind:
            words[-1].append((text, kind))
            continue
        for n, piece in enumerate(text.split(" ")):
            if n:
                words.append([])
            if piece:
                words[-1].append((piece, ""))
    lines: list[list[Part]] = []
    line: list[Part] = []
    width, space = 0.0, _width(" ", size)
    for word in filter(None, words):
        wide = _parts_width(word, size)
        if line and width + space + wide > room:
            lines.append(line)
            line, width = [], 0.0
        if line:
            line.append((" ", ""))
            width += space
        line.extend(word)
        width += wide
    if line:
        lines.append(line)
    return [_merged(line) for line in lines]


def _merged(parts: list[Part]) -> list[Part]:
    """Parts with neighbouring plain runs joined."""
    out: list[Part] = []
    for text, kind in parts:
        if out and not kind and not out[-1][1]:
            out[-1] = (out[-1][0] + text, "")
        else:
            out.append((text, kind))
    return out


def _text(cls: str, x: float, y: float, content: str, *, raw: bool = False, attrs: str = "") -> str:
    """A ``<text>`` of class ``cls`` at (x, y): ``content`` escaped, or as it is (``raw``);
    ``attrs`` are more attributes, written as they are."""
    body = content if raw else _clean(content)
    attrs = f" {attrs}" if attrs else ""
    return f'<text class="{cls}"{attrs} x="{_num(x)}" y="{_num(y)}">{body}</text>'


def _num(v: float) -> str:
    """A coordinate to one decimal, without a trailing ``.0``."""
    s = f"{v:.1f}"
    s = s[:-2] if s.endswith(".0") else s
    return "0" if s == "-0" else s


# --- geometry ---------------------------------------------------------------------------------

Box = tuple[float, float, float, float]  # x0, y0, x1, y1
Segment = tuple[float, float, float, float]  # x0, y0, x1, y1


def _span(a: float, b: float, e: float) -> tuple[float, float] | None:
    """The t where |a + b·t| ≤ e (all of them: -inf..inf; none: None)."""
    if abs(b) < 1e-12:
        return (-1e18, 1e18) if abs(a) <= e else None
    t0, t1 = (-e - a) / b, (e - a) / b
    return (t0, t1) if t0 <= t1 else (t1, t0)


def _sweep_segment(p: Segment, hw: float, hh: float, s: Segment) -> tuple[float, float] | None:
    """The t in which a box of half sizes (hw, hh) centred at the point t of segment ``p``
    meets segment ``s`` (separating axes: x, y and the normal of ``s``)."""
    px, py, dx, dy = p[0], p[1], p[2] - p[0], p[3] - p[1]
    sx, sy, ex, ey = s[0], s[1], s[2] - s[0], s[3] - s[1]
    cx, cy = sx + ex / 2, sy + ey / 2
    nx, ny = -ey, ex
    spans = (
        _span(px - cx, dx, hw + abs(ex) / 2),
        _span(py - cy, dy, hh + abs(ey) / 2),
        _span(nx * (px - sx) + ny * (py - sy), nx * dx + ny * dy, abs(nx) * hw + abs(ny) * hh),
    )
    if None in spans:
        return None
    lo = max(s[0] for s in spans if s is not None)
    hi = min(s[1] for s in spans if s is not None)
    return (lo, hi) if lo <= hi else None


def _sweep_box(p: Segment, hw: float, hh: float, box: Box) -> tuple[float, float] | None:
    """The t in which a box of half sizes (hw, hh) centred at the point t of ``p`` meets ``box``."""
    px, py, dx, dy = p[0], p[1], p[2] - p[0], p[3] - p[1]
    x = _span(px - (box[0] + box[2]) / 2, dx, hw + (box[2] - box[0]) / 2)
    y = _span(py - (box[1] + box[3]) / 2, dy, hh + (box[3] - box[1]) / 2)
    if x is None or y is None or max(x[0], y[0]) > min(x[1], y[1]):
        return None
    return max(x[0], y[0]), min(x[1], y[1])


def _meets(box: Box, s: Segment) -> bool:
    """Whether segment ``s`` passes through ``box``."""
    hw, hh = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    cx, cy = box[0] + hw, box[1] + hh
    return _sweep_segment((cx, cy, cx, cy), hw, hh, s) is not None


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# --- layout -----------------------------------------------------------------------------------


@dataclass
class _Col:
    column: Column
    x: float
    ys: list[float]  # one per entry of column.shown (the gap's too)


@dataclass
class _Label:
    """A text written at (x, y): its parts, size and class, and the box its ink fills."""

    parts: list[Part]
    size: float
    cls: str
    x: float
    y: float
    anchor: str  # "middle" or "start"
    data: str = ""  # attributes to add (a wire label's data-i and data-j)
    plate: bool = False  # on a white box (a wire's label: its wire goes in and comes out)

    def box(self) -> Box:
        width = _parts_width(self.parts, self.size)
        top, bottom = _extent(self.parts, self.size)
        x0 = self.x - width / 2 if self.anchor == "middle" else self.x
        return (x0, self.y + top, x0 + width, self.y + bottom)

    def moved(self, dx: float) -> _Label:
        return _Label(
            self.parts, self.size, self.cls, self.x + dx, self.y, self.anchor, self.data, self.plate
        )

    def svg(self) -> str:
        parts = _tspans(self.parts, self.size)
        text = _text(self.cls, self.x, self.y, parts, raw=True, attrs=self.data)
        if not self.plate:
            return text
        x0, y0, x1, y1 = self.box()
        pad = 2.0
        return (
            f'<rect class="plate" x="{_num(x0 - pad)}" y="{_num(y0 - pad)}" '
            f'width="{_num(x1 - x0 + 2 * pad)}" height="{_num(y1 - y0 + 2 * pad)}" rx="3"/>' + text
        )


_LABELLED_ROWS = (88.0, 112.0)  # the least row height where wires carry labels (4 rows: more)
_LABELLED_LEAST = (0.9, 0.4)  # the least width and opacity of a wire with a label (else 0.4, 0.12)
_TO_WIRE, _TO_LABEL, _TO_CIRCLE = 4.0, 2.0, 5.0  # least room between a label's ink and these


class _Drawing:
    """One figure being laid out and written."""

    def __init__(self, figure: Figure, prefix: str):
        self.f = figure
        self.p = prefix
        self.numeric = figure.numeric
        columns, layers = figure.columns, figure.layers
        # A circle holds its widest name (which is about 19 px high) with room to spare.
        widest = max(
            (
                _parts_width(self._neuron(c, k), _NEURON)
                for c in columns
                for k in c.shown
                if k is not None
            ),
            default=0.0,
        )
        self.r = max(17.0, round(((widest / 2) ** 2 + 9.5**2) ** 0.5 + 3, 1))
        labelled = [self._labelled(k) for k in range(len(layers))]
        # Biases: to the right of their neurons where the next layer draws no fan of wires;
        # else above or below them, with room to be read as theirs (not the next neuron's).
        self.bias_right = [
            c.bias and (k == len(layers) or layers[k].kind in (EACH, RESHAPE))
            for k, c in enumerate(columns)
        ]
        self.row = round(2 * self.r + 16, 1)
        if any(c.bias and not right for c, right in zip(columns, self.bias_right, strict=True)):
            self.row = round(2 * self.r + 34, 1)
        if any(labelled):  # steep wires between roomy rows leave room for their labels
            tallest = max(
                len(c.shown)
                for k, c in enumerate(columns)
                if (k < len(layers) and labelled[k]) or (k > 0 and labelled[k - 1])
            )
            self.row = max(self.row, _LABELLED_ROWS[tallest >= 4])
        slots = max((len(c.shown) for c in columns), default=1) or 1
        self.top = 72.0
        ys = [
            [
                round(self.top + self.r + (slots - len(c.shown)) * self.row / 2 + s * self.row, 1)
                for s in range(len(c.shown))
            ]
            for c in columns
        ]
        bias_width = [
            max((_parts_width(p, _BIAS) for p in self._biases(c)), default=0.0) for c in columns
        ]
        heads = [
            max(_parts_width(self._header(c), _HEADER), _width(self._size(c), _NOTE)) / 2
            for c in columns
        ]
        self.spots: dict[int, list[_Label]] = {}
        gaps = []
        for k, wiring in enumerate(layers):
            name = max(
                _width(self._layer_name(wiring), _LAYER, bold=True),
                _width(self._layer_note(k), _NOTE),
            )
            # The layer's name is centred between the columns, 16 px clear of both headers.
            gap = max(170.0, 2 * max(heads[k], heads[k + 1]) + name + 2 * _SPACE, 2 * self.r + 80)
            beside = 6 + bias_width[k] if self.bias_right[k] else 0.0
            gap = max(gap, 2 * self.r + beside + _SPACE)
            if wiring.kind == RESHAPE:
                gap = max(gap, _width(self._reshape(k), _NOTE) + 2 * (self.r + beside + _SPACE))
            if labelled[k]:
                gap = self._fit(k, gap, ys[k], ys[k + 1])
            gaps.append(round(gap, 1))
        left = max(heads[0], self.r) + 20
        right = max(heads[-1], self.r + (6 + bias_width[-1] if self.bias_right[-1] else 0)) + 20
        x = left
        self.cols: list[_Col] = []
        for k, column in enumerate(columns):
            self.cols.append(_Col(column, round(x, 1), ys[k]))
            if k < len(gaps):
                x += gaps[k]
        self.width = round(max(480.0, x + right), 1)
        if self.width > x + right:  # centre the columns in a wider picture
            shift = round((self.width - x - right) / 2, 1)
            for col in self.cols:
                col.x = round(col.x + shift, 1)
        for k, spots in self.spots.items():
            self.spots[k] = [label.moved(self.cols[k].x) for label in spots]
        self.bias_labels = self._place_biases()
        self.legend = self._legend(self.width - 48)
        self.legend_y = self.top + slots * self.row + 6
        self.height = round(self.legend_y + _LINE * len(self.legend) + 14, 1)

    # names of things

    def _neuron(self, column: Column, k: int | None) -> list[Part]:
        return _symbol(visible(column.letter), _indices(k) if k is not None else "", column.layer)

    def _header(self, column: Column) -> list[Part]:
        return _symbol(visible(column.letter), "", column.layer)

    @staticmethod
    def _size(column: Column) -> str:
        return counted(column.size, "neuron")

    def _biases(self, column: Column) -> list[list[Part]]:
        """The bias label of each shown neuron of ``column`` (none at its gap)."""
        if not column.bias:
            return []
        out = []
        for s, k in enumerate(column.shown):
            if k is None:
                continue
            value = column.bias_values[s] if column.bias_values is not None else None
            if value is None:
                out.append(_symbol("b", _indices(k), column.layer))
            else:
                out.append([(number(value, self.f.precision, "text"), "")])
        return out

    @staticmethod
    def _layer_name(wiring: Wiring) -> str:
        name = visible(wiring.name)
        return name if wiring.index is None else f"({wiring.index}) {name}"

    def _layer_note(self, k: int) -> str:
        wiring, wires = self.f.layers[k], self.f.wires(k)
        if wiring.kind == DENSE:
            note = counted(wires, "weight")
            if wiring.weights is not None:
                note += f", |w| ≤ {number(wiring.scale, self.f.precision, 'text')}"
            return note
        if wiring.kind == ALL:
            return counted(wires, "wire") + ", each output from every input"
        if wiring.kind == RESHAPE:
            return "reshaped: no wires"
        return "each neuron alone"

    def _reshape(self, k: int) -> str:
        before, after = self.f.columns[k].size, self.f.columns[k + 1].size
        return f"reshaped: last dim {before:,} → {after:,}"

    def _labelled(self, k: int) -> bool:
        """Whether layer ``k``'s wires are few enough to write a weight on each."""
        if self.f.layers[k].kind != DENSE:
            return False
        drawn_in = sum(j is not None for j in self.f.columns[k].shown)
        drawn_out = sum(i is not None for i in self.f.columns[k + 1].shown)
        return 0 < drawn_in <= LABELLED and 0 < drawn_out <= LABELLED

    def _wire_labels(self, k: int) -> dict[tuple[int, int], list[Part]]:
        """Each drawn wire's label, by (row, column) of its output and input in ``shown``."""
        wiring, before, after = self.f.layers[k], self.f.columns[k], self.f.columns[k + 1]
        labels = {}
        for r, i in enumerate(after.shown):
            for c, j in enumerate(before.shown):
                if i is None or j is None:
                    continue
                w = _weight(wiring, r, c)
                if w is None:
                    labels[r, c] = _symbol("w", _indices(i, j), after.layer)
                else:
                    labels[r, c] = [(number(w, self.f.precision, "text"), "")]
        return labels

    # placing labels

    def _gap_box(self, x: float, y: float, hidden: int) -> Box:
        """The box of a column's gap, ``⋮`` and ``N more``, at (x, y)."""
        half = max(_width(f"{hidden:,} more", _NOTE), 12.0) / 2
        return (x - half, y - 16, x + half, y + 20)

    def _ends(self, x0: float, y0: float, x1: float, y1: float) -> Segment:
        """A wire from circle (x0, y0) to circle (x1, y1), from edge to edge."""
        dx, dy = x1 - x0, y1 - y0
        length = (dx * dx + dy * dy) ** 0.5 or 1.0
        ux, uy = dx / length * self.r, dy / length * self.r
        return (x0 + ux, y0 + uy, x1 - ux, y1 - uy)

    def _fit(self, k: int, gap: float, ya: list[float], yb: list[float]) -> float:
        """The gap (at least ``gap``) at which every wire of layer ``k`` carries its label clear
        of the others; the labels go to ``self.spots[k]``, with x from the inputs' column."""
        before, after = self.f.columns[k], self.f.columns[k + 1]
        labels = self._wire_labels(k)
        wiring = self.f.layers[k]
        for _ in range(24):
            wires = {(r, c): self._ends(0.0, ya[c], gap, yb[r]) for r, c in labels}
            obstacles: list[Box] = []
            reach = self.r + _TO_CIRCLE
            for x, ys, column in ((0.0, ya, before), (gap, yb, after)):
                for y, index in zip(ys, column.shown, strict=True):
                    if index is None:
                        g = self._gap_box(x, y, column.hidden)
                        obstacles.append((g[0] - 2, g[1] - 2, g[2] + 2, g[3] + 2))
                    else:
                        obstacles.append((x - reach, y - reach, x + reach, y + reach))
            spots = _fit_labels(labels, wires, obstacles)
            if spots is not None:
                self.spots[k] = []
                for key, (x, y) in spots.items():
                    w = _weight(wiring, *key)
                    sign = "" if w is None else " pos" if w > 0 else " neg" if w < 0 else ""
                    top, bottom = _extent(labels[key], _WIRE)
                    i, j = after.shown[key[0]], before.shown[key[1]]
                    self.spots[k].append(
                        _Label(
                            labels[key],
                            _WIRE,
                            f"wl{sign}",
                            x,
                            y - (top + bottom) / 2,
                            "middle",
                            f'data-i="{i}" data-j="{j}"',
                            plate=True,
                        )
                    )
                return gap
            gap *= 1.08
        # Never seen (tests cover every small layer): write each label mid-wire.
        self.spots[k] = [
            _Label(parts, _WIRE, "wl halo", (wires[key][0] + wires[key][2]) / 2,
                   (wires[key][1] + wires[key][3]) / 2 + 4, "middle")
            for key, parts in labels.items()
        ]  # fmt: skip
        return gap

    def _place_biases(self) -> list[_Label]:
        """Each bias beside its neuron: to its right where no fan of wires leaves it, else at
        the first spot around it that no wire, circle or label touches (one spot for the whole
        column if one suits all), else above it on a white plate."""
        out: list[_Label] = []
        for k, col in enumerate(self.cols):
            column = col.column
            labels = self._biases(column)
            if not labels:
                continue
            rows = [s for s, i in enumerate(column.shown) if i is not None]
            if self.bias_right[k]:
                for s, parts in zip(rows, labels, strict=True):
                    top, bottom = _extent(parts, _BIAS)
                    # Above the wire that leaves the neuron, or beside its middle.
                    y = col.ys[s] - (3 + bottom if self._leaves(k) else (top + bottom) / 2)
                    out.append(_Label(parts, _BIAS, "bias", col.x + self.r + 6, y, "start"))
                continue
            around = self._around(k)
            chosen: list[_Label | None] = [None] * len(rows)
            candidates = [
                [self._bias_at(col, s, parts, spot) for spot in range(6)]
                for s, parts in zip(rows, labels, strict=True)
            ]

            for spot in range(6):  # one spot for the whole column, if one suits every neuron
                if all(around.free(c[spot]) for c in candidates):
                    chosen = [c[spot] for c in candidates]
                    break
            for n, options in enumerate(candidates):  # else the first free spot of each
                if chosen[n] is None:
                    label = next((c for c in options if around.free(c)), None)
                    if label is None:  # wires pass all around it: above, on a white plate
                        label = options[0]
                        label.plate = True
                    chosen[n] = label
                    around.boxes.append(label.box())
            out.extend(label for label in chosen if label is not None)
        return out

    def _leaves(self, k: int) -> bool:
        """Whether wires leave column ``k`` to the right."""
        return k < len(self.f.layers) and self.f.layers[k].kind != RESHAPE

    def _bias_at(self, col: _Col, s: int, parts: list[Part], spot: int) -> _Label:
        """Bias ``parts`` of neuron ``s`` at the ``spot``-th place around it."""
        x, y, r = col.x, col.ys[s], self.r
        width = _parts_width(parts, _BIAS)
        top, bottom = _extent(parts, _BIAS)
        d = r * 0.72
        if spot == 0:  # above
            return _Label(parts, _BIAS, "bias c", x, y - r - 4 - bottom, "middle")
        if spot == 1:  # above, to the right
            return _Label(parts, _BIAS, "bias", x + d, y - d - 3 - bottom, "start")
        if spot == 2:  # above, to the left
            return _Label(parts, _BIAS, "bias", x - d - width, y - d - 3 - bottom, "start")
        if spot == 3:  # below
            return _Label(parts, _BIAS, "bias c", x, y + r + 4 - top, "middle")
        if spot == 4:  # below, to the right
            return _Label(parts, _BIAS, "bias", x + d, y + d + 3 - top, "start")
        return _Label(parts, _BIAS, "bias", x - d - width, y + d + 3 - top, "start")

    def _around(self, k: int) -> _Around:
        """The wires of the layers on either side of column ``k``, and the circles, gaps and
        labels near it."""
        around = _Around(
            [seg for j in (k - 1, k) if 0 <= j < len(self.f.layers) for seg, _ in self._segments(j)]
        )
        for j in (k - 1, k, k + 1):
            if 0 <= j < len(self.cols):
                col = self.cols[j]
                for y, index in zip(col.ys, col.column.shown, strict=True):
                    if index is None:
                        around.boxes.append(self._gap_box(col.x, y, col.column.hidden))
                    else:
                        around.circles.append((col.x, y, self.r))
        for j in (k - 1, k):
            around.boxes.extend(label.box() for label in self.spots.get(j, []))
        return around

    def _segments(self, k: int) -> list[tuple[Segment, tuple[int, int]]]:
        """Layer ``k``'s wires, with the (row, column) in ``shown`` of their output and input."""
        wiring, a, b = self.f.layers[k], self.cols[k], self.cols[k + 1]
        if wiring.kind == RESHAPE:
            return []
        if wiring.kind == EACH:
            rows = {i: r for r, i in enumerate(b.column.shown) if i is not None}
            return [
                (self._ends(a.x, a.ys[c], b.x, b.ys[rows[j]]), (rows[j], c))
                for c, j in enumerate(a.column.shown)
                if j is not None and j in rows
            ]
        return [
            (self._ends(a.x, a.ys[c], b.x, b.ys[r]), (r, c))
            for r, i in enumerate(b.column.shown)
            if i is not None
            for c, j in enumerate(a.column.shown)
            if j is not None
        ]

    def _legend(self, room: float) -> list[list[Part]]:
        """The legend's lines, wrapped to ``room``; a line of parts of kind "pos" and "neg" is
        the key of the wires' colours."""
        f = self.f
        lines: list[list[Part]] = []
        one = [
            ("each line is one weight ", ""),
            *_symbol("w", "ij"),
            (", from input j to output i", ""),
        ]
        dense = [w for w in f.layers if w.weights is not None]
        if self.numeric:
            lines += _wrap([("E" + one[0][0][1:], ""), *one[1:], (":", "")], _NOTE, room)
            lines.append([("positive", "pos"), ("negative", "neg")])
            if len(dense) == 1:
                largest = number(dense[0].scale, f.precision, "text")
                where = f"its layer's largest |w|\N{NO-BREAK SPACE}({largest})"  # kept together
            else:
                where = "the largest |w| of its own layer, written above it"
            text = f"Its opacity and width grow with |w| over {where}."
            lines += _wrap([(text, "")], _NOTE, room)
        elif any(w.kind == DENSE for w in f.layers):
            lines += _wrap([("In grey, ", ""), *one, (".", "")], _NOTE, room)
        remarks = []
        if any(w.kind == EACH for w in f.layers):
            remarks.append("one line per neuron: the layer acts on each alone")
        if any(w.kind == ALL for w in f.layers):
            remarks.append("dashed: each output is made from every input, with no weight")
        if any(c.bias for c in f.columns):
            values = any(c.bias_values is not None for c in f.columns)
            remarks.append("the " + ("number" if values else "b") + " beside an output is its bias")
        if any(c.hidden for c in f.columns):
            remarks.append("⋮ marks neurons not drawn")
        if remarks:
            text = "; ".join(remarks)
            lines += _wrap([(text[0].upper() + text[1:] + ".", "")], _NOTE, room)
        return lines

    # writing

    def draw(self, standalone: bool) -> str:
        p = self.p
        w, h = _num(self.width), _num(self.height)
        size = f' width="{w}" height="{h}"'
        if not standalone:
            # In a page: a small figure shrinks to fit, a big one keeps a readable size and
            # scrolls in its box (see SHRINK and FLOOR).
            least = f";min-width:{round(FLOOR * self.width)}px" if self.width > SHRINK else ""
            size += f' style="max-width:100%;height:auto{least}"'
        out = [
            f'<svg xmlns="{NS}" id="{p}" viewBox="0 0 {w} {h}"{size} role="img" '
            f'aria-labelledby="{p}-title {p}-desc" class="linexplain-figure">',
            f'<title id="{p}-title">{_clean(visible(self.f.title))}</title>',
            f'<desc id="{p}-desc">{_clean(visible(self.f.description))}</desc>',
            self._style(),
            f'<rect class="bg" width="{w}" height="{h}"/>',
        ]
        out.append('<g class="wires">')
        for k in range(len(self.f.layers)):
            out.extend(self._wires(k))
        out.append("</g>")
        for k in range(len(self.f.layers)):
            out.extend(self._layer(k))
        for col in self.cols:
            out.extend(self._column(col))
        if self.bias_labels:
            out.append('<g class="biases">')
            out.extend(label.svg() for label in self.bias_labels)
            out.append("</g>")
        for k, labels in sorted(self.spots.items()):
            out.append(f'<g class="wire-labels" data-layer="{k}">')
            out.extend(label.svg() for label in labels)
            out.append("</g>")
        out.extend(self._legend_svg())
        out.append("</svg>")
        return "\n".join(out) + ("\n" if standalone else "")

    def _style(self) -> str:
        s = f"#{self.p}"
        rules = [
            f"{s}{{font-family:{_SANS};fill:#222}}",
            f"{s} .bg{{fill:#fff}}",
            f"{s} text{{fill:#222;stroke:none}}",
            f"{s} .v{{font-family:{_SERIF};font-style:italic}}",
            f"{s} .s{{font-size:{_SMALL * 100:g}%}}",
            f"{s} .neuron{{fill:#fff;stroke:#333;stroke-width:1.5}}",
            f"{s} .nl{{font-size:{_NEURON:g}px;text-anchor:middle}}",
            f"{s} .head{{font-size:{_HEADER:g}px;text-anchor:middle}}",
            f"{s} .size,{s} .note{{font-size:{_NOTE:g}px;fill:#666;text-anchor:middle}}",
            f"{s} .layer{{font-size:{_LAYER:g}px;font-weight:600;text-anchor:middle}}",
            f"{s} .wire{{fill:none;stroke:{NEUTRAL};stroke-width:1.2}}",
            f"{s} .wire.pos{{stroke:{POSITIVE}}}",
            f"{s} .wire.neg{{stroke:{NEGATIVE}}}",
            f"{s} .wire.all{{stroke:#aaa;stroke-dasharray:4 3}}",
            f"{s} .halo{{paint-order:stroke;stroke:#fff;stroke-width:3.5px;stroke-linejoin:round}}",
            f"{s} .plate{{fill:#fff;fill-opacity:.92}}",
            f"{s} .wl{{font-size:{_WIRE:g}px;text-anchor:middle}}",
            f"{s} .wl.pos{{fill:{POSITIVE}}}",
            f"{s} .wl.neg{{fill:{NEGATIVE}}}",
            f"{s} .bias{{font-size:{_BIAS:g}px;fill:#555;text-anchor:start}}",
            f"{s} .bias.c{{text-anchor:middle}}",
            f"{s} .gap text{{fill:#555;text-anchor:middle}}",
            f"{s} .dots{{font-size:22px}}",
            f"{s} .more{{font-size:{_NOTE:g}px}}",
            f"{s} .reshape{{font-size:{_NOTE:g}px;fill:#666;text-anchor:middle;font-style:italic}}",
            f"{s} .legend{{font-size:{_NOTE:g}px;fill:#444}}",
            f"{s} .key{{stroke-width:3}}",
        ]
        return "<style>" + "".join(rules) + "</style>"

    def _line(self, ends: Segment, cls: str, data: str, style: str = "") -> str:
        x1, y1, x2, y2 = map(_num, ends)
        data = f" {data}" if data else ""
        return f'<line class="{cls}"{data} x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"{style}/>'

    def _wires(self, k: int) -> list[str]:
        wiring, a, b = self.f.layers[k], self.cols[k], self.cols[k + 1]
        out: list[str] = []
        for ends, (r, c) in self._segments(k):
            i, j = b.column.shown[r], a.column.shown[c]
            data = f'data-layer="{k}" data-i="{i}" data-j="{j}"'
            if wiring.kind == EACH:
                out.append(self._line(ends, "wire each", data))
                continue
            if wiring.kind == ALL:
                out.append(self._line(ends, "wire all", data))
                continue
            w = _weight(wiring, r, c)
            if w is None:
                out.append(self._line(ends, "wire", data))
                continue
            strength = min(abs(w) / wiring.scale, 1.0) if wiring.scale > 0 else 0.0
            sign = "pos" if w > 0 else "neg" if w < 0 else "zero"
            # A wire that carries its label is never too faint to follow to it.
            least = _LABELLED_LEAST if k in self.spots else (0.4, 0.12)
            width = least[0] + (3.0 - least[0]) * strength
            opacity = least[1] + (1.0 - least[1]) * strength
            style = f' style="stroke-width:{width:.2f};stroke-opacity:{opacity:.2f}"'
            out.append(self._line(ends, f"wire {sign}", f"{data} data-w={_attr(repr(w))}", style))
        return out

    def _layer(self, k: int) -> list[str]:
        wiring, a, b = self.f.layers[k], self.cols[k], self.cols[k + 1]
        x = _num((a.x + b.x) / 2)
        out = [
            f'<g class="layer-label" data-layer="{k}" data-kind={_attr(wiring.kind)}>',
            f'<text class="layer" x="{x}" y="26">{_clean(self._layer_name(wiring))}</text>',
            f'<text class="note" x="{x}" y="46">{_clean(self._layer_note(k))}</text>',
            "</g>",
        ]
        if wiring.kind == RESHAPE:
            y = _num((min(a.ys + b.ys) + max(a.ys + b.ys)) / 2)
            out.append(f'<text class="reshape" x="{x}" y="{y}">{_clean(self._reshape(k))}</text>')
        return out

    def _column(self, col: _Col) -> list[str]:
        c, x = col.column, _num(col.x)
        out = [
            f'<g class="column" data-size="{c.size}" data-hidden="{c.hidden}">',
            f'<text class="head" x="{x}" y="26">{_tspans(self._header(c), _HEADER)}</text>',
            f'<text class="size" x="{x}" y="46">{_clean(self._size(c))}</text>',
        ]
        r = _num(self.r)
        for s, k in enumerate(c.shown):
            y = col.ys[s]
            if k is None:
                out.append(
                    f'<g class="gap" data-hidden="{c.hidden}">'
                    f'<text class="dots" x="{x}" y="{_num(y + 1)}">⋮</text>'
                    + _text("more halo", col.x, y + 16, f"{c.hidden:,} more")
                    + "</g>"
                )
                continue
            out.append(f'<circle class="neuron" data-index="{k}" cx="{x}" cy="{_num(y)}" r="{r}"/>')
            label = _tspans(self._neuron(c, k), _NEURON)
            out.append(_text("nl", col.x, y + _NEURON * 0.35, label, raw=True))
        out.append("</g>")
        return out

    def _legend_svg(self) -> list[str]:
        out = ['<g class="legend-box">']
        for n, parts in enumerate(self.legend):
            y = self.legend_y + _LINE * n + 12
            if parts and parts[0][1] in ("pos", "neg"):
                x = 24.0
                for text, kind in parts:  # a key: each colour's line, then its name
                    out.append(self._line((x, y - 4, x + 22, y - 4), f"wire {kind} key", ""))
                    out.append(_text("legend", x + 28, y, text))
                    x += 28 + _width(text, _NOTE) + 2 * _SPACE
                continue
            out.append(_text("legend", 24, y, _tspans(parts, _NOTE), raw=True))
        out.append("</g>")
        return out


@dataclass
class _Around:
    """What a label must keep clear of: wires, boxes, and circles (x, y, r)."""

    segments: list[Segment]
    boxes: list[Box] = field(default_factory=list)
    circles: list[tuple[float, float, float]] = field(default_factory=list)

    def free(self, label: _Label) -> bool:
        """Whether ``label`` stands clear of them all, by 2 px."""
        x0, y0, x1, y1 = label.box()
        box = (x0 - 2, y0 - 2, x1 + 2, y1 + 2)
        for x, y, r in self.circles:
            dx, dy = max(box[0] - x, 0.0, x - box[2]), max(box[1] - y, 0.0, y - box[3])
            if dx * dx + dy * dy < r * r:
                return False
        return not any(_overlap(box, b) for b in self.boxes) and not any(
            _meets(box, s) for s in self.segments
        )


def _fit_labels(
    labels: dict[tuple[int, int], list[Part]],
    wires: dict[tuple[int, int], Segment],
    obstacles: list[Box],
) -> dict[tuple[int, int], tuple[float, float]] | None:
    """A centre for each wire's label, on its wire, such that no other wire passes through
    its box, nor any obstacle or other label's box touches it; None if the search finds none.

    Along each wire the spans where its label's box would meet something are cut out
    (exactly: a box sliding along a line meets a segment or a box over one interval); the
    middles of the longest free stretches are tried first, labels with fewest choices first.
    """
    sizes: dict[tuple[int, int], tuple[float, float]] = {}
    choices: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for key, parts in labels.items():
        top, bottom = _extent(parts, _WIRE)
        hw, hh = _parts_width(parts, _WIRE) / 2, (bottom - top) / 2
        sizes[key] = (hw, hh)
        wire = wires[key]
        length = ((wire[2] - wire[0]) ** 2 + (wire[3] - wire[1]) ** 2) ** 0.5 or 1.0
        blocked = [
            span
            for other, seg in wires.items()
            if other != key
            and (span := _sweep_segment(wire, hw + _TO_WIRE, hh + _TO_WIRE, seg)) is not None
        ]
        blocked += [
            span for box in obstacles if (span := _sweep_box(wire, hw, hh, box)) is not None
        ]
        free, start = [], 0.0
        for lo, hi in sorted(blocked):
            if lo > start:
                free.append((start, min(lo, 1.0)))
            start = max(start, hi)
            if start >= 1.0:
                break
        if start < 1.0:
            free.append((start, 1.0))
        scored = []
        step = 4.0 / length
        for lo, hi in free:
            if hi <= lo:
                continue
            t = lo + (hi - lo) / 2
            for n in range(12):  # the middle, then out from it both ways
                for tt in (t - n * step, t + n * step) if n else (t,):
                    if lo <= tt <= hi:
                        clear = min(tt - lo, hi - tt) * length
                        scored.append((-clear, abs(tt - 0.5), tt))
        scored.sort()
        choices[key] = [
            (wire[0] + t * (wire[2] - wire[0]), wire[1] + t * (wire[3] - wire[1]))
            for _, _, t in scored[:40]
        ]
        if not choices[key]:
            return None
    order = sorted(labels, key=lambda key: (len(choices[key]), key))
    placed: dict[tuple[int, int], tuple[float, float]] = {}
    budget = [5000]

    def clashes(key: tuple[int, int], at: tuple[float, float]) -> bool:
        hw, hh = sizes[key]
        for other, (x, y) in placed.items():
            ow, oh = sizes[other]
            if (
                abs(at[0] - x) < hw + ow + 2 * _TO_LABEL
                and abs(at[1] - y) < hh + oh + 2 * _TO_LABEL
            ):
                return True
        return False

    def search(n: int) -> bool:
        if n == len(order):
            return True
        key = order[n]
        for at in choices[key]:
            budget[0] -= 1
            if budget[0] < 0:
                return False
            if clashes(key, at):
                continue
            placed[key] = at
            if search(n + 1):
                return True
            del placed[key]
        return False

    return dict(placed) if search(0) else None


def _weight(wiring: Wiring, r: int, c: int) -> float | None:
    """The weight from the c-th shown input to the r-th shown output, if the figure has it."""
    if wiring.weights is None or r >= len(wiring.weights):
        return None
    row = wiring.weights[r]
    if row is None or c >= len(row):
        return None
    return row[c]
