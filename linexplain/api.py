"""The lessons as Python calls that show themselves: ``linexplain.explain(...)`` in a Jupyter
cell displays the whole lesson (HTML with MathML and the figure), ``linexplain.draw(...)`` the
figure; in a terminal they print as text.

Each call takes the command line's options as keywords (``in_features``, ``out_features``,
``net``, ``input_shape``, ``seed``, ``index_base`` …), checks them once into a
:class:`~linexplain.request.Request`, and returns a :class:`Lesson`.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import fields
from typing import Any

from .document import Doc
from .errors import LinexplainError
from .grammar import check_choice, parse_shape
from .network import Network
from .request import Request
from .view import View

COMMANDS = ("shape", "expand", "run", "grad", "explain", "draw")
_FIGURES = itertools.count(1)
_VIEW = {f.name for f in fields(View)} - {"format"}
_REQUEST = {f.name for f in fields(Request)} - {"view", "notes", "model", "network"}


class Lesson:
    """A command's document that displays itself: text in a terminal, and in a notebook HTML
    (``_repr_html_``), the figure as SVG (``_repr_svg_``) and LaTeX where the document is
    maths only (``_repr_latex_``). ``doc`` is the document, ``data`` its ``--json``."""

    def __init__(self, doc: Doc):
        if not isinstance(doc, Doc):
            raise LinexplainError(
                f"a Lesson shows a Doc, got {type(doc).__name__}",
                "e.g. Lesson(linexplain.lessons.shape(Request(...)))",
            )
        self.doc = doc

    @property
    def data(self) -> dict[str, Any]:
        """The command's ``--json`` data."""
        return self.doc.data

    @property
    def result(self) -> Any:
        """What was computed (a forward pass, gradients), if anything."""
        return self.doc.result

    def render(self, fmt: str = "pretty") -> str:
        """The lesson written in ``fmt`` (pretty, ascii, latex, markdown, html, svg, json)."""
        from .output import render

        return render(self.doc, fmt)

    def save(self, path: str, fmt: str | None = None) -> None:
        """Write the lesson to ``path``, in ``fmt`` or the format its suffix names."""
        from .output import format_for, write_file

        write_file(self.doc, format_for(path) if fmt is None else fmt, path)

    def __str__(self) -> str:
        return self.render("pretty")

    def __repr__(self) -> str:
        return self.render("pretty")

    def _repr_html_(self) -> str:
        from .output.html import html_fragment

        return html_fragment(self.doc)

    def _repr_svg_(self) -> str | None:
        from .output import figure_of
        from .output.svg import svg

        try:
            drawn = figure_of(self.doc)
        except LinexplainError:  # no figure in this document: nothing to show as SVG
            return None
        # Its own ids: several figures share one notebook page.
        return svg(drawn, id_prefix=f"linexplain-figure-{os.getpid()}-{next(_FIGURES)}")

    def _repr_latex_(self) -> str | None:
        """A document of maths and prose only, as notebooks typeset LaTeX (MathJax): display
        maths in $$ … $$, prose as text with inline $…$; None when it holds tables, numbers,
        figures or code, which LaTeX in a notebook cannot show."""
        from .document import Lines, Math, Notes, Sym

        blocks = [block for section in self.doc.sections for block in section.blocks]
        if not any(isinstance(block, Math) for block in blocks) or not all(
            isinstance(block, (Math, Notes, Lines)) for block in blocks
        ):
            return None
        from .output.latex import math_latex
        from .output.math import MathPrinter

        out = []
        for block in blocks:
            if isinstance(block, Math):
                out.append(f"$$\n{math_latex(block)}\n$$")
                continue
            assert isinstance(block, (Notes, Lines))
            for line in block.lines:
                out.append(
                    "".join(
                        f"${MathPrinter(part.notation, 'latex').expr(part.expr)}$"
                        if isinstance(part, Sym)
                        else part
                        for part in line
                    )
                )
        return "\n\n".join(out)


def _request(options: dict[str, Any]) -> Request:
    """The request the keyword options describe, checked once."""
    options = dict(options)
    view = {name: options.pop(name) for name in list(options) if name in _VIEW}
    network = options.pop("net", None)
    act = options.pop("act", None)
    unknown = sorted(set(options) - _REQUEST)
    if unknown:
        raise LinexplainError(
            f"unknown option {unknown[0]!r}",
            f"use {', '.join(sorted(_REQUEST | _VIEW | {'net', 'act'}))}",
        )
    if isinstance(network, str):
        from .netspec import parse_net

        network = Network.of(parse_net(network, act, source="net"))
    elif act is not None:
        raise LinexplainError("act needs net as text", "e.g. net='784,256,10', act='relu'")
    if network is not None and not isinstance(network, Network):
        raise LinexplainError(
            f"net must be a spec or a Network, got {type(network).__name__}",
            "e.g. net='784,256,relu,10'",
        )
    if isinstance(options.get("input_shape"), str):
        options["input_shape"] = parse_shape(options["input_shape"])
    if network is not None and network.is_one_linear:
        from .layers import Linear

        layer = network.layers[0]
        assert isinstance(layer, Linear)
        options |= {"in_features": layer.in_features, "out_features": layer.out_features}
        options["bias"] = layer.bias
        network = None
    return Request(network=network, view=View(**view), **options)


def lesson(command: str, /, **options: Any) -> Lesson:
    """What ``linexplain COMMAND`` shows for these options, e.g.
    ``lesson("grad", in_features=3, out_features=2, check=True)``."""
    from . import lessons

    return Lesson(getattr(lessons, check_choice(command, COMMANDS, "command"))(_request(options)))


def explain(**options: Any) -> Lesson:
    """The whole lesson for a layer or a network (the post's 3 -> 3 layer by default), e.g.
    ``explain(in_features=4, out_features=2, seed=1)`` or ``explain(net="4,3,relu,2")``; layer
    2 as on the command line."""
    return lesson("explain", **{"layer": 2, **options})


def draw(**options: Any) -> Lesson:
    """The post's figure, e.g. ``draw(net="784,256,relu,10", seed=0)``."""
    return lesson("draw", **options)
