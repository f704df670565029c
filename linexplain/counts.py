"""Exact counts: products of sizes and named dims (pure Python ints, never floats), and bytes.

A count of a Linear layer is the product of the input's leading dims times a constant, so it is
a :class:`Product` — an exact int, or an int times named dims like ``9*C*N`` — built without
sympy, so that ``linexplain shape`` starts fast.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .errors import LinexplainError
from .grammar import Shape, as_int, parse_name, show_value

DTYPE_BYTES = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2}
# Far past any count of tensors (32 dims of 2**63-1 make 2**2016), and short enough to print.
MAX_COUNT_BITS = 8192


@dataclass(frozen=True)
class Product:
    """An exact count: ``coeff`` times the product of named dims (name -> power)."""

    coeff: int = 1
    powers: tuple[tuple[str, int], ...] = ()

    __array_ufunc__ = None  # array + count: NumPy leaves it to __radd__, which checks it

    def __post_init__(self) -> None:
        coeff = as_int(self.coeff, "a count's coefficient")  # exact: past int64 too
        if coeff < 0 or coeff.bit_length() > MAX_COUNT_BITS:  # no 2**8192 built per count
            raise LinexplainError(
                f"a count's coefficient is {show_value(coeff)}",
                f"counts are 0 or more, and below 2**{MAX_COUNT_BITS}",
            )
        if not isinstance(self.powers, (tuple, list)):
            raise LinexplainError(
                f"a count's powers must be (name, power) pairs, got {type(self.powers).__name__}",
                "e.g. Product(9, (('N', 1), ('C', 1))) for 9*N*C",
            )
        powers: dict[str, int] = {}
        for pair in self.powers:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise LinexplainError(
                    f"a count's powers hold {type(pair).__name__}s, not (name, power) pairs",
                    "e.g. Product(9, (('N', 1), ('C', 1))) for 9*N*C",
                )
            name = parse_name(pair[0], "a count's named dim") if isinstance(pair[0], str) else None
            if name is None or name in powers:
                raise LinexplainError(
                    f"a count's powers name {show_value(pair[0])} "
                    + ("twice" if name else "instead of a dim name"),
                    "give each named dim once, by its name, e.g. ('N', 2) for N**2",
                )
            powers[name] = as_int(pair[1], f"the power of {name}")
            if powers[name] < 1:
                raise LinexplainError(
                    f"the power of {name} is {show_value(powers[name])}",
                    "powers are 1 or more, e.g. 2",
                )
        object.__setattr__(self, "coeff", coeff)
        object.__setattr__(self, "powers", tuple(powers.items()) if coeff else ())  # 0·N is 0

    @classmethod
    def of(cls, dims: Shape) -> Product:
        """The product of some dims (ints and names)."""
        coeff, names = 1, Counter[str]()
        for d in dims:
            if isinstance(d, int):
                coeff *= d
            else:
                names[d] += 1
        return cls(coeff, tuple(names.items())) if coeff else cls(0)

    def __mul__(self, other: Product | int) -> Product:
        other = _product(other, "multiply")
        if self.coeff * other.coeff == 0:
            return Product(0)
        powers = Counter(dict(self.powers))
        powers.update(dict(other.powers))
        return Product(self.coeff * other.coeff, tuple(powers.items()))

    __rmul__ = __mul__

    def __add__(self, other: Product | int) -> Product:
        """Sum of two counts of the same names (all counts here share the leading dims)."""
        other = _product(other, "add")
        if not other.coeff:
            return self
        if not self.coeff:
            return other
        if dict(self.powers) != dict(other.powers):
            raise LinexplainError(
                f"cannot add {self} and {other} as one product",
                "add counts of the same named dims, e.g. 3*N + 9*N",
            )
        return Product(self.coeff + other.coeff, self.powers)

    __radd__ = __add__  # sum() starts from 0

    @property
    def is_int(self) -> bool:
        return not self.powers

    def value(self) -> int | str:
        """JSON form: the int when concrete, else the expression as sympy's ``str()`` writes it."""
        return self.coeff if self.is_int else str(self)

    def __str__(self) -> str:
        # As sympy's str() writes a product (the coefficient first, omitted when 1), but the names
        # in the input's dim order: 9*N*C beside N*C rows.
        factors = [name if power == 1 else f"{name}**{power}" for name, power in self.powers]
        if self.coeff != 1 or not factors:
            factors.insert(0, str(self.coeff))
        return "*".join(factors)


def _product(other: object, verb: str) -> Product:
    """A count to combine with another: a Product, or a whole number (NumPy ints too)."""
    return other if isinstance(other, Product) else Product(as_int(other, f"a count to {verb}"))


def product_as_written(dims: Shape) -> str:
    """The product of dims in their written order, for messages: ``N*C``, ``5*N``, ``30``."""
    coeff = 1
    names = []
    for d in dims:
        if isinstance(d, int):
            coeff *= d
        else:
            names.append(d)
    if coeff == 0 or not names:
        return str(coeff)
    return "*".join(([str(coeff)] if coeff != 1 else []) + names)
