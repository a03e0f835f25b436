"""Conjugate gradients on a curvature operator: ``solve_cg``.

>>> from fungrad.optim.curvature.operator import MatrixOperator
>>> x, info = solve_cg(MatrixOperator(np.array([[4.0, 1.0], [1.0, 3.0]])), np.array([1.0, 2.0]))
>>> x.round(6), info
(array([0.090909, 0.636364]), 0)
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.optim.curvature.operator import LinearOperator
from fungrad.tree_util import tree_leaves, tree_map

__all__ = ["solve_cg", "cg_loop", "tree_vdot"]


def solve_cg(A: LinearOperator, b: Any, tol: float = 1e-10, maxiter: int | None = None,
             preconditioner: LinearOperator | Callable[[np.ndarray], np.ndarray] | None = None
             ) -> tuple[Any, int]:
    """Solve ``A x = b`` for a symmetric positive-definite operator by (preconditioned) conjugate gradients.

    Stops when ``||b - A x|| <= tol * ||b||``. ``b`` is a params pytree or a flat vector; ``x`` comes back in
    the same form. ``info`` follows ``scipy.sparse.linalg.cg``: 0 when converged, otherwise the number of
    iterations done (``maxiter``, by default ``10 n`` as in SciPy). ``preconditioner`` approximates
    ``A^{-1}``: an operator or a function of flat vectors. A curvature operator that is only semi-definite
    (GGN, Fisher) needs damping first: ``solve_cg(G.damped(lam), b)``.

    >>> from fungrad.optim.curvature.operator import MatrixOperator
    >>> x, info = solve_cg(MatrixOperator(np.diag([2.0, 4.0])), np.array([2.0, 2.0]))
    >>> x, info
    (array([1. , 0.5]), 0)
    """
    A.square("solve_cg")
    b_flat, back = A.in_space.split_form(b, "solve_cg")
    n = b_flat.size
    maxiter = 10 * n if maxiter is None else int(maxiter)
    precondition: Callable[[np.ndarray], np.ndarray] = (
        preconditioner.square("solve_cg's preconditioner")._matvec if isinstance(preconditioner, LinearOperator)
        else preconditioner if preconditioner is not None else np.copy)
    x = np.zeros(n)
    r = b_flat.copy()
    threshold = tol * np.linalg.norm(b_flat)
    z = precondition(r)
    p, rz = z.copy(), float(r @ z)
    for it in range(maxiter):
        if np.linalg.norm(r) <= threshold:
            return back(x), 0
        Ap = A._matvec(p)
        pAp = float(p @ Ap)
        if pAp <= 0.0:
            raise ValueError(f"solve_cg: the operator is not positive definite (p^T A p = {pAp:.3g} at "
                             f"iteration {it}); damp it first, e.g. A.damped(1e-3)")
        alpha = rz / pAp
        x += alpha * p
        r -= alpha * Ap
        z = precondition(r)
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return back(x), 0 if np.linalg.norm(r) <= threshold else maxiter


def tree_vdot(a: Any, b: Any) -> Any:
    """The inner product of two pytrees of one structure (leaf by leaf, summed).

    >>> float(tree_vdot({'w': np.ones(2), 'b': 2.0}, {'w': np.ones(2), 'b': 3.0}))
    8.0
    """
    return sum(fnp.sum(x * y) for x, y in zip(tree_leaves(a), tree_leaves(b)))


def _axpy(alpha: Any, x: Any, y: Any) -> Any:
    return tree_map(lambda xi, yi: alpha * xi + yi, x, y)


def cg_loop(matvec: Callable[[Any], Any], b: Any, maxiter: int, tol: float) -> tuple[Any, Any]:
    """Conjugate gradients as one traced ``lax.while_loop`` on pytrees (or flat vectors), for use in ``jit``.

    Starts from zero and runs until ``||b - A x|| <= tol * ||b||`` or ``maxiter`` iterations; returns
    ``(x, iterations)``. Working on the pytree itself spares a ravel and an unravel per product.

    >>> x, it = cg_loop(lambda v: np.array([2.0, 4.0]) * v, np.array([2.0, 2.0]), 10, 1e-12)
    >>> x, int(it)
    (array([1. , 0.5]), 2)
    """
    bb = tree_vdot(b, b)
    threshold = (tol ** 2) * bb

    def not_done(carry: tuple[Any, ...]) -> Any:
        i, _, _, _, rr = carry
        return fnp.logical_and(i < maxiter, rr > threshold)

    def step(carry: tuple[Any, ...]) -> tuple[Any, ...]:
        i, x, r, p, rr = carry
        Ap = matvec(p)
        alpha = rr / tree_vdot(p, Ap)
        x, r = _axpy(alpha, p, x), _axpy(-alpha, Ap, r)
        rr_new = tree_vdot(r, r)
        return i + 1, x, r, _axpy(rr_new / rr, p, r), rr_new

    init = (fnp.asarray(0), tree_map(fnp.zeros_like, b), b, b, bb)
    i, x, _, _, _ = lax.while_loop(not_done, step, init)
    return x, i
