"""Cost of ``linexplain.equations`` and its writers: the sympy import, elided big layers, and
``full=True``.

Each case builds the expansion and renders every form in every style plus the JSON, which is
all the ``expand`` command can ask for. Goals: an elided 4096 x 4096 layer answers right after
the sympy import and costs what a 10**6 x 10**6 one does (nothing grows with the layer);
``expand(64, 64, full=True)`` < 3 s.

    python benchmarks/bench_expand.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

COLD = """
import time
t = time.perf_counter()
from linexplain.equations import expand
imported = time.perf_counter()
from linexplain.lessons import expand_doc
from linexplain.output import render
render(expand_doc(expand(4096, 4096)))
print(imported - t, time.perf_counter() - imported)
"""


def cold_seconds() -> tuple[float, float]:
    """In a fresh interpreter: the import (sympy's cost) and the first elided 4096 x 4096."""
    run = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True)
    imported, first = map(float, run.stdout.split())
    return imported, first


def everything(expansion, input_shape=None) -> int:
    """Write the document in every format, and its JSON; the number of characters made."""
    from linexplain.lessons import expand_doc
    from linexplain.output import render

    doc = expand_doc(expansion, input_shape=input_shape)
    return sum(len(render(doc, fmt)) for fmt in ("pretty", "ascii", "latex", "markdown", "json"))


def seconds(work: Callable[[], object], runs: int) -> tuple[float, object]:
    """Median wall time of ``work`` over ``runs`` runs, and its last result."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    cold = [cold_seconds() for _ in range(runs)]
    imported, first = (statistics.median(times) for times in zip(*cold, strict=True))
    print(f"{'fresh process: import linexplain.equations':<46} {imported * 1000:8.1f} ms")
    print(f"{'  then expand(4096, 4096) + its text':<46} {first * 1000:8.1f} ms")
    print("warm (median of runs):")

    import numpy as np

    from linexplain.equations import expand, expand_numbers
    from linexplain.lessons import block_math
    from linexplain.output.text import math_lines
    from linexplain.view import View

    cases = {
        "expand(3, 3, layer=2)": lambda: everything(expand(3, 3, view=View(layer=2))),
        "expand(4096, 4096)  elided": lambda: everything(expand(4096, 4096)),
        "expand(4096, 4096), input (N, C, 4096)": lambda: everything(
            expand(4096, 4096), ("N", "C", 4096)
        ),
        "expand(10**6, 10**6)  elided": lambda: everything(expand(10**6, 10**6)),
        "expand(64, 64, full=True)": lambda: everything(expand(64, 64, view=View(full=True))),
    }
    for name, work in cases.items():
        took, size = seconds(work, runs)
        print(f"{name:<46} {took * 1000:8.1f} ms   {size:>9,} chars rendered")

    rng = np.random.default_rng(0)
    weight = rng.standard_normal((4096, 4096), dtype=np.float32)
    bias, x = (
        rng.standard_normal(4096, dtype=np.float32),
        rng.standard_normal(4096, dtype=np.float32),
    )
    took, _ = seconds(lambda: expand_numbers(weight, bias, x), runs)

    def with_text() -> object:
        numbers = expand_numbers(weight, bias, x)
        return math_lines(block_math(numbers.block, numbers.notation, 4, numbers), "text")

    took_text, _ = seconds(with_text, runs)
    name = "expand_numbers(4096 x 4096) elided"
    print(f"{name:<46} {took * 1000:8.1f} ms   (with its text: {took_text * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
