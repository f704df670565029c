"""linexplain model: every Linear layer of a real checkpoint, from its header only (issue 13).

The checkpoints in tests/data/models were made by torch, transformers and safetensors
(scripts/gen_model_fixtures.py), and expected.json holds what torch said about each model: every
nn.Linear and Conv1D by name, and the parameter count with tied weights once. Hostile files are
made here, in tmp_path.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import ROOT, assert_one_line_error, cli

from linexplain import checkpoint as checkpoint_module
from linexplain.errors import LinexplainError
from linexplain.model import classify
from linexplain.tensors import read_checkpoint

MODELS = ROOT / "tests" / "data" / "models"
EXPECTED: dict[str, Any] = json.loads((MODELS / "expected.json").read_text())
FILES = [
    (name, file) for name, case in EXPECTED.items() if name != "versions" for file in case["files"]
]


def model_json(*args: str) -> dict[str, Any]:
    result = cli("model", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def raw_tensor(path: Path, name: str) -> np.ndarray:
    """A tensor of a safetensors file, read here independently of linexplain."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    entry = json.loads(data[8 : 8 + length])[name]
    begin, end = entry["data_offsets"]
    assert entry["dtype"] == "F32"
    raw = data[8 + length + begin : 8 + length + end]
    return np.frombuffer(raw, dtype="<f4").reshape(entry["shape"])


# --- every Linear of the real checkpoints --------------------------------------------------------


@pytest.mark.parametrize(("model", "file"), FILES, ids=[f for _, f in FILES])
def test_every_linear_found_with_its_kind_sizes_and_counts(model: str, file: str) -> None:
    expected = EXPECTED[model]
    data = model_json(str(MODELS / file), "-s", "B,T,16", "--dims", "B=2,T=3")
    found = {layer["name"]: layer for layer in data["layers"]}
    assert set(found) == set(expected["layers"])
    for name, torch_says in expected["layers"].items():
        layer = found[name]
        for key in ("kind", "in_features", "out_features", "bias", "params"):
            assert layer[key] == torch_says[key], (name, key)
        assert layer["macs"] == 6 * layer["in_features"] * layer["out_features"]
        bias_adds = 6 * layer["out_features"] if layer["bias"] else 0
        assert layer["bias_adds"] == bias_adds
        assert layer["flops"] == 2 * layer["macs"] + bias_adds
    assert data["model_params"] == expected["model_params"]  # tied weights once
    assert data["macs"] == sum(layer["macs"] for layer in data["layers"])
    assert data["linear_layers"] == len(expected["layers"])
    assert data["conv1d_layers"] == sum(x["kind"] == "conv1d" for x in expected["layers"].values())


def test_json_keys_are_stable() -> None:
    data = model_json(str(MODELS / "gpt2" / "model.safetensors"))
    assert {"layers", "params", "macs", "flops", "bias_adds", "bytes", "model_params", "tied",
            "embeddings", "norms", "buffers", "other", "file", "format", "model_type",
            "leading_dims", "rows", "dims", "input_shape"} <= set(data)  # fmt: skip
    for layer in data["layers"]:
        assert {"name", "kind", "in_features", "out_features", "bias", "params", "macs",
                "dtype"} <= set(layer)  # fmt: skip
        assert layer["kind"] in ("linear", "conv1d")
        assert layer["dtype"] == "float32"
    assert data["rows"] == "N" and data["macs"] == "7168*N"  # no -s: per N input rows
    assert data["params"] == sum(layer["params"] for layer in data["layers"])


def test_conv1d_is_flagged_with_how_it_was_decided() -> None:
    data = model_json(str(MODELS / "gpt2" / "model.safetensors"))
    by = {layer["name"]: layer for layer in data["layers"]}
    c_attn = by["transformer.h.0.attn.c_attn"]
    assert c_attn["kind"] == "conv1d" and c_attn["stored_shape"] == [16, 48]
    assert c_attn["kind_source"] == "bias" and "columns" in c_attn["kind_reason"]
    square = by["transformer.h.0.attn.c_proj"]  # 16 × 16: the bias cannot tell
    assert square["kind_source"] == "config" and "model_type gpt2" in square["kind_reason"]
    assert by["lm_head"]["kind"] == "linear"
    text = cli("model", str(MODELS / "gpt2" / "model.safetensors")).stdout
    assert "conv1d: transformers' Conv1D stores its weight in × out" in text
    assert "bias (48,) = cols" in text and "config.json gpt2" in text


