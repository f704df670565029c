"""Refresh every output block in README.md from the real tool.

A block is a marker line ``<!-- run: linexplain ARGS -->`` followed by a fenced block; the
fence's content is replaced with what ``linexplain ARGS`` prints (piped, so plain text).
``--check`` exits 1 when any block is stale instead of writing (tests/test_readme.py uses it).

    python scripts/update_readme.py [--check]
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(
    r"(<!-- run: (?P<cmd>linexplain[^\n]*?) -->\n```(?P<lang>\w*)\n)(?P<body>.*?)(```)", re.S
)


def run(command: str) -> str:
    """What the installed ``linexplain`` prints for ``command`` (stdout, then stderr)."""
    exe = str(Path(sys.executable).parent / "linexplain")
    argv = [exe, *shlex.split(command)[1:]]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    return proc.stdout + proc.stderr


def refresh(text: str) -> str:
    """README text with every marked block's body replaced by the real output."""
    return BLOCK.sub(lambda m: m.group(1) + run(m.group("cmd")) + m.group(5), text)


def main() -> int:
    text = README.read_text()
    new = refresh(text)
    if "--check" in sys.argv[1:]:
        if new != text:
            print("README.md output blocks are stale: run python scripts/update_readme.py")
            return 1
        return 0
    README.write_text(new)
    print(f"refreshed {len(BLOCK.findall(text))} blocks in {README.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
