"""``python -m linexplain``."""

from .cli import run

run()
