"""The figure in characters (``linexplain.output.diagram``): every shown input wired to every shown
output by a junction carrying w_ij, gaps drawn where they are, fitted to a terminal's width."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linexplain.document import ALL, DENSE, EACH, Doc, Figure, Section
from linexplain.figure import figure
from linexplain.layers import Linear
from linexplain.netspec import parse_net
from linexplain.network import Network
from linexplain.output.diagram import diagram_lines, legend
from linexplain.output.terminal import MIN_KEEP, NO_WRAP, fitted, smaller, write_rich
from linexplain.output.text import Painted, block_lines, plain
from linexplain.readable import number
from linexplain.view import View

JOINT = {"text": "●", "ascii": "*"}
RING = {"text": "○", "ascii": "o"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def net_figure(spec: str, *, numbers: bool = False, **view: object) -> Figure:
    net = Network.of(parse_net(spec))
    first = net.layers[0]
    width = first.in_features if isinstance(first, Linear) else 4
    steps = net.walk(("N", width or 0))
    params = net.init(0, "float32")[1] if numbers else None
    return figure(net, steps, View(**view), params)  # type: ignore[arg-type]


def lone(n_in: int, n_out: int, **view: object) -> Figure:
    one = Network((Linear(n_in, n_out),))
    return figure(one, one.walk(("N", n_in)), View(**view))  # type: ignore[arg-type]


def drawing(fig: Figure, style: str = "text") -> list[str]:
    return [text for text, _ in diagram_lines(fig, style)]


def blocks(lines: list[str]) -> list[list[str]]:
    """The drawing cut at its blank lines: one list per layer."""
    out: list[list[str]] = [[]]
    for line in lines:
        if line:
            out[-1].append(line)
        else:
            out.append([])
    return out


def junctions(block: list[str], style: str = "text") -> dict[tuple[str, int], str]:
    """Each junction's label, by (the input's name, which bus from the left): the text after the
    bus right under the junction."""
    found = {}
    for row, line in enumerate(block):
        if not line.startswith(("x", "a", "z")) or JOINT[style] not in line:
            continue
        name = line.split()[0]
        at = [k for k, ch in enumerate(line) if ch == JOINT[style]]
        below = block[row + 1]
        for bus, k in enumerate(at):
            assert below[k] == ("|" if style == "ascii" else "│")
            bar = "|" if style == "ascii" else "│"
            found[name, bus] = below[k + 1 :].split(bar)[0].strip()  # up to the next bus
    return found


def outputs(block: list[str], style: str = "text") -> list[str]:
    """The names the buses run to, top to bottom."""
    arrow = "> " if style == "ascii" else "▶ "
    return [line.split(arrow)[1] for line in block if arrow in line]


# --- wiring ----------------------------------------------------------------------------------


def test_a_3_to_4_layer_joins_every_input_to_every_output() -> None:
    lines = drawing(lone(3, 4, layer=2))
    assert lines[0] == "Linear(3 → 4): 12 weights, 4 biases"
    assert sum(line.count("●") for line in lines) == 3 * 4
    assert [line.split()[0] for line in lines if "●" in line] == ["x₁", "x₂", "x₃"]
    assert outputs(lines) == ["z₁⁽²⁾", "z₂⁽²⁾", "z₃⁽²⁾", "z₄⁽²⁾"]
    # the k-th output's bus turns once, crossing (┼, joining nothing) the buses after it
    turns = [line for line in lines if "╰" in line]
    assert [line.count("┼") for line in turns] == [3, 2, 1, 0]
    assert [line.split("─▶")[0].split()[-1] for line in turns] == [f"b{s}⁽²⁾" for s in "₁₂₃₄"]
    assert not any(mark in "\n".join(lines) for mark in ("more", "⋯", "⋮", "⋱"))


def test_each_block_of_a_network_wires_its_own_columns() -> None:
    dense1, relu, dense2 = blocks(drawing(net_figure("4,3,relu,2")))
    assert dense1[0] == "(0) Linear(4 → 3): 12 weights, 3 biases"
    assert sum(line.count("●") for line in dense1) == 12
    assert len(junctions(dense1)) == 12 and len(outputs(dense1)) == 3
    assert relu[0] == "(1) ReLU: on each neuron alone"
    assert relu[1:] == [f"z{s}⁽²⁾ ──ReLU──▶ a{s}⁽²⁾" for s in "₁₂₃"]
    # the outputs of one block are the inputs of the next
    assert [line.split()[0] for line in dense2 if "●" in line] == ["a₁⁽²⁾", "a₂⁽²⁾", "a₃⁽²⁾"]
    assert sum(line.count("●") for line in dense2) == 6
    assert outputs(dense2) == ["z₁⁽³⁾", "z₂⁽³⁾"]


def test_a_big_layer_shows_its_gaps_where_they_are() -> None:
    fig = net_figure("784,256")
    lines = drawing(fig)
    names = [line.split()[0] for line in lines if "●" in line]
    assert names == ["x₁", "x₂", "x₃", "x₄", "x₅", "x₆", "x₇", "x₇₈₄"]
    gap = lines.index(next(line for line in lines if "776 more" in line))
    assert lines[gap].startswith("⋮ 776 more")
    assert lines[gap - 2].startswith("x₇ ") and lines[gap + 1].startswith("x₇₈₄ ")
    # the hidden outputs' buses: one ⋯ per input row and per output line it crosses, a ⋱ where
    # the two gaps meet
    assert all(line.count("⋯") == 1 for line in lines if "●" in line)
    assert lines[gap].count("⋱") == 1
    assert outputs(lines) == [f"z{s}" for s in "₁₂₃₄₅₆₇"] + ["z₂₅₆"]
    assert any(line.strip().endswith("⋮ 248 more") for line in lines)
    # junctions: the shown inputs times the shown outputs (the gaps have none)
    assert sum(line.count("●") for line in lines) == 8 * 8
    assert junctions(lines)["x₇₈₄", 7] == "w₂₅₆,₇₈₄"  # indices past 9 take a comma, as in the maths


def test_counts_past_a_thousand_have_separators() -> None:
    lines = drawing(net_figure("4096,4096", max_terms=4))
    assert any(line.startswith("⋮ 4,092 more") for line in lines)
    assert any(line.strip().endswith("⋮ 4,092 more") for line in lines)
    assert lines[0] == "Linear(4096 → 4096): 16,777,216 weights, 4,096 biases"


def test_nothing_hidden_no_gap_marks() -> None:
    fig = net_figure("8,8,relu,8")
    assert all(c.hidden == 0 for c in fig.columns)
    text = "\n".join(block_line for block_line, _ in block_lines(fig, "text"))
    assert not any(mark in text for mark in ("more", "⋯", "⋮", "⋱", "┆"))
    assert sum(line.count("●") for line in drawing(fig)) == 2 * 64


def test_softmax_joins_all_without_weights_and_a_flatten_regroups() -> None:
    fig = net_figure("3,2,softmax")
    _, soft = blocks(drawing(fig))
    assert fig.layers[1].kind == ALL
    assert soft[0] == "(1) Softmax(dim=None): each output from every input"
    assert sum(line.count("○") for line in soft) == 4 and "●" not in "".join(soft)
    assert outputs(soft) == ["a₁⁽²⁾", "a₂⁽²⁾"]
    assert any(line.startswith("○ (Softmax(dim=None))") for line in legend(fig, "text"))

    # A first Flatten draws the flattened sample, each number kept; a later one regroups.
    net = Network.of(parse_net("flatten,12,4"))
    assert figure(net, net.walk(("N", 3, 4)), View()).layers[0].kind == "each"
    net = Network.of(parse_net("Linear(4, 5), Flatten(), Linear(15, 2)"))
    _, flat, _ = blocks(drawing(figure(net, net.walk(("N", 3, 4)), View())))
    assert len(flat) == 2 and "5 features a row" in flat[1] and "15 features" in flat[1]


# --- names and numbers -----------------------------------------------------------------------


def test_symbolic_labels_are_the_posts_names() -> None:
    lines = drawing(lone(3, 3, layer=2))
    labels = junctions(lines)
    assert labels["x₂", 0] == "w₁₂⁽²⁾"  # input 2 (a row), output 1 (a bus)
    assert labels == {
        (f"x{'₁₂₃'[j]}", i): f"w{'₁₂₃'[i]}{'₁₂₃'[j]}⁽²⁾" for i in range(3) for j in range(3)
    }
    assert lines[1] == "x₁ ──●────────●────────●"
    assert lines[-1].endswith("╰── + b₃⁽²⁾ ─▶ z₃⁽²⁾")
    ascii_labels = junctions(drawing(lone(3, 3, layer=2), "ascii"), "ascii")
    assert ascii_labels["x_2", 0] == "w_12^(2)"


def test_index_base_0_starts_at_0() -> None:
    lines = drawing(lone(3, 2, layer=2, index_base=0))
    labels = junctions(lines)
    assert labels["x₀", 0] == "w₀₀⁽²⁾" and labels["x₂", 1] == "w₁₂⁽²⁾"
    assert outputs(lines) == ["z₀⁽²⁾", "z₁⁽²⁾"]
    assert "b₀⁽²⁾" in lines[-2]


def test_numbers_at_the_junctions_are_the_weights() -> None:
    net = Network.of(parse_net("784,256,relu,10"))
    steps = net.walk(("N", 784))
    params = net.init(0, "float32")[1]
    fig = figure(net, steps, View(precision=3), params)
    dense1, _, dense2 = blocks(drawing(fig))
    for k, block in ((0, dense1), (2, dense2)):
        weight, bias = params[k]
        before, after = fig.columns[k], fig.columns[k + 1]
        rows = [j for j in before.shown if j is not None]
        buses = [i for i in after.shown if i is not None]
        labels = junctions(block)
        assert len(labels) == len(rows) * len(buses)
        names = [line.split()[0] for line in block if "●" in line]
        for name, j in zip(names, rows, strict=True):
            for bus, i in enumerate(buses):
                assert labels[name, bus] == number(float(weight[i - 1, j - 1]), 3, "text")
        tails = [line for line in block if "▶" in line]
        for line, i in zip(tails, buses, strict=True):
            b = float(bias[i - 1])
            magnitude = number(abs(b), 3, "text")
            assert f" {'+' if b > 0 else '−'} {magnitude} ─▶ " in line


def spans_at(fig: Figure, glyph: str) -> list[tuple[float, str]]:
    """(weight, rich style) of each junction, read from the drawing's spans."""
    found = []
    for k, block in enumerate(_split(diagram_lines(fig, "text"))):
        wiring = fig.layers[k]
        if wiring.kind != DENSE or wiring.weights is None:
            continue
        rows = [line for line in block if glyph in line[0] and not line[0].startswith("(")]
        for c, (text, spans) in enumerate(rows):
            at = [n for n, ch in enumerate(text) if ch == glyph]
            shown_rows = [r for r in wiring.weights if r is not None]
            for r, n in enumerate(at):
                (style,) = [s for a, b, s in spans if a <= n < b]
                weight = [w for w in shown_rows[r] if w is not None][c]
                found.append((weight, style))
    return found


