"""Huge but valid sizes: exact counts past int64, memory refused before allocating."""

from __future__ import annotations

import json

from helpers import assert_one_line_error, cli


def test_counts_stay_exact_past_int64() -> None:
    result = cli("shape", "--out", "100000", "-s", "100000,100000,100000", "--json")
    data = json.loads(result.stdout)
    assert data["macs"] == 10**20  # exact: a float or an int64 would not hold it
    assert data["flops"] == 2 * 10**20 + 10**15
    assert data["memory"]["input_bytes"] == 4 * 10**15
    top = json.loads(
        cli("shape", "--out", str(2**63 - 1), "-s", f"{2**63 - 1},{2**63 - 1}", "--json").stdout
    )
    assert top["macs"] == (2**63 - 1) ** 3


def test_symbolic_counts_stay_symbolic_and_bind_exactly() -> None:
    data = json.loads(cli("shape", "--out", "4096", "-s", "batch,seq,4096", "--json").stdout)
    assert data["macs"] == "16777216*batch*seq"
    swapped = json.loads(cli("shape", "--out", "4096", "-s", "seq,batch,4096", "--json").stdout)
    assert swapped["macs"] == "16777216*seq*batch"  # the names in the input's dim order
    bound = cli(
        "shape",
        "--out",
        "4096",
        "-s",
        "batch,seq,4096",
        "--dims",
        "batch=100000,seq=100000",
        "--json",
    )
    assert json.loads(bound.stdout)["macs"] == 10**10 * 4096**2


def test_run_refuses_memory_before_allocating() -> None:
    line = assert_one_line_error(cli("run", "--in", "65536", "--out", "65536", "-s", "65536,65536"))
    assert "this pass needs" in line and "bytes" in line and "--max-memory" in line
    assert_one_line_error(cli("run", "--in", "1000", "--out", "1000", "--max-memory", "1MB"))
    ok = cli("run", "--in", "1000", "--out", "10", "-s", "2,1000", "--max-memory", "2MB", "--json")
    assert ok.exit_code == 0


def test_the_limit_is_exact_and_grad_counts_the_gradients() -> None:
    """nn.Linear(3, 2) on a (4, 3) float32 input: weight and bias 32 bytes, x 48, y 32, and
    the same 28 numbers as Python floats for the report (6,272 bytes)."""
    layer = ["--in", "3", "--out", "2"]
    assert cli("run", *layer, "--max-memory", "6384").exit_code == 0
    line = assert_one_line_error(cli("run", *layer, "--max-memory", "6383"))
    assert "needs 6,384 bytes (weight, bias, input and output in float32: 112;" in line
    assert "over the limit of 6,383" in line
    assert cli("grad", *layer, "--max-memory", "12768").exit_code == 0
    line = assert_one_line_error(cli("grad", *layer, "--max-memory", "12767"))
    assert "needs 12,768 bytes (weight, bias, input and output and their gradients" in line
    assert "over the limit of 12,767" in line


def test_expand_big_layers_stay_small_and_full_is_refused() -> None:
    result = cli("expand", "--in", str(10**9), "--out", str(10**9))
    assert result.exit_code == 0 and len(result.stdout) < 20_000
    line = assert_one_line_error(cli("expand", "--in", "4096", "--out", "4096", "--full"))
    assert "16,777,216 weights is too much" in line
