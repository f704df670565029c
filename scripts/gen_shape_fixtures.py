"""Record what real torch does to random input shapes; writes tests/data/shape_rule.json.

Run with torch 2.13 installed:  python scripts/gen_shape_fixtures.py
For each case: the output shape, or torch's error message, and FlopCounterMode's count.
"""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "shape_rule.json"


def run_case(shape: list[int], in_features: int, out_features: int, bias: bool) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-element init warnings
        layer = torch.nn.Linear(in_features, out_features, bias=bias)
    case = {"input_shape": shape, "in": in_features, "out": out_features, "bias": bias}
    x = torch.zeros(shape)
    try:
        with FlopCounterMode(display=False) as counter:
            y = layer(x)
    except RuntimeError as error:
        case["error"] = str(error).splitlines()[0]
    else:
        case["output_shape"] = list(y.shape)
        case["flop_counter"] = counter.get_total_flops()
    return case


def main() -> None:
    rng = random.Random(2026)
    cases = [run_case([], 3, 3, True), run_case([], 3, 3, False)]
    while len(cases) < 400:
        rank = rng.randint(1, 5)
        shape = [rng.choice([0, 1, 2, 3, 4, 5, 7]) for _ in range(rank)]
        in_features = shape[-1] if rng.random() < 0.6 else rng.randint(0, 7)
        cases.append(run_case(shape, in_features, rng.randint(0, 6), rng.random() < 0.7))
    payload = {"torch": torch.__version__, "cases": cases}
    OUT.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
