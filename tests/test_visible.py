"""Names from files never drive a terminal nor reorder a page: every writer spells out the
control and bidi characters of the text it writes (``\\x1b``, ``<U+202E>``), and keeps the
unicode signs we author (× · → ᵀ ⁽²⁾ ₁₂ ● ┼ ─ ╰ ▶ ⋮)."""

from __future__ import annotations

import io
import json
import re
import struct
from pathlib import Path

import pytest
from helpers import cli

from linexplain.document import (
    RESHAPE,
    Code,
    Column,
    Doc,
    Figure,
    Lines,
    Notes,
    Section,
    Table,
    Wiring,
)
from linexplain.figure import figure
from linexplain.layers import Linear
from linexplain.network import Network
from linexplain.output import render
from linexplain.output.diagram import diagram_lines
from linexplain.output.html import block_html
from linexplain.output.terminal import write_rich
from linexplain.readable import visible
from linexplain.view import View

ESC, BEL, CR, RLO, LRI = "\x1b", "\x07", "\r", "\u202e", "\u2066"
NAME = f"a{ESC}[2J{ESC}]0;pwned{BEL}{CR}{RLO}{LRI}b"  # clears the screen, sets the title
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SIGNS = "× · → ᵀ ⁽²⁾ ₁₂ ● ┼ ─ ╰ ▶ ⋮ ⋯ Σ ∂ − ≈ ━ wᵢⱼ"

# How each format spells ESC and U+202E in prose.
SPELLED = {
    "pretty": (r"\x1b", "<U+202E>"),
    "ascii": (r"\x1b", "<U+202E>"),
    "html": (r"\x1b", "&lt;U+202E&gt;"),
    "markdown": (r"\\x1b", r"\<U+202E\>"),
    "latex": (r"\textbackslash{}x1b", r"\textless{}U+202E\textgreater{}"),
}


def hostile_doc() -> Doc:
    """A name with controls in every place a document holds text."""
    return Doc(
        title=("Title ", NAME),
        summary=("summary ", NAME),
        sections=[
            Section(("━━ Part ", NAME, " ━━"), part=True),
            Section(
                ("Section ", NAME),
                [
                    Table(rows=[(NAME, "1")], header=(f"name {NAME}", "n")),
                    Table(rows=[(NAME, "2")], header=("", "0"), numeric=True),
                    Notes([("note ", NAME)]),
                    Lines([("line ", NAME)]),
                    Code(f"w = sd[{NAME!r}]\nname = '{NAME}'\n"),
                ],
            ),
        ],
    )


def assert_clean(out: str) -> None:
    found = RAW.search(out)
    assert found is None, (found, out[max(0, found.start() - 40) : found.end() + 40])


@pytest.mark.parametrize("fmt", list(SPELLED))
def test_every_format_spells_out_controls(fmt: str) -> None:
    out = render(hostile_doc(), fmt)
    assert_clean(out)
    esc, rlo = SPELLED[fmt]
    # title, summary, both section titles, 3 table cells, note and line all show the name
    assert out.count(esc) >= 9, out
    assert rlo in out
    assert r"\x07" in out.replace(r"\textbackslash{}", "\\").replace("\\\\", "\\")
    # a code block shows it line by line, as it is, between its lines
    code = "name = '" + visible(NAME) + "'"
    if fmt == "html":
        assert code.replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#x27;") in out
    else:
        assert code in out


def test_the_terminal_writer_spells_out_controls() -> None:
    stream = io.StringIO()
    write_rich(hostile_doc(), stream, width=100)
    out = stream.getvalue()
    assert_clean(out)
    assert out.count(r"\x1b") >= 9 and "<U+202E>" in out and "<U+2066>" in out and r"\x0d" in out


