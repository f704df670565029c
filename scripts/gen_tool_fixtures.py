"""Record what other counting tools report for nn.Linear; writes tests/data/other_tools.json.

Run in a venv of its own (so the project's venv keeps its exact packages), with torch 2.13:

    python3 -m venv /work/venv-tools && . /work/venv-tools/bin/activate
    pip install torch==2.13.0
    pip install -c <(echo torch==2.13.0) numpy torchinfo==1.8.0 fvcore thop ptflops calflops \
        transformers  # calflops imports transformers at import time
    DS_BUILD_OPS=0 pip install -c <(echo torch==2.13.0) --no-build-isolation deepspeed
    python scripts/gen_tool_fixtures.py

Each case is one nn.Linear applied to one input shape; each tool's count for it is recorded as an
int (null where the tool failed, with its error). A tool that cannot be imported is recorded as not
run, with the reason, and all its counts are null. tests/test_tools.py checks that
linexplain/tools.py reproduces every recorded number.

torchinfo main (unreleased, PR #318) is not on PyPI, so it cannot be installed here: its count is
emulated by torchinfo 1.8.0's own summary() with LayerInfo.calculate_macs swapped for the rule of
PR #318 (each parameter's count times the product of the output's leading dims) for Linear layers.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import logging
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "other_tools.json"

# (input_shape, in_features, out_features, bias): the input's last dim is in_features.
CASES: list[tuple[list[int], int, int, bool]] = [
    # 1-D: one row; torchinfo 1.8.0 takes the output's first dim, i.e. out_features
    ([4], 4, 3, True),
    ([4], 4, 3, False),
    ([1], 1, 1, True),
    ([1], 1, 5, False),
    ([3], 3, 1, True),
    ([6], 6, 2, True),
    # 2-D
    ([2, 4], 4, 3, True),
    ([2, 4], 4, 3, False),
    ([1, 4], 4, 3, True),
    ([5, 1], 1, 1, True),
    ([5, 1], 1, 1, False),
    ([3, 2], 2, 7, False),
    ([7, 3], 3, 1, True),
    # 3-D, with the example: torchinfo 1.8.0 multiplies by 2 rather than 2·5
    ([2, 5, 768], 768, 3072, True),
    ([2, 5, 768], 768, 3072, False),
    ([2, 3, 4], 4, 5, True),
    ([2, 3, 4], 4, 5, False),
    ([1, 3, 4], 4, 2, True),
    ([3, 1, 4], 4, 2, False),
    ([1, 1, 1], 1, 1, True),
    ([4, 6, 1], 1, 3, True),
    # 4-D and 5-D
    ([2, 3, 4, 5], 5, 6, True),
    ([2, 3, 4, 5], 5, 6, False),
    ([1, 2, 3, 4], 4, 3, True),
    ([2, 1, 1, 4], 4, 3, False),
    ([1, 1, 1, 2], 2, 1, True),
    ([3, 2, 2, 2], 2, 4, True),
    ([2, 1, 3, 2, 4], 4, 3, True),
    ([2, 1, 3, 2, 4], 4, 3, False),
    # zero-size: no rows, no features in, no features out
    ([0, 4], 4, 3, True),
    ([0, 4], 4, 3, False),
    ([2, 0, 4], 4, 3, True),
    ([2, 0, 4], 4, 3, False),
    ([2, 3, 0], 0, 4, True),
    ([2, 3, 0], 0, 4, False),
    ([0], 0, 3, True),
    ([2, 4], 4, 0, True),
    ([4], 4, 0, False),
]


Counted = int | tuple[int, str]  # a count, or a count and how it had to be taken


def as_count(value: Any) -> int:
    """A tool's number as an exact int (thop and ptflops hand back floats)."""
    number = float(value) if not isinstance(value, int) else value
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueError(f"not a whole number: {value!r}")
        number = int(number)
    return number


def make_layer(in_features: int, out_features: int, bias: bool) -> torch.nn.Linear:
    torch.manual_seed(0)
    return torch.nn.Linear(in_features, out_features, bias=bias)


Runner = Callable[[torch.nn.Linear, list[int]], Counted]

# --- the tools: each takes (layer, input_shape) and returns its count for that forward ---


def torch_flop_counter(layer: torch.nn.Linear, shape: list[int]) -> int:
    with FlopCounterMode(display=False) as counter:
        layer(torch.zeros(shape))
    return counter.get_total_flops()


