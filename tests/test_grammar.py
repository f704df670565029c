"""The shape grammar: what parses, what is refused and how the refusal reads."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linexplain.errors import LinexplainError
from linexplain.grammar import (
    MAX_DIMS,
    MAX_SIZE,
    as_size,
    check_bool,
    check_choice,
    check_dims,
    check_shape,
    format_shape,
    parse_bindings,
    parse_bytes,
    parse_shape,
    show_value,
)


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("N,C,3", ("N", "C", 3)),
        ("N, C , 3", ("N", "C", 3)),
        ("  batch,seq_len,768 ", ("batch", "seq_len", 768)),
        ("3", (3,)),
        ("0", (0,)),
        ("5,0,4", (5, 0, 4)),
        ("x1,X_2,a_b_c", ("x1", "X_2", "a_b_c")),
        ("", ()),
        ("   ", ()),
        (str(MAX_SIZE), (MAX_SIZE,)),
        (",".join(["1"] * MAX_DIMS), (1,) * MAX_DIMS),
        # pasted as Python, NumPy and torch print shapes
        ("(32, 784)", (32, 784)),
        ("[32, 784]", (32, 784)),
        ("torch.Size([32, 784])", (32, 784)),
        ("(3,)", (3,)),
        ("[3,]", (3,)),
        ("(3)", (3,)),
        ("(N, C, 3)", ("N", "C", 3)),
        ("()", ()),
        ("[ ]", ()),
        ("torch.Size([])", ()),
        ("torch.Size()", ()),
        ("torch.Size((2, 3))", (2, 3)),
        ("Size([3])", (3,)),
        ("  torch.Size ( [ 32 ,784 , ] )  ", (32, 784)),
        ("(" + ",".join(["1"] * MAX_DIMS) + ",)", (1,) * MAX_DIMS),
        # Size is also a name
        ("Size", ("Size",)),
        ("Size, Sizes, 3", ("Size", "Sizes", 3)),
    ],
)
def test_valid_shapes(text: str, shape: tuple) -> None:
    assert parse_shape(text) == shape


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("N,,3", "dim 2 of 3 is empty", "between commas"),
        ("3,", "dim 2 of 2 is empty", "between commas"),
        (",3", "dim 1 of 2 is empty", "between commas"),
        ("-1", "-1 is negative", "0 or more"),
        ("4,-2", "dim 2 of 2: -2 is negative", "0 or more"),
        ("3.5", "'3.5' is not a size", "whole numbers"),
        ("1e3", "'1e3' is not a size", "whole numbers"),
        ("0x10", "'0x10' is not a size", "0x10 as 16"),
        ("03", "leading zero", "write 3"),
        ("Ñ,3", "dim 1 of 2: 'Ñ' is not a valid name", "ASCII"),
        ("N,é", "dim 2 of 2", "ASCII"),
        ("3\x00", "is not a size", "control characters"),
        ("N\x00", "is not a valid name", "control characters"),
        ("9" * 5000, "larger than torch's largest size", "use a name"),
        (str(MAX_SIZE + 1), "larger than torch's largest size", "use a name"),
        (",".join(["1"] * 10_000), "has 10000 items", f"at most {MAX_DIMS}"),
        ("3N", "'3N' is not a size", "starts with a letter"),
        ("_x", "'_x' is not a valid name", "non-negative integer"),
        ("N C 3", "is not a valid name", "separate dims with commas"),
        ("5x6x4", "'5x6x4' is not a dim", "5,6,4"),
        ("(32, 784]", "'(' at position 1 is closed by ']' at position 9", "close '(' with ')'"),
        ("[3)", "'[' at position 1 is closed by ')' at position 3", "close '[' with ']'"),
        ("(32, 784", "'(' at position 1 is never closed", "add ')'"),
        ("torch.Size([3]", "'(' at position 11 is never closed", "add ')'"),
        ("32, 784)", "')' at position 8 closes nothing", "remove it"),
        ("((3))", "'(' at position 2 opens a second pair of brackets", "one pair"),
        ("[[3, 4]]", "'[' at position 2 opens a second pair", "one pair"),
        ("torch.Size([[3]])", "'[' at position 13 opens a second pair", "one pair"),
        (
            "torch.Size(32)",
            "torch.Size(...) at position 1 holds '32', not a list",
            "write torch.Size([32])",
        ),
        ("torch.Size[3]", "torch.Size at position 1 has no '(' after it", "torch.Size([32, 784])"),
        ("torch.Size", "torch.Size at position 1 has no '('", "as torch prints it"),
        ("Size(3)", "Size(...) at position 1 holds '3', not a list", "write Size([3])"),
        ("N(3)", "'(' at position 2 is inside the dims", "one pair of brackets"),
        ("3, (4)", "'(' at position 4 is inside the dims", "or in none"),
        ("(3, 4),", "',' at position 7 follows the closing ')' at position 6", "inside one pair"),
        ("[3](4)", "'(4)' at position 4 follows the closing ']'", "inside one pair"),
        ("torch.Size([3], 4)", "', 4' at position 15 follows the closing ']'", "inside one pair"),
        ("(,)", "dim 1 of 2 is empty", "between commas"),
        ("(3,,)", "dim 2 of 2 is empty", "between commas"),
        ("(3.5, 2)", "'3.5' is not a size", "whole numbers"),
        ("(" * 5000, "'(' at position 1 is never closed", "add ')'"),
        ("N*C,3", "'N*C' is not a valid name", "non-negative integer"),
        ("a" * 65, "65 characters long", "at most 64"),
        ("__import__('os').system('touch MARKER'),3", "'(' at position 11 is inside", "in none"),
    ],
)
def test_invalid_shapes_say_what_where_and_fix(text: str, message: str, hint: str) -> None:
    with pytest.raises(LinexplainError) as caught:
        parse_shape(text)
    assert message in caught.value.message
    assert hint in caught.value.hint
    assert "\n" not in str(caught.value)


def test_bindings() -> None:
    assert parse_bindings("N=2, C=4") == {"N": 2, "C": 4}
    assert parse_bindings("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("N", "has no '='"),
        ("N=2,N=3", "N is given twice"),
        ("N=-1", "is negative"),
        ("N=x", "is not a size"),
        ("3=4", "is not a valid name"),
        ("N=2,,C=3", "has no '='"),
        ("(N=2, C=4)", r"'\(' at position 1"),
        ("N=[2]", r"'\[' at position 3"),
    ],
)
def test_invalid_bindings(text: str, message: str) -> None:
    with pytest.raises(LinexplainError, match=message):
        parse_bindings(text)


def test_format_shape_is_torch_tuple_style() -> None:
    assert format_shape(("N", "C", 3)) == "(N, C, 3)"
    assert format_shape((3,)) == "(3,)"
    assert format_shape(()) == "()"


names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True)
dims = st.one_of(st.integers(min_value=0, max_value=MAX_SIZE), names)


@given(st.lists(dims, min_size=1, max_size=MAX_DIMS), st.sampled_from([",", ", ", " , "]))
def test_written_shapes_parse_back(shape: list, sep: str) -> None:
    assert parse_shape(sep.join(map(str, shape))) == tuple(shape)


spaces = st.sampled_from(["", " ", "  ", "\t"])


@given(st.lists(dims, max_size=MAX_DIMS), st.data())
def test_every_pasted_wrapping_parses_to_the_same_shape(shape: list, data: st.DataObject) -> None:
    def sp() -> str:
        return data.draw(spaces)

    items = (sp() + "," + sp()).join(map(str, shape))
    trailing = "," if len(shape) == 1 else data.draw(st.sampled_from(["", ","])) if shape else ""
    inner = sp() + items + trailing + sp()
    wrappings = [f"({inner})", f"[{inner}]"]
    for prefix in ("torch.Size", "Size"):
        wrappings += [f"{prefix}{sp()}({sp()}[{inner}]{sp()})", f"{prefix}(({inner}))"]
    if shape:
        wrappings.append(items)
    for text in wrappings:
        assert parse_shape(sp() + text + sp()) == tuple(shape), text


@given(st.lists(dims, max_size=MAX_DIMS))
def test_format_shape_parses_back(shape: list) -> None:
    assert parse_shape(format_shape(tuple(shape))) == tuple(shape)
    assert parse_shape(f"torch.Size({list(shape)})".replace("'", "")) == tuple(shape)


def assert_parses_or_raises_our_error(text: str) -> None:
    try:
        shape = parse_shape(text)
    except LinexplainError as error:
        assert error.message and error.hint
        assert "\n" not in error.message and "\n" not in error.hint
    else:
        assert all((isinstance(d, int) and 0 <= d <= MAX_SIZE) or isinstance(d, str) for d in shape)
        assert len(shape) <= MAX_DIMS


@given(st.text(max_size=200))
def test_any_text_parses_or_raises_our_error(text: str) -> None:
    assert_parses_or_raises_our_error(text)


@given(st.text(alphabet=st.sampled_from(list("()[], 3N.torchSize\t")), max_size=60))
def test_any_bracketed_text_parses_or_raises_our_error(text: str) -> None:
    assert_parses_or_raises_our_error(text)


@given(st.text(alphabet=st.sampled_from("N,C= 0123x-._aé\x00"), max_size=40))
def test_any_bindings_text_parses_or_raises_our_error(text: str) -> None:
    try:
        bindings = parse_bindings(text)
    except LinexplainError as error:
        assert error.message and error.hint
    else:
        assert all(isinstance(v, int) and v >= 0 for v in bindings.values())


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1000000", 10**6), ("512MB", 512 * 10**6), ("2 GiB", 2 * 2**30), ("0100", 100),
     ("7kib", 7 * 1024), ("9" * 30, 10**30 - 1), ("0" * 40 + "1GiB", 2**30)],
)  # fmt: skip
def test_parse_bytes(text: str, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "is not a size in bytes"), ("1e9", "is not a size in bytes"),
     ("8EiB", "is not a size in bytes"), ("-5", "is not a size in bytes"),
     ("9" * 31, "more bytes than any machine has"), ("9" * 5000 + "TiB", "more bytes than"),
     ("9" * 30 + "TiB", "more bytes than")],
)  # fmt: skip
def test_invalid_bytes(text: str, message: str) -> None:
    with pytest.raises(LinexplainError, match=message) as caught:
        parse_bytes(text)
    assert caught.value.hint and "name" not in caught.value.hint


def test_parse_shape_wants_text() -> None:
    with pytest.raises(LinexplainError, match="must be text, got NoneType"):
        parse_shape(None)  # type: ignore[arg-type]


def test_parse_bindings_wants_text() -> None:
    with pytest.raises(LinexplainError, match="bindings to parse must be text, got dict"):
        parse_bindings({"N": 2})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("3=N", "'3=N' gives the size left of '=' and the name right of it", "write N=3"),
        ("C=4, 16=batch", "item 2: '16=batch' gives the size left", "write batch=16"),
        ("3=4", "'3' is not a valid name", "the left of '=' names a dim: write NAME=SIZE"),
    ],
)
def test_bindings_written_backwards_say_the_name_goes_left(
    text: str, message: str, hint: str
) -> None:
    with pytest.raises(LinexplainError) as caught:
        parse_bindings(text)
    assert message in caught.value.message
    assert hint in caught.value.hint
    assert "whole numbers" not in caught.value.hint


def test_long_text_in_a_message_keeps_its_quotes_and_its_end() -> None:
    payload = 'N="' + "x" * 60 + '"'  # a quoted payload, cut in the middle
    with pytest.raises(LinexplainError) as caught:
        parse_bindings(payload)
    message = caught.value.message
    assert "'N=\"xxxxxxxxxxxxxxxxxxxxxxxxx'...'xxxxxxx\"' (64 characters)" in message
    assert message.count("'") % 2 == 0  # every quote the message opens, it closes
    with pytest.raises(LinexplainError) as caught:
        parse_shape("N," + "\x01" * 50)
    assert "'\\x01\\x01" in caught.value.message and "(52 characters)" in caught.value.message
    with pytest.raises(LinexplainError, match=r"'N,3,' is|dim 3 of 3 is empty"):
        parse_shape("N,3,")  # short text is shown whole


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), (False, False), (np.True_, True), (np.False_, False)]
)
def test_check_bool_takes_python_and_numpy_bools(value: object, expected: bool) -> None:
    assert check_bool(value, "bias") is expected


@pytest.mark.parametrize("value", [1, 0, "yes", "False", None, 1.0, np.array([True]), [True]])
def test_check_bool_refuses_truthy_stand_ins(value: object) -> None:
    with pytest.raises(LinexplainError, match="bias must be True or False") as caught:
        check_bool(value, "bias")
    assert caught.value.hint == "e.g. bias=False"


def test_check_choice() -> None:
    assert check_choice("float64", ("float32", "float64"), "dtype") == "float64"
    with pytest.raises(LinexplainError, match="unknown dtype 'int8'") as caught:
        check_choice("int8", ("float32", "float64"), "dtype")
    assert caught.value.hint == "use one of float32, float64"
    for value in (None, ["float32"], {"float32": 1}, np.array(["float32"]), b"float32"):
        with pytest.raises(LinexplainError, match="dtype must be a name"):
            check_choice(value, ("float32", "float64"), "dtype")


def test_check_dims_follows_the_dims_grammar() -> None:
    assert check_dims(None) == {}
    assert check_dims({"N": np.int64(2), "seq_len": 0}) == {"N": 2, "seq_len": 0}
    assert all(type(v) is int for v in check_dims({"N": np.int64(2)}).values())
    for dims, message in [
        ("N=3", "dims must map names to sizes, got 'N=3'"),
        ([("N", 3)], "dims must map names to sizes, got list"),
        ({3: 3}, "dims: the key 3 is not a name"),
        ({3: "N"}, "the key 3 is not a name"),
        ({"3N": 3}, "'3N' is not a valid name"),
        ({"N": -1}, "dims, size of N: -1 is out of range"),
        ({"N": 2.0}, "dims, size of N: 2.0 is not a whole number"),
        ({"N": True}, "True is not a whole number"),
        ({"N": MAX_SIZE + 1}, "is out of range"),
        ({f"d{i}": 1 for i in range(MAX_DIMS + 1)}, f"dims has {MAX_DIMS + 1} names"),
    ]:
        with pytest.raises(LinexplainError, match=re.escape(message)):
            check_dims(dims)
    with pytest.raises(LinexplainError) as caught:
        check_dims({3: "N"})
    assert "e.g. {'N': 3}" in caught.value.hint
    with pytest.raises(LinexplainError) as caught:
        check_dims("N=3")
    assert "parse_bindings('N=3')" in caught.value.hint


def test_messages_show_any_value_without_failing() -> None:
    huge = 10**5000  # str() of it raises ValueError
    assert show_value(huge) == "an int of 16610 bits"
    assert show_value(np.int64(3)) == "np.int64(3)" and show_value(np.array(2.5)) == "array(2.5)"
    assert show_value([1, 2]) == "list" and show_value("x" * 100).endswith("(100 characters)")
    for call in (
        lambda: as_size(huge, "in_features"),
        lambda: as_size(-huge, "in_features"),
        lambda: check_shape((huge, 3)),
        lambda: check_dims({"N": huge}),
    ):
        with pytest.raises(LinexplainError, match="an int of 16610 bits"):
            call()
