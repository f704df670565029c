"""arrays: JSON literals, array files, stdin and .npz weights, with every error path."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import tempfile
import tracemalloc
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
        ('{"a": 1}', r'x holds a JSON object \({"a": 1}\), not an array of numbers'),
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
    with raises("/dev/null is a character device, not a regular file"):
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


# --- hostile files: what a file claims is checked before it is read; nothing blocks -----------

MB = 1_000_000


def sparse_npy(path: Path, descr: str, shape: tuple[int, ...], fortran: bool = False) -> str:
    """An .npy whose header claims ``shape`` and whose data is a hole (a sparse file)."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": descr, "fortran_order": fortran, "shape": shape}
        )
        end = f.tell()
    os.truncate(path, end + np.dtype(descr).itemsize * int(np.prod(shape)))
    return str(path)


def small_peak(read, limit: int = 2 * MB):
    """Run ``read()``; its LinexplainError, after checking it held less than ``limit`` bytes."""
    tracemalloc.start()
    try:
        read()
    except LinexplainError as error:
        raised = error
    else:
        raise AssertionError("no error")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < limit, peak
    return raised


@pytest.mark.parametrize(
    ("descr", "shape", "fortran", "message"),
    [
        ("<f4", (2**27,), False, r"needs 671,088,640 bytes \(its array of shape \(134217728,\) in "
         r"float32, and a finite check\), over the limit of 42,000,000"),
        ("<f8", (2**13, 2**13), False, r"in float64, cast to float32"),
        (">f4", (2**12, 2**14), False, r"in >f4, cast to float32"),
        ("<f4", (2**12, 2**14), True, r"needs 603,979,776 bytes .* copied to C order"),
        ("<i8", (2**25,), False, r"in int64, cast to float32"),
        ("<u1", (2**26,), False, r"in uint8, cast to float32"),
    ],
)  # fmt: skip
def test_a_sparse_npy_claiming_much_is_refused_before_reading(tmp_path, descr, shape, fortran,
                                                              message):  # fmt: skip
    path = sparse_npy(tmp_path / "x.npy", descr, shape, fortran)
    assert os.stat(path).st_blocks * 512 < MB  # a 4 KB file on disk
    error = small_peak(lambda: load_array(path, max_bytes=42 * MB))
    assert re.search(message, error.message) and "raise --max-memory" in error.hint
    assert error.message.startswith(f"{path} needs ")


def zeros_npz(path: Path, members: dict[str, tuple[int, ...]], lie: int | None = None) -> str:
    """An .npz of compressed zeros (a few KB for many MB); ``lie`` rewrites each member's
    uncompressed size in the zip's records to that many bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, shape in members.items():
            with z.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.zeros(shape, np.float32))
    if lie is not None:
        data = bytearray(path.read_bytes())
        for signature, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
            start = data.find(signature)
            while start >= 0:
                data[start + at : start + at + 4] = lie.to_bytes(4, "little")
                start = data.find(signature, start + 4)
        path.write_bytes(bytes(data))
    return str(path)


def test_an_npz_bomb_is_refused_before_it_inflates(tmp_path):
    path = zeros_npz(tmp_path / "bomb.npz", {"weight": (4096, 4096), "bias": (4096,)})
    assert os.path.getsize(path) < MB  # 64 MB of weights inside
    error = small_peak(lambda: load_weights(path, max_bytes=20 * MB))
    assert re.search(
        r"bomb.npz needs 67,129,472 bytes \(array 'weight' unpacked: 67,108,992; the arrays "
        r"before it: 20,480\), over the limit of 20,000,000",
        error.message,
    )
    # within the limit, each member's header is counted too (weight and bias, and the checks)
    error = small_peak(lambda: load_weights(path, max_bytes=80 * MB))
    assert "array 'weight' of shape (4096, 4096) in float32" in error.message
    weight, bias = load_weights(path, max_bytes=90 * MB)
    assert weight.shape == (4096, 4096) and bias.shape == (4096,)


def test_an_npz_whose_records_lie_about_sizes_is_refused(tmp_path):
    """A member claiming 200 bytes that inflates to 4 MB: zipfile stops at the claim, and the
    header's shape is checked against it."""
    path = zeros_npz(tmp_path / "liar.npz", {"weight": (1024, 1024)}, lie=200)
    error = small_peak(lambda: load_weights(path, max_bytes=50 * MB))
    assert "truncated" in error.message or "not a readable .npz" in error.message


@pytest.mark.parametrize("members", [100, 70_000])
def test_an_npz_of_many_files_is_refused_before_its_directory_is_read(tmp_path, members):
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(members):
            z.writestr(f"m{i}.npy", b"")
    error = small_peak(lambda: load_weights(str(path)))
    assert f"holds {members:,} files; expected weight (and bias)" in error.message


