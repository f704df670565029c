"""linexplain: explain PyTorch's nn.Linear — shapes, equations and PyTorch's own numbers.

The public API, imported on first use so that ``import linexplain`` stays cheap (numpy and
sympy load only when a name that needs them is used)::

    from linexplain import explain_shape, parse_shape, expand, Linear, linear, forward

Each command is also a function of :mod:`linexplain.lessons` from a :class:`Request` to a
document, which :func:`render` writes in any format; :func:`explain`, :func:`draw` and
:func:`lesson` take the command line's options as keywords and return a :class:`Lesson`, which
shows itself in a notebook (HTML, SVG) and prints as text.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "LinexplainError": "errors",
    "parse_shape": "grammar",
    "parse_bindings": "grammar",
    "Product": "counts",
    "explain_shape": "layers",
    "ShapeReport": "layers",
    "GradShapes": "layers",
    "Network": "network",
    "View": "view",
    "Request": "request",
    "expand": "equations",
    "expand_numbers": "equations",
    "grad_forms": "equations",
    "Expansion": "equations",
    "linear": "core",
    "Linear": "core",
    "Generator": "torch_rng",
    "linear_init": "torch_rng",
    "forward": "session",
    "Forward": "session",
    "backward": "session",
    "finite_difference_check": "session",
    "Gradients": "session",
    "render": "output",
    "explain": "api",
    "draw": "api",
    "lesson": "api",
    "Lesson": "api",
}
__all__ = ["__version__", *_EXPORTS]


def main() -> None:
    """The ``linexplain`` command. Ctrl-C, even while the CLI loads, ends quietly with 130."""
    try:
        from .cli import app

        app()
    except KeyboardInterrupt:
        sys.exit(130)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'linexplain' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
