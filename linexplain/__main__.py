"""``python -m linexplain``."""

from .cli import main

main()
