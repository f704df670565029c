"""Networks (``--net``): every layer's numbers against PyTorch, through the library and the CLI.

The fixtures (``tests/data/torch_net.json``, written by ``scripts/gen_net_fixtures.py`` with real
torch) record, for small ``nn.Sequential`` s of every layer kind, the seeded weights, the input,
every layer's output and the gradients for two upstreams. The live tests (the ``torch`` fixture:
skipped without torch, a failure when CI requires it) draw more networks and check the same
against torch itself, with ``print(model)`` fed back to ``--net-file``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import random
import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linexplain.checkpoint import load_state
from linexplain.errors import LinexplainError
from linexplain.layers import Linear
from linexplain.netspec import parse_net
from linexplain.network import Network
from linexplain.session import (
    Trace,
    backward_network,
    finite_difference_network,
    run_network,
)

DATA = Path(__file__).parent / "data"
FIXTURES = json.loads((DATA / "torch_net.json").read_text())
CASES = FIXTURES["cases"]
WEIGHTS = FIXTURES["weights"]
# Ours and torch's sum in different orders: within this, times the largest value (at least 1).
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}
# torch.randn of >= 16 numbers uses vectorised log/sin/cos (see linexplain.torch_rng).
DRAW_TOLERANCE = {"float32": 1e-6, "float64": 1e-14}
KINDS = {
    "Linear", "ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh", "SiLU", "Softmax", "Identity",
    "Dropout", "Flatten",
}  # fmt: skip


def unhex(values: list[str], dtype: str, shape: list[int] | tuple[int, ...]) -> np.ndarray:
    return np.array([float.fromhex(v) for v in values], dtype=dtype).reshape(shape)


def assert_close(ours: np.ndarray, theirs: np.ndarray, dtype: str) -> None:
    """Equal up to summation order: the tolerance scales with the largest value."""
    assert ours.shape == theirs.shape
    scale = max(1.0, float(np.abs(theirs).max(initial=0)))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOLERANCE[dtype] * scale)


def assert_drawn(ours: np.ndarray, theirs: np.ndarray, dtype: str) -> None:
    """torch.randn's numbers: bit for bit under 16 of them, else within torch_rng's promise."""
    assert ours.shape == theirs.shape
    if theirs.size < 16:
        np.testing.assert_array_equal(ours, theirs)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=DRAW_TOLERANCE[dtype])


def case_id(case: dict) -> str:
    return case["name"]


def spec(case: dict, form: str) -> tuple[str, str | None]:
    """The case's network as ``--net`` text, with its ``--act``."""
    return case[form], case["act"] if form == "compact" else None


def trace_of(case: dict, form: str = "torch_text") -> Trace:
    text, act = spec(case, form)
    network = Network.of(parse_net(text, act))
    dtype = case["dtype"]
    if case["given_input"]:
        return run_network(
            network, seed=case["seed"], dtype=dtype, x=unhex(case["x"], dtype, case["shape"])
        )
    return run_network(
        network,
        seed=case["seed"],
        dtype=dtype,
        input_shape=tuple(case["input_shape"]),
        dims=case["dims"],
    )


def shape_text(shape: list) -> str:
    return ",".join(map(str, shape))


def cli_args(case: dict, form: str = "compact", tmp_path: Path | None = None) -> list[str]:
    """``--net …`` and the options that make the case's session."""
    if form == "compact" and case["compact"] is None:
        form = "torch_text"
    text, act = spec(case, form)
    if form == "print":
        assert tmp_path is not None
        path = tmp_path / "net.txt"
        path.write_text(text + "\n")
        args = ["--net-file", str(path)]
    else:
        args = ["--net", text]
    if act is not None:
        args += ["--act", act]
    args += [f"--seed={case['seed']}", "--dtype", case["dtype"]]
    if case["given_input"]:
        x = unhex(case["x"], case["dtype"], case["shape"])
        args += ["--input", json.dumps(x.tolist())]
    else:
        args += ["--input-shape", shape_text(case["input_shape"])]
        if case["dims"]:
            args += ["--dims", ",".join(f"{k}={v}" for k, v in case["dims"].items())]
    return args


