"""JSON: a document's data, indented, keys in contract order.

Rendered nodes in the data are written by the other writers (unicode text, LaTeX). JSON has no
inf or nan: such floats (an overflowing output) are written as the strings "inf", "-inf" and
"nan", which ``float()`` reads back.
"""

from __future__ import annotations

import json
import math
from typing import Any, TextIO

from ..document import Eq, Math, Rendered


def resolve(value: Any) -> Any:
    """``value`` with every Rendered node written out and every non-finite float named."""
    if isinstance(value, Rendered):
        return _render(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: resolve(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(item) for item in value]
    return value


def _render(r: Rendered) -> Any:
    from .latex import math_latex, row_latex
    from .text import math_lines, prose

    texts = {}
    for fmt in r.formats:
        node = r.node
        if isinstance(node, Math):
            texts[fmt] = math_latex(node) if fmt == "latex" else "\n".join(math_lines(node, fmt))
        elif isinstance(node, Eq):
            if fmt == "latex":
                texts[fmt] = row_latex(node, r.notation, r.precision)
            else:
                block = Math([node], r.notation, aligned=True, precision=r.precision)
                texts[fmt] = "\n".join(math_lines(block, fmt))
        else:
            texts[fmt] = prose(node, fmt)
    return texts if len(texts) > 1 else next(iter(texts.values()))


def write_json(data: Any, stream: TextIO) -> None:
    """Write ``data`` as indented JSON."""
    stream.write(json.dumps(resolve(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n")
