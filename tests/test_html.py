"""The HTML page and its MathML: well-formed, offline, escaped, the maths as the text writer's.

Every command's document is written as a page; each page's tags balance, each ``<math>`` is
well-formed XML, nothing is fetched or run, and every user-given name is escaped. The maths is
checked against the text writer: each aligned row, its tokens read in order, says what the
text writer's line says (same terms in the same order, same numbers).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linexplain import Request, View, lessons
from linexplain.document import (
    Code,
    Column,
    Doc,
    Eq,
    Figure,
    Lines,
    Math,
    Notes,
    Section,
    Sym,
    Table,
    Tensor,
    Wiring,
)
from linexplain.equations import Notation
from linexplain.netspec import parse_net
from linexplain.network import Network
from linexplain.output.html import CSP, html, html_fragment
from linexplain.output.mathml import inline_mathml, math_mathml
from linexplain.output.text import math_lines, plain

MATHML = "http://www.w3.org/1998/Math/MathML"
SVG = "http://www.w3.org/2000/svg"
M = "{" + MATHML + "}"
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}
HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def net(spec: str) -> Network:
    return Network.of(parse_net(spec))


DOCS = {
    "explain": lambda: lessons.explain(Request()),
    "explain-net": lambda: lessons.explain(Request(network=net("4,3,relu,2"))),
    "explain-net-gelu": lambda: lessons.explain(Request(network=net("4,3,gelu,2,softmax"))),
    "explain-net-acts": lambda: lessons.explain(
        Request(network=net("4,3,leakyrelu,3,tanh,3,sigmoid,3,silu,3,gelu(tanh),2"), seed=0)
    ),
    "expand-layer": lambda: lessons.expand(
        Request(in_features=3, out_features=2, view=View(layer=2))
    ),
    "expand-seed": lambda: lessons.expand(Request(in_features=3, out_features=2, seed=0)),
    "expand-scalar": lambda: lessons.expand(Request(in_features=3, out_features=2, form="scalar")),
    "expand-matrix": lambda: lessons.expand(Request(in_features=3, out_features=2, form="matrix")),
    "expand-pytorch": lambda: lessons.expand(
        Request(in_features=3, out_features=2, form="pytorch")
    ),
    "expand-4096": lambda: lessons.expand(
        Request(in_features=4096, out_features=4096, view=View(layer=2))
    ),
    "expand-4096-matrix-seed": lambda: lessons.expand(
        Request(in_features=4096, out_features=4096, form="matrix", seed=0)
    ),
    "expand-net": lambda: lessons.expand(Request(network=net("4,3,leakyrelu,2"))),
    "shape": lambda: lessons.shape(
        Request(in_features=3, out_features=3, input_shape=("N", "C", 3))
    ),
    "run-steps": lambda: lessons.run(Request(in_features=3, out_features=2, seed=0, steps=True)),
    "run-net": lambda: lessons.run(Request(network=net("4,3,relu,2"), seed=0, steps=True)),
    "grad": lambda: lessons.grad(Request(in_features=3, out_features=2, input_shape=(4, 3))),
    "grad-net": lambda: lessons.grad(Request(network=net("4,3,relu,2"), seed=0)),
    "draw": lambda: lessons.draw(Request(network=net("784,256,relu,10"), seed=0)),
}


@pytest.fixture(scope="module")
def docs() -> dict[str, Doc]:
    return {name: make() for name, make in DOCS.items()}


@pytest.fixture(scope="module")
def pages(docs: dict[str, Doc]) -> dict[str, str]:
    return {name: html(doc) for name, doc in docs.items()}


# --- reading what was written ------------------------------------------------------------------


class Tags(HTMLParser):
    """Checks that tags balance (void elements aside) and records what a page holds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and "math" not in self.stack and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and "math" not in self.stack:
            self._cell = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and "math" not in self.stack:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    tags.close()
    assert not tags.errors, tags.errors[:5]
    assert not tags.stack, f"unclosed: {tags.stack}"
    return tags


def maths(page: str) -> list[ET.Element]:
    """Every <math> element of a page, parsed as XML (so each must be well-formed)."""
    found = re.findall(r"<math\b.*?</math>", page, flags=re.S)
    return [ET.fromstring(m) for m in found]


