"""Write tests/data/torch_net.json: what PyTorch computes for small networks, and the weight
files tests/data/net_*.npz / net_*.safetensors, for tests that run without torch.

Run with torch installed (the fixtures were made with torch 2.13 on the CPU); the safetensors
files are written with the ``safetensors`` package when it imports, else by hand in its
documented format (an 8-byte little-endian header length, a JSON header, the raw bytes):

    python scripts/gen_net_fixtures.py

Each case is, under a default dtype of float32 or float64::

    torch.manual_seed(seed)
    net = torch.nn.Sequential(...)   # every Linear's weight and bias drawn in order
    net.eval()                       # Dropout is the identity
    x = torch.randn(*shape)          # unless the case gives the input
    y = net(x)                       # every layer's output recorded
    g = torch.ones_like(y)           # upstream "ones"; "seed" is torch.randn(*y.shape) next
    y.backward(g)                    # every parameter's .grad and x.grad recorded

The network is written three ways: ``torch_text`` (the constructors, positional arguments),
``print`` (what ``print(net)`` shows) and, where it has one, ``compact`` (``6,5,relu,3``, with
``act`` for ``--act``). ``input_shape`` is as written for ``--input-shape`` (names kept, sized
by ``dims``, 2 for a name not given); ``shape`` is the real one. A case with ``given_input``
feeds that input (``--input``) instead of drawing it. Values are stored with ``float.hex``,
flattened in C order; the loss is ``(g * y).sum()`` in float64.
"""

from __future__ import annotations

import json
import random
import struct
import warnings
from pathlib import Path

import numpy as np
import torch
from gen_torch_fixtures import default_dtype, hexes, write

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "torch_net.json"
DATA = ROOT / "tests" / "data"
DEFAULT_NAME_SIZE = 2

# A layer: its kind (a torch.nn name), then its constructor's positional arguments.
Layer = tuple


def build(layers: list[Layer]) -> torch.nn.Sequential:
    """The nn.Sequential of ``layers``, built (and its weights drawn) in order."""
    modules = []
    for kind, *args in layers:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            modules.append(getattr(torch.nn, kind)(*args))
    return torch.nn.Sequential(*modules)


def torch_text(layers: list[Layer]) -> str:
    """The constructors as text: ``Linear(6, 5), ReLU(), Linear(5, 3)``."""
    return ", ".join(f"{kind}({', '.join(repr(a) for a in args)})" for kind, *args in layers)


def sized(input_shape: list, dims: dict[str, int]) -> list[int]:
    return [dims.get(d, DEFAULT_NAME_SIZE) if isinstance(d, str) else d for d in input_shape]


