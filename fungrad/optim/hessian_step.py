"""The trust-region step for an exact (possibly indefinite) Hessian, by eigendecomposition.

With ``curvature="hessian"`` the model of the cost ``0.5 ||r||²`` around ``x`` is
``g·p + 0.5 pᵀ H p`` with the exact Hessian ``H`` (``JᵀJ`` plus the residuals' second derivatives).
:func:`hessian_trust_step` minimizes it over the scaled ball ``||D p|| <= delta`` (Moré and Sorensen
1983): in the scaled variables ``y = D p`` the solution is ``y(par) = -(H̃ + par I)⁻¹ g̃`` with
``H̃ = D⁻¹ H D⁻¹`` and ``par >= max(0, -λ_min)``; one eigendecomposition of ``H̃`` turns
``||y(par)||`` into an explicit sum, and ``par`` is found by the same safeguarded Newton iteration on
``1/||y(par)||`` as ``lmpar``, to the same accuracy (``||y||`` within
:data:`fungrad.optim.minpack.LMPAR_RTOL` of ``delta``). When ``g̃`` has no component along the lowest
eigenvector and ``||y(-λ_min)|| < delta`` (the "hard case") the step moves along that eigenvector to
the boundary.

>>> par, p = hessian_trust_step(np.diag([1.0, -1.0]), np.array([1.0, 0.0]), np.ones(2), 2.0, 0.0)
>>> round(par, 6), np.round(np.abs(p), 6)   # negative curvature: hard case, along e2 to the edge
(1.0, array([0.5     , 1.936492]))
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad.optim import minpack
from fungrad.optim.minpack import enorm

__all__ = ["hessian_trust_step"]

Array = np.ndarray[Any, np.dtype[np.float64]]


def hessian_trust_step(hess: Array, grad: Array, diag: Array, delta: float,
                       par: float) -> tuple[float, Array]:
    """``(par, p)``: ``p = -(H + par D²)⁻¹ g`` with ``H + par D²`` positive semidefinite and
    ``||D p||`` within ``minpack.LMPAR_RTOL`` (2%) of ``delta``, or ``par = 0`` when ``H`` is
    positive definite and its Newton step has ``||D p|| <= 1.1 delta``. ``par`` on input is a starting guess.

    >>> par, p = hessian_trust_step(np.eye(2), np.array([3.0, 4.0]), np.ones(2), 1.0, 0.0)
    >>> round(par, 2), np.round(p, 2)
    (4.0, array([-0.6, -0.8]))
    """
    lam, vecs = np.linalg.eigh(hess / np.outer(diag, diag))
    c = vecs.T @ (grad / diag)
    scale = max(float(np.max(np.abs(lam))), 1.0) if lam.size else 1.0
    if lam[0] > 0:
        y = c / lam
        if enorm(y) <= 1.1 * delta:
            return 0.0, -(vecs @ y) / diag
    low = max(0.0, -float(lam[0]))
    high = enorm(c) / delta + low
    flat = lam - lam[0] <= 1e-12 * scale            # the lowest eigenspace
    if low > 0.0 or lam[0] == 0.0:
        rest = np.where(flat, 0.0, c / np.where(flat, 1.0, lam + low))
        if enorm(c[flat]) <= 1e-12 * enorm(c) and enorm(rest) < delta:
            return low, _hard_case(vecs, rest, flat, delta, diag)
    par = min(max(par, low), high)
    lo, hi = low, high
    for _ in range(60):
        if par <= lo or par >= hi:
            par = 0.5 * (lo + hi) if hi > lo else hi
        y = c / (lam + par)
        ynorm = enorm(y)
        if abs(ynorm - delta) <= minpack.LMPAR_RTOL * delta:
            break
        if ynorm > delta:
            lo = par
        else:
            hi = par
        # Newton's step on 1/||y(par)|| = 1/delta (the update MINPACK's lmpar makes).
        par = par + (ynorm - delta) / delta * ynorm ** 2 / enorm(y / np.sqrt(lam + par)) ** 2
    return par, -(vecs @ y) / diag


def _hard_case(vecs: Array, rest: Array, flat: Array, delta: float, diag: Array) -> Array:
    """The boundary step ``-V rest + tau v_min`` with ``||y|| = delta``."""
    tau = np.sqrt(max(delta ** 2 - enorm(rest) ** 2, 0.0))
    y = -(vecs @ rest) + tau * vecs[:, int(np.argmax(flat))]
    step: Array = y / diag
    return step
