"""Malformed input, one table: every case exits 2 with one line saying what, where and the fix."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, cli

RUN = ["run", "--in", "3", "--out", "2"]
CASES = [
    # (command line, text the one error line must contain)
    (["shape", "--out", "3", "-s", ""], "0D and 2D"),
    (["shape", "--out", "3", "-s", "N,,3"], "dim 2 of 3 is empty"),
    (["shape", "--out", "3", "-s", "-1"], "-1 is negative"),
    (["shape", "--out", "3", "-s", "3.5"], "'3.5' is not a size"),
    (["shape", "--out", "3", "-s", "0x10"], "'0x10' is not a size"),
    (["shape", "--out", "3", "-s", "Ñ,3"], "'Ñ' is not a valid name"),
    (["shape", "--out", "3", "-s", "N\x00,3"], "control characters"),
    (["shape", "--out", "3", "-s", "9" * 5000], "larger than torch's largest size"),
    (["shape", "--out", "3", "-s", ",".join(["1"] * 10_000)], "has 10000 items"),
    (["shape", "--out", "3", "-s", "(32, 784]"], "is closed by ']' at position 9"),
    (["shape", "--out", "3", "-s", "((3))"], "'(' at position 2 opens a second pair"),
    (["shape", "--out", "3", "-s", "torch.Size(32)"], "holds '32', not a list"),
    (["shape", "--out", "3", "-s", "N,3", "--dims", "(N=2)"], "'(' at position 1"),
    (["shape", "--out", "3", "-s", "3", "--dtype", "int4"], "'int4' is not one of"),
    (["shape", "--out", str(10**30), "-s", "3"], "out of range"),
    (["shape", "--out", "3", "--in", "-3", "-s", "3"], "in_features (--in): -3 is out of range"),
    (["run", "--out", "3", "--in", "-3"], "in_features (--in): -3 is out of range"),
    (["grad", "--out", "3", "--in", str(2**63)], "in_features (--in): 9223372036854775808 is out"),
    (["explain", "--in", "-3"], "in_features (--in): -3 is out of range"),
    (["explain", "--out", "-3"], "out_features (--out): -3 is out of range"),
    (["shape", "--out", "3", "-s", "N,3", "--dims", "N=two"], "is not a size"),
    (["shape", "--out", "3", "-s", "N,3", "--dims", "M=2"], "--dims names M"),
    (["expand", "--in", "3", "--out", "3", "--max-terms", "0"], "max terms must be at least 2"),
    (["expand", "--in", "100", "--out", "100", "--full"], "weights is too much"),
    (["expand", "--in", "3", "--out", "3", "--layer", "x"], "'x' is not a valid int"),
    ([*RUN, "--input", "[[1, 2, 3], [4, 5]]"], "--input"),
    ([*RUN, "--input", "[[[1, 2, 3]], [4, 5, 6]]"], "--input"),
    ([*RUN, "--input", "[1, 2, NaN]"], "NaN"),
    ([*RUN, "--input", "[1, 2, Infinity]"], "Infinity"),
    ([*RUN, "--input", "[1e999, 2, 3]"], "--input"),
    ([*RUN, "--input", '["a", 2, 3]'], "--input"),
    ([*RUN, "--input", "[true, 2, 3]"], "--input"),
    ([*RUN, "--input", "[" * 5000 + "]" * 5000], "--input"),
    ([*RUN, "--input", "[1, 2]"], "(1x2 and 3x2)"),
    ([*RUN, "--input", ""], "--input is not valid JSON"),
    ([*RUN, "--input-shape", ""], "0D and 2D"),
    (["run", "--weight", "[1, 2, 3]"], "must be (out_features, in_features)"),
    (["run", "--weight", "[[1, 2, 3]]", "--bias-values", "[1, 2]"], "bias"),
    ([*RUN, "--seed", "-9223372036854775809"], "out of range"),
    ([*RUN, "--seed", "18446744073709551616"], "out of range"),
    ([*RUN, "--seed", "1.5"], "'1.5' is not a valid int"),
    ([*RUN, "--input-file", "missing.npy"], "missing.npy"),
    ([*RUN, "--input-file", "x.pkl"], "unsupported file type"),
    ([*RUN, "--weight-file", "missing.npz"], "missing.npz"),
    (["run", "--in", str(2**40), "--out", "2**40"], "'2**40' is not a valid int"),
    (["run", "--in", str(2**40), "--out", str(2**40)], "over the limit"),
    (["explain", "--in", "3", "-s", "N,4"], "(Nx4 and 3x3)"),
    (["explain", "--dims", "N=1,N=2"], "N is given twice"),
    ([*RUN, "--index-base", "2"], "'2' is not one of"),
    ([*RUN, "--max-terms", "1"], "max terms must be at least 2"),
    ([*RUN, "--layer", "-2"], "--layer -2 is not a layer number"),
    (["grad", "--format", "rtf"], "'rtf' is not one of"),
]


@pytest.mark.parametrize(("args", "needle"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_malformed_input(args: list[str], needle: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    line = assert_one_line_error(cli(*args))
    assert needle in line
    assert " — hint: " in line
    assert time.perf_counter() - start < 30  # bounded work, never a hang


def test_malformed_files(tmp_path: Path) -> None:
    bad = {
        "empty.npy": b"",
        "corrupt.npy": b"\x93NUMPY\x01\x00garbage",
        "truncated.npy": b"",
        "notzip.npz": b"PK not really",
        "ragged.csv": b"1,2,3\n4,5\n",
        "words.txt": b"1 2 three\n",
        "binary.csv": bytes(range(256)),
        "nan.csv": b"1,2,nan\n",
        "header.csv": b"a,b,c\n1,2\n",
        "index.csv": b",a,b\n5,1,2\n",
        "header_only.csv": b"a,b,c\n",
    }
    np.save(tmp_path / "full.npy", np.zeros((2, 3), dtype=np.float32))
    bad["truncated.npy"] = (tmp_path / "full.npy").read_bytes()[:-8]
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
        option = "--weight-file" if name.endswith(".npz") else "--input-file"
        args = ["run", option, str(tmp_path / name)] + (
            ["--out", "2"] if option == "--input-file" else []
        )
        assert_one_line_error(cli(*args))
    np.savez(tmp_path / "wrong.npz", weight=np.zeros((2, 3, 4), dtype=np.float32))
    assert_one_line_error(cli("run", "--weight-file", str(tmp_path / "wrong.npz")))
    np.savez(tmp_path / "extra.npz", weight=np.zeros((2, 3)), other=np.zeros(2))
    assert_one_line_error(cli("run", "--weight-file", str(tmp_path / "extra.npz")))
    unreadable = tmp_path / "dir.npy"
    unreadable.mkdir()
    assert_one_line_error(cli("run", "--out", "2", "--input-file", str(unreadable)))


def test_huge_argument_lists_are_bounded() -> None:
    exe = Path(sys.executable).parent / "linexplain"
    proc = subprocess.run(
        [str(exe), "shape", "--out", "3", "-s", ",".join(["N"] * 50_000)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


# --- hostile input files: exit 2 with one line, quickly, within the limit, never a hang --------

HINT_LIMIT = "raise --max-memory if the machine has the room"


def run_cli(*args: str, cwd: Path, stdin: object = subprocess.DEVNULL, preexec=None):
    """linexplain in a fresh process (what blocks, or closes stdin, cannot run in-process)."""
    return subprocess.run(
        [sys.executable, "-m", "linexplain", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        stdin=stdin,
        preexec_fn=preexec,
        check=False,
    )


def one_line_error(proc: subprocess.CompletedProcess, needle: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linexplain: error: "), proc.stderr
    assert needle in lines[0] and " — hint: " in lines[0], lines[0]
    return lines[0]


def hostile_files(folder: Path) -> None:
    """One file per class of hostile input (each small on disk)."""
    with open(folder / "sparse.npy", "wb") as f:  # claims 2**27 float32: 512 MB, a hole
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (2**27,)}
        )
        end = f.tell()
    os.truncate(folder / "sparse.npy", end + 4 * 2**27)
    with zipfile.ZipFile(folder / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as z:  # 2 x 256 MB
        for name in ("weight", "bias"):
            with z.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.zeros((2**13, 2**13), np.float32))
    (folder / "lists.json").write_text("[" + ",".join(["[]"] * 1_000_000) + "]")
    line = ",".join(["0.5"] * 255) + ",0.25\n"
    (folder / "huge.csv").write_text(line * (8 * 2**20 // len(line)))
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" + " " * 20_000 + "\n"
    (folder / "header.npy").write_bytes(
        np.lib.format.magic(1, 0) + len(header).to_bytes(2, "little") + header.encode() + bytes(8)
    )
    (folder / "object.json").write_text('{"weight": [[1, 2, 3]]}')
    os.mkfifo(folder / "fifo.csv")
    os.mkfifo(folder / "fifo.npy")
    os.symlink("/dev/zero", folder / "zero.csv")
    os.symlink("/dev/urandom", folder / "random.npy")
    os.symlink("/dev/zero", folder / "zero.npz")
    np.save(folder / "x.npy", np.ones((2, 3), np.float32))


RUN2 = ["run", "--out", "2"]
HOSTILE = [
    # (arguments, what the one error line says)
    ([*RUN2, "--input-file", "sparse.npy", "--max-memory", "42MB"],
     "sparse.npy needs 671,088,640 bytes (its array of shape (134217728,) in float32"),
    (["run", "--weight-file", "bomb.npz", "--max-memory", "84MB"],
     "bomb.npz needs 268,"),
    ([*RUN2, "--input-file", "lists.json", "--max-memory", "2MB"], "lists.json needs 3,000,001"),
    ([*RUN2, "--input-file", "lists.json", "--max-memory", "42MB"],
     "(its JSON text as Python objects, then as an array; beside 3,000,001 held already)"),
    ([*RUN2, "--input-file", "huge.csv", "--max-memory", "8MB"], "(its text), over the limit"),
    ([*RUN2, "--input-file", "huge.csv", "--max-memory", "60MB"],
     "this pass needs"),  # read by NumPy within the limit; the pass itself is too big
    ([*RUN2, "--input-file", "header.npy"],
     "header.npy has a header of 20,058 bytes, over NumPy's limit of 10,000"),
    ([*RUN2, "--input-file", "object.json"],
     'object.json holds a JSON object ({"weight": [[1, 2...), not an array of numbers'),
    ([*RUN2, "--input-file", ""], "the file name is empty"),
    (["run", "--weight-file", ""], "the file name is empty"),
    ([*RUN2, "--input-file", "fifo.csv"], "fifo.csv is a FIFO (named pipe), not a regular file"),
    (["run", "--in", "3", "--out", "2", "--save", "fifo.npy"],
     "--save fifo.npy is a FIFO (named pipe), not a regular file"),
    ([*RUN2, "--input-file", "zero.csv"], "zero.csv (/dev/zero) is a character device"),
    ([*RUN2, "--input-file", "random.npy"], "random.npy (/dev/urandom) is a character device"),
    (["run", "--weight-file", "zero.npz"], "zero.npz (/dev/zero) is a character device"),
    (["grad", "--in", "3", "--out", "2", "--upstream", "fifo.csv"], "fifo.csv is a FIFO"),
    (["grad", "--in", "3", "--out", "2", "--input-file", "x.npy", "--upstream", "x.npy",
      "--max-memory", "50"], "x.npy needs 54 bytes (its array of shape (2, 3) in float32, and a "
     "finite check; beside 24 held already), over the limit of 50"),
]  # fmt: skip


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    hostile_files(folder)
    return folder


@pytest.mark.parametrize(("args", "needle"), HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_files_exit_2_at_once(args: list[str], needle: str, hostile: Path) -> None:
    start = time.perf_counter()
    one_line_error(run_cli(*args, cwd=hostile), needle)
    assert time.perf_counter() - start < 20  # nothing was inflated, parsed or waited for


def test_proc_kmsg_through_a_link_is_not_waited_for(tmp_path: Path) -> None:
    """It passes for a regular file (size 0) and blocks a plain read."""
    if not os.access("/proc/kmsg", os.R_OK):
        pytest.skip("/proc/kmsg is not readable here (reading it needs CAP_SYSLOG)")
    os.symlink("/proc/kmsg", tmp_path / "kmsg.csv")
    proc = run_cli(*RUN2, "--input-file", "kmsg.csv", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "kmsg.csv is not a plain file" in proc.stderr or "cannot read" in proc.stderr


@pytest.mark.parametrize(
    "args", [[*RUN2, "--input-file", "-"], ["grad", "--in", "3", "--out", "2", "--upstream", "-"]]
)
def test_a_closed_stdin_is_one_error(args: list[str], tmp_path: Path) -> None:
    proc = run_cli(*args, cwd=tmp_path, stdin=None, preexec=lambda: os.close(0))
    one_line_error(proc, "cannot read stdin")


def without_file_permission_overrides() -> None:
    """Drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so that root (whose
    process is rebuilt from it at exec) is refused a mode-000 file as anyone else is."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.parametrize("name", ["x.npy", "x.csv", "x.json", "w.npz"])
def test_an_unreadable_file_says_permission_denied(name: str, tmp_path: Path) -> None:
    """As root, chmod 000 stops no read: the check runs with root's override dropped."""
    path = tmp_path / name
    if name.endswith(".npz"):
        np.savez(path, weight=np.ones((2, 3)))
    else:
        path.write_text("[[1, 2, 3]]")
    path.chmod(0)
    preexec = without_file_permission_overrides if os.geteuid() == 0 else None
    option = "--weight-file" if name.endswith(".npz") else "--input-file"
    try:
        proc = run_cli("run", "--out", "2", option, name, cwd=tmp_path, preexec=preexec)
    except subprocess.SubprocessError as error:
        pytest.skip(f"cannot drop root's file-permission override here: {error}")
    one_line_error(proc, f"{name}: permission denied")
