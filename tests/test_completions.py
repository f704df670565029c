"""Shell completions: checked-in files are fresh, real bash completes, and it stays light."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, run_script

BIN = Path(sys.executable).parent
COMMANDS = {"shape", "expand", "run", "explain", "grad", "model"}


def test_checked_in_completions_are_fresh() -> None:
    proc = run_script("gen_completions.py", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def bash_complete(*words: str) -> list[str]:
    """What real bash offers after sourcing completions/linexplain.bash, for ``words``."""
    script = (
        f"source {ROOT / 'completions' / 'linexplain.bash'}\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))\n'
        "_linexplain_completion linexplain\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        ["bash", "-c", script, "bash", *words],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def test_bash_offers_every_subcommand() -> None:
    assert COMMANDS <= set(bash_complete("linexplain", ""))


def test_bash_completes_options_and_choices() -> None:
    assert "--input-shape" in bash_complete("linexplain", "shape", "--inp")
    assert bash_complete("linexplain", "run", "--se") == ["--seed"]
    assert bash_complete("linexplain", "grad", "--upstream", "") == ["ones", "seed"]
    assert bash_complete("linexplain", "expand", "--format", "l") == ["latex"]
    assert bash_complete("linexplain", "shape", "--dtype", "") == [
        "float32", "float64", "float16", "bfloat16"
    ]  # fmt: skip
    assert bash_complete("linexplain", "shape", "--dtype", "b") == ["bfloat16"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bash_completes_every_commands_format(command: str) -> None:
    assert "--format" in bash_complete("linexplain", command, "--fo")
    assert bash_complete("linexplain", command, "--format", "") == [
        "pretty", "ascii", "latex", "markdown", "html", "svg"
    ]  # fmt: skip


def test_bash_completes_runs_new_options() -> None:
    assert bash_complete("linexplain", "run", "--index-base", "") == ["1", "0"]
    assert sorted(bash_complete("linexplain", "run", "--ma")) == ["--max-memory", "--max-terms"]
    assert bash_complete("linexplain", "run", "--la") == ["--layer"]


def test_completion_imports_neither_numpy_nor_sympy() -> None:
    probe = (
        "import sys\n"
        "from linexplain.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print('heavy:', [m for m in ('numpy', 'sympy') if m in sys.modules])\n"
    )
    env = {
        **os.environ,
        "_LINEXPLAIN_COMPLETE": "complete_bash",
        "COMP_WORDS": "linexplain shape --dtype ",
        "COMP_CWORD": "3",
    }
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert "float32" in proc.stdout
    assert proc.stdout.strip().endswith("heavy: []"), proc.stdout
