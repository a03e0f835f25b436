"""``fungrad.numpy``: NumPy's API on fungrad values (being filled in)."""
from typing import Any

from fungrad import lax
from fungrad.numpy.promotion import promote, promote_inexact


def add(x: Any, y: Any) -> Any:
    return lax.add(*promote(x, y))


def subtract(x: Any, y: Any) -> Any:
    return lax.sub(*promote(x, y))


def multiply(x: Any, y: Any) -> Any:
    return lax.mul(*promote(x, y))


def true_divide(x: Any, y: Any) -> Any:
    return lax.div(*promote_inexact(x, y))


def negative(x: Any) -> Any:
    return lax.neg(*promote(x))


def sin(x: Any) -> Any:
    return lax.sin(*promote_inexact(x))


def cos(x: Any) -> Any:
    return lax.cos(*promote_inexact(x))


def exp(x: Any) -> Any:
    return lax.exp(*promote_inexact(x))


def tanh(x: Any) -> Any:
    return lax.tanh(*promote_inexact(x))


def power(x: Any, y: Any) -> Any:
    if isinstance(y, int):
        return lax.integer_pow(*promote(x), y)
    return lax.pow(*promote(x, y))


def sum(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
    from fungrad.core import get_aval
    nd = get_aval(x).ndim
    axes = range(nd) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    return lax.reduce_sum(x, [a % nd for a in axes])
