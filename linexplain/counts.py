"""Exact counts: products of sizes and named dims (pure Python ints, never floats), and bytes.

A count of a Linear layer is the product of the input's leading dims times a constant, so it is
a :class:`Product` — an exact int, or an int times named dims like ``9*C*N`` — built without
sympy, so that ``linexplain shape`` starts fast.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .grammar import Shape

DTYPE_BYTES = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2}


@dataclass(frozen=True)
class Product:
    """An exact count: ``coeff`` times the product of named dims (name -> power)."""

    coeff: int = 1
    powers: tuple[tuple[str, int], ...] = ()

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
        if isinstance(other, int):
            other = Product(other)
        if self.coeff * other.coeff == 0:
            return Product(0)
        powers = Counter(dict(self.powers))
        powers.update(dict(other.powers))
        return Product(self.coeff * other.coeff, tuple(powers.items()))

    __rmul__ = __mul__

    def __add__(self, other: Product) -> Product:
        """Sum of two counts of the same names (all counts here share the leading dims)."""
        if not other.coeff:
            return self
        if not self.coeff:
            return other
        if dict(self.powers) != dict(other.powers):
            raise ValueError(f"cannot add {self} and {other} as one product")
        return Product(self.coeff + other.coeff, self.powers)

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
