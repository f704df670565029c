"""Notebook display: ``linexplain.explain(...)`` and ``linexplain.draw(...)`` in a Jupyter cell.

IPython's own display formatter (the one a kernel uses to build a cell's output) turns a
:class:`~linexplain.api.Lesson` into a mime bundle: HTML (the page's section, with MathML and
the figure), SVG for a figure, LaTeX for a lesson that is maths only, and plain text. Each part
is checked to parse; and, in the browser (see conftest.py), the HTML fragment placed in a
notebook-like page lays out its maths and figure, leaves the notebook's own styles alone, and
two lessons in one notebook do not share an id.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

import linexplain

MATHML = "http://www.w3.org/1998/Math/MathML"
SVG = "{http://www.w3.org/2000/svg}"
HTML_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
             "track", "wbr"}  # fmt: skip
TITLE = "nn.Linear(in_features=4, out_features=3, bias=True)"


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    """IPython's interactive shell, as a kernel has it: its profile in a temp folder, no history
    file; afterwards the globals it set (the builtins, sys.ps1, __main__) are put back."""
    import builtins

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    saved_builtins = {name: getattr(builtins, name, None) for name in ("__IPYTHON__", "display")}
    saved_sys = {name: getattr(sys, name, None) for name in ("ps1", "ps2", "ps3")}
    saved_main = sys.modules.get("__main__")
    config = Config()
    config.HistoryManager.enabled = False
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
        instance = InteractiveShell.instance(config=config)
        try:
            yield instance
        finally:
            InteractiveShell.clear_instance()
            for name, value in saved_builtins.items():
                if value is None:
                    vars(builtins).pop(name, None)
                else:
                    setattr(builtins, name, value)
            for name, value in saved_sys.items():
                if value is None:
                    vars(sys).pop(name, None)
                else:
                    setattr(sys, name, value)
            if saved_main is not None:
                sys.modules["__main__"] = saved_main


def bundle(shell, lesson) -> dict[str, str]:
    """The cell output's mime bundle, as IPython's display formatter makes it."""
    data, metadata = shell.display_formatter.format(lesson)
    assert isinstance(metadata, dict)
    return data


class Fragment(HTMLParser):
    """What an HTML fragment holds: its start tags in order, every tag closed, the text of its
    first <h1>, and the namespaces its <math> and <svg> elements declare."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.open: list[str] = []
        self.unclosed: list[str] = []
        self.h1: str | None = None
        self.namespaces: dict[str, set[str | None]] = {"math": set(), "svg": set()}
        self._in_h1 = False
        self.feed(html)
        self.close()
        self.unclosed += self.open

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in self.namespaces:
            self.namespaces[tag].add(dict(attrs).get("xmlns"))
        if tag == "h1" and self.h1 is None:
            self._in_h1, self.h1 = True, ""
        if tag not in HTML_VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)  # <line/>, <mspace/>: opened and closed at once

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.unclosed.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")

    def handle_data(self, data):
        if self._in_h1:
            self.h1 += data


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def assert_fragment(html: str, title: str) -> Fragment:
    """An HTML fragment for a notebook cell: one block, no page around it, no script, every
    tag closed, the lesson's title in its heading, MathML maths."""
    assert html.lstrip().startswith("<div"), html[:80]
    assert not re.search(r"<(!doctype|html|head|body|script)\b", html, re.I), html[:200]
    fragment = Fragment(html)
    assert fragment.unclosed == []
    assert fragment.h1 is not None and title in squeeze(fragment.h1), fragment.h1
    assert "math" in fragment.tags
    assert fragment.namespaces["math"] <= {MATHML, None}
    return fragment


def assert_svg(text: str) -> ET.Element:
    """A well-formed SVG document with wires, neurons and labels."""
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    assert any(e.tag in (f"{SVG}line", f"{SVG}path") for e in root.iter())
    assert any(e.tag == f"{SVG}circle" for e in root.iter())
    assert any("".join(t.itertext()).strip() for t in root.iter(f"{SVG}text"))
    return root


def test_explain_shows_the_lesson(shell):
    lesson = linexplain.explain(in_features=4, out_features=3)
    data = bundle(shell, lesson)
    assert {"text/html", "text/plain"} <= set(data), sorted(data)
    fragment = assert_fragment(data["text/html"], TITLE)
    assert "svg" in fragment.tags  # the figure, inline
    plain = data["text/plain"]
    assert TITLE in squeeze(plain)
    assert "\x1b[" not in plain  # no terminal colours in a notebook's text
    assert plain == repr(lesson).rstrip("\n")  # IPython drops the last newline
    assert repr(lesson) == str(lesson)


