"""A terminal: the plain text's lines with rich styles."""

from __future__ import annotations

from typing import TextIO

from ..document import Doc
from .text import doc_lines


def write_rich(doc: Doc, stream: TextIO) -> None:
    """Write ``doc`` with rich styles."""
    from rich.console import Console
    from rich.text import Text

    out = Text()
    for line, style in doc_lines(doc, "text"):
        out.append(line + "\n", style=style or None)
    Console(file=stream, highlight=False, soft_wrap=True).print(out, end="")