_SUBS = str.maketrans(
    "₀₁₂₃₄₅₆₇₈₉ᵢⱼₛ₌ₐₑₕₖₗₘₙₒₚᵣₜᵤᵥₓ⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾⁻", "0123456789ijs=aehklmnoprtuvx0123456789()−"
)
_TOKENS = {M + t for t in ("mi", "mn", "mo", "mtext")}


def flat(e: ET.Element) -> str:
    """What an element reads as, token by token (a subscript after its base)."""
    if e.tag in _TOKENS:
        return e.text or ""
    return "".join(flat(child) for child in e)


def normal(s: str) -> str:
    """A line of maths with what only spaces and looks differ taken out: sub- and
    superscripts as digits, no spaces, no multiplication dots, ∂L/∂w as ∂L∂w, a ratio's / (a
    fraction in MathML)."""
    s = s.translate(_SUBS)
    for sign in (" ", "⋅", "\u2062", "\u2061", "\xa0"):
        s = s.replace(sign, "")
    s = s.replace("Σ", "∑").replace("∂L/∂", "∂L∂").replace("...", "…").replace(")/∑", ")∑")
    # a number alone inside f(…): the text writer keeps its parentheses, MathML drops them
    return re.sub(r"(?<=[(,])\((−[0-9.]+)\)(?=\))", r"\1", s)


