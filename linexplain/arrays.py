"""Safe array input: JSON literals, .npy/.csv/.txt/.json files, stdin, and .npz weights.

Nothing is evaluated or unpickled: JSON goes through ``json``, NumPy files through
``np.load(..., allow_pickle=False)`` after their header has been checked. Every problem
raises ``LinexplainError`` saying what is wrong and where. Limits, checked before the
work: text of at most ``MAX_TEXT_BYTES``, binary files of at most ``MAX_FILE_BYTES``,
at most ``MAX_ELEMENTS`` numbers and ``MAX_DIMS`` dimensions, and the memory limit
``max_bytes`` (``--max-memory``; by default a quarter of the machine's memory): what a file
claims, a .npy header's shape, an .npz member's uncompressed size and header, a text file's
size, is counted against it before the data is read (see :mod:`linexplain.memory`).

Files are opened without blocking (``O_NONBLOCK``) and checked once open, through any link:
only regular files are read, and no more bytes than their size; a FIFO, a device or a socket
is refused before any read.

A table (text that is not JSON) is one row per line, numbers separated by commas or spaces.
It is checked and parsed by NumPy a chunk at a time, never a Python object per number; a
problem found there is then located and worded line by line, as is any table with unusual
characters (other line breaks, non-ASCII text below the header). JSON is parsed by ``json``
after the Python objects it will make were counted from its text.

A table may start with a header, as ``df.to_csv(path, index=False)`` writes one: a first
non-blank line in which no field is a number. It is skipped, and :func:`read_array` says so.
The unnamed first column that ``df.to_csv(path)`` adds (a header starting with an empty name)
is skipped too when it holds the row numbers 0, 1, 2, ..., and refused otherwise.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import os
import re
import stat
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

import numpy as np

from linexplain import memory
from linexplain.elide import shown_indices
from linexplain.errors import LinexplainError
from linexplain.files import open_regular, refuse_special
from linexplain.torch_rng import numpy_dtype

MAX_TEXT_BYTES = 64 * 2**20
MAX_FILE_BYTES = 2**30
MAX_ELEMENTS = 2**27
MAX_DIMS = 16
MAX_NPZ_MEMBERS = 64  # an .npz of weights holds two; its directory is read before its names
NPY_MAX_HEADER = 10_000  # NumPy's own limit (np.lib.format's max_header_size)
EXAMPLE = "[[1, 2, 3], [4, 5, 6]]"
ARRAY_SUFFIXES = (".npy", ".csv", ".txt", ".json")  # what load_array reads
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_SEPARATOR = re.compile(r"\s*,\s*|\s+", re.ASCII)  # a comma (spaces around it allowed) or spaces
_NPY_HINT = "save it with np.save(path, array) from an array of numbers"
_FILE_HINT = "give a .npy, .csv, .txt or .json file, or - for stdin"
_BOM = b"\xef\xbb\xbf"


def parse_array(
    text: str, what: str, dtype: str = "float32", max_bytes: int | None = None, *, held: int = 0
) -> np.ndarray:
    """The array written as a JSON literal: a number or nested lists of numbers.

    The Python objects ``json`` will make are counted from the text first, and refused over
    ``max_bytes`` (default: the default memory limit) with ``held`` bytes held already.
    """
    return _parse_json(text, what, numpy_dtype(dtype), memory.Budget.of(max_bytes, held))


def _parse_json(text: str, what: str, dt: np.dtype, budget: memory.Budget) -> np.ndarray:
    """parse_array within a budget."""
    _check_text_size(text, what)
    items = text.count(",") + 1
    budget.check(
        sys.getsizeof(text) + memory.json_parse_bytes(text) + items * (16 + dt.itemsize),
        "its JSON text as Python objects, then as an array",
        what,
    )
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
    if isinstance(data, dict):
        shown = _short_json(data, 24)
        shown = shown if len(shown) <= 20 else shown[:17] + "..."
        raise LinexplainError(
            f"{what} holds a JSON object ({shown}), not an array of numbers",
            f"write nested lists of numbers, e.g. {EXAMPLE}",
        )
    shape = _shape_of(data, what)
    try:
        values = np.array(data, dtype=np.float64)
    except OverflowError:  # an integer literal beyond float64
        raise LinexplainError(
            f"{what} has a number too large for {dt.name}", "use numbers of a sensible size"
        ) from None
    del data  # the Python objects, before the cast
    return _as_dtype(values.reshape(shape), what, dt)


def is_array_file(path: str) -> bool:
    """Whether ``path`` names a file ``load_array`` reads (its suffix, in any case)."""
    return os.path.splitext(path)[1].lower() in ARRAY_SUFFIXES


def load_array(path: str, dtype: str = "float32", max_bytes: int | None = None) -> np.ndarray:
    """The array in a .npy, .csv, .txt or .json file, or in stdin text when path is "-".

    :func:`read_array` without its notes.
    """
    return read_array(path, dtype, max_bytes)[0]


def read_array(
    path: str, dtype: str = "float32", max_bytes: int | None = None, *, held: int = 0
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The array in a .npy, .csv, .txt or .json file (or stdin when path is "-"), and notes.

    Text that starts with "[" (or "{"), and every .json file, is JSON; other text is a table,
    one row per line with numbers separated by commas or whitespace (a table is always 2-D),
    perhaps under a header line. The notes say what was skipped to read it, one sentence each,
    such as ``"x.csv: skipped line 1, a header (a, b, c)"``; they are empty for .npy and JSON.
    What reading needs is checked before against ``max_bytes`` (default: the default memory
    limit), beside ``held`` bytes the caller holds already (arrays read before).
    """
    dt = numpy_dtype(dtype)
    budget = memory.Budget.of(max_bytes, held)
    if path == "-":
        return _parse_text(_read_stdin(budget), "stdin", dt, budget, json_only=False)
    if not path:
        raise LinexplainError("the file name is empty", _FILE_HINT)
    if not is_array_file(path):
        ext = os.path.splitext(path)[1]
        raise LinexplainError(
            f"{path}: unsupported file type {ext or '(no extension)'!r}", _FILE_HINT
        )
    if path.lower().endswith(".npy"):
        return _load_npy(path, dt, budget), ()
    data = _read_text(path, budget)
    return _parse_text(data, path, dt, budget, json_only=path.lower().endswith(".json"))


