"""The memory limit: one number, one message, and what each thing a command holds costs.

``--max-memory`` (the ``max_memory`` argument; a quarter of the machine's memory by default)
bounds everything a command allocates beyond the interpreter itself: the arrays, the Python
numbers a document holds for ``--json``, the text of the output while it is written, and the
input files while they are read. Each is counted here, before it is made, and
:func:`check` refuses with one message::

    this pass needs 6,384 bytes (…), over the limit of 1,000 — hint: use smaller sizes, …

Pure Python: importing this module imports neither numpy nor sympy.

The constants were measured on CPython 3.11, 64-bit Linux (``tests/test_memory.py`` measures
them again with ``tracemalloc``):

* a number in nested lists from ``ndarray.tolist()`` is a float object (24 bytes, in a 32-byte
  block of Python's allocator) and its 8-byte slot in the list: 40 bytes by RSS (40.0 to 41.0
  over shapes from (5000000,) to (1000, 5000)); :data:`PY_NUMBER` keeps 48;
* each list of those (one per row) is 56 bytes and a 16-byte GC header, in an 80-byte block, plus
  its slot in the list above: 73 to 88 bytes measured; :data:`PY_LIST` keeps 96;
* ``json.loads`` makes the same objects for the same numbers, and a list for every ``[``;
  :func:`json_parse_bytes` counts them from the text before it is parsed (over fifteen kinds
  of hostile JSON, tracemalloc's peak was at most 0.83 of the count);
* a table (CSV or TXT) is checked and parsed by NumPy a chunk at a time: its text, one array
  of the asked dtype and a byte per number for the finite check, plus at most 13 bytes per
  byte of the chunk being checked (:data:`TABLE_SCRATCH_PER_BYTE` keeps 24): 3.5 to 4 times
  the text for tables of one-character numbers, against 13 to 37 for Python objects.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import LinexplainError

PY_NUMBER = 48
"""Bytes per number held as a Python float in a list (measured 40)."""
PY_LIST = 96
"""Bytes per Python list of numbers, beyond its numbers (measured 73 to 88)."""
PY_DICT = 240
"""Bytes per JSON object parsed by ``json.loads`` (an empty dict is 64, one entry 184)."""
JSON_ITEMS = 1024
"""Numbers per piece the JSON writer formats at once (see :mod:`linexplain.output.json`)."""
JSON_SCRATCH_PER_ITEM = 128
"""Bytes per number of a piece being written: its repr (about 50 + 20) and the joined text."""
DRAW_CHUNK = 1 << 15
"""Numbers torch's generator is reproduced in at once (``torch_rng._CHUNK``)."""
DRAW_SCRATCH_PER_ITEM = 112
"""Bytes per number of a chunk being drawn: the float64 temporaries of the exact multiply-add
and the uniforms' integer words (measured by tracemalloc: at most 92 for ``uniform``, 41 for
``randn``)."""
HINT = "use smaller sizes, or raise --max-memory if the machine has the room"


