"""What each command says for a network of layers, in the post's notation.

The input layer is layer 1 (``--layer`` sets the first number), so the first Linear is W⁽²⁾:
z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, and an activation after it gives a⁽ˡ⁾ = f(z⁽ˡ⁾). A single
``nn.Linear`` is explained by :mod:`linexplain.lessons` as it always was. The prose names a
layer's tensors as the maths prints them (``a⁽¹⁾``, ``W⁽²⁾``: see :func:`_sup`); each writer
spells the superscript its own way (``a^(1)`` in ASCII, ``a$^{(1)}$`` in LaTeX).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .activations import Activation, Dropout, Flatten, Softmax
from .counts import DTYPE_BYTES, Product
from .document import Code, Doc, Eq, Lines, Math, Notes, Section, Sym, Table, Tensor
from .document import Text as Prose
from .document import text as t
from .figure import figure, figure_data
from .grammar import Shape, format_shape
from .layers import Linear
from .network import Network, Step
from .pieces import (
    LOSS_WORDS,
    block_math,
    check_table,
    figure_section,
    form_math,
    matrix_math,
    pytorch_math,
    resizable,
    scalar_math,
    seed_words,
)
from .readable import SUPERSCRIPT, count, counted, nbytes
from .view import View

if TYPE_CHECKING:
    from .session import NetGradients, Trace


def numbers(network: Network, view: View) -> list[int]:
    """Each layer's number l in the post's notation (see :meth:`Network.numbers`)."""
    return network.numbers(view.layer)


def _shape(shape: Shape) -> str:
    return format_shape(shape).replace("'", "")


def _sup(letter: str, layer: int | str) -> str:
    """``letter`` with the layer as a superscript, as the maths prints it: ``a⁽¹⁾``, ``W⁽¹²⁾``,
    ``a⁽⁻¹⁾``; a string is the generic layer: ``a⁽ˡ⁻¹⁾`` from ``"l-1"``."""
    return letter + f"({layer})".translate(SUPERSCRIPT)


# the generic layer l: z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = f(z⁽ˡ⁾)
_GENERIC = (
    f"{_sup('z', 'l')} = {_sup('W', 'l')} {_sup('a', 'l-1')} + {_sup('b', 'l')}, "
    f"{_sup('a', 'l')} = f({_sup('z', 'l')})"
)


# --- shape -----------------------------------------------------------------------------------


def shape_doc(network: Network, steps: tuple[Step, ...], dtype: str) -> Doc:
    """``shape --net``: the walk, one row per layer, totals, and memory."""
    walk = Table(header=("", "module", "input → output", "params", "MACs", "FLOPs", "elementwise"))
    notes: list[Prose] = []
    for step in steps:
        layer = step.layer
        ops = "" if isinstance(layer, Linear) else count(step.elementwise)
        walk.rows.append(
            (
                f"({step.index})",
                layer.module,
                f"{_shape(step.input_shape)} → {_shape(step.output_shape)}",
                count(step.params),
                count(step.macs),
                count(step.flops),
                ops,
            )
        )
        if step.note:
            notes.append(t(f"({step.index}) {step.note}"))
        if isinstance(layer, Dropout):
            notes.append(
                t(
                    f"({step.index}) {layer.module} is the identity in eval mode: "
                    "that is what is computed"
                )
            )
        elif isinstance(layer, Activation) and layer.formula:
            notes.append(
                t(
                    f"({step.index}) {layer.name}: {layer.formula}"
                    + (f", {counted(layer.ops, 'op')} per number" if layer.ops else "")
                )
            )
    macs = _total([s.macs for s in steps])
    flops = _total([s.flops for s in steps])
    elementwise = _total([s.elementwise for s in steps])
    bias_adds = _total([s.bias_adds for s in steps])
    totals = Table(
        [
            ("params", count(network.params), "weights and biases of every Linear"),
            ("MACs", count(macs), "the Linear layers' multiply-accumulates"),
            ("bias adds", count(bias_adds), ""),
            ("FLOPs", count(flops), "2·MACs + bias adds"),
            ("elementwise ops", count(elementwise), "the activations', counted apart"),
            ("one training step", count(macs * 3), "MACs: forward + backward = 3 × forward"),
        ]
    )
    size = DTYPE_BYTES[dtype]
    outputs = [s.numel * size for s in steps]
    saved = [s.count(s.input_shape) * size for s in steps if _saves(s.layer)]
    memory = Table(
        [
            ("parameters", nbytes(Product(network.params * size)), ""),
            *(
                (f"({s.index}) output", nbytes(o), s.layer.module)
                for s, o in zip(steps, outputs, strict=True)
            ),
            (
                "kept for backward",
                nbytes(_total(saved)),
                "what autograd saves: each Linear's input, each activation's input or output",
            ),
        ]
    )
    ins, outs = steps[0].input_shape, steps[-1].output_shape
    data = {
        "input_shape": list(ins),
        "output_shape": list(outs),
        "params": network.params,
        "macs": macs.value(),
        "flops": flops.value(),
        "bias_adds": bias_adds.value(),
        "elementwise_ops": elementwise.value(),
        "train_step_macs": (macs * 3).value(),
        "memory": {
            "params_bytes": network.params * size,
            "outputs_bytes": [o.value() for o in outputs],
            "saved_for_backward_bytes": _total(saved).value(),
        },
        "layers": [
            {
                "index": s.index,
                "module": s.layer.module,
                "input_shape": list(s.input_shape),
                "output_shape": list(s.output_shape),
                "params": s.params,
                "macs": s.macs.value(),
                "elementwise_ops": s.elementwise.value(),
            }
            for s in steps
        ],
    }
    return Doc(
        t(f"nn.Sequential of {len(steps)} layers: {network.params:,} parameters"),
        t(f"{_shape(ins)} → {_shape(outs)}"),
        [
            Section(t("The walk, layer by layer"), [walk, *([Notes(notes)] if notes else [])]),
            Section(t("Totals"), [totals]),
            Section(t(f"Memory ({dtype}, {size} bytes per number)"), [memory]),
        ],
        data,
    )


def _saves(layer: Any) -> bool:
    """Whether autograd keeps a tensor for this layer's backward (a reshape keeps none)."""
    return not isinstance(layer, (Flatten, Dropout)) and not (
        isinstance(layer, Activation) and layer.ops == 0
    )