def test_without_a_config_the_file_itself_decides_square_layers() -> None:
    data = model_json(str(MODELS / "gpt2_save_model" / "model.safetensors"))
    square = next(x for x in data["layers"] if x["name"] == "transformer.h.1.attn.c_proj")
    assert square["kind"] == "conv1d" and square["kind_source"] == "file"
    assert "transformer.h.1.mlp.c_proj" in square["kind_reason"]  # the nearest sibling
    mlp = model_json(str(MODELS / "mlp" / "mlp.safetensors"))["layers"]
    assert [(x["kind"], x["kind_source"]) for x in mlp] == [
        ("linear", "bias"), ("linear", "file"), ("linear", "default")
    ]  # fmt: skip


def test_llama_is_linear_by_its_model_type() -> None:
    data = model_json(str(MODELS / "llama" / "model.safetensors"))
    assert {x["kind_source"] for x in data["layers"]} == {"config"}
    k_proj = next(x for x in data["layers"] if x["name"].endswith("0.self_attn.k_proj"))
    assert (k_proj["in_features"], k_proj["out_features"]) == (16, 8)  # grouped-query attention
    assert data["tied"] == []
    assert [x["name"] for x in data["norms"]][-1] == "model.norm.weight"


def test_embeddings_norms_and_buffers_are_not_linear() -> None:
    data = model_json(str(MODELS / "gpt2_hub" / "model.safetensors"))
    names = {x["name"] for x in data["layers"]}
    assert {x["name"] for x in data["embeddings"]} == {"wte.weight", "wpe.weight"}
    assert {x["name"] for x in data["buffers"]} == set(EXPECTED["gpt2_hub"]["buffers"])
    assert all(x["name"].startswith(("h.", "ln_f")) for x in data["norms"])
    assert not names & {x["name"].removesuffix(".weight") for x in data["embeddings"]}
    assert not any("attn.bias" in n or "masked" in n for n in names)
    text = cli("model", str(MODELS / "gpt2_hub" / "model.safetensors")).stdout
    assert "h.*.attn.bias" in text and "GPT-2's causal mask" in text


@pytest.mark.parametrize(
    ("folder", "source"),
    [
        ("gpt2", "config.json tie_word_embeddings is true"),
        ("gpt2_hub", "config.json tie_word_embeddings is true"),
        ("gpt2_save_model", "__metadata__ (safetensors.torch.save_model)"),
        ("gpt2_npz", "the same bytes (zip CRC-32 and size)"),
    ],
)
def test_tied_weights_are_counted_once(folder: str, source: str) -> None:
    file = next((MODELS / folder).glob("model.*"))
    data = model_json(str(file))
    assert [t["source"] for t in data["tied"]] == [source]
    tie = data["tied"][0]
    assert {tie["name"].removeprefix("transformer."), tie["to"].removeprefix("transformer.")} == {
        "lm_head.weight", "wte.weight"
    }  # fmt: skip
    head = next(x for x in data["layers"] if x["name"] == "lm_head")
    assert head["tied_to"] is not None
    assert data["model_params"] == EXPECTED[folder]["model_params"]
    text = cli("model", str(file)).stdout
    assert "are one tensor" in text and "counted once" in text


def test_a_tied_head_the_file_leaves_out_is_said() -> None:
    data = model_json(str(MODELS / "gpt2" / "model.safetensors"))
    head = next(x for x in data["layers"] if x["name"] == "lm_head")
    assert head["in_file"] is False and head["bytes"] == 0
    assert head["tied_to"] == "transformer.wte.weight" and head["kind_source"] == "tied"
    assert "(not in file)" in cli("model", str(MODELS / "gpt2" / "model.safetensors")).stdout


def test_printed_module_text_gives_the_layers() -> None:
    data = model_json(str(MODELS / "mlp" / "mlp.txt"), "-s", "32,8")
    assert data["format"] == "text"
    assert [(x["name"], x["in_features"], x["out_features"]) for x in data["layers"]] == [
        ("0", 8, 16), ("2", 16, 16), ("4", 16, 4)
    ]  # fmt: skip
    assert data["macs"] == 32 * (8 * 16 + 16 * 16 + 16 * 4)
    assert "no dtype" in cli("model", str(MODELS / "mlp" / "mlp.txt")).stdout


