"""``linexplain expand`` on the command line: forms, formats, JSON, elision and refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy
from helpers import assert_in_order
from typer.testing import CliRunner

from linexplain.cli import app

runner = CliRunner()
EXPAND_KEYS = {
    "in_features", "out_features", "bias", "layer", "index_base", "elided",
    "scalar", "compact", "matrix", "pytorch",
}  # fmt: skip


def invoke(*args: str):
    return runner.invoke(app, ["expand", *args], env={"NO_COLOR": "1"})


def test_posts_example_piped_is_ascii() -> None:
    result = invoke("--in", "3", "--out", "3", "--layer", "2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Scalar form (the post's equation (1))" in out
    assert "z_1^(2) = w_11^(2)*x_1 + w_12^(2)*x_2 + w_13^(2)*x_3 + b_1^(2)" in out
    assert "Z^(2) = W^(2)*X + B^(2)" in out and "y = x*W^T + b" in out
    assert "PyTorch form, row vectors: y = x W^T + b, W = layer.weight" in out
    assert out.count("A^T") == 1 and "(PyTorch's docs write y = x A^T + b, A = W)" in out
    assert "(batch x 3)*(3 x 3) = (batch x 3)" in out
    assert out.isascii()


def test_pretty_format_uses_unicode() -> None:
    out = invoke("--in", "3", "--out", "3", "--layer", "2", "--format", "pretty").stdout
    assert "z₁⁽²⁾ = w₁₁⁽²⁾⋅x₁ + w₁₂⁽²⁾⋅x₂ + w₁₃⁽²⁾⋅x₃ + b₁⁽²⁾" in out


def test_batched_shapes_and_zero_base() -> None:
    out = invoke("--out", "2", "-s", "N,C,3", "--index-base", "0", "--form", "pytorch").stdout
    assert "(N*C x 3)*(3 x 2) = (N*C x 2)" in out
    assert "x (N, C, 3) -> y (N, C, 2)" in out
    assert "indices are 0-based: w_ij is layer.weight[i, j]" in out


@pytest.mark.parametrize("form", ["scalar", "matrix", "pytorch"])
def test_form_selects(form: str) -> None:
    out = invoke("--in", "2", "--out", "2", "--form", form).stdout
    titles = {"scalar": "Scalar form", "matrix": "Matrix form", "pytorch": "PyTorch form"}
    for name, title in titles.items():
        assert (title in out) == (name == form)


def test_latex_and_markdown_are_the_whole_document() -> None:
    latex = invoke("--in", "3", "--out", "3", "--layer", "2", "--format", "latex").stdout
    assert latex.startswith("\\section*{nn.Linear(in\\_features=3, out\\_features=3, bias=True)}")
    assert latex.count("\\[") == latex.count("\\]") == 4  # one display per form
    assert "w_{11}^{(2)}" in latex and latex.count("{") == latex.count("}")
    assert_in_order(
        latex,
        [
            "\\subsection*{Scalar form (the post's equation (1))",
            "\\subsection*{Compact form}",
            "\\subsection*{Matrix form",
            "\\subsection*{PyTorch form",
            "y &= x W^{T} + b",
            "(PyTorch's docs write y = x A$^{T}$ + b, A = W)\\par",  # the prose, in LaTeX
            "\\emph{indices are 1-based",
        ],
    )
    markdown = invoke("--in", "3", "--out", "3", "--format", "markdown").stdout
    assert markdown.startswith("### nn.Linear(in\\_features=3, out\\_features=3, bias=True)")
    assert markdown.count("$$") == 8
    assert_in_order(
        markdown,
        [
            "**Scalar form (the post's equation (1))",
            "z_{1} &= w_{11} x_{1}",
            "**PyTorch form, row vectors: y = x Wᵀ + b, W = layer.weight**",
            "(PyTorch's docs write y = x Aᵀ + b, A = W)",
            "> indices are 1-based",
        ],
    )


def test_json_contract_and_rhs_parse_back() -> None:
    result = invoke("--in", "3", "--out", "2", "--layer", "2", "--json")
    data = json.loads(result.stdout)
    assert set(data) == EXPAND_KEYS
    assert data["layer"] == 2 and data["index_base"] == 1 and data["elided"] is False
    assert data["scalar"][0]["lhs"] == "z_1"
    assert data["scalar"][0]["rhs"] == "b_1 + w_1_1*x_1 + w_1_2*x_2 + w_1_3*x_3"
    for form in ("compact", "matrix", "pytorch"):
        assert set(data[form]) == {"text", "latex"}
    pytorch = data["pytorch"]["text"].splitlines()  # only the maths, no prose
    assert (
        pytorch[0] == "y = x⋅Wᵀ + b"
        and "Wᵀ = " in pytorch[2]
        and "docs" not in data["pytorch"]["text"]
    )
    assert data["pytorch"]["latex"].startswith("\\begin{aligned}\ny &= x W^{T} + b")
    names = {
        f"{k}_{i}_{j}": sympy.Symbol(f"{k}_{i}_{j}") for k in "w" for i in (1, 2) for j in (1, 2, 3)
    }
    names |= {f"{k}_{i}": sympy.Symbol(f"{k}_{i}") for k in "xbz" for i in (1, 2, 3)}
    for row, i in zip(data["scalar"], (1, 2), strict=True):
        expected = sum(names[f"w_{i}_{j}"] * names[f"x_{j}"] for j in (1, 2, 3)) + names[f"b_{i}"]
        assert sympy.parse_expr(row["rhs"], local_dict=names) == expected  # our own output


def test_big_layer_is_elided_and_small() -> None:
    result = invoke("--in", "4096", "--out", "4096")
    assert result.exit_code == 0
    assert "4,088 of the 4,096 rows" in result.stdout
    assert len(result.stdout) < 20_000
    data = json.loads(invoke("--in", "4096", "--out", "4096", "--json").stdout)
    assert data["elided"] is True and len(data["scalar"]) == 8
    assert data["scalar"][0]["rhs"] == "b_1 + Sum(w_1_j*x_j, (j, 1, 4096))"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--in", "65", "--out", "64", "--full"], "4,160 weights is too much"),
        (["--out", "3"], "in_features is unknown"),
        (["--in", "3", "--out", "3", "-s", "N,4"], "(Nx4 and 3x3)"),
        (["--in", "0", "--out", "3"], "in_features must be at least 1"),
        (["--in", "3", "--out", "3", "--max-terms", "1"], "max terms must be at least 2"),
        (["--in", "3", "--out", "3", "--layer", "-2"], "--layer -2 is not a layer number"),
        (["--in", "3", "--out", "3", "--index-base", "2"], "'2' is not one of"),
        (["--in", "3", "--out", "3", "--format", "rtf"], "'rtf' is not one of"),
    ],
)
def test_refusals_are_one_line(args: list[str], needle: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_full_64_writes_everything() -> None:
    result = invoke("--in", "64", "--out", "64", "--full", "--form", "scalar")
    assert result.exit_code == 0
    assert "w_64,64*x_64" in result.stdout and "hidden" not in result.stdout


def test_head_closes_the_pipe_quietly() -> None:
    exe = Path(sys.executable).parent / "linexplain"
    proc = subprocess.run(
        f"'{exe}' expand --in 64 --out 64 --full | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.startswith("nn.Linear(in_features=64")
    assert proc.stderr == ""


def test_seed_writes_the_scalar_form_with_the_cores_numbers(tmp_path) -> None:
    import numpy as np

    data = json.loads(invoke("--in", "3", "--out", "2", "--seed", "5", "--json").stdout)
    run = runner.invoke(app, ["run", "--in", "3", "--out", "2", "--seed", "5", "-s", "3", "--json"])
    expected = json.loads(run.stdout)["output"]
    assert [row["value"] for row in data["numbers"]["rows"]] == pytest.approx(expected)
    assert "The scalar form with numbers" in invoke("--in", "3", "--out", "2", "--seed", "5").stdout
    np.savez(tmp_path / "w.npz", weight=np.eye(2, 3, dtype=np.float32), bias=np.ones(2, np.float32))
    given = json.loads(
        invoke("--in", "3", "--out", "2", "--weight-file", str(tmp_path / "w.npz"), "--json").stdout
    )
    seed0 = runner.invoke(app, ["run", "--in", "3", "--out", "2", "-s", "3", "--json"])
    x = json.loads(seed0.stdout)["input"]  # the torch.randn(3) after the (replaced) init
    assert [row["value"] for row in given["numbers"]["rows"]] == pytest.approx([x[0] + 1, x[1] + 1])
    mismatch = invoke("--in", "4", "--out", "2", "--weight-file", str(tmp_path / "w.npz"))
    assert mismatch.exit_code == 2 and "--in 4 disagrees" in mismatch.stderr


def test_a_weight_file_gives_the_sizes_and_the_bias(tmp_path) -> None:
    import numpy as np

    np.savez(tmp_path / "nob.npz", weight=np.ones((2, 3), np.float32))
    data = json.loads(invoke("--weight-file", str(tmp_path / "nob.npz"), "--json").stdout)
    assert (data["in_features"], data["out_features"], data["bias"]) == (3, 2, False)
    assert all("b_" not in row["text"] for row in data["numbers"]["rows"])
    assert (
        "b_1" not in invoke("--weight-file", str(tmp_path / "nob.npz"), "--form", "scalar").stdout
    )
    wrong = invoke("--in", "3", "--out", "3", "--weight-file", str(tmp_path / "nob.npz"))
    assert wrong.exit_code == 2 and "--out 3 disagrees with the weight's rows (2)" in wrong.stderr
    np.savez(tmp_path / "wb.npz", weight=np.ones((2, 3), np.float32), bias=np.ones(2, np.float32))
    both = invoke("--weight-file", str(tmp_path / "wb.npz"), "--no-bias")
    assert both.exit_code == 2 and "the weights come with a bias" in both.stderr
    assert invoke("--out", "2").exit_code == 2  # without a weight file the sizes are needed


def test_full_writes_the_numbers_out_too() -> None:
    data = json.loads(invoke("--in", "20", "--out", "2", "--full", "--seed", "0", "--json").stdout)
    assert data["numbers"]["elided"] is False
    assert [len(row["values"]) for row in data["numbers"]["rows"]] == [41, 41]  # 20 w, 20 x, b
    short = json.loads(invoke("--in", "20", "--out", "2", "--seed", "0", "--json").stdout)
    assert short["numbers"]["elided"] is True
    wide = json.loads(invoke("--in", "20", "--out", "2", "--seed", "0", "--max-terms", "20",
                             "--json").stdout)  # fmt: skip
    assert wide["numbers"]["elided"] is False


def test_titles_drop_the_bias_without_one() -> None:
    text = invoke("--in", "3", "--out", "2", "--no-bias").stdout
    assert "Z = W X" in text and "y = x W^T, W = layer.weight" in text
    assert "(PyTorch's docs write y = x A^T, A = W)" in text
    assert "+ b" not in text and "+ B" not in text
    latex = invoke("--in", "3", "--out", "2", "--no-bias", "--format", "latex").stdout
    markdown = invoke("--in", "3", "--out", "2", "--no-bias", "--format", "markdown").stdout
    assert "+ b" not in latex + markdown and "+ B" not in latex + markdown


def test_hints_name_options_expand_has(tmp_path) -> None:
    import numpy as np

    named = invoke("--out", "2", "-s", "N,F")
    assert (
        named.exit_code == 2 and "give --in (in_features), which is the size of F" in named.stderr
    )
    np.savez(tmp_path / "w.npz", weight=np.ones((2, 3), np.float32))
    wrong = invoke("--weight-file", str(tmp_path / "w.npz"), "-s", "N,4")
    assert wrong.exit_code == 2 and "or a weight of shape (2, 4)" in wrong.stderr
    assert "--in 4" not in wrong.stderr  # the file fixes in_features
    big = invoke("--in", "1000", "--out", "1000", "--seed", "0", "--max-memory", "1MB")
    assert big.exit_code == 2 and "over the limit of 1,000,000" in big.stderr


def test_dtype_reads_a_float64_weight_file_as_float64(tmp_path) -> None:
    import numpy as np

    np.savez(tmp_path / "w.npz", weight=np.array([[0.1, 1e200]]))
    args = ["--weight-file", str(tmp_path / "w.npz"), "--json", "--precision", "17"]
    data = json.loads(invoke(*args, "--dtype", "float64").stdout)
    assert data["numbers"]["rows"][0]["values"]["w_1_1"] == 0.1
    assert invoke(*args).exit_code == 2  # 1e200 is not a float32
