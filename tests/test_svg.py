"""The figure as SVG (linexplain.output.svg): valid XML, the right wires, gaps and labels, safe
text, small and fast for a 4096 x 4096 layer. Every figure is built from a real network."""

from __future__ import annotations

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
    fig, _ = net_figure("flatten,6,4,softmax", ("N", 2, 3), seed=0)
    assert [w.kind for w in fig.layers] == [RESHAPE, DENSE, ALL]
    root = parse(svg(fig))
    assert [len(wires(root, k)) for k in range(3)] == [0, 24, 16]
    assert all("all" in classes(e) and e.get("data-w") is None for e in wires(root, 2))
    assert all("all" not in classes(e) for e in wires(root, 1))
    reshape = find(root, "reshape")
    assert [text_of(e) for e in reshape] == ["reshaped: last dim 3 → 6"]
    assert len(circles(root)) == 3 + 6 + 4 + 4


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
    legend = " ".join(text_of(e) for e in find(root, "legend"))
    largest = max(float(abs(w).max()) for w, _ in params if w is not None)
    assert f"largest here: {number(largest, 4, 'text')}" in legend
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
    assert root.findtext(f"{NS}title") == evil.replace("\x00", "\ufffd")
    assert text_of(find(root, "layer")[0]) == "(0) " + evil.replace("\x00", "\ufffd")
    assert len(wires(root)) == 4 + 2


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
