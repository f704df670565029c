"""MathML: a layer's sympy expressions as presentation MathML, under the post's names.

:class:`MathMLWriter` is sympy's presentation printer with our names and our layout: each
symbol is built from the notation's parts (``<msubsup><mi>w</mi><mrow><mn>1</mn><mn>2</mn>
</mrow>…``), never from splitting ``w_1_2``; terms stay in the order written (bias last);
``max(0, z)``, Σ with limits, Wᵀ, ∂L/∂W as a fraction, the ⋯ ⋮ ⋱ gaps and explicit matrices
are written by hand. Those nodes are printed straight to strings (sympy's own printer builds an
``xml.dom.minidom`` tree, slow for a big block); anything else falls back to sympy's printer,
its text escaped (sympy's writes text raw). Every name that goes in is escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import sympy
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pretty.pretty_symbology import greek_unicode

from ..document import Eq, Math, Sym, Text
from ..equations import CDOTS, DDOTS, VDOTS
from ..readable import number

NAMESPACE = "http://www.w3.org/1998/Math/MathML"

_GAPS = {CDOTS: "<mo>⋯</mo>", VDOTS: "<mo>⋮</mo>", DDOTS: "<mo>⋱</mo>"}
_TIMES = "<mo>&#x2062;</mo>"  # invisible times: w x
_DOT = "<mo>⋅</mo>"  # a product with numbers in it: 0.3097⋅0.8380
_MINUS = "<mo>−</mo>"
_SIGN = '<mo form="prefix">−</mo>'


def esc(s: object) -> str:
    """Text made safe inside an element or an attribute."""
    return html.escape(str(s), quote=True)


def _row(*items: str) -> str:
    """Items as one element: an mrow unless there is exactly one (empty items left out)."""
    items = tuple(item for item in items if item)
    return items[0] if len(items) == 1 else "<mrow>" + "".join(items) + "</mrow>"


def _fenced(inner: str, left: str = "(", right: str = ")") -> str:
    return f'<mrow><mo stretchy="false">{left}</mo>{inner}<mo stretchy="false">{right}</mo></mrow>'


def _token(s: str) -> str:
    """One index or layer number: ``<mn>12</mn>`` or ``<mi>i</mi>``."""
    if s.isdigit():
        return f"<mn>{s}</mn>"
    if s.startswith("-") and s[1:].isdigit():
        return f"<mrow>{_SIGN}<mn>{s[1:]}</mn></mrow>"
    return f"<mi>{esc(s)}</mi>"


def number_mathml(v: float, precision: int, *, term: bool = False) -> str:
    """``v`` as :func:`linexplain.readable.number` writes it (decimals, or m × 10ⁿ); as a term
    of a sum or product, a negative number goes in parentheses."""
    s = number(v, precision, "ascii")
    negative = s.startswith("-")
    body = s.lstrip("-")
    if body == "inf":
        out = '<mi mathvariant="normal">∞</mi>'
    elif body == "nan":
        out = '<mi mathvariant="normal">NaN</mi>'
    elif "e" in body:
        mantissa, exponent = body.split("e")
        power = int(exponent)
        sup = f"<mn>{power}</mn>" if power >= 0 else f"<mrow>{_SIGN}<mn>{-power}</mn></mrow>"
        out = f"<mn>{mantissa}</mn><mo>×</mo><msup><mn>10</mn>{sup}</msup>"
    else:
        out = f"<mn>{body}</mn>"
    if negative:  # a sign of its own mrow is a prefix: no space between it and the number
        out = f"<mrow>{_SIGN}{out}</mrow>"
        return _fenced(out) if term else out
    return out if "<mo>" not in out else f"<mrow>{out}</mrow>"


def _function_name(name: str) -> str:
    """A function's name: Φ, σ, max, softmax, GELU with tanh as a subscript."""
    if name in greek_unicode:
        return f"<mi>{greek_unicode[name]}</mi>"
    if "_" in name and not name.startswith("_"):
        head, tail = name.split("_", 1)
        return f"<msub><mi>{esc(head)}</mi><mi>{esc(tail)}</mi></msub>"
    return f"<mi>{esc(name)}</mi>"


