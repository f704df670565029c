"""Start-up cost of ``linexplain shape`` and of a TAB completion, against the Typer floor.

The floor is a hello-world Typer app with one command that prints one small rich table.
Everything is timed as whole processes, interleaved, on a pipe and on a pseudo-terminal
(where linexplain prints colours too), as ratios measured in one run. Goals: ``shape`` ≤ 1.2×
the floor; a completion call ≤ 1.2× the same completion call on the hello-world app.

    python benchmarks/bench_startup.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELLO = """
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer()

@app.command()
def hello(name: str = "world") -> None:
    table = Table("greeting", "name")
    table.add_row("hello", name)
    Console().print(table)

app(prog_name="hello")
"""


# The completion floor: the same app without rich, which a completion never needs to load.
HELLO_PLAIN = """
import typer

app = typer.Typer()

@app.command()
def hello(name: str = "world") -> None:
    print("hello", name)

app(prog_name="hello")
"""


def completing(argv: list[str], prog: str, words: str) -> tuple[list[str], dict[str, str]]:
    """``argv`` run as bash's TAB completion of ``words`` would run it."""
    env = {
        **os.environ,
        f"_{prog.upper()}_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    return argv, env


def wall_time(command: tuple[list[str], dict[str, str] | None], tty: bool) -> float:
    """Seconds for one run of a command, stdout on a pipe or a pseudo-terminal."""
    argv, env = command
    if tty:
        leader, follower = os.openpty()
        start = time.perf_counter()
        subprocess.run(argv, stdout=follower, stderr=subprocess.DEVNULL, check=True, env=env)
        elapsed = time.perf_counter() - start
        os.close(follower)
        os.close(leader)
        return elapsed
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - start


Command = tuple[list[str], "dict[str, str] | None"]


def measure(commands: dict[str, Command], runs: int, tty: bool) -> dict[str, float]:
    """Median seconds per command, runs interleaved so drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(wall_time(argv, tty))
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    exe = shutil.which("linexplain") or str(Path(sys.executable).parent / "linexplain")
    with tempfile.TemporaryDirectory() as tmp:
        hello, plain = Path(tmp) / "hello.py", Path(tmp) / "hello_plain.py"
        hello.write_text(HELLO)
        plain.write_text(HELLO_PLAIN)
        floor = "hello-world typer + rich table (floor)"
        commands: dict[str, Command] = {
            "python -c pass": ([sys.executable, "-c", "pass"], None),
            floor: ([sys.executable, str(hello)], None),
            "linexplain shape": ([exe, "shape", "--in", "3", "--out", "3", "-s", "N,C,3"], None),
            "linexplain --help": ([exe, "--help"], None),
            "hello-world TAB completion (floor)": completing(
                [sys.executable, str(plain)], "hello", "hello --na"
            ),
            "linexplain TAB completion": completing([exe], "linexplain", "linexplain run --se"),
        }
        for tty in (False, True):
            medians = measure(commands, args.runs, tty)
            print(f"stdout on a {'terminal' if tty else 'pipe'} (median of {args.runs} runs):")
            for name, seconds in medians.items():
                base = medians["hello-world TAB completion (floor)" if "TAB" in name else floor]
                print(f"  {name:42s} {seconds * 1000:7.1f} ms   {seconds / base:5.2f}× its floor")


if __name__ == "__main__":
    main()
