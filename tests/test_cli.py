"""The command line, through Typer's CliRunner and through the installed entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import assert_in_order
from typer.testing import CliRunner

from linexplain import __version__
from linexplain.cli import app

runner = CliRunner()
BIN = Path(sys.executable).parent
SHAPE_KEYS = {
    "in_features", "out_features", "bias", "dtype", "input_shape", "output_shape",
    "weight_shape", "bias_shape", "params", "rows", "macs", "bias_adds", "flops", "memory",
    "bindings", "in_features_inferred", "dim_roles", "other_tools",
}  # fmt: skip


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1"})


def test_shape_text_walks_the_posts_example() -> None:
    result = invoke("shape", "--in", "3", "--out", "3", "--input-shape", "N,C,3")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "(N, C, 3) → (N, C, 3): only the last dim changes" in out
    assert "flatten the leading dims: (N, C, 3) → (N·C, 3)" in out
    assert "(N·C × 3) · Wᵀ(3 × 3) + b(3,) → (N·C × 3)" in out
    assert "9·N·C" in out and "21·N·C" in out and "12·N·C bytes" in out
    assert "N·C rows × 3 in × 3 out" in out
    # Read from the right: the last dim (in_features) first.
    reading = [
        "Reading each dim (from the right)",
        "features of one sample",
        "samples:",
        "sample matrices:",
    ]
    assert_in_order(out, reading)
    assert "torchinfo 1.8.0 Mult-Adds" in out and "\x1b[" not in out


@pytest.mark.parametrize(
    ("fmt", "macs"),
    [
        ("ascii", "MACs 9*N*C N*C rows x 3 in x 3 out"),
        ("latex", "MACs & & 9$\\cdot$N$\\cdot$C & N$\\cdot$C rows"),
        ("markdown", "| MACs | | 9·N·C | N·C rows × 3 in × 3 out |"),
    ],
)
def test_shape_takes_every_format(fmt: str, macs: str) -> None:
    result = invoke("shape", "--in", "3", "--out", "3", "-s", "N,C,3", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert macs in " ".join(result.stdout.split())  # the MACs row, spacing aside
    assert fmt != "ascii" or result.stdout.isascii()


def test_shape_json_contract() -> None:
    result = invoke("shape", "--in-features", "3", "--out-features", "3", "-s", "N, C, 3", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) == SHAPE_KEYS
    assert data["input_shape"] == ["N", "C", 3] and data["macs"] == "9*N*C"
    assert set(data["memory"]) == {"params_bytes", "input_bytes", "output_bytes"}


def test_shape_options() -> None:
    data = json.loads(
        invoke(
            "shape", "--out", "4", "-s", "B,F", "--in", "3", "--no-bias", "--dtype", "bfloat16",
            "--dims", "B=10", "--json",
        ).stdout
    )  # fmt: skip
    assert data["bindings"] == {"B": 10, "F": 3}
    assert (data["bias"], data["bias_shape"], data["macs"], data["flops"]) == (
        False,
        None,
        120,
        240,
    )
    assert data["memory"]["params_bytes"] == 24
    text = invoke("shape", "--out", "4", "-s", "5,3", "--no-bias").stdout
    assert "weight only" in text and "2·MACs\n" in text and "+ bias" not in text


def test_named_last_dim_is_said_to_be_bound() -> None:
    result = invoke("shape", "--out", "4", "-s", "N,F", "--in", "3")
    assert "F = 3 (from in_features, since it is the last dim)" in result.stdout


def test_lazy_in_features_is_said() -> None:
    result = invoke("shape", "--out", "4", "-s", "8,3")
    assert "in_features = 3, read from the last dim" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["shape", "--out", "3", "--in", "3", "-s", "5,6,4"], "(30x4 and 3x3)"),
        (["shape", "--out", "3", "-s", "N,,3"], "dim 2 of 3 is empty"),
        (["shape", "--out", "3", "-s", ""], "0D and 2D"),
        (["shape", "--out", "x", "-s", "3"], "'x' is not a valid int"),
        (["shape", "-s", "3"], "give --out"),
        (["shape", "--out", "3", "-s", "3", "--dtype", "int8"], "'int8' is not one of"),
        (["shape", "--out", "3", "-s", "3", "--bogus"], "No such option: --bogus"),
        (["nope"], "No such command 'nope'"),
        (["shape", "--out"], "requires an argument. — hint: see 'linexplain shape --help'"),
        (["run", "--steps=yes"], "does not take a value. — hint: see 'linexplain run --help'"),
        (["--debug", "grad", "--in"], "hint: see 'linexplain grad --help'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linexplain: error: ")
    assert needle in lines[0] and "hint: " in lines[0]
    assert "Traceback" not in result.output


def test_no_arguments_prints_help() -> None:
    result = invoke()
    assert result.exit_code == 0
    assert "shape" in result.stdout and "Usage" in result.stdout


def test_version() -> None:
    result = invoke("--version")
    assert (result.exit_code, result.stdout) == (0, f"linexplain {__version__}\n")


def run_installed(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "linexplain"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_installed_entry_point() -> None:
    proc = run_installed("shape", "--in", "3", "--out", "3", "-s", "N,C,3", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output_shape"] == ["N", "C", 3]
    bad = run_installed("shape", "--in", "3", "--out", "3", "-s", "5,6,4")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "(30x4 and 3x3)" in bad.stderr


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "linexplain", "--version"], capture_output=True, text=True
    )
    assert (proc.returncode, proc.stdout) == (0, f"linexplain {__version__}\n")


def test_piped_output_is_plain() -> None:
    proc = run_installed("shape", "--out", "3", "-s", "N,3")
    assert proc.returncode == 0 and "\x1b[" not in proc.stdout


IMPORT_PROBE = """
import sys
from linexplain.cli import app
try:
    app({args!r})
except SystemExit as stop:
    assert stop.code == 0, stop.code
heavy = sorted(m for m in ("numpy", "sympy") if m in sys.modules)
print("heavy:", ",".join(heavy))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["shape", "--in", "3", "--out", "3", "-s", "N,C,3"],
        ["shape", "--out", "3", "-s", "4,3", "--json"],
        ["--help"],
        ["shape", "--help"],
        ["--version"],
    ],
)
def test_fast_paths_import_neither_numpy_nor_sympy(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE.format(args=args)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("heavy:"), proc.stdout[-200:]
