"""The command line: thin Typer commands over the library (glue only).

numpy and sympy are imported inside the commands that need them, so ``shape``, ``--help``
and TAB completion start fast.
"""

import os
import sys
import warnings
from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from . import __version__
from .errors import LinexplainError
from .terminal import use_rich

if TYPE_CHECKING:
    from .session import Forward

# --- choices ---------------------------------------------------------------------------------


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


class TextFormat(str, Enum):
    pretty = "pretty"
    ascii = "ascii"


class IndexBase(str, Enum):
    one = "1"
    zero = "0"


UPSTREAMS = ("ones", "seed")

# --- options (Typer's Optional is needed on Python 3.10) -------------------------------------

OptionalStr = Optional[str]  # noqa: UP045
OptionalInt = Optional[int]  # noqa: UP045

InFeatures = Annotated[
    OptionalInt,
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
OptionalOutFeatures = Annotated[
    OptionalInt,
    typer.Option(
        "--out",
        "--out-features",
        help="out_features (default: the weight's rows).",
        show_default=False,
    ),
]
Bias = Annotated[bool, typer.Option("--bias/--no-bias", help="Whether the layer adds a bias b.")]
InputShape = Annotated[
    str,
    typer.Option(
        "--input-shape",
        "-s",
        help="Input shape: comma-separated sizes or names, e.g. N,C,3 or batch,seq_len,768.",
    ),
]
ExpandInputShape = Annotated[
    OptionalStr,
    typer.Option(
        "--input-shape",
        "-s",
        help="Input shape, e.g. N,C,3: adds the batched shapes (the last dim is --in).",
    ),
]
RunInputShape = Annotated[
    OptionalStr,
    typer.Option(
        "--input-shape",
        "-s",
        help="Shape of a random input x = torch.randn(...), e.g. 4,3 or N,C,3 [default: 4,IN].",
        show_default=False,
    ),
]
Dims = Annotated[
    str,
    typer.Option(
        "--dims", help="Sizes for named dims, e.g. N=32,C=16 (numbers use 2 for names not given)."
    ),
]
Seed = Annotated[int, typer.Option(help="torch.manual_seed(SEED): the same weights as PyTorch.")]
NumberDType = Annotated[NumberType, typer.Option("--dtype", help="As torch.set_default_dtype.")]
Input = Annotated[
    OptionalStr, typer.Option("--input", help="The input as JSON, e.g. '[[1, 2, 3], [4, 5, 6]]'.")
]
InputFile = Annotated[
    OptionalStr,
    typer.Option(help="The input from a .npy, .csv, .txt or .json file, or - (stdin)."),
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
    int, typer.Option(help="Longer sums, rows and matrices show their first and last terms.")
]
TextFormatOption = Annotated[
    Optional[TextFormat],  # noqa: UP045
    typer.Option(
        "--format",
        help="Maths in unicode (pretty) or ascii [default: pretty on a terminal, else ascii].",
        show_default=False,
    ),
]
Precision = Annotated[
    int,
    typer.Option(
        help="Decimals in tables (scientific when a value would hide in them), significant "
        "digits in written-out sums; JSON has every digit."
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Write JSON (keys documented in the README).")]

# --- error handling --------------------------------------------------------------------------


def _fail(message: str) -> None:
    print(f"linexplain: error: {message}", file=sys.stderr)


def _run_safely(run: Callable[[], Any], debug: bool, command_path: str) -> int:
    """Run the CLI; bad input exits 2 with one line on stderr, never a traceback.

    ``command_path`` names the command for usage errors that click reports without one.
    """
    try:
        with warnings.catch_warnings():
            if not debug:  # NumPy's overflow warnings: the numbers show inf or nan themselves
                warnings.simplefilter("ignore", RuntimeWarning)
            code = run()
        sys.stdout.flush()
        return code if isinstance(code, int) else 0
    except LinexplainError as error:
        _fail(str(error))
        return error.exit_code
    except typer.TyperException as error:  # click's usage errors: unknown option, bad value
        context = getattr(error, "ctx", None)
        where = context.command_path if context else command_path
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
        debug = "--debug" in args or os.environ.get("LINEXPLAIN_DEBUG", "") not in ("", "0")
        prog_name = prog_name or "linexplain"
        command = next((arg for arg in args if not arg.startswith("-")), None)
        code = _run_safely(
            lambda: super(_Group, self).main(
                args, prog_name, complete_var, standalone_mode=False, **extra
            ),
            debug,
            f"{prog_name} {command}" if command in self.commands else prog_name,
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

# --- small helpers ---------------------------------------------------------------------------


def _examples(*lines: str) -> str:
    """An epilog of example command lines, kept unwrapped."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"linexplain {__version__}")
        raise typer.Exit()


def _ascii_wanted(format_: Enum | None) -> bool:
    """ASCII maths when asked for, or by default when the output is not a terminal."""
    return format_.value == "ascii" if format_ else not use_rich(sys.stdout)


def _layer(value: int | None) -> int | None:
    """The (l) superscript: None for no option or -1."""
    if value is not None and value < -1:
        raise LinexplainError(
            f"--layer {value} is not a layer number", "use 0 or more, or -1 for none"
        )
    return None if value in (None, -1) else value


def _one_of(**options: object) -> None:
    """Refuse two options that each give the same thing."""
    given = [name for name, value in options.items() if value is not None]
    if len(given) > 1:
        raise LinexplainError(
            f"{' and '.join(given)} both give the same thing",
            f"give only one of {', '.join(options)}",
        )


def _check_precision(precision: int) -> int:
    if not 0 <= precision <= 17:
        raise LinexplainError(f"--precision {precision} is out of range", "use 0 to 17")
    return precision


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


# --- the commands ----------------------------------------------------------------------------


@app.command(
    epilog=_examples(
        "linexplain explain",
        "linexplain explain --in 4 --out 2 --input-shape batch,4 --dims batch=3 --seed 1",
        "linexplain explain --json",
    )
)
def explain(
    in_features: Annotated[
        OptionalInt,
        typer.Option(
            "--in",
            "--in-features",
            help="in_features [default: the input's last dim (its --dims size for a name), "
            "else 3].",
            show_default=False,
        ),
    ] = None,
    out_features: Annotated[
        int, typer.Option("--out", "--out-features", help="out_features: size of one output.")
    ] = 3,
    bias: Bias = True,
    layer: Annotated[
        int, typer.Option(help="Layer number l, written as the superscript (l); -1 for none.")
    ] = 2,
    input_shape: Annotated[
        OptionalStr,
        typer.Option(
            "--input-shape",
            "-s",
            help="Input shape; names are fine [default: N,C,<in_features>, e.g. N,C,3].",
            show_default=False,
        ),
    ] = None,
    dims: Dims = "",
    seed: Seed = 0,
    dtype: NumberDType = NumberType.float32,
    index_base: Base = IndexBase.one,
    max_terms: MaxTerms = 8,
    precision: Precision = 4,
    format_: TextFormatOption = None,
    max_memory: MaxMemory = None,
    json: Json = False,
) -> None:
    """The whole seed in one go: the layer, its shapes, its equations and PyTorch's numbers."""
    from .grammar import parse_bindings, parse_shape
    from .render import emit, emit_json, explain_explanation
    from .session import forward
    from .shapes import check_features, explain_shape
    from .symbolic import expand as expand_layer

    in_features, out_features = check_features(in_features, out_features)
    sizes = parse_bindings(dims)
    shape = parse_shape(input_shape) if input_shape is not None else None
    if shape is None:
        in_features = 3 if in_features is None else in_features
        shape = ("N", "C", in_features)
    elif in_features is None and shape and isinstance(shape[-1], str) and shape[-1] not in sizes:
        in_features = 3  # a named last dim with no size: the seed's 3
    superscript, base = _layer(layer), int(index_base.value)
    report = explain_shape(
        shape, out_features, in_features, bias=bias, dtype=dtype.value, dims=sizes
    )
    in_features = report.in_features
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
        out_features,
        in_features,
        bias=bias,
        seed=seed,
        dtype=dtype.value,
        input_shape=shape,
        dims=sizes,
        max_memory=_bytes_limit(max_memory),
    )
    steps = result.steps(
        layer=superscript,
        index_base=base,
        max_terms=max_terms,
        precision=max(_check_precision(precision), 1),
    )
    if json:
        run_part = result.as_dict() | ({"steps": steps.as_dict()} if steps else {})
        emit_json({"shape": report.as_dict(), "expand": expansion.as_dict(), "run": run_part})
    else:
        ascii_only = _ascii_wanted(format_)
        emit(explain_explanation(report, expansion, result, steps, precision, ascii_only))


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
        MemoryType, typer.Option(help="Number type for the memory figures.")
    ] = MemoryType.float32,
    dims: Annotated[
        str,
        typer.Option(
            "--dims", help="Sizes for named dims, e.g. N=32,C=16 (counts become numbers)."
        ),
    ] = "",
    json: Json = False,
) -> None:
    """What shape comes out of nn.Linear and why: the last-dim rule, counts and memory."""
    from .grammar import parse_bindings, parse_shape
    from .render import emit, emit_json, shape_explanation
    from .shapes import explain_shape

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
        "linexplain expand --in 3 --out 2 --seed 0",
    )
)
def expand(
    out_features: Annotated[
        OptionalInt,
        typer.Option(
            "--out",
            "--out-features",
            help="out_features: size of one output sample [default: the weight file's rows].",
            show_default=False,
        ),
    ] = None,
    in_features: InFeatures = None,
    bias: Bias = True,
    layer: Layer = None,
    index_base: Base = IndexBase.one,
    form: Annotated[Form, typer.Option(help="Which form to write out.")] = Form.all,
    format_: Annotated[
        Optional[Format],  # noqa: UP045
        typer.Option(
            "--format",
            help="Output format [default: pretty on a terminal, ascii when piped].",
            show_default=False,
        ),
    ] = None,
    max_terms: MaxTerms = 8,
    full: Annotated[
        bool, typer.Option("--full", help="Write everything out (up to a 64 x 64 layer).")
    ] = False,
    input_shape: ExpandInputShape = None,
    seed: Annotated[
        OptionalInt,
        typer.Option(
            help="Also write the scalar form with the numbers of torch.manual_seed(SEED), "
            "for x = torch.randn(IN).",
            show_default=False,
        ),
    ] = None,
    weight_file: Annotated[
        OptionalStr,
        typer.Option(help="Also write the scalar form with the numbers of these weights (.npz)."),
    ] = None,
    dtype: Annotated[
        NumberType,
        typer.Option("--dtype", help="Number type of the --seed or --weight-file numbers."),
    ] = NumberType.float32,
    precision: Precision = 4,
    max_memory: Annotated[
        OptionalStr,
        typer.Option(
            help="With --seed or --weight-file: refuse a pass needing more bytes than this "
            "[default: a quarter of the RAM].",
            show_default=False,
        ),
    ] = None,
    json: Json = False,
) -> None:
    """What every output is made of: z_i = Σ_j w_ij x_j + b_i, written out by sympy."""
    from .grammar import parse_shape
    from .render import emit, emit_json, expand_explanation, expand_latex, expand_markdown
    from .shapes import explain_shape
    from .symbolic import expand as expand_layer

    superscript, base = _layer(layer), int(index_base.value)
    _check_precision(precision)
    shape = parse_shape(input_shape) if input_shape is not None else None
    limit = _bytes_limit(max_memory)
    one_sample = None
    if weight_file is not None:
        from .arrays import load_weights

        # The file gives the sizes and whether there is a bias; forward checks any --in/--out.
        from .session import check_fits_weight

        weights = load_weights(weight_file, dtype.value)
        if shape is not None:
            check_fits_weight(shape, weights[0].shape)
        one_sample = _one_sample(out_features, in_features, bias, seed, dtype, limit, weights)
        out_features, in_features = one_sample.layer.out_features, one_sample.layer.in_features
        bias = one_sample.layer.bias is not None
    if out_features is None:
        raise LinexplainError("out_features is unknown", "give --out, e.g. --out 2")
    if shape and isinstance(shape[-1], str) and in_features is None:
        raise LinexplainError(
            f"the last dim {shape[-1]!r} is a name, so in_features is unknown",
            f"give --in (in_features), which is the size of {shape[-1]}",
        )
    if shape is not None:
        in_features = explain_shape(shape, out_features, in_features).in_features
    if in_features is None:
        raise LinexplainError("in_features is unknown", "give --in, e.g. --in 3")
    expansion = expand_layer(
        in_features,
        out_features,
        bias=bias,
        layer=superscript,
        index_base=base,
        max_terms=max_terms,
        full=full,
        input_shape=shape,
    )
    if seed is not None and one_sample is None:
        one_sample = _one_sample(out_features, in_features, bias, seed, dtype, limit, (None, None))
    numbers = None
    if one_sample is not None:
        numbers = one_sample.steps(
            layer=superscript,
            index_base=base,
            max_terms=max_terms,
            full=full,
            precision=max(precision, 1),
        )
    fmt = format_.value if format_ else "ascii" if _ascii_wanted(None) else "pretty"
    if json:
        emit_json(expansion.as_dict() | ({"numbers": numbers.as_dict()} if numbers else {}))
    elif fmt == "latex":
        sys.stdout.write(expand_latex(expansion, form.value, numbers))
    elif fmt == "markdown":
        sys.stdout.write(expand_markdown(expansion, form.value, numbers))
    else:
        emit(expand_explanation(expansion, form.value, fmt == "ascii", numbers))


