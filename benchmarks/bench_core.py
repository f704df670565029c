"""Benchmark linexplain.core.linear against torch.nn.functional.linear (float32, with bias).

Run, with linexplain and torch installed (threadpoolctl optional):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_core.py

(those two variables, when set, make NumPy's OpenBLAS pick slower kernels).
Exits 1 when a goal is missed.

Prints, per shape, the best time of each side and their ratio (linexplain / torch), the
geometric mean of the ratios, linexplain against NumPy's bare product (``np.matmul``
without the bias: the floor NumPy's BLAS allows, for telling our cost from the BLAS's),
and linexplain's peak allocation during one call as a multiple of the output's size
(tracemalloc sees NumPy's allocations). Goals: geometric mean <= 1.00, every shape <= 1.10 but a
narrow layer (..., 64) -> 64 <= 1.35 (decided: NumPy's OpenBLAS against torch's MKL),
peak <= 1.1 x the output (plus a few KiB of Python object headers, which dominate only for
tiny outputs).

Both sides use the same number of threads (the BLAS pool's, via threadpoolctl when it is
installed, else torch's default), allocate their output on every call, and torch runs in
inference mode (no autograd bookkeeping, which linear does not have either). The two
libraries' thread pools spin for a while after each call and would slow each other down,
so the sides run in alternating short blocks with a pause between them, and each side's
best call over all blocks is kept: on a shared machine whose speed drifts, the best time
is the stable figure.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
import tracemalloc

import numpy as np

from linexplain.core import linear

SHAPES = [
    ((64, 128, 1024), 4096),
    ((8192, 784), 256),
    ((4, 16, 512, 64), 64),
    ((32, 3), 3),
    ((16, 197, 768), 3072),
]
NARROW_GOAL = 1.35  # decided for a narrow layer (..., 64) -> 64
ROUNDS = 12
BLOCK_SECONDS = 0.1  # time per block of calls
PAUSE_SECONDS = 0.1  # lets the other library's spinning threads go to sleep
OBJECT_HEADERS = 4096  # bytes of ndarray objects and shape tuples allowed beyond the data


def blas_threads() -> tuple[int | None, str]:
    """Threads of NumPy's BLAS and a description of it, via threadpoolctl if installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None, "threadpoolctl not installed (pip install threadpoolctl to see the BLAS)"
    for pool in threadpool_info():
        if pool["user_api"] == "blas" and "numpy" in pool["filepath"]:
            kernel = f"{pool['internal_api']} {pool.get('version')} {pool.get('architecture')}"
            return int(pool["num_threads"]), kernel
    return None, "NumPy's BLAS was not found by threadpoolctl"


def best_per_call(fn) -> float:
    """Best single call in a block of about BLOCK_SECONDS, in seconds."""
    fn()  # the first call after a pause wakes the thread pool
    best, end = math.inf, time.perf_counter() + BLOCK_SECONDS
    while True:
        start = time.perf_counter()
        fn()
        stop = time.perf_counter()
        best = min(best, stop - start)
        if stop > end:
            return best


def peak_bytes(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """Peak bytes allocated during one linear call, and the output's bytes."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    y = linear(x, w, b)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, y.nbytes


def main() -> int:
    import torch
    import torch.nn.functional as F

    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"note: {var}={os.environ[var]} slows NumPy's BLAS; rerun as")
            print(f"      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python {sys.argv[0]}")
    threads, kernel = blas_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    print(f"numpy {np.__version__} BLAS: {kernel}")
    print(f"torch {torch.__version__}; threads: torch {torch.get_num_threads()}, BLAS {threads}")
    print(
        f"{'input':>18} {'out':>5} {'torch ms':>10} {'ours ms':>10} {'ratio':>6} "
        f"{'/matmul':>7} {'peak/out':>8}"
    )

    rng = np.random.default_rng(0)
    ratios, ok = [], True
    for shape, out_features in SHAPES:
        x = rng.standard_normal(shape, dtype=np.float32)
        w = rng.standard_normal((out_features, shape[-1]), dtype=np.float32)
        b = rng.standard_normal(out_features, dtype=np.float32)
        tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))

        def theirs(tx=tx, tw=tw, tb=tb):
            return F.linear(tx, tw, tb)

        def ours(x=x, w=w, b=b):
            return linear(x, w, b)

        x2 = x.reshape(-1, x.shape[-1])

        def bare(x2=x2, w=w):
            return np.matmul(x2, w.T)  # the same one 2-D product, no checks, no bias

        np.testing.assert_allclose(ours(), theirs().numpy(), rtol=1e-4, atol=1e-3)
        t_theirs = t_ours = t_bare = math.inf
        for _ in range(ROUNDS):
            with torch.inference_mode():  # torch without autograd bookkeeping, as ours has none
                t_theirs = min(t_theirs, best_per_call(theirs))
            time.sleep(PAUSE_SECONDS)
            t_ours = min(t_ours, best_per_call(ours))
            t_bare = min(t_bare, best_per_call(bare))
            time.sleep(PAUSE_SECONDS)
        ratio = t_ours / t_theirs
        peak, output = peak_bytes(x, w, b)
        ratios.append(ratio)
        goal = NARROW_GOAL if out_features <= 64 and shape[-1] <= 64 else 1.10
        ok &= ratio <= goal and peak <= 1.1 * output + OBJECT_HEADERS
        print(
            f"{shape!s:>18} {out_features:>5} {t_theirs * 1e3:>10.4f} {t_ours * 1e3:>10.4f} "
            f"{ratio:>6.2f} {t_ours / t_bare:>7.2f} {peak / output:>8.2f}"
        )
    geomean = statistics.geometric_mean(ratios)
    ok &= geomean <= 1.00
    print(
        f"geometric mean ratio {geomean:.3f} (goals: <= 1.00; each <= 1.10, a narrow layer "
        f"<= {NARROW_GOAL}; peak/out <= 1.1)"
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
