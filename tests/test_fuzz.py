"""Fuzzing: random command lines through the CLI exit 0 or 2, never with a traceback."""

from __future__ import annotations

import os

from helpers import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SIZES = st.sampled_from(["0", "1", "3", "7", "-1", "2.5", "1e3", "0x10", "", "N", str(2**70)])
TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["N,C,3", "3", "4,3", "N,,3", "[[1,2,3]]", "[1, 2]", "N=2", "2GiB", "-"]),
)
OPTIONS = {
    "shape": {
        "--in": SIZES, "--out": SIZES, "--input-shape": TEXT, "--dims": TEXT,
        "--dtype": st.sampled_from(["float32", "bfloat16", "int8"]), "--json": None,
        "--no-bias": None, "--format": st.sampled_from(["pretty", "ascii", "latex", "markdown"]),
    },
    "expand": {
        "--in": SIZES, "--out": SIZES, "--layer": SIZES, "--index-base": SIZES,
        "--max-terms": SIZES, "--input-shape": TEXT, "--full": None, "--json": None,
        "--form": st.sampled_from(["all", "matrix", "bad"]),
        "--format": st.sampled_from(["pretty", "ascii", "latex", "markdown", "html"]),
        "--seed": SIZES, "--dtype": st.sampled_from(["float32", "float64", "float16"]),
        "--precision": SIZES, "--max-memory": TEXT,
    },
    "run": {
        "--in": SIZES, "--out": SIZES, "--seed": SIZES, "--input-shape": TEXT, "--dims": TEXT,
        "--input": TEXT, "--weight": TEXT, "--bias-values": TEXT, "--steps": None,
        "--precision": SIZES, "--max-memory": TEXT, "--json": None,
        "--dtype": st.sampled_from(["float32", "float64", "float16"]),
        "--index-base": SIZES, "--layer": SIZES, "--max-terms": SIZES,
        "--format": st.sampled_from(["pretty", "ascii", "latex", "markdown", "html"]),
    },
    "grad": {
        "--in": SIZES, "--out": SIZES, "--seed": SIZES, "--input-shape": TEXT, "--dims": TEXT,
        "--upstream": st.sampled_from(["ones", "seed", "missing.npy", "[1]"]), "--check": None,
        "--layer": SIZES, "--max-terms": SIZES, "--json": None, "--index-base": SIZES,
        "--precision": SIZES, "--format": st.sampled_from(["pretty", "ascii", "latex", "markdown"]),
    },
    "explain": {
        "--in": SIZES, "--out": SIZES, "--input-shape": TEXT, "--dims": TEXT, "--seed": SIZES,
        "--layer": SIZES, "--max-terms": SIZES, "--json": None, "--precision": SIZES,
        "--max-memory": TEXT, "--no-bias": None, "--index-base": SIZES,
        "--format": st.sampled_from(["pretty", "ascii", "latex", "markdown"]),
    },
}  # fmt: skip


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(OPTIONS)))
    args = [command]
    names = draw(st.lists(st.sampled_from(sorted(OPTIONS[command])), max_size=6, unique=True))
    for name in names:
        value = OPTIONS[command][name]
        args += [name] if value is None else [name, draw(value)]
    return args


# LINEXPLAIN_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py  for a longer hunt.
EXAMPLES = int(os.environ.get("LINEXPLAIN_FUZZ_EXAMPLES", "300"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_lines())
def test_random_command_lines_exit_0_or_2_without_traceback(args: list[str]) -> None:
    result = cli(*args, stdin="")
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("linexplain: error: "), (args, lines)
