"""Exit codes of real processes: a full disk, a closed stdout, a reader gone before the first
write, Ctrl-C in a long product, and a shape NumPy cannot make. Bad input never exits 1.

The process tests run the installed ``linexplain`` in a subprocess, with nothing mocked; one
in-process test shrinks the block size to check that blocks give the numbers of one product.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import linexplain.core

EXE = str(Path(sys.executable).parent / "linexplain")
SHAPE = [EXE, "shape", "--out", "3", "-s", "3"]
HUGE = "0,9223372036854775807,1"  # torch gives an empty (0, 2**63 - 1, 1); NumPy cannot


def environment(buffered: bool) -> dict[str, str]:
    """This environment, with stdout block-buffered or not (as PYTHONUNBUFFERED=1 makes it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "NO_COLOR")}
    return env if buffered else env | {"PYTHONUNBUFFERED": "1"}


def one_error_line(stderr: str) -> str:
    """stderr is one ``linexplain: error:`` line, and not an internal error."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("linexplain: error: "), stderr
    assert "internal error" not in stderr and "Traceback" not in stderr
    return lines[0]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("buffered", [True, False])
@pytest.mark.parametrize("args", [["expand", "--in", "3", "--out", "2"], ["--help"], ["--version"]])
def test_full_disk_says_the_output_could_not_be_written(args: list[str], buffered: bool) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [EXE, *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(buffered),
            timeout=60,
        )
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert "output could not be written" in line and "No space left on device" in line


def test_closed_stdout_is_one_line() -> None:
    proc = subprocess.run(
        ["sh", "-c", '"$@" >&-', "sh", *SHAPE], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "stdout is closed" in one_error_line(proc.stderr)


def test_closed_stdout_and_stderr_still_exit_2() -> None:
    proc = subprocess.run(["sh", "-c", '"$@" >&- 2>&-', "sh", *SHAPE], timeout=60)
    assert proc.returncode == 2


@pytest.mark.parametrize("buffered", [True, False])
@pytest.mark.parametrize("args", [SHAPE[1:], ["--help"]])
def test_reader_gone_before_the_first_write_is_quiet(args: list[str], buffered: bool) -> None:
    """The pipe's reading end is closed before linexplain starts: every write fails (EPIPE)."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(
            [EXE, *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(buffered),
            timeout=60,
        )
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (0, "")


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize(
    ("reader", "args"),
    [("true", SHAPE[1:]), ("head -1", ["expand", "--in", "64", "--out", "64", "--full"])],
)
def test_pipe_closed_by_the_reader_is_quiet(reader: str, args: list[str]) -> None:
    """``| true`` (gone before the first write) is as quiet as ``| head -1`` (gone after)."""
    proc = subprocess.run(
        ["bash", "-c", f'"$@" | {reader}; exit "${{PIPESTATUS[0]}}"', "bash", EXE, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert len(proc.stdout.splitlines()) == (1 if reader == "head -1" else 0)


def _thread_seconds(pid: int) -> float | None:
    """CPU seconds of a process's threads other than the main one (its BLAS pool)."""
    total, tick = 0, os.sysconf("SC_CLK_TCK")
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            if int(tid) != pid:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
    except (FileNotFoundError, ProcessLookupError):
        return None
    return total / tick


def _one_block_seconds() -> float:
    """The best of 3 products of _BLOCK_MACS multiply-adds here and now (the same load)."""
    rows = linexplain.core._BLOCK_MACS // (4096 * 4096)
    x = np.ones((rows, 4096), dtype=np.float32)
    w = np.ones((4096, 4096), dtype=np.float32)
    best = float("inf")
    for _ in range(3):
        start = time.monotonic()
        np.matmul(w, x.T)
        best = min(best, time.monotonic() - start)
    return best


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc")
def test_ctrl_c_in_a_long_product_exits_130_promptly() -> None:
    """SIGINT while the BLAS multiplies (its worker threads burn CPU): out within about one
    block of the product, not the whole of it.

    The product (16384 x 4096 by 4096 x 4096) is 8 blocks; as one call, Ctrl-C waited for all
    of it. The bound allows two blocks (timed here, under this machine's load) and a second.
    """
    bound = 1.0 + 2 * _one_block_seconds()
    env = environment(buffered=True) | {"OPENBLAS_NUM_THREADS": "2"}  # a worker thread to watch
    proc = subprocess.Popen(
        # (the limit is for the report's numbers, which the interrupt never reaches)
        [EXE, "run", "--in", "4096", "--out", "4096", "-s", "16384,4096", "--max-memory", "1TB"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        baseline = None
        while time.monotonic() < deadline and proc.poll() is None:
            seconds = _thread_seconds(proc.pid)
            if seconds is not None:
                baseline = seconds if baseline is None else baseline
                if seconds - baseline > 0.1:  # the product has started
                    break
            time.sleep(0.02)
        else:
            pytest.skip("never saw the BLAS threads at work")
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=120)
        waited = time.monotonic() - sent
    finally:
        proc.kill()
        proc.wait()
    if proc.returncode == 0:
        pytest.skip("finished before the signal arrived")
    assert proc.returncode == 130 and err == b""
    assert waited < bound


def test_a_blocked_product_is_the_one_product(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of rows (here small ones, uneven at the end) give the numbers of one call."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 301, 96), dtype=np.float32)
    w = rng.standard_normal((80, 96), dtype=np.float32)
    b = rng.standard_normal(80, dtype=np.float32)
    whole = linexplain.core.linear(x, w, b)
    monkeypatch.setattr(linexplain.core, "_BLOCK_MACS", 96 * 80 * 64)
    np.testing.assert_array_equal(linexplain.core.linear(x, w, b), whole)
    np.testing.assert_allclose(whole, x @ w.T + b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("command", ["run", "grad"])
def test_zero_element_shape_numpy_cannot_make(command: str) -> None:
    proc = subprocess.run(
        [EXE, command, "--in", "1", "--out", "1", "--input-shape", HUGE],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    line = one_error_line(proc.stderr)
    assert "even empty" in line and "(0, 9223372036854775807, 1)" in line
    assert f"linexplain shape --in 1 --out 1 -s {HUGE}" in line
    shape = subprocess.run(
        [EXE, "shape", "--in", "1", "--out", "1", "-s", HUGE], capture_output=True, timeout=60
    )
    assert shape.returncode == 0


def test_zero_element_shape_numpy_can_make_is_computed() -> None:
    """(0, 2**60, 1) in float32 is 2**62 bytes of dims: NumPy makes it (empty), as torch does."""
    proc = subprocess.run(
        [EXE, "run", "--in", "1", "--out", "1", "--input-shape", f"0,{2**60},1", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(proc.stdout)["output_shape"] == [0, 2**60, 1]