# --- options -----------------------------------------------------------------------------------


def test_conv1d_and_linear_override_the_kind() -> None:
    mlp = str(MODELS / "mlp" / "mlp.safetensors")
    data = model_json(mlp, "--conv1d", "2", "--linear", "4")
    by = {x["name"]: x for x in data["layers"]}
    assert (by["2"]["kind"], by["2"]["kind_source"]) == ("conv1d", "option")
    assert by["4"]["kind_source"] == "option"
    four = model_json(mlp, "--conv1d", "4")["layers"][2]  # stored (4, 16): in 4, out 16
    assert (four["kind"], four["in_features"], four["out_features"]) == ("conv1d", 4, 16)
    gpt2 = str(MODELS / "gpt2" / "model.safetensors")
    square = model_json(gpt2, "--linear", "*.attn.c_proj")["layers"]
    assert {x["kind"] for x in square if x["name"].endswith("attn.c_proj")} == {"linear"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--linear", "*.c_attn"], "its bias has 48 numbers"),
        (["--conv1d", "*.nothing"], "matches no 2-D weight"),
        (["--conv1d", "*.c_fc", "--linear", "*.c_fc"], "both name"),
        (["--layer", "h.0.mlp.c_fx"], "did you mean"),
        (["--layer", ""], "empty pattern"),
        (["-s", "B,T,16", "--dims", "X=3"], "--dims names X"),
    ],
)
def test_bad_options_are_one_line_errors(args: list[str], words: str) -> None:
    result = cli("model", str(MODELS / "gpt2" / "model.safetensors"), *args)
    assert words in assert_one_line_error(result)


def test_layer_picks_by_name_or_glob() -> None:
    gpt2 = str(MODELS / "gpt2" / "model.safetensors")
    data = model_json(gpt2, "--layer", "transformer.h.0.*")
    assert [x["name"] for x in data["layers"]] == [
        f"transformer.h.0.{m}" for m in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
    ]
    data = model_json(gpt2, "--layer", "lm_head", "--layer", "*.c_fc,*.c_attn.weight")
    assert len(data["layers"]) == 5 and data["picked"] == ["lm_head", "*.c_fc", "*.c_attn.weight"]
    assert data["params"] == sum(x["params"] for x in data["layers"])
    assert "5 of 9 Linear layers" in cli("model", gpt2, "--layer", "lm_head,*.c_fc,*.c_attn").stdout


def test_named_dims_stay_symbolic_until_sized() -> None:
    gpt2 = str(MODELS / "gpt2" / "model.safetensors")
    data = model_json(gpt2, "-s", "B,T,16")
    assert data["leading_dims"] == ["B", "T"] and data["macs"] == "7168*B*T"
    data = model_json(gpt2, "-s", "B,T,16", "--dims", "B=8,T=1024")
    assert data["rows"] == 8192 and data["macs"] == 7168 * 8192
    assert model_json(gpt2, "-s", "16")["macs"] == 7168  # a 1-D input: one row


# --- one layer, really explained (--key) --------------------------------------------------------

X = [[0.5 - i / 16 for i in range(16)], [i / 32 for i in range(16)]]


