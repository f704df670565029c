"""``linexplain draw`` and the figure model: columns, wiring counts, honest elision, real weights
(checked against torch), ``--output`` files, the figure inside ``explain``, and the notebook API."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_one_line_error, cli
from hypothesis import given, settings
from hypothesis import strategies as st

import linexplain
from linexplain import LinexplainError, Request, View
from linexplain import lessons as commands
from linexplain.figure import figure, figure_data
from linexplain.layers import Linear
from linexplain.netspec import parse_net
from linexplain.network import Network


def data(*args: str) -> dict:
    result = cli("draw", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- the model --------------------------------------------------------------------------------


def test_the_posts_figure_by_default():
    d = data()
    assert d["title"] == "Linear(3 → 3)"
    assert [c["size"] for c in d["columns"]] == [3, 3]
    assert [c["name"] for c in d["columns"]] == ["x", "z"]
    assert d["columns"][1]["bias"] and not d["columns"][0]["bias"]
    assert d["wires"] == d["weighted_wires"] == 9 and d["neurons"] == 6 and not d["numeric"]
    assert d["layers"] == [
        {"name": "Linear(3 → 3)", "index": None, "kind": "dense", "wires": 9, "drawn": 9,
         "weights": None, "bias": None}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("in_", "out", "hidden_in", "hidden_out"),
    [(8, 8, 0, 0), (9, 9, 1, 1), (784, 256, 776, 248), (4096, 4096, 4088, 4088), (1, 1, 0, 0)],
)
def test_elision_hides_the_middle_and_counts_it(in_, out, hidden_in, hidden_out):
    d = data("--in", str(in_), "--out", str(out))
    first, last = d["columns"]
    assert (first["hidden"], last["hidden"]) == (hidden_in, hidden_out)
    assert (None in first["shown"]) == bool(hidden_in)
    assert d["layers"][0]["wires"] == in_ * out
    shown = [sum(i is not None for i in c["shown"]) for c in d["columns"]]
    assert d["layers"][0]["drawn"] == shown[0] * shown[1]
    assert first["shown"][0] == 1 and first["shown"][-1] == in_  # first and last always shown


def test_max_terms_and_index_base():
    d = data("--in", "20", "--out", "5", "--max-terms", "4", "--index-base", "0")
    assert d["columns"][0]["shown"] == [0, 1, 2, None, 19]
    assert d["columns"][0]["hidden"] == 16 and d["index_base"] == 0
    assert data("--in", "20", "--out", "5", "--full")["columns"][0]["hidden"] == 0


def test_a_network_in_the_posts_notation():
    d = data("--net", "784,256,relu,10")
    assert [(c["name"], c["layer"], c["size"]) for c in d["columns"]] == [
        ("x", None, 784), ("z", 2, 256), ("a", 2, 256), ("z", 3, 10)
    ]  # fmt: skip
    assert [(w["name"], w["kind"], w["index"]) for w in d["layers"]] == [
        ("Linear(784 → 256)", "dense", 0), ("ReLU", "each", 1), ("Linear(256 → 10)", "dense", 2)
    ]  # fmt: skip
    assert [w["wires"] for w in d["layers"]] == [784 * 256, 256, 2560]
    assert d["wires"] == 784 * 256 + 256 + 2560


def test_kinds_of_wiring():
    d = data("--net", "Flatten(), Linear(12, 3, bias=False), Softmax(dim=-1)", "-s", "N,3,4")
    # a first Flatten: one sample is all 12 numbers in a row, each kept as it is
    assert [w["kind"] for w in d["layers"]] == ["each", "dense", "all"]
    assert [c["size"] for c in d["columns"]] == [12, 12, 3, 3]
    assert [w["wires"] for w in d["layers"]] == [12, 36, 9]
    assert d["weighted_wires"] == 36
    later = data("--net", "Linear(4, 5), Flatten(), Linear(15, 2)", "-s", "N,3,4")
    assert [w["kind"] for w in later["layers"]] == ["dense", "reshape", "dense"]
    # Softmax over another dim than the features: each feature alone, not every to every
    other = data("--net", "4,3,softmax(0)", "-s", "N,4")
    assert [w["kind"] for w in other["layers"]] == ["dense", "each"]
    assert data("--net", "Linear(4, 3), Softmax()", "-s", "2,2,4")["layers"][1]["kind"] == "each"
    assert data("--net", "Linear(4, 3), Softmax()", "-s", "2,4")["layers"][1]["kind"] == "all"
    assert d["layers"][1]["name"] == "Linear(12 → 3, bias=False)"
    assert not d["columns"][2]["bias"]
    assert data("--net", "4,3,gelu,dropout,2")["layers"][1]["kind"] == "each"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 30), min_size=2, max_size=5),
    st.integers(2, 10),
    st.sampled_from(["", "relu", "gelu", "tanh"]),
)
def test_wire_counts_of_any_network(widths, keep, act):
    spec = ",".join(str(w) for w in widths)
    network = Network.of(parse_net(spec, act or None))
    f = figure(network, network.walk(("N", widths[0])), View(max_terms=keep))
    for k, wiring in enumerate(f.layers):
        before, after = f.columns[k], f.columns[k + 1]
        if wiring.kind == "dense":
            assert f.wires(k) == before.size * after.size
        else:
            assert f.wires(k) == after.size == before.size
        for c in (before, after):
            assert len([i for i in c.shown if i is not None]) == min(c.size, keep)
            assert c.hidden == c.size - min(c.size, keep)
            assert (None in c.shown) == (c.size > keep)


# --- real weights -------------------------------------------------------------------------------


def test_seeded_weights_are_torchs(torch):
    d = data("--net", "4,3,relu,2", "--seed", "7")
    assert d["numeric"]
    torch.manual_seed(7)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    for index in (0, 2):
        assert np.array(d["layers"][index]["weights"]) == pytest.approx(
            model[index].weight.detach().numpy().astype(float), abs=0
        )
    one = data("--in", "20", "--out", "10", "--seed", "0", "--max-terms", "4")
    torch.manual_seed(0)
    w = torch.nn.Linear(20, 10).weight.detach().numpy()
    rows = one["layers"][0]["weights"]
    assert rows[0] == [float(w[0, j]) for j in (0, 1, 2)] + [None, float(w[0, 19])]
    assert rows[3] is None and rows[4][4] == float(w[9, 19])


def test_given_weights_and_bias():
    f = commands.draw(Request(weight=[[1.0, -2.0, 0.5]], bias_values=[0.25]))
    (wiring,) = f.data["layers"]
    assert wiring["weights"] == [[1.0, -2.0, 0.5]] and f.data["columns"][1]["size"] == 1
    figure_ = f.sections[0].blocks[0]
    assert figure_.columns[1].bias_values == (0.25,)
    assert figure_.layers[0].scale == 2.0
    assert "the given weights" in f.summary[0]


def test_weights_from_a_state_dict(tmp_path):
    path = tmp_path / "net.npz"
    w0, w2 = np.arange(12.0).reshape(3, 4) - 6, np.ones((2, 3))
    np.savez(path, **{"0.weight": w0, "0.bias": np.zeros(3), "2.weight": w2, "2.bias": -np.ones(2)})
    d = data("--net", "4,3,relu,2", "--weight-file", str(path))
    assert d["layers"][0]["weights"] == w0.tolist()
    assert d["layers"][2]["weights"] == w2.tolist()


# --- the command line -----------------------------------------------------------------------


def test_weights_checked_as_run_checks_them():
    for args, words in (
        (["--weight", "[]"], "2-D weight"),
        (["--weight", "[[1, 2]]", "--in", "3"], "--in 3 disagrees"),
        (["--weight", "[[1, 2]]", "--no-bias", "--bias-values", "[1]"], "--no-bias"),
        (["--weight", "[[1, 2]]", "-s", "N,3"], "must equal the weight's columns"),
    ):
        assert words in assert_one_line_error(cli("draw", *args))
    d = data("--weight", "[[1, -2]]", "--bias-values", "[0.5]", "-s", "N,2")
    assert d["layers"][0]["weights"] == [[1.0, -2.0]] and d["layers"][0]["bias"] == [0.5]


def test_full_and_max_terms_are_bounded():
    assert "at most 64" in assert_one_line_error(
        cli("draw", "--in", "1", "--out", "4096", "--full")
    )
    line = assert_one_line_error(cli("draw", "--in", "2", "--out", "100", "--max-terms", "100"))
    assert "lower --max-terms" in line
    assert data("--in", "64", "--out", "64", "--full")["layers"][0]["drawn"] == 4096


def test_output_file_and_its_suffix(tmp_path):
    target = tmp_path / "figure.json"
    result = cli("draw", "--in", "4", "--out", "2", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text())["wires"] == 8
    text = tmp_path / "figure.txt"
    assert cli("draw", "-o", str(text), "--format", "ascii").exit_code == 0
    assert text.read_text().isascii()
    plain = tmp_path / "figure"
    assert cli("draw", "-o", str(plain)).exit_code == 0 and "●" in plain.read_text()
    line = assert_one_line_error(cli("draw", "-o", str(tmp_path / "x.png")))
    assert "'.png'" in line and not (tmp_path / "x.png").exists()
    assert cli("draw", "-o", str(tmp_path / "x.png"), "--format", "svg").exit_code == 0
    assert "both say" in assert_one_line_error(cli("draw", "--json", "--format", "svg"))
    linexplain.draw().save(str(tmp_path / "saved.svg"))
    assert (tmp_path / "saved.svg").read_text().startswith("<svg")
    with pytest.raises(LinexplainError, match="suffix"):
        linexplain.draw().save(str(tmp_path / "saved.pdf"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--in", "-1", "--out", "2"], "in_features"),
        (["--net", "4,3,relu,2", "--in", "4"], "--in and --net"),
        (["--in", "3", "--out", "2", "-s", "N,4"], "last dim"),
        (["--net", "relu", "-s", "N,C"], "is a name"),
        (["-o", "/nonexistent/dir/f.svg"], "cannot write --output"),
        (["--net", "4,3,2", "--seed", "0", "--max-memory", "10B"], "memory"),
        (["--format", "svg", "--json", "--net", "2,x"], "net"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, words):
    line = assert_one_line_error(cli("draw", *args))
    assert words.lower() in line.lower(), line


def test_svg_needs_a_figure():
    line = assert_one_line_error(cli("shape", "--out", "3", "-s", "N,3", "--format", "svg"))
    assert "no figure" in line and "linexplain draw" in line


def test_explain_includes_the_figure():
    d = json.loads(cli("explain", "--json").stdout)
    assert d["figure"]["wires"] == 9 and d["figure"]["columns"][1]["layer"] == 2
    net = json.loads(cli("explain", "--net", "4,3,relu,2", "--json").stdout)
    assert [c["size"] for c in net["figure"]["columns"]] == [4, 3, 3, 2]
    doc = commands.explain(Request(in_features=3, out_features=3))
    titles = [s.title[0] for s in doc.sections]
    assert "The figure: every input wired to every output" in titles


def test_a_symbolic_draw_loads_neither_numpy_nor_sympy():
    code = (
        "import sys; from linexplain.cli import app\n"
        "try:\n    app(['draw', '--in', '4096', '--out', '4096', '--json'])\n"
        "except SystemExit:\n    pass\n"
        "print('heavy:', sorted({'numpy', 'sympy'} & set(sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "heavy: []" in done.stderr


# --- the Python API ---------------------------------------------------------------------------


def test_the_api_takes_the_commands_options():
    lesson = linexplain.draw(net="4,3,relu,2", seed=0, index_base=0)
    assert lesson.data["index_base"] == 0 and lesson.data["numeric"]
    assert linexplain.explain(in_features=2, out_features=1).data["figure"]["wires"] == 2
    assert linexplain.lesson("grad", in_features=3, out_features=2, input_shape="4,3").result
    assert linexplain.draw(net="Linear(3, 2)").data["columns"][0]["name"] == "x"


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: linexplain.explain(colour="red"), "unknown option 'colour'"),
        (lambda: linexplain.lesson("paint"), "command"),
        (lambda: linexplain.draw(net=3), "net must be a spec or a Network"),
        (lambda: linexplain.draw(act="relu"), "act needs net"),
        (lambda: linexplain.draw(in_features=-1, out_features=2), "in_features"),
        (lambda: linexplain.Lesson("doc"), "a Lesson shows a Doc"),
    ],
)
def test_the_api_refuses_bad_options(call, words):
    with pytest.raises(LinexplainError, match=words):
        call()


def test_figure_data_is_json():
    network = Network((Linear(3, 2),))
    f = figure(network, network.walk((4, 3)), View())
    assert json.loads(json.dumps(figure_data(f)))["wires"] == 6


def test_the_figure_in_markdown_and_latex():
    markdown = cli("draw", "--format", "markdown").stdout
    fenced = markdown.split("```text\n", 1)[1].split("```", 1)[0]
    assert fenced.count("●") == 9 and "> ● is the weight" in markdown
    latex = cli("draw", "--net", "4,3,relu,2", "--format", "latex").stdout
    drawing = latex.split("\\begin{verbatim}\n", 1)[1].split("\\end{verbatim}", 1)[0]
    assert latex.isascii() and drawing.count("*") == 12 + 6


def test_the_memory_limit_counts_what_a_figure_holds():
    """A seeded figure holds the weights, not a report of every number (which would be ~12×)."""
    ok = cli(
        "draw", "--in", "2048", "--out", "2048", "--seed", "0", "--max-memory", "40MB", "--json"
    )
    assert ok.exit_code == 0, ok.output
    line = assert_one_line_error(cli("draw", "--in", "2048", "--out", "2048", "--seed", "0",
                                     "--max-memory", "10MB"))  # fmt: skip
    assert "weight, bias, input and output" in line and "report" not in line