def default_max_memory() -> int:
    """A quarter of this machine's memory (4 GiB when it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def limit_of(max_memory: int | None) -> int:
    """The limit in bytes: ``max_memory``, or the default when it is None."""
    return default_max_memory() if max_memory is None else max_memory


def check(
    needed: int,
    what: str,
    max_memory: int | None,
    *,
    subject: str = "this pass",
    option: str = "--max-memory",
) -> None:
    """Refuse, with the one message, ``needed`` bytes over the limit.

    ``what`` says what the bytes hold, ``subject`` what needs them ("this pass", a file's path,
    ``Linear(100000, 100000)``), ``option`` how the limit is raised (``max_memory=`` in Python).
    """
    limit = limit_of(max_memory)
    if needed > limit:
        hint = HINT if option == "--max-memory" else HINT.replace("--max-memory", option)
        raise LinexplainError(
            f"{subject} needs {needed:,} bytes ({what}), over the limit of {limit:,}", hint
        )


def check_pass(arrays: int, held: str, extras: dict[str, int], max_memory: int | None) -> None:
    """Refuse a pass holding ``arrays`` bytes (``held`` says what) and, one at a time beside
    them, the largest of ``extras`` (the generator's temporaries, a report, a check's copies)."""
    most = max(extras, key=lambda k: extras[k])
    check(arrays + extras[most], f"{held}: {arrays:,}; {most}: {extras[most]:,}", max_memory)


@dataclass(frozen=True)
class Budget:
    """The limit for one command, and the bytes it already holds (inputs read before)."""

    limit: int
    held: int = 0

    @classmethod
    def of(cls, max_memory: int | None, held: int = 0) -> Budget:
        """The budget under ``max_memory`` (the default limit when None)."""
        return cls(limit_of(max_memory), held)

    def more(self, held: int) -> Budget:
        """This budget with ``held`` more bytes held."""
        return Budget(self.limit, self.held + held)

    def check(self, needed: int, what: str, subject: str) -> None:
        """:func:`check` of ``needed`` bytes beside those held."""
        if self.held:
            what += f"; beside {self.held:,} held already"
        check(needed + self.held, what, self.limit, subject=subject)


def count(shape: Iterable[int]) -> int:
    """How many numbers an array of ``shape`` holds."""
    return math.prod(int(d) for d in shape)


def array_bytes(shapes: Iterable[Iterable[int]], itemsize: int) -> int:
    """Bytes of NumPy arrays of these shapes, ``itemsize`` bytes per number."""
    return sum(count(shape) for shape in shapes) * itemsize


def listed_bytes(shape: Iterable[int]) -> int:
    """Bytes of ``array.tolist()`` for an array of ``shape``: a Python float per number and a
    list per row at every level (a 0-d array gives one float)."""
    dims = [int(d) for d in shape]
    lists = sum(math.prod(dims[:k]) for k in range(len(dims)))
    return PY_NUMBER * math.prod(dims) + PY_LIST * lists


def json_scratch(numbers: int) -> int:
    """Bytes the JSON writer holds at once while writing ``numbers`` numbers: one piece."""
    return JSON_SCRATCH_PER_ITEM * min(numbers, JSON_ITEMS)


def draw_scratch(numbers: int) -> int:
    """Bytes of temporaries while ``numbers`` numbers are drawn like torch (one chunk)."""
    return DRAW_SCRATCH_PER_ITEM * min(numbers, DRAW_CHUNK)


def document_bytes(shapes: Iterable[Iterable[int]]) -> int:
    """Bytes of a document's data holding these arrays as Python numbers, and of writing it."""
    shapes = [tuple(shape) for shape in shapes]
    listed = sum(listed_bytes(shape) for shape in shapes)
    return listed + json_scratch(sum(count(shape) for shape in shapes))


def json_parse_bytes(text: str) -> int:
    """Bytes ``json.loads(text)`` and linexplain's checks of the result may hold, at most.

    Counted from the text's characters, before parsing: a list for every ``[``, an object for
    every ``{``, and a Python number (or string, true, false, null) for every item; the items
    are gathered once more, level by level, to check the shape (8 bytes each), then copied to a
    float64 array (8 bytes each). Strings are counted at 6 times the text's own size (the
    strings themselves and json's work on them: measured up to 5 for 4-byte characters).
    """
    lists = text.count("[")
    objects = text.count("{")
    items = text.count(",") + lists + objects  # every item but the first follows a comma
    strings = 6 * sys.getsizeof(text) if '"' in text else 0
    return lists * PY_LIST + objects * PY_DICT + items * (PY_NUMBER + 16) + strings


TABLE_CHUNK = 1 << 20
"""Bytes of text a table is checked and parsed in at once (``linexplain.arrays``)."""
TABLE_SCRATCH_PER_BYTE = 24
"""Bytes of temporaries per byte of the chunk being checked and parsed."""


def table_parse_bytes(text_bytes: int, numbers: int, itemsize: int, copies: int = 1) -> int:
    """Bytes of reading a table of ``numbers`` numbers from ``text_bytes`` bytes of text with
    NumPy: the text, the array in the asked dtype (``copies`` of it: a dropped column copies
    it once more), a finite check (a byte per number), and the chunk being checked and parsed."""
    scratch = TABLE_SCRATCH_PER_BYTE * min(text_bytes, TABLE_CHUNK)
    return text_bytes + numbers * (itemsize * copies + 1) + scratch


def npy_read_bytes(numbers: int, file_itemsize: int, itemsize: int, converts: bool) -> int:
    """Bytes of reading an array of ``numbers`` numbers from a .npy (or an .npz member): the
    array as stored, its copy in the asked dtype when the types differ, and a finite check."""
    return numbers * (file_itemsize + (itemsize if converts else 0) + 1)


__all__ = [
    "HINT",
    "PY_LIST",
    "PY_NUMBER",
    "Budget",
    "array_bytes",
    "check",
    "count",
    "default_max_memory",
    "document_bytes",
    "draw_scratch",
    "json_parse_bytes",
    "json_scratch",
    "limit_of",
    "listed_bytes",
    "npy_read_bytes",
    "table_parse_bytes",
]