def _total(values: list[Product]) -> Product:
    """The sum of counts that share the input's leading dims (a product of sizes otherwise)."""
    total = Product(0)
    for value in values:
        try:
            total = total + value
        except ValueError:  # a Flatten merged named dims away: counts no longer share them
            return Product(sum(v.coeff for v in values))
    return total


# --- expand ----------------------------------------------------------------------------------


def expand_sections(network: Network, steps: tuple[Step, ...], view: View) -> list[Section]:
    """a⁽¹⁾ = x, then per Linear its three forms, per activation a⁽ˡ⁾ = f(z⁽ˡ⁾)."""
    from .equations import expand as expand_layer

    numbers_ = numbers(network, view)
    first = numbers_[0] - (1 if isinstance(network.layers[0], Linear) else 0)
    sections = [
        Section(
            t(f"Layer {first}: the input"),
            [Lines([t(f"{_sup('a', first)} = x, of shape {_shape(steps[0].input_shape)}")])],
        )
    ]
    for step, ell in zip(steps, numbers_, strict=True):
        layer = step.layer
        title = f"({step.index}) {layer.module}, layer {ell}"
        if isinstance(layer, Linear):
            lv = replace(view, layer=ell)
            e = expand_layer(layer.sized, layer.out_features, layer.bias, lv, input_layer=ell - 1)
            words = t(
                f"{_sup('z', ell)} = {_sup('W', ell)} {_sup('a', ell - 1)} + {_sup('b', ell)}: "
                f"{_shape(step.input_shape)} → {_shape(step.output_shape)}"
            )
            sections.append(Section(t(title), [Lines([words])]))
            sections.append(Section(t("  scalar form"), [form_math(e, scalar_math)]))
            sections.append(Section(t("  matrix form"), [form_math(e, matrix_math)]))
            sections.append(Section(t("  PyTorch form"), [form_math(e, pytorch_math)]))
        else:
            sections.append(Section(t(title), _activation_blocks(step, ell, view)))
    return sections


