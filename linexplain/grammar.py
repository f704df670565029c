"""The shape grammar: ``N,C,3`` and ``N=2,C=4``, parsed by hand (no eval, no sympify).

A shape is comma-separated dims; each dim is a non-negative integer (``3``, ``0``) or a
name: an ASCII letter, then letters, digits or underscores (``N``, ``batch``, ``seq_len``).
Spaces around commas and brackets are fine. ``""`` is the 0-D shape ``()``.

A shape may also be pasted as Python prints one, in one pair of brackets: ``(32, 784)``,
``[32, 784]``, ``torch.Size([32, 784])`` (or ``Size([32, 784])``, torch.Size imported by
name), with a trailing comma allowed inside (``(3,)``); ``()``, ``[]`` and
``torch.Size([])`` are the 0-D shape, and ``(3)`` is read as ``(3,)``. Brackets that do
not match, nest (``((3))``, ``[[3]]``) or leave text outside them are refused, naming the
position. ``N=2,C=4`` bindings take no brackets.
"""

from __future__ import annotations

import operator
import string
from collections.abc import Iterable, Mapping

from .errors import LinexplainError

Dim = int | str
Shape = tuple[Dim, ...]

MAX_DIMS = 32  # NumPy 1.x's limit on array dims (2.x allows 64): `run` must make the array
MAX_SIZE = 2**63 - 1  # torch sizes are int64
MAX_NAME_LEN = 64

_DIGITS = frozenset(string.digits)
_NAME_START = frozenset(string.ascii_letters)
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_")

DIM_HELP = "a dim is a non-negative integer (3, 0) or a name (N, batch, seq_len)"


def _show(text: str) -> str:
    """Quote user text for a message, control characters escaped, long text cut.

    Long text keeps its start and its end, each in its own quotes (so a quote the text opens is
    seen to close), and says how long it is: ``'N="xxxxxxxx'...'xxxx"' (61 characters)``.
    """
    if len(text) <= 40:
        return repr(text)
    return f"{text[:28]!r}...{text[-8:]!r} ({len(text)} characters)"


def _is_decimal(text: str) -> bool:
    return bool(text) and set(text) <= _DIGITS


def _is_name(text: str) -> bool:
    return bool(text) and text[0] in _NAME_START and set(text) <= _NAME_CHARS


def _hint(text: str) -> str:
    """Why ``text`` is neither a size nor a name, as a fix."""
    if any(not ch.isprintable() for ch in text):
        return "remove the control characters"
    if any(ord(ch) > 127 for ch in text):
        return "dims use ASCII digits, letters and underscores only"
    if text[:2].lower() in ("0x", "0o", "0b"):
        return "write sizes in decimal, e.g. 0x10 as 16"
    if _is_decimal(text.replace(".", "", 1)) or (text[:1] in _DIGITS and "e" in text.lower()):
        return "sizes are whole numbers written out, e.g. 3 or 1000"
    if text[:1] in _DIGITS and set(text) <= _NAME_CHARS:
        return "a name starts with a letter; products like 3N are not dims, name the size"
    words = text.split()
    if len(words) > 1 and all(_is_decimal(w) or _is_name(w) for w in words):
        return "separate dims with commas, e.g. " + ",".join(words)
    return DIM_HELP


def parse_size(text: str, where: str) -> int:
    """A non-negative decimal integer, at most int64's maximum."""
    if text.startswith("-") and _is_decimal(text[1:]):
        raise LinexplainError(
            f"{where}: {text} is negative", "sizes are 0 or more (-1 means 'infer' only in reshape)"
        )
    if not _is_decimal(text):
        raise LinexplainError(f"{where}: {_show(text)} is not a size", _hint(text))
    if len(text) > 1 and text[0] == "0":
        raise LinexplainError(
            f"{where}: {_show(text)} has a leading zero", f"write {int(text[:19])}"
        )
    if len(text) > 19 or int(text) > MAX_SIZE:
        raise LinexplainError(
            f"{where}: {_show(text)} is larger than torch's largest size 2**63-1",
            "use a name (like N) for a size you don't want to fix",
        )
    return int(text)


def parse_name(text: str, where: str) -> str:
    """An ASCII name: a letter, then letters, digits or underscores."""
    if not text:
        raise LinexplainError(f"{where} is empty", DIM_HELP)
    if len(text) > MAX_NAME_LEN:
        raise LinexplainError(
            f"{where}: name is {len(text)} characters long",
            f"names have at most {MAX_NAME_LEN} characters",
        )
    if not _is_name(text):
        raise LinexplainError(f"{where}: {_show(text)} is not a valid name", _hint(text))
    return text


