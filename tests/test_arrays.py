"""arrays: JSON literals, array files, stdin and .npz weights, with every error path."""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from linexplain import arrays
from linexplain.arrays import load_array, load_weights, parse_array, read_array
from linexplain.errors import LinexplainError


def raises(match: str):
    return pytest.raises(LinexplainError, match=match)


# --- parse_array -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("[[1, 2, 3], [4, 5, 6]]", (2, 3)),
        ("[1, -2.5, 3e-2]", (3,)),
        ("7", ()),
        ("[]", (0,)),
        ("[[]]", (1, 0)),
        ("[[[1], [2]], [[3], [4]]]", (2, 2, 1)),
        (" [ [1,2] ,\n [3,4] ] ", (2, 2)),
    ],
)
def test_parse_array_reads_nested_lists(text, shape):
    a = parse_array(text, "x")
    assert a.shape == shape and a.dtype == np.float32 and a.flags.c_contiguous
    np.testing.assert_array_equal(a, np.array(json.loads(text), dtype=np.float32))


def test_parse_array_keeps_float64():
    a = parse_array("[0.1, 1e300]", "x", "float64")
    assert a.dtype == np.float64 and a.tolist() == [0.1, 1e300]


# JSON cannot say what follows a zero-length dimension: [] is (0,), (0, 3), ...
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4).filter(
    lambda shape: 0 not in shape[:-1]
)


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.float64, SHAPES, elements=st.floats(-1e30, 1e30)))
def test_parse_array_round_trips_any_array(a):
    np.testing.assert_array_equal(parse_array(json.dumps(a.tolist()), "x", "float64"), a)
    assert parse_array(json.dumps(a.tolist()), "x", "float64").shape == a.shape


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[1, 2, 3], [4, 5]]", r"row 2 \(x\[1\]\) has 2 numbers, row 1 \(x\[0\]\) has 3"),
        ("[[1, 2], [3]]", r"row 2 \(x\[1\]\) has 1 number, row 1 \(x\[0\]\) has 2"),
        ("[[[1, 2], [3, 4]], [[5, 6], [7]]]", r"x\[1\]\[1\] has 1 number, x\[0\]\[0\] has 2"),
        ("[[[1], [2]], [[3]]]", r"row 2 \(x\[1\]\) has 1 item, row 1 \(x\[0\]\) has 2"),
        ("[[1], 2]", r"x\[0\] is a list but x\[1\] is not"),
        ("[1, [2]]", r"x\[1\] is a list but x\[0\] is not"),
        ('[1, "2"]', r'x\[1\] is "2", not a number'),
        ("[[1, true]]", r"x\[0\]\[1\] is true, not a number"),
        ("[null]", r"x\[0\] is null, not a number"),
        ('{"a": 1}', 'x is {"a": 1}, not a number'),
        ("false", "x is false, not a number"),
        ("[1, NaN]", "x contains NaN"),
        ("[Infinity]", "x contains Infinity"),
        ("[-Infinity]", "x contains -Infinity"),
        ("[1e400]", r"x\[0\] is inf, which is not a finite float32"),
        ("[[0, 1e39]]", r"x\[0, 1\] is 1e\+39, which is not a finite float32"),
        ("[1" + "0" * 400 + "]", "x has a number too large"),
        ("[1, 2", "x is not valid JSON: Expecting ',' delimiter at line 1, column 6"),
        ("", "x is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "x is nested too deeply"),
        ("[" * 17 + "]" * 17, "x has more than 16 dimensions"),
    ],
)
def test_parse_array_errors_say_what_and_where(text, message):
    with raises(message) as err:
        parse_array(text, "x")
    assert err.value.hint


def test_parse_array_bounds_size_before_work(monkeypatch):
    monkeypatch.setattr(arrays, "MAX_ELEMENTS", 5)
    with raises("more than 5 numbers"):
        parse_array("[[1, 2, 3], [4, 5, 6]]", "x")
    monkeypatch.setattr(arrays, "MAX_TEXT_BYTES", 10)
    with raises("longer than 10 characters"):
        parse_array("[1, 2, 3, 4, 5]", "x")


# --- load_array ---------------------------------------------------------------------------


def save(tmp_path, name: str, array) -> str:
    path = tmp_path / name
    np.save(path, array, allow_pickle=True)
    return str(path)