def cli_json(command: str, *args: str) -> dict:
    result = cli(command, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- the fixtures cover the brief ------------------------------------------------------------


def kinds_of(case: dict) -> list[str]:
    return [layer["module"].split("(")[0] for layer in case["layers"]]


def test_fixtures_cover_every_layer_kind_and_shape() -> None:
    assert (DATA / "torch_net.json").stat().st_size < 600_000
    assert len(CASES) >= 30
    assert set().union(*(kinds_of(c) for c in CASES)) == KINDS
    modules = {layer["module"] for c in CASES for layer in c["layers"]}
    assert {"GELU(approximate='none')", "GELU(approximate='tanh')"} <= modules
    assert {"Softmax(dim=None)", "Softmax(dim=-1)", "Softmax(dim=0)", "Softmax(dim=1)"} <= modules
    slopes = {m for m in modules if m.startswith("LeakyReLU")}
    assert len(slopes) >= 4
    assert any(m.endswith("bias=False)") for m in modules)
    assert {c["dtype"] for c in CASES} == {"float32", "float64"}
    assert {len(c["shape"]) for c in CASES} >= {1, 2, 3, 4}
    implicit = {len(c["shape"]) for c in CASES if "Softmax(dim=None)" in c["print"]}
    assert {1, 2, 3} <= implicit
    flatten = {len(c["shape"]) for c in CASES if "Flatten" in c["print"]}
    assert {3, 4} <= flatten
    assert any(c["dims"] for c in CASES)
    assert any(isinstance(d, str) for c in CASES for d in c["input_shape"])
    assert any(c["act"] for c in CASES)
    assert any(c["given_input"] for c in CASES)
    assert {"ones", "seed"} == {k for c in CASES for k in c["grads"]}


# --- the library against the fixtures --------------------------------------------------------


FORMS = ["torch_text", "print", "compact"]
FORM_CASES = [(c, f) for c in CASES for f in FORMS if c[f] is not None]


@pytest.mark.parametrize(
    ("case", "form"), FORM_CASES, ids=[f"{c['name']}-{f}" for c, f in FORM_CASES]
)
def test_forward_gives_torchs_numbers(case: dict, form: str) -> None:
    """Every weight and bias bit for bit (drawn in nn.Sequential order), the input as torch
    draws it, every layer's output within the tolerance: from each way of writing the net."""
    dtype = case["dtype"]
    trace = trace_of(case, form)
    assert trace.network.module == case["print"]
    assert trace.dtype == dtype
    x = unhex(case["x"], dtype, case["shape"])
    if case["given_input"]:
        np.testing.assert_array_equal(trace.x, x)
    else:
        assert_drawn(trace.x, x, dtype)
    assert len(trace.outputs) == len(case["layers"])
    for layer, (weight, bias), out, want in zip(
        trace.network.layers, trace.params, trace.outputs, case["layers"], strict=True
    ):
        assert layer.module == want["module"]
        if want["weight"] is None:
            assert weight is None and bias is None
        else:
            assert weight.dtype == dtype
            np.testing.assert_array_equal(weight.reshape(-1), unhex(want["weight"], dtype, -1))
            if want["bias"] is None:
                assert bias is None
            else:
                np.testing.assert_array_equal(bias, unhex(want["bias"], dtype, -1))
        assert list(out.shape) == want["output_shape"]
        assert out.dtype == dtype
        assert_close(out, unhex(want["output"], dtype, want["output_shape"]), dtype)


GRAD_CASES = [(c, u) for c in CASES for u in ("ones", "seed")]


@pytest.mark.parametrize(
    ("case", "upstream"), GRAD_CASES, ids=[f"{c['name']}-{u}" for c, u in GRAD_CASES]
)
def test_backward_gives_torchs_gradients(case: dict, upstream: str) -> None:
    dtype = case["dtype"]
    trace = trace_of(case)
    grads = backward_network(trace, upstream)
    want = case["grads"][upstream]
    assert grads.source == upstream
    if upstream == "seed":  # torch.randn(*y.shape) right after x, on the same generator
        assert_drawn(grads.upstream, unhex(want["g"], dtype, trace.y.shape), dtype)
    else:
        np.testing.assert_array_equal(grads.upstream, np.ones_like(trace.y))
    loss = float.fromhex(want["loss"])
    scale = max(1.0, abs(loss))
    assert abs(grads.loss - loss) <= 10 * TOLERANCE[dtype] * scale
    assert grads.grad_input.dtype == dtype
    assert_close(grads.grad_input, unhex(want["grad_input"], dtype, case["shape"]), dtype)
    linears = [i for i, layer in enumerate(trace.network.layers) if isinstance(layer, Linear)]
    assert [entry["index"] for entry in want["layers"]] == linears
    for entry in want["layers"]:
        gw, gb = grads.grads[entry["index"]]
        weight, bias = trace.params[entry["index"]]
        assert gw.dtype == dtype
        assert_close(gw, unhex(entry["grad_weight"], dtype, weight.shape), dtype)
        if entry["grad_bias"] is None:
            assert gb is None
        else:
            assert_close(gb, unhex(entry["grad_bias"], dtype, bias.shape), dtype)
    for i, layer in enumerate(trace.network.layers):
        if not isinstance(layer, Linear):
            assert grads.grads[i] == (None, None)


def test_relu_and_leakyrelu_take_torchs_side_of_the_kink() -> None:
    """ReLU′(0) = 0 and LeakyReLU′(0) = slope, as torch's autograd has them (also at -0.0)."""
    for name, at_zero in (("kink_relu_float32", 0.0), ("kink_leakyrelu(0.2)_float64", 0.2)):
        case = next(c for c in CASES if c["name"] == name)
        grads = backward_network(trace_of(case))
        assert grads.grad_input[0, 0] == at_zero  # x = 0.0
        assert grads.grad_input[0, 1] == at_zero  # x = -0.0


# --- the CLI's JSON against the fixtures ------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_run_json_gives_torchs_numbers(case: dict, tmp_path: Path) -> None:
    form = ["compact", "torch_text", "print"][CASES.index(case) % 3]
    data = cli_json("run", *cli_args(case, form, tmp_path))
    dtype = case["dtype"]
    assert {"input", "output", "layers"} <= set(data)
    assert data["dtype"] == dtype and data["seed"] == case["seed"]
    assert data["module"] == case["print"]
    x = unhex(case["x"], dtype, case["shape"])
    ours_x = np.array(data["input"], dtype=dtype)
    if case["given_input"]:
        np.testing.assert_array_equal(ours_x, x)
    else:
        assert_drawn(ours_x, x, dtype)
    assert data["input_shape"] == case["shape"]
    assert len(data["layers"]) == len(case["layers"])
    for entry, want in zip(data["layers"], case["layers"], strict=True):
        assert entry["index"] == want["index"]
        assert entry["module"] == want["module"]
        keys = {"index", "module", "output"}
        if want["weight"] is not None:
            keys |= {"weight", "bias"}
            w = np.array(entry["weight"], dtype=dtype).reshape(-1)
            np.testing.assert_array_equal(w, unhex(want["weight"], dtype, -1))  # bit for bit
            if want["bias"] is None:
                assert entry["bias"] is None
            else:
                b = np.array(entry["bias"], dtype=dtype)
                np.testing.assert_array_equal(b, unhex(want["bias"], dtype, -1))
        assert set(entry) == keys
        out = np.array(entry["output"], dtype=dtype).reshape(want["output_shape"])
        assert_close(out, unhex(want["output"], dtype, want["output_shape"]), dtype)
    last = case["layers"][-1]
    y = np.array(data["output"], dtype=dtype).reshape(last["output_shape"])
    assert_close(y, unhex(last["output"], dtype, last["output_shape"]), dtype)


@pytest.mark.parametrize(
    ("case", "upstream"), GRAD_CASES, ids=[f"{c['name']}-{u}" for c, u in GRAD_CASES]
)
def test_grad_json_gives_torchs_gradients(case: dict, upstream: str) -> None:
    data = cli_json("grad", *cli_args(case), "--upstream", upstream)
    dtype, want = case["dtype"], case["grads"][upstream]
    assert {"loss", "grad_input", "layers"} <= set(data)
    assert data["upstream_source"] == upstream
    loss = float.fromhex(want["loss"])
    assert abs(data["loss"] - loss) <= 10 * TOLERANCE[dtype] * max(1.0, abs(loss))
    gx = np.array(data["grad_input"], dtype=dtype).reshape(case["shape"])
    assert_close(gx, unhex(want["grad_input"], dtype, case["shape"]), dtype)
    assert len(data["layers"]) == len(want["layers"])
    for entry, expected in zip(data["layers"], want["layers"], strict=True):
        assert set(entry) == {"index", "module", "grad_weight", "grad_bias"}
        assert entry["index"] == expected["index"]
        assert entry["module"] == case["layers"][entry["index"]]["module"]
        gw = np.array(entry["grad_weight"], dtype=dtype)
        assert_close(gw.reshape(-1), unhex(expected["grad_weight"], dtype, -1), dtype)
        if expected["grad_bias"] is None:
            assert entry["grad_bias"] is None
        else:
            gb = np.array(entry["grad_bias"], dtype=dtype)
            assert_close(gb, unhex(expected["grad_bias"], dtype, -1), dtype)


@pytest.mark.parametrize("case", CASES[::6], ids=case_id)
def test_grad_with_an_upstream_file_is_the_seed_case(case: dict, tmp_path: Path) -> None:
    """--upstream FILE holding torch's seeded G gives torch's seeded gradients."""
    dtype, want = case["dtype"], case["grads"]["seed"]
    y_shape = case["layers"][-1]["output_shape"]
    g = unhex(want["g"], dtype, y_shape)
    path = tmp_path / "g.npy"
    np.save(path, g)
    data = cli_json("grad", *cli_args(case), "--upstream", str(path))
    assert data["upstream_source"] == "given"
    np.testing.assert_array_equal(np.array(data["upstream"], dtype=dtype), g)
    gx = np.array(data["grad_input"], dtype=dtype).reshape(case["shape"])
    assert_close(gx, unhex(want["grad_input"], dtype, case["shape"]), dtype)
    for entry, expected in zip(data["layers"], want["layers"], strict=True):
        gw = np.array(entry["grad_weight"], dtype=dtype).reshape(-1)
        assert_close(gw, unhex(expected["grad_weight"], dtype, -1), dtype)
    # the library takes the array too, and refuses one of another shape
    grads = backward_network(trace_of(case), g)
    assert grads.source == "given"
    assert_close(grads.grad_input, unhex(want["grad_input"], dtype, case["shape"]), dtype)
    with pytest.raises(LinexplainError, match="upstream gradient has shape"):
        backward_network(trace_of(case), np.zeros((*y_shape, 2)))
    np.save(path, np.zeros((*y_shape, 2), dtype=dtype))
    line = assert_one_line_error(cli("grad", *cli_args(case), "--upstream", str(path)))
    assert "upstream gradient has shape" in line


# --- --check ---------------------------------------------------------------------------------


# Central differences of L in float64 with a step of 1e-3: the curvature of GELU, tanh, … costs
# about eps², and float32's rounding of the analytic gradients ~1e-7. At an input exactly on a
# kink (the kink_* cases) the central difference averages both sides, as it must, so those
# are left out.
CHECK_CASES = [c for c in CASES if not c["given_input"]]


@pytest.mark.parametrize("case", CHECK_CASES, ids=case_id)
def test_finite_difference_check_agrees(case: dict) -> None:
    grads = backward_network(trace_of(case), "seed")
    error = finite_difference_network(grads)
    assert 0 <= error < (1e-4 if case["dtype"] == "float32" else 1e-5), error


def test_finite_difference_check_catches_a_wrong_gradient() -> None:
    case = next(c for c in CASES if c["name"] == "deep_3d_f64")
    grads = backward_network(trace_of(case), "seed")
    assert finite_difference_network(grads) < 1e-5
    wrong_input = dataclasses.replace(grads, grad_input=grads.grad_input + 0.01)
    assert finite_difference_network(wrong_input, max_entries=100) > 1e-3
    (gw, gb), *rest = grads.grads
    wrong_weight = dataclasses.replace(grads, grads=((gw + 0.01, gb), *rest))
    assert finite_difference_network(wrong_weight, max_entries=100) > 1e-3


@pytest.mark.parametrize("name", ["relu_f64", "gelu_float32", "softmax_implicit_3d"])
def test_grad_check_through_the_cli(name: str) -> None:
    case = next(c for c in CASES if c["name"] == name)
    data = cli_json("grad", *cli_args(case), "--check")
    assert data["check_judged"] is True
    assert 0 <= data["check_max_error"] < 1e-4
    text = cli("grad", *cli_args(case), "--check", "--format", "ascii")
    assert text.exit_code == 0, text.output
    assert "Finite-difference check" in text.stdout


# --- --act -----------------------------------------------------------------------------------


def test_act_puts_the_activation_between_linears() -> None:
    case = next(c for c in CASES if c["name"] == "act_relu")
    with_act = cli_json("run", "--net", "6,5,4,3", "--act", "relu", "-s", "3,6", "--seed=42")
    written = cli_json("run", "--net", case["torch_text"], "-s", "3,6", "--seed=42")
    assert with_act == written
    assert [e["module"] for e in with_act["layers"]] == [e["module"] for e in case["layers"]]
    # where an activation is written, --act adds none
    mixed = Network.of(parse_net("6,5,tanh,4,3", "gelu"))
    assert [layer.module for layer in mixed.layers] == [
        "Linear(in_features=6, out_features=5, bias=True)",
        "Tanh()",
        "Linear(in_features=5, out_features=4, bias=True)",
        "GELU(approximate='none')",
        "Linear(in_features=4, out_features=3, bias=True)",
    ]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--net", "Linear(3, 4), Linear(4, 2)", "--act", "relu"], "compact form"),
        (["--in", "3", "--out", "2", "--act", "relu"], "--act needs --net"),
        (["--net", "3,4,2", "--act", "conv"], "conv"),
    ],
)
def test_act_refusals(args: list[str], words: str) -> None:
    line = assert_one_line_error(cli("run", *args))
    assert words in line