class MathMLWriter(MathMLPresentationPrinter):
    """Prints the expressions of one notation as MathML strings.

    ``string(e)`` is the entry point. The nodes our documents hold have ``_mml_<Class>``
    methods returning strings; for any other node sympy's DOM printer runs, its children
    printed by ours (``_print`` turns our strings into DOM nodes).
    """

    def __init__(self, notation: Any, precision: int = 4, *, inline: bool = False):
        super().__init__({"order": "none"})
        self.inline = inline  # in prose: ∂L/∂w with a slash, not a fraction
        from xml.dom.minidom import Text as DomText

        # sympy writes its text nodes raw (so that "&#xB7;" stays an entity); ours are escaped,
        # after the entities sympy means are turned into characters.
        class EscapedText(DomText):
            def writexml(self, writer: Any, indent: str = "", addindent: str = "",
                         newl: str = "") -> None:  # fmt: skip
                writer.write(indent + esc(html.unescape(self.data)) + newl)

        def text_node(data: str) -> Any:
            node = EscapedText()
            node.data = data
            node.ownerDocument = self.dom
            return node

        self.dom.createTextNode = text_node
        self.notation = notation
        self.precision = precision
        self.numbers: dict[Any, float] = {}
        self._names: dict[Any, str] = dict(_GAPS)
        self._methods: dict[type, Callable[[Any], str] | None] = {}

    # --- the entry points ---------------------------------------------------------------------

    def string(self, e: Any) -> str:
        """``e`` as MathML (no ``<math>`` around it)."""
        method = self._method(type(e))
        if method is not None:
            return method(e)
        return str(MathMLPresentationPrinter._print(self, e).toxml())

    def _print(self, e: Any, **kwargs: Any) -> Any:
        """sympy's DOM printer's recursion: our nodes parsed from our strings."""
        method = self._method(type(e))
        if method is None:
            return MathMLPresentationPrinter._print(self, e, **kwargs)
        from xml.dom.minidom import parseString

        root = parseString(f'<math xmlns="{NAMESPACE}">{method(e)}</math>').documentElement
        assert root is not None and root.firstChild is not None
        return self.dom.importNode(root.firstChild, True)

    def _method(self, cls: type) -> Callable[[Any], str] | None:
        if cls not in self._methods:
            found = None
            for base in cls.__mro__:
                found = getattr(self, f"_mml_{base.__name__}", None)
                if found is not None:
                    break
            self._methods[cls] = found
        return self._methods[cls]

    # --- names --------------------------------------------------------------------------------

    def name(self, s: Any) -> str:
        """The MathML name of a symbol of the notation (its value is not looked at)."""
        if s not in self._names:
            n = self.notation
            if s in n.partials:
                target = self.name(n.partials[s])
                if self.inline:
                    self._names[s] = (
                        '<mrow><mi>∂</mi><mi>L</mi><mo lspace="0" rspace="0">/</mo>'
                        f"<mi>∂</mi>{target}</mrow>"
                    )
                else:
                    self._names[s] = (
                        "<mfrac><mrow><mi>∂</mi><mi>L</mi></mrow>"
                        f"<mrow><mi>∂</mi>{target}</mrow></mfrac>"
                    )
            elif s in n.parts:
                self._names[s] = self._part(n.parts[s])
            else:  # a symbol the notation does not know: its own name, whole
                self._names[s] = f"<mi>{esc(getattr(s, 'name', s))}</mi>"
        return self._names[s]

    def _part(self, part: Any) -> str:
        n = self.notation
        letter = f"<mi>{esc(part.letter)}</mi>"
        separator = '<mo separator="true">,</mo>' if n.comma else ""
        sub = separator.join(_token(index) for index in part.indices)
        if len(part.indices) > 1:
            sub = f"<mrow>{sub}</mrow>"
        layer = part.layer if part.layer is not None else n.layer
        sup = _fenced(_token(str(layer))) if part.layered and layer is not None else ""
        if sub and sup:
            return f"<msubsup>{letter}{sub}{sup}</msubsup>"
        if sub:
            return f"<msub>{letter}{sub}</msub>"
        if sup:
            return f"<msup>{letter}{sup}</msup>"
        return letter

    # --- the nodes our documents hold ---------------------------------------------------------

    def _mml_Symbol(self, e: Any) -> str:
        if e in self.numbers:
            return number_mathml(self.numbers[e], self.precision, term=True)
        return self.name(e)

    _mml_MatrixSymbol = _mml_Symbol

    def _argument(self, e: Any) -> str:
        """A function's argument: a number put in needs no parentheses there."""
        if e in self.numbers:
            return number_mathml(self.numbers[e], self.precision)
        return self.string(e)

    def _mml_Number(self, e: Any) -> str:
        if e.is_Integer:
            value = int(e)
            return f"<mn>{value}</mn>" if value >= 0 else f"<mrow>{_SIGN}<mn>{-value}</mn></mrow>"
        if e.is_Rational:
            numerator = _row(_SIGN, f"<mn>{-e.p}</mn>") if e.p < 0 else f"<mn>{e.p}</mn>"
            return f"<mfrac>{numerator}<mn>{e.q}</mn></mfrac>"
        text = sympy.sstr(
            e, full_prec=False
        )  # a constant of a formula (a slope): as sympy writes it
        if not re.fullmatch(r"-?\d+(\.\d+)?", text):
            return number_mathml(float(e), self.precision)
        return f"<mn>{text}</mn>" if text[0] != "-" else f"<mrow>{_SIGN}<mn>{text[1:]}</mn></mrow>"

    def _negated(self, term: Any) -> Any | None:
        """``-term`` when ``term`` is written with a leading minus (c·x with c < 0), else None."""
        if term.is_Number and term < 0:
            return -term
        if isinstance(term, sympy.Mul) and term.args and term.args[0].is_Number:
            if term.args[0] < 0:
                rest = (-term.args[0], *term.args[1:]) if term.args[0] != -1 else term.args[1:]
                return sympy.Mul(*rest, evaluate=False) if len(rest) > 1 else rest[0]
        return None

    def _mml_Add(self, e: Any) -> str:
        out = []
        for k, term in enumerate(e.args):
            negated = self._negated(term) if not isinstance(e, sympy.MatAdd) else None
            if negated is not None:
                out += [_MINUS, self._factor(negated, PRECEDENCE["Add"])]
            else:
                out += ["<mo>+</mo>"] if k else []
                out.append(self._factor(term, PRECEDENCE["Add"]))
        return _row(*out)

    def _factor(self, e: Any, level: int) -> str:
        """``e`` inside an operation of precedence ``level``: in parentheses when it binds
        less tightly."""
        text = self.string(e)
        if e in self.numbers or e in self._names or not isinstance(e, sympy.Basic):
            return text
        return _fenced(text) if precedence(e) < level else text

    def _mml_Mul(self, e: Any) -> str:
        negated = self._negated(e)
        if negated is not None:
            return _row(_MINUS, self._factor(negated, PRECEDENCE["Mul"]))
        factors = list(e.args) if isinstance(e, sympy.MatMul) else e.as_ordered_factors()
        over = [f for f in factors if f.is_Pow and f.exp == -1]
        if over:  # a ratio (Softmax's): a fraction
            top = [f for f in factors if f not in over]
            below = [f.base for f in over]
            num = self.string(sympy.Mul(*top, evaluate=False)) if top else "<mn>1</mn>"
            den = self.string(sympy.Mul(*below, evaluate=False))
            return f"<mfrac>{num}{den}</mfrac>"
        numeric = self.numbers or any(f.is_Number for f in factors)
        times = _DOT if numeric else _TIMES
        items: list[str] = []
        for f in factors:
            items += [times] if items else []
            items.append(self._factor(f, PRECEDENCE["Mul"]))
        return _row(*items)

    def _mml_Sum(self, e: Any) -> str:
        body = self._factor(e.function, PRECEDENCE["Mul"])
        limits = []
        for limit in e.limits:
            var, low, high = (*tuple(limit), None, None)[:3]
            under = (
                self.string(var)
                if low is None
                else _row(self.string(var), "<mo>=</mo>", self.string(low))
            )
            over = "" if high is None else self.string(high)
            if over:
                limits.append(f"<munderover><mo>∑</mo>{under}{over}</munderover>")
            else:
                limits.append(f"<munder><mo>∑</mo>{under}</munder>")
        return _row(*limits, body)

    def _mml_Transpose(self, e: Any) -> str:
        return (
            f'<msup>{self._factor(e.arg, PRECEDENCE["Pow"])}<mi mathvariant="normal">T</mi></msup>'
        )

    def _call(self, name: str, args: Any) -> str:
        inner = '<mo separator="true">,</mo>'.join(self._argument(a) for a in args)
        return f"<mrow>{name}<mo>&#x2061;</mo>{_fenced(_row(inner) if inner else '')}</mrow>"

    def _mml_Max(self, e: Any) -> str:
        # max(0, z) as written, never sympy's Piecewise or its reordered arguments
        return self._call(f"<mi>{type(e).__name__.lower()}</mi>", e.args)

    _mml_Min = _mml_Max

    def _mml_Function(self, e: Any) -> str:
        return self._call(_function_name(type(e).__name__), e.args)

    def _mml_Equality(self, e: Any) -> str:
        return _row(self.string(e.lhs), "<mo>=</mo>", self.string(e.rhs))

    def _mml_MatrixBase(self, e: Any) -> str:
        rows = "".join(
            "<mtr>"
            + "".join(f"<mtd>{self.string(e[r, c])}</mtd>" for c in range(e.cols))
            + "</mtr>"
            for r in range(e.rows)
        )
        return f"<mrow><mo>[</mo><mtable>{rows}</mtable><mo>]</mo></mrow>"

    # --- a row of a block ---------------------------------------------------------------------

    def sides(self, row: Eq) -> tuple[str, str]:
        """The left side, and the right side (``= value`` after it when the row has one)."""
        self.numbers = row.numbers or {}
        try:
            lhs, rhs = self.string(row.lhs), self.string(row.rhs)
        finally:
            self.numbers = {}
        if row.value is not None:
            rhs = _row(rhs, "<mo>=</mo>", number_mathml(row.value, self.precision))
        return lhs, rhs

    def prose(self, t: Text) -> str:
        """A remark inside maths: its words as text, its maths as maths."""
        out = []
        for part in t:
            if isinstance(part, Sym):
                out.append(MathMLWriter(part.notation, self.precision).string(part.expr))
            elif part.strip():
                out.append(f"<mtext>{esc(part)}</mtext>")
        return _row(*out) if out else ""

    def where(self, t: Text) -> str:
        """``for i = 1, …, 3; j = 1, …, 3``: its letters and numbers as maths."""
        out = ["<mtext>for</mtext>", '<mspace width="0.5em"/>']
        for part in t:
            if isinstance(part, Sym):
                out.append(MathMLWriter(part.notation, self.precision).string(part.expr))
                continue
            for m in _WHERE.finditer(part):
                word, digits, _, sign = m.groups()
                if word:
                    out.append(
                        f"<mi>{esc(word)}</mi>" if len(word) == 1 else f"<mtext>{esc(word)}</mtext>"
                    )
                elif digits:
                    out.append(f"<mn>{digits}</mn>")
                elif sign is None:  # a space: maths spaces itself
                    continue
                elif sign in ",;":
                    out.append(f'<mo separator="true">{sign}</mo>')
                    out.append('<mspace width="0.5em"/>' if sign == ";" else "")
                elif sign in "…⋯":  # an ellipsis is not an operator: no space around it
                    out.append(f'<mi mathvariant="normal">{sign}</mi>')
                else:
                    out.append(f"<mo>{esc(sign)}</mo>")
        return _row(*[item for item in out if item])


