"""``linexplain run``: PyTorch's numbers through the CLI, every input and weight source, errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from linexplain.cli import app

runner = CliRunner()
FIXTURES = json.loads((Path(__file__).parent / "data" / "torch_rng.json").read_text())
RUN_KEYS = {
    "in_features", "out_features", "dtype", "seed", "input_shape", "output_shape", "dims",
    "weight", "bias", "input", "output", "torch", "index_base",
}  # fmt: skip
TOLERANCE = {"float32": {"x": 1e-6, "y": 1e-5}, "float64": {"x": 1e-12, "y": 1e-10}}


def invoke(*args: str, stdin: str | None = None):
    return runner.invoke(app, ["run", *args], input=stdin, env={"NO_COLOR": "1"})


def run_json(*args: str, stdin: str | None = None) -> dict:
    result = invoke(*args, "--json", stdin=stdin)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def unhex(values: list[str], dtype: str) -> np.ndarray:
    return np.array([float.fromhex(v) for v in values], dtype=dtype)


def cli_args(seed: int, i: int, o: int, bias: bool, shape: list[int], dtype: str) -> list[str]:
    return [
        f"--seed={seed}", "--in", str(i), "--out", str(o), "--dtype", dtype,
        "--input-shape", ",".join(map(str, shape)), *([] if bias else ["--no-bias"]),
    ]  # fmt: skip


CASES = [c for c in FIXTURES["linear"] if c["input_shape"]][:40]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"s{c['seed']}-{c['dtype']}")
def test_run_gives_torchs_numbers(case: dict) -> None:
    dtype = case["dtype"]
    data = run_json(
        *cli_args(
            case["seed"],
            case["in_features"],
            case["out_features"],
            case["bias"],
            case["input_shape"],
            dtype,
        )
    )
    weight = np.array(data["weight"], dtype=dtype).reshape(-1)
    np.testing.assert_array_equal(weight, unhex(case["weight"], dtype))  # bit for bit
    if case["bias"]:
        np.testing.assert_array_equal(
            np.array(data["bias"], dtype), unhex(case["bias_values"], dtype)
        )
    else:
        assert data["bias"] is None
    tol = TOLERANCE[dtype]
    x = np.array(data["input"], dtype=dtype).reshape(-1)
    np.testing.assert_allclose(x, unhex(case["x"], dtype), rtol=0, atol=tol["x"])
    y = np.array(data["output"], dtype=dtype).reshape(-1)
    np.testing.assert_allclose(y, unhex(case["y"], dtype), rtol=tol["y"], atol=tol["y"])


def test_json_contract_and_float_round_trip() -> None:
    data = run_json("--in", "3", "--out", "2", "--input-shape", "4,3")
    assert set(data) == RUN_KEYS
    assert (data["input_shape"], data["output_shape"], data["seed"]) == ([4, 3], [4, 2], 0)
    assert data["index_base"] == 1
    assert data["torch"].startswith("import torch")
    for value in np.array(data["weight"]).reshape(-1):
        assert float(np.float32(value)) == value  # every float32 digit is there


def test_default_input_is_a_batch_of_four() -> None:
    data = run_json("--in", "3", "--out", "2")
    assert data["input_shape"] == [4, 3]


def test_named_dims_default_to_two_and_are_stated() -> None:
    data = run_json("--out", "2", "-s", "N,C,3", "--dims", "C=5")
    assert data["input_shape"] == [2, 5, 3] and data["dims"] == {"N": 2, "C": 5}
    text = invoke("--out", "2", "-s", "N,C,3").stdout
    assert "names: N = 2, C = 2; set N, C with --dims" in text
    some = invoke("--out", "2", "-s", "N,C,3", "--dims", "C=5").stdout
    assert "names: N = 2, C = 5; set N with --dims" in some  # only the names not given
    given = invoke("--out", "2", "-s", "N,C,3", "--dims", "C=5,N=1").stdout
    assert "(names: N = 1, C = 5)" in given and "with --dims" not in given


def test_text_shows_every_tensor_the_steps_and_the_snippet() -> None:
    out = invoke("--in", "3", "--out", "2", "-s", "4,3", "--steps").stdout
    for title in ("W = layer.weight (2, 3)", "b = layer.bias", "x (4, 3)", "y = x·Wᵀ + b (4, 2)"):
        assert title in out
    assert "torch.manual_seed(0)\n  layer = torch.nn.Linear(3, 2)\n  x = torch.randn(4, 3)" in out
    data = run_json("--in", "3", "--out", "2", "-s", "4,3")
    step = re.search(r"z₁ = (.*) = (\S+)\n", out)  # 1-based by default
    assert step is not None
    assert float(step.group(2).replace("−", "-")) == pytest.approx(data["output"][0][0], abs=1e-3)
    assert "z_i is column i-1 of the first row of y above (1-based indices)" in out


def test_index_base_layer_and_max_terms_shape_the_steps() -> None:
    args = ["--in", "20", "--out", "2", "-s", "1,20", "--steps"]
    out = invoke(*args, "--index-base", "0", "--layer", "2", "--format", "ascii").stdout
    assert "z_0^(2) = " in out and "z_1^(2) = " in out and "z_2" not in out
    assert "z_i is column i of the first row of y above (0-based indices)" in out
    short = invoke(*args, "--max-terms", "3").stdout
    assert "(hidden: 17 of the 20 terms of each row (⋯))" in short
    data = run_json(*args, "--max-terms", "3", "--index-base", "0")
    assert data["index_base"] == 0 and data["steps"]["elided"] is True
    assert [row["lhs"] for row in data["steps"]["rows"]] == ["z_0", "z_1"]
    assert [len(row["values"]) for row in data["steps"]["rows"]] == [7, 7]  # 3 w, 3 x, b
    assert invoke(*args, "--max-terms", "1").exit_code == 2
    assert invoke(*args, "--index-base", "2").exit_code == 2


def test_precision_is_decimals_in_the_steps() -> None:
    args = ["--weight", "[[0.004323, 1, 2]]", "--input", "[[1, 2, 3]]", "--steps"]
    out = invoke(*args, "--precision", "3").stdout
    assert "z₁ = 0.004⋅1.000 + 1.000⋅2.000 + 2.000⋅3.000 = 8.004" in out
    seeded = invoke("--in", "3", "--out", "3", "-s", "1,3", "--steps", "--seed", "0").stdout
    assert "z₁ = (−0.0043)⋅0.4033 + 0.3097⋅0.8380 + (−0.4752)⋅(−0.7193) + 0.1528" in seeded


def test_big_tensors_are_elided() -> None:
    out = invoke("--in", "100", "--out", "50", "-s", "30,100").stdout
    assert "⋯" in out and "⋮" in out and len(out) < 10_000


def test_given_input_weight_and_bias() -> None:
    data = run_json(
        "--input", "[[1, 2, 3], [4, 5, 6]]",
        "--weight", "[[1, 0, 0], [0, 1, 0]]",
        "--bias-values", "[0.5, -0.5]",
    )  # fmt: skip
    assert data["output"] == [[1.5, 1.5], [4.5, 4.5]]
    assert "layer.weight.data = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])" in data["torch"]
    assert "manual_seed" not in data["torch"]  # weights and input given: no seed is used
    text = invoke("--input", "[[1, 2, 3]]", "--weight", "[[1, 0, 0]]").stdout
    assert "no seed used (weights and input given)" in text.splitlines()[0]
    assert "manual_seed" not in text
    seeded_x = run_json("--weight", "[[1, 0, 0]]")  # the input is still torch.randn
    assert "torch.manual_seed(0)" in seeded_x["torch"]
    no_bias = run_json("--input", "[1, 2, 3]", "--weight", "[[1, 1, 1]]")
    assert no_bias["bias"] is None and no_bias["output"] == [6.0]


def test_input_files_and_stdin(tmp_path: Path) -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "x.csv").write_text("0,1,2\n3,4,5\n")
    (tmp_path / "x.txt").write_text("0 1 2\n3 4 5\n")
    expected = run_json("--out", "2", "--input", "[[0, 1, 2], [3, 4, 5]]")["output"]
    for name in ("x.npy", "x.csv", "x.txt"):
        assert run_json("--out", "2", "--input-file", str(tmp_path / name))["output"] == expected
    assert run_json("--out", "2", "--input-file", "-", stdin="0 1 2\n3 4 5\n")["output"] == expected


def test_weight_file_and_save(tmp_path: Path) -> None:
    weight = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
    np.savez(tmp_path / "layer.npz", weight=weight, bias=np.array([1, 1, 1], dtype=np.float32))
    data = run_json(
        "--weight-file", str(tmp_path / "layer.npz"), "--input", "[1, 1]",
        "--save", str(tmp_path / "y.npy"),
    )  # fmt: skip
    assert data["output"] == [4.0, 8.0, 12.0] and data["out_features"] == 3
    saved = np.load(tmp_path / "y.npy", allow_pickle=False)
    assert saved.tolist() == data["output"] and saved.dtype == np.float32
    assert invoke("--in", "2", "--out", "3", "--save", str(tmp_path / "Y.NPY")).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Y.NPY", "layer.npz", "y.npy"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--in", "3", "--out", "2", "-s", "4,4"], "(4x4 and 3x2)"),
        (["--out", "2", "--input", "[[1, 2], [3]]"], "--input"),
        (["--out", "2", "--input", "[NaN]"], "NaN"),
        (["--out", "2", "--input", "[1, 2"], "not valid JSON"),
        (["--out", "2", "--input-file", "/nonexistent/x.npy"], "/nonexistent/x.npy"),
        (["--out", "2", "--input", "[1]", "--input-shape", "1"], "give only one of"),
        (["--in", "3", "--bias-values", "[1]"], "--bias-values needs --weight"),
        (
            ["--weight", "[[1, 2]]", "--bias-values", "[1]", "--no-bias"],
            "no bias (--no-bias) was asked for, but the weights come with a bias",
        ),
        (["--in", "3", "--out", "2", "--weight", "[[1, 2]]"], "--in 3 disagrees"),
        (["--in", "3", "--out", "2", "--seed", str(2**64)], "out of range"),
        (["--in", "3", "--out", "2", "--max-memory", "10"], "over the limit of 10"),
        (["--in", "3", "--out", "2", "--max-memory", "lots"], "is not a size in bytes"),
        (["--in", "3", "--out", "2", "--save", "y.txt"], "is not an .npy path"),
        (["--in", "3", "--out", "2", "--precision", "99"], "precision 99 is out of range"),
        (["--in", "3", "--out", "2", "--precision", "-1"], "use 0 to 17 decimals"),
        (["--in", "3", "--out", "2", "--dtype", "float16"], "'float16' is not one of"),
        (["--in", "3"], "out_features is unknown"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], needle: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_object_npy_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    result = invoke("--out", "2", "--input-file", str(tmp_path / "x.npy"))
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_memory_is_checked_before_allocating() -> None:
    result = invoke("--in", "100000", "--out", "100000", "-s", "100000,100000")
    assert result.exit_code == 2
    assert "weight, bias, input and output in float32: 120,000,400,000" in result.stderr


def test_live_torch_snippet_gives_the_same_numbers(torch) -> None:
    for args in (
        ["--in", "5", "--out", "3", "-s", "2,4,5", "--seed", "7"],
        ["--in", "4", "--out", "2", "-s", "40,4", "--seed", "-3", "--no-bias"],
        ["--in", "3", "--out", "2", "-s", "6,3", "--dtype", "float64", "--seed", "123456789123"],
        ["--input", "[[1, 2, 3]]", "--weight", "[[1, 2, 3], [0, 1, 0]]", "--bias-values", "[1, 2]"],
    ):
        data = run_json(*args)
        scope: dict = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(data["torch"], scope)  # noqa: S102 - our own generated snippet, run in torch
        torch.set_default_dtype(torch.float32)
        np.testing.assert_array_equal(
            scope["layer"].weight.detach().numpy(), np.array(data["weight"], data["dtype"])
        )
        np.testing.assert_allclose(
            scope["y"].detach().numpy(), np.array(data["output"]), rtol=1e-5, atol=1e-5
        )


def test_installed_run_end_to_end() -> None:
    exe = Path(sys.executable).parent / "linexplain"
    proc = subprocess.run(
        [str(exe), "run", "--in", "3", "--out", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["output_shape"] == [4, 2]


def test_the_most_dims_a_shape_may_have_run() -> None:
    data = run_json("--in", "2", "--out", "1", "-s", ",".join(["1"] * 31 + ["2"]))
    assert len(data["output_shape"]) == 32


def test_tables_switch_to_scientific_when_a_value_would_hide() -> None:
    """As torch prints: 1e-20 would read 0.0000 and 1e20 would take 21 digits."""
    tiny = invoke("--weight", "[[1e-20, 1, 2]]", "--input", "[[1, 2, 3]]").stdout
    assert "1.0000e-20  1.0000e+00  2.0000e+00" in tiny and "0.0000" not in tiny
    huge = invoke("--weight", "[[1e20, 1, 2]]", "--input", "[[1, 2, 3]]", "--precision", "2")
    assert "1.00e+20  1.00e+00  2.00e+00" in huge.stdout
    plain = invoke("--weight", "[[0.5, 1, 2]]", "--input", "[[1, 2, 3]]").stdout
    assert "0.5000  1.0000  2.0000" in plain and "e+" not in plain
    # --precision 0 is whole numbers: 0.5 rounds to 0 (to even), no switch to scientific
    zero = invoke("--weight", "[[0.5, 1, 2]]", "--input", "[[1, 2, 3]]", "--precision", "0")
    assert "  0  0  1  2\n" in zero.stdout and "  0  1  2  3\n" in zero.stdout
    assert "e-" not in zero.stdout and "e+" not in zero.stdout


def test_no_bias_means_no_plus_b_anywhere() -> None:
    text = invoke("--in", "3", "--out", "2", "--no-bias").stdout
    assert "y = x·Wᵀ (4, 2)" in text and "+ b" not in text