# --- weights from a file ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["npz", "safetensors"])
def test_weights_from_a_file_give_torchs_output(dtype: str, kind: str) -> None:
    """A state_dict by nn.Sequential's names, saved by torch (safetensors) or NumPy (npz)."""
    files = WEIGHTS["files"][dtype]
    path = str(DATA / files[kind])
    state = load_state(path, dtype)
    assert set(state) == set(files["state"])
    for name, values in files["state"].items():
        np.testing.assert_array_equal(state[name].reshape(-1), unhex(values, dtype, -1))
    x = unhex(files["x"], dtype, files["shape"])
    y = unhex(files["output"], dtype, [3, 2])
    network = Network.of(parse_net(WEIGHTS["print"]))
    trace = run_network(network, dtype=dtype, x=x, state=state)
    assert trace.given_weights
    for i, (weight, bias) in enumerate(trace.params):
        if weight is not None:
            np.testing.assert_array_equal(weight, state[f"{i}.weight"])
            if bias is not None:
                np.testing.assert_array_equal(bias, state[f"{i}.bias"])
    assert_close(trace.y, y, dtype)
    assert "load_state_dict" in trace.torch_snippet()
    # and through the CLI, with the network as PyTorch's text
    data = cli_json(
        "run",
        "--net",
        WEIGHTS["torch_text"],
        "--weight-file",
        path,
        "--input",
        json.dumps(x.tolist()),
        "--dtype",
        dtype,
    )
    np.testing.assert_array_equal(
        np.array(data["layers"][0]["weight"], dtype=dtype), state["0.weight"]
    )
    assert data["layers"][2]["bias"] is None
    assert_close(np.array(data["output"], dtype=dtype), y, dtype)
    grad = cli_json(
        "grad", "--net", WEIGHTS["torch_text"], "--weight-file", path, "--dtype", dtype,
        "--input", json.dumps(x.tolist()),
    )  # fmt: skip
    assert [e["index"] for e in grad["layers"]] == [0, 2, 4]