def test_huge_json_is_refused_by_its_size_then_by_what_it_would_become(tmp_path):
    """[[],[],…]: 3 bytes of text, a Python list of some 100 bytes each."""
    path = write(tmp_path, "x.json", "[" + ",".join(["[]"] * 1_000_000) + "]")
    error = small_peak(lambda: load_array(path, max_bytes=2 * MB))
    assert error.message == f"{path} needs 3,000,001 bytes (its text), over the limit of 2,000,000"
    error = small_peak(lambda: load_array(path, max_bytes=50 * MB), limit=8 * MB)
    assert "(its JSON text as Python objects, then as an array; beside 3,000,001 held " in (
        error.message
    )
    assert load_array(path, max_bytes=300 * MB).shape == (1_000_000, 0)


def test_json_objects_and_strings_are_counted_too(tmp_path):
    for text in ("[" + ",".join(["{}"] * 200_000) + "]", '["' + "x" * 1_000_000 + '"]'):
        with raises("its JSON text as Python objects"):
            parse_array(text, "x", max_bytes=3 * MB)


def test_a_huge_csv_is_read_by_numpy_within_its_count(tmp_path):
    """No Python float per number: a table holds its text, the array and a byte per number."""
    array = np.random.default_rng(0).standard_normal((20_000, 50)).astype(np.float32)
    path = tmp_path / "big.csv"
    np.savetxt(path, array, delimiter=",", fmt="%.9g")
    size = os.path.getsize(path)
    error = small_peak(lambda: load_array(str(path), max_bytes=size - 1))
    assert error.message.endswith(
        f"needs {size:,} bytes (its text), over the limit of {size - 1:,}"
    )
    tracemalloc.start()
    read = load_array(str(path), max_bytes=size + 8 * MB + 30 * MB)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    np.testing.assert_array_equal(read, array)
    assert peak < 2 * size + 30 * MB  # the old reader held some 13 times the text
    with raises(r"its text, and 1,000,000 numbers parsed in float32"):
        load_array(str(path), max_bytes=size + 4 * MB)


@contextlib.contextmanager
def no_hang(seconds: int = 10):
    """Fail instead of hanging (SIGALRM interrupts a blocked open or read)."""

    def alarm(*_):
        raise AssertionError(f"blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", ["x.csv", "x.npy", "x.json"])
def test_a_fifo_is_refused_without_blocking(tmp_path, name):
    os.mkfifo(tmp_path / name)
    with no_hang(), raises(r"is a FIFO \(named pipe\), not a regular file"):
        load_array(str(tmp_path / name))
    os.mkfifo(tmp_path / "w.npz")
    with no_hang(), raises("is a FIFO"):
        load_weights(str(tmp_path / "w.npz"))


@pytest.mark.parametrize(
    ("target", "name"),
    [("/dev/zero", "x.csv"), ("/dev/urandom", "x.npy"), ("/dev/null", "x.json"),
     ("/dev/zero", "w.npz")],
)  # fmt: skip
def test_links_to_devices_are_refused_before_any_read(tmp_path, target, name):
    os.symlink(target, tmp_path / name)
    read = load_weights if name.endswith(".npz") else load_array
    with no_hang(), raises(rf"{name} \({target}\) is a character device, not a regular file"):
        read(str(tmp_path / name))


def test_files_that_only_look_regular_are_read_no_further_than_their_size(tmp_path):
    """/proc files say size 0 and stream (and /proc/kmsg blocks): read within their size."""
    os.symlink("/proc/self/status", tmp_path / "status.txt")
    with no_hang(), raises(r"status.txt is not a plain file: it gave 1 byte for a size of 0"):
        load_array(str(tmp_path / "status.txt"))
    if os.access("/proc/kmsg", os.R_OK):
        os.symlink("/proc/kmsg", tmp_path / "kmsg.csv")
        with no_hang(), raises("kmsg.csv is not a plain file|cannot read"):
            load_array(str(tmp_path / "kmsg.csv"))


def test_a_dangling_link_says_where_it_points(tmp_path):
    os.symlink(tmp_path / "gone.csv", tmp_path / "x.csv")
    with raises(r"x.csv does not exist \(a link to .*gone.csv, which does not exist\)"):
        load_array(str(tmp_path / "x.csv"))


def test_an_npy_header_over_numpys_limit_is_one_line_of_ours(tmp_path):
    path = tmp_path / "x.npy"
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" + " " * 20_000 + "\n"
    path.write_bytes(
        np.lib.format.magic(1, 0) + len(header).to_bytes(2, "little") + header.encode() + bytes(8)
    )
    with raises("x.npy has a header of 20,058 bytes, over NumPy's limit of 10,000") as error:
        load_array(str(path))
    assert "\n" not in str(error.value)
    buffer = io.BytesIO()  # the same in an .npz member
    buffer.write(path.read_bytes())
    with zipfile.ZipFile(tmp_path / "w.npz", "w") as z:
        z.writestr("weight.npy", buffer.getvalue())
    with raises(r"w.npz:weight has a header of 20,058 bytes, over NumPy's limit"):
        load_weights(str(tmp_path / "w.npz"))


