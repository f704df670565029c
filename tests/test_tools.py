"""linexplain.tools against what the real tools reported (tests/data/other_tools.json)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linexplain.counts import Product
from linexplain.tools import ToolCount, other_tools

FIXTURE = Path(__file__).parent / "data" / "other_tools.json"
DATA = json.loads(FIXTURE.read_text())

# Recorded figures that other_tools() shows under another row, because they always agree.
SAME_AS = {
    "ptflops_aten_macs": "ptflops_macs",  # ptflops' two backends
    "deepspeed_flops": "calflops_flops",  # calflops started as a copy of DeepSpeed's profiler
    "calflops_macs": "thop_macs",
    "deepspeed_macs": "thop_macs",
}
READER_ORDER = [
    "torch_flop_counter_flops",
    "torchinfo_1_8_mult_adds",
    "torchinfo_main_mult_adds",
    "fvcore_flops",
    "thop_macs",
    "ptflops_macs",
    "calflops_flops",
]


def by_key(counts: list[ToolCount]) -> dict[str, ToolCount]:
    return {count.key: count for count in counts}


def checked_keys() -> list[str]:
    """The recorded tools to hold other_tools() to: those that ran, and the emulated one."""
    tools = DATA["tools"]
    return [key for key, info in tools.items() if info["ran"] or info.get("emulated")]


CASE_IDS = [
    f"{c['input_shape']}-{c['in_features']}to{c['out_features']}-{'b' if c['bias'] else 'nob'}"
    for c in DATA["cases"]
]


@pytest.mark.parametrize("case", DATA["cases"], ids=CASE_IDS)
def test_matches_recorded_tools(case):
    got = by_key(
        other_tools(
            tuple(case["input_shape"]), case["in_features"], case["out_features"], case["bias"]
        )
    )
    for key in checked_keys():
        recorded = case["counts"][key]
        assert recorded is not None, (key, case.get("errors"))
        shown = got[SAME_AS.get(key, key)].value
        assert shown.is_int and shown.coeff == recorded, (key, shown, recorded)


def test_fixture_covers_what_was_asked():
    cases = DATA["cases"]
    assert len(cases) >= 30 and FIXTURE.stat().st_size < 100_000
    assert {len(c["input_shape"]) for c in cases} >= {1, 2, 3, 4}
    assert {c["bias"] for c in cases} == {True, False}
    assert any(c["in_features"] == 1 for c in cases) and any(c["out_features"] == 1 for c in cases)
    assert any(1 in c["input_shape"][:-1] for c in cases)
    assert any(0 in c["input_shape"] for c in cases)
    keys = {SAME_AS.get(key, key) for key in DATA["tools"]}
    assert keys == set(READER_ORDER)
    for key in ("torch_flop_counter_flops", "torchinfo_1_8_mult_adds", "fvcore_flops"):
        assert DATA["tools"][key]["ran"], key  # these must really have run
    assert DATA["tools"]["torchinfo_1_8_mult_adds"]["version"] == "1.8.0"


def test_the_issue_example():
    """nn.Linear(768, 3072) on (2, 5, 768): torchinfo 1.8.0 takes only the first dim."""
    got = by_key(other_tools((2, 5, 768), 768, 3072, True))
    assert got["torchinfo_1_8_mult_adds"].value == Product(4_724_736)  # params × 2
    assert got["torchinfo_main_mult_adds"].value == Product(23_623_680)  # params × 10
    assert got["fvcore_flops"].value == Product(23_592_960)  # the MACs: 10 × 768 × 3072
    assert got["torch_flop_counter_flops"].value == Product(47_185_920)
    assert "undercounts" in got["torchinfo_1_8_mult_adds"].how


def test_order_and_one_dim_input():
    counts = other_tools((4,), 4, 3, True)
    assert [c.key for c in counts] == READER_ORDER
    got = by_key(counts)
    assert got["torchinfo_1_8_mult_adds"].value == Product(45)  # 15 params × out_features 3
    assert "out_features" in got["torchinfo_1_8_mult_adds"].how
    empty = by_key(other_tools((2, 0, 4), 4, 3, True))["torchinfo_1_8_mult_adds"]
    assert empty.value == Product(30) and "empty" in empty.how  # recorded: 30 for no rows
    for shape in [(3, 1, 4), (0, 3, 4)]:  # the first dim is all there is to count here
        assert (
            "undercounts"
            not in by_key(other_tools(shape, 4, 2, True))["torchinfo_1_8_mult_adds"].how
        )
    with pytest.raises(ValueError):
        other_tools((), 3, 3, True)


def test_imports_neither_numpy_nor_sympy():
    code = (
        "import linexplain.tools, sys; "
        "assert 'numpy' not in sys.modules and 'sympy' not in sys.modules, "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'sympy', 'torch')); "
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- properties -----------------------------------------------------------------------------------

NAMES = ["N", "C", "seq_len"]
sizes = st.integers(min_value=0, max_value=9)
features = st.integers(min_value=0, max_value=12)
leading_dims = st.lists(st.one_of(sizes, st.sampled_from(NAMES)), max_size=4)


def bind(product: Product, bindings: dict[str, int]) -> Product:
    """``product`` with the named dims in ``bindings`` replaced by their sizes."""
    coeff, unbound = product.coeff, []
    for name, power in product.powers:
        if name in bindings:
            coeff *= bindings[name] ** power
        else:
            unbound += [name] * power
    return Product(coeff) * Product.of(tuple(unbound))


def reference(shape: list[int], in_features: int, out_features: int, bias: bool) -> dict:
    """Each tool's rule as its source writes it, on a concrete shape."""
    output_size = [*shape[:-1], out_features]
    numel_x, numel_y = math.prod(shape), math.prod(output_size)
    params = in_features * out_features + (out_features if bias else 0)
    return {
        "torch_flop_counter_flops": 2 * numel_x * out_features,
        "torchinfo_1_8_mult_adds": output_size[0] * params,
        "torchinfo_main_mult_adds": params * math.prod(output_size[:-1]),
        "fvcore_flops": numel_x * out_features,
        "thop_macs": in_features * numel_y,
        "ptflops_macs": params * math.prod(shape[:-1]),  # ptflops' hook: (in·out + out) · rows
        "calflops_flops": 2 * numel_x * out_features,
    }