def _activation_blocks(step: Step, ell: int, view: View) -> list[Any]:
    """aᵢ⁽ˡ⁾ = f(zᵢ⁽ˡ⁾) written out per element (elided), and what f is."""
    layer = step.layer
    assert isinstance(layer, Activation)
    if isinstance(layer, Flatten):
        return [
            Lines(
                [
                    t(
                        f"a reshape: {_shape(step.input_shape)} → {_shape(step.output_shape)}, "
                        "the same numbers in a new shape"
                    )
                ]
            )
        ]
    width = step.output_shape[-1] if step.output_shape else 1
    size = width if isinstance(width, int) else 4

    features = _over_features(layer, step.input_shape)

    def build(v: View) -> Math:
        rows, notation, hidden = activation_rows(layer, size, ell, v, over_features=features)
        return Math(rows, notation, aligned=True, hidden=hidden)

    blocks: list[Any] = [resizable(build(view), view, build)]
    words = f"f is {layer.formula}" if layer.formula else ""
    if isinstance(layer, Dropout):
        words = "Dropout is the identity in eval mode, which is what is computed"
    if isinstance(layer, Softmax) and layer.dim is None:
        words += "; Softmax() without dim: torch picks dim 0 for 1-D and 3-D inputs, else 1"
    if words:
        blocks.append(Notes([t(words)]))
    return blocks


def expand_doc(network: Network, steps: tuple[Step, ...], view: View) -> Doc:
    """``expand --net``."""
    return Doc(
        t(f"nn.Sequential of {len(steps)} layers, in the post's notation"),
        t(f"every layer written out: {_GENERIC}"),
        expand_sections(network, steps, view),
        {"layers": [{"index": s.index, "module": s.layer.module} for s in steps]},
    )


# --- run -------------------------------------------------------------------------------------


def run_sections(trace: Trace, view: View, show_steps: bool) -> list[Section]:
    """x, then per layer its parameters and its output, one sample written out, the code."""
    p, keep = view.precision, view.max_terms
    numbers_ = numbers(trace.network, view)
    source = "given" if trace.given_input else "torch.randn" + format_shape(trace.x.shape)
    first = numbers_[0] - 1 if isinstance(trace.network.layers[0], Linear) else numbers_[0]
    sections = [
        Section(
            t(f"x = {_sup('a', first)} {format_shape(trace.x.shape)}: {source}"),
            [Tensor(trace.x, p, keep)],
        )
    ]
    for i, (layer, (weight, bias), out, ell) in enumerate(
        zip(trace.network.layers, trace.params, trace.outputs, numbers_, strict=True)
    ):
        if isinstance(layer, Linear):
            assert weight is not None
            sections.append(
                Section(
                    t(f"({i}) {_sup('W', ell)} = net[{i}].weight {format_shape(weight.shape)}"),
                    [Tensor(weight, p, keep)],
                )
            )
            if bias is not None:
                sections.append(
                    Section(t(f"({i}) {_sup('b', ell)} = net[{i}].bias"), [Tensor(bias, p, keep)])
                )
            name = f"{_sup('z', ell)} = {_sup('a', ell - 1)}·{_sup('W', ell)}ᵀ" + (
                f" + {_sup('b', ell)}" if bias is not None else ""
            )
        else:
            name = f"{_sup('a', ell)} = {layer.name}({_sup('z', ell)})"
        sections.append(
            Section(t(f"({i}) {name} {format_shape(out.shape)}"), [Tensor(out, p, keep)])
        )
    if show_steps and trace.x.size and trace.y.size:
        sections += _sample_sections(trace, view)
    sections.append(Section(t("The same in PyTorch"), [Code(trace.torch_snippet())]))
    return sections


