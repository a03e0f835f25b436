"""``fungrad.scipy.linalg``: SciPy's triangular and Cholesky solvers (and a few aliases), like
``jax.scipy.linalg``. SciPy is not needed: everything is built on ``fungrad.lax.linalg``.

>>> import fungrad.scipy.linalg as fsl
>>> c = fsl.cho_factor(np.array([[4.0, 2.0], [2.0, 5.0]]))
>>> fsl.cho_solve(c, np.array([4.0, 2.0]))
array([1., 0.])
"""
from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (the examples use it)

import fungrad.numpy as fnp
from fungrad.lax import linalg as lax_linalg
from fungrad.numpy import linalg as np_linalg
from fungrad.numpy.linalg import inexact_operands
from fungrad.numpy.array_methods import wrap_namespace

__all__ = ["cho_factor", "cho_solve", "cholesky", "det", "eigh", "inv", "solve",
           "solve_triangular"]

_TRANS = {0: False, "N": False, 1: True, "T": True, 2: True, "C": True}


def _as_matrices(a: Any, b: Any) -> tuple[Any, Any, bool]:
    """``a`` and ``b`` with broadcast batch axes; a 1-D ``b`` becomes one column."""
    a, b = inexact_operands(a, b)
    vector = b.ndim == 1
    if vector:
        b = fnp.reshape(b, (b.shape[0], 1))
    batch = tuple(fnp.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    return (fnp.broadcast_to(a, batch + tuple(a.shape[-2:])),
            fnp.broadcast_to(b, batch + tuple(b.shape[-2:])), vector)


def _unvector(x: Any, vector: bool) -> Any:
    return fnp.reshape(x, tuple(x.shape[:-1])) if vector else x


def solve_triangular(a: Any, b: Any, trans: int | str = 0, lower: bool = False,
                     unit_diagonal: bool = False, overwrite_b: bool = False, debug: Any = None,
                     check_finite: bool = True) -> Any:
    """``x`` with ``a @ x = b`` (``trans`` 0 or "N"), ``aᵀ @ x = b`` (1 or "T") or ``aᴴ @ x = b``
    (2 or "C"), reading
    only the ``lower`` (or upper) triangle of ``a``. ``b`` is ``(n,)`` or ``(..., n, k)``.

    >>> solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]), lower=True)
    array([1., 2.])
    """
    if trans not in _TRANS:
        raise ValueError(f"solve_triangular: invalid trans {trans!r}; use 0, 1, 2, 'N', 'T' or 'C'")
    a, b, vector = _as_matrices(a, b)
    x = lax_linalg.triangular_solve(a, b, left_side=True, lower=lower,
                                    transpose_a=_TRANS[trans], conjugate_a=trans in (2, "C"),
                                    unit_diagonal=unit_diagonal)
    return _unvector(x, vector)


def cholesky(a: Any, lower: bool = False, overwrite_a: bool = False,
             check_finite: bool = True) -> Any:
    """Cholesky factor of ``a``: upper ``U`` with ``a = Uᴴ U`` by default (SciPy's convention),
    lower ``L`` with ``lower=True``.

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 1.],
           [0., 2.]])
    """
    return np_linalg.cholesky(a, upper=not lower)


def cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple[Any, bool]:
    """``(c, lower)`` for ``cho_solve``: ``c`` is the Cholesky factor (the other triangle zero).

    >>> cho_factor(np.array([[4.0, 2.0], [2.0, 5.0]]), lower=True)[0]
    array([[2., 0.],
           [1., 2.]])
    """
    return cholesky(a, lower=lower), bool(lower)


def cho_solve(c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False,
              check_finite: bool = True) -> Any:
    """``x`` with ``a @ x = b``, given ``(c, lower) = cho_factor(a)``: two triangular solves.

    >>> c = cho_factor(np.array([[4.0, 2.0], [2.0, 5.0]]))
    >>> cho_solve(c, np.array([[4.0], [2.0]]))
    array([[1.],
           [0.]])
    """
    c, lower = c_and_lower
    c, b, vector = _as_matrices(c, b)
    # a = L Lᴴ: solve L y = b, then Lᴴ x = y (with L = cᴴ when c is upper).
    y = lax_linalg.triangular_solve(c, b, left_side=True, lower=lower, transpose_a=not lower,
                                    conjugate_a=not lower)
    x = lax_linalg.triangular_solve(c, y, left_side=True, lower=lower, transpose_a=lower,
                                    conjugate_a=lower)
    return _unvector(x, vector)


def solve(a: Any, b: Any, lower: bool = False, overwrite_a: bool = False,
          overwrite_b: bool = False, check_finite: bool = True, assume_a: str = "gen") -> Any:
    """``x`` with ``a @ x = b``; ``assume_a="pos"`` uses a Cholesky factorization (of the
    ``lower`` or upper triangle), anything else LU.

    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([2.0, 2.0]), assume_a="pos")
    array([1. , 0.5])
    """
    if assume_a == "pos":
        return cho_solve(cho_factor(_symmetric_from(a, lower), lower=lower), b)
    return np_linalg.solve(a, b)


def _symmetric_from(a: Any, lower: bool) -> Any:
    """The Hermitian matrix whose ``lower`` (or upper) triangle is that of ``a``: derivatives
    then flow only from the triangle that is read."""
    a, = inexact_operands(a)
    half = fnp.tril(a) if lower else fnp.triu(a)
    return half + fnp.conj(fnp.swapaxes(half, -1, -2)) - fnp.real(a) * fnp.eye(a.shape[-1])


def inv(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The inverse of square ``a``."""
    return np_linalg.inv(a)


def det(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The determinant of square ``a``."""
    return np_linalg.det(a)


def eigh(a: Any, b: Any = None, lower: bool = True, eigvals_only: bool = False,
         overwrite_a: bool = False, overwrite_b: bool = False, check_finite: bool = True) -> Any:
    """Eigenvalues (ascending) and eigenvectors of symmetric ``a``, reading its ``lower`` (or
    upper) triangle; ``w`` alone with ``eigvals_only``. The generalized problem (``b``) is not
    supported."""
    if b is not None:
        raise NotImplementedError("eigh: the generalized eigenproblem (b) is not supported")
    w, v = np_linalg.eigh(_symmetric_from(a, lower))
    return w if eigvals_only else (w, v)


# Concrete results are fungrad.Arrays, as JAX's are (tracers pass through).
wrap_namespace(globals())
