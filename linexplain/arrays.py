"""Safe array input: JSON literals, .npy/.csv/.txt/.json files, stdin, and .npz weights.

Nothing is evaluated or unpickled: JSON goes through ``json``, NumPy files through
``np.load(..., allow_pickle=False)`` after their header has been checked. Every problem
raises ``LinexplainError`` saying what is wrong and where. Limits, checked before the
work: text of at most ``MAX_TEXT_BYTES``, binary files of at most ``MAX_FILE_BYTES``,
at most ``MAX_ELEMENTS`` numbers and ``MAX_DIMS`` dimensions.

A table (text that is not JSON) may start with a header, as ``df.to_csv(path, index=False)``
writes one: a first non-blank line in which no field is a number. It is skipped, and
:func:`read_array` says so. The unnamed first column that ``df.to_csv(path)`` adds (a header
starting with an empty name) is skipped too when it holds the row numbers 0, 1, 2, ...,
and refused otherwise.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import stat
import sys
import zipfile
from collections.abc import Callable
from typing import BinaryIO, cast

import numpy as np

from linexplain.elide import shown_indices
from linexplain.errors import LinexplainError
from linexplain.torch_rng import numpy_dtype

MAX_TEXT_BYTES = 64 * 2**20
MAX_FILE_BYTES = 2**30
MAX_ELEMENTS = 2**27
MAX_DIMS = 16
EXAMPLE = "[[1, 2, 3], [4, 5, 6]]"
ARRAY_SUFFIXES = (".npy", ".csv", ".txt", ".json")  # what load_array reads
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_SEPARATOR = re.compile(r"\s*,\s*|\s+", re.ASCII)  # a comma (spaces around it allowed) or spaces
_NPY_HINT = "save it with np.save(path, array) from an array of numbers"


def parse_array(text: str, what: str, dtype: str = "float32") -> np.ndarray:
    """The array written as a JSON literal: a number or nested lists of numbers."""
    dt = numpy_dtype(dtype)
    _check_text_size(text, what)
    try:
        data = json.loads(text, parse_constant=_refuse_constant(what))
    except json.JSONDecodeError as e:
        raise LinexplainError(
            f"{what} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}",
            f"write nested lists of numbers, e.g. {EXAMPLE}",
        ) from None
    except LinexplainError:  # from the NaN/Infinity hook (it is a ValueError too)
        raise
    except ValueError:  # an integer literal past Python's 4300-digit limit
        raise LinexplainError(
            f"{what} has a number with thousands of digits", "write numbers of a sensible size"
        ) from None
    except RecursionError:
        raise LinexplainError(
            f"{what} is nested too deeply", f"use at most {MAX_DIMS} levels of lists"
        ) from None
    shape = _shape_of(data, what)
    try:
        values = np.array(data, dtype=np.float64)
    except OverflowError:  # an integer literal beyond float64
        raise LinexplainError(
            f"{what} has a number too large for {dt.name}", "use numbers of a sensible size"
        ) from None
    return _as_dtype(values.reshape(shape), what, dt)


def is_array_file(path: str) -> bool:
    """Whether ``path`` names a file ``load_array`` reads (its suffix, in any case)."""
    return os.path.splitext(path)[1].lower() in ARRAY_SUFFIXES


def load_array(path: str, dtype: str = "float32") -> np.ndarray:
    """The array in a .npy, .csv, .txt or .json file, or in stdin text when path is "-".

    :func:`read_array` without its notes.
    """
    return read_array(path, dtype)[0]


def read_array(path: str, dtype: str = "float32") -> tuple[np.ndarray, tuple[str, ...]]:
    """The array in a .npy, .csv, .txt or .json file (or stdin when path is "-"), and notes.

    Text that starts with "[" is JSON; other text is a table, one row per line with numbers
    separated by commas or whitespace (a table is always 2-D), perhaps under a header line.
    The notes say what was skipped to read it, one sentence each, such as
    ``"x.csv: skipped line 1, a header (a, b, c)"``; they are empty for .npy and JSON.
    """
    dt = numpy_dtype(dtype)
    if path == "-":
        return _parse_text(sys.stdin.read(MAX_TEXT_BYTES + 1), "stdin", dt)
    if not is_array_file(path):
        ext = os.path.splitext(path)[1]
        raise LinexplainError(
            f"{path}: unsupported file type {ext or '(no extension)'!r}",
            "give a .npy, .csv, .txt or .json file, or - for stdin",
        )
    if path.lower().endswith(".npy"):
        return _as_dtype(_load_npy(path), path, dt), ()
    return _parse_text(_read_text(path), path, dt)


def load_weights(path: str, dtype: str = "float32") -> tuple[np.ndarray, np.ndarray | None]:
    """weight (out × in) and bias (out,) or None from an .npz with arrays "weight", "bias".

    These are the names of ``nn.Linear``'s state_dict, saved with
    ``np.savez(path, **{k: v.numpy() for k, v in layer.state_dict().items()})``.
    """
    dt = numpy_dtype(dtype)
    hint = "save them with np.savez(path, weight=W, bias=b) (bias is optional)"
    _check_file(path, MAX_FILE_BYTES)
    if not zipfile.is_zipfile(path):
        raise LinexplainError(f"{path} is not an .npz archive", hint)
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            if "weight" not in names or names - {"weight", "bias"}:
                found = ", ".join(sorted(names))
                raise LinexplainError(f"{path} holds {found}; expected weight (and bias)", hint)
            arrays = {}
            for name in sorted(names):
                size = npz.zip.getinfo(f"{name}.npy").file_size  # uncompressed
                if size > MAX_FILE_BYTES:
                    raise LinexplainError(
                        f"{path}: array {name!r} is larger than {MAX_FILE_BYTES} bytes",
                        "use smaller weights",
                    )
                with npz.zip.open(f"{name}.npy") as f:
                    _check_header(f, size, f"{path}:{name}")
                arrays[name] = _as_dtype(npz[name], f"{path}:{name}", dt)
    except LinexplainError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise LinexplainError(f"{path} is not a readable .npz file: {e}", hint) from None
    weight, bias = arrays["weight"], arrays.get("bias")
    if weight.ndim != 2:
        raise LinexplainError(
            f"{path}: weight has shape {weight.shape}; it must be 2-D (out_features, in_features)",
            hint,
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise LinexplainError(
            f"{path}: bias has shape {bias.shape}, weight has {weight.shape[0]} outputs",
            f"save a bias of shape ({weight.shape[0]},)",
        )
    return weight, bias


def _refuse_constant(what: str) -> Callable[[str], float]:
    """json's hook for NaN, Infinity and -Infinity, which JSON itself does not allow."""

    def refuse(name: str) -> float:
        raise LinexplainError(f"{what} contains {name}", "use finite numbers only")

    return refuse