def test_a_json_object_is_refused_as_json(tmp_path):
    for name in ("x.json", "x.csv", "x.txt"):
        with raises(r"holds a JSON object \(\{\"weight\": \[\[1, 2\.\.\.\), not an array") as error:
            load_array(write(tmp_path, name, '{"weight": [[1, 2, 3]]}'))
        assert "nested lists" in error.value.hint and "commas" not in error.value.hint
    with raises(r"x.json is not valid JSON"):  # a .json file is JSON, whatever it starts with
        load_array(write(tmp_path, "x.json", "1, 2, 3"))


def test_an_empty_path_is_named():
    with raises("^the file name is empty"):
        load_array("")
    with raises("^the file name is empty"):
        load_weights("")


def test_closed_or_missing_stdin_is_one_error(monkeypatch):
    monkeypatch.setattr("sys.stdin", None)
    with raises("cannot read stdin: Bad file descriptor"):
        load_array("-")
    closed = io.StringIO("1 2")
    closed.close()
    monkeypatch.setattr("sys.stdin", closed)
    with raises("cannot read stdin"):
        load_array("-")


def test_stdin_is_read_within_the_limit(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"1 2 3\n" * 1000)))
    with raises(
        r"stdin needs 5,001 bytes \(its text so far, and there is more\), over the limit of 5,000"
    ):
        load_array("-", max_bytes=5000)


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_save_array_refuses_what_is_not_a_file_without_blocking(tmp_path, kind):
    path = tmp_path / "y.npy"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        os.symlink("/dev/null", path)
    with no_hang(), raises(r"--save .*y.npy.* is a (FIFO|directory|character device)"):
        arrays.save_array(str(path), np.ones(2))


def test_save_array_replaces_a_file_and_follows_a_link_to_one(tmp_path):
    (tmp_path / "real.npy").write_bytes(b"old")
    os.symlink(tmp_path / "real.npy", tmp_path / "y.npy")
    arrays.save_array(str(tmp_path / "y.npy"), np.arange(3.0))
    np.testing.assert_array_equal(np.load(tmp_path / "real.npy"), [0, 1, 2])


# --- the table reader: NumPy's fast path says what the line-by-line path says ----------------

TABLE_TEXT = st.lists(
    st.sampled_from(
        ["0", "1", "12", "-3.5", "+.5", "5.", "1e5", "2E-3", "00", "1.2.3", "e", "+", ".", "-",
         "x", "nan", ",", ", ", " ", "\t", "\n", "\n", "\r\n", "\r", "\x0c", "\xa0", "é", '"a,b"',
         "", "1,2,3\n", ",a,b\n"]
    ),
    max_size=30,
).map("".join)  # fmt: skip


def read_both(text: str, monkeypatch, dtype: str) -> tuple[object, object]:
    """What _table makes of ``text`` through the fast path and the line-by-line path."""
    data = text.encode("utf-8")
    results = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(arrays, "_fast_table", lambda *args: None)
        try:
            array, notes = arrays._table(
                data, "x.csv", np.dtype(dtype), arrays.memory.Budget(10**9)
            )
            results.append((array.shape, array.tobytes(), notes))
        except LinexplainError as error:
            results.append(str(error))
    monkeypatch.undo()
    return results[0], results[1]


@settings(max_examples=400, deadline=None)
@given(TABLE_TEXT, st.sampled_from([1, 2, 5, 1 << 20]), st.sampled_from(["float32", "float64"]))
def test_fast_and_line_by_line_tables_agree(text, chunk, dtype):
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(arrays.memory, "TABLE_CHUNK", chunk)
        fast, slow = read_both(text, monkeypatch, dtype)
    assert fast == slow


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.from_regex(r"[+-]?([0-9]{1,25}\.?[0-9]{0,25}|\.[0-9]{1,25})([eE][+-]?[0-9]{1,3})?",
                                    fullmatch=True), min_size=3, max_size=3), min_size=1,
             max_size=20)
)  # fmt: skip
def test_table_numbers_read_as_python_reads_them(rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "x.csv")
        path.write_text("\n".join(", ".join(row) for row in rows))
        try:
            read = load_array(str(path), "float64")
        except LinexplainError as error:
            assert "not a finite" in error.message
            return
    expected = np.array([[float(v) for v in row] for row in rows])
    assert read.tobytes() == expected.tobytes()


def test_a_pandas_index_is_checked_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(arrays.memory, "TABLE_CHUNK", 7)
    lines = [",a,b"] + [f"{i},{i}.5,1" for i in range(50)]
    array, notes = read_array(write(tmp_path, "x.csv", "\n".join(lines)), "float64")
    assert array.shape == (50, 2) and array[49, 0] == 49.5 and len(notes) == 2
    lines[31] = "31,1,1"  # row 31 (index 30) says 31
    with raises("but row 31 has '31' there, not 30"):
        read_array(write(tmp_path, "x.csv", "\n".join(lines)))
    lines[31] = "030,1,1"
    with raises("but row 31 has '030' there, not 30"):
        read_array(write(tmp_path, "x.csv", "\n".join(lines)))
