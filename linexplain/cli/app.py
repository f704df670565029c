"""The command line: thin Typer commands over the library.

Each command builds a request from its options (:mod:`linexplain.cli.request`), asks the library
for a document (:mod:`linexplain.lessons`) and writes it (:mod:`linexplain.output`). numpy and
sympy are imported only by the commands that need them, so ``shape``, ``--help`` and TAB
completion start fast.
"""

import errno
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import LinexplainError
from ..terminal import use_rich
from .options import (
    Act,
    Base,
    Bias,
    BiasValues,
    Check,
    Conv1dPatterns,
    Dims,
    Form,
    FormatOption,
    FormOption,
    Full,
    IndexBase,
    InFeatures,
    Input,
    InputFile,
    InputShape,
    Json,
    Key,
    Layer,
    LinearPatterns,
    MaxMemory,
    MaxTerms,
    MemoryDType,
    MemoryType,
    ModelFile,
    ModelLayers,
    Net,
    NetFile,
    NumberDType,
    NumberType,
    OutFeatures,
    Output,
    Precision,
    Save,
    Seed,
    Steps,
    Upstream,
    Weight,
    WeightFile,
)
from .request import build

if TYPE_CHECKING:
    from ..document import Doc

# --- error handling --------------------------------------------------------------------------


def _fail(message: str) -> None:
    if sys.stderr is None:  # closed (2>&-): print(file=None) would write to stdout
        return
    try:
        print(f"linexplain: error: {message}", file=sys.stderr)
    except OSError:  # stderr full or gone as well: the exit code says it
        pass


