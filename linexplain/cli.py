"""The command line: thin Typer commands over the library (glue only).

numpy and sympy are imported inside the commands that need them, so ``shape``, ``--help``
and TAB completion start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from . import __version__
from .errors import LinexplainError
from .render import use_rich

if TYPE_CHECKING:
    from .session import Forward


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


class TextFormat(str, Enum):
    pretty = "pretty"
    ascii = "ascii"


class IndexBase(str, Enum):
    one = "1"
    zero = "0"


def _one_of(**options: object) -> None:
    """Refuse two options that each give the same thing."""
    given = [name for name, value in options.items() if value is not None]
    if len(given) > 1:
        raise LinexplainError(
            f"{' and '.join(given)} both give the same thing",
            f"give only one of {', '.join(options)}",
        )


def _fail(message: str) -> None:
    print(f"linexplain: error: {message}", file=sys.stderr)


def _run_safely(run: Callable[[], Any], debug: bool) -> int:
    """Run the CLI; bad input exits 2 with one line on stderr, never a traceback."""
    try:
        code = run()
        sys.stdout.flush()
        return code if isinstance(code, int) else 0
    except LinexplainError as error:
        _fail(str(error))
        return error.exit_code
    except typer.TyperException as error:  # click's usage errors: unknown option, bad value
        context = getattr(error, "ctx", None)
        where = context.command_path if context else "linexplain"
        hint = f" — hint: see '{where} --help'" if error.exit_code == 2 else ""
        _fail(error.format_message().replace("\n", " ") + hint)
        return error.exit_code
    except (KeyboardInterrupt, typer.Abort):
        return 130
    except BrokenPipeError:
        # The reader went away (| head): say nothing, and stop Python's own flush from failing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:
        if debug:
            raise
        _fail(
            f"internal error ({type(error).__name__}: {error}); "
            "rerun with --debug for the traceback"
        )
        return 1


class _Group(TyperGroup):
    """The command group, with linexplain's error handling around every run."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        args = list(sys.argv[1:] if args is None else args) or ["--help"]
        debug = "--debug" in args or bool(os.environ.get("LINEXPLAIN_DEBUG"))
        code = _run_safely(
            lambda: super(_Group, self).main(
                args, prog_name or "linexplain", complete_var, standalone_mode=False, **extra
            ),
            debug,
        )
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_Group,
    name="linexplain",
    help="Explain PyTorch's nn.Linear: output shapes, every output written out, real numbers.",
    epilog="Exit codes: 0 ok, 2 bad input or usage, 1 internal error (rerun with --debug).",
    pretty_exceptions_enable=False,
    # Boxes and colours in --help only on a terminal; plain text when piped or NO_COLOR is set.
    rich_markup_mode="rich" if use_rich(sys.stdout) else None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class DType(str, Enum):
    float32 = "float32"
    float64 = "float64"
    float16 = "float16"
    bfloat16 = "bfloat16"