def _sample_sections(trace: Trace, view: View) -> list[Section]:
    """Sample 0 through every layer: each Linear's rows with numbers, each activation's."""
    from .equations import expand_numbers

    numbers_ = numbers(trace.network, view)
    out: list[Section] = []
    for i, (layer, (weight, bias), ell) in enumerate(
        zip(trace.network.layers, trace.params, numbers_, strict=True)
    ):
        x_in, y_out = trace.input_of(i), trace.outputs[i]
        row_in = x_in.reshape(-1, x_in.shape[-1])[0] if x_in.ndim else x_in.reshape(1)
        row_out = y_out.reshape(-1, y_out.shape[-1])[0] if y_out.ndim else y_out.reshape(1)
        if isinstance(layer, Linear):
            lv = replace(view, layer=ell)

            def build(
                v: View,
                w: Any = weight,
                b: Any = bias,
                r: Any = row_in,
                o: Any = row_out,
                number: int = ell,
            ) -> Math:
                n = expand_numbers(w, b, r, y=o, view=v, input_layer=number - 1)
                return block_math(n.block, n.notation, v.precision, n)

            out.append(
                Section(t(f"Sample 0, ({i}) {layer.module}"), [resizable(build(lv), lv, build)])
            )
        elif not isinstance(layer, Flatten):
            rows, notation, hidden = activation_rows(
                layer, row_out.shape[0], ell, view, inputs=row_in, outputs=row_out,
                over_features=_over_features(layer, x_in.shape),
            )  # fmt: skip
            out.append(
                Section(
                    t(f"Sample 0, ({i}) {layer.module}"),
                    [Math(rows, notation, aligned=True, hidden=hidden, precision=view.precision)],
                )
            )
    return out


def run_doc(trace: Trace, view: View, show_steps: bool = False) -> Doc:
    """``run --net``."""
    return Doc(
        t(
            f"nn.Sequential of {len(trace.network.layers)} layers  {seed_words(trace)}, "
            f"{trace.dtype}"
        ),
        t(f"x {format_shape(trace.x.shape)} → y {format_shape(trace.y.shape)}"),
        run_sections(trace, view, show_steps),
        trace.as_dict() | {"index_base": view.index_base},
        trace,
    )


# --- grad ------------------------------------------------------------------------------------