def parse_dim(text: str, where: str) -> Dim:
    """One dim: a size or a name."""
    if text[:1] in _DIGITS or text[:1] == "-":
        return parse_size(text, where)
    return parse_name(text, where)


def _split(text: str, what: str) -> list[str]:
    """Split on commas, bounding the count first so huge inputs fail fast."""
    if text.count(",") >= MAX_DIMS:
        raise LinexplainError(
            f"{what} has {text.count(',') + 1} items", f"at most {MAX_DIMS} are allowed"
        )
    return [item.strip() for item in text.split(",")]


_CLOSER = {"(": ")", "[": "]"}
_OPENER = {")": "(", "]": "["}
_SIZE_PREFIXES = ("torch.Size", "Size")  # torch.Size's repr, and the class imported by name
_PASTED = "e.g. (32, 784), [32, 784] or torch.Size([32, 784])"


def _match_brackets(text: str) -> dict[int, int]:
    """Where each bracket of text closes (index -> index), refusing any that do not pair up."""
    shown = _show(text)
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch in _CLOSER:
            stack.append(i)
        elif ch in _OPENER:
            if not stack:
                raise LinexplainError(
                    f"input shape {shown}: {ch!r} at position {i + 1} closes nothing",
                    f"remove it, or open it with {_OPENER[ch]!r} before the dims",
                )
            start = stack.pop()
            if _CLOSER[text[start]] != ch:
                raise LinexplainError(
                    f"input shape {shown}: {text[start]!r} at position {start + 1} is closed "
                    f"by {ch!r} at position {i + 1}",
                    f"close {text[start]!r} with {_CLOSER[text[start]]!r}",
                )
            pairs[start] = i
    if stack:
        start = stack[0]
        raise LinexplainError(
            f"input shape {shown}: {text[start]!r} at position {start + 1} is never closed",
            f"add {_CLOSER[text[start]]!r} after the dims",
        )
    return pairs


def _unwrap(text: str) -> str:
    """The dims inside the pasted brackets of text.

    Text without brackets is all dims. A trailing comma inside the brackets is dropped.
    """
    pairs = _match_brackets(text)
    shown = _show(text)
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())  # one past the last non-space
    prefix = next((p for p in _SIZE_PREFIXES if text.startswith(p, start)), "")
    open_at = _skip_spaces(text, start + len(prefix))
    if prefix and (open_at == end or text[open_at] != "("):
        if prefix == "Size":
            prefix, open_at = "", start  # not Size(...): a name such as Size or Sizes
        else:
            raise LinexplainError(
                f"input shape {shown}: torch.Size at position {start + 1} has no '(' after it",
                "write torch.Size([...]) as torch prints it, e.g. torch.Size([32, 784])",
            )
    if not pairs:
        return text
    if open_at not in pairs:  # the text does not start with a bracket
        first = min(pairs)
        raise LinexplainError(
            f"input shape {shown}: {text[first]!r} at position {first + 1} is inside the dims",
            f"wrap all the dims in one pair of brackets, {_PASTED}, or in none",
        )
    _nothing_after(text, shown, pairs[open_at], end)
    list_at = open_at
    if prefix:
        list_at = _skip_spaces(text, open_at + 1)
        if list_at == pairs[open_at]:  # torch.Size(): the 0-D shape, as in Python
            return ""
        if list_at not in pairs:
            dims = text[list_at : pairs[open_at]].strip()
            raise LinexplainError(
                f"input shape {shown}: {prefix}(...) at position {start + 1} holds "
                f"{_show(dims)}, not a list",
                f"write {prefix}([{dims if len(dims) <= 40 else '...'}])",
            )
        _nothing_after(text, shown, pairs[list_at], pairs[open_at])
    nested = next((i for i in range(list_at + 1, pairs[list_at]) if text[i] in _CLOSER), None)
    if nested is not None:
        raise LinexplainError(
            f"input shape {shown}: {text[nested]!r} at position {nested + 1} opens a second "
            "pair of brackets",
            f"a shape has one pair of brackets, {_PASTED}",
        )
    dims = text[list_at + 1 : pairs[list_at]].rstrip()
    if dims.endswith(",") and dims[:-1].strip():
        dims = dims[:-1]  # (3,) is Python's 1-tuple
    return dims


def _skip_spaces(text: str, i: int) -> int:
    """The index of the first non-space at or after i (len(text) if none)."""
    return len(text) - len(text[i:].lstrip())


