"""One writer per format, each printing a :class:`~linexplain.document.Doc` its own way.

``text`` writes plain unicode or ASCII and, on a terminal, styled text fitting its width;
``latex`` and ``markdown`` write the whole document for notes; ``html`` one self-contained page
(MathML, the figure inline); ``svg`` the document's figure; ``json`` writes its data. Each writer
imports what it needs when it runs: a document without maths never loads sympy.
"""

from __future__ import annotations

import io
import os
import sys
from typing import TextIO

from ..document import Doc, Figure
from ..errors import LinexplainError
from ..grammar import check_choice
from ..terminal import use_rich

FORMATS = ("json", "latex", "markdown", "pretty", "ascii", "html", "svg")
SUFFIXES = {
    ".html": "html", ".htm": "html", ".svg": "svg", ".md": "markdown", ".tex": "latex",
    ".json": "json", ".txt": "pretty",
}  # fmt: skip


def format_for(path: str) -> str:
    """The format a file's suffix names (plain unicode text for a file without one)."""
    suffix = os.path.splitext(os.path.basename(str(path)))[1]
    if not suffix:
        return "pretty"
    if suffix.lower() not in SUFFIXES:
        raise LinexplainError(
            f"cannot tell which format to write to {path!r} from its suffix {suffix!r}",
            f"name it with one of {', '.join(SUFFIXES)}, or give --format",
        )
    return SUFFIXES[suffix.lower()]


def _check(doc: object, fmt: object) -> str:
    """A document to write, and one of FORMATS to write it in."""
    if not isinstance(doc, Doc):
        raise LinexplainError(
            f"a document to write must be a Doc, got {type(doc).__name__}",
            "write what a command returns, e.g. render(explain.shape(Request(...)), 'pretty')",
        )
    return check_choice(fmt, FORMATS, "format")


def figure_of(doc: Doc) -> Figure:
    """The document's figure (the first), for ``--format svg``."""
    for section in doc.sections:
        for block in section.blocks:
            if isinstance(block, Figure):
                return block
    raise LinexplainError(
        "this command's output has no figure to write as SVG",
        "draw one with linexplain draw … --format svg, or write the whole page with --format html",
    )


def write(doc: Doc, fmt: str, stream: TextIO | None = None) -> None:
    """Write ``doc`` in ``fmt``: json, latex, markdown, pretty or ascii (rich on a terminal),
    html or svg."""
    fmt = _check(doc, fmt)
    if stream is not None and not callable(getattr(stream, "write", None)):
        raise LinexplainError(
            f"stream must be a text stream, got {type(stream).__name__}", "e.g. sys.stdout"
        )
    stream = stream or sys.stdout
    if fmt == "json":
        from .json import write_json

        write_json(doc.data, stream)
    elif fmt == "latex":
        from .latex import latex

        stream.write(latex(doc))
    elif fmt == "markdown":
        from .markdown import markdown

        stream.write(markdown(doc))
    elif fmt == "html":
        from .html import html

        stream.write(html(doc))
    elif fmt == "svg":
        from .svg import svg

        stream.write(svg(figure_of(doc)))
    elif fmt == "pretty" and use_rich(stream):
        from .terminal import write_rich

        write_rich(doc, stream)
    else:
        from .text import plain

        stream.write(plain(doc, "ascii" if fmt == "ascii" else "text"))


def render(doc: Doc, fmt: str = "pretty") -> str:
    """``doc`` written in ``fmt`` as a string (plain text, never terminal styles)."""
    fmt = _check(doc, fmt)
    if fmt == "pretty":
        from .text import plain

        return plain(doc)
    stream = io.StringIO()
    write(doc, fmt, stream)
    return stream.getvalue()


def write_file(doc: Doc, fmt: str, path: str) -> None:
    """Write ``doc`` in ``fmt`` to the file ``path`` (made or replaced), or say in one line why
    it cannot be written."""
    if _check(doc, fmt) == "svg":
        figure_of(doc)  # before the file is touched: no figure leaves no file
    try:
        with open(path, "w", encoding="utf-8", newline="") as stream:
            write(doc, fmt, stream)
    except OSError as error:
        raise LinexplainError(
            f"cannot write --output {path!r} ({error.strerror or error})",
            "give a file in a folder that exists and that you may write to",
        ) from None
