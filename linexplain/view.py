"""How a command shows what it explains: one options object instead of the same keywords at
every call (index base, the layer's superscript, elision, decimals, output format)."""

from __future__ import annotations

from dataclasses import dataclass

from .elide import MAX_SHOWN
from .errors import LinexplainError
from .grammar import MAX_SIZE, as_int, check_bool, check_choice, show_value

FORMATS = ("pretty", "ascii", "latex", "markdown", "html", "svg")
MAX_PRECISION = 17  # float64's round-trip digits


@dataclass(frozen=True)
class View:
    """``index_base`` 1 (math style, w_11 first) or 0 (layer.weight[0, 0]); ``layer`` the (l)
    superscript or None; axes longer than ``max_terms`` are elided unless ``full``;
    ``precision`` decimals for numbers; ``format`` one of FORMATS."""

    index_base: int = 1
    layer: int | None = None
    max_terms: int = MAX_SHOWN
    full: bool = False
    precision: int = 4
    format: str = "pretty"

    def __post_init__(self) -> None:
        index_base = as_int(self.index_base, "index base")
        if index_base not in (0, 1):
            raise LinexplainError(
                f"index base must be 1 or 0 (got {show_value(index_base)})",
                "1 is math style (w_11 is the first weight); 0 matches layer.weight[0, 0]",
            )
        layer = None if self.layer is None else as_int(self.layer, "layer")
        if layer is not None and layer < 0:
            raise LinexplainError(
                f"layer must be a whole number >= 0 (got {show_value(layer)})",
                "it is the (l) superscript, e.g. 2 for z^(2)",
            )
        if layer is not None and layer > MAX_SIZE:  # written out in every symbol: keep it short
            raise LinexplainError(
                f"layer: {show_value(layer)} is out of range", "use a layer number up to 2**63-1"
            )
        max_terms = as_int(self.max_terms, "max terms")
        if max_terms < 2:
            raise LinexplainError(
                f"max terms must be at least 2 (got {show_value(max_terms)}): a shortened sum "
                "shows its first terms, ⋯, and its last term, which takes room for two",
                f"the default is {MAX_SHOWN}",
            )
        precision = as_int(self.precision, "precision")
        if not 0 <= precision <= MAX_PRECISION:
            raise LinexplainError(
                f"precision {show_value(precision)} is out of range",
                f"use 0 to {MAX_PRECISION} decimals",
            )
        full = check_bool(self.full, "full")
        format_ = check_choice(self.format, FORMATS, "format")
        for name, value in (
            ("index_base", index_base),
            ("layer", layer),
            ("max_terms", max_terms),
            ("precision", precision),
            ("full", full),
            ("format", format_),
        ):
            object.__setattr__(self, name, value)

    @property
    def keep(self) -> int | None:
        """How many entries an axis shows before eliding (None: all of them)."""
        return None if self.full else self.max_terms


DEFAULT_VIEW = View()
