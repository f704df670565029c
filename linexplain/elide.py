"""Which indices are shown along an axis and which are hidden: the one elision rule.

Every table, sum, matrix and figure that shortens a long axis uses it, so they all agree.
"""

from __future__ import annotations

from .errors import LinexplainError

MAX_SHOWN = 8
"""Entries shown along an axis before its middle is elided (terms, rows, columns)."""

FULL_LIMIT = 4096
"""The most weights one expansion writes out or one figure's layer draws (a 64 x 64 layer)."""

MAX_DRAWN = 64
"""The most neurons a figure draws in one column."""


def shown_indices(n: int, base: int = 0, keep: int | None = MAX_SHOWN) -> list[int | None]:
    """The indices shown along an axis of length n (from ``base``): all of them (keep=None or
    n <= keep), or the first keep - 1, a gap (None), and the last."""
    if keep is None or n <= keep:
        return list(range(base, base + n))
    return [*range(base, base + keep - 1), None, base + n - 1]


def hidden_count(shown: list[int | None]) -> int:
    """How many indices the gap in ``shown`` stands for (0 when there is none)."""
    if None not in shown:
        return 0
    gap = shown.index(None)
    before, after = shown[gap - 1], shown[gap + 1]
    assert before is not None and after is not None  # a gap sits between two shown indices
    return after - before - 1


def shown_count(n: int, keep: int | None) -> int:
    """How many of ``n`` entries are shown (the gap not counted)."""
    return n if keep is None else min(n, keep)


def check_shown(out: int, in_: int, keep: int | None, full: bool) -> None:
    """Refuse, before building anything, to show more than FULL_LIMIT weights of a layer."""
    rows, cols = shown_count(out, keep), shown_count(in_, keep)
    if rows * cols > FULL_LIMIT:
        raise LinexplainError(
            f"showing {rows:,} x {cols:,} = {rows * cols:,} weights is too much: "
            f"linexplain shows at most {FULL_LIMIT:,} (a 64 x 64 layer)",
            "drop --full: big layers show their corners"
            if full
            else "lower --max-terms: it is how many terms, rows and columns are shown",
        )
