"""The network-spec grammar (``--net``): what parses, what is refused and how the refusal reads."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linexplain.errors import LinexplainError
from linexplain.netspec import (
    KINDS,
    MAX_DEPTH,
    MAX_LAYERS,
    MAX_TEXT,
    LayerSpec,
    format_compact,
    format_sequential,
    format_torch,
    parse_net,
)

DATA = json.loads((Path(__file__).parent / "data" / "sequential_print.json").read_text())
CASES = DATA["cases"]


def plain(layers: tuple[LayerSpec, ...] | list[LayerSpec]) -> list[tuple[str, list]]:
    """Kind and arguments, without where: what two spellings of one network share."""
    return [(layer.kind, [list(arg) for arg in layer.args]) for layer in layers]


def recorded(case: dict) -> list[tuple[str, list]]:
    return [(layer["kind"], layer["args"]) for layer in case["layers"]]


def L(n_in: int, n_out: int, bias: bool = True) -> tuple[str, list]:
    return ("Linear", [["in_features", n_in], ["out_features", n_out], ["bias", bias]])


RELU = ("ReLU", [])


def refusal(text: str, act: str | None = None) -> str:
    """The one-line message (with its hint) parse_net refuses text with."""
    with pytest.raises(LinexplainError) as info:
        parse_net(text, act)
    error = info.value
    assert error.message and error.hint
    assert "\n" not in str(error)
    return str(error)


# --- the recorded print(model) texts of real torch networks -----------------------------------


def test_fixtures_come_from_real_torch() -> None:
    assert DATA["torch"].startswith("2.13")
    assert len(CASES) >= 25
    kinds = {layer["kind"] for case in CASES for layer in case["layers"]}
    assert kinds == set(KINDS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_printed_text_parses_to_the_recorded_layers(case: dict) -> None:
    layers = parse_net(case["print"])
    assert plain(layers) == recorded(case)
    # where: the line of print(model)'s text and the dotted name named_modules gives
    lines = case["print"].splitlines()
    layer_lines = [
        n
        for n, line in enumerate(lines, start=1)
        if re.match(r"\s*\(\w+\): \w+\(", line) and "Sequential(" not in line
    ]
    for layer, expected, line in zip(layers, case["layers"], layer_lines, strict=True):
        assert layer.where.startswith(f"line {line}, ({expected['path']}): {layer.kind}(")
        assert layer.where.endswith(lines[line - 1].split(": ", 1)[1])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_comma_and_compact_forms_give_the_printed_layers(case: dict) -> None:
    printed = plain(parse_net(case["print"]))
    if case["comma"]:
        assert plain(parse_net(case["comma"])) == printed
    if case["compact"]:
        assert plain(parse_net(case["compact"])) == printed
    # the printed lines themselves, comma-separated without their labels
    flat = [
        line.split(": ", 1)[1]
        for line in case["print"].splitlines()
        if ": " in line and not line.rstrip().endswith(("Sequential(", "Sequential()"))
    ]
    assert plain(parse_net(", ".join(flat))) == printed


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_written_back_as_torch_prints_it(case: dict) -> None:
    layers = parse_net(case["print"])
    assert plain(parse_net(format_sequential(layers))) == recorded(case)
    flat = all(layer["path"].isdigit() for layer in case["layers"])
    ints = case["name"] in ("leaky_int", "dropout_ends")  # torch prints the int it was given
    if flat and not ints and "inplace=True" not in case["print"]:  # inplace is not kept
        assert format_sequential(layers) == case["print"]


def test_layer_spec_values() -> None:
    (linear, act, soft) = parse_net("784,256:nobias,leakyrelu(0.2),softmax")
    assert linear == LayerSpec(
        "Linear",
        (("in_features", 784), ("out_features", 256), ("bias", False)),
        "item 2 '256:nobias'",
    )
    assert act.get("negative_slope") == 0.2 and isinstance(act.get("negative_slope"), float)
    assert soft.args == (("dim", None),)
    with pytest.raises(KeyError):
        soft.get("p")


# --- what parses ------------------------------------------------------------------------------

ACCEPTED = [
    ("784,256,relu,10", [L(784, 256), RELU, L(256, 10)]),
    (" 784 , 256 ,relu , 10 ", [L(784, 256), RELU, L(256, 10)]),
    ("784,\n256,\nrelu,\n10\n", [L(784, 256), RELU, L(256, 10)]),
    ("784,256:nobias,10", [L(784, 256, False), L(256, 10)]),
    ("3,4:nobias,5:nobias", [L(3, 4, False), L(4, 5, False)]),
    ("784,256,relu,relu,10", [L(784, 256), RELU, RELU, L(256, 10)]),
    ("relu,784,256", [RELU, L(784, 256)]),
    ("0,0", [L(0, 0)]),
    (f"1,{2**63 - 1}", [L(1, 2**63 - 1)]),
    (
        "flatten,12,5,softmax(-1)",
        [("Flatten", [["start_dim", 1], ["end_dim", -1]]), L(12, 5), ("Softmax", [["dim", -1]])],
    ),
    ("flatten(2, -1)", [("Flatten", [["start_dim", 2], ["end_dim", -1]])]),
    ("flatten(end_dim=-2)", [("Flatten", [["start_dim", 1], ["end_dim", -2]])]),
    ("leakyrelu(1e-2)", [("LeakyReLU", [["negative_slope", 0.01]])]),
    ("leakyrelu(-.5)", [("LeakyReLU", [["negative_slope", -0.5]])]),
    ("leakyrelu(+3)", [("LeakyReLU", [["negative_slope", 3.0]])]),
    ("leakyrelu", [("LeakyReLU", [["negative_slope", 0.01]])]),
    ("gelu(tanh)", [("GELU", [["approximate", "tanh"]])]),
    ("gelu('tanh')", [("GELU", [["approximate", "tanh"]])]),
    ('gelu(approximate="none")', [("GELU", [["approximate", "none"]])]),
    ("softmax", [("Softmax", [["dim", None]])]),
    ("softmax()", [("Softmax", [["dim", None]])]),
    ("softmax(dim=None)", [("Softmax", [["dim", None]])]),
    ("dropout(0)", [("Dropout", [["p", 0.0]])]),
    ("dropout(1.0, True)", [("Dropout", [["p", 1.0]])]),
    ("sigmoid,tanh,silu,identity", [("Sigmoid", []), ("Tanh", []), ("SiLU", []), ("Identity", [])]),
    ("Linear(784, 256), ReLU(), Linear(256, 10)", [L(784, 256), RELU, L(256, 10)]),
    ("nn.Linear(784, 256, bias=False)", [L(784, 256, False)]),
    ("torch.nn.Linear(784, 256, False)", [L(784, 256, False)]),
    ("Linear(in_features=3, out_features=4,)", [L(3, 4)]),
    ("Linear(out_features=4, in_features=3)", [L(3, 4)]),
    ("Linear(3, out_features=4)", [L(3, 4)]),
    ("LeakyReLU(negative_slope=0.2)", [("LeakyReLU", [["negative_slope", 0.2]])]),
    ("LeakyReLU(0.2, True)", [("LeakyReLU", [["negative_slope", 0.2]])]),
    ("ReLU(inplace=True), SiLU(True)", [RELU, ("SiLU", [])]),
    ("Softmax(), Softmax(None)", [("Softmax", [["dim", None]])] * 2),
    ("Softmax(dim=-1)", [("Softmax", [["dim", -1]])]),
    ("Dropout(p=0.5, inplace=False)", [("Dropout", [["p", 0.5]])]),
    ("Flatten(start_dim=1, end_dim=-1)", [("Flatten", [["start_dim", 1], ["end_dim", -1]])]),
    ("nn.Sequential(nn.Linear(3, 4), nn.ReLU(),)", [L(3, 4), RELU]),
    ("nn.Sequential(\n    nn.Linear(3, 4),\n    nn.Tanh(),\n)", [L(3, 4), ("Tanh", [])]),
    ("Sequential(Linear(3, 4), Sequential(ReLU(), Linear(4, 2)))", [L(3, 4), RELU, L(4, 2)]),
    ("Linear(3, 4), nn.Sequential(ReLU(), Sequential())", [L(3, 4), RELU]),
    ("Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n)", [L(3, 4)]),
    ("Sequential(\r\n  (0): ReLU()\r\n  (1): Tanh()\r\n)\r\n", [RELU, ("Tanh", [])]),
    ("Sequential((0): ReLU() (1): ReLU())", [RELU, RELU]),  # print(model) on one line
    ("Sequential(\n  (fc1): Linear(3, 4)\n  (act): ReLU()\n)", [L(3, 4), RELU]),
]


@pytest.mark.parametrize(("text", "layers"), ACCEPTED, ids=[t for t, _ in ACCEPTED])
def test_accepted(text: str, layers: list) -> None:
    assert plain(parse_net(text)) == layers


def test_where_says_where_each_layer_stands() -> None:
    text = (
        "Sequential(\n  (0): Linear(in_features=784, out_features=256, bias=True)\n  (1): ReLU()\n)"
    )
    assert [layer.where for layer in parse_net(text)] == [
        "line 2, (0): Linear(in_features=784, out_features=256, bias=True)",
        "line 3, (1): ReLU()",
    ]
    assert [layer.where for layer in parse_net("784,256,relu,10")] == [
        "item 2 '256'",
        "item 3 'relu'",
        "item 4 '10'",
    ]
    wheres = [layer.where for layer in parse_net("Linear(3, 4), Sequential(ReLU(), Tanh())")]
    assert wheres == ["item 1 'Linear(3, 4)'", "item 2.1 'ReLU()'", "item 2.2 'Tanh()'"]
    wheres = [layer.where for layer in parse_net("nn.Sequential(nn.Linear(3, 4), nn.ReLU())")]
    assert wheres == ["item 1 'nn.Linear(3, 4)'", "item 2 'nn.ReLU()'"]


# --- --act and the no-bias marker ---------------------------------------------------------------


def test_act_goes_between_linear_layers_where_none_is_written() -> None:
    assert plain(parse_net("784,256,128,10", act="relu")) == [
        L(784, 256),
        RELU,
        L(256, 128),
        RELU,
        L(128, 10),
    ]
    # written activations stay; identity keeps its gap linear; dropout is not an activation
    layers = parse_net("784,256,tanh,128,identity,64,dropout(0.1),10,softmax(-1)", act="gelu(tanh)")
    gelu = ("GELU", [["approximate", "tanh"]])
    assert plain(layers) == [
        L(784, 256),
        ("Tanh", []),
        L(256, 128),
        ("Identity", []),
        L(128, 64),
        gelu,
        ("Dropout", [["p", 0.1]]),
        L(64, 10),
        ("Softmax", [["dim", -1]]),
    ]
    assert layers[5].where == "--act gelu(tanh) after item 6 '64'"
    assert plain(parse_net("784,10", act="relu")) == [L(784, 10)]  # none after the last Linear
    assert plain(parse_net("4,8,8", act="leakyrelu(0.2)"))[1] == (
        "LeakyReLU",
        [["negative_slope", 0.2]],
    )
    assert plain(parse_net("4,8,8", act="softmax(-1)"))[1] == ("Softmax", [["dim", -1]])


def test_no_bias_marker() -> None:
    layers = parse_net("784,256:nobias,relu,10")
    assert [layer.get("bias") for layer in layers if layer.kind == "Linear"] == [False, True]
    assert format_compact(layers) == "784,256:nobias,relu,10"
    assert "first width" in refusal("784:nobias,10")
    assert "marker" in refusal("784,256:bias,10")
    assert "marker" in refusal("784,256:NoBias,10")


# --- refusals -------------------------------------------------------------------------------------

NESTED = "Sequential(" * (MAX_DEPTH + 1) + "ReLU()" + ")" * (MAX_DEPTH + 1)
REFUSED = [
    # what is not supported, or misspelt
    ("Conv2d(3, 8, 3)", None, ["at position 1", "Conv2d is not supported", "Linear, ReLU"]),
    ("Linear(784, 256), LayerNorm(256)", None, ["at position 19", "LayerNorm is not supported"]),
    ("Linear(8, 8), BatchNorm1d(8)", None, ["at position 15", "BatchNorm1d is not supported"]),
    ("nn.Embedding(10, 3)", None, ["at position 4", "Embedding is not supported"]),
    ("MultiheadAttention(8, 2)", None, ["MultiheadAttention is not supported"]),
    ("Linear(3, 4), ReLU6()", None, ["ReLU6 is not supported"]),
    ("784,conv2d,10", None, ["at position 5", "conv2d is not supported"]),
    ("784,rleu,10", None, ["at position 5", "'rleu' is not a layer", "did you mean relu?"]),
    ("784,256,gleu,10", None, ["did you mean gelu?"]),
    ("Linear(3, 4), Relu()", None, ["at position 15", "did you mean ReLU?"]),
    ("Linear(3, 4), Sigmoi()", None, ["did you mean Sigmoid?"]),
    ("Linear(3, 4), Sequentail(ReLU())", None, ["did you mean Sequential?"]),
    ("MLP(\n  (fc): Linear(3, 4)\n)", None, ["line 1, column 1", "'MLP' is not a layer"]),
    ("784,ReLU,10", None, ["PyTorch's spelling in a compact spec", "write relu"]),
    ("784,Linear(784, 10)", None, ["Linear in a compact spec", "output width"]),
    ("784,nn.ReLU()", None, ["PyTorch's text in a compact spec"]),
    ("Linear(3, 4), relu", None, ["compact spelling", "write ReLU()"]),
    ("Linear(3, 4), 10", None, ["at position 15", "compact width"]),
    ("ReLU", None, ["has no brackets", "write ReLU()"]),
    # bad arguments
    ("Linear(784, 256, bais=True)", None, ["at position 18", "'bais'", "did you mean bias?"]),
    ("LeakyReLU(slope=0.2)", None, ["no argument 'slope'", "negative_slope"]),
    ("Dropout(p=1.5)", None, ["at position 11", "p is 1.5", "between 0 and 1"]),
    ("784,256,dropout(-0.1),10", None, ["at position 17", "between 0 and 1"]),
    ("Linear(784, 256, bias=maybe)", None, ["at position 23", "maybe is a name, not a value"]),
    ("Linear(784, 256, bias='maybe')", None, ["at position 23", "not True or False"]),
    ("Linear(784, 256, bias=1)", None, ["bias is 1, not True or False"]),
    ("Linear('784', 256)", None, ["at position 8", "not a whole number"]),
    ("Linear(784.0, 256)", None, ["in_features is 784.0, not a whole number"]),
    ("Linear(-784, 256)", None, ["a negative size"]),
    ("Linear(784, 99999999999999999999)", None, ["larger than torch's largest size"]),
    ("Softmax(dim='last')", None, ["not a dim"]),
    ("Softmax(dim=True)", None, ["not a dim"]),
    ("GELU(approximate='fast')", None, ["not 'none' or 'tanh'"]),
    ("gelu(fast)", None, ["at position 6", "not 'none' or 'tanh'"]),
    ("LeakyReLU('0.2')", None, ["not a number"]),
    ("LeakyReLU(nan)", None, ["not a finite number"]),
    ("LeakyReLU(1e999)", None, ["too large for a float"]),
    ("Linear(784)", None, ["needs out_features"]),
    ("Linear()", None, ["needs in_features and out_features"]),
    ("Linear(1, 2, True, 'cpu')", None, ["takes at most 3", "--dtype"]),
    ("Linear(784, 256, device='cpu')", None, ["no argument 'device'", "--dtype"]),
    ("Identity(54)", None, ["Identity takes no arguments"]),
    ("Sigmoid(1)", None, ["Sigmoid takes no arguments"]),
    ("relu(0.5)", None, ["relu's inplace is 0.5, not True or False"]),
    ("Linear(bias=False, 3, 4)", None, ["positional argument follows a keyword"]),
    ("Linear(3, 4, bias=True, bias=False)", None, ["given bias twice"]),
    ("Linear(3, in_features=3)", None, ["given in_features twice"]),
    ("Linear(3, , 4)", None, ["at position 11", "expected a value"]),
    ("Linear(3 4)", None, ["at position 10", "follows an argument"]),
    ("Linear(1, 2, 3, 4, 5, 6)", None, ["more than 5 arguments"]),
    ("Linear(3, (4))", None, ["expected a value, found '('"]),
    ("Linear(3, 4 == 4)", None, ["follows an argument"]),
    # brackets, empty items, trailing commas
    ("Linear(784, 256", None, ["at position 7", "'(' is never closed"]),
    ("Linear(784, 256))", None, ["at position 17", "')' closes nothing"]),
    ("784,256)", None, ["at position 8", "')' closes nothing"]),
    ("Sequential(Linear(3, 4)", None, ["at position 11", "never closed"]),
    ("Sequential(Linear(3, 4)))", None, ["at position 25", "closes nothing"]),
    ("Sequential(\n  (0): ReLU()\n", None, ["line 1, column 11", "never closed"]),
    ("784,,10", None, ["at position 4", "item 2 is empty"]),
    (",784,10", None, ["at position 1", "item 1 is empty"]),
    ("784,10,", None, ["at position 7", "item 3 is empty", "trailing comma"]),
    ("Linear(3, 4),", None, ["at position 13", "trailing comma"]),
    ("Linear(3, 4),, ReLU()", None, ["at position 13", "item 2 is empty"]),
    ("Sequential(Linear(3, 4),, ReLU())", None, ["item 2 of the Sequential is empty"]),
    ("784 256", None, ["at position 5", "'256' follows item 1 '784'", "commas"]),
    ("Linear(3, 4) ReLU()", None, ["at position 14", "'ReLU' follows item 1"]),
    ("Sequential(ReLU()), ReLU()", None, ["',' follows the Sequential"]),
    # the compact form's widths
    ("784", None, ["784 is the input's features, but no Linear follows"]),
    ("784,relu", None, ["no Linear follows"]),
    ("784,flatten,10", None, ["at position 5", "flatten between widths"]),
    ("784,flatten(1, -1),10", None, ["between widths"]),
    ("784,-256", None, ["at position 5", "width -256 is negative"]),
    ("784,+256", None, ["has a sign", "write 256"]),
    ("784,256.5", None, ["width 256.5 is not a whole number"]),
    ("784,1e3", None, ["not a whole number"]),
    ("784,0256", None, ["0256 has a leading zero", "write 256"]),
    ("784,10000000000000000000", None, ["larger than torch's largest size"]),
    ("784,1_000", None, ["'1_000' is not a number", "underscores"]),
    ("784,0x10", None, ["'0x10' is not a number", "decimal"]),
    ("784,3N", None, ["'3N' is not a number"]),
    ("'relu'", None, ["item 1 starts with", "not quoted"]),
    ("(0): Linear(3, 4)", None, ["print(model)'s whole text"]),
    # print(model)'s labels
    ("Sequential(\n  (1): ReLU()\n)", None, ["line 2, column 4", "(1) should be (0)"]),
    ("Sequential(\n  (0): ReLU()\n  (2): ReLU()\n)", None, ["line 3, column 4", "should be (1)"]),
    ("Sequential(\n  (a): ReLU()\n  (a): ReLU()\n)", None, ["line 3", "(a) is used twice"]),
    ("Sequential(\n  (0): ReLU(),\n  (1): ReLU()\n)", None, ["line 2, column 14", "','"]),
    ("Sequential(\n  (0) ReLU()\n)", None, ["line 2, column 7", "expected ':'"]),
    ("Sequential(\n  ('x'): ReLU()\n)", None, ["line 2, column 4", "expected a label"]),
    ("Sequential(\n  (0): ReLU\n)", None, ["line 2, column 8", "no brackets"]),
    ("Sequential()", None, ["the network has no layers"]),
    ("Sequential(Sequential())", None, ["the network has no layers"]),
    (NESTED, None, ["nested more than 16 deep"]),
    # code is text, never run
    ("Linear(784, 256); import os", None, ["at position 17", "';' cannot appear"]),
    ("__import__('os').system('x')", None, ["at position 1", "'__import__' is not a layer"]),
    ("eval('1+1')", None, ["'eval' is not a layer", "never run"]),
    ("exec('x')", None, ["'exec' is not a layer"]),
    ("lambda: 0", None, ["'lambda' is not a layer"]),
    ("import os", None, ["'import' is not a layer"]),
    ("Linear(3, 4), open('x')", None, ["at position 15", "'open' is not a layer"]),
    ("nn.functional.relu(x)", None, ["nn.functional.relu is attribute access"]),
    ("torch.relu(x)", None, ["torch.relu is attribute access"]),
    ("os.system('ls')", None, ["at position 1", "os.system is attribute access"]),
    ("Linear(3, 4).__class__", None, ["at position 13", "method calls"]),
    ("Linear(784, 256).cuda()", None, ["at position 17", "method calls"]),
    ("f'{784}'", None, ["at position 1", "string prefix f"]),
    ("GELU(approximate=f'tanh')", None, ["string prefix f"]),
    ("GELU(approximate=rb'tanh')", None, ["string prefix rb"]),
    ("Linear(784, int('256'))", None, ["at position 13", "'int(' in an argument is code"]),
    ("Linear(784, 256, dtype=torch.float64)", None, ["'torch.' in an argument is code"]),
    ("model = nn.Sequential(nn.ReLU())", None, ["'model =' is an assignment"]),
    ("Linear(3, 4), x = ReLU()", None, ["'x =' is an assignment"]),
    ("[784, 256]", None, ["at position 1", "'['"]),
    ("{'a': 1}", None, ["'{'"]),
    ("784 # input", None, ["at position 5", "'#'", "comments"]),
    ("784*2,10", None, ["'*'"]),
    ("$(touch x)", None, ["'$'"]),
    ("`ls`", None, ["'`'"]),
    ("GELU('tanh\\')", None, ["backslash"]),
    ("GELU('tanh)", None, ["at position 6", "not closed on its line"]),
    ("GELU('ta\nnh')", None, ["line 1, column 6", "not closed on its line"]),
    ("relu,é", None, ["at position 6", "'é' (U+00E9) is not ASCII"]),
    ("relu\x00", None, ["at position 5", "control character"]),
    ("relu,\u200brelu", None, ["not ASCII"]),
    # bounds
    ("", None, ["--net is empty"]),
    (" \n\t ", None, ["--net is empty"]),
    ("x" * 65, None, ["at position 1", "a name of 65 characters", "at most 64"]),
    ("GELU('" + "t" * 65 + "')", None, ["a string of 65 characters"]),
    ("784," + "1" * 31, None, ["at position 5", "a number of 31 digits", "at most 30"]),
    ("leakyrelu(0." + "1" * 30 + ")", None, ["a number of 31 digits"]),
    ("relu," * 250_000, None, ["1,250,000 characters long"]),
    (",".join(["8"] * (MAX_LAYERS + 2)), None, ["more than 1,000 layers"]),
    (",".join(["8"] * 600), "relu", ["more than 1,000 layers"]),
    (",".join(["8"] * 10_000), None, ["has 10,000 items"]),
    # --act
    ("784,10", "dropout", ["--act at position 1", "dropout is not an activation"]),
    ("784,10", "flatten", ["not an activation"]),
    ("784,10", "256", ["256 is a width, not an activation"]),
    ("784,10", "relu,gelu", ["--act at position 5", "takes one activation"]),
    ("784,10", "rleu", ["did you mean relu?"]),
    ("784,10", "", ["--act is empty"]),
    ("784,10", "leakyrelu(slope=1)", ["no argument 'slope'"]),
    ("Linear(784, 10)", "relu", ["--act relu is for the compact form"]),
]


@pytest.mark.parametrize(
    ("text", "act", "parts"), REFUSED, ids=[f"{t[:30]!r}-{a}" for t, a, _ in REFUSED]
)
def test_refused(text: str, act: str | None, parts: list[str]) -> None:
    message = refusal(text, act)
    for part in parts:
        assert part in message, (part, message)


def test_refusals_name_a_position() -> None:
    whole_text = ("is empty", "characters long", "items", "no layers", "compact form")
    for text, act, _ in REFUSED:
        message = refusal(text, act)
        if not any(w in message.split(" — hint")[0] for w in whole_text):
            assert re.search(r" at (position \d+|line \d+, column \d+)", message), message


def test_not_text_is_refused() -> None:
    with pytest.raises(LinexplainError, match="must be text, got int"):
        parse_net(784)  # type: ignore[arg-type]
    with pytest.raises(LinexplainError, match="must be text, got bytes"):
        parse_net(b"784,10")  # type: ignore[arg-type]


def test_limits_hold_at_their_edges() -> None:
    assert len(parse_net(",".join(["8"] * (MAX_LAYERS + 1)))) == MAX_LAYERS
    assert len(parse_net(" " * (MAX_TEXT - 4) + "relu")) == 1
    assert "characters long" in refusal(" " * (MAX_TEXT - 3) + "relu")
    assert len(parse_net("Sequential(" * MAX_DEPTH + "ReLU()" + ")" * MAX_DEPTH)) == 1
    assert parse_net("leakyrelu(0." + "1" * 29 + ")")[0].get("negative_slope") == pytest.approx(
        1 / 9
    )
    assert "not a layer linexplain knows" in refusal("x" * 64)  # long, but a name


def test_source_names_the_text() -> None:
    with pytest.raises(LinexplainError, match=r"^--net-file net\.txt at line 2, column 1"):
        parse_net("784,\nrleu", source="--net-file net.txt")


# --- fast refusal of huge specs ---------------------------------------------------------------

HUGE = {
    "compact": ",".join(["8"] * 10_001),
    "comma": ", ".join(["Linear(8, 8), ReLU()"] * 5_000),
    "sequential": "nn.Sequential(" + ", ".join(["nn.Linear(8, 8)"] * 10_000) + ")",
    "printed": "Sequential(\n"
    + "".join(f"  ({i}): Linear(in_features=8, out_features=8, bias=True)\n" for i in range(10_000))
    + ")",
}


@pytest.mark.parametrize("form", HUGE)
def test_ten_thousand_layers_are_refused_fast(form: str) -> None:
    text = HUGE[form]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        with pytest.raises(LinexplainError, match="items"):
            parse_net(text)
        best = min(best, time.perf_counter() - start)
    assert best < 0.05, f"{form}: {best * 1000:.1f} ms"


# --- nothing else escapes, nothing runs -----------------------------------------------------------

_WATCHED = ("exec", "compile", "os.system", "subprocess.Popen", "os.posix_spawn", "os.exec", "open")
_events: list[str] = []
_watching = [False]


def _audit(event: str, args: tuple) -> None:
    if _watching[0] and event.startswith(_WATCHED):
        _events.append(event)


sys.addaudithook(_audit)


def parses_or_refuses(text: str, act: str | None = None) -> None:
    """parse_net gives layers or LinexplainError, nothing else, and runs nothing meanwhile."""
    import difflib  # noqa: F401 - imported by the error path once; importing opens files

    _events.clear()
    _watching[0] = True
    try:
        layers = parse_net(text, act)
    except LinexplainError as error:
        assert error.message and error.hint and "\n" not in str(error)
    else:
        assert 1 <= len(layers) <= MAX_LAYERS
        for layer in layers:
            assert layer.kind in KINDS
            assert [name for name, _ in layer.args] == [p.name for p in KINDS[layer.kind] if p.kept]
    finally:
        _watching[0] = False
    assert not _events, _events


def test_the_audit_hook_sees_code_run() -> None:
    _watching[0] = True
    try:
        exec("1")  # noqa: S102 - checks the watch itself
    finally:
        _watching[0] = False
    assert "exec" in _events


FRAGMENTS = [
    "784", "256", "10", "0", "-1", "0.2", "1e-2", "1e999", "07", "3N", ",", ", ", "(", ")", "=",
    ".", ":", ":nobias", "-", "+", "'tanh'", '"none"', "'", '"', "\n", "  ", "relu", "leakyrelu",
    "gelu", "softmax", "dropout", "flatten", "identity", "Linear", "ReLU", "LeakyReLU", "GELU",
    "Softmax", "Dropout", "Flatten", "Sequential", "nn.", "torch.nn.", "bias", "True", "False",
    "None", "dim", "p", "in_features", "(0): ", "(fc1): ", "Conv2d", "__import__('os')",
    ".system('touch MARKER')", "eval(", "exec(", "lambda x: x", ";", "import os", "f'", "{", "}",
    "[", "]", "#", "\\", "é", "\x00", "__class__", "open('MARKER', 'w')",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=20)))
def test_any_text_parses_or_raises_our_error(text: str, act: str | None) -> None:
    parses_or_refuses(text, act)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join))
def test_near_valid_and_code_like_text_parses_or_raises_our_error(text: str) -> None:
    parses_or_refuses(text)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([c["print"] for c in CASES] + [c["compact"] for c in CASES]), st.data())
def test_edited_specs_parse_or_raise_our_error(text: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 5))
    insert = data.draw(st.sampled_from(["", *FRAGMENTS]))
    parses_or_refuses(text[:at] + insert + text[at + cut :])


def test_code_payloads_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "MARKER"
    payloads = [
        f"__import__('os').system('touch {marker}')",
        f"Linear(784, 256), __import__('os').system('touch {marker}')",
        f"Linear(784, 256); import os; os.system('touch {marker}')",
        f"eval(\"open('{marker}', 'w')\")",
        f"exec(\"open('{marker}', 'w')\")",
        f"lambda: open('{marker}', 'w')",
        f'f\'{{open("{marker}", "w")}}\'',
        f"nn.Sequential(nn.Linear(3, 4), open('{marker}', 'w'))",
        f"Linear(3, open('{marker}', 'w'))",
        "Linear(3, 4).__class__.__init__.__globals__",
        f"relu,$(touch {marker})",
        f"Sequential(\n  (0): __import__('os').system('touch {marker}')\n)",
    ]
    for payload in payloads:
        parses_or_refuses(payload)
        refusal(payload)
        for act in (payload, "relu"):
            parses_or_refuses("784,10", act)
    assert not marker.exists()


# --- round trips --------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
dims = st.integers(-4, 4)
PARAMETER_FREE = st.one_of(
    st.sampled_from([("ReLU", ()), ("Sigmoid", ()), ("Tanh", ()), ("SiLU", ()), ("Identity", ())]),
    finite.map(lambda s: ("LeakyReLU", (("negative_slope", s),))),
    st.sampled_from(["none", "tanh"]).map(lambda a: ("GELU", (("approximate", a),))),
    st.one_of(st.none(), dims).map(lambda d: ("Softmax", (("dim", d),))),
    st.floats(0, 1).map(lambda p: ("Dropout", (("p", p),))),
    st.tuples(dims, dims).map(lambda d: ("Flatten", (("start_dim", d[0]), ("end_dim", d[1])))),
)
sizes = st.one_of(st.integers(0, 1024), st.integers(0, 2**63 - 1))


@st.composite
def networks(
    draw: st.DrawFn, chained: bool, sizes: st.SearchStrategy[int] = sizes
) -> list[LayerSpec]:
    """A network; chained: its widths chain and flatten stands where the compact form has it."""
    layers: list[LayerSpec] = []
    width = draw(sizes)
    seen_linear = False
    for _ in range(draw(st.integers(1, 12))):
        if draw(st.booleans()):
            out, bias = draw(sizes), draw(st.booleans())
            n_in = width if chained else draw(sizes)
            args = (("in_features", n_in), ("out_features", out), ("bias", bias))
            layers.append(LayerSpec("Linear", args, ""))
            width, seen_linear = out, True
        else:
            kind, args = draw(PARAMETER_FREE)
            if chained and seen_linear and kind == "Flatten" and args[1][1] > -2:
                args = (args[0], ("end_dim", draw(st.integers(-4, -2))))
            layers.append(LayerSpec(kind, args, ""))
    return layers


@settings(max_examples=300, deadline=None)
@given(networks(chained=True))
def test_compact_text_round_trips(layers: list[LayerSpec]) -> None:
    assert plain(parse_net(format_compact(layers))) == plain(layers)


@settings(max_examples=300, deadline=None)
@given(networks(chained=False), st.sampled_from(["", "nn.", "torch.nn."]))
def test_torch_text_round_trips(layers: list[LayerSpec], prefix: str) -> None:
    assert plain(parse_net(format_sequential(layers))) == plain(layers)
    comma = ", ".join(prefix + format_torch(layer) for layer in layers)
    assert plain(parse_net(comma)) == plain(layers)
    assert plain(parse_net(f"{prefix}Sequential({comma})")) == plain(layers)


def test_format_compact_refuses_what_it_cannot_write() -> None:
    with pytest.raises(LinexplainError, match="does not follow the width 4"):
        format_compact(parse_net("Linear(3, 4), Linear(5, 6)"))
    with pytest.raises(LinexplainError, match="between Linear layers"):
        format_compact(parse_net("Linear(3, 4), Flatten(), Linear(4, 6)"))
    assert format_compact(parse_net("Flatten(), Linear(12, 5)")) == "flatten,12,5"
    assert format_compact(parse_net("Softmax(), Dropout(0.5)")) == "softmax,dropout"


# --- live torch --------------------------------------------------------------------------------


def build(torch, layers: list[LayerSpec] | tuple[LayerSpec, ...]):
    """The torch network the layers describe (Linear weights on the meta device: no memory)."""
    modules = []
    for layer in layers:
        args = dict(layer.args)
        if layer.kind == "Linear":
            args["device"] = "meta"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zero-element init warnings
            modules.append(getattr(torch.nn, layer.kind)(**args))
    return torch.nn.Sequential(*modules)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(chained=False, sizes=st.integers(0, 2**20)))
def test_torch_prints_what_parses_back(torch, layers: list[LayerSpec]) -> None:
    printed = str(build(torch, layers))
    assert printed == format_sequential(layers)
    assert plain(parse_net(printed)) == plain(layers)


def test_specs_build_the_network_torch_prints(torch) -> None:
    for case in CASES:
        layers = parse_net(case["print"])
        assert plain(parse_net(str(build(torch, layers)))) == recorded(case)


# --- the fast path stays light -------------------------------------------------------------------


def test_importing_loads_neither_numpy_nor_sympy_nor_torch() -> None:
    code = (
        "import linexplain.netspec, sys; "
        "assert 'numpy' not in sys.modules; assert 'sympy' not in sys.modules; "
        "assert 'torch' not in sys.modules; "
        "linexplain.netspec.parse_net('784,256,relu,10'); "
        "assert not {'numpy', 'sympy', 'torch'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_imports_only_errors_and_the_standard_library() -> None:
    source = (Path(__file__).parent.parent / "linexplain" / "netspec.py").read_text()
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            modules.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    stdlib = {"__future__", "keyword", "math", "re", "collections.abc", "dataclasses", "typing"}
    assert modules == stdlib | {".errors", "difflib"}
    assert "literal_eval" not in source