def _nothing_after(text: str, shown: str, close_at: int, end: int) -> None:
    """Refuse anything but spaces between the bracket at close_at and end."""
    at = _skip_spaces(text, close_at + 1)
    if at < end:
        raise LinexplainError(
            f"input shape {shown}: {_show(text[at:end].strip())} at position {at + 1} follows "
            f"the closing {text[close_at]!r} at position {close_at + 1}",
            f"put every dim inside one pair of brackets, {_PASTED}",
        )


def parse_shape(text: str) -> Shape:
    """Parse ``"N, C, 3"`` (or ``"(N, C, 3)"``, ``"torch.Size([N, C, 3])"``) into ``("N", "C", 3)``.

    ``""``, ``"()"`` and ``"torch.Size([])"`` are the 0-D shape ``()``.
    """
    if not isinstance(text, str):
        raise LinexplainError(
            f"a shape to parse must be text, got {type(text).__name__}", "e.g. 'N,C,3'"
        )
    dims = _unwrap(text)
    if not dims.strip():
        return ()
    items = _split(dims, "input shape")
    shape: list[Dim] = []
    for pos, item in enumerate(items, start=1):
        where = f"input shape {_show(text)}, dim {pos} of {len(items)}"
        if not item:
            raise LinexplainError(f"{where} is empty", "write a size or a name between commas")
        if item[0] != "0" and "x" in item and all(map(_is_decimal, item.split("x"))):
            raise LinexplainError(
                f"{where}: {_show(item)} is not a dim",
                f"separate dims with commas: {item.replace('x', ',')}",
            )
        shape.append(parse_dim(item, where))
    return tuple(shape)


