"""Start-up cost of ``linexplain shape`` against the Typer floor, as ratios measured in one run.

The floor is a hello-world Typer app with one command that prints one small rich table.
Both are timed as whole processes, interleaved, on a pipe and on a pseudo-terminal
(where linexplain prints rich tables too). Goal: ratio ≤ 1.2.

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

app()
"""


def wall_time(argv: list[str], tty: bool) -> float:
    """Seconds for one run of ``argv``, stdout on a pipe or a pseudo-terminal."""
    if tty:
        leader, follower = os.openpty()
        start = time.perf_counter()
        subprocess.run(argv, stdout=follower, stderr=subprocess.DEVNULL, check=True)
        elapsed = time.perf_counter() - start
        os.close(follower)
        os.close(leader)
        return elapsed
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(commands: dict[str, list[str]], runs: int, tty: bool) -> dict[str, float]:
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
        hello = Path(tmp) / "hello.py"
        hello.write_text(HELLO)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "hello-world typer + rich table (floor)": [sys.executable, str(hello)],
            "linexplain shape": [exe, "shape", "--in", "3", "--out", "3", "-s", "N,C,3"],
            "linexplain --help": [exe, "--help"],
        }
        for tty in (False, True):
            medians = measure(commands, args.runs, tty)
            floor = medians["hello-world typer + rich table (floor)"]
            print(f"stdout on a {'terminal' if tty else 'pipe'} (median of {args.runs} runs):")
            for name, seconds in medians.items():
                print(f"  {name:42s} {seconds * 1000:7.1f} ms   {seconds / floor:5.2f}× floor")


if __name__ == "__main__":
    main()
