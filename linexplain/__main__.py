"""``python -m linexplain``."""

from . import main

main()
