"""A checkpoint's tensors from its header alone: names, dtypes, shapes and sizes, no data read.

Three kinds of file are read, all without numpy (``linexplain model`` starts fast):

- ``.safetensors``: the 8-byte length and the JSON header (:func:`linexplain.checkpoint.
  read_header` bounds, parses and checks it: dtypes, shapes, offsets inside the file, no two
  tensors sharing bytes).
- ``.npz`` of a state_dict (``np.savez(path, **state_dict)``): the zip's directory (its size read
  from the end record and bounded first), then each member's ``.npy`` header — at most
  ``NPY_MAX_HEADER`` bytes of it — parsed by a strict pattern (never evaluated); each member's
  size must match its header. A zip holding ``data.pkl`` is ``torch.save``'s pickle, refused.
- PyTorch's printed module text (``print(model)`` of an ``nn.Sequential``), parsed by
  :func:`linexplain.netspec.parse_net`: a Linear's weight (out × in) and bias, float32 assumed.

A file of another name is told apart by its first bytes. Pickles (``.pt``, ``.bin``, or the
pickle protocol's first byte) are refused with the one-line conversion to safetensors. A
``config.json`` beside the file is read too (bounded): its ``model_type``, ``architectures``
and ``tie_word_embeddings`` help :mod:`linexplain.model` decide what each weight is.
"""

from __future__ import annotations

import json
import os
import re
import struct
from functools import lru_cache
from typing import Any, NamedTuple

from .checkpoint import BITS, raise_pickle, read_header, refuse_pickle, regular_file
from .errors import LinexplainError

MAX_MEMBERS = 100_000  # tensors in an .npz: its zip directory is counted before it is read
NPY_MAX_HEADER = 10_000  # NumPy's own limit on a .npy header (np.lib.format)
MAX_CONFIG_BYTES = 2**20
MAX_TEXT_BYTES = 1_000_000  # netspec's limit on a network's text
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"

# Torch's names for the safetensors dtypes (what the table and the JSON say).
TORCH_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "F8_E5M2": "float8_e5m2", "F8_E4M3": "float8_e4m3fn", "F8_E8M0": "float8_e8m0fnu",
    "F4": "float4_e2m1fn_x2", "F6_E2M3": "float6_e2m3", "F6_E3M2": "float6_e3m2",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
    "C64": "complex64",
}  # fmt: skip
FLOAT_DTYPES = frozenset(k for k, v in TORCH_DTYPES.items() if v.startswith("float"))
# A .npy descr's kind and size → the safetensors dtype (byte order does not change a size).
_NPY_DTYPES = {
    ("f", 8): "F64", ("f", 4): "F32", ("f", 2): "F16",
    ("i", 8): "I64", ("i", 4): "I32", ("i", 2): "I16", ("i", 1): "I8",
    ("u", 8): "U64", ("u", 4): "U32", ("u", 2): "U16", ("u", 1): "U8", ("b", 1): "BOOL",
    ("c", 8): "C64",
}  # fmt: skip
_NPY_ITEM = (
    r"'descr'\s*:\s*'(?P<descr>[<>|=]?[a-zA-Z]\d{0,2})'"
    r"|'fortran_order'\s*:\s*(?P<fortran>True|False)"
    r"|'shape'\s*:\s*\((?P<shape>\s*(?:\d{1,19}\s*,\s*){0,63}(?:\d{1,19})?\s*)\)"
)