def write(tmp_path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype=np.float64).reshape(2, 3),
        np.arange(6, dtype=np.int16).reshape(3, 2),
        np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        np.arange(4, dtype=">f8"),
        np.zeros((2, 0, 3), np.float32),
    ],
)
def test_load_npy(tmp_path, array):
    a = load_array(save(tmp_path, "a.npy", array))
    assert a.dtype == np.float32 and a.flags.c_contiguous
    np.testing.assert_array_equal(a, array)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([1, None], dtype=object), "holds Python objects"),
        (np.array([1 + 2j]), "complex128, not real numbers"),
        (np.array([True]), "dtype bool, not real numbers"),
        (np.array(["a"]), "<U1, not real numbers"),
        (np.array([1.0, np.nan]), r"\[1\] is nan, which is not a finite float32"),
        (np.array([[1.0, 1e300]]), r"\[0, 1\] is 1e\+300"),
    ],
)
def test_load_npy_refuses_what_is_not_finite_numbers(tmp_path, array, message):
    with raises(message):
        load_array(save(tmp_path, "a.npy", array))


def with_shape(npy: bytes, old: bytes, new: bytes) -> bytes:
    """The .npy bytes with the header's shape replaced, its padding kept the same length."""
    end = npy.index(b"\n")
    header = npy[:end].replace(old, new)
    assert header.endswith(b" " * (len(header) - end))  # only padding is dropped
    return header[:end].ljust(end) + npy[end:]


def test_load_npy_refuses_corrupt_and_lying_files(tmp_path):
    good = tmp_path / "good.npy"
    np.save(good, np.arange(100, dtype=np.float64))
    data = good.read_bytes()
    with raises("truncated: its header promises more data"):
        load_array(write(tmp_path, "cut.npy", data[:-8]))
    with raises("truncated"):
        load_array(write(tmp_path, "more.npy", with_shape(data, b"(100,)", b"(101,)")))
    with raises(r"shape \(1000000000000,\): over"):  # refused before allocating
        load_array(write(tmp_path, "huge.npy", with_shape(data, b"(100,)", b"(1000000000000,)")))
    with raises("not a valid .npy file"):
        load_array(write(tmp_path, "junk.npy", b"this is not numpy at all"))
    with raises("not a valid .npy file"):
        load_array(write(tmp_path, "empty.npy", b""))


def test_load_npy_header_size_check(tmp_path, monkeypatch):
    path = save(tmp_path, "a.npy", np.arange(10, dtype=np.float64))
    monkeypatch.setattr(arrays, "MAX_ELEMENTS", 9)
    with raises("over 16 dimensions or 9 numbers"):
        load_array(path)
    monkeypatch.setattr(arrays, "MAX_FILE_BYTES", 50)
    with raises("more than the limit of 50"):
        load_array(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("1, 2, 3\n4, 5, 6\n", [[1, 2, 3], [4, 5, 6]]),
        ("1 2 3\n\n  4\t5   6  \n", [[1, 2, 3], [4, 5, 6]]),
        ("1,2 , 3\r\n-4,+5,6e0\r\n", [[1, 2, 3], [-4, 5, 6]]),
        (".5 1.\n", [[0.5, 1.0]]),
        ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]),
    ],
)
@pytest.mark.parametrize("ext", [".csv", ".txt"])
def test_load_text_tables(tmp_path, content, expected, ext):
    a = load_array(write(tmp_path, f"a{ext}", content), "float64")
    assert a.dtype == np.float64
    np.testing.assert_array_equal(a, expected)


def test_load_json_file(tmp_path):
    np.testing.assert_array_equal(load_array(write(tmp_path, "a.json", "[1, 2]")), [1, 2])
    with raises(r"a.json\[1\] is null"):
        load_array(write(tmp_path, "a.json", "[1, null]"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1, 2, 3\n4, 5\n", r"row 2 \(line 2\) has 2 numbers, row 1 has 3"),
        ("1, 2\n\n3, x\n", r"line 3, column 2: 'x' is not a number"),
        ("1,,2\n", "column 2: '' is not a number"),
        ("1, nan\n", "column 2: 'nan' is not a number"),
        ("1, inf\n", "'inf' is not a number"),
        ("1_000\n", "'1_000' is not a number"),
        ("\n  \n", "has no numbers"),
        ("1e39\n", r"\[0, 0\] is 1e\+39, which is not a finite float32"),
    ],
)
def test_load_text_errors(tmp_path, content, message):
    with raises(message):
        load_array(write(tmp_path, "a.csv", content))


