"""State dicts from files, read safely: ``.npz`` (NumPy, never pickled) and ``.safetensors``.

A ``.safetensors`` file is an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte offsets, then the bytes; the header's size is bounded before it
is read, and every offset and shape is checked against the file before any data is.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
import zipfile
from typing import Any

from .errors import LinexplainError

MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "bf16", "I64": "<i8", "I32": "<i4"}
_HINT = 'save it with safetensors.torch.save_file(model.state_dict(), "model.safetensors")'


def load_state(path: str, dtype: str = "float32", max_bytes: int | None = None) -> dict[str, Any]:
    """Every tensor of a state_dict file, as arrays of ``dtype``, by name (``0.weight``, …)."""
    lowered = path.lower()
    if lowered.endswith((".pt", ".pth", ".bin", ".pkl", ".ckpt")):
        raise LinexplainError(
            f"{path} is a pickle (PyTorch's torch.save format): linexplain never unpickles",
            f"convert it once with torch: {_HINT}",
        )
    size = _regular_file(path)
    if max_bytes is not None and size > max_bytes:
        raise LinexplainError(
            f"{path} is {size:,} bytes, over the limit of {max_bytes:,}",
            "raise --max-memory if the machine has the room",
        )
    if lowered.endswith(".safetensors"):
        return _safetensors(path, size, dtype)
    if lowered.endswith(".npz"):
        return _npz(path, dtype)
    raise LinexplainError(
        f"{path}: unsupported weights file {os.path.splitext(path)[1] or '(no extension)'!r}",
        "give a .safetensors file or an .npz of the state_dict",
    )


def _regular_file(path: str) -> int:
    try:
        info = os.stat(os.path.realpath(path))
    except OSError as error:
        raise LinexplainError(f"cannot read {path}: {error.strerror}", "check the path") from None
    if not stat.S_ISREG(info.st_mode):
        raise LinexplainError(f"{path} is not a regular file", "give a file")
    return info.st_size


def read_header(path: str, size: int) -> tuple[dict[str, Any], int]:
    """A safetensors file's JSON header, checked, and where its data starts."""
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
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise LinexplainError(f"{path}: its header is not UTF-8 JSON", _HINT) from None
    if not isinstance(header, dict):
        raise LinexplainError(f"{path}: its header is not a JSON object", _HINT)
    data = size - 8 - length
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        _check_entry(path, name, entry, data)
    return header, 8 + length


def _check_entry(path: str, name: str, entry: Any, data: int) -> None:
    where = f"{path}: tensor {name[:64]!r}"
    if not isinstance(entry, dict) or entry.get("dtype") not in _DTYPES:
        raise LinexplainError(f"{where} has no known dtype", "supported: " + ", ".join(_DTYPES))
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if not (isinstance(shape, list) and all(type(d) is int and 0 <= d < 2**63 for d in shape)):
        raise LinexplainError(f"{where} has a bad shape {str(shape)[:40]}", _HINT)
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(type(o) is int for o in offsets)
        and 0 <= offsets[0] <= offsets[1] <= data
    ):
        raise LinexplainError(f"{where} has offsets outside the file", "the file is damaged")
    itemsize = 2 if entry["dtype"] in ("F16", "BF16") else int(_DTYPES[entry["dtype"]][-1])
    if math.prod(shape) * itemsize != offsets[1] - offsets[0]:
        raise LinexplainError(
            f"{where}: shape {shape} does not fill its {offsets[1] - offsets[0]:,} bytes",
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


def _npz(path: str, dtype: str) -> dict[str, Any]:
    import numpy as np

    if not zipfile.is_zipfile(path):
        raise LinexplainError(f"{path} is not an .npz archive", "save it with np.savez")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: np.asarray(npz[name]).astype(dtype) for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise LinexplainError(
            f"{path} is not a readable .npz file: {error}", "save it with np.savez"
        ) from None