def load_weights(
    path: str, dtype: str = "float32", max_bytes: int | None = None, *, held: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """weight (out × in) and bias (out,) or None from an .npz with arrays "weight", "bias".

    These are the names of ``nn.Linear``'s state_dict, saved with
    ``np.savez(path, **{k: v.numpy() for k, v in layer.state_dict().items()})``. The archive's
    directory, each member's uncompressed size and .npy header are checked, against
    ``max_bytes`` too (default: the default memory limit; ``held`` bytes are held already),
    before its data is read.
    """
    dt = numpy_dtype(dtype)
    budget = memory.Budget.of(max_bytes, held)
    hint = "save them with np.savez(path, weight=W, bias=b) (bias is optional)"
    if not path:
        raise LinexplainError("the file name is empty", "give an .npz file of weight and bias")
    file, size = open_regular(path)
    with file:
        _check_size(path, size, MAX_FILE_BYTES)
        if not zipfile.is_zipfile(file):
            raise LinexplainError(f"{path} is not an .npz archive", hint)
        members = _zip_members(file, size)
        if members > MAX_NPZ_MEMBERS:
            raise LinexplainError(
                f"{path} holds {members:,} files; expected weight (and bias)", hint
            )
        file.seek(0)
        arrays = _read_npz(file, path, dt, budget, hint)
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


def load_npz(
    path: str, dtype: str = "float32", max_bytes: int | None = None, *, held: int = 0
) -> dict[str, np.ndarray]:
    """Every array of an .npz (a state_dict), by name: the archive's directory, each member's
    uncompressed size and .npy header checked, against ``max_bytes`` too, before any data."""
    dt = numpy_dtype(dtype)
    hint = "save it with np.savez(path, **state_dict) of NumPy arrays"
    if not path:
        raise LinexplainError("the file name is empty", "give an .npz file")
    file, size = open_regular(path)
    with file:
        _check_size(path, size, MAX_FILE_BYTES)
        if not zipfile.is_zipfile(file):
            raise LinexplainError(f"{path} is not an .npz archive", hint)
        if _zip_members(file, size) > MAX_NPZ_MEMBERS:
            raise LinexplainError(
                f"{path} holds more than {MAX_NPZ_MEMBERS} files", "give a smaller state_dict"
            )
        file.seek(0)
        return _read_npz(file, path, dt, memory.Budget.of(max_bytes, held), hint, None)


def _read_npz(
    file: BinaryIO,
    path: str,
    dt: np.dtype,
    budget: memory.Budget,
    hint: str,
    expected: set[str] | None = frozenset({"weight", "bias"}),  # type: ignore[assignment]
) -> dict[str, np.ndarray]:
    """The arrays of an open .npz: names (``expected``, None for any), sizes and headers
    checked before any data is read."""
    try:
        with np.load(file, allow_pickle=False) as npz:
            names = set(npz.files)
            if expected is not None and ("weight" not in names or names - expected):
                found = ", ".join(sorted(names))
                raise LinexplainError(f"{path} holds {found}; expected weight (and bias)", hint)
            needed = 0
            for name in sorted(names):
                size = npz.zip.getinfo(f"{name}.npy").file_size  # uncompressed, as claimed
                if size > MAX_FILE_BYTES:
                    raise LinexplainError(
                        f"{path}: array {name!r} is larger than {MAX_FILE_BYTES} bytes",
                        "use smaller weights",
                    )
                before = f"; the arrays before it: {needed:,}" if needed else ""
                budget.check(needed + size, f"array {name!r} unpacked: {size:,}{before}", path)
                with npz.zip.open(f"{name}.npy") as member:
                    header = _check_header(member, size, f"{path}:{name}")
                needed += _npy_cost(header, dt)
                budget.check(needed, _npy_what(header, dt, f"array {name!r}"), path)
            # the reads: np.load reads a member in chunks into one array
            return {name: _as_dtype(npz[name], f"{path}:{name}", dt) for name in sorted(names)}
    except LinexplainError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise LinexplainError(f"{path} is not a readable .npz file: {_one_line(e)}", hint) from None


def _zip_members(file: BinaryIO, size: int) -> int:
    """How many files a zip's end record says it holds (zip64's count when it has one)."""
    tail = min(size, 22 + 0xFFFF)
    file.seek(size - tail)
    data = file.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(data):
        return 0
    count = int.from_bytes(data[at + 10 : at + 12], "little")
    locator = at - 20
    if count == 0xFFFF and locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
        file.seek(int.from_bytes(data[locator + 8 : locator + 16], "little"))
        record = file.read(56)
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            count = int.from_bytes(record[32:40], "little")
    return count


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
                f"{_where(what, shape, i)} is {_short_json(item)}, not a number",
                f"write only numbers, e.g. {EXAMPLE}",
            )
    return tuple(shape)


