"""Benchmark linexplain.special's activations against torch's CPU kernels (float32, 2 threads).

Run, with linexplain and torch installed:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_special.py

Prints, per function and shape, the median time of each side and their ratio (ours / torch),
and ours against one float32 matmul of the transformer MLP's first Linear in NumPy (3152×768 @
768×3072: the product whose output GELU then reads), which shows GELU's share of a forward pass.
erf is there too: its float32 is computed through float64.
The backward rows time torch's own backward kernels (``torch.ops.aten.gelu_backward`` and
friends, what autograd calls) against ours, both given the same x or y and upstream gradient.

Both sides use 2 threads (torch.set_num_threads, linexplain.special.set_num_threads, and NumPy's
BLAS through OPENBLAS_NUM_THREADS, set here before NumPy loads), allocate their output on every
call, and torch runs in inference mode. The two libraries' thread pools spin for a while after
each call, so the sides take turns in short blocks with a pause between, in one process. Times
are medians of all calls; "(best)" is the ratio of the fastest calls, steadier on a busy machine.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

THREADS = 2
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(THREADS))

import numpy as np  # noqa: E402

from linexplain import special  # noqa: E402

SHAPES = [(3152, 3072), (8192, 256)]  # 16·197 tokens × ViT-B's MLP width; a small MLP batch
MATMUL = (3152, 768, 3072)
ROUNDS = 7
CALLS = 5  # per block
PAUSE_SECONDS = 0.05


def block(fn) -> list[float]:
    """CALLS call times after one warm-up call, in seconds."""
    fn()
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def compare(ours, theirs, torch) -> tuple[list[float], list[float]]:
    """Call times of ours and theirs, taking turns block by block."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(ROUNDS):
        a += block(ours)
        time.sleep(PAUSE_SECONDS)
        with torch.inference_mode():
            b += block(theirs)
        time.sleep(PAUSE_SECONDS)
    return a, b


def cases(x: np.ndarray, g: np.ndarray, torch):
    """(name, ours, theirs) for one input x and upstream gradient g."""
    aten = torch.ops.aten
    tx, tg = torch.from_numpy(x), torch.from_numpy(g)
    y_sig = torch.sigmoid(tx)
    y_soft = torch.softmax(tx, -1)
    sig, soft = y_sig.numpy(), y_soft.numpy()
    F = torch.nn.functional
    return [
        ("gelu", lambda: special.gelu(x), lambda: F.gelu(tx)),
        ("gelu tanh", lambda: special.gelu(x, "tanh"), lambda: F.gelu(tx, approximate="tanh")),
        (
            "gelu backward",
            lambda: special.gelu_backward(x, g),
            lambda: aten.gelu_backward(tg, tx),
        ),
        (
            "gelu tanh backward",
            lambda: special.gelu_backward(x, g, "tanh"),
            lambda: aten.gelu_backward(tg, tx, approximate="tanh"),
        ),
        ("erf", lambda: special.erf(x), lambda: torch.erf(tx)),
        ("sigmoid", lambda: special.sigmoid(x), lambda: torch.sigmoid(tx)),
        (
            "sigmoid backward",
            lambda: special.sigmoid_backward(sig, g),
            lambda: aten.sigmoid_backward(tg, y_sig),
        ),
        ("silu", lambda: special.silu(x), lambda: F.silu(tx)),
        ("silu backward", lambda: special.silu_backward(x, g), lambda: aten.silu_backward(tg, tx)),
        ("softmax", lambda: special.softmax(x, -1), lambda: torch.softmax(tx, -1)),
        (
            "softmax backward",
            lambda: special.softmax_backward(soft, g, -1),
            lambda: aten._softmax_backward_data(tg, y_soft, -1, tx.dtype),
        ),
    ]


def main() -> int:
    import torch

    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"note: {var}={os.environ[var]} slows NumPy's BLAS; rerun as")
            print(f"      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python {sys.argv[0]}")
    torch.set_num_threads(THREADS)
    special.set_num_threads(THREADS)
    print(
        f"numpy {np.__version__}, torch {torch.__version__} "
        f"({torch.backends.cpu.get_cpu_capability()}), {THREADS} threads each; "
        f"{ROUNDS} blocks of {CALLS} calls a side; load average {os.getloadavg()[0]:.1f}"
    )
    rng = np.random.default_rng(0)
    m, k, n = MATMUL
    a = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((k, n), dtype=np.float32)
    matmul = statistics.median(block(lambda: a @ w))
    print(f"NumPy matmul {m}×{k} @ {k}×{n} float32: {matmul * 1e3:.1f} ms")
    print(
        f"{'function':>20} {'shape':>10} {'torch ms':>9} {'ours ms':>8} {'ours/torch':>10} "
        f"{'(best)':>6} {'ours/matmul':>11}"
    )
    for shape in SHAPES:
        x = rng.standard_normal(shape, dtype=np.float32)
        g = rng.standard_normal(shape, dtype=np.float32)
        for name, ours, theirs in cases(x, g, torch):
            a, b = compare(ours, theirs, torch)
            t_ours, t_theirs = statistics.median(a), statistics.median(b)
            label = f"{shape[0]}×{shape[1]}"
            print(
                f"{name:>20} {label:>10} {t_theirs * 1e3:>9.2f} {t_ours * 1e3:>8.2f} "
                f"{t_ours / t_theirs:>10.2f} {min(a) / min(b):>6.2f} {t_ours / matmul:>11.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