def test_load_array_file_errors(tmp_path, monkeypatch):
    with raises("does not exist"):
        load_array(str(tmp_path / "missing.npy"))
    (tmp_path / "dir.csv").mkdir()
    with raises("is a directory"):
        load_array(str(tmp_path / "dir.csv"))
    with raises("unsupported file type '.xlsx'"):
        load_array(write(tmp_path, "a.xlsx", "1"))
    with raises(r"unsupported file type '\(no extension\)'"):
        load_array(write(tmp_path, "data", "1"))
    with raises("not UTF-8 text"):
        load_array(write(tmp_path, "a.txt", b"\xff\xfe1,2"))
    with raises("not a directory|cannot read"):
        load_array(str(tmp_path / "a.txt" / "inside.csv"))
    monkeypatch.setattr(arrays, "MAX_TEXT_BYTES", 4)
    with raises("more than the limit of 4"):
        load_array(write(tmp_path, "big.csv", "1, 2, 3"))


def test_a_byte_order_mark_is_skipped(tmp_path, monkeypatch):
    """Excel's "CSV UTF-8" starts with a byte-order mark."""
    np.testing.assert_array_equal(
        load_array(write(tmp_path, "x.csv", b"\xef\xbb\xbf1,2\n3,4\n")), [[1, 2], [3, 4]]
    )
    np.testing.assert_array_equal(
        load_array(write(tmp_path, "x.json", b"\xef\xbb\xbf[1, 2]")), [1, 2]
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("\ufeff1 2\n"))
    np.testing.assert_array_equal(load_array("-"), [[1, 2]])


def test_load_array_from_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("1 2\n3 4\n"))
    np.testing.assert_array_equal(load_array("-"), [[1, 2], [3, 4]])
    monkeypatch.setattr("sys.stdin", io.StringIO("[1, 2, 3]"))
    np.testing.assert_array_equal(load_array("-"), [1, 2, 3])
    monkeypatch.setattr("sys.stdin", io.StringIO("[1, 2"))
    with raises("stdin is not valid JSON"):
        load_array("-")
    monkeypatch.setattr(arrays, "MAX_TEXT_BYTES", 4)
    monkeypatch.setattr("sys.stdin", io.StringIO("1 2 3 4 5"))
    with raises("stdin is longer than 4 characters"):
        load_array("-")


# --- headers: read_array skips them and says so -------------------------------------------

# df.to_csv(path, index=False) and df.to_csv(path) for DataFrame({"a": [1.0, 4.0], ...}),
# as pandas writes them (pandas itself is not a test dependency).
PANDAS = "a,b,c\n1.0,2.0,3.0\n4.0,5.0,6.0\n"
PANDAS_INDEX = ",a,b,c\n0,1.0,2.0,3.0\n1,4.0,5.0,6.0\n"


@pytest.mark.parametrize(
    ("content", "note"),
    [
        (PANDAS, "x.csv: skipped line 1, a header (a, b, c)"),
        ("a,b,c\r\n1,2,3\r\n4,5,6\r\n", "x.csv: skipped line 1, a header (a, b, c)"),
        ("\ufeffa;x, b , c\n1,2,3\n4,5,6\n", "x.csv: skipped line 1, a header (a;x, b, c)"),
        ("\n  \nx y z\n1 2 3\n4 5 6\n", "x.csv: skipped line 3, a header (x, y, z)"),
        (
            '"len (cm)","a,b",c\n1,2,3\n4,5,6\n',
            "x.csv: skipped line 1, a header (len (cm), a,b, c)",
        ),
        ("nan?,infinite,x1\n1,2,3\n4,5,6\n", "header (nan?, infinite, x1)"),
        ("a\x1b[2J,b,c\n1,2,3\n4,5,6\n", r"header ('a\x1b[2J', b, c)"),
    ],
)
def test_read_array_skips_a_header_line_and_says_so(tmp_path, content, note):
    path = write(tmp_path, "x.csv", content)
    array, notes = read_array(path, "float64")
    np.testing.assert_array_equal(array, [[1, 2, 3], [4, 5, 6]])
    assert len(notes) == 1 and notes[0].endswith(note)
    assert notes[0].startswith(path)
    np.testing.assert_array_equal(load_array(path, "float64"), array)