def _split(lines: list[tuple[str, list]]) -> list[list[tuple[str, list]]]:
    out: list[list[tuple[str, list]]] = [[]]
    for line in lines:
        if line[0]:
            out[-1].append(line)
        else:
            out.append([])
    return out


def test_colours_follow_the_signs_and_shading_the_sizes() -> None:
    fig = net_figure("784,256,relu,10", numbers=True)
    found = spans_at(fig, "●")
    assert len(found) == 2 * 8 * 8
    assert {w > 0 for w, _ in found} == {True, False}
    for weight, style in found:
        assert ("blue" in style) == (weight > 0) and ("red" in style) == (weight < 0)
    scale = fig.layers[0].scale
    for weight, style in spans_at(fig, "●")[:64]:
        assert ("bold" in style) == (abs(weight) >= 2 / 3 * scale)
        assert ("dim" in style) == (abs(weight) < 1 / 3 * scale)


def test_symbolic_names_are_bold_and_weights_dim() -> None:
    lines = diagram_lines(lone(2, 2, layer=2), "text")
    assert (0, 2, "bold") in lines[1][1]  # x₁
    under_text, under = lines[2]
    (label,) = [(a, b) for a, b, s in under if s == "dim" and under_text[a:b] == "w₁₁⁽²⁾"]
    assert label


