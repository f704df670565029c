"""The redesign: one way through the code, and what a new user tripped on (one test per fix)."""

from __future__ import annotations

import ast
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, assert_one_line_error, cli

from linexplain import Request, View, render
from linexplain import lessons as explain
from linexplain.output.latex import latex
from linexplain.output.markdown import markdown

PACKAGE = ROOT / "linexplain"


# --- the structure ---------------------------------------------------------------------------


def _imports() -> dict[str, set[str]]:
    """Which modules of the package each module imports (in functions and TYPE_CHECKING too)."""
    names = {
        ".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): f
        for f in PACKAGE.rglob("*.py")
    }
    edges: dict[str, set[str]] = {name: set() for name in names}
    for name, path in names.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
                for alias in node.names:
                    target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in names else base
                    if target in names and target not in (name, "linexplain"):
                        edges[name].add(target)
    return edges


def test_the_import_graph_goes_one_way() -> None:
    edges = _imports()
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == 1:
            pytest.fail("import circle: " + " -> ".join([*path, module]))
        if state.get(module) == 2:
            return
        state[module] = 1
        for target in sorted(edges[module]):
            visit(target, [*path, module])
        state[module] = 2
        order.append(module)

    for module in sorted(edges):
        visit(module, [])


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("linexplain.elide", "linexplain.equations"),
        ("linexplain.grammar", "linexplain.layers"),
        ("linexplain.layers", "linexplain.lessons"),
        ("linexplain.document", "linexplain.output.text"),
        ("linexplain.lessons", "linexplain.cli.app"),
    ],
)
def test_lower_layers_never_import_higher_ones(low: str, high: str) -> None:
    edges = _imports()
    seen, todo = set(), [low]
    while todo:
        module = todo.pop()
        seen.add(module)
        todo += [t for t in edges[module] if t not in seen]
    assert high not in seen


def test_commands_are_thin() -> None:
    tree = ast.parse((PACKAGE / "cli" / "app.py").read_text(encoding="utf-8"))
    commands = [
        f
        for f in tree.body
        if isinstance(f, ast.FunctionDef)
        and any(getattr(d, "func", None) and "command" in ast.unparse(d) for d in f.decorator_list)
    ]
    names = {"explain", "shape", "expand", "run_command", "grad", "draw", "model"}
    assert {f.name for f in commands} == names
    for f in commands:
        body = [s for s in f.body if not isinstance(s, ast.Expr)]  # the docstring aside
        assert len(body) <= 6, (f.name, len(body))