def test_key_runs_a_conv1d_layer_with_its_real_weights_transposed() -> None:
    path = MODELS / "gpt2" / "model.safetensors"
    stored = raw_tensor(path, "transformer.h.0.mlp.c_fc.weight")  # (16, 64): in × out
    bias = raw_tensor(path, "transformer.h.0.mlp.c_fc.bias")
    result = cli("run", "--weight-file", str(path), "--key", "transformer.h.0.mlp.c_fc",
                 "--input", json.dumps(X), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    np.testing.assert_array_equal(np.array(data["weight"], dtype=np.float32), stored.T)
    np.testing.assert_array_equal(np.array(data["bias"], dtype=np.float32), bias)
    conv1d = np.array(X, dtype=np.float32) @ stored + bias  # what Conv1D computes
    np.testing.assert_allclose(np.array(data["output"]), conv1d, rtol=1e-6, atol=1e-6)
    assert "transposed into layer.weight's out × in (64, 16)" in data["notes"][0]
    text = cli("run", "--weight-file", str(path), "--key", "*.h.0.mlp.c_fc").stdout
    assert "a Conv1D weight stored in × out (16, 64), transposed" in text


def test_key_through_explain_and_expand() -> None:
    path = MODELS / "gpt2" / "model.safetensors"
    stored = raw_tensor(path, "transformer.h.1.attn.c_attn.weight")
    result = cli("explain", "--weight-file", str(path), "--key", "transformer.h.1.attn.c_attn",
                 "-s", "B,T,16", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["shape"]["weight_shape"] == [48, 16] and data["shape"]["macs"] == "768*B*T"
    np.testing.assert_array_equal(np.array(data["run"]["weight"], dtype=np.float32), stored.T)
    assert "Conv1D" in data["notes"][0]
    text = cli("explain", "--weight-file", str(path), "--key", "transformer.h.1.attn.c_attn").stdout
    assert "nn.Linear(in_features=16, out_features=48, bias=True)" in text.splitlines()[0]
    assert "transposed" in text
    expand = cli("expand", "--weight-file", str(path), "--key", "transformer.h.1.attn.c_attn")
    assert expand.exit_code == 0 and "transposed" in expand.stdout


def test_key_takes_a_linear_as_stored_and_a_tied_head_from_its_embedding() -> None:
    llama = MODELS / "llama" / "model.safetensors"
    name = "model.layers.0.self_attn.k_proj"
    data = json.loads(cli("run", "--weight-file", str(llama), "--key", name, "--json").stdout)
    np.testing.assert_array_equal(
        np.array(data["weight"], dtype=np.float32), raw_tensor(llama, name + ".weight")
    )
    assert data["bias"] is None and "out × in (8, 16)" in data["notes"][0]
    gpt2 = MODELS / "gpt2" / "model.safetensors"
    data = json.loads(cli("run", "--weight-file", str(gpt2), "--key", "lm_head", "--json").stdout)
    np.testing.assert_array_equal(
        np.array(data["weight"], dtype=np.float32), raw_tensor(gpt2, "transformer.wte.weight")
    )
    assert "tied" in data["notes"][0]


def test_key_reads_an_npz_state_dict_too() -> None:
    npz = MODELS / "gpt2_npz" / "model.npz"
    with np.load(npz) as arrays:
        stored = arrays["transformer.h.0.attn.c_proj.weight"]
    result = cli("run", "--weight-file", str(npz), "--key", "transformer.h.0.attn.c_proj", "--json")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.array(json.loads(result.stdout)["weight"]), stored.T)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--key", "lm_head"], "no --weight-file"),
        (["--key", "*.c_proj", "--weight-file", "{gpt2}"], "matches 4 layers"),
        (["--key", "h.0.mlp.c_fx", "--weight-file", "{gpt2}"], "names none"),
        (["--key", "0", "--weight-file", "{txt}"], "has no weights"),
        (["--key", "lm_head", "--weight-file", "{gpt2}", "--net", "3,2"], "--net"),
    ],
)
def test_key_errors(args: list[str], words: str) -> None:
    files = {
        "gpt2": str(MODELS / "gpt2" / "model.safetensors"),
        "txt": str(MODELS / "mlp" / "mlp.txt"),
    }
    result = cli("run", *[a.format(**files) for a in args])
    assert words in assert_one_line_error(result)


# --- pickles and hostile files -------------------------------------------------------------------


def test_pickles_are_refused_with_the_conversion(tmp_path: Path) -> None:
    for name, content in (
        ("model.pt", b"anything"),
        ("pytorch_model.bin", b"\x80\x04K\x01."),
        ("weights.dat", b"\x80\x04K\x01."),  # the pickle protocol's first byte
    ):
        (tmp_path / name).write_bytes(content)
        line = assert_one_line_error(cli("model", str(tmp_path / name)))
        assert "never unpickles" in line
        assert 'safetensors.torch.save_file(model.state_dict(), "model.safetensors")' in line
    with zipfile.ZipFile(tmp_path / "saved.npz", "w") as archive:  # torch.save's zip format
        archive.writestr("archive/data.pkl", b"\x80\x02.")
    assert "never unpickles" in assert_one_line_error(cli("model", str(tmp_path / "saved.npz")))