def test_the_terminal_shows_the_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    fig = net_figure("5,3", numbers=True)
    doc = Doc(("A figure",), sections=[Section(("Wires",), [fig])])
    out = io.StringIO()
    write_rich(doc, out, width=200)
    coloured = out.getvalue()
    assert "34m●" in coloured and "34m│ 0." in coloured  # blue (bold or dim), bus and number
    assert "31m●" in coloured and "31m│−0." in coloured  # red
    # the text under the colours is what a pipe gets, but for the legend's line on colour
    seen = ANSI.sub("", coloured).splitlines()
    piped = plain(doc).splitlines()
    assert [line for line in seen if "Blue is positive" not in line] == piped
    assert any("Blue is positive" in line for line in seen)


# --- fitting a terminal ----------------------------------------------------------------------


@pytest.mark.parametrize("numbers", [False, True])
@pytest.mark.parametrize("width", [60, 100])
def test_a_big_layer_fits_the_terminal(width: int, numbers: bool) -> None:
    for spec in ("784,256", "784,256,relu,10"):
        fig = net_figure(spec, numbers=numbers)
        lines = fitted(width)(block_lines(fig, "text"), fig)
        drawn = [line for line, style in lines if NO_WRAP in style]
        assert len(drawn) == len(diagram_lines(smaller_to_fit(fig, width), "text"))
        assert max(len(line) for line, _ in lines) <= width
        assert any("more" in line for line in drawn)  # still honest about what it hides
        doc = Doc(("A figure",), sections=[Section(("Wires",), [fig])])
        out = io.StringIO()
        write_rich(doc, out, width=width)
        assert max(len(line) for line in out.getvalue().splitlines()) <= width


