"""Every option of the command line, declared once (Typer ``Annotated`` types with their help).

Commands pick the options they take and give each its default; checking and defaults that need
thought happen in :mod:`linexplain.cli.request`.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer


class MemoryType(str, Enum):
    float32 = "float32"
    float64 = "float64"
    float16 = "float16"
    bfloat16 = "bfloat16"


class NumberType(str, Enum):
    float32 = "float32"
    float64 = "float64"


class Form(str, Enum):
    all = "all"
    scalar = "scalar"
    matrix = "matrix"
    pytorch = "pytorch"


class Format(str, Enum):
    pretty = "pretty"
    ascii = "ascii"
    latex = "latex"
    markdown = "markdown"
    html = "html"
    svg = "svg"


class IndexBase(str, Enum):
    one = "1"
    zero = "0"


UPSTREAMS = ("ones", "seed")

# Typer needs Optional on Python 3.10.
OptionalStr = Optional[str]  # noqa: UP045
OptionalInt = Optional[int]  # noqa: UP045

InFeatures = Annotated[
    OptionalInt,
    typer.Option(
        "--in",
        "--in-features",
        help="in_features: size of one input sample [default: the input's last dim, or the "
        "weight's columns].",
        show_default=False,
    ),
]
OutFeatures = Annotated[
    OptionalInt,
    typer.Option(
        "--out",
        "--out-features",
        help="out_features: size of one output sample [default: the weight's rows].",
        show_default=False,
    ),
]
Bias = Annotated[bool, typer.Option("--bias/--no-bias", help="Whether the layer adds a bias b.")]
InputShape = Annotated[
    OptionalStr,
    typer.Option(
        "--input-shape",
        "-s",
        help="Input shape: sizes or names, e.g. N,C,3, batch,seq_len,768 or (32, 784); "
        "as pasted from torch too: torch.Size([32, 784]).",
        show_default=False,
    ),
]
Dims = Annotated[
    str,
    typer.Option(
        "--dims",
        help="Sizes for named dims, e.g. N=32,C=16 (numbers use 2 for a name not given).",
    ),
]
Seed = Annotated[
    OptionalInt,
    typer.Option(
        help="torch.manual_seed(SEED): PyTorch's own weights and input.", show_default=False
    ),
]
NumberDType = Annotated[NumberType, typer.Option("--dtype", help="As torch.set_default_dtype.")]
MemoryDType = Annotated[
    MemoryType, typer.Option("--dtype", help="Number type for the memory figures.")
]
Input = Annotated[
    OptionalStr, typer.Option("--input", help="The input as JSON, e.g. '[[1, 2, 3], [4, 5, 6]]'.")
]
InputFile = Annotated[
    OptionalStr,
    typer.Option(
        help="The input from a .npy, .csv (a header line is skipped), .txt or .json "
        "file, or - (stdin)."
    ),
]
Weight = Annotated[
    OptionalStr,
    typer.Option("--weight", help="The weight (out x in) as JSON, e.g. '[[1, 0, 2]]'."),
]
BiasValues = Annotated[
    OptionalStr, typer.Option(help="The bias (out,) as JSON, with --weight, e.g. '[0.5]'.")
]
WeightFile = Annotated[
    OptionalStr,
    typer.Option(
        help="An .npz with arrays weight and (optional) bias, as a state_dict; or, with --key, "
        "a model's .safetensors or .npz."
    ),
]
MaxMemory = Annotated[
    OptionalStr,
    typer.Option(
        help="Refuse a pass needing more bytes than this, e.g. 2GiB "
        "[default: a quarter of the RAM].",
        show_default=False,
    ),
]
Layer = Annotated[
    OptionalInt,
    typer.Option(
        help="Layer number l, written as the superscript (l); -1 for none.", show_default=False
    ),
]
Base = Annotated[
    IndexBase,
    typer.Option(help="1: math style (w_11 first); 0: as in code, w_ij = layer.weight[i, j]."),
]
MaxTerms = Annotated[
    int,
    typer.Option(help="Longer sums, rows, matrices and tables show their first and last entries."),
]
Precision = Annotated[
    int,
    typer.Option(
        help="Decimals of every number shown (scientific notation when a value would hide in "
        "them); JSON has every digit."
    ),
]
FormatOption = Annotated[
    Optional[Format],  # noqa: UP045
    typer.Option(
        "--format",
        help="pretty (unicode), ascii, latex, markdown, html (one self-contained page) or svg "
        "(the figure) [default: pretty on a terminal, else from --output's suffix].",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Write JSON (keys documented in the README).")]
Output = Annotated[
    OptionalStr,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file instead of stdout; its suffix (.html, .svg, .md, .tex, .json, "
        ".txt) picks the format unless --format or --json says.",
        show_default=False,
    ),
]
FormOption = Annotated[Form, typer.Option("--form", help="Which form to write out.")]
Full = Annotated[bool, typer.Option("--full", help="Write everything out (up to a 64 x 64 layer).")]
Steps = Annotated[
    bool, typer.Option("--steps", help="Write out each output of sample 0 with its numbers.")
]
Save = Annotated[OptionalStr, typer.Option(help="Save y to this .npy file.")]
Upstream = Annotated[
    str,
    typer.Option(
        help="G = dL/dy: ones (L = y.sum()), seed (the torch.randn after x), or a file "
        "(.npy, .csv, .txt, .json, - for stdin) of y's shape.",
        autocompletion=lambda: list(UPSTREAMS),
    ),
]
Check = Annotated[bool, typer.Option("--check", help="Compare with central finite differences.")]
Net = Annotated[
    OptionalStr,
    typer.Option(
        "--net",
        help="A network instead of --in/--out: 784,256,relu,10 (widths and activations; "
        "256:nobias for no bias), or PyTorch's text: 'Linear(784, 256), ReLU(), Linear(256, 10)'.",
        show_default=False,
    ),
]
NetFile = Annotated[
    OptionalStr,
    typer.Option(
        help="The network from a file (or - for stdin): what print(model) shows for an "
        "nn.Sequential, or a --net spec.",
        show_default=False,
    ),
]
Act = Annotated[
    OptionalStr,
    typer.Option(
        help="With a compact --net: this activation between every two Linear layers where "
        "none is written, e.g. relu.",
        show_default=False,
    ),
]
OptionalStrs = Optional[list[str]]  # noqa: UP045
ModelFile = Annotated[
    str,
    typer.Argument(
        metavar="FILE",
        help="A .safetensors file, an .npz of a state_dict, or print(model)'s text "
        "(an nn.Sequential). Only its header is read; .pt/.bin pickles are refused.",
        show_default=False,
    ),
]
ModelLayers = Annotated[
    OptionalStrs,
    typer.Option(
        "--layer",
        help="Only the layers this name or glob matches, e.g. 'transformer.h.0.*' "
        "(repeat it, or separate with commas).",
        show_default=False,
    ),
]
Conv1dPatterns = Annotated[
    OptionalStrs,
    typer.Option(
        "--conv1d",
        help="Weights whose names match this glob are Conv1D (stored in x out), e.g. '*.c_proj'.",
        show_default=False,
    ),
]
LinearPatterns = Annotated[
    OptionalStrs,
    typer.Option(
        "--linear",
        help="Weights whose names match this glob are nn.Linear (stored out x in).",
        show_default=False,
    ),
]
Key = Annotated[
    OptionalStr,
    typer.Option(
        "--key",
        help="With --weight-file model.safetensors (or .npz): that layer's own weights, e.g. "
        "transformer.h.0.mlp.c_fc (a Conv1D weight is transposed to out x in).",
        show_default=False,
    ),
]
