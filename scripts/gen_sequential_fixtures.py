"""Record what print(model) shows for real nn.Sequential networks; writes
tests/data/sequential_print.json.

Run with torch 2.13 installed:  python scripts/gen_sequential_fixtures.py
Each case is built by torch from its constructor text (this script's own constants), and records
``print(model)``'s text and the layers it holds (kind and arguments read from the modules'
attributes, nested Sequentials flattened in order, each with its dotted name as
``named_modules`` gives it). ``compact`` is the same network in linexplain's compact form where
it has one; ``comma`` is PyTorch's comma form linexplain reads (``None`` when the constructor
text uses something the spec grammar does not take, such as OrderedDict or device=).
"""

from __future__ import annotations

import json
import warnings
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "sequential_print.json"

# (name, constructor text, compact form or None, comma form: True for the constructor text)
CASES: list[tuple[str, str, str | None, str | bool | None]] = [
    (
        "mlp",
        "nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))",
        "784,256,relu,10",
        True,
    ),
    (
        "no_bias",
        "nn.Sequential(nn.Linear(784, 256, bias=False), nn.ReLU(), nn.Linear(256, 10, bias=False))",
        "784,256:nobias,relu,10:nobias",
        True,
    ),
    ("mixed_bias", "nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 5, False))", "3,4,5:nobias", True),
    (
        "leaky_default",
        "nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(), nn.Linear(8, 2))",
        "4,8,leakyrelu,2",
        True,
    ),
    (
        "leaky_0.2",
        "nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Linear(8, 2))",
        "4,8,leakyrelu(0.2),2",
        True,
    ),
    (
        "leaky_keyword_negative",
        "nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(negative_slope=-0.5, inplace=True))",
        "4,8,leakyrelu(-0.5)",
        True,
    ),
    ("leaky_tiny", "nn.Sequential(nn.LeakyReLU(1e-5))", "leakyrelu(1e-5)", True),
    ("leaky_huge", "nn.Sequential(nn.LeakyReLU(1e20))", "leakyrelu(1e20)", True),
    ("leaky_int", "nn.Sequential(nn.LeakyReLU(0))", "leakyrelu(0)", True),
    (
        "gelu_none",
        "nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))",
        "16,32,gelu,16",
        True,
    ),
    (
        "gelu_tanh",
        "nn.Sequential(nn.Linear(16, 32), nn.GELU(approximate='tanh'), nn.Linear(32, 16))",
        "16,32,gelu(tanh),16",
        True,
    ),
    (
        "gelu_none_explicit",
        'nn.Sequential(nn.GELU("none"), nn.GELU("tanh"))',
        "gelu('none'),gelu(\"tanh\")",
        True,
    ),
    (
        "softmax_no_dim",
        "nn.Sequential(nn.Linear(8, 3), nn.Softmax())",
        "8,3,softmax",
        True,
    ),
    (
        "softmax_dim_none",
        "nn.Sequential(nn.Linear(8, 3), nn.Softmax(dim=None))",
        "8,3,softmax(None)",
        True,
    ),
    (
        "softmax_last",
        "nn.Sequential(nn.Linear(8, 3), nn.Softmax(dim=-1))",
        "8,3,softmax(-1)",
        True,
    ),
    ("softmax_dim1", "nn.Sequential(nn.Softmax(1))", "softmax(1)", True),
    (
        "dropout_default",
        "nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Dropout(), nn.Linear(10, 2))",
        "10,10,relu,dropout,2",
        True,
    ),
    (
        "dropout_p",
        "nn.Sequential(nn.Linear(10, 10), nn.Dropout(p=0.1, inplace=True), nn.Linear(10, 2))",
        "10,10,dropout(0.1),2",
        True,
    ),
    (
        "dropout_ends",
        "nn.Sequential(nn.Dropout(0.0), nn.Dropout(1))",
        "dropout(0.0),dropout(1)",
        True,
    ),
    (
        "flatten_default",
        "nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.Softmax(-1))",
        "flatten,12,5,softmax(-1)",
        True,
    ),
    (
        "flatten_args",
        "nn.Sequential(nn.Flatten(start_dim=2, end_dim=-1), nn.Linear(20, 3))",
        "flatten(2, -1),20,3",
        True,
    ),
    (
        "flatten_keeps_last",
        "nn.Sequential(nn.Linear(6, 4), nn.Flatten(0, -2), nn.Linear(4, 2))",
        "6,4,flatten(0,-2),2",
        True,
    ),
    (
        "sigmoid_tanh_silu",
        "nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 3), nn.Tanh(), "
        "nn.Linear(3, 1), nn.SiLU())",
        "2,3,sigmoid,3,tanh,1,silu",
        True,
    ),
    (
        "identity",
        "nn.Sequential(nn.Linear(5, 5), nn.Identity(), nn.Linear(5, 5))",
        "5,5,identity,5",
        True,
    ),
    (
        "inplace",
        "nn.Sequential(nn.Linear(3, 3), nn.ReLU(inplace=True), nn.SiLU(True), nn.Linear(3, 1))",
        "3,3,relu,silu,1",
        True,
    ),
    (
        "torch_prefix",
        "torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())",
        "3,2,relu",
        True,
    ),
    (
        "keywords",
        "nn.Sequential(nn.Linear(in_features=3, out_features=2, bias=False), nn.Softmax(dim=0))",
        "3,2:nobias,softmax(0)",
        True,
    ),
    (
        "zero_sizes",
        "nn.Sequential(nn.Linear(0, 3), nn.ReLU(), nn.Linear(3, 0))",
        "0,3,relu,0",
        True,
    ),
    (
        "huge_meta",
        "nn.Sequential(nn.Linear(100000, 200000, device='meta'), nn.GELU(), "
        "nn.Linear(200000, 7, device='meta'))",
        "100000,200000,gelu,7",
        "nn.Sequential(nn.Linear(100000, 200000), nn.GELU(), nn.Linear(200000, 7))",
    ),
    ("activations_only", "nn.Sequential(nn.ReLU(), nn.Softmax(dim=-1))", "relu,softmax(-1)", True),
    ("one_linear", "nn.Sequential(nn.Linear(3, 3))", "3,3", True),
    (
        "deep",
        "nn.Sequential(" + ", ".join(["nn.Linear(8, 8), nn.ReLU()"] * 6) + ", nn.Linear(8, 1))",
        "8" + ",8,relu" * 6 + ",1",
        True,
    ),
    (
        "every_kind",
        "nn.Sequential(nn.Flatten(), nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), "
        "nn.LeakyReLU(0.1), nn.Linear(8, 8), nn.GELU('tanh'), nn.Linear(8, 8), nn.Sigmoid(), "
        "nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.SiLU(), nn.Dropout(0.25), "
        "nn.Linear(8, 8, bias=False), nn.Identity(), nn.Linear(8, 4), nn.Softmax(dim=-1))",
        "flatten,6,8,relu,8,leakyrelu(0.1),8,gelu(tanh),8,sigmoid,8,tanh,8,silu,dropout(0.25),"
        "8:nobias,identity,4,softmax(-1)",
        True,
    ),
    (
        "ordered_dict",
        "nn.Sequential(OrderedDict([('fc1', nn.Linear(784, 256)), ('act', nn.ReLU()), "
        "('drop', nn.Dropout(0.2)), ('fc2', nn.Linear(256, 10))]))",
        "784,256,relu,dropout(0.2),10",
        None,
    ),
    (
        "nested",
        "nn.Sequential(nn.Linear(4, 8), nn.Sequential(nn.ReLU(), nn.Linear(8, 8)), nn.Tanh(), "
        "nn.Linear(8, 2))",
        "4,8,relu,8,tanh,2",
        True,
    ),
    (
        "nested_named",
        "nn.Sequential(OrderedDict([('encoder', nn.Sequential(nn.Linear(10, 6), nn.GELU())), "
        "('head', nn.Sequential(OrderedDict([('fc', nn.Linear(6, 2)), "
        "('out', nn.Softmax(dim=1))])))]))",
        "10,6,gelu,2,softmax(1)",
        None,
    ),
    (
        "nested_empty",
        "nn.Sequential(nn.Linear(3, 4), nn.Sequential(), nn.Sequential(nn.Sequential(nn.ReLU())))",
        "3,4,relu",
        True,
    ),
]