def test_shape_and_help_load_neither_numpy_nor_sympy() -> None:
    code = (
        "import sys; from linexplain.cli import app\n"
        "for args in (['shape', '--out', '3', '-s', 'N,3'], ['--help'], ['run', '--help']):\n"
        "    try: app(args)\n"
        "    except SystemExit: pass\n"
        "print('numpy' in sys.modules, 'sympy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


# --- 1, 2: other tools, side by side -------------------------------------------------------


def test_torchinfo_release_undercounts_and_says_so() -> None:
    data = json.loads(cli("shape", "--out", "3072", "-s", "2,5,768", "--json").stdout)
    assert data["macs"] == 23_592_960
    assert data["other_tools"]["torchinfo_1_8_mult_adds"] == 4_724_736
    assert data["other_tools"]["torchinfo_main_mult_adds"] == 23_623_680
    text = cli("shape", "--out", "3072", "-s", "2,5,768").stdout
    assert "torchinfo 1.8.0 Mult-Adds" in text and "undercounts N-D inputs" in text
    assert "torchinfo main Mult-Adds (unreleased)" in text
    for tool in ("fvcore", "thop", "ptflops", "calflops / DeepSpeed", "torch FlopCounterMode"):
        assert tool in text


def test_no_bias_claims_no_bias_add() -> None:
    text = cli("shape", "--out", "4", "-s", "5,3", "--no-bias").stdout
    tools = text.split("Other tools count differently")[1]
    assert "bias add" not in tools and "bias as MACs" not in tools


# --- 3: one index base everywhere ------------------------------------------------------------


def test_run_steps_are_one_based_by_default_with_index_base_and_layer() -> None:
    text = cli("run", "--in", "3", "--out", "2", "--steps", "--format", "pretty").stdout
    assert "  z₁ = " in text and "z₀" not in text
    zero = cli("run", "--in", "3", "--out", "2", "--steps", "--index-base", "0", "--layer", "3")
    assert "z₀⁽³⁾ = " in zero.stdout
    data = json.loads(cli("run", "--in", "3", "--out", "2", "--steps", "--json").stdout)
    assert data["index_base"] == 1 and data["steps"]["rows"][0]["lhs"] == "z_1"
    data = json.loads(cli("run", "--in", "3", "--out", "2", "--steps", "--index-base", "0",
                          "--json").stdout)  # fmt: skip
    assert data["index_base"] == 0 and data["steps"]["rows"][0]["lhs"] == "z_0"
    assert json.loads(cli("grad", "--in", "3", "--out", "2", "--json").stdout)["index_base"] == 1


# --- 4: one vocabulary -----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["explain", "shape", "expand", "run", "grad"])
def test_seed_means_the_random_seed_only(command: str) -> None:
    args = {"shape": ["--out", "3", "-s", "4,3"], "expand": ["--in", "3", "--out", "3"]}
    out = cli(command, *args.get(command, ["--in", "3", "--out", "3"]), "--steps")
    out = (
        out if out.exit_code == 0 else cli(command, *args.get(command, ["--in", "3", "--out", "3"]))
    )
    help_text = cli(command, "--help").stdout
    for text in (out.stdout, help_text):
        assert "seed's" not in text and "whole seed" not in text
        assert ("Aᵀ" not in text and "A^T" not in text) or "PyTorch's docs write" in text


def test_the_batch_has_its_own_name_in_grad() -> None:
    text = cli("grad", "--in", "3", "--out", "2", "--format", "pretty").stdout
    assert "∂L/∂W = Gᵀ⋅x" in text and "x is (4 × 3)" in text and "Gᵀ⋅X" not in text


# --- 5: reading each dim ---------------------------------------------------------------------


def test_reading_goes_from_the_right_and_json_gives_index_and_size() -> None:
    text = cli("shape", "--out", "3", "-s", "N,C,3").stdout
    rows = text.split("Reading each dim (from the right)")[1].splitlines()[2:5]
    assert [r.split()[0] for r in rows] == ["2", "1", "0"]
    roles = json.loads(cli("shape", "--out", "3", "-s", "N,C,3", "--json").stdout)["dim_roles"]
    assert [(r["index"], r["size"]) for r in roles] == [(0, "N"), (1, "C"), (2, 3)]


# --- 6: precision means decimals -------------------------------------------------------------


def test_precision_is_decimals_in_tables_and_sums_alike() -> None:
    text = cli("run", "--in", "3", "--out", "2", "--steps", "--precision", "2").stdout
    table = text.split("W = layer.weight")[1].splitlines()[2]
    sums = text.split("Sample 0 written out")[1].splitlines()[1]
    for number in re.findall(r"\d+\.\d+", table + sums):
        assert len(number.split(".")[1]) == 2, number
    whole = cli("run", "--in", "3", "--out", "2", "--precision", "0").stdout
    assert "e-01" not in whole and "e+00" not in whole


# --- 7: no stale claims ----------------------------------------------------------------------


def test_a_seed_that_does_nothing_is_said_to_do_nothing() -> None:
    args = ["run", "--input", "[[1, 2]]", "--weight", "[[1, 0]]"]
    out = cli(*args).stdout
    assert "no seed used (weights and input given)" in out and "manual_seed" not in out
    assert "manual_seed" in cli("run", "--input", "[[1, 2]]", "--out", "1").stdout


def test_names_given_with_dims_are_not_asked_for_again() -> None:
    given = cli("run", "--in", "3", "--out", "2", "-s", "N,3", "--dims", "N=2").stdout
    assert "names: N = 2)" in given and "with --dims" not in given
    default = cli("run", "--in", "3", "--out", "2", "-s", "N,C,3", "--dims", "N=2").stdout
    assert "set C with --dims" in default


# --- 8, 9: input as users paste it -----------------------------------------------------------


@pytest.mark.parametrize("pasted", ["(32, 784)", "[32, 784]", "torch.Size([32, 784])"])
def test_pasted_shapes(pasted: str) -> None:
    data = json.loads(cli("shape", "--out", "10", "-s", pasted, "--json").stdout)
    assert data["input_shape"] == [32, 784] and data["output_shape"] == [32, 10]


def test_a_csv_header_is_skipped_and_said(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n")
    out = cli("run", "--out", "2", "--input-file", str(path))
    assert out.exit_code == 0, out.output
    assert "skipped line 1, a header (a, b, c)" in out.stdout
    data = json.loads(cli("run", "--out", "2", "--input-file", str(path), "--json").stdout)
    assert data["input"] == [[1, 2, 3], [4, 5, 6]] and "header" in data["notes"][0]


# --- 11: a check that cannot judge says so ---------------------------------------------------


def test_grad_check_at_huge_values_cannot_judge() -> None:
    out = cli("grad", "--out", "2", "--input", "[[3e38, 3e38]]", "--check")
    assert "cannot judge" in out.stdout and "largest error  1 " not in out.stdout
    data = json.loads(
        cli("grad", "--out", "2", "--input", "[[3e38, 3e38]]", "--check", "--json").stdout
    )
    assert data["check_judged"] is False and data["check_max_error"] == "inf"
    fine = json.loads(cli("grad", "--in", "3", "--out", "2", "--check", "--json").stdout)
    assert fine["check_judged"] is True and fine["check_max_error"] < 1e-6


# --- 12: the whole lesson as a document ------------------------------------------------------


@pytest.mark.parametrize("command", ["explain", "grad", "run", "shape", "expand"])
def test_latex_and_markdown_write_the_whole_document(command: str) -> None:
    args = ["--out", "3", "-s", "4,3"] if command == "shape" else ["--in", "3", "--out", "2"]
    plain = cli(command, *args, "--format", "ascii").stdout
    tex = cli(command, *args, "--format", "latex").stdout
    md = cli(command, *args, "--format", "markdown").stdout
    titles = [line for line in plain.splitlines() if line and not line.startswith(" ")][2:]
    for title in titles[:6]:
        words = re.sub(r"[^A-Za-z ]", " ", title).split()[:2]
        assert all(w in tex for w in words) and all(w in md for w in words), title
    assert tex.count("{") == tex.count("}")
    assert md.count("$$") % 2 == 0


def test_grad_json_has_the_formulas_its_screen_shows() -> None:
    data = json.loads(cli("grad", "--in", "3", "--out", "2", "--json").stdout)
    formulas = data["formulas"]
    assert set(formulas) == {"compact", "grad_weight", "grad_bias", "grad_input"}
    screen = cli("grad", "--in", "3", "--out", "2", "--format", "pretty").stdout
    for form in formulas.values():
        assert form["text"].splitlines()[0] in screen
        assert form["latex"].count("{") == form["latex"].count("}")


# --- 13: products in the input's order ------------------------------------------------------


def test_products_follow_the_input_and_bytes_are_bytes() -> None:
    text = cli("shape", "--out", "3072", "-s", "B,T,768").stdout
    assert "2359296·B·T" in text and "B·T rows" in text
    assert "3072·B·T bytes" in text and "*B*T B" not in text
    data = json.loads(cli("shape", "--out", "3", "-s", "N,C,3", "--json").stdout)
    assert data["macs"] == "9*N*C" and data["memory"]["input_bytes"] == "12*N*C"


# --- the API and the writers -----------------------------------------------------------------


def test_every_command_is_a_function_from_a_request_to_a_document() -> None:
    req = Request(in_features=3, out_features=2, input_shape=(4, 3), view=View(layer=2))
    for command in (explain.shape, explain.expand, explain.run, explain.grad, explain.explain):
        doc = command(req)
        for fmt in ("pretty", "ascii", "latex", "markdown", "json"):
            assert render(doc, fmt)
        assert not any(ord(ch) > 127 for ch in render(doc, "ascii"))
        json.loads(render(doc, "json"))


def test_one_writer_per_format_from_the_same_document() -> None:
    doc = explain.expand(Request(in_features=2, out_features=2, view=View(layer=2)))
    assert render(doc, "latex") == latex(doc) and render(doc, "markdown") == markdown(doc)
    assert "z₁⁽²⁾" in render(doc, "pretty") and "z_1^(2)" in render(doc, "ascii")
    assert "z_{1}^{(2)}" in latex(doc) and "$$" in markdown(doc)


def test_arguments_come_in_nn_linears_order() -> None:
    from linexplain import explain_shape, forward
    from linexplain.equations import expand

    assert explain_shape((4, 3), 3, 5).weight_shape == (5, 3)
    assert forward(3, 5).layer.weight.shape == (5, 3)
    assert expand(3, 5).in_features == 3


def test_bad_view_options_are_one_line_errors() -> None:
    for args in (["--precision", "18"], ["--max-terms", "1"], ["--layer", "-2"]):
        assert_one_line_error(cli("expand", "--in", "3", "--out", "2", *args))
    assert math.isfinite(View(precision=17).precision)
