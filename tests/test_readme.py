"""The README shows real output: every marked block matches what the tool prints now."""

from __future__ import annotations

import doctest

from helpers import ROOT, run_script


def test_readme_output_blocks_are_current() -> None:
    proc = run_script("update_readme.py", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_python_api_example() -> None:
    results = doctest.testfile(
        str(ROOT / "README.md"), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert results.attempted >= 8
    assert results.failed == 0
