"""Write completions/linexplain.{bash,zsh,fish} from the CLI itself (Typer's completion scripts).

    python scripts/gen_completions.py [--check]

``--check`` exits 1 when a checked-in file differs from a fresh one (tests use it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "completions"
SHELLS = ("bash", "zsh", "fish")


def generate(shell: str) -> str:
    """The completion script ``linexplain --show-completion SHELL`` prints."""
    exe = Path(sys.executable).parent / "linexplain"
    # With shell detection off, Typer's --show-completion takes the shell's name as its value.
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    proc = subprocess.run(
        [str(exe), "--show-completion", shell], capture_output=True, text=True, check=True, env=env
    )
    return proc.stdout.rstrip("\n") + "\n"


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for shell in SHELLS:
        path = OUT / f"linexplain.{shell}"
        fresh = generate(shell)
        if check:
            if not path.exists() or path.read_text() != fresh:
                stale.append(path.name)
        else:
            OUT.mkdir(exist_ok=True)
            path.write_text(fresh)
            print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}; run python scripts/gen_completions.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
