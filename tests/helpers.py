"""Shared helpers for the CLI tests: run linexplain in-process and check its error contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from linexplain.cli import app

runner = CliRunner()


def cli(*args: str, stdin: str | None = None) -> Result:
    """Run ``linexplain ARGS`` in-process (piped, NO_COLOR)."""
    return runner.invoke(app, list(args), input=stdin, env={"NO_COLOR": "1"})


def assert_one_line_error(result: Result, code: int = 2) -> str:
    """The run failed with ``code`` and one ``linexplain: error:`` line on stderr, nothing else."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("linexplain: error: ")
    return lines[0]


ROOT = Path(__file__).resolve().parent.parent


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``scripts/NAME`` with this Python; it uses the ``linexplain`` installed beside it."""
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_in_order(text: str, landmarks: list[str]) -> None:
    """Every landmark is in ``text``, in this order."""
    positions = [text.index(mark) for mark in landmarks]
    assert positions == sorted(positions), landmarks