def test_names_in_a_figure_are_spelled_out() -> None:
    fig = Figure(
        columns=[Column("x", None, 2, (1, 2)), Column("z", None, 2, (1, 2), bias=True)],
        layers=[Wiring("dense", f"Linear({NAME})")],
        title=f"figure {NAME}",
    )
    for style in ("text", "ascii"):
        lines = [text for text, _ in diagram_lines(fig, style)]
        assert_clean("\n".join(lines))
        assert lines[0].startswith(r"Linear(a\x1b[2J")
    doc = Doc(("t",), sections=[Section(("s",), [fig])])
    for fmt in ("pretty", "ascii", "markdown", "latex"):
        assert_clean(render(doc, fmt))
    caption = render(doc, "html").split("<figcaption>")[1].split("</figcaption>")[0]
    assert caption == r"Figure: figure a\x1b[2J\x1b]0;pwned\x07\x0d&lt;U+202E&gt;&lt;U+2066&gt;b"


def test_authored_signs_are_kept() -> None:
    assert visible(SIGNS) == SIGNS
    doc = Doc((SIGNS,), sections=[Section((SIGNS,), [Lines([(SIGNS,)]), Table([(SIGNS,)])])])
    assert render(doc, "pretty").count(SIGNS) == 4
    assert render(doc, "html").count(SIGNS) == 5  # the <title> too
    assert render(doc, "markdown").count(SIGNS) == 4
    assert SIGNS in block_html(Code(SIGNS))
    stream = io.StringIO()
    write_rich(doc, stream, width=200)
    assert stream.getvalue().count(SIGNS) == 4


# --- counts in the figure's words --------------------------------------------------------------


def lone(n_in: int, n_out: int) -> Figure:
    one = Network((Linear(n_in, n_out),))
    return figure(one, one.walk(("N", n_in)), View())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n_in", "n_out", "words"),
    [(1, 1, "1 weight, 1 bias"), (2, 1, "2 weights, 1 bias"), (1, 3, "3 weights, 3 biases")],
)
def test_a_layers_header_counts_in_the_singular_for_one(n_in: int, n_out: int, words: str) -> None:
    header = diagram_lines(lone(n_in, n_out), "text")[0][0]
    assert header == f"Linear({n_in} → {n_out}): {words}"


def test_a_reshape_counts_one_feature() -> None:
    fig = Figure(
        columns=[Column("x", None, 1, (1,)), Column("a", None, 2, (1, 2))],
        layers=[Wiring(RESHAPE, "Flatten()")],
    )
    line = diagram_lines(fig, "text")[1][0]
    assert "(1 feature a row)" in line and "(2 features)" in line


# --- end to end: a safetensors key with controls ----------------------------------------------


def write_safetensors(path: Path, name: str) -> None:
    """A one-tensor safetensors file (2 × 2 float32 ones) under ``name``, written by hand."""
    header = json.dumps({name: {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header + struct.pack("<4f", 1, 1, 1, 1))


@pytest.fixture(scope="module")
def esc_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("esc") / "esc.safetensors"
    write_safetensors(path, f"{NAME}.weight")
    return str(path)


@pytest.mark.parametrize("fmt", list(SPELLED))
@pytest.mark.parametrize("command", ["model", "draw", "run"])
def test_a_key_with_controls_reaches_no_output_raw(esc_file: str, command: str, fmt: str) -> None:
    args = [esc_file] if command == "model" else ["--weight-file", esc_file, "--key", NAME]
    result = cli(command, *args, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert_clean(result.stdout)
    assert_clean(result.stderr)
    assert SPELLED[fmt][0] in result.stdout and SPELLED[fmt][1] in result.stdout


def test_latex_verbatim_is_not_ended_by_a_name() -> None:
    name = r"x\end{verbatim}\input{secret}"
    fig = Figure(
        columns=[Column("x", None, 1, (1,)), Column("z", None, 1, (1,))],
        layers=[Wiring("dense", name)],
    )
    doc = Doc(("t",), sections=[Section(("s",), [Code(f"w = sd['{name}']"), fig])])
    out = render(doc, "latex")
    assert out.count(r"\begin{verbatim}") == out.count(r"\end{verbatim}") == 2
    assert out.count(r"\end {verbatim}\input{secret}") == 2  # inside: code and figure