def test_read_array_skips_pandas_unnamed_index_column(tmp_path):
    array, notes = read_array(write(tmp_path, "x.csv", PANDAS_INDEX))
    np.testing.assert_array_equal(array, [[1, 2, 3], [4, 5, 6]])
    assert array.dtype == np.float32 and array.flags.c_contiguous
    assert notes[0].endswith("x.csv: skipped line 1, a header ('', a, b, c)")
    assert notes[1].endswith(
        "x.csv: skipped column 1, pandas' row index 0 to 1 (its name is empty in the header)"
    )


def test_notes_are_empty_without_a_header(tmp_path, monkeypatch):
    assert read_array(write(tmp_path, "x.csv", "1,2\n3,4\n"))[1] == ()
    assert read_array(write(tmp_path, "x.json", "[1, 2]"))[1] == ()
    assert read_array(save(tmp_path, "x.npy", np.ones(2)))[1] == ()
    monkeypatch.setattr("sys.stdin", io.StringIO("p q\n1 2\n"))
    array, notes = read_array("-")
    assert array.tolist() == [[1, 2]] and notes == ("stdin: skipped line 1, a header (p, q)",)


def test_a_long_header_is_elided_in_the_note(tmp_path):
    content = ",".join(f"c{i}" for i in range(100)) + "\n" + ",".join(["1"] * 100) + "\n"
    array, notes = read_array(write(tmp_path, "x.csv", content))
    assert array.shape == (1, 100)
    assert notes[0].endswith("a header (c0, c1, c2, c3, c4, c5, c6, ..., c99)")


@pytest.mark.parametrize(
    ("content", "message", "hint"),
    [
        ("a,b,c\n1,2\n3,4\n", r"the header \(line 1\) has 3 names, row 1 \(line 2\) has 2 numbers",
         "one name per column"),
        ("\na b\n1 2 3\n", r"header \(line 2\) has 2 names, row 1 \(line 3\) has 3", "remove it"),
        ("a,b\n", r"no numbers below its header \(line 1\)", "below the header"),
        ("a,b\n1,2\nc,d\n", "line 3, column 1: 'c' is not a number", "one row per line$"),
        ("1,2\na,b\n", "line 2, column 1: 'a' is not a number", "one row per line$"),
        ("a,1\n2,3\n", "line 1, column 1: 'a' is not a number", "holds only names"),
        ("nan,inf\n1,2\n", "line 1, column 1: 'nan' is not a number", "holds only names"),
        ("a,b\n1,2\n3,4,5\n", r"row 2 \(line 3\) has 3 numbers, row 1 has 2", "same number"),
        (",a\n0,1\n2,3\n", r"leaves column 1 unnamed, as pandas does for its index, but row 2 "
         "has '2' there, not 1", r"index=False"),
        (",a\n1,5\n", "but row 1 has '1' there, not 0", "or name column 1"),
        ('"' + "x" * 200_000 + '",b\n1,2\n', "line 1 is not a header csv can read",
         "shorten the header"),
    ],
)  # fmt: skip
def test_header_errors_say_what_where_and_fix(tmp_path, content, message, hint):
    with raises(message) as err:
        read_array(write(tmp_path, "x.csv", content))
    assert re.search(hint, err.value.hint)


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_ ()]{0,12}", fullmatch=True).map(str.strip).filter(bool)


@settings(max_examples=50, deadline=None)
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
               elements=st.floats(-1e30, 1e30)),
    st.data(),
    st.sampled_from([",", ", "]),
)  # fmt: skip
def test_any_table_under_any_header_reads_back(array, data, sep):
    names = data.draw(st.lists(NAMES, min_size=array.shape[1], max_size=array.shape[1]))
    assume(len(names) > 1 or " " not in names[0])  # a lone "a b" is two names, split on spaces
    lines = [sep.join(names)] + [sep.join(map(repr, row)) for row in array.tolist()]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "x.csv")
        path.write_text("\n".join(lines) + "\n")
        read, notes = read_array(str(path), "float64")
    np.testing.assert_array_equal(read, array)
    assert notes == (f"{path}: skipped line 1, a header ({', '.join(names)})",)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab1.,"; \n\t-e')), max_size=80))