def case(
    name: str,
    layers: list[Layer],
    *,
    compact: str | None = None,
    act: str | None = None,
    dtype: str = "float32",
    seed: int = 0,
    input_shape: list | None = None,
    dims: dict[str, int] | None = None,
    given: list | None = None,
) -> dict:
    """One recorded session (see the module's docstring)."""
    dims = dims or {}
    with default_dtype(dtype), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Softmax() without dim warns
        torch.manual_seed(seed)
        net = build(layers)
        net.eval()
        if given is not None:
            x = torch.tensor(given)
            shape = list(x.shape)
        else:
            assert input_shape is not None
            shape = sized(input_shape, dims)
            x = torch.randn(*shape)
        x.requires_grad_()
        outputs = []
        h = x
        for module in net:
            h = module(h)
            outputs.append(h)
        y = outputs[-1]
        assert torch.equal(y, net(x))
        upstreams = {"ones": torch.ones_like(y), "seed": torch.randn(*y.shape)}
        params = list(net.parameters())
        grads = {}
        for source, g in upstreams.items():
            found = torch.autograd.grad(y, [*params, x], g, retain_graph=True, allow_unused=True)
            by_param = dict(zip([id(p) for p in params], found[:-1], strict=True))
            entry: dict = {
                "loss": float((g.double() * y.detach().double()).sum()).hex(),
                "layers": [
                    {
                        "index": i,
                        "grad_weight": hexes(by_param[id(m.weight)]),
                        "grad_bias": None if m.bias is None else hexes(by_param[id(m.bias)]),
                    }
                    for i, m in enumerate(net)
                    if isinstance(m, torch.nn.Linear)
                ],
                "grad_input": hexes(found[-1]),
            }
            if source != "ones":
                entry["g"] = hexes(g)
            grads[source] = entry
    return {
        "name": name,
        "torch_text": torch_text(layers),
        "print": str(net),
        "compact": compact,
        "act": act,
        "dtype": dtype,
        "seed": seed,
        "input_shape": shape if input_shape is None else input_shape,
        "dims": dims,
        "shape": shape,
        "given_input": given is not None,
        "x": hexes(x),
        "layers": [
            {
                "index": i,
                "module": str(m),
                "weight": hexes(m.weight) if isinstance(m, torch.nn.Linear) else None,
                "bias": hexes(m.bias)
                if isinstance(m, torch.nn.Linear) and m.bias is not None
                else None,
                "output_shape": list(out.shape),
                "output": hexes(out),
            }
            for i, (m, out) in enumerate(zip(net, outputs, strict=True))
        ],
        "grads": grads,
    }


# Inputs at the kinks and the tails: exact zeros (ReLU'(0) = 0, LeakyReLU'(0) = slope), tiny
# and large values (where a naive sigmoid, SiLU or GELU overflows or cancels).
KINK_INPUT = [
    [0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30],
    [30.0, -30.0, 100.0, -100.0, 0.5, -2.5],
]
KINK_LAYERS: list[tuple[str, Layer]] = [
    ("relu", ("ReLU",)),
    ("leakyrelu(0.2)", ("LeakyReLU", 0.2)),
    ("gelu", ("GELU",)),
    ("gelu(tanh)", ("GELU", "tanh")),
    ("sigmoid", ("Sigmoid",)),
    ("tanh", ("Tanh",)),
    ("silu", ("SiLU",)),
    ("softmax(-1)", ("Softmax", -1)),
]

KINDS = ["ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh", "SiLU", "Softmax", "Identity", "Dropout"]


def random_layers(rng: random.Random, width: int) -> list[Layer]:
    """A random chain: 2-4 Linears, an activation (or two) after most."""
    layers: list[Layer] = []
    for n in range(rng.randint(2, 4)):
        out = rng.randint(1, 6)
        layers.append(("Linear", width, out, rng.random() < 0.75))
        width = out
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            kind = rng.choice(KINDS)
            if kind == "LeakyReLU":
                layers.append((kind, rng.choice([0.01, 0.2, 0.5, 1.5, -0.3])))
            elif kind == "GELU":
                layers.append((kind, rng.choice(["none", "tanh"])))
            elif kind == "Softmax":
                layers.append((kind, rng.choice([-1, 0, None])))
            elif kind == "Dropout":
                layers.append((kind, rng.choice([0.0, 0.1, 0.5])))
            else:
                layers.append((kind,))
        if n == 0 and rng.random() < 0.3:
            layers.append(("Softmax", -1))
    return layers


