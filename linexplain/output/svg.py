"""The post's figure as SVG: columns of neurons, every input wired to every output.

:func:`svg` draws a :class:`~linexplain.document.Figure` left to right: each column is one
sample's features as circles (``x₁``, ``z₁⁽²⁾``, real text with sub- and superscripts), headed by
its name and size; between two columns the layer, named as PyTorch names it, and its wires: a
Linear joins every drawn input to every drawn output (a ``w_ij`` each), an activation each neuron
to its own, a Softmax every input to every output (dashed: no weights), a Flatten that reshapes
none. A column's gap (``⋮ 4,088 more``) stands where the figure hides neurons; wires join only
drawn neurons. With numbers, a wire's colour is its weight's sign and its strength |w| over the
layer's largest. Small layers get their weights (or their values) written on the wires.

Pure string work, no numpy or sympy: a 4096 × 4096 layer is drawn as fast and as small as an
8 × 8 one (the figure is elided before it gets here). Text from the user is escaped, ids are
prefixed (two figures can share a page), and the styles sit in one ``<style>`` scoped to the
figure's id; there is no script, no link and no external resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..document import ALL, DENSE, EACH, RESHAPE, Column, Figure, Wiring
from ..errors import LinexplainError
from ..readable import number

NS = "http://www.w3.org/2000/svg"
POSITIVE, NEGATIVE, NEUTRAL = "#2166ac", "#b2182b", "#8c8c8c"  # ColorBrewer RdBu: colour-blind safe
LABELLED = 4
"""A dense layer gets a label on each wire when it draws at most this many inputs and outputs."""

_SANS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
_SERIF = '"STIX Two Math", "Cambria Math", "Times New Roman", Times, serif'

# Font sizes (px) of the kinds of text, and how far a sub- or superscript moves off the baseline.
_NEURON, _HEADER, _LAYER, _NOTE, _WIRE, _BIAS = 14.0, 20.0, 13.0, 11.5, 11.5, 11.0
_SMALL = 0.72  # a sub- or superscript's size, of its text's
_SUB, _SUP = 0.3, -0.45  # its shift, in its text's ems

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


_NARROW = frozenset("()[]ijlft.,:;'|!1 ")
_WIDE = frozenset("→×−mwMW—")


def _width(s: str, size: float) -> float:
    """About how wide ``s`` is at ``size`` px in a sans-serif font (for the layout, not exact)."""
    total = 0.0
    for ch in s:
        if ch in _NARROW:
            total += 0.34
        elif ch in _WIDE:
            total += 0.9
        elif ch.isupper():
            total += 0.68
        else:
            total += 0.54
    return total * size


Part = tuple[str, str]  # (text, "" | "sub" | "sup")


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


def _parts_width(parts: list[Part], size: float) -> float:
    return sum(
        _width(text, size * (_SMALL if kind in ("sub", "sup") else 1.0)) for text, kind in parts
    )


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


def _text(cls: str, x: float, y: float, content: str, *, raw: bool = False) -> str:
    """A ``<text>`` of class ``cls`` at (x, y): ``content`` escaped, or as it is (``raw``)."""
    body = content if raw else _clean(content)
    return f'<text class="{cls}" x="{_num(x)}" y="{_num(y)}">{body}</text>'


def _num(v: float) -> str:
    """A coordinate to one decimal, without a trailing ``.0``."""
    s = f"{v:.1f}"
    s = s[:-2] if s.endswith(".0") else s
    return "0" if s == "-0" else s


# --- layout -----------------------------------------------------------------------------------


@dataclass
class _Col:
    column: Column
    x: float
    ys: list[float]  # one per entry of column.shown (the gap's too)


class _Drawing:
    """One figure being laid out and written."""

    def __init__(self, figure: Figure, prefix: str):
        self.f = figure
        self.p = prefix
        self.numeric = figure.numeric
        columns = figure.columns
        labels = [self._neuron(c, k) for c in columns for k in c.shown if k is not None]
        widest = max((_parts_width(p, _NEURON) for p in labels), default=0.0)
        self.r = max(17.0, round(widest / 2 + 6, 1))
        biased = any(c.bias for c in columns)
        self.row = round(2 * self.r + (22.0 if biased else 14.0), 1)
        if any(self._labelled(k) for k in range(len(figure.layers))):
            self.row = max(self.row, 72.0)  # labels from one input are t·row apart (t ≥ 0.35)
        headers = [self._header(c) for c in columns]
        # Room beside each column for its header, and between two for the layer's name.
        half = [
            max(_parts_width(h, _HEADER), _width(self._size(c), _NOTE), 2 * self.r) / 2
            for h, c in zip(headers, columns, strict=True)
        ]
        gaps = []
        for k, wiring in enumerate(figure.layers):
            name = max(
                1.12 * _width(self._layer_name(wiring), _LAYER), _width(self._layer_note(k), _NOTE)
            )
            gap = max(200.0, name + half[k] + half[k + 1] + 40)  # (bold is wider)
            if self._labelled(k):
                label = max(_parts_width(p, _WIRE) for p in self._wire_labels(k).values())
                drawn = sum(j is not None for j in columns[k].shown)
                # Labels of wires from different inputs sit at different x (see _wire_text).
                gap = max(gap, (label + 10) * max(drawn - 1, 1) / 0.4 + 2 * self.r + 20)
            gaps.append(round(gap, 1))
        slots = max((len(c.shown) for c in columns), default=1) or 1
        left = max(half[0] if half else 0.0, self.r) + 24
        right = max(half[-1] if half else 0.0, self.r) + 24
        self.top = 78.0 + (14.0 if biased else 0.0)
        x = left
        self.cols: list[_Col] = []
        for k, column in enumerate(columns):
            n = len(column.shown)
            first = self.top + self.r + (slots - n) * self.row / 2
            self.cols.append(
                _Col(column, round(x, 1), [round(first + s * self.row, 1) for s in range(n)])
            )
            if k < len(gaps):
                x += gaps[k]
        keys = self._legend(0.0)[:2] if self.numeric else []  # lines that are not wrapped
        self.width = round(max(480.0, x + right, *(_parts_width(k, _NOTE) + 72 for k in keys)), 1)
        if self.width > x + right:  # centre the columns in a wider picture
            shift = round((self.width - x - right) / 2, 1)
            for col in self.cols:
                col.x = round(col.x + shift, 1)
        self.legend = self._legend(self.width - 48)
        self.legend_y = self.top + slots * self.row + 6
        self.height = round(self.legend_y + 20 * len(self.legend) + 12, 1)

    # names of things

    def _neuron(self, column: Column, k: int | None) -> list[Part]:
        return _symbol(column.letter, _indices(k) if k is not None else "", column.layer)

    def _header(self, column: Column) -> list[Part]:
        return _symbol(column.letter, "", column.layer)

    @staticmethod
    def _size(column: Column) -> str:
        return f"{column.size:,} " + ("neuron" if column.size == 1 else "neurons")

    @staticmethod
    def _layer_name(wiring: Wiring) -> str:
        return wiring.name if wiring.index is None else f"({wiring.index}) {wiring.name}"

    def _layer_note(self, k: int) -> str:
        wiring, wires = self.f.layers[k], self.f.wires(k)
        plural = "" if wires == 1 else "s"
        if wiring.kind == DENSE:
            note = f"{wires:,} weight{plural}"
            if wiring.weights is not None:
                note += f", |w| ≤ {number(wiring.scale, self.f.precision, 'text')}"
            return note
        if wiring.kind == ALL:
            return f"{wires:,} wire{plural}, each output from every input"
        if wiring.kind == RESHAPE:
            return "reshaped: no wires"
        return "each neuron alone"

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

    def _legend(self, room: float) -> list[list[Part]]:
        """The legend's lines (a part of kind "pos" or "neg" is a key line); its last line, of
        remarks, is wrapped to ``room``."""
        f = self.f
        lines: list[list[Part]] = []
        one = [
            ("each line is one weight ", ""),
            *_symbol("w", "ij"),
            (", from input j to output i", ""),
        ]
        if self.numeric:
            largest = max(w.scale for w in f.layers if w.weights is not None)
            one[0] = ("E" + one[0][0][1:], "")
            lines.append(
                [*one, (":  ", ""), ("", "pos"), ("positive  ", ""), ("", "neg"), ("negative.", "")]
            )
            lines.append(
                [
                    (
                        "Its opacity and width grow with |w| over the largest |w| of its layer"
                        f" (largest here: {number(largest, f.precision, 'text')}).",
                        "",
                    )
                ]
            )
        elif any(w.kind == DENSE for w in f.layers):
            lines.append([("In grey, ", ""), *one, (".", "")])
        remarks = []
        if any(w.kind == EACH for w in f.layers):
            remarks.append("one line per neuron: the layer acts on each alone")
        if any(w.kind == ALL for w in f.layers):
            remarks.append("dashed: each output is made from every input, with no weight")
        if any(c.bias for c in f.columns):
            values = any(c.bias_values is not None for c in f.columns)
            remarks.append("the " + ("number" if values else "b") + " above an output is its bias")
        if any(c.hidden for c in f.columns):
            remarks.append("⋮ marks neurons not drawn")
        line = ""
        for remark in remarks:
            if line and _width(f"{line}; {remark}.", _NOTE) > room:
                lines.append([(line[0].upper() + line[1:] + ".", "")])
                line = remark
            else:
                line = f"{line}; {remark}" if line else remark
        if line:
            lines.append([(line[0].upper() + line[1:] + ".", "")])
        return lines

    # writing

    def draw(self, standalone: bool) -> str:
        p = self.p
        w, h = _num(self.width), _num(self.height)
        size = (
            f' width="{w}" height="{h}"'
            if standalone
            # On a phone the figure keeps a readable size and scrolls in its box.
            else f' width="{w}" height="{h}" '
            f'style="max-width:100%;min-width:min({w}px,36rem);height:auto"'
        )
        out = [
            f'<svg xmlns="{NS}" id="{p}" viewBox="0 0 {w} {h}"{size} role="img" '
            f'aria-labelledby="{p}-title {p}-desc" class="linexplain-figure">',
            f'<title id="{p}-title">{_clean(self.f.title)}</title>',
            f'<desc id="{p}-desc">{_clean(self.f.description)}</desc>',
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
        for k in range(len(self.f.layers)):
            if self._labelled(k):
                out.extend(self._wire_text(k))
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
            f"{s} .wl{{font-size:{_WIRE:g}px;text-anchor:middle}}",
            f"{s} .wl.pos{{fill:{POSITIVE}}}",
            f"{s} .wl.neg{{fill:{NEGATIVE}}}",
            f"{s} .bias{{font-size:{_BIAS:g}px;fill:#555;text-anchor:middle}}",
            f"{s} .gap text{{fill:#555;text-anchor:middle}}",
            f"{s} .dots{{font-size:22px}}",
            f"{s} .more{{font-size:{_NOTE:g}px}}",
            f"{s} .reshape{{font-size:{_NOTE:g}px;fill:#666;text-anchor:middle;font-style:italic}}",
            f"{s} .legend{{font-size:{_NOTE:g}px;fill:#444}}",
            f"{s} .key{{stroke-width:3}}",
        ]
        return "<style>" + "".join(rules) + "</style>"

    def _ends(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, ...]:
        """A wire from circle (x0, y0) to circle (x1, y1), from edge to edge."""
        dx, dy = x1 - x0, y1 - y0
        length = (dx * dx + dy * dy) ** 0.5 or 1.0
        ux, uy = dx / length * self.r, dy / length * self.r
        return (x0 + ux, y0 + uy, x1 - ux, y1 - uy)

    def _line(self, ends: tuple[float, ...], cls: str, data: str, style: str = "") -> str:
        x1, y1, x2, y2 = map(_num, ends)
        data = f" {data}" if data else ""
        return f'<line class="{cls}"{data} x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"{style}/>'

    def _wires(self, k: int) -> list[str]:
        wiring, a, b = self.f.layers[k], self.cols[k], self.cols[k + 1]
        out: list[str] = []
        if wiring.kind == RESHAPE:
            return out
        if wiring.kind == EACH:
            rows = {i: r for r, i in enumerate(b.column.shown) if i is not None}
            for c, j in enumerate(a.column.shown):
                if j is not None and j in rows:
                    ends = self._ends(a.x, a.ys[c], b.x, b.ys[rows[j]])
                    out.append(
                        self._line(ends, "wire each", f'data-layer="{k}" data-i="{j}" data-j="{j}"')
                    )
            return out
        for r, i in enumerate(b.column.shown):
            if i is None:
                continue
            for c, j in enumerate(a.column.shown):
                if j is None:
                    continue
                ends = self._ends(a.x, a.ys[c], b.x, b.ys[r])
                data = f'data-layer="{k}" data-i="{i}" data-j="{j}"'
                if wiring.kind == ALL:
                    out.append(self._line(ends, "wire all", data))
                    continue
                w = _weight(wiring, r, c)
                if w is None:
                    out.append(self._line(ends, "wire", data))
                    continue
                strength = min(abs(w) / wiring.scale, 1.0) if wiring.scale > 0 else 0.0
                sign = "pos" if w > 0 else "neg" if w < 0 else "zero"
                width, opacity = 0.4 + 2.6 * strength, 0.12 + 0.88 * strength
                style = f' style="stroke-width:{width:.2f};stroke-opacity:{opacity:.2f}"'
                out.append(
                    self._line(ends, f"wire {sign}", f"{data} data-w={_attr(repr(w))}", style)
                )
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
            what = f"reshaped: last dim {a.column.size:,} → {b.column.size:,}"
            out.append(f'<text class="reshape" x="{x}" y="{y}">{_clean(what)}</text>')
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
            if c.bias:
                value = c.bias_values[s] if c.bias_values is not None else None
                parts = (
                    _symbol("b", _indices(k), c.layer)
                    if value is None
                    else [(number(value, self.f.precision, "text"), "")]
                )
                bias = _tspans(parts, _BIAS)
                out.append(_text("bias halo", col.x, y - self.r - 5, bias, raw=True))
        out.append("</g>")
        return out

    def _wire_text(self, k: int) -> list[str]:
        """A label on each wire of layer ``k``: the wires from the c-th drawn input carry theirs
        at a fraction of the way along that grows with c, so labels from different inputs stand
        apart and those from one input are spread along its fan of wires."""
        a, b = self.cols[k], self.cols[k + 1]
        drawn = [c for c, j in enumerate(a.column.shown) if j is not None]
        out = [f'<g class="wire-labels" data-layer="{k}">']
        for (r, c), parts in self._wire_labels(k).items():
            n = drawn.index(c)
            t = 0.5 if len(drawn) == 1 else 0.35 + 0.4 * n / (len(drawn) - 1)
            x0, y0, x1, y1 = self._ends(a.x, a.ys[c], b.x, b.ys[r])
            x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            w = _weight(self.f.layers[k], r, c)
            sign = "" if w is None else " pos" if w > 0 else " neg" if w < 0 else ""
            out.append(
                _text(f"wl halo{sign}", x, y + _WIRE * 0.35, _tspans(parts, _WIRE), raw=True)
            )
        out.append("</g>")
        return out

    def _legend_svg(self) -> list[str]:
        out = ['<g class="legend-box">']
        for n, parts in enumerate(self.legend):
            y = self.legend_y + 20 * n + 12
            x, run = 24.0, list[Part]()
            for text, kind in [*parts, ("", "end")]:
                if kind in ("pos", "neg", "end") and run:
                    out.append(_text("legend", x, y, _tspans(run, _NOTE), raw=True))
                    x += _parts_width(run, _NOTE)
                    run = []
                if kind in ("pos", "neg"):
                    out.append(self._line((x, y - 4, x + 18, y - 4), f"wire {kind} key", ""))
                    x += 24
                elif kind != "end":
                    run.append((text, kind))
        out.append("</g>")
        return out


def _weight(wiring: Wiring, r: int, c: int) -> float | None:
    """The weight from the c-th shown input to the r-th shown output, if the figure has it."""
    if wiring.weights is None or r >= len(wiring.weights):
        return None
    row = wiring.weights[r]
    if row is None or c >= len(row):
        return None
    return row[c]