def _short_json(item: object, most: int = 20) -> str:
    """The first ``most`` characters of ``item`` as JSON, written no further than that."""
    text = ""
    for piece in json.JSONEncoder().iterencode(item):
        text += piece[: most - len(text)]
        if len(text) >= most:
            break
    return text


def _where(what: str, shape: list[int], flat: int, row: bool = False) -> str:
    """Name the flat-th item below shape: "x", "x[1][0]", or as a row "row 2 (x[1])"."""
    index = "".join(f"[{int(i)}]" for i in np.unravel_index(flat, shape)) if shape else ""
    return f"row {flat + 1} ({what}{index})" if row and len(shape) == 1 else f"{what}{index}"


def _as_dtype(values: np.ndarray, what: str, dt: np.dtype) -> np.ndarray:
    """values as a C-ordered array of dt (itself when it is one); non-numeric or non-finite
    values are refused."""
    if values.dtype.kind not in "iuf":
        raise LinexplainError(
            f"{what} has dtype {values.dtype}, not real numbers", "store float or int numbers"
        )
    with np.errstate(over="ignore"):
        out = np.asarray(values, dtype=dt, order="C")
    if not np.isfinite(out).all():
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        raise LinexplainError(
            f"{what}{list(index) if index else ''} is {values[index]}, which is not a finite "
            f"{dt.name}",
            "use finite numbers within the dtype's range",
        )
    return out


# --- files and stdin: opened without blocking, read within their size ------------------------


def _check_size(path: str, size: int, limit: int) -> None:
    if size > limit:
        raise LinexplainError(
            f"{path} is {size} bytes, more than the limit of {limit}", "give a smaller file"
        )


def _read_all(file: BinaryIO, size: int, path: str) -> bytes:
    """The file's ``size`` bytes, and no more: a file that is not what its size says (it grew,
    shrank, or streams like those of /proc) is refused."""
    try:
        data = file.read(size + 1)
    except BlockingIOError:
        data = None
    except OSError as e:
        raise LinexplainError(f"cannot read {path}: {e.strerror}", "check the path") from None
    if data is None or len(data) != size:
        gave = "no data" if data is None else f"{len(data)} byte{'s' * (len(data) != 1)}"
        raise LinexplainError(
            f"{path} is not a plain file: it gave {gave} for a size of {size}",
            "copy the data into a regular file first",
        )
    return data


def _read_text(path: str, budget: memory.Budget) -> bytes:
    """A text file's bytes: its size checked against the limits before it is read."""
    file, size = open_regular(path)
    with file:
        _check_size(path, size, MAX_TEXT_BYTES)
        budget.check(size, "its text", path)
        return _read_all(file, size, path)


def _read_stdin(budget: memory.Budget) -> bytes:
    """stdin's bytes, at most MAX_TEXT_BYTES (and the memory limit) of them."""
    most = min(MAX_TEXT_BYTES, max(budget.limit - budget.held, 0))
    stream = sys.stdin
    try:
        if stream is None or stream.closed:
            raise OSError(9, "Bad file descriptor")
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            data = buffer.read(most + 1)
        else:  # a text stream with no bytes below it (a StringIO in tests)
            data = stream.read(most + 1).encode("utf-8", "surrogatepass")
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise LinexplainError(
            f"cannot read stdin: {reason} (is it closed?)",
            "pipe the array in, e.g. cat x.csv | linexplain run --out 2 --input-file -",
        ) from None
    if len(data) > MAX_TEXT_BYTES:
        raise LinexplainError(
            f"stdin is longer than {MAX_TEXT_BYTES} characters",
            "save large arrays as .npy with np.save",
        )
    if len(data) > most:
        budget.check(len(data), "its text so far, and there is more", "stdin")
    return data


def _one_line(error: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(error).split())


