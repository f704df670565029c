"""The figure and the page: ``draw --format svg`` of a 4096 × 4096 layer against ``shape``'s
start-up, the SVG's size, and ``explain --format html`` against ``explain``'s text run.

Whole processes, interleaved, stdout on a pipe, medians of one run. Goals: the SVG ≤ 1.2 ×
``shape`` + 50 ms and ≤ 100 KB; the page ≤ 1.3 × the text.

    python benchmarks/bench_draw.py [--runs 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall_time(argv: list[str]) -> tuple[float, int]:
    """Seconds for one run and the bytes it wrote."""
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start, len(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    exe = shutil.which("linexplain") or str(Path(sys.executable).parent / "linexplain")
    commands = {
        name: [exe, *args.split()]
        for name, args in (
            ("shape (start-up)", "shape --in 3 --out 3 -s N,C,3"),
            ("draw 4096x4096 --format svg", "draw --in 4096 --out 4096 --format svg"),
            ("draw --net 784,256,relu,10 --format svg", "draw --net 784,256,relu,10 --format svg"),
            ("explain (text)", "explain --format pretty"),
            ("explain --format html", "explain --format html"),
            ("explain --net 4,3,relu,2 (text)", "explain --net 4,3,relu,2 --format pretty"),
            ("explain --net 4,3,relu,2 --format html", "explain --net 4,3,relu,2 --format html"),
        )
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    sizes: dict[str, int] = {}
    for _ in range(options.runs):
        for name, argv in commands.items():
            seconds, size = wall_time(argv)
            times[name].append(seconds)
            sizes[name] = size
    m = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"median of {options.runs} runs, stdout on a pipe:")
    for name, seconds in m.items():
        print(f"  {name:42s} {seconds * 1000:7.1f} ms  {sizes[name]:>9,} bytes")
    budget = 1.2 * m["shape (start-up)"] + 0.050
    svg = "draw 4096x4096 --format svg"
    print(
        f"svg 4096x4096: {m[svg] * 1000:.1f} ms against 1.2 × shape + 50 ms = "
        f"{budget * 1000:.1f} ms: {m[svg] / budget:.2f}× the goal; "
        f"{sizes[svg] / 1000:.1f} KB (goal ≤ 100 KB)"
    )
    for text, page in (
        ("explain (text)", "explain --format html"),
        ("explain --net 4,3,relu,2 (text)", "explain --net 4,3,relu,2 --format html"),
    ):
        print(f"{page}: {m[page] / m[text]:.2f}× {text} (goal ≤ 1.30)")


if __name__ == "__main__":
    main()