@given(st.lists(sizes, max_size=4), features, features, st.booleans())
def test_concrete_shapes_follow_each_tools_source(leading, in_features, out_features, bias):
    shape = [*leading, in_features]
    got = by_key(other_tools(tuple(shape), in_features, out_features, bias))
    for key, expected in reference(shape, in_features, out_features, bias).items():
        assert got[key].value == Product(expected), key
    torchinfo, fixed = got["torchinfo_1_8_mult_adds"], got["torchinfo_main_mult_adds"]
    if "undercounts" in torchinfo.how:
        assert torchinfo.value.coeff < fixed.value.coeff
    if "all the rows" in torchinfo.how:
        assert torchinfo.value == fixed.value


@given(leading_dims, features, features, st.booleans(), st.data())
def test_a_count_bound_later_equals_the_count_with_the_size(
    leading, in_features, out_features, bias, data
):
    names = sorted({d for d in leading if isinstance(d, str)})
    bindings = {name: data.draw(sizes, label=name) for name in names}
    named = other_tools((*leading, in_features), in_features, out_features, bias)
    bound_shape = tuple(bindings.get(d, d) if isinstance(d, str) else d for d in leading)
    sized = other_tools((*bound_shape, in_features), in_features, out_features, bias)
    for before, after in zip(named, sized, strict=True):
        assert before.key == after.key
        assert bind(before.value, bindings) == after.value, before.key


@given(leading_dims, features, features, st.booleans())
def test_named_dims_stay_symbolic(leading, in_features, out_features, bias):
    got = by_key(other_tools((*leading, in_features), in_features, out_features, bias))
    names = {d for d in leading if isinstance(d, str)}
    for key, count in got.items():
        in_value = {name for name, _ in count.value.powers}
        if count.value.coeff == 0:
            assert not in_value
        elif key == "torchinfo_1_8_mult_adds":  # only the first leading dim
            assert in_value == ({leading[0]} if leading and isinstance(leading[0], str) else set())
        else:
            assert in_value == names, key
            assert dict(count.value.powers) == {n: leading.count(n) for n in names}


@given(leading_dims, features, features)
def test_bias_on_and_off(leading, in_features, out_features):
    shape = (*leading, in_features)
    with_bias = by_key(other_tools(shape, in_features, out_features, True))
    without = by_key(other_tools(shape, in_features, out_features, False))
    rows = Product.of(tuple(leading))
    first = Product.of(tuple(leading[:1])) if leading else Product(out_features)
    bias_counted = {
        "torchinfo_1_8_mult_adds": first * out_features,
        "torchinfo_main_mult_adds": rows * out_features,
        "ptflops_macs": rows * out_features,
    }
    for key, count in with_bias.items():
        assert count.value == without[key].value + bias_counted.get(key, Product(0)), key
        # without a bias, no text talks about one
        assert "bias" not in without[key].how, (key, without[key].how)
        if key in bias_counted:
            assert "bias" in count.how, key
