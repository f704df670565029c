"""The command line: thin Typer commands over the library (glue only).

numpy and sympy are imported inside the commands that need them, so ``shape``, ``--help``
and TAB completion start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from . import __version__
from .errors import LinexplainError
from .render import use_rich


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


class IndexBase(str, Enum):
    one = "1"
    zero = "0"


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


def run() -> None:
    """Console-script entry point."""
    app()