# --- .npy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype


def _load_npy(path: str, dt: np.dtype, budget: memory.Budget) -> np.ndarray:
    """A .npy array, its header checked (against the memory limit too) before the data is read."""
    file, size = open_regular(path)
    with file:
        _check_size(path, size, MAX_FILE_BYTES)
        try:
            if size == 0:
                raise ValueError("it is empty")
            header = _check_header(file, size, path)
            budget.check(_npy_cost(header, dt), _npy_what(header, dt), path)
            file.seek(0)
            array = np.load(file, allow_pickle=False)
        except LinexplainError:
            raise
        except (OSError, ValueError, EOFError) as e:
            raise LinexplainError(
                f"{path} is not a valid .npy file: {_one_line(e)}", _NPY_HINT
            ) from None
    return _as_dtype(array, path, dt)


def _npy_cost(header: _Header, dt: np.dtype) -> int:
    """Bytes of reading a .npy array of this header as ``dt``."""
    converts = header.dtype != dt or (header.fortran and len(header.shape) > 1)
    return memory.npy_read_bytes(
        math.prod(header.shape), header.dtype.itemsize, dt.itemsize, converts
    )


def _npy_what(header: _Header, dt: np.dtype, name: str = "its array") -> str:
    shape = "(" + ", ".join(map(str, header.shape)) + ("," if len(header.shape) == 1 else "") + ")"
    cast_to = "" if header.dtype == dt else f", cast to {dt.name}"
    if not cast_to and header.fortran and len(header.shape) > 1:
        cast_to = ", copied to C order"
    return f"{name} of shape {shape} in {header.dtype}{cast_to}, and a finite check"


def _check_header(f: BinaryIO, size: int, what: str) -> _Header:
    """Check a .npy header: small, of real numbers, no more data than the size holds."""
    version = np.lib.format.read_magic(f)
    length_bytes = f.read(2 if version == (1, 0) else 4)
    length = int.from_bytes(length_bytes, "little")
    if length > NPY_MAX_HEADER:
        raise LinexplainError(
            f"{what} has a header of {length:,} bytes, over NumPy's limit of {NPY_MAX_HEADER:,}",
            "save the array again with np.save: a plain array's header is about 128 bytes",
        )
    f.seek(f.tell() - len(length_bytes))
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:
        raise LinexplainError(f"{what} holds Python objects, not numbers", _NPY_HINT)
    if len(shape) > MAX_DIMS or math.prod(shape) > MAX_ELEMENTS:
        raise LinexplainError(
            f"{what} has shape {shape}: over {MAX_DIMS} dimensions or {MAX_ELEMENTS} numbers",
            "give a smaller array",
        )
    if dtype.kind not in "iuf":
        raise LinexplainError(
            f"{what} has dtype {dtype}, not real numbers", "store float or int numbers"
        )
    if math.prod(shape) * dtype.itemsize > size - f.tell():
        raise LinexplainError(f"{what} is truncated: its header promises more data", _NPY_HINT)
    return _Header(tuple(shape), fortran, dtype)


def save_array(path: str, array: np.ndarray) -> None:
    """Write an array to an .npy file (never pickled), exactly at ``path``: a regular file
    (created, or replaced); a FIFO, a device or a directory is refused without blocking."""
    if not path.lower().endswith(".npy"):
        raise LinexplainError(f"--save {path!r} is not an .npy path", "name it like y.npy")
    hint = "choose a writable path to a regular file"
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None  # a new file (or an unreachable path, which the open reports)
    if mode is not None and not stat.S_ISREG(mode):
        try:
            refuse_special(path, mode)
        except LinexplainError as error:
            raise LinexplainError(f"--save {error.message}", hint) from None
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as error:
        raise LinexplainError(f"--save {path!r}: {error.strerror or error}", hint) from None
    with os.fdopen(fd, "wb") as file:  # a file object: np.save would append .npy to Y.NPY
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped in since the check
            try:
                refuse_special(path, mode)
            except LinexplainError as error:
                raise LinexplainError(f"--save {error.message}", hint) from None
        try:
            np.save(file, array, allow_pickle=False)
        except OSError as error:
            raise LinexplainError(f"--save {path!r}: {error.strerror or error}", hint) from None


# --- text: JSON, or a table ----------------------------------------------------------------


def _parse_text(
    data: bytes, what: str, dt: np.dtype, budget: memory.Budget, json_only: bool
) -> tuple[np.ndarray, tuple[str, ...]]:
    """JSON if the text starts with "[" or "{" (or is a .json file), else a table of numbers;
    and what was skipped."""
    data = data.removeprefix(_BOM)  # the byte-order mark spreadsheets write
    first = re.search(rb"\S", data)
    opener = data[first.start() : first.start() + 1] if first else b""
    if json_only or opener in (b"[", b"{"):
        return _parse_json(_decode(data, what), what, dt, budget.more(len(data))), ()
    if len(data) > MAX_TEXT_BYTES:
        raise LinexplainError(
            f"{what} is longer than {MAX_TEXT_BYTES} characters",
            "save large arrays as .npy with np.save",
        )
    return _table(data, what, dt, budget)