def _shape_of(data: object, what: str) -> tuple[int, ...]:
    """The shape of nested lists of numbers, checked level by level."""
    shape: list[int] = []
    level = [data]
    while level and all(type(item) is list for item in level):
        lists = cast(list[list[object]], level)  # just checked
        lengths = [len(item) for item in lists]
        for i, n in enumerate(lengths):
            if n != lengths[0]:
                noun = "item" if any(type(v) is list for v in lists[0]) else "number"
                raise LinexplainError(
                    f"{_where(what, shape, i, row=True)} has {n} {noun}{'s' * (n != 1)}, "
                    f"{_where(what, shape, 0, row=True)} has {lengths[0]}",
                    f"make every row the same length, e.g. {EXAMPLE}",
                )
        shape.append(lengths[0])
        if len(shape) > MAX_DIMS:
            raise LinexplainError(
                f"{what} has more than {MAX_DIMS} dimensions", f"use at most {MAX_DIMS}"
            )
        level = [item for items in lists for item in items]
        if len(level) > MAX_ELEMENTS:
            raise LinexplainError(
                f"{what} has more than {MAX_ELEMENTS} numbers", "give a smaller array"
            )
    for i, item in enumerate(level):
        if type(item) is list:  # lists mixed with other things at one level
            j = next(j for j, other in enumerate(level) if type(other) is not list)
            raise LinexplainError(
                f"{_where(what, shape, i)} is a list but {_where(what, shape, j)} is not",
                f"nest the lists evenly, e.g. {EXAMPLE}",
            )
        if type(item) not in (int, float):  # bool, str, None or dict
            raise LinexplainError(
                f"{_where(what, shape, i)} is {json.dumps(item)[:20]}, not a number",
                f"write only numbers, e.g. {EXAMPLE}",
            )
    return tuple(shape)