def test_a_real_torch_save_file_is_never_unpickled(torch: Any, tmp_path: Path) -> None:
    state = torch.nn.Linear(3, 2).state_dict()
    for name in ("layer.pt", "layer.zip"):
        torch.save(state, tmp_path / name)
        assert "never unpickles" in assert_one_line_error(cli("model", str(tmp_path / name)))
        result = cli("run", "--weight-file", str(tmp_path / name), "--key", "x")
        assert "never unpickles" in assert_one_line_error(result)


def _safetensors(header: Any, data: bytes = b"", length: int | None = None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _f32(shape: list[int], begin: int, end: int) -> dict[str, Any]:
    return {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}


def _npz_member(header: bytes, size: int | None = None) -> bytes:
    body = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    return body + b"\0" * (size if size is not None else 0)


HOSTILE: dict[str, tuple[bytes, str]] = {
    "header length 2**63": (struct.pack("<Q", 2**63) + b"{}", "claims"),
    "header length 2**64-1": (struct.pack("<Q", 2**64 - 1), "claims"),
    "too short": (b"\x01\x00", "too short"),
    "empty": (b"", "too short"),
    "truncated header": (_safetensors({"a": _f32([2], 0, 8)})[:30], "claims"),
    "truncated data": (_safetensors({"a": _f32([4, 4], 0, 64)}, b"\0" * 10), "outside the file"),
    "offsets past the end": (_safetensors({"a": _f32([2], 8, 16)}, b"\0" * 8), "outside"),
    "offsets reversed": (_safetensors({"a": _f32([0], 8, 0)}, b"\0" * 8), "outside"),
    "offsets not ints": (
        _safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8.0]}}, b"\0" * 8),
        "outside",
    ),
    "overlapping offsets": (
        _safetensors({"a": _f32([4], 0, 16), "b": _f32([4], 8, 24)}, b"\0" * 24),
        "overlap",
    ),
    "the same bytes twice": (
        _safetensors({"a": _f32([4], 0, 16), "b": _f32([4], 0, 16)}, b"\0" * 16),
        "overlap",
    ),
    "non-UTF-8 header": (_safetensors(b'{"\xff\xfe": 1}'), "not UTF-8 JSON"),
    "not JSON": (_safetensors(b"{not json}"), "not UTF-8 JSON"),
    "a JSON list": (_safetensors(b"[1, 2, 3]"), "not a JSON object"),
    "deeply nested JSON": (_safetensors(b'{"a":' * 100_000 + b"1" + b"}" * 100_000), "deeply"),
    "deeply nested lists": (_safetensors(b"[" * 1_000_000 + b"]" * 1_000_000), "deeply"),
    "too many JSON values": (_safetensors(b"[" + b"0," * 4_000_001 + b"0]"), "JSON values"),
    "a huge int": (_safetensors(b'{"a": ' + b"9" * 5000 + b"}"), "not UTF-8 JSON"),
    "NaN": (_safetensors(b'{"a": NaN}'), "not UTF-8 JSON"),
    "a name twice": (
        _safetensors(
            b'{"a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}, '
            b'"a": {"dtype": "F32", "shape": [], "data_offsets": [4, 8]}}',
            b"\0" * 8,
        ),
        "twice",
    ),
    "negative dims": (_safetensors({"a": _f32([-2, -2], 0, 16)}, b"\0" * 16), "bad shape"),
    "huge dims": (_safetensors({"a": _f32([2**62, 2**62], 0, 16)}, b"\0" * 16), "does not fill"),
    "dims past int64": (_safetensors({"a": _f32([2**64], 0, 16)}, b"\0" * 16), "bad shape"),
    "many dims": (_safetensors({"a": _f32([1] * 100, 0, 4)}, b"\0" * 4), "bad shape"),
    "float dims": (_safetensors({"a": _f32([2.0], 0, 8)}, b"\0" * 8), "bad shape"),
    "unknown dtype": (
        _safetensors({"a": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, b"\0" * 16),
        "no known dtype",
    ),
    "metadata not strings": (_safetensors({"__metadata__": {"a": 1}}), "__metadata__"),
    "entry not an object": (_safetensors({"a": 3}), "no known dtype"),
}


