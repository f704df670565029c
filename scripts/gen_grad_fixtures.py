"""Write tests/data/torch_grad.json: what PyTorch autograd gives, for tests that run without it.

Run with torch installed (the fixtures were made with torch 2.13 on the CPU):

    python scripts/gen_grad_fixtures.py

Each case is, under a default dtype of float32 or float64::

    torch.manual_seed(seed)
    layer = torch.nn.Linear(in_features, out_features, bias=bias)
    x = torch.randn(*input_shape, requires_grad=True)
    y = layer(x)
    g = ...  # the upstream gradient dL/dy, see below
    y.backward(g)

with ``g`` all ones (``upstream: "ones"``, what ``y.sum().backward()`` uses), the next draws
``torch.randn(*y.shape)`` (``"seed"``), or ``torch.linspace(-1, 1, y.numel())`` reshaped
(``"given"``). Values (g, layer.weight.grad, layer.bias.grad, x.grad) are stored with
``float.hex``.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch
from gen_torch_fixtures import case_of, default_dtype, hexes, input_shape, seeded_linear, write

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "torch_grad.json"
SEEDS = [0, 1, 42, -1, 2**32 + 7, 2**64 - 1, 123456789]
UPSTREAMS = ["ones", "seed", "given"]


def grad_case(
    seed: int, i: int, o: int, bias: bool, shape: list[int], dtype: str, upstream: str
) -> dict:
    with default_dtype(dtype):
        layer = seeded_linear(seed, i, o, bias)
        x = torch.randn(*shape, requires_grad=True)
        y = layer(x)
        if upstream == "ones":
            g = torch.ones_like(y)
        elif upstream == "seed":
            g = torch.randn(*y.shape)
        else:
            g = torch.linspace(-1, 1, y.numel()).reshape(y.shape)
        y.backward(g)
    return case_of(seed, i, o, bias, shape, dtype) | {
        "upstream": upstream,
        "g": hexes(g),
        "grad_weight": hexes(layer.weight.grad),
        "grad_bias": hexes(layer.bias.grad) if bias else None,
        "grad_input": hexes(x.grad),
    }


def grad_cases() -> list[dict]:
    rng = random.Random(7)
    cases = [
        grad_case(0, 3, 2, True, [4, 3], "float32", "ones"),  # the example
        grad_case(0, 3, 2, True, [4, 3], "float32", "seed"),
        grad_case(0, 3, 2, False, [3], "float32", "seed"),  # 1-D: the Box–Muller spare is g's
        grad_case(3, 3, 5, True, [5, 3], "float64", "seed"),  # 15 then 25 draws
        grad_case(4, 8, 4, True, [2, 8], "float32", "seed"),  # 16: a whole block, then 8
        grad_case(0, 3, 2, True, [0, 3], "float32", "seed"),  # no rows: zero weight grads
        grad_case(0, 0, 3, True, [2, 0], "float64", "ones"),  # no input features
        grad_case(1, 3, 0, True, [2, 3], "float32", "ones"),  # no outputs
        grad_case(7, 64, 8, True, [3, 5, 64], "float32", "seed"),
    ]
    for n in range(72):
        dtype = "float32" if n % 2 == 0 else "float64"
        i, o = rng.randint(1, 9), rng.randint(1, 5)
        seed = SEEDS[n % len(SEEDS)] if n < 2 * len(SEEDS) else rng.randint(-(2**63), 2**64 - 1)
        cases.append(
            grad_case(
                seed,
                i,
                o,
                rng.random() < 0.7,
                input_shape(rng, i, (1, 2, 3, 5)),
                dtype,
                UPSTREAMS[n % 3],
            )
        )
    return cases


def main() -> None:
    cases = grad_cases()
    write(OUT, {"cases": cases}, f"{len(cases)} cases")


if __name__ == "__main__":
    main()