def torchinfo_summary(layer: torch.nn.Linear, shape: list[int]) -> Counted:
    """summary(input_size=shape); where a size is 0, input_size is refused, so input_data."""
    from torchinfo import summary

    note = None
    try:
        stats = summary(layer, input_size=tuple(shape), verbose=0, device="cpu")
    except ValueError as error:
        if 0 not in shape:
            raise
        note = f"input_size refused: {error} So: input_data=torch.zeros(shape)"
        stats = summary(layer, input_data=torch.zeros(shape), verbose=0, device="cpu")
    layers = [info for info in stats.summary_list if info.class_name == "Linear"]
    assert len(layers) == 1 and stats.total_mult_adds == layers[0].macs, stats.summary_list
    assert layers[0].output_size == [*shape[:-1], layer.out_features], layers[0].output_size
    return (stats.total_mult_adds, note) if note else stats.total_mult_adds


def torchinfo_1_8(layer: torch.nn.Linear, shape: list[int]) -> Counted:
    return torchinfo_summary(layer, shape)


def torchinfo_main_emulated(layer: torch.nn.Linear, shape: list[int]) -> Counted:
    """torchinfo 1.8.0 with PR #318's rule for Linear: params × prod(output_size[:-1])."""
    from torchinfo.layer_info import LayerInfo

    original = LayerInfo.calculate_macs

    def calculate_macs(self: Any) -> None:
        if "Linear" not in self.class_name:
            original(self)
            return
        for name, param in self.module.named_parameters():
            count, name = self.get_param_count(self.module, name, param)
            if name in ("weight", "bias"):
                self.macs += count * math.prod(self.output_size[:-1])

    LayerInfo.calculate_macs = calculate_macs  # type: ignore[method-assign]
    try:
        return torchinfo_summary(layer, shape)
    finally:
        LayerInfo.calculate_macs = original  # type: ignore[method-assign]


def fvcore_flops(layer: torch.nn.Linear, shape: list[int]) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(layer, torch.zeros(shape))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return analysis.total()


def thop_macs(layer: torch.nn.Linear, shape: list[int]) -> int:
    from thop import profile

    macs, _params = profile(layer, inputs=(torch.zeros(shape),), verbose=False)
    return macs


def ptflops_backend(backend: str) -> Runner:
    def run(layer: torch.nn.Linear, shape: list[int]) -> int:
        from ptflops import get_model_complexity_info

        # input_res is the whole input shape: ptflops adds a batch dim of 1, (1, *shape), which
        # keeps the leading dims' product (the rows). Its pytorch backend divides by that batch.
        macs, _params = get_model_complexity_info(
            layer, tuple(shape), as_strings=False, print_per_layer_stat=False, backend=backend
        )
        if macs is None:
            raise RuntimeError("ptflops returned None (it failed and printed the reason)")
        return macs

    return run


def calflops(index: int) -> Runner:
    def run(layer: torch.nn.Linear, shape: list[int]) -> int:
        from calflops import calculate_flops

        result = calculate_flops(
            model=layer,
            input_shape=tuple(shape),
            output_as_string=False,
            print_results=False,
            print_detailed=False,
        )
        return result[index]  # (flops, macs, params)

    return run


def deepspeed(index: int) -> Runner:
    def run(layer: torch.nn.Linear, shape: list[int]) -> int:
        from deepspeed.profiling.flops_profiler import get_model_profile

        result = get_model_profile(
            layer, input_shape=tuple(shape), print_profile=False, detailed=False, as_string=False
        )
        return result[index]  # (flops, macs, params)

    return run


# key -> (distribution whose version is recorded, module to import, runner)
TOOLS: dict[str, tuple[str, str, Runner]] = {
    "torch_flop_counter_flops": ("torch", "torch.utils.flop_counter", torch_flop_counter),
    "torchinfo_1_8_mult_adds": ("torchinfo", "torchinfo", torchinfo_1_8),
    "torchinfo_main_mult_adds": ("torchinfo", "torchinfo", torchinfo_main_emulated),
    "fvcore_flops": ("fvcore", "fvcore.nn", fvcore_flops),
    "thop_macs": ("thop", "thop", thop_macs),
    "ptflops_macs": ("ptflops", "ptflops", ptflops_backend("pytorch")),
    "ptflops_aten_macs": ("ptflops", "ptflops", ptflops_backend("aten")),
    "calflops_flops": ("calflops", "calflops", calflops(0)),
    "calflops_macs": ("calflops", "calflops", calflops(1)),
    "deepspeed_flops": ("deepspeed", "deepspeed.profiling.flops_profiler", deepspeed(0)),
    "deepspeed_macs": ("deepspeed", "deepspeed.profiling.flops_profiler", deepspeed(1)),
}

