"""The memory limit: one place (linexplain.memory), counted before anything is made, and true.

The constants are measured again here (tracemalloc), the JSON writer is checked byte for byte
against ``json.dumps`` and for what it holds while writing, and whole commands are run in
fresh processes that report their own peak memory, once under an address-space limit too.
"""

from __future__ import annotations

import io
import json
import math
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest
from helpers import assert_one_line_error, cli
from hypothesis import given, settings
from hypothesis import strategies as st

from linexplain import memory
from linexplain.core import Linear
from linexplain.errors import LinexplainError
from linexplain.output import json as json_writer
from linexplain.output.json import resolve, write_json

# --- the module --------------------------------------------------------------------------------


def test_memory_imports_neither_numpy_nor_sympy() -> None:
    code = "import sys, linexplain.memory; print(sorted({'numpy', 'sympy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_default_limit_lives_in_memory_and_session_shares_it() -> None:
    limit = memory.default_max_memory()
    assert limit == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    assert memory.limit_of(None) == limit and memory.limit_of(5) == 5


def test_check_says_what_needs_how_much_over_which_limit() -> None:
    memory.check(100, "x", 100)  # at the limit is fine
    with pytest.raises(LinexplainError) as error:
        memory.check(101, "its text", 100, subject="x.csv")
    assert error.value.message == "x.csv needs 101 bytes (its text), over the limit of 100"
    assert error.value.hint == memory.HINT
    with pytest.raises(LinexplainError) as error:
        memory.check(2000, "weight", 1000, subject="Linear(9, 9)", option="max_memory=")
    assert "1,000" in error.value.message and "raise max_memory=" in error.value.hint
    with pytest.raises(LinexplainError, match="beside 50 held already"):
        memory.Budget(100).more(50).check(51, "it", "stdin")
    memory.Budget(100).more(50).check(50, "it", "stdin")


# --- the constants, measured -------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape", [(200_000,), (2000, 100), (100_000, 1), (50_000, 2), (10, 20, 30)]
)
def test_python_numbers_cost_no_more_than_counted(shape: tuple[int, ...]) -> None:
    """tolist() of an array: what tracemalloc sees stays under listed_bytes."""
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    tracemalloc.start()
    listed = a.tolist()
    used, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert listed
    assert used <= memory.listed_bytes(shape)
    assert used >= 0.5 * memory.listed_bytes(shape)  # and it is not wildly over


