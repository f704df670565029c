"""Work that takes a while shows a spinner on a terminal, and never in piped or JSON output.

The installed command runs on a real pseudo-terminal; LINEXPLAIN_PROGRESS_AFTER=0 makes the
spinner appear at once, so the tests do not depend on how fast this machine is.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).parent / "linexplain")
SEEDED = ["draw", "--in", "64", "--out", "64", "--seed", "0", "--max-terms", "3"]


def on_a_terminal(args: list[str], after: str = "0") -> tuple[int, str]:
    """Exit code and everything written to a pseudo-terminal (stdout and stderr)."""
    leader, follower = os.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env |= {"TERM": "xterm", "LINEXPLAIN_PROGRESS_AFTER": after}
    proc = subprocess.Popen(
        [EXE, *args], stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, env=env
    )
    os.close(follower)
    out = b""
    try:
        while select.select([leader], [], [], 60)[0]:
            try:
                chunk = os.read(leader, 1 << 16)
            except OSError:  # the pty closes when the process ends
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(leader)
    return proc.wait(timeout=60), out.decode("utf-8", "replace")


def test_a_terminal_sees_the_spinner_and_then_only_the_output() -> None:
    code, out = on_a_terminal(SEEDED)
    assert code == 0
    spinner, _, rest = out.rpartition("linexplain draw: working…")
    assert spinner, out[:200]
    assert "Linear(64 → 64)" in rest and "working" not in rest


def test_no_spinner_for_quick_work_json_or_pipes() -> None:
    assert "working" not in on_a_terminal(["shape", "--out", "3", "-s", "N,3"], after="60")[1]
    assert "working" not in on_a_terminal([*SEEDED, "--json"])[1]
    env = {**os.environ, "LINEXPLAIN_PROGRESS_AFTER": "0"}
    piped = subprocess.run([EXE, *SEEDED], capture_output=True, text=True, env=env, timeout=60)
    assert piped.returncode == 0 and "working" not in piped.stdout + piped.stderr


@pytest.mark.parametrize("after", ["soon", "nan", "inf", "-5", ""])
def test_any_setting_of_the_delay_is_harmless(after: str) -> None:
    code, out = on_a_terminal(["draw", "--in", "2", "--out", "2"], after=after)
    assert code == 0 and "Linear(2 → 2)" in out and "error" not in out
