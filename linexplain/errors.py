"""The one error type linexplain raises for bad input."""

from __future__ import annotations


class LinexplainError(ValueError):
    """Bad input: what is wrong and where (``message``), and how to fix it (``hint``).

    The command line prints it as one line on stderr and exits with code 2.
    """

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — hint: {self.hint}" if self.hint else self.message