# Errors only a write gives: the output's pipe was closed, or its disk is full.
_WRITE_ERRORS = frozenset({errno.EPIPE, errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", 0)})


class _Unwritable(Exception):
    """stdout could not be written; an OSError carried past Typer's handler (it exits 1)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


@contextmanager
def _writing() -> Iterator[None]:
    try:
        yield
    except OSError as error:
        if error.errno in _WRITE_ERRORS:
            raise _Unwritable(error) from error
        raise


def _unwritable(error: OSError) -> int:
    """Quiet when the reader went away (| head, | true), else one line; exit 0 or 2."""
    try:  # what is still buffered goes to /dev/null: Python's flush at exit cannot fail
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture stdout)
        pass
    if error.errno == errno.EPIPE:
        return 0
    _fail(
        f"the output could not be written to stdout ({error.strerror}) — hint: "
        "send it where there is room, e.g. a file on another disk"
    )
    return 2


def _run_safely(run: Callable[[], Any], debug: bool, command_path: str) -> int:
    """Run the CLI; bad input exits 2 with one line on stderr, never a traceback.

    ``command_path`` names the command for usage errors that click reports without one.
    """
    if sys.stdout is None:  # started with stdout closed (>&-): nothing could be written
        _fail(
            "stdout is closed, so the output cannot be written — hint: "
            "send it somewhere, e.g. > out.txt, or > /dev/null to drop it"
        )
        return 2
    try:
        with _writing(), warnings.catch_warnings():
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
    except _Unwritable as unwritable:
        return _unwritable(unwritable.error)
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

    # Help, --version and the commands write inside these two, where Typer's own handler would
    # end a closed pipe with exit 1 (a full disk would be an "internal error" here).
    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _writing():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _writing():
            return super().invoke(ctx)


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


def _explained(command: str, options: dict[str, Any], piped: str = "ascii") -> tuple["Doc", str]:
    """The document ``command`` makes of its options, and the format to write it in (``piped``
    when the output is not a terminal). The library loads here, not at start-up."""
    from .. import lessons

    with _progress(command, bool(options.get("json"))):
        request, fmt = build(piped=piped, **options)
        return getattr(lessons, command)(request), fmt


PROGRESS_AFTER = 1.0  # seconds of work before a terminal shows that it goes on


def _progress_after() -> float:
    """PROGRESS_AFTER, or LINEXPLAIN_PROGRESS_AFTER's seconds (0 to 3600) when it says."""
    try:
        seconds = float(os.environ.get("LINEXPLAIN_PROGRESS_AFTER", PROGRESS_AFTER))
    except ValueError:
        return PROGRESS_AFTER
    return min(max(seconds, 0.0), 3600.0) if seconds == seconds else PROGRESS_AFTER


@contextmanager
def _progress(command: str, json: bool) -> Iterator[None]:
    """A spinner on stderr while work takes over PROGRESS_AFTER seconds, only when both stdout
    and stderr are terminals (never in piped or JSON output); it is gone before any output."""
    if json or not use_rich(sys.stdout) or not use_rich(sys.stderr):
        yield
        return
    import threading

    from rich.console import Console

    status = Console(file=sys.stderr).status(f"linexplain {command}: working…")
    lock, done = threading.Lock(), False

    def show() -> None:
        with lock:
            if not done:
                status.start()

    timer = threading.Timer(_progress_after(), show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            done = True
            status.stop()


def _write(doc: "Doc", fmt: str, output: str | None = None) -> None:
    """Write ``doc`` to stdout, or to the file ``output`` (- is stdout)."""
    from ..output import write, write_file

    if output is None or output == "-":
        write(doc, fmt)
    else:
        write_file(doc, fmt, output)


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


# --- the commands ----------------------------------------------------------------------------


@app.command(
    epilog=_examples(
        "linexplain explain",
        "linexplain explain --in 4 --out 2 --input-shape batch,4 --dims batch=3 --seed 1",
        "linexplain explain --format markdown > lesson.md",
        "linexplain explain --json",
    )
)
def explain(
    in_features: InFeatures = None,
    out_features: OutFeatures = None,
    bias: Bias = True,
    net: Net = None,
    net_file: NetFile = None,
    act: Act = None,
    layer: Layer = 2,
    input_shape: InputShape = None,
    dims: Dims = "",
    seed: Seed = 0,
    weight_file: WeightFile = None,
    key: Key = None,
    dtype: NumberDType = NumberType.float32,
    index_base: Base = IndexBase.one,
    max_terms: MaxTerms = 8,
    precision: Precision = 4,
    format_: FormatOption = None,
    max_memory: MaxMemory = None,
    output: Output = None,
    json: Json = False,
) -> None:
    """The whole post in one go: the layer, its shapes, its equations and PyTorch's numbers
    (the post's 3 -> 3 layer, layer 2, on an (N, C, 3) input unless told otherwise)."""
    _write(*_explained("explain", locals()), output)


@app.command(
    epilog=_examples(
        "linexplain shape --in 3 --out 3 --input-shape N,C,3",
        "linexplain shape --out 3072 -s 16,197,768 --json",
        "linexplain shape --out 10 -s 'torch.Size([32, 784])'",
    )
)
def shape(
    input_shape: InputShape,
    out_features: OutFeatures = None,
    in_features: InFeatures = None,
    bias: Bias = True,
    net: Net = None,
    net_file: NetFile = None,
    act: Act = None,
    dtype: MemoryDType = MemoryType.float32,
    dims: Dims = "",
    format_: FormatOption = None,
    output: Output = None,
    json: Json = False,
) -> None:
    """What shape comes out of nn.Linear and why: the last-dim rule, counts and memory."""
    _write(*_explained("shape", locals(), piped="pretty"), output)


@app.command(
    epilog=_examples(
        "linexplain expand --in 3 --out 3 --layer 2",
        "linexplain expand --in 4096 --out 4096 --form matrix",
        "linexplain expand --in 3 --out 2 --format latex --index-base 0",
        "linexplain expand --in 3 --out 2 --seed 0",
    )
)
def expand(
    out_features: OutFeatures = None,
    in_features: InFeatures = None,
    bias: Bias = True,
    net: Net = None,
    net_file: NetFile = None,
    act: Act = None,
    layer: Layer = None,
    index_base: Base = IndexBase.one,
    form: FormOption = Form.all,
    format_: FormatOption = None,
    max_terms: MaxTerms = 8,
    full: Full = False,
    input_shape: InputShape = None,
    seed: Seed = None,
    weight_file: WeightFile = None,
    key: Key = None,
    dtype: NumberDType = NumberType.float32,
    precision: Precision = 4,
    max_memory: MaxMemory = None,
    output: Output = None,
    json: Json = False,
) -> None:
    """What every output is made of: z_i = Σ_j w_ij x_j + b_i, written out by sympy (with
    --seed or --weight-file, the scalar form with those numbers too)."""
    _write(*_explained("expand", locals()), output)


@app.command(
    name="run",
    epilog=_examples(
        "linexplain run --in 3 --out 2 --seed 0 --input-shape 4,3 --steps",
        "linexplain run --out 2 --input '[[1, 2, 3], [4, 5, 6]]' --json",
        "linexplain run --weight-file layer.npz --input-file x.csv --save y.npy",
    ),
)
def run_command(
    out_features: OutFeatures = None,
    in_features: InFeatures = None,
    bias: Bias = True,
    net: Net = None,
    net_file: NetFile = None,
    act: Act = None,
    seed: Seed = 0,
    dtype: NumberDType = NumberType.float32,
    input_shape: InputShape = None,
    dims: Dims = "",
    input_: Input = None,
    input_file: InputFile = None,
    weight: Weight = None,
    bias_values: BiasValues = None,
    weight_file: WeightFile = None,
    key: Key = None,
    steps: Steps = False,
    layer: Layer = None,
    index_base: Base = IndexBase.one,
    max_terms: MaxTerms = 8,
    precision: Precision = 4,
    format_: FormatOption = None,
    save: Save = None,
    max_memory: MaxMemory = None,
    output: Output = None,
    json: Json = False,
) -> None:
    """The real numbers: a NumPy Linear with PyTorch's own weights for --seed, run on an input."""
    doc, fmt = _explained("run", locals(), piped="pretty")
    if save is not None:
        from ..arrays import save_array

        save_array(save, doc.result.y)
    _write(doc, fmt, output)


@app.command(
    epilog=_examples(
        "linexplain grad --in 3 --out 2 --seed 0 --input-shape 4,3",
        "linexplain grad --in 3 --out 2 --upstream seed --check",
        "linexplain grad --out 2 --input '[[1, 2, 3]]' --upstream g.npy --json",
    )
)
def grad(
    out_features: OutFeatures = None,
    in_features: InFeatures = None,
    bias: Bias = True,
    net: Net = None,
    net_file: NetFile = None,
    act: Act = None,
    seed: Seed = 0,
    dtype: NumberDType = NumberType.float32,
    input_shape: InputShape = None,
    dims: Dims = "",
    input_: Input = None,
    input_file: InputFile = None,
    weight: Weight = None,
    bias_values: BiasValues = None,
    weight_file: WeightFile = None,
    key: Key = None,
    upstream: Upstream = "ones",
    check: Check = False,
    layer: Layer = None,
    index_base: Base = IndexBase.one,
    max_terms: MaxTerms = 8,
    precision: Precision = 4,
    format_: FormatOption = None,
    max_memory: MaxMemory = None,
    output: Output = None,
    json: Json = False,
) -> None:
    """The backward pass: dL/dW, dL/db and dL/dx, their shapes, formulas and numbers."""
    _write(*_explained("grad", locals()), output)


@app.command(
    epilog=_examples(
        "linexplain draw",
        "linexplain draw --net 784,256,relu,10 --seed 0",
        "linexplain draw --in 4096 --out 4096 --format svg -o layer.svg",
        "linexplain explain --net 4,3,relu,2 -o lesson.html",
    )
)
def draw(
    in_features: InFeatures = None,
    out_features: OutFeatures = None,
    bias: Bias = True,
    net: Net = None,
    net_file: NetFile = None,
    act: Act = None,
    input_shape: InputShape = None,
    dims: Dims = "",
    seed: Seed = None,
    weight: Weight = None,
    bias_values: BiasValues = None,
    weight_file: WeightFile = None,
    key: Key = None,
    dtype: NumberDType = NumberType.float32,
    layer: Layer = None,
    index_base: Base = IndexBase.one,
    max_terms: MaxTerms = 8,
    full: Full = False,
    precision: Precision = 4,
    format_: FormatOption = None,
    max_memory: MaxMemory = None,
    output: Output = None,
    json: Json = False,
) -> None:
    """The post's figure: every input x_j wired to every output z_i by a weight w_ij, big
    layers elided honestly; with --seed or weights, the real weights on the wires (the post's
    3 -> 3 layer unless told otherwise)."""
    _write(*_explained("draw", locals()), output)


@app.command(
    epilog=_examples(
        "linexplain model model.safetensors -s B,T,768 --dims B=8,T=1024",
        "linexplain model model.safetensors --layer 'transformer.h.0.*' --json",
        "linexplain model state.npz --conv1d '*.c_proj'",
        "linexplain explain --weight-file model.safetensors --key transformer.h.0.mlp.c_fc",
    )
)
def model(
    file: ModelFile,
    input_shape: InputShape = None,
    dims: Dims = "",
    layer: ModelLayers = None,
    conv1d: Conv1dPatterns = None,
    linear: LinearPatterns = None,
    format_: FormatOption = None,
    output: Output = None,
    json: Json = False,
) -> None:
    """Every Linear layer of a checkpoint, from its header only: kind (nn.Linear or GPT-2's
    Conv1D, and how that was decided), in -> out, params, MACs, FLOPs and bytes."""
    _write(*_explained("model", locals(), piped="pretty"), output)