def test_any_table_text_reads_or_raises_our_error(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "x.csv")
        path.write_text(text)
        try:
            array, notes = read_array(str(path))
        except LinexplainError as error:
            assert error.message and error.hint
        else:
            assert array.ndim == 2 and array.dtype == np.float32 and np.isfinite(array).all()
            assert len(notes) <= 2


def test_unknown_dtype_is_refused(tmp_path):
    with raises("unsupported dtype"):
        load_array(write(tmp_path, "a.csv", "1"), "int32")
    with raises("unsupported dtype"):
        parse_array("[1]", "x", "bfloat16")


# --- load_weights --------------------------------------------------------------------------


def savez(tmp_path, name="w.npz", compressed=False, **named) -> str:
    path = str(tmp_path / name)
    (np.savez_compressed if compressed else np.savez)(path, **named)
    return path


@pytest.mark.parametrize("compressed", [False, True])
def test_load_weights_with_and_without_bias(tmp_path, compressed):
    w, b = np.arange(6, dtype=np.float64).reshape(2, 3), np.array([1.0, 2.0])
    weight, bias = load_weights(savez(tmp_path, compressed=compressed, weight=w, bias=b))
    assert weight.dtype == bias.dtype == np.float32
    np.testing.assert_array_equal(weight, w)
    np.testing.assert_array_equal(bias, b)
    weight, bias = load_weights(savez(tmp_path, weight=w), "float64")
    assert bias is None and weight.dtype == np.float64


@pytest.mark.parametrize(
    ("named", "message"),
    [
        ({"bias": np.ones(2)}, r"holds bias; expected weight \(and bias\)"),
        ({"weight": np.ones((2, 3)), "extra": np.ones(1)}, "holds extra, weight; expected"),
        ({"weight": np.ones(3)}, r"weight has shape \(3,\); it must be 2-D"),
        ({"weight": np.ones((2, 3)), "bias": np.ones(3)}, "bias has shape"),
        ({"weight": np.ones((2, 3)), "bias": np.ones((1, 2))}, "bias has shape"),
        ({"weight": np.array([[1.0, np.inf]])}, "not a finite float32"),
        ({"weight": np.array([[None]], dtype=object)}, "holds Python objects"),
    ],
)
def test_load_weights_checks_names_and_shapes(tmp_path, named, message):
    with raises(message) as err:
        load_weights(savez(tmp_path, **named))
    assert "np.savez" in err.value.hint or "bias of shape" in err.value.hint or err.value.hint


def test_load_weights_refuses_other_files(tmp_path):
    with raises("not an .npz archive"):
        load_weights(save(tmp_path, "w.npy", np.ones((2, 3))))
    with raises("not an .npz archive"):
        load_weights(write(tmp_path, "w.npz", b"PK\x03\x04 broken zip"))
    with raises("not a readable .npz file"):  # a zip, but not of .npy files
        path = tmp_path / "other.npz"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("weight.npy", b"not an array")
        load_weights(str(path))
    with raises("is not a regular file"):
        load_weights("/dev/null")
    with raises("does not exist"):
        load_weights(str(tmp_path / "nope.npz"))


def test_load_weights_refuses_a_member_whose_header_lies(tmp_path):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ones((2, 3)))
    lying = with_shape(buffer.getvalue(), b"(2, 3)", b"(2000, 3)")
    path = tmp_path / "lying.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("weight.npy", lying)
    with raises("truncated"):
        load_weights(str(path))


def test_load_weights_bounds_member_sizes(tmp_path, monkeypatch):
    path = savez(tmp_path, compressed=True, weight=np.zeros((100, 100)))
    monkeypatch.setattr(arrays, "MAX_FILE_BYTES", 10_000)  # the compressed file is smaller
    with raises("'weight' is larger than 10000 bytes"):
        load_weights(path)


def test_live_load_weights_reads_a_saved_torch_state_dict(torch, tmp_path):
    layer = torch.nn.Linear(4, 3)
    path = str(tmp_path / "layer.npz")
    np.savez(path, **{k: v.detach().numpy() for k, v in layer.state_dict().items()})
    weight, bias = load_weights(path)
    assert weight.tobytes() == layer.weight.detach().numpy().tobytes()
    assert bias.tobytes() == layer.bias.detach().numpy().tobytes()