def test_the_real_safetensors_writer_made_the_fixture() -> None:
    """The fixture script used the safetensors package where it installed."""
    assert {f["writer"] for f in WEIGHTS["files"].values()} <= {"safetensors", "by hand"}
    raw = (DATA / WEIGHTS["files"]["float32"]["safetensors"]).read_bytes()
    (length,) = np.frombuffer(raw[:8], dtype="<u8")
    header = json.loads(raw[8 : 8 + int(length)])
    assert {"0.weight", "0.bias", "2.weight", "4.weight", "4.bias"} <= set(header)
    assert header["2.weight"]["shape"] == [2, 3]


@pytest.mark.parametrize("kind", ["npz", "safetensors"])
@pytest.mark.parametrize(
    ("what", "words"),
    [
        ("missing", "missing 4.bias"),
        ("extra", "not in the network: 5.weight"),
        ("misshapen", "2.weight has shape (3, 2)"),
    ],
)
def test_weights_that_do_not_fit_the_network_are_refused(kind: str, what: str, words: str) -> None:
    path = str(DATA / f"net_weights_{what}.{kind}")
    for command in ("run", "grad"):
        line = assert_one_line_error(
            cli(command, "--net", WEIGHTS["torch_text"], "--weight-file", path, "-s", "3,4")
        )
        assert words in line, line
    if what == "misshapen":
        assert "Linear(in_features=3, out_features=2, bias=False)" in line
        assert "(2, 3)" in line
    network = Network.of(parse_net(WEIGHTS["torch_text"]))
    with pytest.raises(LinexplainError, match=words.replace("(", r"\(").replace(")", r"\)")):
        run_network(network, input_shape=(3, 4), state=load_state(path))


# --- shape --json ----------------------------------------------------------------------------


def test_shape_json_contract() -> None:
    data = cli_json("shape", "--net", "784,256,relu,10", "-s", "N,784")
    assert {"output_shape", "params", "macs", "flops", "layers"} <= set(data)
    assert data["output_shape"] == ["N", 10]
    assert data["params"] == 784 * 256 + 256 + 256 * 10 + 10
    assert data["macs"] == f"{784 * 256 + 256 * 10}*N"
    assert data["flops"] == f"{2 * (784 * 256 + 256 * 10) + 256 + 10}*N"
    keys = ("index", "module", "input_shape", "output_shape", "params", "macs")
    assert [tuple(entry[k] for k in keys) for entry in data["layers"]] == [
        (0, "Linear(in_features=784, out_features=256, bias=True)", ["N", 784], ["N", 256],
         784 * 256 + 256, f"{784 * 256}*N"),
        (1, "ReLU()", ["N", 256], ["N", 256], 0, 0),
        (2, "Linear(in_features=256, out_features=10, bias=True)", ["N", 256], ["N", 10],
         256 * 10 + 10, f"{256 * 10}*N"),
    ]  # fmt: skip
    sized = cli_json("shape", "--net", "784,256,relu,10", "-s", "32,784")
    assert sized["macs"] == 32 * (784 * 256 + 256 * 10)
    assert sized["flops"] == 32 * (2 * (784 * 256 + 256 * 10) + 256 + 10)
    assert sized["output_shape"] == [32, 10]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_shape_json_walks_the_fixture_networks(case: dict) -> None:
    args = ["--net", case["torch_text"], "--input-shape", shape_text(case["shape"])]
    data = cli_json("shape", *args)
    assert data["input_shape"] == case["shape"]
    assert data["output_shape"] == case["layers"][-1]["output_shape"]
    params = 0
    for entry, want in zip(data["layers"], case["layers"], strict=True):
        assert entry["module"] == want["module"]
        assert entry["output_shape"] == want["output_shape"]
        if want["weight"] is not None:
            count = len(want["weight"]) + len(want["bias"] or [])
            assert entry["params"] == count
            params += count
            rows = math.prod(entry["input_shape"][:-1])
            assert entry["macs"] == rows * len(want["weight"])
        else:
            assert entry["params"] == 0 and entry["macs"] == 0
    assert data["params"] == params


