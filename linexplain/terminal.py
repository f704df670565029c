"""Whether an output stream is a terminal that wants colour (tiny: the CLI reads it at start)."""

from __future__ import annotations

import os
from typing import TextIO


def use_rich(stream: TextIO | None) -> bool:
    """Rich output only on a terminal, and never when ``NO_COLOR`` is set or ``TERM=dumb``.

    ``None`` (``sys.stdout`` when the process started with it closed, ``>&-``) is no terminal.
    """
    return (
        stream is not None
        and stream.isatty()
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM") != "dumb"
    )
