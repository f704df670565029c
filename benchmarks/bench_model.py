"""``linexplain model`` on a GPT-2-XL-sized checkpoint, against the start-up of ``shape``.

The checkpoint is a sparse file: GPT-2-XL's header (n_layer 48, n_embd 1600, vocab 50257,
n_positions 1024; the names, shapes and sorted offsets ``save_pretrained`` writes for
``GPT2LMHeadModel``, lm_head tied and left out) followed by a hole the size of its tensors
(``truncate``), with the config.json beside it. Nothing in it is ever downloaded or written.

Both commands run as whole processes, interleaved, stdout on a pipe, from compiled bytecode as
an installed package runs (``PYTHONDONTWRITEBYTECODE`` dropped, the bytecode kept in a
temporary ``PYTHONPYCACHEPREFIX``); the figure is the ratio of medians (goal: ``model`` ≤ 1.2×
``shape``). The bytes each process read are its ``rchar`` from ``/proc/self/io`` (every read:
Python's own modules too), so ``model``'s extra over ``shape`` is what explaining the
checkpoint cost; a probe also counts the bytes read from the checkpoint itself: its header, not
its tensors.

    python benchmarks/bench_model.py [--runs 30] [--dtype F32|F16|BF16]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_LAYER, N_EMBD, VOCAB, N_POSITIONS = 48, 1600, 50257, 1024
ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2}

# Runs linexplain's command in this process, then prints the process's rchar to stderr.
PROBE = """
import atexit, builtins, os, sys
TARGET = os.environ.get("BENCH_CHECKPOINT")
from_checkpoint = [0]
real_open = builtins.open

class Counted:
    def __init__(self, file):
        self._file = file
    def read(self, *args):
        data = self._file.read(*args)
        from_checkpoint[0] += len(data)
        return data
    def __enter__(self):
        return self
    def __exit__(self, *args):
        return self._file.__exit__(*args)
    def __getattr__(self, name):
        return getattr(self._file, name)

def counting_open(file, *args, **kwargs):
    opened = real_open(file, *args, **kwargs)
    if TARGET and isinstance(file, str) and os.path.realpath(file) == TARGET:
        return Counted(opened)
    return opened

builtins.open = counting_open

def report():
    for line in real_open('/proc/self/io'):
        if line.startswith('rchar:'):
            sys.stderr.write('RCHAR ' + line.split()[1] + '\\n')
    sys.stderr.write('CHECKPOINT ' + str(from_checkpoint[0]) + '\\n')

atexit.register(report)
sys.argv = ['linexplain', *sys.argv[1:]]
from linexplain import main
main()
"""


def gpt2_xl_shapes() -> dict[str, list[int]]:
    """Every tensor GPT2LMHeadModel.save_pretrained writes for GPT-2-XL, by name."""
    e, inner = N_EMBD, 4 * N_EMBD
    shapes = {"transformer.wte.weight": [VOCAB, e], "transformer.wpe.weight": [N_POSITIONS, e]}
    for i in range(N_LAYER):
        p = f"transformer.h.{i}."
        shapes |= {
            p + "ln_1.weight": [e], p + "ln_1.bias": [e],
            p + "attn.c_attn.weight": [e, 3 * e], p + "attn.c_attn.bias": [3 * e],
            p + "attn.c_proj.weight": [e, e], p + "attn.c_proj.bias": [e],
            p + "ln_2.weight": [e], p + "ln_2.bias": [e],
            p + "mlp.c_fc.weight": [e, inner], p + "mlp.c_fc.bias": [inner],
            p + "mlp.c_proj.weight": [inner, e], p + "mlp.c_proj.bias": [e],
        }  # fmt: skip
    shapes |= {"transformer.ln_f.weight": [e], "transformer.ln_f.bias": [e]}
    return shapes


def write_checkpoint(folder: Path, dtype: str) -> Path:
    """The sparse checkpoint and its config.json; returns the checkpoint's path."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in sorted(gpt2_xl_shapes().items()):
        size = ITEMSIZE[dtype]
        for d in shape:
            size *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors pads its header to 8 bytes
    path = folder / "model.safetensors"
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(raw)) + raw)
        file.truncate(8 + len(raw) + offset)  # a hole: no data is written
    config = {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": N_EMBD,
        "n_layer": N_LAYER, "n_head": 25, "n_positions": N_POSITIONS, "vocab_size": VOCAB,
        "tie_word_embeddings": True,
    }  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return path


def run(argv: list[str], env: dict[str, str]) -> tuple[float, dict[str, int]]:
    """Seconds for one run, and what a probe reported (RCHAR: every byte the process read;
    CHECKPOINT: the bytes read from the checkpoint file)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, check=True, env=env)
    elapsed = time.perf_counter() - start
    lines = [x.split() for x in proc.stderr.decode().splitlines()]
    return elapsed, {x[0]: int(x[1]) for x in lines if len(x) == 2 and x[1].isdigit()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--dtype", choices=sorted(ITEMSIZE), default="F32")
    args = parser.parse_args()
    exe = shutil.which("linexplain") or str(Path(sys.executable).parent / "linexplain")
    with tempfile.TemporaryDirectory() as tmp:
        # As an installed package runs: from compiled bytecode (kept out of the source tree).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        path = write_checkpoint(Path(tmp), args.dtype)
        env["BENCH_CHECKPOINT"] = os.path.realpath(path)
        info = os.stat(path)
        print(
            f"{path.name}: {info.st_size:,} bytes ({info.st_size / 2**30:.2f} GiB), "
            f"{info.st_blocks * 512:,} on disk (sparse); header "
            f"{struct.unpack('<Q', path.read_bytes()[:8])[0]:,} bytes; {args.dtype}"
        )
        commands = {
            "shape": [exe, "shape", "--in", "3", "--out", "3", "-s", "N,C,3"],
            "model": [exe, "model", str(path), "-s", "B,T,1600", "--dims", "B=8,T=1024"],
        }
        probes = {
            "shape": [sys.executable, "-c", PROBE, *commands["shape"][1:]],
            "model": [sys.executable, "-c", PROBE, *commands["model"][1:]],
        }
        out = subprocess.run(commands["model"], capture_output=True, text=True, check=True, env=env)
        print(f"model prints {len(out.stdout.splitlines())} lines: {out.stdout.splitlines()[0]}")
        for argv in commands.values():  # warm the caches, compile the bytecode
            run(argv, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                times[name].append(run(argv, env)[0])
        medians = {name: statistics.median(ts) for name, ts in times.items()}
        read = {name: run(argv, env)[1] for name, argv in probes.items()}
    ratio = medians["model"] / medians["shape"]
    print(f"median of {args.runs} runs, interleaved, stdout on a pipe:")
    for name, seconds in medians.items():
        rchar = read[name]["RCHAR"]
        print(f"  linexplain {name:5s}  {seconds * 1000:7.1f} ms   read {rchar:>10,} bytes")
    print(f"  model / shape: {ratio:.2f}×   (goal ≤ 1.20×)")
    print(
        f"  bytes read beyond shape's: {read['model']['RCHAR'] - read['shape']['RCHAR']:,}; "
        f"from the checkpoint: {read['model']['CHECKPOINT']:,} of its {info.st_size:,}"
    )


if __name__ == "__main__":
    main()
