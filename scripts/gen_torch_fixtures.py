"""Write tests/data/torch_rng.json: what real PyTorch draws, for tests that run without it.

Run with torch installed (the fixtures were made with torch 2.13 on an AVX512 CPU):

    python scripts/gen_torch_fixtures.py

Each "linear" case is ``torch.manual_seed(seed); layer = nn.Linear(in, out, bias);
x = torch.randn(*shape); y = layer(x)`` under a default dtype of float32 or float64;
"randn" cases are several ``torch.randn`` calls in a row (the Box–Muller cache carries
over), and "uniform" cases are ``torch.empty(n).uniform_(low, high)``. Values are stored
with ``float.hex`` so the tests can check them bit for bit.
"""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "torch_rng.json"
DTYPES = {"float32": torch.float32, "float64": torch.float64}
SEEDS = [0, 1, 42, -1, -(2**63), 2**32 - 1, 2**32, 2**32 + 7, 2**63, 2**64 - 1, 123456789]


def hexes(t: torch.Tensor) -> list[str]:
    """The tensor's values, flattened, as exact float.hex strings."""
    return [float(v).hex() for v in t.detach().reshape(-1).tolist()]


@contextmanager
def default_dtype(dtype: str) -> Iterator[None]:
    """torch.set_default_dtype for the block (float32 again after it)."""
    torch.set_default_dtype(DTYPES[dtype])
    try:
        yield
    finally:
        torch.set_default_dtype(torch.float32)


def seeded_linear(seed: int, i: int, o: int, bias: bool) -> torch.nn.Linear:
    """torch.manual_seed(seed); torch.nn.Linear(i, o, bias=bias)."""
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-element weights: "no-op" warning
        return torch.nn.Linear(i, o, bias=bias)


def case_of(seed: int, i: int, o: int, bias: bool, shape: list[int], dtype: str) -> dict:
    """The keys that say which session a case records."""
    return {
        "seed": seed,
        "in_features": i,
        "out_features": o,
        "bias": bias,
        "dtype": dtype,
        "input_shape": shape,
    }


def write(out: Path, data: dict, count: str) -> None:
    """Write a fixture file, tagged with the torch that made it."""
    data = {
        "torch_version": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        **data,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes, {count})")


def linear_case(seed: int, i: int, o: int, bias: bool, shape: list[int], dtype: str) -> dict:
    with default_dtype(dtype):
        layer = seeded_linear(seed, i, o, bias)
        x = torch.randn(*shape)
        y = layer(x)
    return case_of(seed, i, o, bias, shape, dtype) | {
        "weight": hexes(layer.weight),
        "bias_values": hexes(layer.bias) if bias else None,
        "x": hexes(x),
        "y": hexes(y),
    }


def input_shape(
    rng: random.Random, in_features: int, sizes: tuple[int, ...] = (1, 2, 3, 5, 7)
) -> list[int]:
    """A rank 1-4 shape ending in in_features, small but sometimes >= 16 elements."""
    rank = rng.randint(1, 4)
    return [rng.choice(sizes) for _ in range(rank - 1)] + [in_features]


def linear_cases() -> list[dict]:
    rng = random.Random(2024)
    cases = [
        # the edges: zero sizes (torch skips the weight, still draws a zero bias when in=0)
        linear_case(0, 0, 3, True, [2, 0], "float32"),
        linear_case(0, 3, 0, True, [2, 3], "float32"),
        linear_case(5, 0, 4, True, [0], "float64"),
        linear_case(5, 4, 2, False, [0, 4], "float64"),
        # 1-D input, exactly 16 and 17 elements of input
        linear_case(0, 3, 2, True, [3], "float32"),
        linear_case(1, 16, 3, True, [16], "float32"),
        linear_case(1, 17, 3, True, [17], "float64"),
        linear_case(3, 8, 2, True, [2, 2, 2, 8], "float32"),  # 32 elements: two whole blocks
        linear_case(7, 64, 8, True, [3, 5, 64], "float32"),
        linear_case(7, 64, 8, True, [3, 5, 64], "float64"),
    ]
    for n in range(60):
        dtype = "float32" if n % 2 == 0 else "float64"
        i, o = rng.randint(1, 20), rng.randint(1, 6)
        seed = SEEDS[n % len(SEEDS)] if n < 2 * len(SEEDS) else rng.randint(-(2**63), 2**64 - 1)
        cases.append(linear_case(seed, i, o, rng.random() < 0.7, input_shape(rng, i), dtype))
    return cases


def randn_cases() -> list[dict]:
    cases = []
    for seed, dtype, shapes in [
        (5, "float64", [[3], [20], [1], [2]]),
        (5, "float32", [[3], [20], [1], [2]]),
        (9, "float32", [[1], [33], [4, 4], [15]]),
        (9, "float64", [[2, 2, 2, 2], [7], [31]]),
    ]:
        torch.manual_seed(seed)
        values = [hexes(torch.randn(*s, dtype=DTYPES[dtype])) for s in shapes]
        cases.append({"seed": seed, "dtype": dtype, "shapes": shapes, "values": values})
    return cases


def uniform_cases() -> list[dict]:
    cases = []
    for seed, low, high, dtype in [
        (3, -0.37, 0.91, "float32"),
        (3, -0.37, 0.91, "float64"),
        (11, 7628.662643855649, 7628.736289264349, "float32"),  # some values round to high
        (11, -0.05930895186477008, -0.059308949292847676, "float32"),  # two floats wide
        (12, 8775036.569597691, 8775036.569597706, "float64"),
        (13, 0.0, 0.0, "float32"),
        (14, -1e-7, 1e6, "float64"),
    ]:
        torch.manual_seed(seed)
        t = torch.empty(200, dtype=DTYPES[dtype]).uniform_(low, high)
        cases.append({"seed": seed, "low": low, "high": high, "dtype": dtype, "values": hexes(t)})
    return cases


def main() -> None:
    linear = linear_cases()
    write(
        OUT,
        {"linear": linear, "randn": randn_cases(), "uniform": uniform_cases()},
        f"{len(linear)} linear cases",
    )


if __name__ == "__main__":
    main()