def grad_lines(trace: Trace, view: View) -> list[Prose]:
    """Backpropagation the textbook way, with every shape."""
    numbers_ = numbers(trace.network, view)
    layers = trace.network.layers
    last = len(layers) - 1
    lines = [
        t(f"G = ∂L/∂y has y's shape {format_shape(trace.y.shape)}"),
    ]
    for i in reversed(range(len(layers))):
        layer, ell = layers[i], numbers_[i]
        shape_in = format_shape(trace.input_of(i).shape)
        shape_out = format_shape(trace.outputs[i].shape)
        if isinstance(layer, Linear):
            delta = "G" if i == last else f"the δ that reaches it from ({i + 1})"
            d, w, b, z = _sup("δ", ell), _sup("W", ell), _sup("b", ell), _sup("z", ell)
            a_in = _sup("a", ell - 1)
            lines.append(t(f"({i}) {d} = ∂L/∂{z} = {delta}: {shape_out}"))
            lines.append(
                t(
                    f"    ∂L/∂{w} = {d}ᵀ·{a_in}, summed over the rows: "
                    f"({layer.out_features}, {layer.sized}), W's shape"
                )
            )
            if layer.bias:
                lines.append(t(f"    ∂L/∂{b} = {d} summed over the rows: ({layer.out_features},)"))
            lines.append(t(f"    ∂L/∂{a_in} = {d}·{w}: {shape_in}"))
        else:
            assert isinstance(layer, Activation)
            if isinstance(layer, Flatten):
                lines.append(
                    t(f"({i}) {layer.module}: the gradient is reshaped back to {shape_in}")
                )
            else:
                lines.append(
                    t(
                        f"({i}) {_sup('δ', ell)} = ∂L/∂{_sup('a', ell)} ⊙ "
                        f"{layer.name}′({_sup('z', ell)}): {shape_in}"
                        + ("  (ReLU′(0) = 0, as torch)" if layer.name == "ReLU" else "")
                    )
                )
    d = _sup("δ", "l")
    lines.append(
        t(
            f"so {d} = ({_sup('W', 'l+1')}ᵀ {_sup('δ', 'l+1')}) ⊙ f′({_sup('z', 'l')}), "
            f"∂L/∂{_sup('W', 'l')} = {d} {_sup('a', 'l-1')}ᵀ, ∂L/∂{_sup('b', 'l')} = Σ {d}; "
            "backward MACs = 2 × forward"
        )
    )
    return lines


def grad_doc(grads: NetGradients, view: View, check_error: float | None) -> Doc:
    """``grad --net``."""

    trace, p, keep = grads.trace, view.precision, view.max_terms
    numbers_ = numbers(trace.network, view)
    loss = LOSS_WORDS[grads.source]
    sections = [Section(t("Backpropagation, layer by layer"), [Lines(grad_lines(trace, view))])]
    sections.append(
        Section(
            t(f"G = ∂L/∂y {format_shape(grads.upstream.shape)}"), [Tensor(grads.upstream, p, keep)]
        )
    )
    for i, ((gw, gb), ell) in enumerate(zip(grads.grads, numbers_, strict=True)):
        if gw is not None:
            sections.append(
                Section(
                    t(
                        f"({i}) ∂L/∂{_sup('W', ell)} = net[{i}].weight.grad "
                        f"{format_shape(gw.shape)}"
                    ),
                    [Tensor(gw, p, keep)],
                )
            )
        if gb is not None:
            sections.append(
                Section(
                    t(f"({i}) ∂L/∂{_sup('b', ell)} = net[{i}].bias.grad"), [Tensor(gb, p, keep)]
                )
            )
    sections.append(
        Section(
            t(f"∂L/∂x = x.grad {format_shape(grads.grad_input.shape)}"),
            [Tensor(grads.grad_input, p, keep)],
        )
    )
    if check_error is not None:
        from .session import NET_FD_ENTRIES

        table = check_table(check_error, NET_FD_ENTRIES)
        sections.append(Section(t("Finite-difference check"), [table]))
    sections.append(Section(t("The same in PyTorch"), [Code(grads.torch_snippet())]))
    data = grads.as_dict() | {"index_base": view.index_base}
    if check_error is not None:
        import math

        data["check_max_error"] = check_error
        data["check_judged"] = not math.isinf(check_error)
    return Doc(
        t(
            f"Gradients of an nn.Sequential of {len(trace.network.layers)} layers  "
            f"seed {trace.seed}, {trace.dtype}"
        ),
        t(loss),
        sections,
        data,
        grads,
    )


# --- explain ---------------------------------------------------------------------------------


