"""State dicts from files, read safely: ``.npz`` (NumPy, never pickled) and ``.safetensors``.

A ``.safetensors`` file is an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte offsets, then the bytes; the header's size is bounded before it
is read, and every offset and shape is checked against the file before any data is.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import struct
from typing import Any

from .errors import LinexplainError

MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit
# JSON values a header may hold (counted from its commas and brackets before it is parsed): the
# Python objects json would make stay bounded, ~30 per tensor for 100,000+ tensors.
MAX_HEADER_ITEMS = 4_000_000
MAX_TENSOR_DIMS = 64
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "bf16", "I64": "<i8", "I32": "<i4"}
# Every dtype of the safetensors format, in bits per number (a header may name any of them).
BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32, "I64": 64, "U64": 64, "F64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "C64": 64,
}  # fmt: skip
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".ckpt", ".pickle")
_HINT = 'save it with safetensors.torch.save_file(model.state_dict(), "model.safetensors")'


def refuse_pickle(path: str) -> None:
    """Refuse a pickle (torch.save's .pt/.bin) by its name: never unpickled, converted once."""
    if path.lower().endswith(PICKLE_SUFFIXES):
        raise_pickle(path)


def raise_pickle(path: str) -> None:
    """The one refusal of a pickle, with the one-line conversion to safetensors."""
    raise LinexplainError(
        f"{path} is a pickle (PyTorch's torch.save format): linexplain never unpickles",
        f"convert it once with torch: {_HINT}",
    )


def load_state(path: str, dtype: str = "float32", max_bytes: int | None = None) -> dict[str, Any]:
    """Every tensor of a state_dict file, as arrays of ``dtype``, by name (``0.weight``, …)."""
    lowered = path.lower()
    refuse_pickle(path)
    size = regular_file(path)
    if max_bytes is not None and size > max_bytes:
        raise LinexplainError(
            f"{path} is {size:,} bytes, over the limit of {max_bytes:,}",
            "raise --max-memory if the machine has the room",
        )
    if lowered.endswith(".safetensors"):
        return _safetensors(path, size, dtype)
    if lowered.endswith(".npz"):
        return _npz(path, dtype, max_bytes)
    raise LinexplainError(
        f"{path}: unsupported weights file {os.path.splitext(path)[1] or '(no extension)'!r}",
        "give a .safetensors file or an .npz of the state_dict",
    )


def regular_file(path: str) -> int:
    """The size of ``path``, a regular file through its links (opened so nothing blocks)."""
    from .files import open_regular

    file, size = open_regular(path)
    file.close()
    return size


def read_header(path: str, size: int) -> tuple[dict[str, Any], int]:
    """A safetensors file's JSON header, checked, and where its data starts.

    Its length is bounded before it is read (and its JSON values counted before it is parsed);
    every tensor's dtype, shape and offsets are checked against the file, and no two tensors
    may share bytes. Only the header is read.
    """
    if size < 8:
        raise LinexplainError(f"{path} is too short for a safetensors file", _HINT)
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise LinexplainError(
                f"{path}: its header claims {length:,} bytes, more than the file or the "
                f"{MAX_HEADER_BYTES:,}-byte limit holds",
                "the file is damaged or not a safetensors file",
            )
        raw = file.read(length)
    if len(raw) != length:
        raise LinexplainError(f"{path} ended while its header was read", "the file is damaged")
    items = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if items > MAX_HEADER_ITEMS:
        raise LinexplainError(
            f"{path}: its header holds over {MAX_HEADER_ITEMS:,} JSON values",
            "the file is damaged or not a safetensors file",
        )
    try:
        header = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_repeats, parse_constant=_no_constant
        )
    except RecursionError:
        raise LinexplainError(
            f"{path}: its header is JSON nested too deeply", "the file is damaged"
        ) from None
    except _Repeated as repeated:
        raise LinexplainError(
            f"{path}: its header names {str(repeated)[:64]!r} twice", "the file is damaged"
        ) from None
    except (UnicodeDecodeError, ValueError):  # json's errors, and ints of thousands of digits
        raise LinexplainError(f"{path}: its header is not UTF-8 JSON", _HINT) from None
    if not isinstance(header, dict):
        raise LinexplainError(f"{path}: its header is not a JSON object", _HINT)
    metadata = header.get("__metadata__", {})
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise LinexplainError(
            f"{path}: its __metadata__ is not an object of strings", "the file is damaged"
        )
    data = size - 8 - length
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        _check_entry(path, name, entry, data)
        begin, end = entry["data_offsets"]
        if end > begin:
            spans.append((begin, end, name))
    spans.sort()
    for (_, end, first), (begin, _, second) in itertools.pairwise(spans):
        if begin < end:
            raise LinexplainError(
                f"{path}: tensors {first[:64]!r} and {second[:64]!r} overlap in the file",
                "the file is damaged",
            )
    return header, 8 + length


class _Repeated(Exception):
    """A JSON object names a key twice."""


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Repeated(key)
            seen.add(key)
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_MAX_DIM = 2**63


def _check_entry(path: str, name: str, entry: Any, data: int) -> None:
    def where() -> str:
        return f"{path}: tensor {name[:64]!r}"

    if not isinstance(entry, dict) or entry.get("dtype") not in BITS:
        raise LinexplainError(f"{where()} has no known dtype", "supported: " + ", ".join(BITS))
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if not (
        type(shape) is list
        and len(shape) <= MAX_TENSOR_DIMS
        and all(type(d) is int and 0 <= d < _MAX_DIM for d in shape)
    ):
        raise LinexplainError(f"{where()} has a bad shape {str(shape)[:40]}", _HINT)
    if not (
        type(offsets) is list
        and len(offsets) == 2
        and type(offsets[0]) is int
        and type(offsets[1]) is int
        and 0 <= offsets[0] <= offsets[1] <= data
    ):
        raise LinexplainError(f"{where()} has offsets outside the file", "the file is damaged")
    bits = math.prod(shape) * BITS[entry["dtype"]]
    if bits % 8 or bits // 8 != offsets[1] - offsets[0]:
        raise LinexplainError(
            f"{where()}: shape {str(shape)[:60]} does not fill its "
            f"{offsets[1] - offsets[0]:,} bytes",
            "the file is damaged",
        )


def _safetensors(path: str, size: int, dtype: str) -> dict[str, Any]:
    import numpy as np

    header, start = read_header(path, size)
    out = {}
    with open(path, "rb") as file:
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            if entry["dtype"] not in _DTYPES:
                raise LinexplainError(
                    f"{path}: tensor {name[:64]!r} is {entry['dtype']}; weights are read from "
                    + ", ".join(_DTYPES),
                    "save the state_dict's float tensors",
                )
            begin, end = entry["data_offsets"]
            file.seek(start + begin)
            raw = file.read(end - begin)
            if entry["dtype"] == "BF16":
                bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
                array = bits.view(np.float32)
            else:
                array = np.frombuffer(raw, dtype=_DTYPES[entry["dtype"]])
            out[name] = array.reshape(entry["shape"]).astype(dtype)
    return out


def _npz(path: str, dtype: str, max_bytes: int | None) -> dict[str, Any]:
    from .arrays import load_npz

    return load_npz(path, dtype, max_bytes)
