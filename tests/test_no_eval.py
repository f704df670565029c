"""No user text is ever evaluated: code payloads in every text option only ever give exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, cli

PACKAGE = Path(__file__).resolve().parent.parent / "linexplain"
PAYLOADS = [
    "__import__('os').system('touch {marker}'),3",
    "exec(\"open('{marker}', 'w')\")",
    "N; import os; os.system('touch {marker}')",
    "$(touch {marker})",
    "`touch {marker}`",
    "lambda: open('{marker}', 'w')",
    "{{'__class__': 1}}",
    "[[__import__('os').system('touch {marker}')]]",
    "Symbol('x').__class__.__init__.__globals__",
]
# Every option of every command that takes text, and how to fill in the rest of the command.
TEXT_OPTIONS = [
    ["shape", "--out", "3", "--input-shape", "{payload}"],
    ["shape", "--out", "3", "-s", "N,3", "--dims", "{payload}"],
    ["expand", "--in", "3", "--out", "3", "--input-shape", "{payload}"],
    ["run", "--in", "3", "--out", "2", "--input-shape", "{payload}"],
    ["run", "--in", "3", "--out", "2", "-s", "N,3", "--dims", "{payload}"],
    ["run", "--out", "2", "--input", "{payload}"],
    ["run", "--out", "2", "--input-file", "{payload}"],
    ["run", "--weight", "{payload}"],
    ["run", "--weight", "[[1, 2, 3]]", "--bias-values", "{payload}"],
    ["run", "--weight-file", "{payload}"],
    ["run", "--in", "3", "--out", "2", "--max-memory", "{payload}"],
    ["run", "--in", "3", "--out", "2", "--save", "{payload}"],
    ["grad", "--in", "3", "--out", "2", "--upstream", "{payload}"],
    ["grad", "--in", "3", "--out", "2", "--input-shape", "{payload}"],
    ["grad", "--in", "3", "--out", "2", "-s", "N,3", "--dims", "{payload}"],
    ["grad", "--out", "2", "--input", "{payload}"],
    ["grad", "--out", "2", "--input-file", "{payload}"],
    ["grad", "--weight", "{payload}"],
    ["grad", "--weight", "[[1, 2, 3]]", "--bias-values", "{payload}"],
    ["grad", "--weight-file", "{payload}"],
    ["grad", "--in", "3", "--out", "2", "--max-memory", "{payload}"],
    ["expand", "--weight-file", "{payload}"],
    ["expand", "--in", "3", "--out", "2", "--seed", "0", "--max-memory", "{payload}"],
    ["explain", "--input-shape", "{payload}"],
    ["explain", "--dims", "{payload}"],
    ["explain", "--max-memory", "{payload}"],
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("command", TEXT_OPTIONS, ids=lambda c: f"{c[0]}-{c[-2]}")
def test_payload_is_refused_and_never_runs(
    command: list[str], payload: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "MARKER"
    text = payload.format(marker=marker)
    result = cli(*(part.replace("{payload}", text) for part in command))
    assert not marker.exists()
    assert_one_line_error(result)


def test_object_npy_and_pickles_are_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.array([object()], dtype=object), allow_pickle=True)
    assert_one_line_error(cli("run", "--out", "2", "--input-file", str(tmp_path / "x.npy")))
    np.savez(tmp_path / "w.npz", weight=np.array([[object()]], dtype=object))
    assert_one_line_error(cli("run", "--weight-file", str(tmp_path / "w.npz")))


FORBIDDEN = [
    (r"(?<![.\w])eval\(", "eval"),  # not torch's net.eval() in a snippet
    (r"\bexec\(", "exec"),
    (r"\bsympify\(", "sympify"),
    (r"\bparse_expr\(", "parse_expr"),
    (r"\bS\(\s*[a-z_]", "sympy.S on a variable"),
    (r"\bimport pickle|\bpickle\.", "pickle"),
    (r"allow_pickle\s*=\s*True", "allow_pickle=True"),
    (r"(?<![.\w])compile\(", "the compile builtin"),
    (r"__import__\(", "__import__"),
]


SOURCES = sorted(PACKAGE.rglob("*.py"))  # the subpackages (cli/, output/) too


def test_every_module_is_scanned() -> None:
    names = {path.relative_to(PACKAGE).as_posix() for path in SOURCES}
    assert {"layers.py", "cli/request.py", "cli/app.py", "output/text.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_source_has_no_evaluation(path: Path) -> None:
    source = path.read_text()
    for pattern, what in FORBIDDEN:
        assert not re.search(pattern, source), f"{path.relative_to(PACKAGE)} uses {what}"