def _one_sample(
    out_features: int | None,
    in_features: int | None,
    bias: bool,
    seed: int | None,
    dtype: NumberType,
    max_memory: int | None,
    weights: tuple[Any, Any],
) -> "Forward":
    """One sample through the layer for expand's numbers: x = torch.randn(in) after the init."""
    from .session import forward

    weight, bias_values = weights
    if in_features is None and weight is not None:
        in_features = int(weight.shape[-1])
    return forward(
        out_features,
        in_features,
        bias=bias,
        seed=0 if seed is None else seed,
        dtype=dtype.value,
        input_shape=None if in_features is None else (in_features,),
        weight=weight,
        bias_values=bias_values,
        max_memory=max_memory,
    )


@app.command(
    name="run",
    epilog=_examples(
        "linexplain run --in 3 --out 2 --seed 0 --input-shape 4,3 --steps",
        "linexplain run --out 2 --input '[[1, 2, 3], [4, 5, 6]]' --json",
        "linexplain run --weight-file layer.npz --input-file x.npy --save y.npy",
    ),
)
def run_command(
    out_features: OptionalOutFeatures = None,
    in_features: InFeatures = None,
    bias: Bias = True,
    seed: Seed = 0,
    dtype: NumberDType = NumberType.float32,
    input_shape: RunInputShape = None,
    dims: Dims = "",
    input_: Input = None,
    input_file: InputFile = None,
    weight: Weight = None,
    bias_values: BiasValues = None,
    weight_file: WeightFile = None,
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

    _check_precision(precision)
    result = _forward(
        out_features, in_features, bias, seed, dtype, input_shape, dims,
        input_, input_file, weight, bias_values, weight_file, max_memory,
    )  # fmt: skip
    if save is not None:
        _save(save, result.y)
    written = result.steps(precision=max(precision, 1)) if steps else None
    if json:
        emit_json(result.as_dict() | ({"steps": written.as_dict()} if written else {}))
    else:
        emit(run_explanation(result, precision, written))


@app.command(
    epilog=_examples(
        "linexplain grad --in 3 --out 2 --seed 0 --input-shape 4,3",
        "linexplain grad --in 3 --out 2 --upstream seed --check",
        "linexplain grad --out 2 --input '[[1, 2, 3]]' --upstream g.npy --json",
    )
)
def grad(
    out_features: OptionalOutFeatures = None,
    in_features: InFeatures = None,
    bias: Bias = True,
    seed: Seed = 0,
    dtype: NumberDType = NumberType.float32,
    input_shape: RunInputShape = None,
    dims: Dims = "",
    input_: Input = None,
    input_file: InputFile = None,
    weight: Weight = None,
    bias_values: BiasValues = None,
    weight_file: WeightFile = None,
    upstream: Annotated[
        str,
        typer.Option(
            help="G = dL/dy: ones (L = y.sum()), seed (the torch.randn after x), or a file "
            "(.npy, .csv, .txt, .json, - for stdin) of y's shape.",
            autocompletion=lambda: list(UPSTREAMS),
        ),
    ] = "ones",
    check: Annotated[
        bool, typer.Option("--check", help="Compare with central finite differences.")
    ] = False,
    layer: Layer = None,
    index_base: Base = IndexBase.one,
    max_terms: MaxTerms = 8,
    precision: Precision = 4,
    format_: TextFormatOption = None,
    max_memory: MaxMemory = None,
    json: Json = False,
) -> None:
    """The backward pass: dL/dW, dL/db and dL/dx, their shapes, formulas and numbers."""
    from .arrays import is_array_file, load_array
    from .grad import explain_backward
    from .render import emit, emit_json, grad_explanation

    is_file = upstream == "-" or is_array_file(upstream)
    if upstream not in UPSTREAMS and not is_file:
        raise LinexplainError(
            f"--upstream {upstream!r} is neither ones, seed, nor a .npy/.csv/.txt/.json file",
            "use --upstream ones (L = y.sum()), --upstream seed, or a file holding G",
        )
    if upstream == "-" and input_file == "-":
        raise LinexplainError(
            "--input-file - and --upstream - cannot both read stdin",
            "save one of them to a file, e.g. --upstream g.npy",
        )
    _check_precision(precision)
    result = _forward(
        out_features, in_features, bias, seed, dtype, input_shape, dims,
        input_, input_file, weight, bias_values, weight_file, max_memory, for_backward=True,
    )  # fmt: skip
    g = upstream if upstream in UPSTREAMS else load_array(upstream, dtype.value)
    report = explain_backward(
        result,
        g,
        check=check,
        layer=_layer(layer),
        index_base=int(index_base.value),
        max_terms=max_terms,
    )
    if json:
        emit_json(report.as_dict())
    else:
        emit(grad_explanation(report, precision, _ascii_wanted(format_)))


# --- shared by run and grad ------------------------------------------------------------------


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
    max_memory: str | None,
    for_backward: bool = False,
) -> "Forward":
    """The forward pass that the input and weight options describe (``run`` and ``grad``)."""
    from .arrays import load_array, load_weights, parse_array
    from .grammar import parse_bindings, parse_shape
    from .session import forward

    _one_of(**{"--input": input_, "--input-file": input_file, "--input-shape": input_shape})
    _one_of(**{"--weight": weight, "--weight-file": weight_file})
    if bias_values is not None and weight is None:
        raise LinexplainError("--bias-values needs --weight", "give --weight too")
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
        max_memory=_bytes_limit(max_memory),
        for_backward=for_backward,
    )


def _bytes_limit(max_memory: str | None) -> int | None:
    """--max-memory in bytes, or None for the default limit."""
    from .grammar import parse_bytes

    return None if max_memory is None else parse_bytes(max_memory)


def _save(path: str, y: object) -> None:
    """Write y to an .npy file (never pickled)."""
    import numpy as np

    if not path.lower().endswith(".npy"):
        raise LinexplainError(f"--save {path!r} is not an .npy path", "name it like y.npy")
    try:
        with open(path, "wb") as file:  # a file object: np.save would append .npy to Y.NPY
            np.save(file, y, allow_pickle=False)
    except OSError as error:
        raise LinexplainError(
            f"--save {path!r}: {error.strerror or error}", "choose a writable path"
        ) from None