class TensorInfo(NamedTuple):
    """One tensor as the header describes it: ``dtype`` in safetensors' spelling (``F32``)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    crc: int | None = None  # an .npz member's CRC-32 (from the zip directory): same bytes, same crc
    offset: int | None = None  # where a safetensors tensor's bytes start in the file

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def torch_dtype(self) -> str:
        return TORCH_DTYPES[self.dtype]


class Checkpoint(NamedTuple):
    """A checkpoint's tensors in file order, and what beside them says about the model.

    ``format`` is ``safetensors``, ``npz`` or ``text``; ``metadata`` the safetensors
    ``__metadata__``; ``config`` the ``config.json`` beside the file (None when absent);
    ``notes`` what reading it found worth saying (a config.json that could not be read).
    """

    path: str
    format: str
    size: int
    tensors: tuple[TensorInfo, ...]
    metadata: dict[str, str]
    config: dict[str, Any] | None = None
    config_path: str | None = None
    notes: tuple[str, ...] = ()

    def by_name(self) -> dict[str, TensorInfo]:
        return {t.name: t for t in self.tensors}


def read_checkpoint(path: str) -> Checkpoint:
    """The tensors of a .safetensors, .npz or printed-module file, from its headers only."""
    if not path:
        raise LinexplainError("the file name is empty", "give a .safetensors or .npz file")
    refuse_pickle(path)
    size = regular_file(path)
    with open(path, "rb") as file:
        head = file.read(9)
    if _is_pickle(head):
        raise_pickle(path)  # a pickle by any name
    lowered = path.lower()
    if lowered.endswith(".safetensors"):
        kind = "safetensors"
    elif lowered.endswith(".npz"):
        kind = "npz"
    else:
        kind = _sniff(path, size)
    if kind == "safetensors":
        header, start = read_header(path, size)
        metadata = header.pop("__metadata__", {})
        tensors = tuple(
            TensorInfo(
                name, e["dtype"], tuple(e["shape"]), e["data_offsets"][1] - e["data_offsets"][0],
                offset=start + e["data_offsets"][0],
            )
            for name, e in header.items()
        )  # fmt: skip
    elif kind == "npz":
        metadata, tensors = {}, _npz(path, size)
    else:
        metadata, tensors = {}, _text(path)
    config, config_path, notes = _config(path)
    shard = _SHARD.search(os.path.basename(path))
    if shard:
        notes += (
            f"{os.path.basename(path)} is shard {int(shard.group(1))} of {int(shard.group(2))}: "
            "only its own tensors are listed",
        )
    return Checkpoint(path, kind, size, tensors, metadata, config, config_path, notes)


def _is_pickle(head: bytes) -> bool:
    """The pickle protocol's first bytes (2 to 5), and not a safetensors length then '{'."""
    return (
        head[:1] == b"\x80"
        and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")
        and (head[8:9] != b"{")
    )


def _sniff(path: str, size: int) -> str:
    """What a file of another name is, from its first bytes."""
    with open(path, "rb") as file:
        head = file.read(9)
    if head[:4] in (b"PK\x03\x04", _EOCD):
        return "npz"
    if len(head) == 9 and head[8:9] == b"{":
        (length,) = struct.unpack("<Q", head[:8])
        if 2 <= length <= size - 8:
            return "safetensors"
    return "text"


@lru_cache(maxsize=1)
def _npy_header() -> re.Pattern[str]:
    """A .npy header's dict: descr, fortran_order and shape, once each, in any order (compiled
    when an .npz is first read, not at start-up)."""
    return re.compile(
        rf"\{{\s*(?:{_NPY_ITEM})\s*,\s*(?:{_NPY_ITEM.replace('?P<', '?P<b')})\s*,\s*"
        rf"(?:{_NPY_ITEM.replace('?P<', '?P<c')})\s*,?\s*\}}\s*",
        re.ASCII,
    )


# --- .npz ------------------------------------------------------------------------------------


def _zip_entries(path: str, size: int) -> int:
    """How many members the zip's end record claims, read before its directory is."""
    tail = min(size, 22 + 65535)
    with open(path, "rb") as file:
        file.seek(size - tail)
        data = file.read(tail)
        at = data.rfind(_EOCD)
        if at < 0 or len(data) - at < 22:
            raise LinexplainError(f"{path} is not an .npz archive", "save it with np.savez")
        (entries,) = struct.unpack_from("<H", data, at + 10)
        if entries == 0xFFFF and at >= 20 and data[at - 20 : at - 16] == _ZIP64_LOCATOR:
            (offset,) = struct.unpack_from("<Q", data, at - 12)
            if offset + 56 > size:
                raise LinexplainError(f"{path}: its zip directory is damaged", "save it again")
            file.seek(offset)
            record = file.read(56)
            if record[:4] != b"PK\x06\x06":
                raise LinexplainError(f"{path}: its zip directory is damaged", "save it again")
            (entries,) = struct.unpack_from("<Q", record, 32)
    return int(entries)


def _npz(path: str, size: int) -> tuple[TensorInfo, ...]:
    import zipfile
    import zlib

    hint = "save the state_dict with np.savez(path, **{k: v.numpy() for k, v in sd.items()})"
    entries = _zip_entries(path, size)
    if entries > MAX_MEMBERS:
        raise LinexplainError(f"{path} claims {entries:,} members, over {MAX_MEMBERS:,}", hint)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if any(i.filename.endswith("data.pkl") for i in infos):  # torch.save's zip
                raise_pickle(path)
            return tuple(_npy_member(archive, info, path, hint) for info in infos)
    except LinexplainError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError,
            ValueError, struct.error) as error:  # fmt: skip
        message = str(error).splitlines()[0][:80] if str(error) else type(error).__name__
        raise LinexplainError(f"{path} is not a readable .npz archive: {message}", hint) from None