def smaller_to_fit(fig: Figure, width: int) -> Figure:
    """The figure as the terminal writer should pick it: the first keep whose drawing fits."""
    while max(len(t) + 2 for t, _ in diagram_lines(fig, "text")) > width:
        less = smaller(fig)
        assert less is not None
        fig = less  # type: ignore[assignment]
    return fig


def test_a_figure_shrinks_down_to_first_gap_last() -> None:
    fig: Figure | None = net_figure("784,256,relu,10")
    keeps = []
    while fig is not None:
        keeps.append(fig.keep)
        fig = smaller(fig)  # type: ignore[assignment]
    assert keeps == [8, 7, 6, 5, 4, 3, 2]
    smallest = net_figure("784,256,relu,10", max_terms=MIN_KEEP)
    assert smallest.columns[0].shown == (1, None, 784)
    # a full figure goes straight to what could fit at all
    full = net_figure("64,64", full=True)
    less = smaller(full, width=40)
    assert less is not None and less.keep == 40 // 4  # type: ignore[union-attr]


def test_the_legend_wraps_and_the_drawing_does_not() -> None:
    fig = net_figure("784,256", numbers=True)
    lines = fitted(60)(block_lines(fig, "text"), fig)
    drawn = [line for line, style in lines if NO_WRAP in style]
    assert drawn and all(isinstance(line, Painted) for line in drawn)
    prose = [line for line, style in lines if NO_WRAP not in style and line]
    assert any("Blue is positive, red negative" in line for line in prose)
    assert len(prose) > len(legend(fig, "text", colour=True))  # wrapped into more lines