NOTES = {
    "torch_flop_counter_flops": "torch.utils.flop_counter.FlopCounterMode(display=False)",
    "torchinfo_1_8_mult_adds": (
        "torchinfo.summary(layer, input_size=shape, verbose=0); input_size with a 0 in it is "
        "refused, so those cases use input_data=torch.zeros(shape)"
    ),
    "torchinfo_main_mult_adds": (
        "not run: torchinfo main (PR #318, merged after 1.8.0) is in no release on PyPI. "
        "Emulated: torchinfo 1.8.0's summary() with calculate_macs replaced, for Linear, by PR "
        "#318's rule (from its description): each parameter's count × prod(output_size[:-1])"
    ),
    "fvcore_flops": "fvcore.nn.FlopCountAnalysis(layer, x).total(), handler linear_flop_jit",
    "thop_macs": "thop.profile(layer, inputs=(x,)), hook count_linear",
    "ptflops_macs": (
        "get_model_complexity_info(layer, shape, backend='pytorch'): ptflops prepends a batch "
        "dim of 1 and divides by the batch (len of the input)"
    ),
    "ptflops_aten_macs": "get_model_complexity_info(layer, shape, backend='aten')",
    "calflops_flops": "calflops.calculate_flops(model=layer, input_shape=shape)[0]",
    "calflops_macs": "calflops.calculate_flops(model=layer, input_shape=shape)[1]",
    "deepspeed_flops": "deepspeed...flops_profiler.get_model_profile(layer, input_shape=shape)[0]",
    "deepspeed_macs": "deepspeed...flops_profiler.get_model_profile(layer, input_shape=shape)[1]",
}


def version_of(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def import_error(module: str) -> str | None:
    """Why ``module`` cannot be imported, or None when it can."""
    try:
        with quiet():
            __import__(module)
    except Exception as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


@contextlib.contextmanager
def quiet():
    """Silence the tools' own printing, warnings and logging."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.disable(logging.CRITICAL)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def run_case(
    shape: list[int], in_features: int, out_features: int, bias: bool, runnable: list[str]
) -> dict:
    counts: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    notes: dict[str, str] = {}
    for key in TOOLS:
        counts[key] = None
        if key not in runnable:
            continue
        try:
            with quiet():
                counted = TOOLS[key][2](make_layer(in_features, out_features, bias), shape)
        except Exception as error:
            errors[key] = f"{type(error).__name__}: {error}".splitlines()[0][:200]
            continue
        if isinstance(counted, tuple):
            counted, notes[key] = counted
        counts[key] = as_count(counted)
    case: dict[str, Any] = {
        "in_features": in_features,
        "out_features": out_features,
        "bias": bias,
        "input_shape": shape,
        "counts": counts,
    }
    if errors:
        case["errors"] = errors
    if notes:
        case["notes"] = notes
    return case


def ptflops_batch_example() -> dict[str, Any] | None:
    """What ptflops' pytorch backend reports given the exact batched tensor: per sample."""
    if import_error("ptflops"):
        return None
    from ptflops import get_model_complexity_info

    shape, in_features, out_features = (2, 5, 768), 768, 3072
    reported = {}
    for backend in ("pytorch", "aten"):
        with quiet():
            macs, _ = get_model_complexity_info(
                make_layer(in_features, out_features, True),
                shape,
                input_constructor=lambda res: torch.zeros(res),
                as_strings=False,
                print_per_layer_stat=False,
                backend=backend,
            )
        reported[backend] = as_count(macs)
    return {
        "what": "input_constructor returning the exact (2,5,768) tensor, Linear(768, 3072)",
        "reported": reported,
        "note": "the pytorch backend divides by the input's first dim (its batch): params × 5 "
        "per sample; the aten backend does not: params × 10",
    }


def main() -> None:
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    errors = {key: import_error(module) for key, (_, module, _) in TOOLS.items()}
    runnable = [key for key, error in errors.items() if error is None]
    cases = [run_case(*case, runnable=runnable) for case in CASES]
    tools = {}
    for key, (dist, _module, _) in TOOLS.items():
        failed = sum(case["counts"][key] is None for case in cases)
        tools[key] = {
            "package": dist,
            "version": version_of(dist),
            "ran": errors[key] is None and key != "torchinfo_main_mult_adds",
            "how": NOTES[key],
            **({"import_error": errors[key]} if errors[key] else {}),
            **({"cases_failed": failed} if failed and not errors[key] else {}),
        }
    tools["torchinfo_main_mult_adds"]["emulated"] = errors["torchinfo_main_mult_adds"] is None
    payload = {
        "torch": torch.__version__,
        "tools": tools,
        "ptflops_batched_input": ptflops_batch_example(),
        "cases": cases,
    }
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT} ({OUT.stat().st_size:,} bytes)")
    for key, info in tools.items():
        print(f"  {key}: {info['package']} {info['version']} ran={info['ran']}", end="")
        print(f" failed={info.get('cases_failed', 0)} {info.get('import_error', '')}")


if __name__ == "__main__":
    main()