def _npy_member(archive: Any, info: Any, path: str, hint: str) -> TensorInfo:
    """One member's name, dtype and shape, from at most its first NPY_MAX_HEADER bytes."""
    name = info.filename
    where = f"{path}: member {name[:64]!r}"
    if not name.endswith(".npy") or info.is_dir():
        raise LinexplainError(f"{where} is not a .npy array", hint)
    with archive.open(info) as member:
        head = member.read(12)
        if len(head) < 10 or head[:6] != b"\x93NUMPY":
            raise LinexplainError(f"{where} is not a .npy array", hint)
        major = head[6]
        if major == 1:
            (length,), start = struct.unpack_from("<H", head, 8), 10
        elif major in (2, 3):
            (length,), start = struct.unpack_from("<I", head, 8), 12
        else:
            raise LinexplainError(f"{where}: unknown .npy version {major}", hint)
        if length > NPY_MAX_HEADER:
            raise LinexplainError(f"{where}: its .npy header claims {length:,} bytes", hint)
        text = (head[start:] + member.read(length - (len(head) - start)))[:length]
    try:
        decoded = text.decode("utf-8" if major == 3 else "latin1")
    except UnicodeDecodeError:
        raise LinexplainError(f"{where}: its .npy header is not text", hint) from None
    match = _npy_header().fullmatch(decoded)
    fields = (
        {}
        if match is None
        else {k.lstrip("bc"): v for k, v in match.groupdict().items() if v is not None}
    )
    if match is None or len(fields) != 3:
        raise LinexplainError(f"{where}: its .npy header is not a plain array's", hint)
    descr = fields["descr"]
    kind, digits = descr.lstrip("<>|=")[:1], descr.lstrip("<>|=")[1:]
    dtype = _NPY_DTYPES.get((kind, int(digits or 0)))
    if dtype is None:
        raise LinexplainError(f"{where} holds {descr!r} numbers, not a tensor's", hint)
    shape = tuple(int(d) for d in fields["shape"].replace(",", " ").split())
    if any(d >= 2**63 for d in shape):
        raise LinexplainError(f"{where} has a bad shape {shape}", hint)
    tensor = TensorInfo(name[:-4], dtype, shape, 0, info.CRC)
    nbytes = tensor.numel * BITS[dtype] // 8
    if info.file_size != start + length + nbytes:
        raise LinexplainError(
            f"{where}: shape {shape} does not fill its {info.file_size:,} bytes",
            "the file is damaged",
        )
    return TensorInfo(tensor.name, dtype, shape, nbytes, info.CRC)


# --- PyTorch's printed text ------------------------------------------------------------------

_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.")
_LABELLED = re.compile(r"line \d+, \(([^)]*)\):")