def _check_utf8(data: bytes, what: str) -> None:
    """Refuse bytes that are not UTF-8, decoding a chunk at a time (no copy of the whole)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), memory.TABLE_CHUNK):
            decoder.decode(data[start : start + memory.TABLE_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise LinexplainError(f"{what} is not UTF-8 text", "save it as plain text") from None


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise LinexplainError(f"{what} is not UTF-8 text", "save it as plain text") from None


def _check_text_size(text: str, what: str) -> None:
    if len(text) > MAX_TEXT_BYTES:
        raise LinexplainError(
            f"{what} is longer than {MAX_TEXT_BYTES} characters",
            "save large arrays as .npy with np.save",
        )


# The fast path splits a table's lines at "\n" only (after "\r\n" and "\r" became "\n"); the
# other line breaks of str.splitlines send a first line to the line-by-line path, and below it
# they are bytes the fast path does not take (as is any non-ASCII byte).
_OTHER_BREAKS = re.compile("[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_NOT_BLANK = re.compile(rb"[^ \t\n]")
_COMMAS_TO_SPACES = bytes.maketrans(b",", b" ")
_SEPARATORS = (b" ", b"\t", b",", b"\n")
# Byte classes: 0 anything else, 1 a number's characters, 2 space or tab, 3 comma, 4 newline.
_FIELD, _SPACE, _COMMA, _NEWLINE = 1, 2, 3, 4
_CLASS = np.zeros(256, np.uint8)
_CLASS[np.frombuffer(b"0123456789.eE+-", np.uint8)] = _FIELD
_CLASS[np.frombuffer(b" \t", np.uint8)] = _SPACE
_CLASS[ord(",")] = _COMMA
_CLASS[ord("\n")] = _NEWLINE
# A line whose first field is not a row number written as str(i) writes it (0, 1, 2, ...).
_NOT_ROW_NUMBER = re.compile(rb"(?m)^[ \t]*(?!(?:0|[1-9][0-9]*)[ \t,])(?=[^ \t\n])")
# A line and its end, as str.splitlines splits them.
_BREAKS = "\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029"
_LINE = re.compile(f"([^{_BREAKS}]*)(\r\n|[{_BREAKS}]|\\Z)")


@dataclass
class _Scan:
    """Where a table scan stands: the header, the rows so far, the first row's length."""

    what: str
    budget: memory.Budget
    header: tuple[int, list[str]] | None = None
    rows: int = 0
    width: int = 0
    first: bool = True  # no non-blank line seen yet (the next one may be a header)
    index_error: tuple[int, str] | None = None  # the first row whose column 1 is not its number

    @property
    def has_index(self) -> bool:
        """Whether column 1 is pandas' unnamed index (the header's first name is empty)."""
        return self.header is not None and self.header[1][0] == "" and len(self.header[1]) > 1

    def header_of(self, line: str, line_no: int) -> list[str] | None:
        """A first line's names if it is a header (no field is a number), else None. A line
        whose first field is a number is not split at all; names are checked for their cost
        first (one Python string each, a few dozen bytes)."""
        stripped = line.strip()
        if not stripped.startswith('"'):  # else csv's quoting decides where the field ends
            first = stripped.split(",", 1)[0].strip() if "," in line else stripped.split(None, 1)[0]
            if _is_number(first):
                return None
        names = line.count(",") + line.count(" ") + line.count("\t") + 1
        needed = sys.getsizeof(line) + 64 * names
        self.budget.check(needed, "its first line's names", self.what)
        found = _header_names(line, f"{self.what} line {line_no}")
        return None if any(map(_is_number, found)) else found


@dataclass(frozen=True)
class _Layout:
    """A checked table body: its chunks (start, stop, fields, rows before), rows, row length."""

    chunks: list[tuple[int, int, int, int]]
    rows: int
    width: int


def _table(
    data: bytes, what: str, dt: np.dtype, budget: memory.Budget
) -> tuple[np.ndarray, tuple[str, ...]]:
    """A table of numbers, and notes on what was skipped: by NumPy a chunk at a time when the
    text allows it, else line by line."""
    if b"\r" in data:  # "\r\n" and a lone "\r" each end a line, as str.splitlines says
        budget.check(3 * len(data), "its text, its line ends made \\n", what)
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not data.isascii():
        _check_utf8(data, what)
    scan = _Scan(what, budget)
    fast = _fast_table(data, scan, dt)
    if fast is None:
        scan = _Scan(what, budget)
        text = _decode(data, what)
        budget.check(len(data) + sys.getsizeof(text), "its text", what)
        values = _slow_table(text, scan, dt, held=len(data))
    else:
        values = fast
    notes: list[str] = []
    if scan.header is not None:
        line_no, names = scan.header
        notes.append(f"{what}: skipped line {line_no}, a header ({_names(names)})")
        if scan.has_index:
            values = values[:, 1:]
            notes.append(
                f"{what}: skipped column 1, pandas' row index 0 to {scan.rows - 1} "
                "(its name is empty in the header)"
            )
    return _as_dtype(values, what, dt), tuple(notes)