# --- a single Linear is the --in/--out layer --------------------------------------------------


SINGLE = [
    (["--net", "3,2"], ["--in", "3", "--out", "2"]),
    (["--net", "Linear(3, 2)"], ["--in", "3", "--out", "2"]),
    (["--net", "nn.Linear(in_features=3, out_features=2, bias=True)"], ["--in", "3", "--out", "2"]),
    (["--net", "3,2:nobias"], ["--in", "3", "--out", "2", "--no-bias"]),
    (["--net", "Linear(3, 2, bias=False)"], ["--in", "3", "--out", "2", "--no-bias"]),
]
COMMANDS = [
    ("shape", ["-s", "N,4,3"]),
    ("expand", []),
    ("expand", ["--seed", "1"]),
    ("run", ["-s", "4,3", "--seed", "3", "--steps"]),
    ("grad", ["-s", "2,3", "--upstream", "seed", "--check"]),
    ("explain", []),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: f"{c[0]}{''.join(c[1][:1])}")
@pytest.mark.parametrize("pair", SINGLE, ids=lambda p: p[0][1])
@pytest.mark.parametrize("output", [["--format", "ascii"], ["--json"]], ids=["ascii", "json"])
def test_a_single_linear_explains_as_in_out(
    command: tuple[str, list[str]], pair: tuple[list[str], list[str]], output: list[str]
) -> None:
    name, rest = command
    net, plain = pair
    ours = cli(name, *net, *rest, *output)
    theirs = cli(name, *plain, *rest, *output)
    assert theirs.exit_code == 0, theirs.output
    assert ours.exit_code == 0, ours.output
    assert ours.stdout == theirs.stdout


# --- errors through the CLI ---------------------------------------------------------------------


def test_a_width_mismatch_names_both_layers_and_torchs_words() -> None:
    line = assert_one_line_error(cli("run", "--net", "Linear(3, 4), Linear(5, 2)", "-s", "4,3"))
    assert "(1) Linear(in_features=5, out_features=2, bias=True)" in line
    assert "(0) Linear(in_features=3, out_features=4, bias=True)" in line
    assert "mat1 and mat2 shapes cannot be multiplied (4x4 and 5x2)" in line
    # an activation between them: the failing layer, the one before, torch's words
    net = "Linear(3, 4), ReLU(), Linear(4, 5), Linear(6, 2)"
    line = assert_one_line_error(cli("shape", "--net", net, "-s", "2,7,3"))
    assert "(3) Linear(in_features=6, out_features=2, bias=True)" in line
    assert "(2) Linear(in_features=4, out_features=5, bias=True)" in line
    assert "mat1 and mat2 shapes cannot be multiplied (14x5 and 6x2)" in line
    line = assert_one_line_error(cli("run", "--net", "Linear(3, 4), ReLU(), Linear(5, 2)"))
    assert "(2) Linear(in_features=5, out_features=2, bias=True)" in line
    assert "from (0) Linear(in_features=3, out_features=4, bias=True)" in line  # set the width
    assert "mat1 and mat2 shapes cannot be multiplied (4x4 and 5x2)" in line
    # the input against the first layer: torch's words for it
    line = assert_one_line_error(cli("run", "--net", "3,4,2", "-s", "2,5,6"))
    assert "mat1 and mat2 shapes cannot be multiplied (10x6 and 3x4)" in line


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--net", "Conv2d(3, 8, 3)"], "Conv2d"),
        (["--net", "Linear(3, 4), nn.Conv2d(4, 8, 3)"], "Conv2d"),
        (["--net", "Sequential(\n  (0): BatchNorm1d(3)\n)"], "BatchNorm1d"),
        (["--net", "3,conv,2"], "conv"),
        (["--net", "3,2", "--in", "3"], "--in"),
        (["--net", "3,2", "--out", "2"], "--out"),
        (["--net", "3,2", "--net-file", "x.txt"], "--net"),
        (["--net", ""], "--net"),
        (["--net", "Linear(3, 4), Softmax(dim=2)", "-s", "2,3"], "Softmax(dim=2)"),
        (["--net", "flatten,12,5", "-s", "N,3,4,5"], "mat1 and mat2"),
        (["--net", "3,4,2", "--weight-file", "PT"], "pickle"),
    ],
)
@pytest.mark.parametrize("command", ["shape", "expand", "run", "grad", "explain"])
def test_bad_networks_are_one_line_errors(
    command: str, args: list[str], words: str, tmp_path: Path
) -> None:
    if "PT" in args:
        if command == "shape":
            pytest.skip("shape takes no --weight-file")
        pt = tmp_path / "weights.pt"
        pt.write_bytes(b"PK\x03\x04")
        args = [str(pt) if a == "PT" else a for a in args]
    if command == "shape" and "-s" not in args:
        args = [*args, "-s", "2,3"]
    line = assert_one_line_error(cli(command, *args))
    assert words in line, line


# --- the text commands mention every layer, in every format ------------------------------------


NET = "Flatten(start_dim=1, end_dim=-1), Linear(6, 4), GELU(approximate='tanh'), Dropout(p=0.25), Linear(4, 3, bias=False), LeakyReLU(0.2), Linear(3, 2), Softmax(dim=-1)"  # noqa: E501
NET_MODULES = [layer.module for layer in Network.of(parse_net(NET)).layers]
TEXT_COMMANDS = [
    ("shape", ["-s", "N,2,3"]),
    ("expand", ["-s", "N,2,3"]),
    ("expand", ["-s", "4,2,3", "--max-terms", "3"]),
    ("run", ["-s", "4,2,3", "--steps"]),
    ("grad", ["-s", "4,2,3", "--check"]),
    ("explain", ["-s", "4,2,3"]),
]