def test_python_numbers_by_rss() -> None:
    """The same by RSS, in a fresh process: a float in a list is 40 bytes, kept as 48."""
    code = (
        "import numpy as np\n"
        "def rss():\n"
        "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS'))"
        ".split()[1]) * 1024\n"
        "a = np.random.rand(2000, 1000).astype(np.float32)\n"
        "before = rss(); kept = a.tolist(); print((rss() - before) / a.size)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    per_number = float(out.stdout)
    assert 32 <= per_number <= memory.PY_NUMBER, per_number


def test_json_parse_costs_no_more_than_counted() -> None:
    from linexplain.arrays import parse_array

    n = 50_000
    texts = [
        "[" + ",".join(["[]"] * n) + "]",
        "[" + ",".join(["[0]"] * n) + "]",
        "[" + ",".join(["0.5"] * n) + "]",
        "[" + ",".join(["[[[1.5]]]"] * n) + "]",
        "[" + ",".join(['{"a": 1}'] * n) + "]",
        '["' + "\U0001f600" * n + '"]',
    ]
    for text in texts:
        counted = sys.getsizeof(text) + memory.json_parse_bytes(text) + (text.count(",") + 1) * 20
        tracemalloc.start()
        try:
            parse_array(text, "x", max_bytes=10**12)
        except LinexplainError:
            pass
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak + sys.getsizeof(text) <= counted, text[:20]


# --- core.Linear: the API's guard --------------------------------------------------------------


def test_linear_refuses_a_layer_over_the_limit_before_drawing() -> None:
    start = time.perf_counter()
    with pytest.raises(LinexplainError) as error:
        Linear(10**5, 10**5, seed=0)
    assert time.perf_counter() - start < 1
    assert error.value.message.startswith("Linear(100000, 100000) needs 40,00")
    assert "over the limit of" in error.value.message and "max_memory=" in error.value.hint
    with pytest.raises(LinexplainError, match=r"Linear\(3, 2\) needs .* over the limit of 100 "):
        Linear(3, 2, seed=0, max_memory=100)
    assert Linear(3, 2, seed=0, max_memory=10**6).weight.shape == (2, 3)
    with pytest.raises(LinexplainError, match="max_memory"):
        Linear(3, 2, seed=0, max_memory=-1)
    w = np.zeros((2, 3), np.float32)  # given arrays are not drawn: nothing to refuse
    assert Linear(3, 2, False, weight=w, max_memory=1).weight is w


# --- the pass: arrays, the report's Python numbers, the writer ---------------------------------


def test_a_pass_counts_the_reports_python_numbers() -> None:
    """nn.Linear(3, 2) on (4, 3): 112 bytes of float32, 6,272 for the report's Python floats."""
    layer = ["--in", "3", "--out", "2"]
    assert cli("run", *layer, "--max-memory", "6384").exit_code == 0
    line = assert_one_line_error(cli("run", *layer, "--max-memory", "6383"))
    assert (
        "this pass needs 6,384 bytes (weight, bias, input and output in float32: 112; their "
        "numbers as Python floats for the report: 6,272), over the limit of 6,383" in line
    )
    assert cli("grad", *layer, "--max-memory", "12768").exit_code == 0
    line = assert_one_line_error(cli("grad", *layer, "--max-memory", "12767"))
    assert "and their gradients in float32: 224;" in line


def test_run_json_near_the_limit_is_refused_before_any_work() -> None:
    """The issue's case: 5 M numbers under 42 MB used to be accepted and take 1.67 GB."""
    start = time.perf_counter()
    args = ["--in", "256", "--out", "256", "--input-shape", "20000,256"]
    line = assert_one_line_error(cli("run", *args, "--max-memory", "42MB", "--json"))
    assert "this pass needs" in line and "over the limit of 42,000,000" in line
    assert time.perf_counter() - start < 5
    line = assert_one_line_error(cli("grad", *args, "--max-memory", "84MB", "--json"))
    assert "and their gradients" in line
    line = assert_one_line_error(cli("explain", *args, "--max-memory", "42MB", "--json"))
    assert "over the limit of 42,000,000" in line


WRAP = r"""
import atexit, sys
def report():
    with open("/proc/self/status") as f:
        status = dict(line.split(":", 1) for line in f)
    sys.stderr.write("PEAKS %s %s\n" % (status["VmHWM"].split()[0], status["VmPeak"].split()[0]))
atexit.register(report)
import numpy as np  # BLAS reserves its buffers (address space, little RSS) on a first product
for dtype in (np.float32, np.float64):
    np.ones((512, 512), dtype) @ np.ones((512, 512), dtype)
from linexplain import main
sys.argv = ["linexplain"] + sys.argv[1:]
main()
"""


def peaks(*args: str, address_space: int | None = None) -> tuple[int, int, int, str]:
    """Run linexplain in a fresh process: exit code, peak RSS, peak address space, stderr."""

    def limit() -> None:
        if address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    proc = subprocess.run(
        [sys.executable, "-c", WRAP, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
        timeout=300,
        check=False,
    )
    found = [line.split()[1:] for line in proc.stderr.splitlines() if line.startswith("PEAKS")]
    rss, vm = (int(k) * 1024 for k in found[-1]) if found else (0, 0)
    return proc.returncode, rss, vm, proc.stderr


LIMIT = 60_000_000


def biggest_rows(command: str, *extra: str) -> int:
    """The most input rows of 256 numbers ``command`` accepts under LIMIT (from the message's
    count: the bytes needed grow linearly in the rows)."""

    def needed(rows: int) -> int:
        result = cli(command, "--in", "256", "--out", "256", "-s", f"{rows},256",
                     "--max-memory", "1", *extra)  # fmt: skip
        line = result.stderr
        return int(line.split(" needs ")[1].split(" bytes")[0].replace(",", ""))

    one, two = needed(1000), needed(2000)
    per_row = (two - one) / 1000
    return math.floor(1000 + (LIMIT - one) / per_row)


@pytest.mark.parametrize(
    "args",
    [("run", "--json"), ("run",), ("grad", "--json"), ("grad", "--check"), ("explain", "--json")],
)
def test_the_biggest_accepted_pass_stays_within_the_limit(args: tuple[str, ...]) -> None:
    """Peak RSS of the biggest case accepted, less the same command's baseline, ≤ the limit;
    the next size up is refused; under ulimit -v of the limit plus the baseline's address space
    the command still finishes (no MemoryError, no kill)."""
    command, *extra = args
    rows = biggest_rows(command, *extra)
    shape = ["--in", "256", "--out", "256", "--max-memory", str(LIMIT), *extra]
    code, rss, _, said = peaks(command, *shape, "-s", f"{rows},256")
    assert code == 0, said
    base_code, base_rss, base_vm, _ = peaks(command, *shape, "-s", "1,256")
    assert base_code == 0
    assert rss - base_rss <= LIMIT, (rss - base_rss) / LIMIT
    assert rss - base_rss >= LIMIT / 3  # the count is not wildly generous either
    over = peaks(command, *shape, "-s", f"{rows + 1},256")
    assert over[0] == 2 and "over the limit" in over[3]
    code, _, _, said = peaks(command, *shape, "-s", f"{rows},256", address_space=base_vm + LIMIT)
    assert code == 0, said[-500:]


# --- JSON, streamed ----------------------------------------------------------------------------

SCALARS = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(2**70), 2**70)
    | st.booleans()
    | st.none()
    | st.text(max_size=8)
)
DATA = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.tuples(inner, inner)
    ),
    max_leaves=40,
)


def dumped(data: object) -> str:
    return json.dumps(resolve(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def streamed(data: object) -> str:
    out = io.StringIO()
    write_json(data, out)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(DATA)
def test_streamed_json_is_json_dumps_byte_for_byte(data: object) -> None:
    assert streamed(data) == dumped(data)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=9), max_size=9))
def test_streamed_json_pieces_join_exactly(rows: list[list[float]]) -> None:
    data = {"x": rows, "y": [v for row in rows for v in row], "z": [1, 2.5, "a", None, True]}
    old = json_writer.JSON_ITEMS
    try:
        json_writer.JSON_ITEMS = 2  # many pieces per list
        assert streamed(data) == dumped(data)
    finally:
        json_writer.JSON_ITEMS = old


def test_streamed_json_holds_one_piece_at_a_time() -> None:
    data = {"output": np.random.default_rng(0).standard_normal((400, 500)).tolist()}
    with open(os.devnull, "w") as sink:
        tracemalloc.start()
        write_json(data, sink)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak <= 2 * json_writer._Buffer.FLUSH * 4 + memory.json_scratch(200_000), peak
    tracemalloc.start()
    text = dumped(data)
    _, whole = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(text) > 4_000_000 and whole > 10 * peak  # what json.dumps held instead