def _fast_table(data: bytes, scan: _Scan, dt: np.dtype) -> np.ndarray | None:
    """The table as an array of ``dt``, checked and parsed by NumPy; None when its text needs
    the line-by-line path. A problem is located here, and worded as that path words it."""
    first = _NOT_BLANK.search(data)
    if first is None:
        raise _no_rows(scan)
    start = data.rfind(b"\n", 0, first.start()) + 1
    end = data.find(b"\n", start)
    end = len(data) if end < 0 else end
    body = start
    if not _first_field_is_number(data, first.start(), end):  # else no header: no need to split
        try:
            line = data[start:end].decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not line.strip() or _OTHER_BREAKS.search(line):  # Python splits or strips it otherwise
            return None
        line_no = data.count(b"\n", 0, start) + 1
        names = scan.header_of(line, line_no)
        if names is not None:
            scan.header, scan.first = (line_no, names), False
            body = min(end + 1, len(data))
    layout = _layout(data, body, len(data), _header_width(scan))
    if isinstance(layout, int):  # a problem at that byte: or a field before it that is no number
        _raise_first(data, body, layout, scan)
        return None
    if not layout.rows:
        raise _no_rows(scan)
    numbers, width = layout.rows * layout.width, layout.width
    scan.budget.check(
        memory.table_parse_bytes(len(data), numbers, dt.itemsize, copies=1 + scan.has_index),
        f"its text, and {numbers:,} numbers parsed in {dt.name}",
        scan.what,
    )
    values = np.empty(numbers, dt)
    done = 0
    index_row = not_finite = None  # the first row not numbered right, the first inf or nan
    for begin, stop, count, _ in layout.chunks:
        if not count:
            continue
        part = _parse_chunk(data[begin:stop])  # float64, as Python reads each number
        if part is None or part.size != count:  # a field that is not a number
            _raise_at(data, body, begin, scan, until=stop)
            return None
        with np.errstate(over="ignore"):
            values[done : done + count] = part  # cast once, as np.array(...).astype(dt)
        if scan.has_index and index_row is None:
            offset = (-done) % width  # where column 1 of the next row is in this part
            numbered = part[offset::width]
            expected = np.arange(numbered.size) + (done + offset) // width
            wrong = np.flatnonzero(numbered != expected)
            index_row = int(expected[wrong[0]]) if wrong.size else None
        if not_finite is None:
            finite = np.isfinite(values[done : done + count])
            if scan.has_index:
                finite[(-done) % width :: width] = True  # column 1 is dropped before the check
            if not finite.all():
                i = int(np.argmin(finite))
                not_finite = (done + i, float(part[i]))
        done += count
    table = values.reshape(layout.rows, width)
    scan.rows, scan.width = layout.rows, width
    if scan.has_index:  # column 1 must be 0, 1, 2, ... written as str(i) writes them
        wrong_text = _NOT_ROW_NUMBER.search(data, body)
        rows = [] if index_row is None else [index_row]
        if wrong_text is not None:
            before = _layout(data, body, wrong_text.start(), width)
            assert isinstance(before, _Layout)
            rows.append(before.rows)
        if rows:
            begin, stop = max((b, e) for b, e, _, before_ in layout.chunks if before_ <= min(rows))
            _raise_at(data, body, begin, scan, until=stop, index_only=True)
            return None
    if not_finite is not None:
        flat, value = not_finite
        row, col = divmod(flat, width)
        raise LinexplainError(
            f"{scan.what}{[row, col - scan.has_index]} is {np.float64(value)}, which is not "
            f"a finite {dt.name}",
            "use finite numbers within the dtype's range",
        )
    return table


def _first_field_is_number(data: bytes, first: int, end: int) -> bool:
    """Whether the line's first field, from its first non-blank byte ``first``, is surely a
    number, as :meth:`_Scan.header_of` splits it (then the line is no header), read without
    decoding the rest of the line (which may be the whole table)."""
    if data[first : first + 1] == b'"':
        return False  # csv's quoting decides where the field ends
    comma = data.find(b",", first, end)
    if comma < 0:
        spaces = [i for sep in (b" ", b"\t") if (i := data.find(sep, first, end)) >= 0]
        comma = min(spaces, default=end)
    try:
        return _is_number(data[first:comma].decode("utf-8").strip())
    except UnicodeDecodeError:
        return False


