"""Process hygiene: a closed pipe and Ctrl-C end quietly; an internal error is one line, exit 1."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import assert_one_line_error, cli

import linexplain.layers

EXE = str(Path(sys.executable).parent / "linexplain")


def test_closed_pipe_ends_quietly() -> None:
    proc = subprocess.Popen(
        [EXE, "expand", "--in", "64", "--out", "64", "--full"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == b""


@pytest.mark.parametrize("delay", [0.15, 0.6])
def test_ctrl_c_exits_130_quietly(delay: float) -> None:
    proc = subprocess.Popen(
        [EXE, "expand", "--in", "64", "--out", "64", "--full"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("finished before the signal arrived")
    assert proc.returncode == 130
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err


def broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a bug")


def test_internal_error_is_one_line_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linexplain.layers, "explain_shape", broken)
    line = assert_one_line_error(cli("shape", "--out", "3", "-s", "3"), code=1)
    assert "internal error (RuntimeError: a bug)" in line
    assert "rerun with --debug" in line


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linexplain.layers, "explain_shape", broken)
    result = cli("--debug", "shape", "--out", "3", "-s", "3")
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)


def test_no_color_and_pipes_are_plain() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    for args in (["shape", "--out", "3", "-s", "N,3"], ["explain"], ["--help"]):
        proc = subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0 and "\x1b[" not in proc.stdout


def test_terminal_gets_colour_unless_no_color() -> None:
    leader, follower = os.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"TERM": "xterm"}
    proc = subprocess.run(
        [EXE, "shape", "--out", "3", "-s", "N,3"], stdout=follower, env=env, timeout=60
    )
    os.close(follower)
    output = os.read(leader, 1 << 16)
    os.close(leader)
    assert proc.returncode == 0 and b"\x1b[" in output


def _reject_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


@pytest.mark.parametrize("command", ["run", "grad"])
def test_overflow_is_quiet_and_the_json_strict(command: str) -> None:
    """torch gives inf/nan without a warning; JSON has no Infinity or NaN, so they are strings."""
    overflow = ["--input", "[[1e30, -1e30, 1e30], [1e30, 1e30, 1e30]]"]
    weight = ["--weight", "[[1e30, 1e30, 1e30]]", "--bias-values", "[1]"]
    proc = subprocess.run(
        [EXE, command, *overflow, *weight, "--json"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stderr == ""
    data = json.loads(proc.stdout, parse_constant=_reject_constant)
    assert data["output"] == [["nan"], ["inf"]]
    assert [float(v) for v in data["output"][1]] == [math.inf]
    text = subprocess.run(
        [EXE, command, *overflow, *weight], capture_output=True, text=True, timeout=60
    )
    assert text.returncode == 0 and text.stderr == ""
    assert command == "grad" or "inf" in text.stdout  # grad's text shows no y
