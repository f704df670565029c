"""``linexplain explain``: the whole post in one command, and its parts agreeing with each other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy
from helpers import assert_in_order
from typer.testing import CliRunner

from linexplain.cli import app
from linexplain.equations import expand
from linexplain.session import forward

runner = CliRunner()


def invoke(*args: str, env: dict | None = None):
    return runner.invoke(app, ["explain", *args], env=env or {"NO_COLOR": "1"})


def test_default_is_the_posts_example_in_order() -> None:
    result = invoke("--format", "pretty")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("nn.Linear(in_features=3, out_features=3, bias=True): weight (3, 3)")
    assert "12 parameters" in out.splitlines()[0]
    landmarks = [
        "1. The shape walk: (N, C, 3) → (N, C, 3)",
        "Reading each dim",
        "9·N·C",
        "2. What every output is made of",
        "Scalar form (the post's equation (1))",
        "z₁⁽²⁾ = w₁₁⁽²⁾⋅x₁ + w₁₂⁽²⁾⋅x₂ + w₁₃⁽²⁾⋅x₃ + b₁⁽²⁾",
        "Z⁽²⁾ = W⁽²⁾⋅X + B⁽²⁾",
        "Why Wᵀ",
        "3. Real numbers: seed 0",
        "x (2, 2, 3): torch.randn(2, 2, 3)",
        "Sample 0 written out",
        "torch.manual_seed(0)\n  layer = torch.nn.Linear(3, 3)",
    ]
    assert_in_order(out, landmarks)
    assert "\x1b[" not in out


def test_json_has_each_part_in_its_commands_contract() -> None:
    data = json.loads(invoke("--json").stdout)
    assert set(data) == {"shape", "figure", "expand", "run"}
    drawn = runner.invoke(app, ["draw", "--in", "3", "--out", "3", "--layer", "2", "--json"])
    assert data["figure"] == json.loads(drawn.stdout)
    shape = json.loads(
        runner.invoke(app, ["shape", "--in", "3", "--out", "3", "-s", "N,C,3", "--json"]).stdout
    )
    assert data["shape"] == shape
    expanded = runner.invoke(
        app, ["expand", "--in", "3", "--out", "3", "--layer", "2", "-s", "N,C,3", "--json"]
    )
    assert data["expand"] == json.loads(expanded.stdout)
    run = runner.invoke(app, ["run", "--in", "3", "--out", "3", "-s", "N,C,3", "--steps", "--json"])
    run_data = json.loads(run.stdout)
    assert {k: v for k, v in data["run"].items() if k != "steps"} == {
        k: v for k, v in run_data.items() if k != "steps"
    }
    first = data["run"]["output"][0][0]
    assert [row["value"] for row in data["run"]["steps"]["rows"]] == pytest.approx(first)


def test_options_change_every_part() -> None:
    data = json.loads(
        invoke(
            "--in", "4", "--out", "2", "-s", "batch,4", "--dims", "batch=3", "--seed", "5",
            "--no-bias", "--layer", "-1", "--index-base", "0", "--dtype", "float64", "--json",
        ).stdout
    )  # fmt: skip
    assert data["shape"]["macs"] == 24 and data["shape"]["bias_shape"] is None
    assert data["expand"]["layer"] is None and data["expand"]["index_base"] == 0
    assert data["expand"]["scalar"][0]["rhs"] == "w_0_0*x_0 + w_0_1*x_1 + w_0_2*x_2 + w_0_3*x_3"
    assert data["run"]["input_shape"] == [3, 4] and data["run"]["seed"] == 5
    assert data["run"]["dtype"] == "float64" and data["run"]["bias"] is None


def test_ascii_format_and_piped_default() -> None:
    out = invoke("--format", "ascii").stdout
    assert "z_1^(2) = w_11^(2)*x_1" in out and "== 2. What every output" in out
    assert out.isascii()
    assert invoke().stdout == out  # piped: ASCII unless --format pretty


def test_help_says_it_is_the_whole_post() -> None:
    result = invoke("--help")
    assert result.exit_code == 0 and "The whole post in one go" in result.stdout
    assert "seed's" not in result.stdout


@pytest.mark.parametrize(
    ("fmt", "marks"),
    [
        (
            "latex",
            [
                "\\section*{1. The shape walk",
                "\\begin{tabular}",
                "\\section*{2. What every output is made of",
                "z_{1}^{(2)} &= w_{11}^{(2)} x_{1}",
                "\\section*{3. Real numbers: seed 0",
                "torch.manual_seed(0)",
            ],
        ),
        (
            "markdown",
            [
                "1. The shape walk",
                "| dim | size | what it counts |",
                "2. What every output is made of",
                "$$",
                "3. Real numbers: seed 0",
                "torch.manual_seed(0)",
            ],
        ),
    ],
)
def test_latex_and_markdown_are_the_whole_document(fmt: str, marks: list[str]) -> None:
    result = invoke("--format", fmt)
    assert result.exit_code == 0, result.output
    assert_in_order(result.stdout, marks)


def test_in_is_read_from_the_input_shape() -> None:
    data = json.loads(invoke("-s", "5,4", "--out", "2", "--json").stdout)
    assert data["shape"]["in_features"] == 4 and data["run"]["input_shape"] == [5, 4]
    assert json.loads(invoke("--in", "4", "--json").stdout)["shape"]["input_shape"] == ["N", "C", 4]
    bound = json.loads(invoke("-s", "N,K", "--dims", "K=4", "--json").stdout)  # K's size is in
    assert bound["shape"]["in_features"] == 4 and bound["run"]["input_shape"] == [2, 4]
    unbound = json.loads(invoke("-s", "N,K", "--json").stdout)  # no size anywhere: the post's 3
    assert unbound["shape"]["in_features"] == 3 and unbound["run"]["input_shape"] == [2, 3]


def test_bad_input_exits_2() -> None:
    result = invoke("--in", "3", "-s", "N,4")
    assert result.exit_code == 2 and "(Nx4 and 3x3)" in result.stderr


def test_max_terms_shortens_the_numbers_too() -> None:
    data = json.loads(invoke("--in", "20", "--out", "2", "--max-terms", "3", "--json").stdout)
    assert data["expand"]["elided"] and data["run"]["steps"]["elided"]
    assert [len(row["values"]) for row in data["run"]["steps"]["rows"]] == [7, 7]  # 3 w, 3 x, b


@pytest.mark.parametrize("seed", [0, 1, 12345])
@pytest.mark.parametrize("bias", [True, False])
def test_numbers_in_the_scalar_form_give_the_core_output(seed: int, bias: bool) -> None:
    """Substituting a seeded layer's numbers into the sympy rows gives the NumPy core's y."""
    run = forward(5, 4, bias=bias, seed=seed, input_shape=(3, 5), dtype="float64")
    expansion = expand(5, 4, bias=bias)
    assert run.layer.weight.shape == (4, 5)  # in_features 5 first, as nn.Linear(5, 4)
    weight, b = run.layer.weight, run.layer.bias
    for sample, expected in zip(run.x, run.y, strict=True):
        values = {sympy.Symbol(f"x_{j + 1}"): sample[j] for j in range(5)}
        for i in range(4):
            values |= {sympy.Symbol(f"w_{i + 1}_{j + 1}"): weight[i, j] for j in range(5)}
            if b is not None:
                values[sympy.Symbol(f"b_{i + 1}")] = b[i]
        got = [float(row.rhs.subs(values)) for row in expansion.scalar.rows]
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_installed_explain_runs_with_no_options() -> None:
    exe = Path(sys.executable).parent / "linexplain"
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [str(exe), "explain"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0 and "torch.manual_seed(0)" in proc.stdout
    assert "\x1b[" not in proc.stdout


def test_max_memory_is_an_option_here_too() -> None:
    result = invoke("--in", "1000", "--out", "1000", "--max-memory", "1MB")
    assert result.exit_code == 2 and "raise --max-memory" in result.stderr
    assert invoke("--in", "1000", "--out", "1000", "--max-memory", "1GB").exit_code == 0
