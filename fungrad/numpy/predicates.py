"""Predicates: allclose, array_equal, array_equiv, isscalar; elementwise iscomplex, isreal.

>>> import fungrad.numpy as fnp
>>> bool(fnp.allclose(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12])))
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad import lax
from fungrad.core import Tracer
from fungrad.numpy.manipulation import broadcast_shapes, shape
from fungrad.numpy.promotion import asarray, promote
from fungrad.numpy.reductions import all as _all
from fungrad.numpy.ufuncs import isclose


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> Any:
    """Whether every pair of elements is close (see ``isclose``)."""
    return _all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> Any:
    """Whether the arrays have one shape and equal elements."""
    if shape(a1) != shape(a2):
        return np.False_
    x, y = promote(asarray(a1), asarray(a2))
    eq = lax.eq(x, y)
    if equal_nan:
        eq = lax.bitwise_or(eq, lax.bitwise_and(lax.ne(x, x), lax.ne(y, y)))
    return _all(eq)


def array_equiv(a1: Any, a2: Any) -> Any:
    """Whether the arrays are equal after broadcasting."""
    try:
        broadcast_shapes(shape(a1), shape(a2))
    except TypeError:
        return np.False_
    x, y = promote(asarray(a1), asarray(a2))
    return _all(lax.eq(x, y))


def isscalar(element: Any) -> bool:
    """Whether ``element`` is a scalar (0-d arrays and tracers count, unlike in NumPy)."""
    if isinstance(element, (np.ndarray, Tracer)):
        return element.ndim == 0
    return bool(np.isscalar(element))


def iscomplex(x: Any) -> Any:
    """Elementwise: whether the imaginary part is nonzero (all False for a real dtype).

    >>> import fungrad.numpy as fnp
    >>> fnp.iscomplex(np.array([1.0 + 0j, 2j, 3.0]))
    array([False,  True, False])
    """
    x = asarray(x)
    if x.dtype.kind != "c":
        return lax.full(x.shape, False, np.bool_)
    return lax.ne(lax.imag(x), lax.full((), 0, lax.imag(x).dtype))


def isreal(x: Any) -> Any:
    """Elementwise: whether the imaginary part is zero (all True for a real dtype).

    >>> import fungrad.numpy as fnp
    >>> fnp.isreal(np.array([1.0 + 0j, 2j]))
    array([ True, False])
    """
    return lax.bitwise_not(iscomplex(x))