def _where(what: str, shape: list[int], flat: int, row: bool = False) -> str:
    """Name the flat-th item below shape: "x", "x[1][0]", or as a row "row 2 (x[1])"."""
    index = "".join(f"[{int(i)}]" for i in np.unravel_index(flat, shape)) if shape else ""
    return f"row {flat + 1} ({what}{index})" if row and len(shape) == 1 else f"{what}{index}"


def _as_dtype(values: np.ndarray, what: str, dt: np.dtype) -> np.ndarray:
    """values as a C-ordered array of dt; non-numeric or non-finite values are refused."""
    if values.dtype.kind not in "iuf":
        raise LinexplainError(
            f"{what} has dtype {values.dtype}, not real numbers", "store float or int numbers"
        )
    with np.errstate(over="ignore"):
        out = values.astype(dt, order="C")
    bad = ~np.isfinite(out)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise LinexplainError(
            f"{what}{list(index) if index else ''} is {values[index]}, which is not a finite "
            f"{dt.name}",
            "use finite numbers within the dtype's range",
        )
    return out


def _parse_text(text: str, what: str, dt: np.dtype) -> tuple[np.ndarray, tuple[str, ...]]:
    """JSON if the text starts with "[", else a table of numbers; and what was skipped."""
    text = text.removeprefix("\ufeff")  # the byte-order mark spreadsheets write
    if text.lstrip().startswith("["):
        return parse_array(text, what, dt.name), ()
    _check_text_size(text, what)
    header, rows = _table(text, what)
    values = np.array(rows, dtype=np.float64)
    notes: list[str] = []
    if header is not None:
        line_no, names = header
        notes.append(f"{what}: skipped line {line_no}, a header ({_names(names)})")
        if names[0] == "" and len(names) > 1:  # pandas' unnamed index, from df.to_csv(path)
            _check_row_index([row[0] for row in rows], what, line_no)
            values = values[:, 1:]
            notes.append(
                f"{what}: skipped column 1, pandas' row index 0 to {len(rows) - 1} "
                "(its name is empty in the header)"
            )
    return _as_dtype(values, what, dt), tuple(notes)


def _table(text: str, what: str) -> tuple[tuple[int, list[str]] | None, list[list[str]]]:
    """The header (its line number and names) if there is one, and the rows of number fields."""
    header: tuple[int, list[str]] | None = None
    rows: list[list[str]] = []
    first = True
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if first:
            names = _header_names(line, f"{what} line {line_no}")
            if not any(map(_is_number, names)):
                header, first = (line_no, names), False
                continue
        fields = _SEPARATOR.split(line.strip())
        for column, field in enumerate(fields, 1):
            if not _NUMBER.fullmatch(field):
                raise LinexplainError(
                    f"{what} line {line_no}, column {column}: {field[:20]!r} is not a number",
                    "write numbers separated by commas or spaces, one row per line"
                    + ("; a header (the first line) holds only names" if first else ""),
                )
        first = False
        if rows and len(fields) != len(rows[0]):
            raise LinexplainError(
                f"{what} row {len(rows) + 1} (line {line_no}) has {len(fields)} numbers, "
                f"row 1 has {len(rows[0])}",
                "give every row the same number of values",
            )
        if header and not rows and len(fields) != len(header[1]):
            raise LinexplainError(
                f"{what}: the header (line {header[0]}) has {len(header[1])} names, "
                f"row 1 (line {line_no}) has {len(fields)} numbers",
                "give the header one name per column, or remove it",
            )
        rows.append(fields)
    if header and not rows:
        raise LinexplainError(
            f"{what} has no numbers below its header (line {header[0]})",
            "write rows of numbers below the header, one per line",
        )
    if not rows:
        raise LinexplainError(f"{what} has no numbers", "write one row of numbers per line")
    return header, rows


def _check_row_index(index: list[str], what: str, header_line: int) -> None:
    """The first column under an unnamed header field must be pandas' row numbers 0, 1, ..."""
    wrong = next((i for i, v in enumerate(index) if v != str(i)), None)
    if wrong is not None:
        raise LinexplainError(
            f"{what}: the header (line {header_line}) leaves column 1 unnamed, as pandas does "
            f"for its index, but row {wrong + 1} has {index[wrong][:20]!r} there, not {wrong}",
            "save the table with df.to_csv(path, index=False), or name column 1",
        )


