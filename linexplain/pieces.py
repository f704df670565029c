"""Pieces of documents that the explanations of one layer and of a network share: a block of
rows with its gaps, the forms of a layer as maths that can be rebuilt smaller, the words for a
loss and for a finite-difference check."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .document import Eq, Figure, Math, Section, Sym, Table
from .document import Text as Prose
from .document import text as t
from .view import View

if TYPE_CHECKING:
    from .equations import Block, Expansion


LOSS_WORDS = {
    "ones": "L = y.sum(), so G = ∂L/∂y is all ones",
    "seed": "G = ∂L/∂y is the torch.randn that follows x",
    "given": "G = ∂L/∂y as given",
}


def hidden_words(block: Block, notation: Any) -> Prose:
    """What a block's gaps leave out: ``(hidden: 1 of the 9 terms of each row (⋯); …)``."""
    parts: list[Any] = []
    if block.hidden_terms:
        parts.append(f"{block.hidden_terms:,} of the {block.term_count:,} terms of each row (⋯)")
    span = block.hidden_span()
    if span is not None:
        gap = block.axis.index(None)
        first, last = block.axis[gap - 1], block.axis[gap + 1]
        assert first is not None and last is not None
        names: list[Any] = [Sym(span[0], notation)]
        if last - 1 > first + 1:
            names += [" … ", Sym(span[1], notation)]
        parts.append((f"{block.hidden_rows:,} of the {block.row_count:,} rows (", *names, ")"))
    if not parts:
        return ()
    out: list[Any] = ["(hidden: "]
    for number, part in enumerate(parts):
        out += (["; "] if number else []) + (list(part) if isinstance(part, tuple) else [part])
    return t(*out, ")")


def block_math(block: Block, notation: Any, precision: int = 4, numbers: Any = None) -> Math:
    """A block of rows, aligned on ``=``, ⋮ for hidden rows, and what is hidden."""
    by_index = {row.index: row for row in block.rows}
    values = {r.index: r for r in numbers.rows} if numbers is not None else {}
    rows: list[Eq | None] = []
    for index in block.axis:
        if index is None:
            rows.append(None)
        elif index in values:
            n = values[index]
            rows.append(Eq(n.lhs, n.shown, numbers=n.values, value=n.value))
        else:
            rows.append(Eq(by_index[index].lhs, by_index[index].shown))
    return Math(
        rows, notation, aligned=True, hidden=hidden_words(block, notation), precision=precision
    )


def resizable(math: Math, view: View, rebuild: Callable[[View], Math]) -> Math:
    """``math`` able to show fewer entries per axis: ``rebuild`` makes it for another view."""
    if view.keep is not None:
        math.keep = view.keep

        def resize(keep: int) -> Math:
            smaller = replace(view, max_terms=keep)
            return resizable(rebuild(smaller), smaller, rebuild)

        math.resize = resize
    return math


def scalar_math(e: Expansion) -> Math:
    return block_math(e.scalar, e.notation)


def compact_math(e: Expansion) -> Math:
    where = t(every("i", e.view.index_base, e.out_features))
    return Math([Eq(e.compact.lhs, e.compact.rhs, where=where)], e.notation)


def matrix_math(e: Expansion) -> Math:
    aside = t(
        f"Z, X{', B' if e.bias else ''}: columns; W: out × in = {e.out_features} × {e.in_features}"
    )
    rows = [Eq(e.matrix.lhs, e.matrix.rhs, aside=aside), Eq(e.matrix_long.lhs, e.matrix_long.rhs)]
    return Math(rows, e.notation)  # type: ignore[arg-type]


def pytorch_math(e: Expansion) -> Math:
    rows = [Eq(e.pytorch.lhs, e.pytorch.rhs), Eq(e.transposed.lhs, e.transposed.rhs)]
    return Math(rows, e.notation)  # type: ignore[arg-type]


def form_math(e: Expansion, pick: Callable[[Expansion], Math]) -> Math:
    """One form of ``e`` as maths, able to be rebuilt with fewer entries shown."""

    def rebuild(view: View) -> Math:
        from .equations import expand as expand_layer

        return pick(expand_layer(e.in_features, e.out_features, e.bias, view))

    return resizable(pick(e), e.view, rebuild)


def every(index: str, first: int, size: int) -> str:
    """``i = 1, …, 3``: the values of a free index."""
    last = first + size - 1
    return f"{index} = {first}" if last == first else f"{index} = {first}, …, {last}"


def check_table(error: float, entries: int = 32) -> Table:
    """The finite-difference check's verdict."""
    if math.isinf(error):
        return Table(
            [
                (
                    "cannot judge",
                    "",
                    "the finite-difference step is lost in float64 at these "
                    "values: the check cannot tell a right gradient from a wrong one here",
                )
            ]
        )
    return Table(
        [
            (
                "largest error",
                f"{error:.3g}",
                "|numeric - autograd| / max(1, |autograd|), central differences in float64, "
                f"at most {entries} entries per tensor",
            )
        ]
    )


def seed_words(run: Any, draws_upstream: bool = False) -> str:
    """The seed of a pass (a layer's or a network's), unless no number shown comes from it
    (weights and input given, and G not drawn from it: ``--upstream seed`` draws from it)."""
    if run.seed_used or draws_upstream:
        return f"seed {run.seed}"
    return "no seed used (weights and input given)"


def figure_section(drawn: Figure) -> Section:
    """The post's figure, under a heading that says what to look for."""
    return Section(t("The figure: every input wired to every output"), [drawn])
