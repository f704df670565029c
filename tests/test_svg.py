"""The figure as SVG (linexplain.output.svg): valid XML, the right wires, gaps and labels, safe
text, small and fast for a 4096 x 4096 layer. Every figure is built from a real network."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linexplain.document import ALL, DENSE, EACH, RESHAPE, Column, Figure, Wiring
from linexplain.elide import shown_indices
from linexplain.errors import LinexplainError
from linexplain.figure import figure
from linexplain.layers import Linear
from linexplain.netspec import parse_net
from linexplain.network import Network
from linexplain.output import svg as svgmod
from linexplain.output.svg import NEGATIVE, POSITIVE, svg
from linexplain.readable import number
from linexplain.view import View

NS = "{http://www.w3.org/2000/svg}"


def net_figure(
    spec: str, shape: tuple[Any, ...], view: View | None = None, seed: int | None = None
):
    """The figure of network ``spec`` walked from ``shape``, with seeded weights if ``seed``."""
    net = Network.of(parse_net(spec))
    steps = net.walk(shape)
    params = net.init(seed, "float32")[1] if seed is not None else None
    return figure(net, steps, view or View(), params), params


def lone(n_in: int, n_out: int, view: View | None = None, seed: int | None = None):
    net = Network((Linear(n_in, n_out),))
    params = net.init(seed, "float32")[1] if seed is not None else None
    return figure(net, net.walk(("N", n_in)), view or View(layer=2), params), params


def parse(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{NS}svg"
    return root


def classes(e: ET.Element) -> set[str]:
    return set(e.get("class", "").split())


def find(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if cls in classes(e)]


def wires(root: ET.Element, layer: int | None = None) -> list[ET.Element]:
    found = [e for e in find(root, "wire") if "key" not in classes(e)]
    return found if layer is None else [e for e in found if e.get("data-layer") == str(layer)]


def circles(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}circle") if "neuron" in classes(e)]


def text_of(e: ET.Element) -> str:
    return "".join(e.itertext())


def drawn(size: int, keep: int | None = 8) -> int:
    return sum(k is not None for k in shown_indices(size, 1, keep))


# --- a document --------------------------------------------------------------------------------


@pytest.mark.parametrize("standalone", [True, False])
def test_valid_xml_with_title_desc_and_size(standalone: bool) -> None:
    fig, _ = net_figure("784,256,relu,10", ("N", 784))
    text = svg(fig, standalone=standalone)
    root = parse(text)
    assert root.findtext(f"{NS}title") == fig.title == "Linear(784 → 256) → ReLU → Linear(256 → 10)"
    assert root.findtext(f"{NS}desc") == fig.description
    assert root.get("role") == "img"
    ids = root.get("aria-labelledby", "").split()
    assert {e.get("id") for e in root.iter() if e.get("id")} >= set(ids) and len(ids) == 2
    width, height = float(root.get("width", 0)), float(root.get("height", 0))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert width >= 480 and height > 200
    assert not text.startswith("<?xml")
    assert ("max-width" in (root.get("style") or "")) is not standalone


def test_two_figures_on_one_page_have_unique_ids() -> None:
    a, b = (
        svg(lone(3, 3)[0], False, id_prefix="fig-a"),
        svg(lone(2, 2)[0], False, id_prefix="fig-b"),
    )
    page = ET.fromstring(f'<div xmlns="http://www.w3.org/1999/xhtml">{a}{b}</div>')
    ids = [e.get("id") for e in page.iter() if e.get("id")]
    assert len(ids) == len(set(ids)) == 6
    # Each figure's styles apply to it alone.
    style = parse(a).findtext(f"{NS}style") or ""
    assert all(rule.startswith("#fig-a") for rule in style.split("}") if rule)
    with pytest.raises(LinexplainError):
        svg(lone(2, 2)[0], id_prefix='x" onload="alert(1)')
    with pytest.raises(LinexplainError):
        svg("not a figure")  # type: ignore[arg-type]
    with pytest.raises(LinexplainError, match="column"):
        svg(Figure([], []))
    with pytest.raises(LinexplainError, match="layers"):
        svg(Figure([Column("x", None, 1, (1,)), Column("z", 1, 1, (1,))], []))


def test_edge_figures() -> None:
    """A lone column, empty columns and a layer without weights still draw."""
    alone = parse(svg(Figure([Column("x", None, 3, (1, 2, 3))], [], title="x")))
    assert len(circles(alone)) == 3 and wires(alone) == []
    empty = Network((Linear(0, 3),))
    _, params = empty.init(0, "float32")
    root = parse(svg(figure(empty, empty.walk(("N", 0)), View(), params)))
    assert len(circles(root)) == 3 and wires(root) == []


# --- wires and neurons --------------------------------------------------------------------------


@pytest.mark.parametrize(("n_in", "n_out"), [(1, 1), (3, 3), (2, 5), (8, 8), (1, 8)])
def test_dense_layer_without_gaps_draws_every_wire(n_in: int, n_out: int) -> None:
    fig, _ = lone(n_in, n_out)
    root = parse(svg(fig))
    lines = wires(root)
    assert len(lines) == n_in * n_out
    assert {(int(e.get("data-i", 0)), int(e.get("data-j", 0))) for e in lines} == {
        (i, j) for i in range(1, n_out + 1) for j in range(1, n_in + 1)
    }
    assert len(circles(root)) == n_in + n_out
    assert find(root, "gap") == []


def test_network_sums_its_layers() -> None:
    fig, _ = net_figure("4,3,relu,2", ("N", 4))
    root = parse(svg(fig))
    assert [len(wires(root, k)) for k in range(3)] == [12, 3, 6]
    assert len(wires(root)) == 21 == sum(fig.wires(k) for k in range(3))
    assert all(e.tag == f"{NS}line" for e in wires(root))
    each = wires(root, 1)
    assert all(e.get("data-i") == e.get("data-j") for e in each)
    assert all("each" in classes(e) for e in each)
    assert len(circles(root)) == 4 + 3 + 3 + 2
    names = [text_of(e) for e in find(root, "layer")]
    assert names == ["(0) Linear(4 → 3)", "(1) ReLU", "(2) Linear(3 → 2)"]


def test_gaps_hide_neurons_and_wires_join_drawn_ones() -> None:
    fig, _ = net_figure("784,256", ("N", 784))
    root = parse(svg(fig))
    assert len(wires(root)) == 8 * 8  # 7 + the last of each column
    gaps = find(root, "gap")
    assert [g.get("data-hidden") for g in gaps] == ["776", "248"]
    assert [text_of(g) for g in gaps] == ["⋮776 more", "⋮248 more"]
    assert len(circles(root)) == 16
    shown_in = {str(k) for k in (*range(1, 8), 784)}
    shown_out = {str(k) for k in (*range(1, 8), 256)}
    assert {e.get("data-j") for e in wires(root)} == shown_in
    assert {e.get("data-i") for e in wires(root)} == shown_out


@pytest.mark.parametrize(("size", "hidden"), [(8, 0), (9, 1), (12, 4), (4096, 4088)])
def test_a_gap_only_when_something_is_hidden(size: int, hidden: int) -> None:
    fig, _ = lone(size, size)
    root = parse(svg(fig))
    gaps = find(root, "gap")
    if hidden:
        assert [g.get("data-hidden") for g in gaps] == [str(hidden)] * 2
        assert f"{hidden:,} more" in text_of(gaps[0])
    else:
        assert gaps == []
    assert len(wires(root)) == drawn(size) ** 2
    assert len(circles(root)) == 2 * drawn(size)


def test_softmax_joins_all_without_weights_and_flatten_reshapes() -> None:
    spec = "Linear(3, 3), Flatten(), Linear(6, 4), Softmax(dim=-1)"
    fig, _ = net_figure(spec, ("N", 2, 3), seed=0)
    assert [w.kind for w in fig.layers] == [DENSE, RESHAPE, DENSE, ALL]
    root = parse(svg(fig))
    assert [len(wires(root, k)) for k in range(4)] == [9, 0, 24, 16]
    assert all("all" in classes(e) and e.get("data-w") is None for e in wires(root, 3))
    assert all("all" not in classes(e) for e in wires(root, 2))
    reshape = find(root, "reshape")
    assert [text_of(e) for e in reshape] == ["reshaped: last dim 3 → 6"]
    assert len(circles(root)) == 3 + 3 + 6 + 4 + 4


def test_a_lone_layer_names_its_neurons_with_sub_and_superscripts() -> None:
    fig, _ = lone(3, 3, View(layer=2))
    root = parse(svg(fig))
    labels = [text_of(e) for e in find(root, "nl")]
    assert labels == ["x1", "x2", "x3", "z1(2)", "z2(2)", "z3(2)"]
    head = [text_of(e) for e in find(root, "head")]
    assert head == ["x", "z(2)"]
    label = find(root, "nl")[3]
    spans = list(label)
    assert [s.text for s in spans[:3]] == ["z", "1", "(2)"]
    assert float(spans[1].get("dy", 0)) > 0 > float(spans[2].get("dy", 0))  # sub, then sup
    assert sum(float(s.get("dy", 0)) for s in spans) == pytest.approx(0)  # baseline put back
    sizes = [text_of(e) for e in find(root, "size")]
    assert sizes == ["3 neurons", "3 neurons"]


def test_index_base_zero() -> None:
    fig, _ = lone(2, 2, View(index_base=0))
    root = parse(svg(fig))
    assert {e.get("data-j") for e in wires(root)} == {"0", "1"}
    assert [text_of(e) for e in find(root, "nl")][:2] == ["x0", "x1"]


# --- labels and numbers -----------------------------------------------------------------------


def test_small_symbolic_layer_names_each_wire_and_bias() -> None:
    fig, _ = lone(3, 3, View(layer=2))
    root = parse(svg(fig))
    labels = sorted(text_of(e) for e in find(root, "wl"))
    assert labels == sorted(f"w{i}{j}(2)" for i in (1, 2, 3) for j in (1, 2, 3))
    assert [text_of(e) for e in find(root, "bias")] == ["b1(2)", "b2(2)", "b3(2)"]
    legend = " ".join(text_of(e) for e in find(root, "legend"))
    assert "each line is one weight wij" in legend and "bias" in legend


def test_labels_only_while_legible() -> None:
    assert len(find(parse(svg(lone(4, 4)[0])), "wl")) == 16
    assert find(parse(svg(lone(5, 4)[0])), "wl") == []
    assert find(parse(svg(lone(784, 256)[0])), "wl") == []
    # Two-digit indices are separated by a comma, as the maths writes them.
    fig, _ = lone(12, 2, View(layer=1, max_terms=2))
    assert "w1,12(1)" in {text_of(e) for e in find(parse(svg(fig)), "wl")}


def test_numeric_wires_are_coloured_by_sign_and_shaded_by_size() -> None:
    fig, params = net_figure("784,256,relu,10", ("N", 784), seed=0)
    root = parse(svg(fig))
    checked = 0
    for k, (weight, _) in enumerate(params):
        if weight is None:
            assert all("pos" not in classes(e) and e.get("data-w") is None for e in wires(root, k))
            continue
        scale = float(abs(weight).max())
        for e in wires(root, k):
            w = float(weight[int(e.get("data-i", 0)) - 1, int(e.get("data-j", 0)) - 1])
            assert float(e.get("data-w", "nan")) == pytest.approx(w, rel=1e-6)
            assert classes(e) >= {"wire", "pos" if w > 0 else "neg"}
            style = dict(p.split(":") for p in e.get("style", "").split(";"))
            assert float(style["stroke-opacity"]) == pytest.approx(
                0.12 + 0.88 * abs(w) / scale, abs=0.01
            )
            checked += 1
    assert checked == 64 + 64
    css = root.findtext(f"{NS}style") or ""
    assert f".wire.pos{{stroke:{POSITIVE}}}" in css and f".wire.neg{{stroke:{NEGATIVE}}}" in css
    # Each layer is shaded by its own largest |w|, which its header says.
    legend = " ".join(text_of(e) for e in find(root, "legend"))
    assert "over the largest |w| of its own layer, written above it" in legend
    notes = [text_of(e) for e in find(root, "note")]
    for k in (0, 2):
        assert f"|w| ≤ {number(float(abs(params[k][0]).max()), 4, 'text')}" in notes[k]
    assert "positive" in legend and "negative" in legend
    biases = [text_of(e) for e in find(root, "bias")]
    assert biases[0] == number(float(params[0][1][0]), 4, "text")
    assert len(biases) == 8 + 8


def test_small_numeric_layer_writes_its_weights() -> None:
    fig, params = lone(3, 2, View(precision=3), seed=1)
    root = parse(svg(fig))
    weight = params[0][0]
    expected = sorted(number(float(weight[i, j]), 3, "text") for i in range(2) for j in range(3))
    labels = find(root, "wl")
    assert sorted(text_of(e) for e in labels) == expected
    assert all(("neg" in classes(e)) == text_of(e).startswith("−") for e in labels)
    legend = " ".join(text_of(e) for e in find(root, "legend"))
    largest = number(float(abs(weight).max()), 3, "text")
    assert f"layer's largest |w|\N{NO-BREAK SPACE}({largest})" in legend


# --- what a reader sees: nothing overlaps -------------------------------------------------------
# Boxes of text come from the writer's own widths (DejaVu Sans, the widest common font: the
# browser test below checks that Chromium draws no text wider); the geometry is checked here
# on its own terms (segments clipped against boxes), not with the writer's code.

Box = tuple[float, float, float, float]
FIGURES = [  # (spec, input shape, seed)
    ("784,256,relu,10", ("N", 784), 0),
    ("784,256,relu,10", ("N", 784), None),
    ("4,3,leakyrelu(0.2),2", ("N", 4), 0),
    ("4,3,leakyrelu(0.2),2", ("N", 4), None),
    ("4,3,softmax", ("N", 4), 0),
    ("784,10,softmax", ("N", 784), 0),
    ("8,8,8", ("N", 8), 0),
    ("Linear(3, 3), Flatten(), Linear(6, 4), Softmax(dim=-1)", ("N", 2, 3), 0),
]


def parts_of(e: ET.Element) -> list[tuple[str, str]]:
    """A <text>'s runs as the writer's parts: plain, "v" (a letter), "sub" or "sup"."""
    parts = [(e.text, "")] if e.text else []
    for span in e:
        dy = float(span.get("dy", 0))
        kind = {"v": "v", "s": "sub" if dy > 0 else "sup"}.get(span.get("class", ""), "")
        if span.text:
            parts.append((span.text, kind))
        if span.tail:
            parts.append((span.tail, ""))
    return parts


def font_size(root: ET.Element, cls: str) -> float:
    css = root.findtext(f"{NS}style") or ""
    found = re.search(rf"\.{cls}(?![\w-])[^{{}}]*\{{[^}}]*?font-size:([\d.]+)px", css)
    assert found, cls
    return float(found.group(1))


def ink(e: ET.Element, size: float, anchor: str = "middle") -> Box:
    """The box a <text>'s ink fills, at most."""
    parts = parts_of(e)
    width = svgmod._parts_width(parts, size)
    top, bottom = svgmod._extent(parts, size)
    x, y = float(e.get("x", 0)), float(e.get("y", 0))
    x0 = x - width / 2 if anchor == "middle" else x
    return (x0, y + top, x0 + width, y + bottom)