def _is_number(field: str) -> bool:
    """Whether a field reads as a number, in a table or to Python (nan, inf, 1_000 do)."""
    if _NUMBER.fullmatch(field):
        return True
    try:
        float(field)
    except ValueError:
        return False
    return True


def _header_names(line: str, where: str) -> list[str]:
    """The fields of a first line as header names: split on commas (CSV quoting allowed) if
    it has any, else on spaces."""
    if "," not in line:
        return line.split()
    try:
        return [name.strip() for name in next(csv.reader([line.strip()]))]
    except csv.Error as e:  # a field over csv's size limit
        raise LinexplainError(
            f"{where} is not a header csv can read: {e}",
            "shorten the header's names, or remove the header",
        ) from None


def _names(names: list[str]) -> str:
    """Header names for a note: shortened, escaped, the middle of a long header elided."""

    def show(name: str) -> str:
        short = name if len(name) <= 20 else name[:17] + "..."
        return short if short.isprintable() and short else repr(short)

    return ", ".join("..." if i is None else show(names[i]) for i in shown_indices(len(names)))


def _check_text_size(text: str, what: str) -> None:
    if len(text) > MAX_TEXT_BYTES:
        raise LinexplainError(
            f"{what} is longer than {MAX_TEXT_BYTES} characters",
            "save large arrays as .npy with np.save",
        )


def _check_file(path: str, limit: int) -> int:
    """The size of a regular file of at most limit bytes."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise LinexplainError(f"{path} does not exist", "check the path") from None
    except OSError as e:
        raise LinexplainError(f"cannot read {path}: {e.strerror}", "check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise LinexplainError(f"{path} is a directory", "give a file")
    if not stat.S_ISREG(info.st_mode):
        raise LinexplainError(f"{path} is not a regular file", "save the data to a file first")
    size = info.st_size
    if size > limit:
        raise LinexplainError(
            f"{path} is {size} bytes, more than the limit of {limit}",
            "give a smaller file",
        )
    return size


def _read_text(path: str) -> str:
    _check_file(path, MAX_TEXT_BYTES)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(MAX_TEXT_BYTES + 1)  # the file may have grown since the check
    except UnicodeDecodeError:
        raise LinexplainError(f"{path} is not UTF-8 text", "save it as plain text") from None
    except OSError as e:
        raise LinexplainError(f"cannot read {path}: {e.strerror}", "check the path") from None


def _load_npy(path: str) -> np.ndarray:
    """A .npy array, its header checked before the data is read."""
    size = _check_file(path, MAX_FILE_BYTES)
    try:
        with open(path, "rb") as f:
            _check_header(f, size, path)
        return np.load(path, allow_pickle=False)
    except LinexplainError:
        raise
    except (OSError, ValueError, EOFError) as e:
        raise LinexplainError(f"{path} is not a valid .npy file: {e}", _NPY_HINT) from None


def _check_header(f: BinaryIO, size: int, what: str) -> None:
    """Check a .npy header: numbers, not objects; no more data than the size holds."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:
        raise LinexplainError(f"{what} holds Python objects, not numbers", _NPY_HINT)
    if len(shape) > MAX_DIMS or math.prod(shape) > MAX_ELEMENTS:
        raise LinexplainError(
            f"{what} has shape {shape}: over {MAX_DIMS} dimensions or {MAX_ELEMENTS} numbers",
            "give a smaller array",
        )
    if math.prod(shape) * dtype.itemsize > size - f.tell():
        raise LinexplainError(f"{what} is truncated: its header promises more data", _NPY_HINT)


def save_array(path: str, array: np.ndarray) -> None:
    """Write an array to an .npy file (never pickled), exactly at ``path``."""
    if not path.lower().endswith(".npy"):
        raise LinexplainError(f"--save {path!r} is not an .npy path", "name it like y.npy")
    try:
        with open(path, "wb") as file:  # a file object: np.save would append .npy to Y.NPY
            np.save(file, array, allow_pickle=False)
    except OSError as error:
        raise LinexplainError(
            f"--save {path!r}: {error.strerror or error}", "choose a writable path"
        ) from None
