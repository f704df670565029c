"""JSON: a document's data, indented, keys in contract order.

Rendered nodes in the data are written by the other writers (unicode text, LaTeX). JSON has no
inf or nan: such floats (an overflowing output) are written as the strings "inf", "-inf" and
"nan", which ``float()`` reads back.

The text is ``json.dumps(resolve(data), indent=2, ensure_ascii=False)``, byte for byte, but
written piece by piece: lists of numbers :data:`~linexplain.memory.JSON_ITEMS` at a time, so
that millions of numbers never become one string (nor one string each, all at once).
"""

from __future__ import annotations

import json
import math
from typing import Any, TextIO

from ..document import Eq, Math, Rendered
from ..memory import JSON_ITEMS


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
    """Write ``data`` as indented JSON (``resolve``'s strict JSON), streamed."""
    out = _Buffer(stream)
    _write(data, 0, out)
    out.write("\n")
    out.flush()


class _Buffer:
    """Pieces of text gathered up to FLUSH characters, then written to the stream at once."""

    FLUSH = 1 << 16

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.pieces: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.pieces.append(text)
        self.size += len(text)
        if self.size >= self.FLUSH:
            self.flush()

    def flush(self) -> None:
        self.stream.write("".join(self.pieces))
        self.pieces, self.size = [], 0


def _write(value: Any, level: int, out: _Buffer) -> None:
    """``value`` as ``json.dumps(resolve(value), indent=2)`` writes it at nesting ``level``."""
    if isinstance(value, Rendered):
        value = _render(value)
    inner = "\n" + "  " * (level + 1)
    if isinstance(value, dict) and value:
        for i, (key, item) in enumerate(value.items()):
            out.write(("," if i else "{") + inner + _key(key) + ": ")
            _write(item, level + 1, out)
        out.write("\n" + "  " * level + "}")
    elif isinstance(value, (list, tuple)) and value:
        if set(map(type, value)) <= _SCALARS:  # numbers (or other scalars), a piece at a time
            separator = "," + inner
            for start in range(0, len(value), JSON_ITEMS):
                piece = _scalars(value[start : start + JSON_ITEMS], separator)
                out.write(("," if start else "[") + inner + piece)
        else:
            for i, item in enumerate(value):
                out.write(("," if i else "[") + inner)
                _write(item, level + 1, out)
        out.write("\n" + "  " * level + "]")
    else:  # a scalar, or an empty list or dict
        text = json.dumps(resolve(value), indent=2, ensure_ascii=False, allow_nan=False)
        out.write(text.replace("\n", "\n" + "  " * level))


_SCALARS = {float, int, str, bool, type(None)}


def _scalars(items: Any, separator: str) -> str:
    """Scalars as JSON text, joined: ``repr`` for plain floats and ints (as ``json`` writes
    them), unless one is inf or nan (whose repr has an n, as no finite float's has)."""
    if set(map(type, items)) <= {float, int}:
        text = separator.join(map(repr, items))
        if "n" not in text:
            return text
    return separator.join(
        json.dumps(resolve(item), ensure_ascii=False, allow_nan=False) for item in items
    )


def _key(key: Any) -> str:
    """A dict key as ``json`` writes it (a string; numbers, true, false and null as text)."""
    if type(key) is str:
        return json.dumps(key, ensure_ascii=False)
    return json.dumps({key: 0}, ensure_ascii=False, allow_nan=False)[1:-4]
