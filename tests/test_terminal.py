"""On a terminal, output fits the console's width: tables and maths show fewer entries."""

from __future__ import annotations

import io

import pytest

from linexplain import Request, View
from linexplain import lessons as explain
from linexplain.output.terminal import NO_WRAP, fitted, write_rich
from linexplain.output.text import doc_lines, plain


def docs():
    yield explain.expand(Request(in_features=12, out_features=12, seed=0, view=View(layer=2)))
    yield explain.run(Request(in_features=12, out_features=12, seed=0, steps=True))
    yield explain.grad(Request(in_features=5, out_features=4, input_shape=(6, 5)))
    yield explain.explain(Request(in_features=6, out_features=6))


@pytest.mark.parametrize("width", [60, 80, 100])
def test_maths_and_tables_fit_the_width(width: int) -> None:
    for doc in docs():
        fixed = [line for line, style in doc_lines(doc, "text", fitted(width)) if NO_WRAP in style]
        assert fixed
        # Only a picture already at its smallest (2 entries per axis) may stay wider.
        too_wide = [line for line in fixed if len(line) > width]
        assert not too_wide or width == 60, too_wide


def test_a_narrow_terminal_elides_more() -> None:
    doc = explain.expand(Request(in_features=12, out_features=12, view=View(layer=2)))
    narrow = [line for line, _ in doc_lines(doc, "text", fitted(60))]
    wide = [line for line, _ in doc_lines(doc, "text", fitted(200))]
    assert narrow != wide
    assert any("(hidden: 4 of the 12 terms" in line for line in wide)
    assert not any("(hidden: 4 of the 12 terms" in line for line in narrow)


def test_wide_terminal_shows_what_piped_output_shows() -> None:
    doc = explain.expand(Request(in_features=3, out_features=3, seed=0, view=View(layer=2)))
    assert [line for line, _ in doc_lines(doc, "text", fitted(200))] == plain(doc).splitlines()


def test_rich_writer_keeps_maths_whole() -> None:
    doc = explain.expand(Request(in_features=3, out_features=3, view=View(layer=2)))
    out = io.StringIO()
    write_rich(doc, out, width=40)
    text = out.getvalue()
    assert "⎢z₂⁽²⁾⎥" in text or "⎢  ⋮  ⎥" in text  # the matrix picture is not cut into pieces
    assert NO_WRAP not in text