@pytest.mark.parametrize("fmt", ["pretty", "ascii", "latex", "markdown"])
@pytest.mark.parametrize("command", TEXT_COMMANDS, ids=lambda c: c[0] + "".join(c[1][-1:]))
def test_text_commands_mention_every_layer(command: tuple[str, list[str]], fmt: str) -> None:
    name, rest = command
    result = cli(name, "--net", NET, *rest, "--format", fmt)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.strip()
    if fmt == "ascii":
        assert out.isascii(), [c for c in out if not c.isascii()][:10]
    for i in range(len(NET_MODULES)):
        assert f"({i})" in out, (i, out[:2000])
    kinds = ["Flatten", "Linear", "GELU", "Dropout", "LeakyReLU", "Softmax"]
    for kind in kinds:
        assert kind in out, kind
    if fmt == "latex":
        assert "\\begin{document}" in out or "\\[" in out or "$" in out
    if fmt == "markdown":
        assert "#" in out


@pytest.mark.parametrize(
    "act", ["relu", "leakyrelu(0.2)", "gelu", "gelu(tanh)", "sigmoid", "tanh", "silu", "softmax"]
)
def test_expand_writes_each_activation_of_its_layers_z(act: str) -> None:
    """a_i^(l) = f(z_i^(l)): the activation's argument carries the layer's superscript."""
    result = cli("expand", "--net", f"3,2,{act},4", "--format", "ascii")
    assert result.exit_code == 0, result.output
    rows = [line.strip() for line in result.stdout.splitlines() if "a_1^(2) =" in line]
    assert rows, result.stdout
    for row in rows:
        assert "z_1^(2)" in row, row