def as_int(value: object, where: str) -> int:
    """A whole number given in Python (an int, NumPy ints too; not a bool) as a Python int."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise LinexplainError(
            f"{where}: {show_value(value)} is not a whole number", "give an integer, e.g. 3"
        ) from None


def as_size(value: object, where: str) -> int:
    """A size given in Python (see :func:`as_int`) as a Python int from 0 to 2**63-1."""
    size = as_int(value, where)
    if not 0 <= size <= MAX_SIZE:
        raise LinexplainError(
            f"{where}: {show_value(size)} is out of range", "use a size from 0 to 2**63-1"
        )
    return size


def check_shape(shape: Shape) -> Shape:
    """Check a shape built in Python (not parsed): the same dims the grammar allows.

    Returns it as a tuple with every size a Python int.
    """
    if not isinstance(shape, (tuple, list)):
        raise LinexplainError(
            f"an input shape must be a tuple of dims, got {type(shape).__name__}",
            "e.g. (4, 3) or ('N', 3)",
        )
    if len(shape) > MAX_DIMS:
        raise LinexplainError(
            f"input shape has {len(shape)} dims", f"at most {MAX_DIMS} are allowed"
        )
    checked: list[Dim] = []
    shown = show_dims(shape)
    for pos, d in enumerate(shape, start=1):
        where = f"input shape {shown}, dim {pos} of {len(shape)}"
        if isinstance(d, str):
            checked.append(parse_name(d, where))
        else:
            checked.append(as_size(d, where))
    return tuple(checked)


def check_bool(value: object, where: str) -> bool:
    """A flag given in Python: True or False (NumPy's bool too), never a truthy stand-in."""
    if isinstance(value, bool):
        return value
    if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
        return bool(value)  # np.True_, as torch takes it
    raise LinexplainError(
        f"{where} must be True or False, got {show_value(value)}", f"e.g. {where}=False"
    )


def check_choice(value: object, choices: Iterable[str], where: str) -> str:
    """One of a few names given in Python (a dtype, a format): a str among ``choices``."""
    names = tuple(choices)
    if not isinstance(value, str):
        raise LinexplainError(
            f"{where} must be a name, got {show_value(value)}", "use one of " + ", ".join(names)
        )
    if value not in names:
        raise LinexplainError(f"unknown {where} {_show(value)}", "use one of " + ", ".join(names))
    return str(value)


def check_dims(dims: object, where: str = "dims") -> dict[str, int]:
    """Sizes for named dims given in Python (``{"N": 2}``; None is none): ``--dims``' rules."""
    if dims is None:
        return {}
    if not isinstance(dims, Mapping):
        hint = "give a dict of names to sizes, e.g. {'N': 2}"
        if isinstance(dims, str):
            hint += f", or parse the text first: parse_bindings({_show(dims)})"
        raise LinexplainError(f"{where} must map names to sizes, got {show_value(dims)}", hint)
    if len(dims) > MAX_DIMS:
        raise LinexplainError(f"{where} has {len(dims)} names", f"at most {MAX_DIMS} are allowed")
    checked: dict[str, int] = {}
    for name, size in dims.items():
        if not isinstance(name, str):
            example = (
                f"{{{_show(size)}: {show_value(name)}}}" if isinstance(size, str) else "{'N': 2}"
            )
            raise LinexplainError(
                f"{where}: the key {show_value(name)} is not a name",
                f"the names are the keys and the sizes the values, e.g. {example}",
            )
        name = parse_name(name, f"{where}, name")
        checked[name] = as_size(size, f"{where}, size of {name}")
    return checked


def show_dims(dims: tuple[object, ...] | list[object]) -> str:
    """A shape given in Python, for a message (each dim as :func:`show_value` shows it)."""
    return "(" + ", ".join(map(show_value, dims)) + ("," if len(dims) == 1 else "") + ")"


def show_value(value: object) -> str:
    """A Python value for a message: short text and numbers as written, else the type."""
    if isinstance(value, str):
        return _show(value)
    if isinstance(value, int) and value.bit_length() > 128:  # repr of a huge int may fail
        return f"an int of {value.bit_length()} bits"
    if value is None or isinstance(value, (bool, int, float, complex)):
        return repr(value)
    if type(value).__module__.startswith("numpy") and not getattr(value, "shape", None):
        return repr(value)  # a NumPy scalar or dtype: np.int64(3), dtype('float32')
    return type(value).__name__


def parse_bindings(text: str) -> dict[str, int]:
    """Parse ``"N=2, C=4"`` into ``{"N": 2, "C": 4}`` (sizes for named dims)."""
    if not isinstance(text, str):
        raise LinexplainError(
            f"bindings to parse must be text, got {type(text).__name__}", "e.g. 'N=2,C=4'"
        )
    if not text.strip():
        return {}
    bracket = next((i for i, ch in enumerate(text) if ch in "()[]"), None)
    if bracket is not None:
        raise LinexplainError(
            f"--dims {_show(text)}: {text[bracket]!r} at position {bracket + 1}",
            "write the bindings without brackets, e.g. N=2,C=4",
        )
    bindings: dict[str, int] = {}
    for pos, item in enumerate(_split(text, "--dims"), start=1):
        where = f"--dims {_show(text)}, item {pos}"
        name, eq, value = (part.strip() for part in item.partition("="))
        if not eq:
            raise LinexplainError(f"{where}: {_show(item)} has no '='", "write NAME=SIZE, e.g. N=2")
        if _is_decimal(name) and _is_name(value):  # 3=N: the two sides swapped
            raise LinexplainError(
                f"{where}: {_show(item)} gives the size left of '=' and the name right of it",
                f"the name goes left and its size right: write {value}={name}",
            )
        if _is_decimal(name):
            raise LinexplainError(
                f"{where}, name: {_show(name)} is not a valid name",
                f"the left of '=' names a dim: write NAME=SIZE, e.g. N={value or name}",
            )
        name = parse_name(name, f"{where}, name")
        if name in bindings:
            raise LinexplainError(f"{where}: {name} is given twice", "give each name once")
        bindings[name] = parse_size(value, f"{where}, size of {name}")
    return bindings


def format_shape(shape: Shape) -> str:
    """Write a shape the way torch prints a tuple: ``(N, C, 3)``, ``(3,)``, ``()``."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


_BYTE_UNITS = {
    "": 1, "B": 1,
    "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
}  # fmt: skip


def parse_bytes(text: str, where: str = "--max-memory") -> int:
    """A byte count: ``1000000``, ``512MB``, ``2GiB`` (decimal and binary units)."""
    stripped = text.strip()
    digits = len(stripped) - len(stripped.lstrip(string.digits))
    number, unit = stripped[:digits], stripped[digits:].strip().upper()
    if not number or unit not in _BYTE_UNITS:
        raise LinexplainError(
            f"{where}: {_show(text)} is not a size in bytes",
            "write a whole number with an optional unit: 4000000, 512MB, 2GiB",
        )
    # The length check keeps int() away from huge text.
    if len(number.lstrip("0")) > 30 or int(number) * _BYTE_UNITS[unit] > 10**30:
        raise LinexplainError(
            f"{where}: {_show(text)} is more bytes than any machine has",
            "write a limit such as 64GiB",
        )
    return int(number) * _BYTE_UNITS[unit]
