"""Write tests/data/torch_special.json: torch's activations and their gradients, for tests of
linexplain.special that run without torch.

Run with torch installed (the fixtures were made with torch 2.13 on an AVX512 CPU):

    python scripts/gen_special_fixtures.py

For each dtype, one fixed input x (specials, subnormals, the kinks and region edges, the tails,
and random values) and one upstream gradient g. Each case records ``y = f(x)`` and, for the
activations, ``x.grad`` after ``y.backward(g)``, as torch's autograd gives it. Softmax has its
own (6, 16) input, with rows holding +inf, NaN and -inf, taken along both dims. Values are
stored with ``float.hex``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from gen_torch_fixtures import hexes, write

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "torch_special.json"
F = torch.nn.functional
SLOPES = [0.01, 0.2, -0.5, 1.5]


def inputs(dtype: torch.dtype) -> torch.Tensor:
    """Specials, the smallest numbers, kinks and edges, tails, then random values."""
    info = torch.finfo(dtype)
    tiny, big = info.tiny, info.max
    sub = math.ldexp(1.0, -149 if dtype == torch.float32 else -1074)
    edges = [0.75179, 0.84375, 1.25, 1.2785, 2.857142925262451, 6.0, 28.0]  # GELU′ = 0, fdlibm
    tails = [0.5, 1.0, 2.0, 3.0, 3.5, 5.0, 5.5, 8.0, 10.0, 14.0, 20.0, 30.0, 40.0, 88.7, 100.0]
    wide = [1e4, 1e13 if dtype == torch.float32 else 1e103, big]
    fixed = [math.nan, math.inf, -math.inf, 0.0, -0.0]
    for v in [sub, 3 * sub, tiny, 1e-20, 1e-8, 1e-3, *edges, *tails, *wide]:
        fixed += [v, -v]
    rng = np.random.default_rng(20260)
    randoms = np.concatenate([rng.standard_normal(40) * 2, rng.standard_normal(12) * 8])
    return torch.tensor(fixed + randoms.tolist(), dtype=dtype)


def softmax_input(dtype: torch.dtype) -> torch.Tensor:
    """Six rows of 16: plain, wide, with +inf, with NaN, with some -inf, all -inf."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 16)) * 3
    x[1] *= 20
    x[2, 5] = math.inf
    x[3, 9] = math.nan
    x[4, [0, 3, 4]] = -math.inf
    x[5] = -math.inf
    return torch.tensor(x, dtype=dtype)


def upstream(n: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    g = np.random.default_rng(seed).standard_normal(n)
    return torch.tensor(g, dtype=dtype)


def run(fn, x: torch.Tensor, g: torch.Tensor | None) -> dict:
    """y = fn(x) and, when g is given, x.grad after y.backward(g)."""
    x = x.clone().requires_grad_(g is not None)
    y = fn(x)
    out = {"y": hexes(y)}
    if g is not None:
        y.backward(g)
        out["grad_input"] = hexes(x.grad)
    return out


def dtype_cases(dtype: torch.dtype) -> dict:
    x = inputs(dtype)
    g = upstream(x.numel(), dtype, 1)
    sx = softmax_input(dtype)
    sg = upstream(sx.numel(), dtype, 2).reshape(sx.shape)
    cases = {
        "erf": run(torch.erf, x, None),
        "erfc": run(torch.erfc, x, None),
        "gelu": run(F.gelu, x, g),
        "gelu_tanh": run(lambda v: F.gelu(v, approximate="tanh"), x, g),
        "sigmoid": run(torch.sigmoid, x, g),
        "silu": run(F.silu, x, g),
        "tanh": run(torch.tanh, x, g),
        "relu": run(F.relu, x, g),
    }
    for slope in SLOPES:
        cases[f"leaky_relu_{slope}"] = run(lambda v, s=slope: F.leaky_relu(v, s), x, g)
    for dim in (0, 1):
        cases[f"softmax_{dim}"] = run(lambda v, d=dim: torch.softmax(v, d), sx, sg)
    return {
        "x": hexes(x),
        "g": hexes(g),
        "softmax_x": hexes(sx),
        "softmax_g": hexes(sg),
        "softmax_shape": list(sx.shape),
        "cases": cases,
    }


def main() -> None:
    data = {
        "slopes": SLOPES,
        "float32": dtype_cases(torch.float32),
        "float64": dtype_cases(torch.float64),
    }
    count = sum(len(data[d]["cases"]) for d in ("float32", "float64"))
    write(OUT, data, f"{count} cases")


if __name__ == "__main__":
    main()
