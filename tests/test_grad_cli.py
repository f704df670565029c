"""``linexplain grad`` on the command line: shapes, formulas, numbers, upstream sources, check."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_in_order, assert_one_line_error, cli

GRAD_KEYS = {
    "grad_weight",
    "grad_bias",
    "grad_input",
    "upstream",
    "weight",
    "bias",
    "input",
    "output",
}


def grad_json(*args: str) -> dict:
    result = cli("grad", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_text_walks_shapes_formulas_numbers_and_torch() -> None:
    result = cli(
        "grad",
        "--in",
        "3",
        "--out",
        "2",
        "--seed",
        "0",
        "--input-shape",
        "4,3",
        "--format",
        "pretty",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    landmarks = [
        "L = y.sum(), so G = ∂L/∂y is all ones",
        "∂L/∂W = Gᵀ⋅x: (2 × 4)⋅(4 × 3) = (2 × 3)",
        "backward: 48 MACs = 2 × the forward's 24 MACs",
        "∂L/∂wᵢⱼ = Σₛ₌₁⁴ gₛᵢ⋅xₛⱼ",
        "∂L/∂w₁₁ = g₁₁⋅x₁₁ + g₂₁⋅x₂₁ + g₃₁⋅x₃₁ + g₄₁⋅x₄₁",
        "∂L/∂W = layer.weight.grad (2, 3)",
        "∂L/∂x = x.grad (4, 3)",
        "y.sum().backward()",
        "print(layer.weight.grad)  # dL/dW = G^T x: (2, 3), like W",
    ]
    assert_in_order(out, landmarks)
    assert "X" not in out  # x is the batch: one name per thing


def test_json_contract_and_the_gradients() -> None:
    data = grad_json("--in", "3", "--out", "2", "-s", "4,3")
    assert GRAD_KEYS <= set(data)
    x, w = np.array(data["input"]), np.array(data["weight"])
    g = np.array(data["upstream"])
    assert g.tolist() == np.ones((4, 2)).tolist()
    np.testing.assert_allclose(data["grad_weight"], g.T @ x, rtol=1e-5)
    np.testing.assert_allclose(data["grad_bias"], g.sum(0), rtol=1e-6)
    np.testing.assert_allclose(data["grad_input"], g @ w, rtol=1e-5)
    assert data["shapes"]["backward_macs"] == 2 * data["shapes"]["forward_macs"] == 48
    assert data["index_base"] == 1


def test_json_has_the_formulas_as_text_and_latex() -> None:
    data = grad_json("--in", "3", "--out", "2", "-s", "4,3")
    formulas = data["formulas"]
    assert set(formulas) == {"compact", "grad_weight", "grad_bias", "grad_input"}
    assert all(set(form) == {"text", "latex"} for form in formulas.values())
    assert formulas["compact"]["text"].startswith("∂L/∂wᵢⱼ = Σₛ₌₁⁴ gₛᵢ⋅xₛⱼ   for i = 1, …, 2")
    assert formulas["grad_weight"]["text"].splitlines()[0] == (
        "∂L/∂w₁₁ = g₁₁⋅x₁₁ + g₂₁⋅x₂₁ + g₃₁⋅x₃₁ + g₄₁⋅x₄₁"
    )
    assert (
        "\\frac{\\partial L}{\\partial b_{1}} &= g_{11} + g_{21}" in formulas["grad_bias"]["latex"]
    )
    zero = grad_json("--in", "3", "--out", "2", "-s", "4,3", "--index-base", "0", "--no-bias")
    assert zero["index_base"] == 0 and set(zero["formulas"]) == {
        "compact",
        "grad_weight",
        "grad_input",
    }
    assert zero["formulas"]["grad_weight"]["text"].startswith("∂L/∂w₀₀ = g₀₀⋅x₀₀ + ")


@pytest.mark.parametrize(
    ("fmt", "marks"),
    [
        ("latex", ["\\subsection*{Shapes and cost}", "\\frac{\\partial L}{\\partial w_{ij}}",
                   "\\subsection*{The same in PyTorch}"]),
        ("markdown", ["**Shapes and cost**", "$$", "**The same in PyTorch**"]),
    ],
)  # fmt: skip
def test_latex_and_markdown_are_the_whole_document(fmt: str, marks: list[str]) -> None:
    result = cli("grad", "--in", "3", "--out", "2", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert_in_order(result.stdout, marks)


# Suffixes match in any case, as in --input-file.
@pytest.mark.parametrize("name", ["g.npy", "G.NPY"])
def test_upstream_from_a_file_and_no_bias(tmp_path: Path, name: str) -> None:
    with open(tmp_path / name, "wb") as file:
        np.save(file, np.array([[1.0, 2.0]], dtype=np.float32))
    data = grad_json(
        "--input", "[[1, 2, 3]]", "--weight", "[[1, 0, 0], [0, 1, 0]]",
        "--upstream", str(tmp_path / name),
    )  # fmt: skip
    assert data["grad_bias"] is None
    assert data["grad_weight"] == [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]
    assert data["grad_input"] == [[1.0, 2.0, 0.0]]


def test_check_reports_a_small_error() -> None:
    data = grad_json("--in", "5", "--out", "4", "-s", "3,5", "--upstream", "seed", "--check")
    assert 0 <= data["check_max_error"] < 1e-4
    text = cli("grad", "--in", "3", "--out", "2", "--check").stdout
    assert "Finite-difference check" in text and "largest error" in text


def test_named_dims_and_ascii() -> None:
    out = cli("grad", "--out", "2", "-s", "N,C,3", "--dims", "C=3").stdout
    assert "dL/dW = G^T*x" in out and "names: N = 2, C = 3" in out
    assert "the leading dims (N, C) fold into 6 rows" in out and out.isascii()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--in", "3", "--out", "2", "--upstream", "[1, 2]"], "is neither ones, seed, nor"),
        (["--in", "3", "--out", "2", "--upstream", "Ones"], "is neither ones, seed, nor"),
        (["--in", "3", "--out", "2", "--upstream", "missing.npy"], "missing.npy"),
        (["--in", "3", "--out", "2", "--max-memory", "100"], "over the limit"),
        (["--out", "2", "--input-file", "-", "--upstream", "-"], "cannot both read stdin"),
        (["--in", "3", "--out", "2", "--index-base", "3"], "'3' is not one of"),
    ],
)
def test_bad_input(args: list[str], needle: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert needle in assert_one_line_error(cli("grad", *args))


def test_wrong_upstream_shape(tmp_path: Path) -> None:
    np.save(tmp_path / "g.npy", np.ones((3, 3), dtype=np.float32))
    line = assert_one_line_error(
        cli("grad", "--in", "3", "--out", "2", "--upstream", str(tmp_path / "g.npy"))
    )
    assert "(3, 3)" in line


@pytest.mark.parametrize("upstream", ["ones", "seed"])
def test_live_snippet_gives_the_same_gradients(torch, upstream: str) -> None:
    data = grad_json(
        "--in", "4", "--out", "3", "-s", "2,5,4", "--seed", "11", "--upstream", upstream
    )
    scope: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(data["torch"], scope)  # noqa: S102 - our own generated snippet, run in real torch
    layer, x = scope["layer"], scope["x"]
    np.testing.assert_allclose(layer.weight.grad.numpy(), data["grad_weight"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.bias.grad.numpy(), data["grad_bias"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), data["grad_input"], rtol=1e-5, atol=1e-6)
