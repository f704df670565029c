"""Peak memory of each command's biggest accepted case, as a share of ``--max-memory``.

For each command (``expand``, ``run``, ``grad``, ``explain``, as text and as ``--json``; and
``run`` reading each kind of input file) the biggest case ``--max-memory`` accepts is found by
bisection on one size (the input's rows; the layer's width for ``expand``; the file's rows),
then run in a fresh process that reports its own peak RSS (``VmHWM``) and address space
(``VmPeak``) from ``/proc/self/status`` as it exits. The ratio is
(peak RSS − the interpreter's baseline) / ``--max-memory``, the baseline being the same command
at its smallest size. Goal: ≤ 1.0. Every process first runs two 512 × 512 products, so that
NumPy's BLAS has reserved its per-thread buffers (about 35 MB of address space, 2 MB of RSS)
in the baseline too. ``shape`` allocates nothing that grows: its peak is shown
for a huge shape.

Then the same biggest case runs under an address-space limit (``ulimit -v``) of the limit plus
the baseline's ``VmPeak``: it must exit 0, and the smallest refused case must exit 2 with the
limit's message (never 1, a ``MemoryError``, and never killed).

    python benchmarks/bench_memory.py [--limit 100MB] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from linexplain.grammar import parse_bytes

# A process that runs linexplain and, as it exits, reports its peaks on stderr.
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


def measure(args: list[str], address_space: int | None = None) -> tuple[int, int, int, str]:
    """Exit code, peak RSS and peak address space in bytes, and the last stderr line."""

    def limit() -> None:
        if address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    proc = subprocess.run(
        [sys.executable, "-c", WRAP, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
        check=False,
    )
    lines = proc.stderr.splitlines()
    peaks = [line.split()[1:] for line in lines if line.startswith("PEAKS")]
    rss, vm = (int(k) * 1024 for k in peaks[-1]) if peaks else (0, 0)
    said = [line for line in lines if not line.startswith("PEAKS")]
    return proc.returncode, rss, vm, said[-1] if said else ""


def biggest(args_for: Callable[[int], list[str]], quick: bool) -> tuple[int, int]:
    """The largest size found whose command exits 0, and the smallest that does not (doubling,
    then bisecting: to 2% with ``quick``, else to one)."""
    lo, hi = 0, 1
    while measure(args_for(hi))[0] == 0:
        lo, hi = hi, hi * 2
    tolerance = max(1, lo // 50) if quick else 1
    while hi - lo > tolerance:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if measure(args_for(mid))[0] == 0 else (lo, mid)
    return lo, hi


def files(folder: Path, rows: int, kind: str) -> str:
    """An input file of ``rows`` rows of 256 numbers (or an .npz of a rows × 256 weight)."""
    rng = np.random.default_rng(0)
    path = folder / f"x{rows}.{kind}"
    if path.exists():
        return str(path)
    a = rng.standard_normal((rows, 256)).astype(np.float32)
    if kind == "npy":
        np.save(path, a)
    elif kind == "csv":
        np.savetxt(path, a, delimiter=",", fmt="%.8g")
    elif kind == "json":
        path.write_text(json.dumps(a.tolist()))
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            with z.open("weight.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, a)
    return str(path)


def cases(limit: int, folder: Path) -> dict[str, Callable[[int], list[str]]]:
    layer = ["--in", "256", "--out", "256"]
    cap = ["--max-memory", str(limit)]
    out: dict[str, Callable[[int], list[str]]] = {}
    for json_flag in ([], ["--json"]):
        name = " --json" if json_flag else ""
        out[f"expand --seed{name}"] = lambda n, j=json_flag: [
            "expand", "--in", str(n), "--out", str(n), "--seed", "0", *cap, *j,
        ]  # fmt: skip
        for command in ("run", "grad", "explain"):
            out[f"{command}{name}"] = lambda n, c=command, j=json_flag: [
                c, *layer, "-s", f"{n},256", *cap, *j,
            ]  # fmt: skip
    out["grad --check"] = lambda n: ["grad", *layer, "-s", f"{n},256", "--check", *cap]
    for kind in ("npy", "csv", "json"):
        out[f"run --input-file .{kind}"] = lambda n, k=kind: [
            "run", "--out", "2", "--input-file", files(folder, n, k), *cap,
        ]  # fmt: skip
    out["run --weight-file .npz"] = lambda n: [
        "run", "--weight-file", files(folder, n, "npz"), "-s", "1,256", *cap,
    ]  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", default="100MB", help="the --max-memory of every case")
    parser.add_argument("--quick", action="store_true", help="bisect to 2%% instead of 0.1%%")
    args = parser.parse_args()
    limit = parse_bytes(args.limit)
    code, rss, _, _ = measure(["shape", "--out", "4096", "-s", "1000000000,4096", "--json"])
    _, base_rss, _, _ = measure(["shape", "--out", "2", "-s", "2,2"])
    print(f"--max-memory {limit:,} bytes; ratio = (peak RSS - baseline) / limit, goal <= 1.0")
    more = (rss - base_rss) / 1e6
    print(
        f"shape (1e9 x 4096 input, nothing allocated): exit {code}, peak RSS "
        f"{rss / 1e6:.1f} MB ({more:+.1f} MB over `shape` at 2 x 2)"
    )
    header = f"{'case':28} {'size':>7} {'peak RSS':>10} {'baseline':>9} {'ratio':>6}  ulimit -v"
    print(header)
    print("-" * len(header))
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, args_for in cases(limit, Path(tmp)).items():
            size, refused = biggest(args_for, args.quick)
            code, rss, _, said = measure(args_for(size))
            base_code, base_rss, base_vm, _ = measure(args_for(1))
            ratio = (rss - base_rss) / limit
            worst = max(worst, ratio)
            fits = measure(args_for(size), address_space=base_vm + limit)
            over = measure(args_for(refused), address_space=base_vm + limit)
            limited = f"exit {fits[0]}; refused {refused}: exit {over[0]}"
            if over[0] == 2 and "over the limit" not in over[3]:
                limited += f" ({over[3][:60]})"
            print(
                f"{name:28} {size:>7} {rss / 1e6:>8.1f}MB {base_rss / 1e6:>7.1f}MB {ratio:>6.2f}  "
                f"{limited}"
            )
            if code != 0 or base_code != 0:
                print(f"    unexpected exit {code}/{base_code}: {said}")
    print(f"worst ratio {worst:.2f} (goal <= 1.0)")


if __name__ == "__main__":
    main()