InFeatures = Annotated[
    Optional[int],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--in",
        "--in-features",
        help="in_features: size of one input sample (default: the input's last dim).",
        show_default=False,
    ),
]
OutFeatures = Annotated[
    int, typer.Option("--out", "--out-features", help="out_features: size of one output sample.")
]
Bias = Annotated[bool, typer.Option("--bias/--no-bias", help="Whether the layer adds a bias b.")]
OptionalInputShape = Annotated[
    str,
    typer.Option(
        "--input-shape",
        "-s",
        help="Input shape, e.g. N,C,3: adds the batched shapes (the last dim is --in).",
    ),
]
InputShape = Annotated[
    str,
    typer.Option(
        "--input-shape",
        "-s",
        help="Input shape: comma-separated sizes or names, e.g. N,C,3 or batch,seq_len,768.",
    ),
]
Dims = Annotated[
    str,
    typer.Option("--dims", help="Sizes for named dims, e.g. N=32,C=16 (counts become numbers)."),
]
OptionalStr = Optional[str]  # noqa: UP045 - typer needs Optional on Python 3.10
Seed = Annotated[int, typer.Option(help="torch.manual_seed(SEED): the same weights as PyTorch.")]
Precision = Annotated[int, typer.Option(help="Decimals shown (JSON always has every digit).")]
RunOut = Annotated[
    Optional[int],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--out",
        "--out-features",
        help="out_features (default: the weight's rows).",
        show_default=False,
    ),
]
RunDType = Annotated[NumberType, typer.Option(help="As torch.set_default_dtype.")]
RunInputShape = Annotated[
    OptionalStr,
    typer.Option(
        "--input-shape",
        "-s",
        help="Shape of a random input x = torch.randn(...), e.g. 4,3 or N,C,3 [default: 4,IN].",
        show_default=False,
    ),
]
RunDims = Annotated[
    str, typer.Option("--dims", help="Sizes for named dims, e.g. N=2,C=4 (default 2 each).")
]
RunInput = Annotated[
    OptionalStr, typer.Option("--input", help="The input as JSON, e.g. '[[1, 2, 3], [4, 5, 6]]'.")
]
RunInputFile = Annotated[
    OptionalStr,
    typer.Option(help="The input from a .npy, .csv, .txt or .json file, or - (stdin)."),
]
RunWeight = Annotated[
    OptionalStr,
    typer.Option("--weight", help="The weight (out x in) as JSON, e.g. '[[1, 0, 2]]'."),
]
RunBiasValues = Annotated[
    OptionalStr, typer.Option(help="The bias (out,) as JSON, with --weight, e.g. '[0.5]'.")
]
RunWeightFile = Annotated[
    OptionalStr,
    typer.Option(help="An .npz with arrays weight and (optional) bias, as a state_dict."),
]
MaxMemory = Annotated[
    OptionalStr,
    typer.Option(
        help="Refuse a pass needing more bytes than this, e.g. 2GiB "
        "[default: a quarter of the RAM].",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Write JSON (keys documented in the README).")]


def _examples(*lines: str) -> str:
    """An epilog of example command lines, kept unwrapped."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"linexplain {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal error.")
    ] = False,
) -> None:
    """Explain PyTorch's nn.Linear: shapes (the last-dim rule), equations, and real numbers."""


@app.command(
    epilog=_examples(
        "linexplain shape --in 3 --out 3 --input-shape N,C,3",
        "linexplain shape --out 3072 -s 16,197,768 --json",
    )
)
def shape(
    input_shape: InputShape,
    out_features: OutFeatures,
    in_features: InFeatures = None,
    bias: Bias = True,
    dtype: Annotated[
        DType, typer.Option(help="Number type for the memory figures.")
    ] = DType.float32,
    dims: Dims = "",
    json: Json = False,
) -> None:
    """What shape comes out of nn.Linear and why: the last-dim rule, counts and memory."""
    from .render import emit, emit_json, shape_explanation
    from .shapes import explain_shape
    from .spec import parse_bindings, parse_shape

    report = explain_shape(
        parse_shape(input_shape),
        out_features,
        in_features,
        bias=bias,
        dtype=dtype.value,
        dims=parse_bindings(dims),
    )
    if json:
        emit_json(report.as_dict())
    else:
        emit(shape_explanation(report))


@app.command(
    epilog=_examples(
        "linexplain expand --in 3 --out 3 --layer 2",
        "linexplain expand --in 4096 --out 4096 --form matrix",
        "linexplain expand --in 3 --out 2 --format latex --index-base 0",
    )
)
def expand(
    out_features: OutFeatures,
    in_features: InFeatures = None,
    bias: Bias = True,
    layer: Annotated[
        Optional[int],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(help="Layer number l, written as the superscript (l).", show_default=False),
    ] = None,
    index_base: Annotated[
        IndexBase,
        typer.Option(help="1: math style (w_11 first); 0: as in code, w_ij = layer.weight[i, j]."),
    ] = IndexBase.one,
    form: Annotated[Form, typer.Option(help="Which form to write out.")] = Form.all,
    format_: Annotated[
        Optional[Format],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(
            "--format",
            help="Output format [default: pretty on a terminal, ascii when piped].",
            show_default=False,
        ),
    ] = None,
    max_terms: Annotated[
        int, typer.Option(help="Longer sums, rows and matrices show their first and last terms.")
    ] = 8,
    full: Annotated[
        bool, typer.Option("--full", help="Write everything out (up to a 64 x 64 layer).")
    ] = False,
    input_shape: OptionalInputShape = "",
    json: Json = False,
) -> None:
    """What every output is made of: z_i = Σ_j w_ij x_j + b_i, written out by sympy."""
    from .render import emit, emit_json, expand_explanation, expand_latex, expand_markdown
    from .shapes import explain_shape
    from .spec import parse_shape
    from .symbolic import expand as expand_layer

    shape = parse_shape(input_shape) if input_shape else None
    if shape is not None:
        in_features = explain_shape(shape, out_features, in_features).in_features
    if in_features is None:
        raise LinexplainError("in_features is unknown", "give --in, e.g. --in 3")
    expansion = expand_layer(
        in_features,
        out_features,
        bias=bias,
        layer=layer,
        index_base=int(index_base.value),
        max_terms=max_terms,
        full=full,
        input_shape=shape,
    )
    fmt = format_.value if format_ else ("pretty" if use_rich(sys.stdout) else "ascii")
    if json:
        emit_json(expansion.as_dict())
    elif fmt == "latex":
        sys.stdout.write(expand_latex(expansion, form.value))
    elif fmt == "markdown":
        sys.stdout.write(expand_markdown(expansion, form.value))
    else:
        emit(expand_explanation(expansion, form.value, ascii_only=fmt == "ascii"))


def main() -> None:
    """Console-script entry point."""
    app()


@app.command(
    epilog=_examples(
        "linexplain run --in 3 --out 2 --seed 0 --input-shape 4,3 --steps",
        "linexplain run --out 2 --input '[[1, 2, 3], [4, 5, 6]]' --json",
        "linexplain run --weight-file layer.npz --input-file x.npy --save y.npy",
    ),
    name="run",
)
def run_command(
    out_features: RunOut = None,
    in_features: InFeatures = None,
    bias: Bias = True,
    seed: Seed = 0,
    dtype: RunDType = NumberType.float32,
    input_shape: RunInputShape = None,
    dims: RunDims = "",
    input_: RunInput = None,
    input_file: RunInputFile = None,
    weight: RunWeight = None,
    bias_values: RunBiasValues = None,
    weight_file: RunWeightFile = None,
    steps: Annotated[
        bool, typer.Option("--steps", help="Write out each output of sample 0 with its numbers.")
    ] = False,
    precision: Precision = 4,
    save: Annotated[OptionalStr, typer.Option(help="Save y to this .npy file.")] = None,
    max_memory: MaxMemory = None,
    json: Json = False,
) -> None:
    """The real numbers: a NumPy Linear with PyTorch's own weights for --seed, run on an input."""
    from .render import emit, emit_json, run_explanation

    result = _forward(**locals())  # the options run and grad share
    if save is not None:
        _save(save, result.y)
    written = result.steps(precision=max(precision, 1)) if steps else None
    if json:
        emit_json(result.as_dict() | ({"steps": written.as_dict()} if written else {}))
    else:
        emit(run_explanation(result, precision, written))


def _forward(
    out_features: int | None,
    in_features: int | None,
    bias: bool,
    seed: int,
    dtype: NumberType,
    input_shape: str | None,
    dims: str,
    input_: str | None,
    input_file: str | None,
    weight: str | None,
    bias_values: str | None,
    weight_file: str | None,
    precision: int,
    max_memory: str | None,
    memory_share: int = 1,
    **_: object,
) -> Forward:
    """The forward pass the options of ``run`` (and ``grad``) describe.

    ``memory_share`` divides --max-memory for commands that hold more than the forward pass.
    """
    from .arrays import load_array, load_weights, parse_array
    from .session import forward
    from .spec import parse_bindings, parse_bytes, parse_shape

    _one_of(**{"--input": input_, "--input-file": input_file, "--input-shape": input_shape})
    _one_of(**{"--weight": weight, "--weight-file": weight_file})
    if bias_values is not None and weight is None:
        raise LinexplainError("--bias-values needs --weight", "give --weight too")
    if precision < 0 or precision > 17:
        raise LinexplainError(f"--precision {precision} is out of range", "use 0 to 17 decimals")
    kind = dtype.value
    x = None
    if input_ is not None:
        x = parse_array(input_, "--input", kind)
    elif input_file is not None:
        x = load_array(input_file, kind)
    w = b = None
    if weight is not None:
        w = parse_array(weight, "--weight", kind)
        b = None if bias_values is None else parse_array(bias_values, "--bias-values", kind)
    elif weight_file is not None:
        w, b = load_weights(weight_file, kind)
    limit = None if max_memory is None else parse_bytes(max_memory)
    return forward(
        out_features,
        in_features,
        bias=bias,
        seed=seed,
        dtype=kind,
        input_shape=None if input_shape is None else parse_shape(input_shape),
        dims=parse_bindings(dims),
        x=x,
        weight=w,
        bias_values=b,
        max_memory=None if limit is None else limit // memory_share,
    )


def _save(path: str, y: object) -> None:
    """Write y to an .npy file (never pickled)."""
    import numpy as np

    if not path.endswith(".npy"):
        raise LinexplainError(f"--save {path!r} is not an .npy path", "name it like y.npy")
    try:
        np.save(path, y, allow_pickle=False)
    except OSError as error:
        raise LinexplainError(
            f"--save {path!r}: {error.strerror or error}", "choose a writable path"
        ) from None


@app.command(
    epilog=_examples(
        "linexplain explain",
        "linexplain explain --in 4 --out 2 --input-shape batch,4 --dims batch=3 --seed 1",
        "linexplain explain --json",
    )
)
def explain(
    in_features: Annotated[
        int, typer.Option("--in", "--in-features", help="in_features: size of one input sample.")
    ] = 3,
    out_features: Annotated[
        int, typer.Option("--out", "--out-features", help="out_features: size of one output.")
    ] = 3,
    bias: Bias = True,
    layer: Annotated[
        Optional[int],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(help="Layer number l, the superscript (l); --layer -1 for none."),
    ] = 2,
    input_shape: Annotated[
        OptionalStr,
        typer.Option(
            "--input-shape",
            "-s",
            help="Input shape; names are fine [default: N,C,IN].",
            show_default=False,
        ),
    ] = None,
    dims: Annotated[
        str,
        typer.Option(
            "--dims",
            help="Sizes for named dims, e.g. N=32 (the numeric example uses 2 for others).",
        ),
    ] = "",
    seed: Seed = 0,
    dtype: Annotated[
        NumberType, typer.Option(help="As torch.set_default_dtype.")
    ] = NumberType.float32,
    index_base: Annotated[
        IndexBase,
        typer.Option(help="1: math style (w_11 first); 0: as in code, w_ij = layer.weight[i, j]."),
    ] = IndexBase.one,
    max_terms: Annotated[
        int, typer.Option(help="Longer sums, rows and matrices show their first and last terms.")
    ] = 8,
    precision: Precision = 4,
    format_: Annotated[
        TextFormat, typer.Option("--format", help="Maths in unicode (pretty) or ascii.")
    ] = TextFormat.pretty,
    json: Json = False,
) -> None:
    """The whole seed in one go: the layer, its shapes, its equations and PyTorch's numbers."""
    from .render import emit, emit_json, explain_explanation
    from .session import forward
    from .shapes import explain_shape
    from .spec import parse_bindings, parse_shape
    from .symbolic import expand as expand_layer

    shape = parse_shape(f"N,C,{in_features}" if input_shape is None else input_shape)
    sizes = parse_bindings(dims)
    kind = dtype.value
    superscript = None if layer == -1 else layer
    base = int(index_base.value)
    report = explain_shape(shape, out_features, in_features, bias=bias, dtype=kind, dims=sizes)
    expansion = expand_layer(
        in_features,
        out_features,
        bias=bias,
        layer=superscript,
        index_base=base,
        max_terms=max_terms,
        input_shape=shape,
    )
    result = forward(
        out_features, in_features, bias=bias, seed=seed, dtype=kind, input_shape=shape, dims=sizes
    )
    written = result.steps(layer=superscript, index_base=base, precision=max(precision, 1))
    if json:
        run_part = result.as_dict() | ({"steps": written.as_dict()} if written else {})
        emit_json({"shape": report.as_dict(), "expand": expansion.as_dict(), "run": run_part})
        return
    ascii_only = format_ == TextFormat.ascii
    emit(explain_explanation(report, expansion, result, written, precision, ascii_only))


class Upstream(str, Enum):
    ones = "ones"
    seed = "seed"


@app.command(
    epilog=_examples(
        "linexplain grad --in 3 --out 2 --seed 0 --input-shape 4,3",
        "linexplain grad --in 3 --out 2 --upstream seed --check",
        "linexplain grad --out 2 --input '[[1, 2, 3]]' --upstream g.npy --json",
    )
)
def grad(
    out_features: RunOut = None,
    in_features: InFeatures = None,
    bias: Bias = True,
    seed: Seed = 0,
    dtype: RunDType = NumberType.float32,
    input_shape: RunInputShape = None,
    dims: RunDims = "",
    input_: RunInput = None,
    input_file: RunInputFile = None,
    weight: RunWeight = None,
    bias_values: RunBiasValues = None,
    weight_file: RunWeightFile = None,
    upstream: Annotated[
        str,
        typer.Option(
            help="G = dL/dy: ones (L = y.sum()), seed (the torch.randn after x), or a file "
            "(.npy, .csv, .txt, .json) of y's shape.",
            autocompletion=lambda: [u.value for u in Upstream],
        ),
    ] = Upstream.ones.value,
    check: Annotated[
        bool, typer.Option("--check", help="Compare with central finite differences.")
    ] = False,
    layer: Annotated[
        Optional[int],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(help="Layer number l, written as the superscript (l).", show_default=False),
    ] = None,
    index_base: Annotated[
        IndexBase,
        typer.Option(help="1: math style (w_11 first); 0: as in code, w_ij = layer.weight[i, j]."),
    ] = IndexBase.one,
    max_terms: Annotated[
        int, typer.Option(help="Longer sums and lists show their first and last terms.")
    ] = 8,
    precision: Precision = 4,
    format_: Annotated[
        TextFormat, typer.Option("--format", help="Maths in unicode (pretty) or ascii.")
    ] = TextFormat.pretty,
    max_memory: MaxMemory = None,
    json: Json = False,
) -> None:
    """The backward pass: dL/dW, dL/db and dL/dx, their shapes, formulas and numbers."""
    from .arrays import load_array
    from .grad import backward, finite_difference_check, grad_forms, grad_shapes
    from .render import emit, emit_json, grad_explanation
    from .shapes import explain_shape
    from .spec import parse_bindings

    # The backward pass holds about twice the forward's memory: G and the three gradients.
    result = _forward(**locals(), memory_share=2)
    layer_ = result.layer
    g = (
        upstream
        if upstream in (Upstream.ones, Upstream.seed)
        else load_array(upstream, dtype.value)
    )
    grads = backward(result, g)
    shapes = grad_shapes(
        explain_shape(
            result.input_shape,
            layer_.out_features,
            layer_.in_features,
            bias=layer_.bias is not None,
            dtype=dtype.value,
            dims=parse_bindings(dims),
        )
    )
    error = finite_difference_check(grads) if check else None
    if json:
        emit_json(
            grads.as_dict()
            | {"shapes": shapes.as_dict()}
            | ({"check_max_error": error} if check else {})
        )
        return
    rows = result.x.size // max(layer_.in_features, 1) if layer_.in_features else 0
    forms = (
        grad_forms(
            layer_.in_features,
            layer_.out_features,
            rows,
            bias=layer_.bias is not None,
            layer=layer,
            index_base=int(index_base.value),
            max_terms=max_terms,
        )
        if rows and layer_.in_features and layer_.out_features
        else None
    )
    emit(grad_explanation(grads, shapes, forms, error, precision, format_ == TextFormat.ascii))
