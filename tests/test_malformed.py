"""Malformed input, one table: every case exits 2 with one line saying what, where and the fix."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, cli

RUN = ["run", "--in", "3", "--out", "2"]
CASES = [
    # (command line, text the one error line must contain)
    (["shape", "--out", "3", "-s", ""], "0D and 2D"),
    (["shape", "--out", "3", "-s", "N,,3"], "dim 2 of 3 is empty"),
    (["shape", "--out", "3", "-s", "-1"], "-1 is negative"),
    (["shape", "--out", "3", "-s", "3.5"], "'3.5' is not a size"),
    (["shape", "--out", "3", "-s", "0x10"], "'0x10' is not a size"),
    (["shape", "--out", "3", "-s", "Ñ,3"], "'Ñ' is not a valid name"),
    (["shape", "--out", "3", "-s", "N\x00,3"], "control characters"),
    (["shape", "--out", "3", "-s", "9" * 5000], "larger than torch's largest size"),
    (["shape", "--out", "3", "-s", ",".join(["1"] * 10_000)], "has 10000 items"),
    (["shape", "--out", "3", "-s", "(32, 784]"], "is closed by ']' at position 9"),
    (["shape", "--out", "3", "-s", "((3))"], "'(' at position 2 opens a second pair"),
    (["shape", "--out", "3", "-s", "torch.Size(32)"], "holds '32', not a list"),
    (["shape", "--out", "3", "-s", "N,3", "--dims", "(N=2)"], "'(' at position 1"),
    (["shape", "--out", "3", "-s", "3", "--dtype", "int4"], "'int4' is not one of"),
    (["shape", "--out", str(10**30), "-s", "3"], "out of range"),
    (["shape", "--out", "3", "--in", "-3", "-s", "3"], "in_features (--in): -3 is out of range"),
    (["run", "--out", "3", "--in", "-3"], "in_features (--in): -3 is out of range"),
    (["grad", "--out", "3", "--in", str(2**63)], "in_features (--in): 9223372036854775808 is out"),
    (["explain", "--in", "-3"], "in_features (--in): -3 is out of range"),
    (["explain", "--out", "-3"], "out_features (--out): -3 is out of range"),
    (["shape", "--out", "3", "-s", "N,3", "--dims", "N=two"], "is not a size"),
    (["shape", "--out", "3", "-s", "N,3", "--dims", "M=2"], "--dims names M"),
    (["expand", "--in", "3", "--out", "3", "--max-terms", "0"], "max terms must be at least 2"),
    (["expand", "--in", "100", "--out", "100", "--full"], "weights is too much"),
    (["expand", "--in", "3", "--out", "3", "--layer", "x"], "'x' is not a valid int"),
    ([*RUN, "--input", "[[1, 2, 3], [4, 5]]"], "--input"),
    ([*RUN, "--input", "[[[1, 2, 3]], [4, 5, 6]]"], "--input"),
    ([*RUN, "--input", "[1, 2, NaN]"], "NaN"),
    ([*RUN, "--input", "[1, 2, Infinity]"], "Infinity"),
    ([*RUN, "--input", "[1e999, 2, 3]"], "--input"),
    ([*RUN, "--input", '["a", 2, 3]'], "--input"),
    ([*RUN, "--input", "[true, 2, 3]"], "--input"),
    ([*RUN, "--input", "[" * 5000 + "]" * 5000], "--input"),
    ([*RUN, "--input", "[1, 2]"], "(1x2 and 3x2)"),
    ([*RUN, "--input", ""], "--input is not valid JSON"),
    ([*RUN, "--input-shape", ""], "0D and 2D"),
    (["run", "--weight", "[1, 2, 3]"], "must be (out_features, in_features)"),
    (["run", "--weight", "[[1, 2, 3]]", "--bias-values", "[1, 2]"], "bias"),
    ([*RUN, "--seed", "-9223372036854775809"], "out of range"),
    ([*RUN, "--seed", "18446744073709551616"], "out of range"),
    ([*RUN, "--seed", "1.5"], "'1.5' is not a valid int"),
    ([*RUN, "--input-file", "missing.npy"], "missing.npy"),
    ([*RUN, "--input-file", "x.pkl"], "unsupported file type"),
    ([*RUN, "--weight-file", "missing.npz"], "missing.npz"),
    (["run", "--in", str(2**40), "--out", "2**40"], "'2**40' is not a valid int"),
    (["run", "--in", str(2**40), "--out", str(2**40)], "over the limit"),
    (["explain", "--in", "3", "-s", "N,4"], "(Nx4 and 3x3)"),
    (["explain", "--dims", "N=1,N=2"], "N is given twice"),
    ([*RUN, "--index-base", "2"], "'2' is not one of"),
    ([*RUN, "--max-terms", "1"], "max terms must be at least 2"),
    ([*RUN, "--layer", "-2"], "--layer -2 is not a layer number"),
    (["grad", "--format", "html"], "'html' is not one of"),
]


@pytest.mark.parametrize(("args", "needle"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_malformed_input(args: list[str], needle: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    line = assert_one_line_error(cli(*args))
    assert needle in line
    assert " — hint: " in line
    assert time.perf_counter() - start < 30  # bounded work, never a hang


def test_malformed_files(tmp_path: Path) -> None:
    bad = {
        "empty.npy": b"",
        "corrupt.npy": b"\x93NUMPY\x01\x00garbage",
        "truncated.npy": b"",
        "notzip.npz": b"PK not really",
        "ragged.csv": b"1,2,3\n4,5\n",
        "words.txt": b"1 2 three\n",
        "binary.csv": bytes(range(256)),
        "nan.csv": b"1,2,nan\n",
        "header.csv": b"a,b,c\n1,2\n",
        "index.csv": b",a,b\n5,1,2\n",
        "header_only.csv": b"a,b,c\n",
    }
    np.save(tmp_path / "full.npy", np.zeros((2, 3), dtype=np.float32))
    bad["truncated.npy"] = (tmp_path / "full.npy").read_bytes()[:-8]
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
        option = "--weight-file" if name.endswith(".npz") else "--input-file"
        args = ["run", option, str(tmp_path / name)] + (
            ["--out", "2"] if option == "--input-file" else []
        )
        assert_one_line_error(cli(*args))
    np.savez(tmp_path / "wrong.npz", weight=np.zeros((2, 3, 4), dtype=np.float32))
    assert_one_line_error(cli("run", "--weight-file", str(tmp_path / "wrong.npz")))
    np.savez(tmp_path / "extra.npz", weight=np.zeros((2, 3)), other=np.zeros(2))
    assert_one_line_error(cli("run", "--weight-file", str(tmp_path / "extra.npz")))
    unreadable = tmp_path / "dir.npy"
    unreadable.mkdir()
    assert_one_line_error(cli("run", "--out", "2", "--input-file", str(unreadable)))


def test_huge_argument_lists_are_bounded() -> None:
    exe = Path(sys.executable).parent / "linexplain"
    proc = subprocess.run(
        [str(exe), "shape", "--out", "3", "-s", ",".join(["N"] * 50_000)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