def net_cases() -> list[dict]:
    relu3 = [("Linear", 6, 5, True), ("ReLU",), ("Linear", 5, 3, True)]
    cases = [
        case("relu", relu3, compact="6,5,relu,3", input_shape=[4, 6]),
        case("relu_f64", relu3, compact="6,5,relu,3", dtype="float64", seed=1, input_shape=[4, 6]),
        case(
            "act_relu",
            [
                ("Linear", 6, 5, True),
                ("ReLU",),
                ("Linear", 5, 4, True),
                ("ReLU",),
                ("Linear", 4, 3, True),
            ],
            compact="6,5,4,3",
            act="relu",
            seed=42,
            input_shape=[3, 6],
        ),
        case(
            "act_gelu_tanh",
            [("Linear", 3, 4, True), ("GELU", "tanh"), ("Linear", 4, 2, True)],
            compact="3,4,2",
            act="gelu(tanh)",
            dtype="float64",
            seed=8,
            input_shape=[5, 3],
        ),
    ]
    for dtype, seed in (("float32", 3), ("float64", 3)):
        cases.append(
            case(
                f"gelu_{dtype}",
                [("Linear", 5, 6, True), ("GELU",), ("Linear", 6, 2, True)],
                compact="5,6,gelu,2",
                dtype=dtype,
                seed=seed,
                input_shape=[4, 5],
            )
        )
        cases.append(
            case(
                f"gelu_tanh_{dtype}",
                [("Linear", 5, 6, True), ("GELU", "tanh"), ("Linear", 6, 2, True)],
                compact="5,6,gelu(tanh),2",
                dtype=dtype,
                seed=seed + 1,
                input_shape=[4, 5],
            )
        )
    for slope, dtype, spec in (
        (0.01, "float32", "leakyrelu"),
        (0.2, "float64", "leakyrelu(0.2)"),
        (-0.3, "float32", "leakyrelu(-0.3)"),
        (1.5, "float64", "leakyrelu(1.5)"),
    ):
        cases.append(
            case(
                f"leakyrelu_{slope}_{dtype}",
                [("Linear", 4, 6, True), ("LeakyReLU", slope), ("Linear", 6, 3, True)],
                compact=f"4,6,{spec},3",
                dtype=dtype,
                seed=5,
                input_shape=[3, 4],
            )
        )
    for kind, dtype in (("Sigmoid", "float32"), ("Tanh", "float64"), ("SiLU", "float32")):
        cases.append(
            case(
                f"{kind.lower()}_{dtype}",
                [("Linear", 4, 5, True), (kind,), ("Linear", 5, 2, True)],
                compact=f"4,5,{kind.lower()},2",
                dtype=dtype,
                seed=11,
                input_shape=[3, 4],
            )
        )
    cases.append(
        case(
            "silu_f64_1d",
            [("Linear", 4, 3, True), ("SiLU",), ("Linear", 3, 2, True)],
            compact="4,3,silu,2",
            dtype="float64",
            seed=12,
            input_shape=[4],
        )
    )
    # Softmax: an explicit dim, and torch's implicit choice (0 for a 1-D or 3-D input, else 1)
    cases += [
        case(
            "softmax_last",
            [("Linear", 4, 5, True), ("ReLU",), ("Linear", 5, 3, True), ("Softmax", -1)],
            compact="4,5,relu,3,softmax(-1)",
            seed=2,
            input_shape=[3, 4],
        ),
        case(
            "softmax_implicit_1d",
            [("Linear", 4, 3, True), ("Softmax", None)],
            compact="4,3,softmax",
            seed=13,
            input_shape=[4],
        ),
        case(
            "softmax_implicit_2d",
            [("Linear", 4, 3, True), ("Softmax", None)],
            compact="4,3,softmax",
            dtype="float64",
            seed=14,
            input_shape=[3, 4],
        ),
        case(
            "softmax_implicit_3d",
            [("Linear", 4, 3, True), ("Softmax", None)],
            compact="4,3,softmax",
            seed=15,
            input_shape=[2, 3, 4],
        ),
        case(
            "softmax_dim1_3d",
            [("Linear", 4, 3, True), ("Softmax", 1)],
            compact="4,3,softmax(1)",
            dtype="float64",
            seed=16,
            input_shape=[2, 3, 4],
        ),
        case(
            "softmax_dim0",
            [("Linear", 4, 3, True), ("Softmax", 0)],
            compact="4,3,softmax(0)",
            seed=17,
            input_shape=[3, 4],
        ),
    ]
    # Dropout (eval: the identity), Identity, Flatten, no bias, named dims, seeds far apart
    cases += [
        case(
            "dropout_identity",
            [
                ("Linear", 5, 4, True),
                ("Dropout", 0.5),
                ("ReLU",),
                ("Linear", 4, 2, True),
                ("Identity",),
            ],
            compact="5,4,dropout(0.5),relu,2,identity",
            seed=18,
            input_shape=[3, 5],
        ),
        case(
            "flatten_3d",
            [("Flatten", 1, -1), ("Linear", 12, 5, True), ("Tanh",), ("Linear", 5, 2, True)],
            compact="flatten,12,5,tanh,2",
            seed=19,
            input_shape=[3, 3, 4],
        ),
        case(
            "flatten_4d_f64",
            [("Flatten", 2, -1), ("Linear", 6, 4, True), ("ReLU",), ("Linear", 4, 2, True)],
            compact="flatten(2, -1),6,4,relu,2",
            dtype="float64",
            seed=20,
            input_shape=[2, 3, 2, 3],
        ),
        case(
            "flatten_between_4d",
            [("Linear", 3, 4, True), ("Flatten", 0, -2), ("SiLU",), ("Linear", 4, 2, True)],
            compact="3,4,flatten(0, -2),silu,2",
            seed=21,
            input_shape=[2, 2, 3, 3],
        ),
        case(
            "flatten_named",
            [("Flatten", 1, -1), ("Linear", 6, 3, True), ("GELU",), ("Linear", 3, 2, True)],
            compact="flatten,6,3,gelu,2",
            seed=22,
            input_shape=["N", 2, 3],
            dims={"N": 3},
        ),
        case(
            "nobias_f64",
            [("Linear", 5, 4, False), ("ReLU",), ("Linear", 4, 3, False)],
            compact="5,4:nobias,relu,3:nobias",
            dtype="float64",
            seed=-1,
            input_shape=[3, 5],
        ),
        case(
            "mixed_bias",
            [
                ("Linear", 5, 4, False),
                ("Tanh",),
                ("Linear", 4, 3, True),
                ("LeakyReLU", 0.1),
                ("Linear", 3, 2, False),
            ],
            compact="5,4:nobias,tanh,3,leakyrelu(0.1),2:nobias",
            seed=2**64 - 1,
            input_shape=[2, 5],
        ),
        case(
            "named_dims",
            relu3,
            compact="6,5,relu,3",
            seed=2**32 + 7,
            input_shape=["N", 6],
            dims={"N": 3},
        ),
        case(
            "named_3d_default",
            [("Linear", 6, 4, True), ("GELU", "tanh"), ("Linear", 4, 3, True)],
            compact="6,4,gelu(tanh),3",
            dtype="float64",
            seed=123456789,
            input_shape=["B", "T", 6],
            dims={"B": 3},
        ),
        case(
            "deep_3d_f64",
            [
                ("Linear", 3, 4, True),
                ("GELU",),
                ("Linear", 4, 4, True),
                ("LeakyReLU", 0.1),
                ("Linear", 4, 4, True),
                ("Sigmoid",),
                ("Linear", 4, 2, True),
            ],
            compact="3,4,gelu,4,leakyrelu(0.1),4,sigmoid,2",
            dtype="float64",
            seed=7,
            input_shape=[2, 3, 3],
        ),
        case(
            "activations_only",
            [("Tanh",), ("Softmax", -1)],
            compact="tanh,softmax(-1)",
            seed=23,
            input_shape=[2, 4],
        ),
    ]
    # Every activation at its kinks and tails, in both dtypes
    for dtype in ("float32", "float64"):
        for spec, layer in KINK_LAYERS:
            cases.append(
                case(f"kink_{spec}_{dtype}", [layer], compact=spec, dtype=dtype, given=KINK_INPUT)
            )
    cases.append(
        case(
            "kink_linear_relu",
            [("Linear", 6, 3, True), ("ReLU",), ("Linear", 3, 2, True)],
            compact="6,3,relu,2",
            seed=24,
            given=KINK_INPUT,
        )
    )
    # Random chains of every kind
    rng = random.Random(2026)
    for n in range(10):
        dtype = "float32" if n % 2 == 0 else "float64"
        width = rng.randint(1, 6)
        layers = random_layers(rng, width)
        rank = rng.randint(1, 3)
        shape = [rng.randint(1, 3) for _ in range(rank - 1)] + [width]
        seed = rng.randint(-(2**63), 2**64 - 1)
        cases.append(case(f"random_{n}", layers, dtype=dtype, seed=seed, input_shape=shape))
    return cases