def _parse_chunk(text: bytes) -> np.ndarray | None:
    """The numbers of a chunk of a checked table, or None when NumPy cannot read it all."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # NumPy 1.x warns where 2.x raises
            return np.fromstring(text.translate(_COMMAS_TO_SPACES), dtype=np.float64, sep=" ")
    except (ValueError, DeprecationWarning):
        return None


def _chunks(data: bytes, begin: int, end: int) -> Iterator[tuple[int, int]]:
    """``data[begin:end]`` in pieces of about TABLE_CHUNK bytes, each ending after a separator
    (a field is never cut)."""
    while begin < end:
        stop = min(begin + memory.TABLE_CHUNK, end)
        if stop < end:
            cut = max(data.rfind(sep, begin, stop) for sep in _SEPARATORS)
            if cut < begin:  # one field longer than a chunk: up to the separator after it
                after = [data.find(sep, stop, end) for sep in _SEPARATORS]
                cut = min((i for i in after if i >= 0), default=end - 1)
            stop = cut + 1
        yield begin, stop
        begin = stop


def _layout(data: bytes, begin: int, end: int, width: int = 0) -> _Layout | int:
    """Check a table body, ``data[begin:end]``, with NumPy: only a number's characters, spaces,
    commas and newlines; a comma only between two fields; every non-blank line as long as the
    first (as ``width``, a header's, when given). Returns its layout, or the position of the
    first problem of these (a byte on the first line with one: the lines before are fine)."""
    chunks: list[tuple[int, int, int, int]] = []
    rows = line_fields = 0
    line_start = begin
    in_field = False
    before = _NEWLINE  # the class of the last byte that is not a space
    for start, stop in _chunks(data, begin, end):
        c = _CLASS[np.frombuffer(data, np.uint8, stop - start, start)]
        problems = []
        if not c.all():  # a byte that is none of the above
            problems.append(start + int(np.argmin(c)))
        fields = c == _FIELD
        starts = fields.copy()
        starts[1:] &= ~fields[:-1]
        starts[0] &= not in_field
        in_field = bool(fields[-1])
        # A comma must follow a field and be followed by one, spaces aside.
        seq = np.concatenate(([before], c[c != _SPACE]))
        bad = (seq[1:] == _COMMA) & (seq[:-1] != _FIELD)
        bad |= (seq[:-1] == _COMMA) & (seq[1:] != _FIELD)
        if bad.any():
            j = int(np.argmax(bad))  # the pair (seq[j], seq[j + 1]); seq[j + 1] is solid[j]
            solid = np.flatnonzero(c != _SPACE)
            comma = solid[j] if seq[j + 1] == _COMMA else solid[j - 1] if j else -1
            problems.append(start + int(comma))
        if seq.size > 1:
            before = int(seq[-1])
        del seq, bad
        counts = np.cumsum(starts, dtype=np.int32)
        newlines = np.flatnonzero(c == _NEWLINE)
        rows_before = rows
        if newlines.size:
            per_line = np.diff(counts[newlines], prepend=0)
            per_line[0] += line_fields
            line_fields = int(counts[-1] - counts[newlines[-1]])
            filled = per_line[per_line > 0]
            if filled.size:
                width = width or int(filled[0])
                if (filled != width).any():
                    k = int(np.flatnonzero((per_line > 0) & (per_line != width))[0])
                    problems.append(line_start if k == 0 else start + int(newlines[k - 1]) + 1)
            rows += int(filled.size)
            line_start = start + int(newlines[-1]) + 1
        else:
            line_fields += int(counts[-1])
        if problems:
            return min(problems)
        chunks.append((start, stop, int(counts[-1]), rows_before))
    if before == _COMMA:  # a comma ending the text
        return end - 1
    if line_fields:  # the last line, with no newline after it
        width = width or line_fields
        if line_fields != width:
            return line_start
        rows += 1
    return _Layout(chunks, rows, width)


def _header_width(scan: _Scan) -> int:
    return len(scan.header[1]) if scan.header else 0


def _raise_first(data: bytes, body: int, position: int, scan: _Scan) -> None:
    """Raise the first problem of a table whose layout fails at ``position``: a field that is
    no number on an earlier line (NumPy finds those chunk by chunk), or what is at it."""
    start = max(data.rfind(b"\n", body, position) + 1, body) if position > body else body
    before = _layout(data, body, start, _header_width(scan))
    assert isinstance(before, _Layout)
    for begin, stop, count, _ in before.chunks:
        part = _parse_chunk(data[begin:stop]) if count else None
        if count and (part is None or part.size != count):
            _raise_at(data, body, begin, scan, until=stop)
    _raise_at(data, body, position, scan)


def _raise_at(
    data: bytes,
    body: int,
    position: int,
    scan: _Scan,
    until: int | None = None,
    index_only: bool = False,
) -> None:
    """Word the problem at ``position`` (or up to ``until``) as the line-by-line path does,
    scanning from its line: the lines before it are known to be fine. Returns if no problem
    shows (the caller then takes the line-by-line path)."""
    start = max(data.rfind(b"\n", body, position) + 1, body) if position > body else body
    rows = width = 0
    if start > body:
        layout = _layout(data, body, start, _header_width(scan))
        assert isinstance(layout, _Layout)
        rows, width = layout.rows, layout.width
    scan.rows, scan.width, scan.index_error = rows, width, None
    scan.first = scan.header is None and not rows
    stop = data.find(b"\n", max(until or position, start))
    stop = len(data) if stop < 0 else stop
    scan.budget.check(len(data) + 4 * (stop - start), "its text, and a line of it", scan.what)
    try:
        text = data[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        return
    _scan_lines(_lines(text, data.count(b"\n", 0, start)), scan, stop_at_index=index_only)
    if scan.index_error is not None:
        _raise_index_error(scan)


def _slow_table(text: str, scan: _Scan, dt: np.dtype, held: int) -> np.ndarray:
    """A table read line by line in Python: scanned once (every problem worded), then its
    numbers filled in row by row; one line's fields at a time, never the whole table's."""
    text = text.removeprefix("\ufeff")
    _scan_lines(_lines(text, 0), scan)
    if scan.rows == 0:
        raise _no_rows(scan)
    if scan.index_error is not None:
        _raise_index_error(scan)
    numbers = scan.rows * scan.width
    scan.budget.check(
        held + sys.getsizeof(text) + numbers * (8 + dt.itemsize + 1) + 80 * scan.width,
        f"its text, and {numbers:,} numbers parsed as float64, then as {dt.name}",
        scan.what,
    )
    values = np.empty((scan.rows, scan.width), np.float64)
    row = 0
    seen_header = scan.header is None
    for _, line in _lines(text, 0):
        stripped = line.strip()
        if not stripped:
            continue
        if not seen_header:
            seen_header = True
            continue
        values[row] = np.array(list(_fields(stripped)), dtype=np.float64)
        row += 1
    return values


def _lines(text: str, line_no: int) -> Iterator[tuple[int, str]]:
    """The lines of ``text`` as ``str.splitlines`` splits them, one at a time, numbered from
    ``line_no`` + 1."""
    for match in _LINE.finditer(text):
        if match.start() == len(text):
            return
        line_no += 1
        yield line_no, match.group(1)
        if not match.group(2):
            return


def _fields(stripped: str) -> Iterator[str]:
    """A stripped line's fields, split at a comma (spaces around it allowed) or at spaces."""
    begin = 0
    for separator in _SEPARATOR.finditer(stripped):
        yield stripped[begin : separator.start()]
        begin = separator.end()
    yield stripped[begin:]


def _scan_lines(lines: Iterator[tuple[int, str]], scan: _Scan, stop_at_index: bool = False) -> None:
    """Check lines of a table, raising at the first problem; ``scan`` keeps count. A column 1
    that is not pandas' index is raised after the rest (or first, ``stop_at_index``)."""
    what = scan.what
    for line_no, line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if scan.first:
            names = scan.header_of(line, line_no)
            if names is not None:
                scan.header, scan.first = (line_no, names), False
                continue
        count = 0
        for column, field_ in enumerate(_fields(stripped), 1):
            if not _NUMBER.fullmatch(field_):
                raise LinexplainError(
                    f"{what} line {line_no}, column {column}: {field_[:20]!r} is not a number",
                    "write numbers separated by commas or spaces, one row per line"
                    + ("; a header (the first line) holds only names" if scan.first else ""),
                )
            if column == 1 and scan.has_index and field_ != str(scan.rows):
                scan.index_error = scan.index_error or (scan.rows, field_[:20])
            count = column
        scan.first = False
        if scan.rows and count != scan.width:
            raise LinexplainError(
                f"{what} row {scan.rows + 1} (line {line_no}) has {count} numbers, "
                f"row 1 has {scan.width}",
                "give every row the same number of values",
            )
        if scan.header and not scan.rows and count != len(scan.header[1]):
            raise LinexplainError(
                f"{what}: the header (line {scan.header[0]}) has {len(scan.header[1])} names, "
                f"row 1 (line {line_no}) has {count} numbers",
                "give the header one name per column, or remove it",
            )
        scan.width = scan.width or count
        scan.rows += 1
        if stop_at_index and scan.index_error is not None:
            return


def _no_rows(scan: _Scan) -> LinexplainError:
    if scan.header:
        return LinexplainError(
            f"{scan.what} has no numbers below its header (line {scan.header[0]})",
            "write rows of numbers below the header, one per line",
        )
    return LinexplainError(f"{scan.what} has no numbers", "write one row of numbers per line")


def _raise_index_error(scan: _Scan) -> None:
    """The first column under an unnamed header field must be pandas' row numbers 0, 1, ..."""
    assert scan.header is not None and scan.index_error is not None
    wrong, value = scan.index_error
    raise LinexplainError(
        f"{scan.what}: the header (line {scan.header[0]}) leaves column 1 unnamed, as pandas "
        f"does for its index, but row {wrong + 1} has {value!r} there, not {wrong}",
        "save the table with df.to_csv(path, index=False), or name column 1",
    )


def _is_number(field_: str) -> bool:
    """Whether a field reads as a number, in a table or to Python (nan, inf, 1_000 do)."""
    if _NUMBER.fullmatch(field_):
        return True
    try:
        float(field_)
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