ARGS = {
    "LeakyReLU": ("negative_slope",),
    "GELU": ("approximate",),
    "Softmax": ("dim",),
    "Dropout": ("p",),
    "Flatten": ("start_dim", "end_dim"),
}


def layers_of(model: nn.Module, prefix: str = "") -> list[dict]:
    """The layers in order, nested Sequentials flattened, each with its dotted name."""
    out: list[dict] = []
    for name, child in model.named_children():
        path = f"{prefix}.{name}" if prefix else name
        kind = type(child).__name__
        if isinstance(child, nn.Sequential):
            out += layers_of(child, path)
            continue
        if kind == "Linear":
            args = [
                ["in_features", child.in_features],
                ["out_features", child.out_features],
                ["bias", child.bias is not None],
            ]
        else:
            args = [[arg, getattr(child, arg)] for arg in ARGS.get(kind, ())]
        out.append({"kind": kind, "args": args, "path": path})
    return out


def main() -> None:
    names = {"nn": nn, "torch": torch, "OrderedDict": OrderedDict}
    cases = []
    for name, code, compact, comma in CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zero-element init warnings
            model = eval(code, names)  # noqa: S307 - this script's own constant text
        cases.append(
            {
                "name": name,
                "code": code,
                "print": str(model),
                "layers": layers_of(model),
                "compact": compact,
                "comma": code if comma is True else comma,
            }
        )
    payload = {"torch": torch.__version__, "cases": cases}
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