def grown(box: Box, by: float) -> Box:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def apart(a: Box, b: Box) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def crosses(line: ET.Element, box: Box) -> bool:
    """Whether a <line> passes through ``box`` (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = (float(line.get(a, 0)) for a in ("x1", "y1", "x2", "y2"))
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            lo = max(lo, q / p)
        else:
            hi = min(hi, q / p)
    return lo <= hi


def circle_boxes(root: ET.Element) -> list[tuple[float, float, float]]:
    return [
        (float(c.get("cx", 0)), float(c.get("cy", 0)), float(c.get("r", 0))) for c in circles(root)
    ]


def check_wire_labels(root: ET.Element) -> int:
    """Every wire label: clear of every other label, of every other wire of its layer, of the
    circles, and centred on its own wire. Returns how many there are."""
    size = font_size(root, "wl")
    found = 0
    for group in find(root, "wire-labels"):
        layer = wires(root, int(group.get("data-layer", -1)))
        labels = [(e, ink(e, size)) for e in group.iter(f"{NS}text")]
        for n, (e, box) in enumerate(labels):
            key = (e.get("data-i"), e.get("data-j"))
            own = [w for w in layer if (w.get("data-i"), w.get("data-j")) == key]
            assert len(own) == 1, key
            others = [w for w in layer if w is not own[0]]
            assert not any(crosses(w, grown(box, 3.5)) for w in others), text_of(e)
            assert all(apart(grown(box, 1.5), grown(b, 1.5)) for _, b in labels[:n]), text_of(e)
            for cx, cy, r in circle_boxes(root):
                assert apart(box, (cx - r, cy - r, cx + r, cy + r)), text_of(e)
            # Its wire runs through the middle of its box, side to side.
            x1, y1, x2, y2 = (float(own[0].get(a, 0)) for a in ("x1", "y1", "x2", "y2"))
            mx, my = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            assert x1 < mx < x2
            assert y1 + (mx - x1) / (x2 - x1) * (y2 - y1) == pytest.approx(my, abs=0.3)
            found += 1
    return found


@pytest.mark.parametrize("n_in", [1, 2, 3, 4])
@pytest.mark.parametrize("n_out", [1, 2, 3, 4])
@pytest.mark.parametrize(("seed", "precision"), [(None, 4), (0, 4), (1, 4), (2, 2)])
def test_wire_labels_stand_apart_each_on_its_own_wire(
    n_in: int, n_out: int, seed: int | None, precision: int
) -> None:
    fig, _ = lone(n_in, n_out, View(layer=2, precision=precision), seed=seed)
    assert check_wire_labels(parse(svg(fig))) == n_in * n_out


@pytest.mark.parametrize(("spec", "shape"), [
    ("4,3,leakyrelu(0.2),2", ("N", 4)), ("3,4,2,1", ("N", 3)), ("2,4,softmax", ("N", 2)),
])  # fmt: skip
@pytest.mark.parametrize("seed", [None, 0])
def test_wire_labels_of_small_networks(spec: str, shape: tuple[Any, ...], seed: int | None) -> None:
    fig, _ = net_figure(spec, shape, seed=seed)
    root = parse(svg(fig))
    dense = sum(fig.drawn(k) for k, w in enumerate(fig.layers) if w.kind == DENSE)
    assert check_wire_labels(root) == dense


@pytest.mark.parametrize("keep", [2, 3])
def test_wire_labels_beside_gaps(keep: int) -> None:
    """Columns with a gap (``⋮ 9 more``) keep their labels off it."""
    fig, _ = lone(12, 12, View(layer=1, max_terms=keep), seed=0)
    root = parse(svg(fig))
    assert check_wire_labels(root) == drawn(12, keep) ** 2
    size = font_size(root, "wl")
    for gap in find(root, "gap"):
        more = next(e for e in gap if "more" in classes(e))
        box = grown(ink(more, font_size(root, "more")), 2)
        assert all(apart(box, ink(e, size)) for e in find(root, "wl"))


def bias_boxes(root: ET.Element) -> list[tuple[ET.Element, Box]]:
    size = font_size(root, "bias")
    return [
        (e, ink(e, size, "middle" if "c" in classes(e) else "start")) for e in find(root, "bias")
    ]


@pytest.mark.parametrize(("spec", "shape", "seed"), FIGURES)
def test_each_bias_beside_its_neuron_where_no_wire_passes(
    spec: str, shape: tuple[Any, ...], seed: int | None
) -> None:
    fig, _ = net_figure(spec, shape, seed=seed)
    root = parse(svg(fig))
    biased = [c for c in fig.columns if c.bias]
    boxes = bias_boxes(root)
    assert len(boxes) == sum(sum(k is not None for k in c.shown) for c in biased)
    plates = [e for e in root.iter(f"{NS}rect") if "plate" in classes(e)]
    nodes = circle_boxes(root)
    groups = [g for g in root.iter(f"{NS}g") if "column" in classes(g)]
    owners = [
        (float(c.get("cx", 0)), float(c.get("cy", 0)))
        for g, column in zip(groups, fig.columns, strict=True)
        if column.bias
        for c in g.iter(f"{NS}circle")
    ]
    for n, ((e, box), owner) in enumerate(zip(boxes, owners, strict=True)):

        def reach(c: tuple[float, ...], box: Box = box) -> float:
            dx = max(box[0] - c[0], 0, c[0] - box[2])
            dy = max(box[1] - c[1], 0, c[1] - box[3])
            return (dx * dx + dy * dy) ** 0.5

        # Nearest to its own neuron (by 8 px at least), touching no circle nor other bias.
        nearest = sorted(nodes, key=reach)
        assert nearest[0][:2] == owner, text_of(e)
        assert reach(nearest[1]) - reach(nearest[0]) >= 8, text_of(e)
        assert all(reach(c) >= c[2] for c in nodes), text_of(e)
        assert all(apart(box, other) for _, other in boxes[:n])
        crossed = any(crosses(w, grown(box, 1)) for w in wires(root))
        on_plate = any(
            float(p.get("x", 0)) <= box[0]
            and box[2] <= float(p.get("x", 0)) + float(p.get("width", 0))
            and float(p.get("y", 0)) <= box[1]
            for p in plates
        )
        assert not crossed or on_plate, text_of(e)
    # Where no fan of wires leaves a column, every bias is to the right of its neuron.
    if spec == "784,256,relu,10":
        assert all("c" not in classes(e) for e, _ in boxes) and not plates


def test_a_lone_layers_bias_is_to_the_right_of_its_output() -> None:
    for seed in (None, 0):
        fig, _ = lone(3, 3, View(layer=2), seed=seed)
        root = parse(svg(fig))
        nodes = circle_boxes(root)[3:]
        for (e, box), (cx, cy, r) in zip(bias_boxes(root), nodes, strict=True):
            assert cx + r < box[0] < cx + r + 12 and box[1] < cy < box[3], text_of(e)
            assert not any(crosses(w, grown(box, 2)) for w in wires(root))


@pytest.mark.parametrize(("spec", "shape", "seed"), FIGURES)
def test_texts_side_by_side_keep_apart(spec: str, shape: tuple[Any, ...], seed: int | None) -> None:
    """Headers, sizes, layer names and notes: 16 px between any two on a line; neuron names
    fit inside their circles; nothing runs off the picture."""
    fig, _ = net_figure(spec, shape, seed=seed)
    root = parse(svg(fig))
    width = float(root.get("width", 0))
    rows = [
        [ink(e, font_size(root, "head")) for e in find(root, "head")]
        + [ink(e, font_size(root, "layer") * 1.13) for e in find(root, "layer")],
        [ink(e, font_size(root, "size")) for e in find(root, "size") + find(root, "note")],
    ]
    for row in rows:
        row.sort()
        assert all(b[0] - a[2] >= 16 - 0.2 for a, b in itertools.pairwise(row)), row
        assert row[0][0] >= 0 and row[-1][2] <= width
    size = font_size(root, "nl")
    for e, (cx, cy, r) in zip(find(root, "nl"), circle_boxes(root), strict=True):
        x0, y0, x1, y1 = ink(e, size)
        far = (max(cx - x0, x1 - cx) ** 2 + max(cy - y0, y1 - cy) ** 2) ** 0.5
        assert far <= r - 2, (text_of(e), far, r)
    for e in find(root, "legend"):
        assert ink(e, font_size(root, "legend"), "start")[2] <= width - 16, text_of(e)
    assert all(box[2] <= width - 8 for _, box in bias_boxes(root))


def test_the_legend_key_has_room() -> None:
    """The colour key stands on its own line, each line before its name, well apart."""
    fig, _ = lone(3, 3, View(layer=2), seed=0)
    root = parse(svg(fig))
    keys = [e for e in root.iter(f"{NS}line") if "key" in classes(e)]
    size = font_size(root, "legend")
    names = [e for e in find(root, "legend") if text_of(e) in ("positive", "negative")]
    assert [text_of(e) for e in names] == ["positive", "negative"]
    assert [classes(k) & {"pos", "neg"} for k in keys] == [{"pos"}, {"neg"}]
    (pos, neg), (first, second) = keys, names
    assert float(pos.get("x2", 0)) + 4 <= float(first.get("x", 0))
    assert ink(first, size, "start")[2] + 16 <= float(neg.get("x1", 0))
    assert float(neg.get("x2", 0)) + 4 <= float(second.get("x", 0))
    assert {e.get("y") for e in names} == {names[0].get("y")}
    others = [e for e in find(root, "legend") if e not in names]
    assert all(e.get("y") != names[0].get("y") for e in others)


def test_counts_of_one_are_singular() -> None:
    fig, _ = lone(1, 1)
    root = parse(svg(fig))
    assert [text_of(e) for e in find(root, "size")] == ["1 neuron", "1 neuron"]
    assert [text_of(e) for e in find(root, "note")] == ["1 weight"]
    one = Figure(
        [Column("z", 1, 1, (1,)), Column("a", 1, 1, (1,))], [Wiring(ALL, "Softmax(dim=-1)", 1)]
    )
    assert text_of(find(parse(svg(one)), "note")[0]).startswith("1 wire,")


@pytest.mark.parametrize(("spec", "least"), [("3,3", None), ("784,256,relu,10", 0.6)])
def test_in_a_page_small_figures_shrink_and_big_ones_scroll(spec: str, least: float | None) -> None:
    """On a phone a small figure shrinks to fit the page; a big one keeps 0.6 of its size (its
    text stays legible) and scrolls in its box."""
    fig, _ = net_figure(spec, ("N", int(spec.split(",")[0])), seed=0)
    root = parse(svg(fig, standalone=False))
    width = float(root.get("width", 0))
    style = dict(p.split(":") for p in (root.get("style") or "").split(";"))
    assert style["max-width"] == "100%" and style["height"] == "auto"
    if least is None:
        assert width <= 600 and "min-width" not in style
    else:
        assert width > 600 and style["min-width"] == f"{round(least * width)}px"


# Every <text> of the figure as Chromium lays it out: its class and its advance width.
MEASURE = """() => [...document.querySelectorAll('text')].map(
  (t) => [t.getAttribute('class'), t.getComputedTextLength()])"""


def test_chromium_draws_no_text_wider_than_laid_out(browser, tmp_path) -> None:
    """In Debian's headless Chromium (DejaVu Sans, wider than most fonts), every text is at most
    as wide as the layout made room for, so the checks above hold on screen."""
    cases = [lone(3, 3, View(layer=2), seed=s)[0] for s in (None, 0)]
    cases += [lone(4, 4, View(layer=12), seed=s)[0] for s in (None, 0)]
    cases += [net_figure(spec, shape, seed=seed)[0] for spec, shape, seed in FIGURES]
    kinds = ("nl", "head", "size", "note", "layer", "wl", "bias", "more", "reshape", "legend")
    checked = 0
    for n, fig in enumerate(cases):
        text = svg(fig)
        root = parse(text)
        path = tmp_path / f"figure{n}.svg"
        path.write_text(text, encoding="utf-8")
        visit = browser.open(path.resolve().as_uri())
        try:
            measured = visit.page.evaluate(MEASURE)
        finally:
            visit.page.close()
        texts = list(root.iter(f"{NS}text"))
        assert len(measured) == len(texts)
        for e, (_, real) in zip(texts, measured, strict=True):
            kind = next((k for k in kinds if k in classes(e)), None)
            if kind is None:  # the gap's dots
                continue
            size = font_size(root, kind) * (1.13 if kind == "layer" else 1.0)
            room = svgmod._parts_width(parts_of(e), size)
            assert real <= room + 0.5, (text_of(e), real, room)
            checked += 1
    assert checked > 500


# --- safety -------------------------------------------------------------------------------------


def test_names_are_escaped() -> None:
    evil = '<script>alert("x")</script>&"\'\x00'
    fig = Figure(
        [
            Column("x", None, 2, (1, 2)),
            Column("z", 1, 2, (1, 2), bias=True),
            Column("a", 1, 2, (1, 2)),
        ],
        [Wiring(DENSE, evil, 0), Wiring(EACH, evil + "]]>", 1)],
        title=evil,
        description=evil,
    )
    text = svg(fig)
    root = parse(text)
    assert "<script" not in text.lower()
    assert root.findtext(f"{NS}title") == evil.replace("\x00", "\\x00")
    assert text_of(find(root, "layer")[0]) == "(0) " + evil.replace("\x00", "\\x00")
    assert len(wires(root)) == 4 + 2


def test_names_are_shown_not_obeyed() -> None:
    """A name read from a file may hold ESC (a terminal's escape codes) or U+202E (which
    reverses what follows): every text from the figure has them spelled out."""
    sly = "w\x1b[2J\u202eevil\x85\u2066"
    fig = Figure(
        [Column("x", None, 2, (1, 2)), Column("z\u202e", 1, 2, (1, 2), bias=True)],
        [Wiring(DENSE, "Linear" + sly, 0)],
        title="title " + sly,
        description="about " + sly,
    )
    text = svg(fig, standalone=False)
    for bad in ("\x1b", "\u202e", "\x85", "\u2066"):
        assert bad not in text
    root = parse(text)
    shown = "w\\x1b[2J<U+202E>evil\\x85<U+2066>"
    assert root.findtext(f"{NS}title") == "title " + shown
    assert root.findtext(f"{NS}desc") == "about " + shown
    assert text_of(find(root, "layer")[0]) == "(0) Linear" + shown
    assert text_of(find(root, "head")[1]) == "z<U+202E>(1)"


@pytest.mark.parametrize("seed", [None, 0])
def test_nothing_external(seed: int | None) -> None:
    fig, _ = net_figure("784,256,relu,10,softmax", ("N", 784), seed=seed)
    text = svg(fig)
    assert re.findall(r"https?://[^\s\"'<>]*", text) == ["http://www.w3.org/2000/svg"]
    for banned in ("<script", "href", "foreignobject", "<image", "@import", "url("):
        assert banned not in text.lower()
    # Coordinates are rounded to one decimal.
    for value in re.findall(r' (?:x|y|x1|y1|x2|y2|cx|cy|r)="([^"]*)"', text):
        assert re.fullmatch(r"-?\d+(\.\d)?", value), value


# --- size and speed ---------------------------------------------------------------------------


def test_4096_figure_is_small_and_needs_neither_numpy_nor_sympy() -> None:
    code = (
        "import sys\n"
        "from linexplain.figure import figure\n"
        "from linexplain.layers import Linear\n"
        "from linexplain.network import Network\n"
        "from linexplain.output.svg import svg\n"
        "from linexplain.view import View\n"
        "net = Network((Linear(4096, 4096),))\n"
        "text = svg(figure(net, net.walk(('N', 4096)), View()))\n"
        "print(len(text.encode()), 'numpy' in sys.modules, 'sympy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    size, numpy, sympy = out.stdout.split()
    assert (numpy, sympy) == ("False", "False")
    assert int(size) < 100_000
    root = parse(svg(lone(4096, 4096)[0]))
    assert len(wires(root)) == 64
    assert [g.get("data-hidden") for g in find(root, "gap")] == ["4088", "4088"]
    assert "4,088 more" in text_of(find(root, "gap")[0])


# --- any small network --------------------------------------------------------------------------

ACTIVATIONS = ("relu", "gelu", "softmax")
items = st.one_of(st.integers(1, 12), st.sampled_from(ACTIVATIONS))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.integers(1, 12),
    rest=st.lists(items, max_size=5),
    last=st.integers(1, 12),
    keep=st.sampled_from([8, 3, None]),
    numeric=st.booleans(),
)
def test_any_small_network(
    first: int, rest: list[int | str], last: int, keep: int | None, numeric: bool
) -> None:
    spec = ",".join(map(str, [first, *rest, last]))
    view = View(max_terms=keep or 8, full=keep is None)
    fig, params = net_figure(spec, ("N", first), view, seed=0 if numeric else None)
    root = parse(svg(fig, id_prefix="f1"))
    sizes = [c.size for c in fig.columns]
    expected_circles = 0
    for size in sizes:
        expected_circles += drawn(size, keep)
    assert len(circles(root)) == expected_circles
    for k, wiring in enumerate(fig.layers):
        before, after = drawn(sizes[k], keep), drawn(sizes[k + 1], keep)
        count = {DENSE: before * after, ALL: before * after, EACH: after, RESHAPE: 0}[wiring.kind]
        assert len(wires(root, k)) == count, (spec, k)
        if numeric and wiring.kind == DENSE:
            weight = params[k][0]
            for e in wires(root, k):
                w = float(weight[int(e.get("data-i", 0)) - 1, int(e.get("data-j", 0)) - 1])
                assert ("pos" in classes(e)) == (w > 0) and ("neg" in classes(e)) == (w < 0)
    hidden = [int(g.get("data-hidden", 0)) for g in find(root, "gap")]
    assert hidden == [s - drawn(s, keep) for s in sizes if s > drawn(s, keep)]