def explain_doc(network: Network, steps: tuple[Step, ...], trace: Trace, view: View) -> Doc:
    """The whole lesson for a network: the walk, the equations, the numbers."""
    shape = shape_doc(network, steps, trace.dtype)
    run = run_doc(trace, view, show_steps=True)
    drawn = figure(network, steps, view)

    def part(number: int, words: str) -> Section:
        return Section(t(f"━━ {number}. {words} ━━"), part=True)

    return Doc(
        t(f"nn.Sequential of {len(steps)} layers: {network.params:,} parameters"),
        shape.summary,
        [
            part(1, "The shape walk"),
            *shape.sections,
            part(2, "What every layer computes (written out by sympy)"),
            figure_section(drawn),
            *expand_sections(network, steps, view),
            part(3, f"Real numbers: {seed_words(trace)}, {trace.dtype}"),
            *run.sections,
        ],
        {"shape": shape.data, "figure": figure_data(drawn), "run": run.data},
        trace,
    )


def _over_features(layer: Activation, shape: Any) -> bool:
    """Whether a Softmax normalises one sample's features (its input's last dim)."""
    return isinstance(layer, Softmax) and layer.over_features(len(shape))


def activation_rows(
    layer: Activation,
    size: int,
    ell: int,
    view: View,
    inputs: Any = None,
    outputs: Any = None,
    over_features: bool = False,
) -> tuple[list[Eq | None], Any, Prose]:
    """aᵢ⁽ˡ⁾ = f(zᵢ⁽ˡ⁾) for the shown i (elided like a Linear's rows), with the numbers of
    one sample when ``inputs`` (its z) and ``outputs`` (its a) are given. A Softmax
    ``over_features`` is written out, aᵢ = exp(zᵢ) / Σₖ exp(zₖ); over another dim it is
    softmax(zᵢ) along that dim."""
    import sympy

    from .elide import shown_indices
    from .equations import Notation, Part

    n = Notation(size, size, replace(view, layer=ell))
    base = view.index_base
    axis = shown_indices(size, base, view.keep)
    phi, sigma = sympy.Function("Phi"), sympy.Function("sigma")

    def f(z: Any) -> Any:
        name = layer.name
        if name == "ReLU":
            return sympy.Max(0, z, evaluate=False)
        if name == "LeakyReLU":
            slope = sympy.Float(layer.negative_slope, 6)  # type: ignore[attr-defined]
            return sympy.Add(
                sympy.Max(0, z, evaluate=False),
                slope * sympy.Min(0, z, evaluate=False),
                evaluate=False,
            )
        if name == "GELU":
            if layer.approximate == "tanh":  # type: ignore[attr-defined]
                return sympy.Function("GELU_tanh")(z)
            return z * phi(z)
        if name == "Sigmoid":
            return sigma(z)
        if name == "Tanh":
            return sympy.tanh(z, evaluate=False)
        if name == "SiLU":
            return z * sigma(z)
        if name == "Softmax" and over_features:
            exp = sympy.Function("exp")  # written exp(z), never e to a power
            k = sympy.Symbol("k", integer=True)
            n.parts[k] = Part("k", (), False)
            total = sympy.Sum(exp(n.z(k)), (k, base, base + size - 1))
            return sympy.Mul(exp(z), sympy.Pow(total, -1, evaluate=False), evaluate=False)
        if name == "Softmax":
            return sympy.Function("softmax")(z)
        return z  # Identity, Dropout in eval mode

    rows: list[Eq | None] = []
    for k in axis:
        if k is None:
            rows.append(None)
            continue
        z, a = n.z(k), n.symbol("a", k)
        if inputs is None:
            rows.append(Eq(a, f(z)))
        else:
            rows.append(
                Eq(a, f(z), numbers={z: float(inputs[k - base])}, value=float(outputs[k - base]))
            )
    hidden: Prose = ()
    if None in axis:
        gap = axis.index(None)
        before, after = axis[gap - 1], axis[gap + 1]
        assert before is not None and after is not None
        hidden = t(
            f"(hidden: {after - before - 1:,} of the {size:,} rows (",
            Sym(n.symbol("a", before + 1), n),
            " … ",
            Sym(n.symbol("a", after - 1), n),
            "))",
        )
    return rows, n, hidden


__all__: list[str] = ["expand_doc", "explain_doc", "grad_doc", "run_doc", "shape_doc"]
