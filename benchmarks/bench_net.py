"""Benchmark a network's forward and backward passes against torch's nn.Sequential.

Run, with linexplain and torch installed:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_net.py

Prints, per network, the best time of each side and the ratio (linexplain / torch): the forward
pass against ``net(x)`` in inference mode, and the backward pass (G = ones) against torch's
autograd (``y.backward(g)`` after a forward with grad). Goals: forward <= 1.10, backward <= 1.25.
Both sides run the same weights and input, in alternating blocks with pauses (their thread pools
spin after each call), and each side's best call is kept: on a shared machine whose speed drifts,
the best time is the stable figure.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from linexplain.netspec import parse_net
from linexplain.network import Network
from linexplain.session import backward_layers, forward_layers

NETWORKS = [
    ("MNIST MLP", "784,256,relu,10", (8192, 784)),
    ("transformer MLP", "768,3072,gelu,768", (16, 197, 768)),
]
ROUNDS = 6
BLOCK_SECONDS = 0.3
PAUSE_SECONDS = 0.1
GOALS = {"forward": 1.10, "backward": 1.25}


def best(work, rounds: int = ROUNDS) -> float:
    """The best time of ``work`` over alternating blocks."""
    times = []
    for _ in range(rounds):
        end = time.perf_counter() + BLOCK_SECONDS
        while True:
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
            if time.perf_counter() > end:
                break
        time.sleep(PAUSE_SECONDS)
    return min(times)


def main() -> int:
    torch.set_num_threads(2)
    print(f"{'network':<18} {'pass':<9} {'ours ms':>9} {'torch ms':>9} {'ratio':>7}")
    missed = [measure(name, spec, shape) for name, spec, shape in NETWORKS]
    return 1 if any(missed) else 0


def measure(name: str, spec: str, shape: tuple[int, ...]) -> bool:
    """Print one network's ratios; whether a goal was missed."""
    network = Network.of(parse_net(spec))
    torch.manual_seed(0)
    model = torch.nn.Sequential(*(eval_layer(layer) for layer in network.layers)).eval()
    params = [
        (m.weight.detach().numpy(), m.bias.detach().numpy())
        if isinstance(m, torch.nn.Linear)
        else (None, None)
        for m in model
    ]
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    tx = torch.from_numpy(x)
    outputs = forward_layers(network, params, x)
    g = np.ones_like(outputs[-1])
    tg = torch.from_numpy(g)
    txg = tx.clone().requires_grad_()
    y = model(txg)

    def ours_forward() -> None:
        forward_layers(network, params, x)

    def torch_forward() -> None:
        with torch.inference_mode():
            model(tx)

    def ours_backward() -> None:
        backward_layers(network, params, x, outputs, g)

    def torch_backward() -> None:
        model.zero_grad(set_to_none=True)
        txg.grad = None
        y.backward(tg, retain_graph=True)

    missed = False
    for label, ours, theirs in (
        ("forward", ours_forward, torch_forward),
        ("backward", ours_backward, torch_backward),
    ):
        ours(), theirs()  # warm up
        a, b = [], []
        for _ in range(3):
            a.append(best(ours, 2))
            b.append(best(theirs, 2))
        ratio = min(a) / min(b)
        missed |= ratio > GOALS[label]
        print(f"{name:<18} {label:<9} {min(a) * 1e3:9.2f} {min(b) * 1e3:9.2f} {ratio:7.2f}")
    return missed


def eval_layer(layer: object) -> torch.nn.Module:
    """The torch module for one of our layer kinds (built from its own torch code)."""
    return eval(layer.torch_code, {"torch": torch})  # noqa: S307 - our own generated code


if __name__ == "__main__":
    sys.exit(main())