# --- every page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DOCS))
def test_every_page_is_well_formed_and_offline(pages: dict[str, str], name: str) -> None:
    page = pages[name]
    assert page.startswith("<!DOCTYPE html>\n")
    tags = read(page)
    starts = [tag for tag, _ in tags.starts]
    assert starts[:2] == ["html", "head"]
    assert dict(tags.starts[0][1]) == {"lang": "en"}
    meta = [attrs for tag, attrs in tags.starts if tag == "meta"]
    assert {"charset": "utf-8"} in meta
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in meta
    csp = [m["content"] for m in meta if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp == [CSP] and "default-src 'none'" in CSP and "script-src" in CSP
    head = starts[: starts.index("body")]
    assert head.count("title") == 1 and starts.count("h1") == 1
    # nothing runs, nothing is fetched
    assert "<script" not in page.lower()
    for tag, attrs in tags.starts:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert tag not in ("script", "link", "iframe", "object", "embed", "img", "base")
    urls = set(re.findall(r"https?://[^\s\"'<>)]*", page))
    assert urls <= {MATHML, SVG}, urls
    assert "url(" not in page and "@import" not in page
    for element in maths(page):
        assert element.tag == M + "math"


@pytest.mark.parametrize("name", list(DOCS))
def test_no_latex_leaks_into_maths(pages: dict[str, str], name: str) -> None:
    for element in maths(pages[name]):
        for token in element.iter():
            if token.tag in _TOKENS:
                text = token.text or ""
                assert not set(text) & set("{}\\_^"), (token.tag, text)


def test_every_kind_of_block(pages: dict[str, str], docs: dict[str, Doc]) -> None:
    page = pages["explain"]
    read(page)
    # parts: bigger headings, without the terminal's rules
    assert '<h2 class="part">1. The shape walk' in page and "━" not in page
    assert '<h3 class="section">' in page
    # the figure, inline, captioned
    figure = re.search(r"<figure>(.*?)</figure>", page, flags=re.S)
    assert figure is not None
    assert f'<svg xmlns="{SVG}"' in figure.group(1) and "<figcaption>" in figure.group(1)
    # the code, the notes, the lines
    assert '<pre><code class="language-python">import torch\n' in page
    assert '<div class="notes"><p>' in page
    assert '<div class="lines"><p class="line">' in page
    # aligned maths: = signs lined up in a table; matrices in brackets
    assert '<mtd columnalign="right"' in page and '<mtd columnalign="left"' in page
    assert "<mo>[</mo><mtable>" in page and "</mtable><mo>]</mo>" in page
    # a Math block's hidden rows are said after it
    grad = pages["grad"]
    assert re.search(r"</math></div>\n<p class=\"hidden\">\(hidden: 4 of the 12 rows", grad)
    # no parts: sections are the top headings
    assert '<h2 class="section">' in grad and '<h2 class="part">' not in grad


def test_css_reads_on_a_phone_and_in_print(pages: dict[str, str]) -> None:
    page = pages["explain"]
    style = page[page.index("<style>") : page.index("</style>")]
    assert "overflow-x: auto" in style and "max-width: 56rem" in style
    assert "@media print" in style and "break-inside: avoid" in style
    assert "prefers-color-scheme: dark" in style and "system-ui" in style
    assert "h2.part" in style


def test_fragment_for_jupyter(docs: dict[str, Doc]) -> None:
    doc = docs["explain"]
    first, second = html_fragment(doc), html_fragment(doc)
    for fragment in (first, second):
        assert fragment.startswith('<div class="linexplain">\n<style>')
        assert fragment.rstrip().endswith("</div>")
        assert "<html" not in fragment and "<!DOCTYPE" not in fragment
        assert "<script" not in fragment
        read(fragment)
        # the styles are scoped: every rule names .linexplain (or is an @media block)
        style = fragment[fragment.index("<style>") + 7 : fragment.index("</style>")]
        for selector in re.findall(r"([^{}]+)\{", style):
            selector = selector.strip()
            assert selector.startswith("@media") or all(
                part.strip().startswith(".linexplain") for part in selector.split(",")
            ), selector
    # two fragments in one notebook: their figures' ids differ
    ids = [set(re.findall(r'\sid="([^"]+)"', f)) for f in (first, second)]
    assert ids[0] and not ids[0] & ids[1]
    # the page's body is the same content
    assert first.split("</style>\n", 1)[1].count("<math") == html(doc).count("<math")


# --- the maths ----------------------------------------------------------------------------------


def test_terms_in_the_written_order(pages: dict[str, str]) -> None:
    first = maths(pages["explain"])[0]
    row = next(first.iter(M + "mtr"))
    assert normal(flat(row)) == "z1=w11x1+w12x2+w13x3+b1"
    names = [flat(e) for e in row.iter() if e.tag == M + "msub"]
    assert names == ["z1", "w11", "x1", "w12", "x2", "w13", "x3", "b1"]  # bias last
    # the names are built from the notation's parts, not sympy's splitting of w_1_2
    assert "<msub><mi>w</mi><mrow><mn>1</mn><mn>2</mn></mrow></msub>" in pages["explain"]
    assert (
        "<msubsup><mi>w</mi><mrow><mn>1</mn><mn>2</mn></mrow>"
        '<mrow><mo stretchy="false">(</mo><mn>2</mn><mo stretchy="false">)</mo></mrow></msubsup>'
    ) in pages["expand-layer"]


def test_relu_is_max_of_zero(pages: dict[str, str]) -> None:
    page = pages["explain-net"]
    rows = [normal(flat(e)) for m in maths(page) for e in m.iter(M + "mtr")]
    assert "a1(2)=max(0,z1(2))" in rows
    assert "Piecewise" not in page and "Max" not in page and "Heaviside" not in page
    assert "a1(2)=max(0,−1.2508)=0.0000" in rows  # a number put in: no parentheses needed


def test_hand_written_forms(pages: dict[str, str]) -> None:
    grad = pages["grad"]
    # ∂L/∂w as a fraction, Σ with its limits
    assert "<mfrac><mrow><mi>∂</mi><mi>L</mi></mrow><mrow><mi>∂</mi><msub><mi>w</mi>" in grad
    assert "<munderover><mo>∑</mo><mrow><mi>s</mi><mo>=</mo><mn>1</mn></mrow><mn>4</mn>" in grad
    # the where-clause as maths, a gap as ⋮
    rows = [normal(flat(e)) for m in maths(grad) for e in m.iter(M + "mtr")]
    assert "∂L∂wij=∑s=14gsixsjfori=1,…,2;j=1,…,3" in rows
    assert "⋮" in rows
    # Wᵀ, and explicit matrices with the elision's ⋯ ⋮ ⋱
    explain = pages["explain"]
    assert '<msup><mi>W</mi><mi mathvariant="normal">T</mi></msup>' in explain
    big = pages["expand-4096"]
    for gap in ("<mo>⋯</mo>", "<mo>⋮</mo>", "<mo>⋱</mo>"):
        assert gap in big
    # numbers: a negative one in parentheses as a term, then "= value"
    run = pages["run-steps"]
    assert (
        '<mrow><mo stretchy="false">(</mo><mrow><mo form="prefix">−</mo><mn>0.0043</mn></mrow>'
        '<mo stretchy="false">)</mo></mrow><mo>⋅</mo>'
    ) in run
    rows = [normal(flat(e)) for m in maths(run) for e in m.iter(M + "mtr")]
    assert "z1=(−0.0043)(−1.0845)+0.3097(−1.3986)+(−0.4752)0.4033+(−0.0114)=−0.6316" in rows


def test_prose_names_a_layer_in_unicode(pages: dict[str, str]) -> None:
    """A network's prose names a⁽¹⁾, W⁽²⁾, δ⁽²⁾ as its maths does, not a^(1)."""
    assert '<p class="line">a⁽¹⁾ = x, of shape (N, 4)</p>' in pages["expand-net"]
    assert '<h2 class="section">(0) W⁽²⁾ = net[0].weight (3, 4)</h2>' in pages["run-net"]
    assert "δ⁽²⁾ = ∂L/∂a⁽²⁾ ⊙ ReLU′(z⁽²⁾)" in pages["grad-net"]
    for name in ("expand-net", "run-net", "grad-net", "explain-net"):
        assert "^(" not in pages[name], name


def test_maths_say_what_the_text_writer_says(docs: dict[str, Doc]) -> None:
    """Each aligned row read token by token is the text writer's line: the same names, terms
    in the same order, the same numbers (run --steps, expand --seed, grad, activations)."""
    checked = 0
    for doc in docs.values():
        for section in doc.sections:
            for block in section.blocks:
                if not isinstance(block, Math) or not block.aligned:
                    continue
                text = math_lines(block, "text")
                written = ET.fromstring(math_mathml(block))
                rows = list(written.iter(M + "mtr")) or [written]
                for row, line in zip(rows, text, strict=False):
                    assert normal(flat(row)) == normal(line), (line, flat(row))
                    checked += 1
    assert checked > 100


def test_tables_equal_the_text_writers(docs: dict[str, Doc], pages: dict[str, str]) -> None:
    """Every table cell, numbers above all, is the text writer's (run, grad, shape…)."""
    checked = 0
    for name, doc in docs.items():
        lines = {tuple(line.split()) for line in plain(doc).splitlines()}
        for table in read(pages[name]).tables:
            for row in table:
                words = tuple(" ".join(row).split())
                assert words in lines, (name, row)
                checked += 1
    assert checked > 200
    run = read(pages["run-steps"]).tables
    assert ["0", "-0.6316", "1.2920"] in [row for table in run for row in table]


def test_inline_and_block_api() -> None:
    n = Notation(3, 2, View(layer=2))
    w = n.w(1, 2)
    inline = inline_mathml(Sym(w, n))
    assert inline.startswith(f'<math xmlns="{MATHML}">') and 'display="block"' not in inline
    ET.fromstring(inline)
    block = math_mathml(Math([Eq(n.z(1), sympy.Add(w * n.x(2), n.b(1), evaluate=False))], n))
    assert block.startswith(f'<math xmlns="{MATHML}" display="block">')
    assert normal(flat(ET.fromstring(block))) == "z1(2)=w12(2)x2+b1(2)"
    # inline, ∂L/∂w is written on one line
    d = n.partial(w)
    inline = inline_mathml(Sym(d, n))
    assert '<mo lspace="0" rspace="0">/</mo>' in inline and "<mfrac>" not in inline
    assert flat(ET.fromstring(inline)).translate(_SUBS) == "∂L/∂w12(2)"
    assert "<mfrac>" in math_mathml(Math([Eq(d, n.x(2))], n))


def test_anything_else_through_sympys_printer() -> None:
    """A node our printer does not write goes through sympy's, with our names inside."""
    n = Notation(3, 2, View())
    x = n.x(1)
    written = math_mathml(Math([Eq(n.z(1), x**2 + sympy.exp(n.b(1)))], n))
    element = ET.fromstring(written)
    assert "<msup><msub><mi>x</mi><mn>1</mn></msub><mn>2</mn></msup>" in written
    assert normal(flat(element)).startswith("z1=x12+")


# --- hostile names -------------------------------------------------------------------------------


def hostile_doc() -> Doc:
    script, attribute = HOSTILE
    n = Notation(2, 2, View())
    stranger = sympy.Symbol(script)  # not in the notation: named by its own name
    function = sympy.Function(attribute)
    figure = Figure(
        [Column("x", None, 2, (1, 2)), Column("z", None, 2, (1, 2), bias=True)],
        [Wiring("dense", attribute)],
        title=script,
        description=attribute,
    )
    return Doc(
        (script,),
        (attribute, Sym(stranger, n)),
        [
            Section((script,), part=True),
            Section(
                (attribute,),
                [
                    Table([(script, attribute)], header=(attribute, script), numeric=True),
                    Lines([(script,), ("  ", attribute)]),
                    Notes([(attribute,)]),
                    Code(script, language=attribute),
                    Math(
                        [
                            Eq(stranger, function(n.x(1)) + stranger**2, where=(script,)),
                            Eq(n.z(1), stranger, aside=(attribute,)),
                        ],
                        n,
                        hidden=(script,),
                    ),
                    figure,
                ],
            ),
        ],
    )


def test_hostile_names_are_escaped() -> None:
    doc = hostile_doc()
    for page in (html(doc), html_fragment(doc)):
        assert "<script" not in page and "<img" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
        tags = read(page)
        assert all(tag not in ("script", "img") for tag, _ in tags.starts)
        assert all(not k.startswith("on") for _, attrs in tags.starts for k in attrs)
        for element in maths(page):
            for token in element.iter():
                assert not token.tag.endswith(("script", "img"))
    title = re.search(r"<title>(.*)</title>", html(doc))
    assert title is not None and title.group(1) == "&lt;script&gt;alert(1)&lt;/script&gt;"


# --- open-ended input -----------------------------------------------------------------------------


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    in_features=st.integers(1, 12),
    out_features=st.integers(1, 12),
    layer=st.one_of(st.none(), st.integers(1, 12)),
    index_base=st.sampled_from([0, 1]),
    precision=st.integers(0, 6),
    max_terms=st.integers(2, 9),
    bias=st.booleans(),
    seed=st.one_of(st.none(), st.integers(0, 2**31)),
)
def test_any_layer_writes_well_formed_maths(
    in_features: int,
    out_features: int,
    layer: int | None,
    index_base: int,
    precision: int,
    max_terms: int,
    bias: bool,
    seed: int | None,
) -> None:
    view = View(layer=layer, index_base=index_base, precision=precision, max_terms=max_terms)
    request = Request(
        in_features=in_features, out_features=out_features, bias=bias, view=view, seed=seed
    )
    page = html(lessons.expand(request))
    read(page)
    found = maths(page)
    assert found
    for element in found:
        for token in element.iter():
            if token.tag in _TOKENS:
                assert not set(token.text or "") & set("{}\\_^"), token.text
    first = next(found[0].iter(M + "mtr"), found[0])
    expected = f"w{index_base}{index_base}" if max(in_features, out_features) < 10 else None
    if expected:
        assert expected in normal(flat(first))


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    activation=st.sampled_from(["relu", "leakyrelu", "tanh", "sigmoid", "gelu", "silu"]),
    seed=st.integers(0, 1000),
)
def test_any_network_writes_well_formed_maths(sizes: list[int], activation: str, seed: int) -> None:
    spec = ",".join([str(sizes[0]), *(f"{s},{activation}" for s in sizes[1:-1]), str(sizes[-1])])
    doc = lessons.explain(Request(network=net(spec), seed=seed))
    page = html(doc)
    read(page)
    assert maths(page)
    for section in doc.sections:
        for block in section.blocks:
            if isinstance(block, Math) and block.aligned:
                rows = list(ET.fromstring(math_mathml(block)).iter(M + "mtr"))
                for row, line in zip(rows, math_lines(block, "text"), strict=False):
                    assert normal(flat(row)) == normal(line)


def test_tensor_blocks(docs: dict[str, Doc]) -> None:
    """A tensor is the text writer's tensor_table: its labels as row headers, its numbers
    right-aligned."""
    doc = docs["run-steps"]
    tensors = [b for s in doc.sections for b in s.blocks if isinstance(b, Tensor)]
    assert tensors
    page = html(doc)
    assert '<th scope="row">0</th><td class="num">-0.0043</td>' in page
    assert '<th scope="col" class="num">0</th>' in page
