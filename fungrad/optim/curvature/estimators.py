"""Randomized trace and diagonal estimators from matrix-vector products: Hutchinson and Hutch++.

Probes are Rademacher vectors (entries +-1) drawn by ``numpy.random.default_rng(seed)``; each estimator is
unbiased. Hutch++ (Meyer, Musco, Musco and Woodruff, 2021) spends a third of its products finding the
dominant subspace, whose trace it takes exactly, and a third on Hutchinson for the rest, so it wins on
matrices whose spectrum decays (curvature matrices of networks are such matrices).

>>> from fungrad.optim.curvature.operator import MatrixOperator
>>> A = MatrixOperator(np.diag([5.0, 1.0, 1.0]))
>>> round(trace(A, 9, method="hutch++"), 10)
7.0
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad.optim.curvature.operator import LinearOperator

__all__ = ["rademacher", "trace", "diagonal"]


def rademacher(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """An array of independent +-1 entries.

    >>> sorted(set(rademacher(np.random.default_rng(0), (100,)).tolist()))
    [-1.0, 1.0]
    """
    return rng.integers(0, 2, shape) * 2.0 - 1.0


def _positive(value: int, name: str, at_least: int = 1) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < at_least:
        raise ValueError(f"{name} must be an int >= {at_least}, got {value!r}")
    return int(value)


def trace(A: LinearOperator, num_matvecs: int, method: str = "hutchinson", seed: int = 0) -> float:
    """An unbiased estimate of ``tr(A)`` from ``num_matvecs`` products.

    ``method="hutchinson"``: the mean of ``z^T A z`` over Rademacher probes. ``method="hutch++"``: needs at
    least 3 products; ``A S`` for ``num_matvecs // 3`` probes gives an orthonormal basis ``Q`` whose part
    ``tr(Q^T A Q)`` is exact, and Hutchinson with the remaining products estimates the trace of the deflated
    ``(I - Q Q^T) A (I - Q Q^T)``.

    >>> from fungrad.optim.curvature.operator import MatrixOperator
    >>> trace(MatrixOperator(np.eye(3)), 4)
    3.0
    """
    n = A.square("trace").in_space.size
    rng = np.random.default_rng(seed)
    if method == "hutchinson":
        Z = rademacher(rng, (n, _positive(num_matvecs, "num_matvecs")))
        return float(np.mean(np.einsum("ij,ij->j", Z, A._matmat(Z))))
    if method != "hutch++":
        raise ValueError(f"method must be 'hutchinson' or 'hutch++', got {method!r}")
    m = _positive(num_matvecs, "num_matvecs (hutch++ needs at least 3)", 3)
    S = rademacher(rng, (n, m // 3))
    Q = np.linalg.qr(A._matmat(S))[0]
    exact = float(np.einsum("ij,ij->", Q, A._matmat(Q)))
    G = rademacher(rng, (n, m - 2 * (m // 3)))
    G -= Q @ (Q.T @ G)         # (I - Q Q^T) G: the probes' part outside the captured subspace
    return exact + float(np.mean(np.einsum("ij,ij->j", G, A._matmat(G))))


def diagonal(A: LinearOperator, num_samples: int, seed: int = 0) -> Any:
    """An unbiased estimate of ``diag(A)`` in the form of the params: the mean of ``z * (A z)``.

    >>> from fungrad.optim.curvature.operator import MatrixOperator
    >>> diagonal(MatrixOperator(np.diag([1.0, 2.0])), 1)
    array([1., 2.])
    """
    n = A.square("diagonal").in_space.size
    Z = rademacher(np.random.default_rng(seed), (n, _positive(num_samples, "num_samples")))
    return A.in_space.to_tree(np.mean(Z * A._matmat(Z), axis=1))