NET_PROSE = {  # what each command says in prose, in every writer: pretty, ascii, latex
    "expand": (
        ["a⁽¹⁾ = x, of shape (2, 4)", "z⁽²⁾ = W⁽²⁾ a⁽¹⁾ + b⁽²⁾: (2, 4) → (2, 3)",
         "z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = f(z⁽ˡ⁾)"],
        ["a^(1) = x, of shape (2, 4)", "z^(2) = W^(2) a^(1) + b^(2): (2, 4) -> (2, 3)",
         "z^(l) = W^(l) a^(l-1) + b^(l), a^(l) = f(z^(l))"],
        ["a$^{(1)}$ = x", "z$^{(2)}$ = W$^{(2)}$ a$^{(1)}$ + b$^{(2)}$",
         "z$^{(l)}$ = W$^{(l)}$ a$^{(l-1)}$ + b$^{(l)}$"],
    ),
    "run": (
        ["x = a⁽¹⁾ (2, 4)", "(0) W⁽²⁾ = net[0].weight (3, 4)", "(0) b⁽²⁾ = net[0].bias",
         "(0) z⁽²⁾ = a⁽¹⁾·W⁽²⁾ᵀ + b⁽²⁾ (2, 3)", "(1) a⁽²⁾ = ReLU(z⁽²⁾) (2, 3)"],
        ["x = a^(1) (2, 4)", "(0) W^(2) = net[0].weight (3, 4)",
         "(0) z^(2) = a^(1)*W^(2)^T + b^(2) (2, 3)", "(1) a^(2) = ReLU(z^(2)) (2, 3)"],
        ["x = a$^{(1)}$ (2, 4)", r"(0) z$^{(2)}$ = a$^{(1)}$$\cdot$W$^{(2)T}$ + b$^{(2)}$"],
    ),
    "grad": (
        ["(2) δ⁽³⁾ = ∂L/∂z⁽³⁾ = G: (2, 2)", "∂L/∂W⁽³⁾ = δ⁽³⁾ᵀ·a⁽²⁾, summed over the rows",
         "(1) δ⁽²⁾ = ∂L/∂a⁽²⁾ ⊙ ReLU′(z⁽²⁾)", "(0) ∂L/∂W⁽²⁾ = net[0].weight.grad (3, 4)",
         "so δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾), ∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ, ∂L/∂b⁽ˡ⁾ = Σ δ⁽ˡ⁾"],
        ["(2) delta^(3) = dL/dz^(3) = G: (2, 2)", "dL/dW^(3) = delta^(3)^T*a^(2), summed",
         "so delta^(l) = (W^(l+1)^T delta^(l+1)) (*) f'(z^(l)), dL/dW^(l) = delta^(l) a^(l-1)^T"],
        [r"(2) $\delta^{(3)}$ = $\partial$L/$\partial$z$^{(3)}$ = G",
         r"$\partial$L/$\partial$W$^{(3)}$ = $\delta^{(3)T}$$\cdot$a$^{(2)}$",
         r"(W$^{(l+1)T}$ $\delta^{(l+1)}$)"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("command", list(NET_PROSE))
def test_network_prose_names_a_layer_as_the_maths_does(command: str) -> None:
    """a⁽¹⁾, W⁽²⁾, δ⁽ˡ⁾ in the prose, as the maths prints z₁⁽²⁾: unicode on a terminal, a^(1) in
    ASCII (nothing else), a$^{(1)}$ in LaTeX."""
    pretty, ascii_, latex = NET_PROSE[command]
    for fmt, expected in (("pretty", pretty), ("ascii", ascii_), ("latex", latex)):
        result = cli(command, "--net", "4,3,relu,2", "-s", "2,4", "--format", fmt)
        assert result.exit_code == 0, result.output
        out = result.stdout
        for words in expected:
            assert words in out, (fmt, words, out)
        if fmt == "pretty":
            assert "^(" not in out and "^T" not in out
        elif fmt == "ascii":
            assert out.isascii() and "^(^" not in out
        else:
            assert "textasciicircum" not in out and r"$\delta$$^" not in out


def test_network_prose_writes_any_layer_number() -> None:
    """Two digits, and below zero (``--layer`` sets the first Linear's number)."""
    tens = cli("grad", "--net", "4,3,relu,2", "-s", "2,4", "--layer", "10", "--format", "ascii")
    assert "(0) delta^(10) = dL/dz^(10)" in tens.stdout and "dL/da^(9) = " in tens.stdout
    zero = cli("grad", "--net", "4,3,relu,2", "-s", "2,4", "--layer", "0", "--format", "pretty")
    assert "∂L/∂W⁽⁰⁾ = δ⁽⁰⁾ᵀ·a⁽⁻¹⁾" in zero.stdout
    latex = cli("expand", "--net", "4,3,relu,2", "--layer", "11", "--format", "latex")
    assert "z$^{(12)}$ = W$^{(12)}$ a$^{(11)}$ + b$^{(12)}$" in latex.stdout


def test_expand_and_explain_mention_every_layer_of_a_printed_model(tmp_path: Path) -> None:
    case = next(c for c in CASES if c["name"] == "deep_3d_f64")
    path = tmp_path / "model.txt"
    path.write_text(case["print"])
    for command in ("expand", "explain"):
        result = cli(command, "--net-file", str(path), "-s", "2,3,3", "--format", "ascii")
        assert result.exit_code == 0, result.output
        for layer in case["layers"]:
            assert f"({layer['index']})" in result.stdout
        assert "GELU" in result.stdout and "Sigmoid" in result.stdout


def test_net_file_reads_stdin() -> None:
    case = next(c for c in CASES if c["name"] == "relu")
    result = cli("run", "--net-file", "-", "-s", "4,6", "--json", stdin=case["print"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["module"] == case["print"]


# --- live torch ------------------------------------------------------------------------------


@contextlib.contextmanager
def default_dtype(torch, dtype: str):
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        yield
    finally:
        torch.set_default_dtype(torch.float32)


LIVE_ACTIVATIONS = [
    lambda nn, r: nn.ReLU(),
    lambda nn, r: nn.LeakyReLU(r.choice([0.01, 0.2, -0.5, 2.0])),
    lambda nn, r: nn.GELU(),
    lambda nn, r: nn.GELU(approximate="tanh"),
    lambda nn, r: nn.Sigmoid(),
    lambda nn, r: nn.Tanh(),
    lambda nn, r: nn.SiLU(),
    lambda nn, r: nn.Softmax(dim=r.choice([-1, 0, None])),
    lambda nn, r: nn.Identity(),
    lambda nn, r: nn.Dropout(r.choice([0.0, 0.3])),
]


def random_model(torch, r: random.Random):
    """A random nn.Sequential and an input shape for it (a Flatten first for some)."""
    nn = torch.nn
    modules = []
    rank = r.randint(1, 3)
    shape = [r.randint(1, 3) for _ in range(rank - 1)]
    if r.random() < 0.25:  # a Flatten of the last two dims first
        a, b = r.randint(1, 3), r.randint(1, 3)
        modules.append(nn.Flatten(-2, -1) if r.random() < 0.5 else nn.Flatten(len(shape), -1))
        shape += [a, b]
        width = a * b
    else:
        width = r.randint(1, 6)
        shape.append(width)
    for _ in range(r.randint(1, 4)):
        out = r.randint(1, 6)
        modules.append(nn.Linear(width, out, bias=r.random() < 0.8))
        width = out
        for _ in range(r.choice([0, 1, 1, 2])):
            modules.append(r.choice(LIVE_ACTIVATIONS)(nn, r))
    return modules, shape


def live_case(torch, seed: int, dtype: str):
    """Torch's session for a random network: the model, x, outputs, seed-upstream grads."""
    r = random.Random(seed)
    with default_dtype(torch, dtype), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(seed)
        modules, shape = random_model(torch, r)  # built in order: torch's draws
        net = torch.nn.Sequential(*modules).eval()
        x = torch.randn(*shape, requires_grad=True)
        outputs, h = [], x
        for module in net:
            h = module(h)
            outputs.append(h)
        y = outputs[-1]
        g = torch.randn(*y.shape)
        y.backward(g)
    return net, x, outputs, g


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from(["float32", "float64"]))
def test_live_random_networks_match_torch(torch, seed: int, dtype: str) -> None:
    """print(model) of a real nn.Sequential parsed back: torch's weights, x, every layer's output,
    and the gradients of a seeded upstream."""
    net, x, outputs, g = live_case(torch, seed, dtype)
    network = Network.of(parse_net(str(net)))
    assert network.module == str(net)
    trace = run_network(network, seed=seed, dtype=dtype, input_shape=tuple(x.shape))
    assert_drawn(trace.x, x.detach().numpy(), dtype)
    for module, (weight, bias) in zip(net, trace.params, strict=True):
        if isinstance(module, torch.nn.Linear):
            np.testing.assert_array_equal(weight, module.weight.detach().numpy())
            if module.bias is None:
                assert bias is None
            else:
                np.testing.assert_array_equal(bias, module.bias.detach().numpy())
    for ours, theirs in zip(trace.outputs, outputs, strict=True):
        assert_close(ours, theirs.detach().numpy(), dtype)
    grads = backward_network(trace, "seed")
    assert_drawn(grads.upstream, g.numpy(), dtype)
    grads = backward_network(trace, g.numpy())  # torch's G exactly: only the maths compared
    assert_close(grads.grad_input, x.grad.numpy(), dtype)
    for module, (gw, gb) in zip(net, grads.grads, strict=True):
        if isinstance(module, torch.nn.Linear):
            assert_close(gw, module.weight.grad.numpy(), dtype)
            if module.bias is not None:
                assert_close(gb, module.bias.grad.numpy(), dtype)


@pytest.mark.parametrize("seed", range(8))
def test_live_print_model_through_net_file(torch, seed: int, tmp_path: Path) -> None:
    dtype = ["float32", "float64"][seed % 2]
    net, x, outputs, _ = live_case(torch, 1000 + seed, dtype)
    path = tmp_path / "model.txt"
    path.write_text(str(net) + "\n")
    common = [
        "--net-file", str(path), f"--seed={1000 + seed}", "--dtype", dtype,
        "--input-shape", shape_text(list(x.shape)),
    ]  # fmt: skip
    data = cli_json("run", *common)
    assert data["module"] == str(net)
    for entry, module, out in zip(data["layers"], net, outputs, strict=True):
        assert entry["module"] == str(module)
        if isinstance(module, torch.nn.Linear):
            w = np.array(entry["weight"], dtype=dtype).reshape(tuple(module.weight.shape))
            np.testing.assert_array_equal(w, module.weight.detach().numpy())
        ours = np.array(entry["output"], dtype=dtype).reshape(tuple(out.shape))
        assert_close(ours, out.detach().numpy(), dtype)
    grads = cli_json("grad", *common)
    with default_dtype(torch, dtype):
        xs = x.detach().clone().requires_grad_()
        net.zero_grad()
        net(xs).sum().backward()
    assert_close(
        np.array(grads["grad_input"], dtype=dtype).reshape(xs.shape), xs.grad.numpy(), dtype
    )
    linears = [i for i, m in enumerate(net) if isinstance(m, torch.nn.Linear)]
    assert [e["index"] for e in grads["layers"]] == linears
    for entry in grads["layers"]:
        module = net[entry["index"]]
        gw = np.array(entry["grad_weight"], dtype=dtype).reshape(tuple(module.weight.shape))
        assert_close(gw, module.weight.grad.numpy(), dtype)


@pytest.mark.parametrize("case", CASES[::5], ids=case_id)
def test_live_torch_snippet_reproduces_the_run(torch, case: dict, tmp_path: Path) -> None:
    """The PyTorch code run and grad print gives torch's numbers: ours."""
    trace = trace_of(case)
    grads = backward_network(trace, "seed")
    path = tmp_path / "snippet.py"
    path.write_text(grads.torch_snippet())
    with default_dtype(torch, "float32"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(io.StringIO()):
            scope = runpy.run_path(str(path))
    net, x, y = scope["net"], scope["x"], scope["y"]
    assert_drawn(trace.x, x.detach().numpy(), case["dtype"])  # a given x: written as a literal
    assert_close(trace.y, y.detach().numpy(), case["dtype"])
    assert_close(grads.grad_input, x.grad.numpy(), case["dtype"])
    for i, (gw, _) in enumerate(grads.grads):
        if gw is not None:
            np.testing.assert_array_equal(trace.params[i][0], net[i].weight.detach().numpy())
            assert_close(gw, net[i].weight.grad.numpy(), case["dtype"])


def test_live_width_mismatch_is_torchs_message(torch) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    with pytest.raises(RuntimeError) as caught:
        net(torch.randn(4, 3))
    result = cli("run", "--net", str(net), "-s", "4,3")
    line = assert_one_line_error(result)
    assert str(caught.value) in line


def test_live_shape_json_counts_torchs_parameters(torch) -> None:
    nn = torch.nn
    net = nn.Sequential(
        nn.Flatten(), nn.Linear(12, 8), nn.GELU(), nn.Linear(8, 8, bias=False), nn.Softmax(-1)
    )
    data = cli_json("shape", "--net", str(net), "-s", "5,3,4")
    assert data["params"] == sum(p.numel() for p in net.parameters())
    y = net(torch.randn(5, 3, 4))
    assert data["output_shape"] == list(y.shape)
    assert [e["module"] for e in data["layers"]] == [str(m) for m in net]
    assert [e["params"] for e in data["layers"]] == [
        sum(p.numel() for p in m.parameters()) for m in net
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_live_safetensors_written_by_torch_load(torch, dtype: str, tmp_path: Path) -> None:
    """A state_dict saved by torch itself (as .npz, and as .safetensors in the documented
    format when the safetensors package is absent) loads into the network it came from."""
    with default_dtype(torch, dtype):
        torch.manual_seed(3)
        net = torch.nn.Sequential(
            torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2, bias=False)
        )
        x = torch.randn(2, 4)
        y = net(x).detach().numpy()
    state = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    paths = [tmp_path / "w.npz"]
    np.savez(paths[0], **state)
    try:
        from safetensors.torch import save_file
    except ImportError:
        pass
    else:
        paths.append(tmp_path / "w.safetensors")
        save_file(net.state_dict(), str(paths[1]))
    for path in paths:
        trace = run_network(
            Network.of(parse_net(str(net))),
            dtype=dtype,
            x=x.numpy(),
            state=load_state(str(path), dtype),
        )
        assert_close(trace.y, y, dtype)


def test_expand_of_a_network_refuses_numbers_it_would_not_show() -> None:
    line = assert_one_line_error(cli("expand", "--net", "3,2,relu,2", "--seed", "1"))
    assert "run --net --steps" in line


def test_softmax_is_written_out_over_the_features() -> None:
    """aᵢ = exp(zᵢ) / Σₖ exp(zₖ), never softmax of one number (which would be 1); over another
    dim than the features the rows say softmax along that dim."""
    from typer.testing import CliRunner

    from linexplain.cli import app

    def out(*args: str) -> str:
        result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1"})
        assert result.exit_code == 0, result.output
        return result.stdout

    written = out("expand", "--net", "3,2,softmax(-1)", "--format", "pretty")
    assert "a₁⁽²⁾ = exp(z₁⁽²⁾) / Σₖ₌₁² exp(zₖ⁽²⁾)" in written
    assert "a_1^(2) = exp(z_1^(2)) / sum_{k=1}^{2} exp(z_k^(2))" in out(
        "expand", "--net", "3,2,softmax(-1)", "--format", "ascii"
    )
    assert r"\frac{" in out("expand", "--net", "3,2,softmax(-1)", "--format", "latex")
    steps = out("run", "--net", "3,2,softmax(-1)", "-s", "1,3", "--steps", "--format", "pretty")
    assert "a₂⁽²⁾ = exp(1.2920) / Σₖ₌₁² exp(zₖ⁽²⁾) = 0.8725" in steps
    other = out("expand", "--net", "4,3,softmax(0)", "-s", "2,4", "--format", "pretty")
    assert "a₁⁽²⁾ = softmax(z₁⁽²⁾)" in other and "exp(z₁" not in other
