"""``Array``: the type of every array fungrad hands back, as ``jax.Array`` is JAX's.

An ``Array`` *is* a ``numpy.ndarray`` (a subclass, made by a cheap ``.view`` at the API
boundary), so it goes to any NumPy or SciPy function, pickles and saves like one, and NumPy
operations on it give ``Array`` values again (NumPy's rule for subclasses). On top it has JAX's
``x.at[idx].set(v)`` (installed by ``fungrad.numpy``) and ``block_until_ready()``.
``isinstance(x, Array)`` is also true of tracers inside transforms (``fungrad.numpy`` registers
``Tracer``), so one check covers both, as in JAX; a plain ``numpy.ndarray`` is not an ``Array``.

A scalar result is a 0-d ``Array``, never a NumPy scalar, in every position of a tuple.

Inside, the engine and ``jit``'s generated code compute with plain ``ndarray`` objects: inputs are
stripped to one (``plain``, through ``dtypes.checked_input``) and outputs viewed as ``Array``
(``as_array``), so NumPy's per-operation cost for subclasses is never paid in fungrad's loops.

>>> x = as_array(np.zeros(3))
>>> isinstance(x, Array), isinstance(x, np.ndarray), x.block_until_ready() is x
(True, True, True)
>>> type(as_array(np.float64(2.0))), as_array(np.float64(2.0)).shape
(<class 'fungrad.array_type.Array'>, ())
"""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

import numpy as np

_ndarray = np.ndarray


class Array(np.ndarray, metaclass=abc.ABCMeta):
    """The array type of fungrad's results: a ``numpy.ndarray`` with JAX's ``.at`` and
    ``block_until_ready``; tracers count as ``Array`` values too.

    It prints as the ``ndarray`` it is (``array([...])``).

    >>> import fungrad, fungrad.numpy as fnp
    >>> x = fnp.zeros(3)
    >>> isinstance(x, fungrad.Array), x.at[0].set(1.0), x
    (True, array([1., 0., 0.]), array([0., 0., 0.]))
    >>> g = fungrad.grad(lambda x: x * x)(3.0)
    >>> g.shape, float(g), g == 6.0
    ((), 6.0, array(True))
    """

    __slots__ = ()

    if TYPE_CHECKING:  # installed by fungrad.numpy (array_methods)
        @property
        def at(self) -> Any: ...

    def block_until_ready(self) -> Array:
        """``self``: NumPy computes eagerly, so an array is ready when it exists (JAX's API)."""
        return self

    def __repr__(self) -> str:
        return np.array_repr(self.view(_ndarray))


def as_array(x: Any) -> Any:
    """``x`` as an ``Array`` if it is a NumPy array (a view: no copy) or a NumPy scalar (a 0-d
    ``Array``); anything else (tracers, ``Array`` values, Python numbers, other objects) as it is."""
    if type(x) is _ndarray:
        return x.view(Array)
    if isinstance(x, np.generic):
        return np.asarray(x).view(Array)
    return x


def plain(x: Any) -> Any:
    """``x`` as a plain ``ndarray`` if it is an ``Array`` (a view), else as it is."""
    return x.view(_ndarray) if type(x) is Array else x


def block_until_ready(x: Any) -> Any:
    """``x`` (any pytree): fungrad's results are ready when returned (JAX's API, for timing
    code written for JAX).

    >>> block_until_ready((1.0, np.ones(2)))
    (1.0, array([1., 1.]))
    """
    return x