def test_explain_of_a_network(shell):
    data = bundle(shell, linexplain.explain(net="4,3,relu,2", seed=0))
    assert {"text/html", "text/plain"} <= set(data), sorted(data)
    fragment = assert_fragment(data["text/html"], "nn.Sequential of 3 layers")
    assert {"msub", "msubsup"} & set(fragment.tags)


def test_draw_shows_the_figure(shell):
    lesson = linexplain.draw(net="784,256,relu,10", seed=0)
    data = bundle(shell, lesson)
    assert {"image/svg+xml", "text/plain"} <= set(data), sorted(data)
    root = assert_svg(data["image/svg+xml"])
    assert root.get("viewBox") or (root.get("width") and root.get("height"))
    assert "Linear(784 → 256)" in data["text/plain"]
    assert "\x1b[" not in data["text/plain"]


def test_draw_of_a_layer_has_no_numbers(shell):
    data = bundle(shell, linexplain.draw(in_features=3, out_features=2))
    assert {"image/svg+xml", "text/plain"} <= set(data), sorted(data)
    assert_svg(data["image/svg+xml"])


def test_maths_lesson_offers_latex(shell):
    """The written-out equations (expand) are maths and prose: a notebook may show them as
    LaTeX; a lesson with tables or a figure offers none."""
    data = bundle(shell, linexplain.lesson("expand", in_features=2, out_features=2, form="scalar"))
    assert {"text/latex", "text/html", "text/plain"} <= set(data), sorted(data)
    latex = data["text/latex"]
    assert latex.startswith("$$") and latex.count("$$") % 2 == 0, latex[:80]
    assert "indices are 1-based" in latex.split("$$")[-1]  # its note, as text after the maths
    assert "x_{1}" in latex.replace(" ", "") or "x_1" in latex.replace(" ", ""), latex
    assert "text/latex" not in bundle(shell, linexplain.explain())


# A notebook-like page: its own heading, table and text, styled by the notebook, and cells.
NOTEBOOK = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>notebook</title>
<style>body {{ font: 14px sans-serif; color: #222; background: #fff; }}</style></head>
<body><h1 id="nb-h1">Notebook</h1>
<table id="nb-table"><tr><td id="nb-td">cell</td></tr></table>
<p id="nb-p">Some text. <math id="nb-math"><mi>a</mi></math></p>
{cells}
</body></html>
"""
OUTSIDE = """() => ['nb-h1', 'nb-table', 'nb-td', 'nb-p', 'nb-math'].map((id) => {
  const s = getComputedStyle(document.getElementById(id));
  return [id, s.fontFamily, s.fontSize, s.color, s.backgroundColor, s.margin, s.padding,
          s.borderBottom, s.lineHeight, s.maxWidth, s.boxSizing];
})"""
LAID_OUT = """() => ({
  maths: [...document.querySelectorAll('.linexplain math')].map((m) => {
    const b = m.getBoundingClientRect();
    return [m.namespaceURI, b.width, b.height];
  }),
  svgs: [...document.querySelectorAll('.linexplain svg:not(svg svg)')].map((s) => {
    const b = s.getBoundingClientRect();
    return [b.width, b.height, s.querySelectorAll('circle').length];
  }),
  ids: [...document.querySelectorAll('[id]')].map((e) => e.id),
})"""


def test_fragments_in_a_notebook_page(browser, tmp_path):
    """Two lessons and a figure as three cells of a notebook-like page: each lays out its maths
    and figure, the notebook's own elements keep their styles, and no id is used twice."""
    cells = [
        linexplain.explain(in_features=4, out_features=3)._repr_html_(),
        linexplain.explain(net="4,3,relu,2", seed=0)._repr_html_(),
        linexplain.draw(in_features=3, out_features=2)._repr_html_(),
    ]
    bare, full = tmp_path / "bare.html", tmp_path / "notebook.html"
    bare.write_text(NOTEBOOK.format(cells=""), encoding="utf-8")
    full.write_text(
        NOTEBOOK.format(cells="\n".join(f'<div class="cell">{c}</div>' for c in cells)),
        encoding="utf-8",
    )
    before = browser.open(bare.as_uri())
    after = browser.open(full.as_uri())
    try:
        assert after.errors == []
        assert after.requests == [after.url]
        assert after.page.evaluate(OUTSIDE) == before.page.evaluate(OUTSIDE)
        laid_out = after.page.evaluate(LAID_OUT)
        assert laid_out["maths"], "no maths in the cells"
        for namespace, width, height in laid_out["maths"]:
            assert namespace == MATHML
            assert width > 0 and height > 0
        assert len(laid_out["svgs"]) >= 3, laid_out["svgs"]
        for width, height, circles in laid_out["svgs"]:
            assert width > 0 and height > 0 and circles > 0
        ids = laid_out["ids"]
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    finally:
        before.page.close()
        after.page.close()