# --- ASCII -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    ["784,256,relu,10", "3,3", "12,5,softmax", "4096,4096,tanh", "Linear(3,2,bias=False)"],
)
@pytest.mark.parametrize("numbers", [False, True])
def test_ascii_is_only_ascii(spec: str, numbers: bool) -> None:
    fig = net_figure(spec, numbers=numbers, max_terms=4)
    lines = [line for line, _ in block_lines(fig, "ascii")]
    assert all(ord(ch) < 128 for line in lines for ch in line), lines
    assert sum(line.count("*") for line in lines if not line.strip().startswith(("*", "The"))) > 0
    if fig.columns[0].hidden:
        assert any(line.strip().startswith(f": {fig.columns[0].hidden:,} more") for line in lines)


def test_ascii_draws_the_same_graph() -> None:
    fig = net_figure("784,256,relu,10", numbers=True)
    unicode, ascii_ = blocks(drawing(fig)), blocks(drawing(fig, "ascii"))
    for u, a in zip(unicode, ascii_, strict=True):
        assert sum(line.count("●") for line in u) == sum(line.count("*") for line in a)
        assert len(u) == len(a)
    weights = fig.layers[0].weights
    assert weights is not None and weights[-1] is not None
    last = weights[-1][-1]
    assert last is not None
    assert junctions(ascii_[0], "ascii")["x_784", 7] == number(last, 4, "ascii")


# --- any small network -----------------------------------------------------------------------

KINDS = ["relu", "tanh", "softmax", "sigmoid"]


@st.composite
def networks(draw: st.DrawFn) -> tuple[str, int, bool, int]:
    widths = draw(st.lists(st.integers(1, 12), min_size=2, max_size=4))
    items = [str(widths[0])]
    for w in widths[1:]:
        items.append(str(w))
        if draw(st.booleans()):
            items.append(draw(st.sampled_from(KINDS)))
    return ",".join(items), draw(st.integers(2, 9)), draw(st.booleans()), draw(st.integers(0, 1))


@settings(max_examples=40, deadline=None)
@given(networks())
def test_any_small_network(case: tuple[str, int, bool, int]) -> None:
    spec, keep, numbers, base = case
    fig = net_figure(spec, numbers=numbers, max_terms=keep, index_base=base)
    parts = blocks(drawing(fig))
    assert len(parts) == len(fig.layers)
    for k, block in enumerate(parts):
        wiring, before, after = fig.layers[k], fig.columns[k], fig.columns[k + 1]
        n_in = sum(j is not None for j in before.shown)
        n_out = sum(i is not None for i in after.shown)
        text = "\n".join(block)
        if wiring.kind in (DENSE, ALL):
            glyph = "●" if wiring.kind == DENSE else "○"
            assert text.count(glyph) == n_in * n_out
            assert len(outputs(block)) == n_out
            assert ("⋯" in text) == bool(after.hidden)
        if wiring.kind == DENSE:
            assert len(junctions(block)) == n_in * n_out
        if wiring.kind == EACH:
            assert text.count("▶") == n_out
        assert (f"⋮ {before.hidden:,} more" in text) == bool(before.hidden) or wiring.kind == EACH
        assert (f"⋮ {after.hidden:,} more" in text) == bool(after.hidden)
        assert ("more" in text) == bool(before.hidden or after.hidden)
    ascii_ = "\n".join(drawing(fig, "ascii"))
    assert all(ord(ch) < 128 for ch in ascii_)


def test_a_huge_figure_draws_without_numpy_or_sympy() -> None:
    code = (
        "import sys, time\n"
        "from linexplain.output.diagram import diagram_lines\n"
        "from linexplain.document import Column, Figure, Wiring, DENSE\n"
        "from linexplain.elide import shown_indices\n"
        "cols = [Column(c, 2, 4096, tuple(shown_indices(4096, 1, 8)), bias=c == 'z')"
        " for c in 'xz']\n"
        "fig = Figure(cols, [Wiring(DENSE, 'Linear(4096 → 4096)', 0)])\n"
        "t = time.perf_counter(); lines = diagram_lines(fig, 'text')\n"
        "assert time.perf_counter() - t < 0.5\n"
        "print(sum(l.count('●') for l, _ in lines), 'numpy' in sys.modules,"
        " 'sympy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["64", "False", "False"]