# --- weight files --------------------------------------------------------------------------------

WEIGHTS_NET = [("Linear", 4, 3, True), ("ReLU",), ("Linear", 3, 2, False), ("Tanh",)]
WEIGHTS_NET += [("Linear", 2, 2, True)]
WEIGHTS_SEED = 31


def safetensors_bytes(state: dict[str, np.ndarray]) -> bytes:
    """The documented format, by hand: header length (u64 LE), JSON header, raw LE bytes."""
    names = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64"}
    header: dict = {}
    blobs = []
    offset = 0
    for name, array in state.items():
        raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": names[array.dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # pad as the safetensors writer does
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def weight_files() -> dict:
    """A network's trained-looking state_dict (the seeded init, scaled) in .npz and
    .safetensors, float32 and float64, and what torch computes with it."""
    files = {}
    for dtype in ("float32", "float64"):
        with default_dtype(dtype):
            torch.manual_seed(WEIGHTS_SEED)
            net = build(WEIGHTS_NET)
            with torch.no_grad():
                for p in net.parameters():
                    p.mul_(3.0).add_(0.25)  # not the seeded init: the file's numbers must count
            state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            x = torch.randn(3, 4)
            y = net(x)
        arrays = {k: v.numpy() for k, v in state.items()}
        suffix = "f32" if dtype == "float32" else "f64"
        np.savez(DATA / f"net_weights_{suffix}.npz", **arrays)
        path = DATA / f"net_weights_{suffix}.safetensors"
        try:
            from safetensors.torch import save_file
        except ImportError:
            path.write_bytes(safetensors_bytes(arrays))
            writer = "by hand"
        else:
            save_file(state, str(path))
            path.chmod(0o644)
            writer = "safetensors"
        files[dtype] = {
            "npz": f"net_weights_{suffix}.npz",
            "safetensors": f"net_weights_{suffix}.safetensors",
            "writer": writer,
            "state": {k: hexes(v) for k, v in state.items()},
            "x": hexes(x),
            "shape": [3, 4],
            "output": hexes(y),
        }
    # The three refusals: an entry missing, one extra, one of the wrong shape
    arrays = {k: v.numpy() for k, v in state.items()}
    bad = {
        "missing": {k: v for k, v in arrays.items() if k != "4.bias"},
        "extra": {**arrays, "5.weight": np.zeros((2, 2))},
        "misshapen": {**arrays, "2.weight": np.zeros((3, 2))},
    }
    for what, state_ in bad.items():
        np.savez(DATA / f"net_weights_{what}.npz", **state_)
        raw = safetensors_bytes(state_)
        (DATA / f"net_weights_{what}.safetensors").write_bytes(raw)
        try:  # the hand-written format, read back by the real reader where it is installed
            from safetensors.numpy import load
        except ImportError:
            continue
        back = load(raw)
        assert back.keys() == state_.keys()
        assert all(np.array_equal(back[k], v) for k, v in state_.items())
    return {
        "torch_text": torch_text(WEIGHTS_NET),
        "print": str(build(WEIGHTS_NET)),
        "files": files,
    }


def main() -> None:
    cases = net_cases()
    write(OUT, {"cases": cases, "weights": weight_files()}, f"{len(cases)} cases")


if __name__ == "__main__":
    main()