_WHERE = re.compile(r"([^\W\d_]+)|(\d+(?:\.\d+)?)|(\s+)|(.)")

# Chromium lays out a cell's maths by the legacy -webkit- values of text-align only; Firefox and
# Safari read columnalign too.
_LHS = ' style="text-align:right;text-align:-webkit-right;padding-left:0;padding-right:0"'
_RHS = ' style="text-align:left;text-align:-webkit-left;padding-left:0;padding-right:0"'
_BESIDE = ' style="text-align:left;text-align:-webkit-left;padding-left:2em;padding-right:0"'


def math_mathml(block: Math) -> str:
    """A maths block as one ``<math display="block">`` element.

    An aligned block is a table with its ``=`` signs lined up (⋮ for a gap); otherwise each
    line is a row of its own, its ``for i = …`` in a column beside it and its remark after it.
    Alignment is given both as MathML attributes and as inline CSS (MathML Core reads only CSS).
    """
    printer = MathMLWriter(block.notation, block.precision)
    rows = [row for row in block.rows if row is not None or block.aligned]
    sides = [None if row is None else printer.sides(row) for row in rows]
    wheres = ["" if row is None or not row.where else printer.where(row.where) for row in rows]
    asides = [_aside(printer, row) for row in rows]
    third = any(wheres)
    if len(rows) == 1 and not third and sides[0] is not None:
        body = _row(sides[0][0], "<mo>=</mo>", sides[0][1], asides[0])
        return f'<math xmlns="{NAMESPACE}" display="block">{body}</math>'
    lines = []
    for side, where, aside in zip(sides, wheres, asides, strict=True):
        if side is None:
            cells = f'<mtd columnalign="right"{_LHS}><mo>⋮</mo></mtd><mtd></mtd>'
        elif block.aligned:
            cells = (
                f'<mtd columnalign="right"{_LHS}>{side[0]}</mtd>'
                f'<mtd columnalign="left"{_RHS}>{_row("<mo>=</mo>", side[1], aside)}</mtd>'
            )
        else:
            equation = _row(side[0], "<mo>=</mo>", side[1], aside)
            cells = f'<mtd columnalign="left"{_RHS}>{equation}</mtd>'
        if third:
            cells += f'<mtd columnalign="left"{_BESIDE}>{where}</mtd>'
        lines.append(f"<mtr>{cells}</mtr>")
    table = f'<mtable displaystyle="true" rowspacing="0.4em">{"".join(lines)}</mtable>'
    return f'<math xmlns="{NAMESPACE}" display="block">{table}</math>'


def _aside(printer: MathMLWriter, row: Eq | None) -> str:
    """A remark written after a row, in parentheses (nothing when the row has none)."""
    if row is None or not row.aside:
        return ""
    aside = printer.prose(row.aside)
    if not aside:
        return ""
    return (
        '<mspace width="2em"/><mrow class="aside"><mo stretchy="false">(</mo>'
        f'{aside}<mo stretchy="false">)</mo></mrow>'
    )


def inline_mathml(sym: Sym, precision: int = 4) -> str:
    """Inline maths in prose as a ``<math>`` element."""
    body = MathMLWriter(sym.notation, precision, inline=True).string(sym.expr)
    return f'<math xmlns="{NAMESPACE}">{body}</math>'


def row_mathml(row: Eq, notation: Any, precision: int = 4) -> str:
    """One row as ``lhs = rhs`` in a ``<math display="block">``."""
    lhs, rhs = MathMLWriter(notation, precision).sides(row)
    return f'<math xmlns="{NAMESPACE}" display="block">{_row(lhs, "<mo>=</mo>", rhs)}</math>'


__all__ = ["MathMLWriter", "inline_mathml", "math_mathml", "number_mathml", "row_mathml"]
