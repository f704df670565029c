"""Build small real checkpoints for ``linexplain model``; writes tests/data/models/.

The checkpoints are made by the real libraries (torch 2.13, transformers 5.24.0, safetensors
0.8.0), randomly initialised from small configs: nothing is downloaded. transformers and
safetensors are installed once into a throwaway directory (``pip install --target``, torch held
at 2.13.0 by a constraint), so the project's venv keeps its exact packages:

    python scripts/gen_model_fixtures.py            # installs into /tmp/linexplain-model-libs
    python scripts/gen_model_fixtures.py --libs DIR # or into DIR

What it writes (each directory is one checkpoint, with the config.json beside it that
``save_pretrained`` writes, where there is one):

- ``mlp/``: ``nn.Sequential(Linear(8, 16), ReLU(), Linear(16, 16), ReLU(), Linear(16, 4,
  bias=False))`` saved by ``safetensors.torch.save_file`` (``mlp.safetensors``), by
  ``np.savez`` of its state_dict (``mlp.npz``), and as ``print(model)`` shows it (``mlp.txt``).
- ``gpt2/``: ``GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=64,
  n_positions=16))`` saved by ``save_pretrained``: transformers' Conv1D layers (weights stored
  in × out), ``lm_head`` tied to ``wte`` and so left out of the file, config.json.
- ``gpt2_hub/``: the same model's ``GPT2Model`` state_dict laid out as the published ``gpt2``
  checkpoint is (names without ``transformer.``, no ``lm_head``), with the causal-mask buffers
  older transformers saved (``h.N.attn.bias`` F32 (1, 1, 16, 16), ``h.N.attn.masked_bias``),
  saved by ``safetensors.torch.save_file``; config.json names ``GPT2LMHeadModel``.
- ``gpt2_save_model/``: the GPT-2 saved by ``safetensors.torch.save_model``, which drops the
  tied ``lm_head.weight`` and names it in ``__metadata__``; no config.json.
- ``gpt2_npz/``: the GPT-2's state_dict saved by ``np.savez``: the tied weight stored twice
  (the same bytes), no config.json.
- ``llama/``: ``LlamaForCausalLM(LlamaConfig(hidden_size=16, intermediate_size=32,
  num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, vocab_size=64))`` saved by
  ``save_pretrained`` (nn.Linear layers without bias, an untied ``lm_head``).
- ``expected.json``: for each checkpoint, what torch itself says: every ``nn.Linear`` and
  ``Conv1D`` module by name (kind, in_features, out_features, bias, params), the model's
  parameter count (tied weights once, as ``model.parameters()`` counts them), and which
  state_dict names share storage. tests/test_model.py checks linexplain against it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "models"
VERSIONS = ("transformers==5.24.0", "safetensors==0.8.0")
TORCH = "torch==2.13.0"


def _ensure_libs(libs: Path) -> None:
    """Re-run this script with transformers and safetensors importable (installed once)."""
    try:
        import safetensors  # noqa: F401
        import transformers  # noqa: F401

        return
    except ImportError:
        pass
    if os.environ.get("_LINEXPLAIN_FIXTURE_LIBS"):
        sys.exit(f"transformers/safetensors still missing from {libs}")
    if not (libs / "transformers").is_dir():
        constraints = libs.with_suffix(".constraints.txt")
        constraints.write_text(TORCH + "\n")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(libs),
             "-c", str(constraints), *VERSIONS],
            check=True,
        )  # fmt: skip
        if (libs / "torch").exists():  # torch must come from the venv, at 2.13.0
            sys.exit(f"pip put a torch into {libs}; remove it and hold torch at 2.13.0")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(libs)])),
        "_LINEXPLAIN_FIXTURE_LIBS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    sys.exit(subprocess.run([sys.executable, *sys.argv], env=env).returncode)


def _modules(model: Any) -> dict[str, dict[str, Any]]:
    """Every nn.Linear and transformers Conv1D of ``model``, as torch sees it."""
    import torch
    from transformers.pytorch_utils import Conv1D

    out = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            kind, in_, out_ = "linear", module.in_features, module.out_features
        elif isinstance(module, Conv1D):
            kind, in_, out_ = "conv1d", module.weight.shape[0], module.nf
        else:
            continue
        out[name] = {
            "kind": kind,
            "in_features": int(in_),
            "out_features": int(out_),
            "bias": module.bias is not None,
            "params": sum(p.numel() for p in module.parameters()),
        }
    return out


def _shared(model: Any) -> list[list[str]]:
    """state_dict names that share one storage (tied weights)."""
    groups: dict[int, list[str]] = {}
    for name, tensor in model.state_dict().items():
        groups.setdefault(tensor.data_ptr(), []).append(name)
    return sorted(sorted(names) for names in groups.values() if len(names) > 1)


def _record(model: Any, files: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "files": files,
        "layers": _modules(model),
        "model_params": sum(p.numel() for p in model.parameters()),  # tied ones once
        "shared": _shared(model),
        **extra,
    }


def _clean(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libs", type=Path, default=Path("/tmp/linexplain-model-libs"))
    args = parser.parse_args()
    _ensure_libs(args.libs)

    import numpy as np
    import safetensors
    import torch
    import transformers
    from safetensors.torch import save_file, save_model
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    assert torch.__version__.split("+")[0] == "2.13.0", torch.__version__
    OUT.mkdir(parents=True, exist_ok=True)
    expected: dict[str, Any] = {
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "safetensors": safetensors.__version__,
        }
    }

    # An nn.Sequential MLP: three ways to give it.
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(8, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 4, bias=False),
    )
    folder = _clean(OUT / "mlp")
    save_file(mlp.state_dict(), str(folder / "mlp.safetensors"))
    np.savez(folder / "mlp.npz", **{k: v.numpy() for k, v in mlp.state_dict().items()})
    (folder / "mlp.txt").write_text(str(mlp) + "\n")
    expected["mlp"] = _record(mlp, ["mlp/mlp.safetensors", "mlp/mlp.npz", "mlp/mlp.txt"])

    # A tiny GPT-2, random init, nothing downloaded.
    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=2, n_embd=16, n_head=2, vocab_size=64, n_positions=16, bos_token_id=0,
        eos_token_id=0,
    )  # fmt: skip
    gpt2 = GPT2LMHeadModel(config).eval()
    folder = _clean(OUT / "gpt2")
    gpt2.save_pretrained(folder)
    (folder / "generation_config.json").unlink(missing_ok=True)
    expected["gpt2"] = _record(gpt2, ["gpt2/model.safetensors"])

    # The published gpt2 checkpoint's layout: GPT2Model's names, mask buffers, no lm_head.
    folder = _clean(OUT / "gpt2_hub")
    state = {k: v.clone() for k, v in gpt2.transformer.state_dict().items()}
    n = config.n_positions
    for i in range(config.n_layer):
        state[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
        state[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(OUT / "gpt2" / "config.json", folder / "config.json")
    hub = _record(gpt2, ["gpt2_hub/model.safetensors"])
    hub["layers"] = {k.removeprefix("transformer."): v for k, v in hub["layers"].items()}
    hub["buffers"] = sorted(k for k in state if ".attn.bias" in k or "masked_bias" in k)
    hub["shared"] = [["lm_head.weight", "wte.weight"]]
    expected["gpt2_hub"] = hub

    folder = _clean(OUT / "gpt2_save_model")
    save_model(gpt2, str(folder / "model.safetensors"))
    expected["gpt2_save_model"] = _record(gpt2, ["gpt2_save_model/model.safetensors"])

    folder = _clean(OUT / "gpt2_npz")
    np.savez(folder / "model.npz", **{k: v.numpy() for k, v in gpt2.state_dict().items()})
    expected["gpt2_npz"] = _record(gpt2, ["gpt2_npz/model.npz"])

    # A Llama-style model: nn.Linear without bias, grouped-query attention, untied head.
    torch.manual_seed(0)
    llama_config = LlamaConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, vocab_size=64, max_position_embeddings=16, bos_token_id=0,
        eos_token_id=0, tie_word_embeddings=False,
    )  # fmt: skip
    llama = LlamaForCausalLM(llama_config).eval()
    folder = _clean(OUT / "llama")
    llama.save_pretrained(folder)
    (folder / "generation_config.json").unlink(missing_ok=True)
    expected["llama"] = _record(llama, ["llama/model.safetensors"])

    (OUT / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT} ({total:,} bytes)")


if __name__ == "__main__":
    main()