def _text(path: str) -> tuple[TensorInfo, ...]:
    """The Linear layers of print(model)'s text (float32 assumed: text has no dtype)."""
    from .netspec import parse_net

    with open(path, "rb") as file:
        raw = file.read(MAX_TEXT_BYTES + 1)
    if len(raw) > MAX_TEXT_BYTES:
        raise LinexplainError(
            f"{path} is neither a .safetensors nor an .npz file, and too long for a network's text",
            "give a .safetensors file, an .npz of the state_dict, or print(model)'s text",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LinexplainError(
            f"{path} is neither a .safetensors, an .npz nor a text file",
            "give a .safetensors file, an .npz of the state_dict, or print(model)'s text",
        ) from None
    tensors = []
    for index, layer in enumerate(parse_net(text, source=path)):
        if layer.kind != "Linear":
            continue
        labelled = _LABELLED.match(layer.where)
        name = labelled.group(1) if labelled else str(index)  # nn.Sequential's own names
        in_, out = int(layer.get("in_features")), int(layer.get("out_features"))  # type: ignore[call-overload]
        tensors.append(TensorInfo(f"{name}.weight", "F32", (out, in_), out * in_ * 4))
        if layer.get("bias"):
            tensors.append(TensorInfo(f"{name}.bias", "F32", (out,), out * 4))
    return tuple(tensors)


# --- config.json -----------------------------------------------------------------------------


def _config(path: str) -> tuple[dict[str, Any] | None, str | None, tuple[str, ...]]:
    """The config.json beside ``path``, bounded; one that cannot be read is noted and ignored."""
    where = os.path.join(os.path.dirname(path), "config.json")
    if not os.path.isfile(where):
        return None, None, ()
    try:
        with open(where, "rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ValueError(f"over {MAX_CONFIG_BYTES:,} bytes")
        config = json.loads(raw.decode("utf-8"))
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, RecursionError) as error:
        reason = str(error).splitlines()[0][:60] if str(error) else type(error).__name__
        return None, None, (f"{where} is not readable JSON ({reason}): ignored",)
    return config, where, ()


# --- one tensor's numbers --------------------------------------------------------------------

_NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2"}


def load_tensor(
    checkpoint: Checkpoint, name: str, dtype: str = "float32", max_bytes: int | None = None
) -> Any:
    """One float tensor of the checkpoint as an array of ``dtype``, reading only its bytes.

    Its size (as stored and as ``dtype``) is counted against ``max_bytes`` (default: the
    default memory limit) before anything is read.
    """
    import zipfile
    import zlib

    import numpy as np

    from . import memory

    tensor = checkpoint.by_name().get(name)
    if tensor is None or checkpoint.format == "text":
        raise LinexplainError(
            f"{checkpoint.path} holds no tensor {name[:64]!r}", "see its tensors: linexplain model"
        )
    where = f"{checkpoint.path}: {name[:64]}"
    if tensor.dtype not in _NUMPY_DTYPES:
        raise LinexplainError(
            f"{where} is {tensor.torch_dtype}; a Linear's numbers are read from float64, "
            "float32, float16 or bfloat16",
            "quantized weights need their scales: dequantize them to a float dtype first",
        )
    out_itemsize = np.dtype(dtype).itemsize
    memory.check(
        tensor.nbytes + tensor.numel * out_itemsize,
        f"{name[:64]} as stored and as {dtype}",
        max_bytes,
        subject=checkpoint.path,
    )
    if checkpoint.format == "npz":
        try:
            with np.load(checkpoint.path, allow_pickle=False) as npz:
                array = np.asarray(npz[name])
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error):
            raise LinexplainError(f"{where} could not be read", "the file is damaged") from None
        return array.astype(dtype)
    assert tensor.offset is not None
    with open(checkpoint.path, "rb") as file:
        file.seek(tensor.offset)
        raw = file.read(tensor.nbytes)
    if len(raw) != tensor.nbytes:
        raise LinexplainError(f"{where}: the file ends inside it", "the file is damaged")
    array = np.frombuffer(raw, dtype=_NUMPY_DTYPES[tensor.dtype])
    if tensor.dtype == "BF16":
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array.reshape(tensor.shape).astype(dtype)