def _hostile_npz(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    cases = {}
    good = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"

    def write(name: str, members: dict[str, bytes]) -> Path:
        path = tmp_path / f"{name}.npz"
        with zipfile.ZipFile(path, "w") as archive:
            for member, content in members.items():
                archive.writestr(member, content)
        return path

    cases["npz header length too big"] = (
        write("big", {"w.npy": b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{"}),
        "claims",
    )
    cases["npz size mismatch"] = (
        write("mismatch", {"w.npy": _npz_member(good, 4)}),
        "does not fill",
    )
    cases["npz huge shape"] = (
        write("huge", {"w.npy": _npz_member(good.replace(b"(2, 2)", b"(4611686018427387904, 4)"))}),
        "does not fill",
    )
    cases["npz object array"] = (
        write("object", {"w.npy": _npz_member(good.replace(b"<f4", b"|O"))}),
        "holds '|O'",
    )
    cases["npz code in the header"] = (
        write("code", {"w.npy": _npz_member(b"{'descr': __import__('os').system('x')}")}),
        "not a plain array",
    )
    cases["npz not an array"] = (write("notnpy", {"w.txt": b"hello"}), "not a .npy array")
    cases["npz bad magic"] = (write("magic", {"w.npy": b"NOTNUMPY" * 4}), "not a .npy array")
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    cases["npz damaged"] = (damaged, "not an .npz")
    return cases


def _all_hostile(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    cases = {}
    for index, (name, (content, words)) in enumerate(HOSTILE.items()):
        path = tmp_path / f"hostile{index}.safetensors"
        path.write_bytes(content)
        cases[name] = (path, words)
    return cases | _hostile_npz(tmp_path)


def test_every_hostile_file_is_a_one_line_error_quickly(tmp_path: Path) -> None:
    for name, (path, words) in _all_hostile(tmp_path).items():
        start = time.perf_counter()
        result = cli("model", str(path))
        line = assert_one_line_error(result)
        assert words in line, (name, line)
        assert time.perf_counter() - start < 5, name
        result = cli("run", "--weight-file", str(path), "--key", "a")  # the same checks
        assert_one_line_error(result)


def test_hostile_files_never_allocate_much(tmp_path: Path) -> None:
    """Every hostile file in one process limited to 1 GiB of address space beyond its start."""
    cases = _all_hostile(tmp_path)
    paths = [str(path) for path, _ in cases.values()]
    code = (
        "import io, resource, sys\n"
        "from linexplain.cli import app\n"
        "import linexplain.tensors, linexplain.model, linexplain.models, json, zipfile, zlib\n"
        "used = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()\n"
        "resource.setrlimit(resource.RLIMIT_AS, (used + 2**30, resource.RLIM_INFINITY))\n"
        "for path in sys.argv[1:]:\n"
        "    sys.stderr = io.StringIO()\n"
        "    code = app(['model', path], standalone_mode=False)\n"
        "    err = sys.stderr.getvalue(); sys.stderr = sys.__stderr__\n"
        "    print(code, err.count('\\n'), err.startswith('linexplain: error: '))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *paths], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:-1] == ["2 1 True"] * len(paths), proc.stdout


def test_a_fifo_or_a_directory_is_refused(tmp_path: Path) -> None:
    assert "is a directory" in assert_one_line_error(cli("model", str(tmp_path)))
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    assert "not a regular file" in assert_one_line_error(cli("model", str(fifo)))
    assert "does not exist" in assert_one_line_error(cli("model", str(tmp_path / "missing")))


def test_header_only_a_huge_sparse_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 64 GiB sparse file: only its header is read, and it is explained at once."""
    header = {
        "fc.weight": _f32([2**16, 2**16 // 4 * 4], 0, 2**34),
        "fc.bias": _f32([2**16], 2**34, 2**34 + 2**18),
    }
    raw = _safetensors(header)
    path = tmp_path / "big.safetensors"
    with open(path, "wb") as file:
        file.write(raw)
        file.truncate(len(raw) + 2**34 + 2**18)
    read = []
    real_open = open

    class Counted:
        def __init__(self, file: Any) -> None:
            self.file = file

        def read(self, *args: Any) -> bytes:
            data = self.file.read(*args)
            read.append(len(data))
            return data

        def __enter__(self) -> Counted:
            return self

        def __exit__(self, *args: Any) -> None:
            self.file.close()

    monkeypatch.setattr(
        checkpoint_module, "open", lambda *a, **k: Counted(real_open(*a, **k)), raising=False
    )
    start = time.perf_counter()
    data = model_json(str(path), "-s", "B,65536")
    assert time.perf_counter() - start < 5
    assert sum(read) == len(raw)
    assert data["layers"][0]["params"] == 2**32 + 2**16 and data["macs"] == f"{2**32}*B"
    assert data["file_bytes"] == len(raw) + 2**34 + 2**18


def test_a_config_json_that_cannot_be_read_is_noted_and_ignored(tmp_path: Path) -> None:
    data = (MODELS / "gpt2" / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data)
    (tmp_path / "config.json").write_text("[" * 100_000)
    out = model_json(str(tmp_path / "model.safetensors"))
    assert out["model_type"] is None and "config.json is not readable JSON" in out["notes"][0]
    square = next(x for x in out["layers"] if x["name"] == "transformer.h.0.attn.c_proj")
    assert square["kind"] == "conv1d" and square["kind_source"] == "file"


def test_library_calls_raise_linexplain_errors(tmp_path: Path) -> None:
    with pytest.raises(LinexplainError, match="empty"):
        read_checkpoint("")
    model = classify(read_checkpoint(str(MODELS / "mlp" / "mlp.safetensors")))
    assert [layer.kind for layer in model.layers] == ["linear"] * 3
    with pytest.raises(LinexplainError, match="both name"):
        classify(model.checkpoint, ("0",), ("0",))


def test_model_starts_without_numpy_or_sympy() -> None:
    code = (
        "import sys; from linexplain.cli import app\n"
        f"for args in (['model', {str(MODELS / 'gpt2' / 'model.safetensors')!r}, '-s', 'B,T,16'],\n"
        f"             ['model', {str(MODELS / 'mlp' / 'mlp.npz')!r}, '--json'],\n"
        f"             ['model', {str(MODELS / 'mlp' / 'mlp.txt')!r}], ['model', '--help']):\n"
        "    try: app(args)\n"
        "    except SystemExit: pass\n"
        "print('numpy' in sys.modules, 'sympy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_a_header_whose_length_starts_like_a_pickle_is_still_read(tmp_path: Path) -> None:
    entry = {"fc.weight": _f32([2, 3], 0, 24), "fc.bias": _f32([2], 24, 32)}
    raw = json.dumps(entry).encode()
    raw += b" " * (0x0280 - len(raw))  # the length's bytes are 80 02: pickle protocol 2's start
    path = tmp_path / "model-00002-of-00003.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 32)
    data = model_json(str(path))
    assert [(x["name"], x["in_features"], x["out_features"]) for x in data["layers"]] == [
        ("fc", 3, 2)
    ]
    assert "shard 2 of 3" in data["notes"][0]


def test_quantized_and_bare_weights(tmp_path: Path) -> None:
    header = {
        "q.weight": {"dtype": "I8", "shape": [4, 4], "data_offsets": [0, 16]},
        "weight": _f32([2, 3], 16, 40),
        "bias": _f32([2], 40, 48),
    }
    path = tmp_path / "model.safetensors"
    path.write_bytes(_safetensors(header, b"\0" * 48))
    data = model_json(str(path))
    assert [(x["name"], x["kind"], x["bias"]) for x in data["layers"]] == [
        ("(weight)", "linear", True)
    ]
    assert data["other"][0]["name"] == "q.weight" and "quantized" in data["other"][0]["why"]


def test_explain_takes_an_npz_layer_too(tmp_path: Path) -> None:
    np.savez(tmp_path / "layer.npz", weight=np.eye(2, 3, dtype=np.float32), bias=np.ones(2))
    data = json.loads(cli("explain", "--weight-file", str(tmp_path / "layer.npz"), "--json").stdout)
    assert data["run"]["weight"] == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert data["shape"]["input_shape"] == ["N", "C", 3]
