"""Lanczos with full reorthogonalization: extreme eigenpairs (``eigsh``) and spectral densities (SLQ).

>>> from fungrad.optim.curvature.operator import MatrixOperator
>>> A = MatrixOperator(np.diag([1.0, 2.0, 3.0, 4.0]))
>>> eigsh(A, k=2)[0]
array([3., 4.])
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from fungrad.optim.curvature.estimators import rademacher
from fungrad.optim.curvature.operator import LinearOperator

__all__ = ["LanczosNoConvergence", "lanczos", "eigsh", "spectral_density"]

Tridiagonal = tuple[np.ndarray, np.ndarray]


class LanczosNoConvergence(RuntimeError):
    """``eigsh`` ran out of iterations; ``eigenvalues``/``eigenvectors`` hold the unconverged estimates.

    >>> from fungrad.optim.curvature.operator import MatrixOperator
    >>> try:
    ...     eigsh(MatrixOperator(np.diag(np.linspace(1.0, 2.0, 300))), k=2, maxiter=5)
    ... except LanczosNoConvergence as e:
    ...     print(e.eigenvalues.shape)
    (2,)
    """

    def __init__(self, message: str, eigenvalues: np.ndarray, eigenvectors: np.ndarray):
        super().__init__(message)
        self.eigenvalues, self.eigenvectors = eigenvalues, eigenvectors


def lanczos(matvec: Callable[[np.ndarray], np.ndarray], q0: np.ndarray, max_steps: int,
            rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(alphas, betas, Q)`` after each Lanczos step from ``q0``; ``Q`` holds the basis as rows.

    Every new vector is orthogonalized against the whole basis (full reorthogonalization, a second pass when
    the first cancels much), so the basis stays orthonormal to rounding. ``betas[j]`` couples step ``j`` to
    ``j + 1``. When the Krylov space becomes invariant, the iteration restarts from a random vector
    orthogonal to the basis if ``rng`` is given (that ``beta`` is then 0), and stops otherwise.

    >>> steps = list(lanczos(lambda v: np.array([2.0, 3.0]) * v, np.array([1.0, 1.0]), 2))
    >>> np.sort(np.linalg.eigvalsh(np.diag(steps[-1][0])
    ...         + np.diag(steps[-1][1][:1], 1) + np.diag(steps[-1][1][:1], -1)))
    array([2., 3.])
    """
    n = q0.size
    max_steps = min(max_steps, n)
    Q = np.zeros((max_steps, n))
    alphas, betas = np.zeros(max_steps), np.zeros(max_steps)
    q = q0 / np.linalg.norm(q0)
    scale = 0.0
    for j in range(max_steps):
        Q[j] = q
        w = matvec(q)
        alphas[j] = q @ w
        w -= alphas[j] * q + (betas[j - 1] * Q[j - 1] if j else 0.0)     # the three-term recurrence
        _reorthogonalize(w, Q[: j + 1])
        betas[j] = np.linalg.norm(w)
        scale = max(scale, abs(alphas[j]), betas[j])
        yield alphas[: j + 1], betas[: j + 1], Q[: j + 1]
        if j + 1 == max_steps:
            return
        if betas[j] > 1e-12 * max(scale, 1e-300):
            q = w / betas[j]
            continue
        if rng is None:
            return
        betas[j] = 0.0
        q = rng.standard_normal(n)
        _reorthogonalize(q, Q[: j + 1])
        q /= np.linalg.norm(q)


def _reorthogonalize(w: np.ndarray, Q: np.ndarray) -> None:
    """Remove from ``w`` (in place) its components along the orthonormal rows of ``Q``.

    Classical Gram-Schmidt, repeated once when the first pass cancelled most of ``w`` (the criterion of
    Daniel, Gragg, Kaufman and Stewart): each pass reads the whole basis twice, which is what a Lanczos step
    on a large model costs beyond its product, so the second pass runs only when it is needed.
    """
    before = np.linalg.norm(w)
    w -= Q.T @ (Q @ w)
    if np.linalg.norm(w) < 0.7 * before:
        w -= Q.T @ (Q @ w)


def _ritz(alphas: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of the tridiagonal matrix of a Lanczos run."""
    T = np.diag(alphas) + np.diag(betas[:-1], 1) + np.diag(betas[:-1], -1)
    return np.linalg.eigh(T)


def eigsh(A: LinearOperator, k: int = 6, which: str = "LA", seed: int = 0, maxiter: int | None = None,
          tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest (``which="LA"``) or smallest (``"SA"``) eigenpairs of a symmetric operator.

    Returns ``(eigenvalues, eigenvectors)`` as ``scipy.sparse.linalg.eigsh`` does: eigenvalues ascending,
    eigenvectors as the columns of an ``(n, k)`` array of flat vectors (``ravel_pytree`` order). Lanczos
    with full reorthogonalization from a Gaussian start vector drawn by ``numpy.random.default_rng(seed)``,
    run until every wanted Ritz pair has residual ``||A y - theta y|| <= tol * max|theta|`` (checked every few
    steps) or ``maxiter`` steps (default ``min(n, max(20 k, 100))``) have run; then it raises
    :class:`LanczosNoConvergence` carrying the estimates. Unlike SciPy, ``k = n`` is allowed.

    >>> from fungrad.optim.curvature.operator import MatrixOperator
    >>> vals, vecs = eigsh(MatrixOperator(np.diag([3.0, 1.0, 2.0])), k=1, which="SA")
    >>> vals, np.abs(vecs.ravel()).round(8)
    (array([1.]), array([0., 1., 0.]))
    """
    n = A.square("eigsh").in_space.size
    if which not in ("LA", "SA"):
        raise ValueError(f"which must be 'LA' (largest) or 'SA' (smallest), got {which!r}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the operator's size {n}, got {k}")
    maxiter = min(n, max(20 * k, 100)) if maxiter is None else min(max(int(maxiter), k), n)
    rng = np.random.default_rng(seed)
    m = 0
    for alphas, betas, Q in lanczos(A._matvec, rng.standard_normal(n), maxiter, rng):
        m = alphas.size
        if m < k or (m % 5 and m < maxiter):
            continue
        theta, S = _ritz(alphas, betas)
        wanted = slice(m - k, m) if which == "LA" else slice(0, k)
        residuals = np.abs(betas[-1] * S[-1, wanted])
        if np.all(residuals <= tol * max(np.abs(theta).max(), 1e-300)) or m == n:
            return theta[wanted], Q.T @ S[:, wanted]
    raise LanczosNoConvergence(f"eigsh: {k} eigenpairs not converged to tol={tol} in {m} Lanczos steps "
                               f"(largest residual {residuals.max():.3g}); raise maxiter or tol",
                               theta[wanted], Q.T @ S[:, wanted])


def spectral_density(A: LinearOperator, num_probes: int, num_steps: int, grid: np.ndarray, seed: int = 0,
                     sigma: float | None = None) -> np.ndarray:
    """The eigenvalue density of a symmetric operator on ``grid`` by stochastic Lanczos quadrature.

    Each of ``num_probes`` Rademacher probes runs ``num_steps`` Lanczos steps; the Ritz values are quadrature
    nodes weighted by the squared first components of their eigenvectors, and each node is smoothed by a
    Gaussian of width ``sigma`` (default: 1% of the grid's span). The density integrates to one over the
    real line, so a grid that covers the spectrum with room for ``sigma`` integrates to about one.
    Probes come from ``numpy.random.default_rng(seed)``.

    >>> from fungrad.optim.curvature.operator import MatrixOperator
    >>> grid = np.linspace(-1.0, 3.0, 401)
    >>> density = spectral_density(MatrixOperator(np.diag([0.0, 2.0])), 4, 2, grid, sigma=0.05)
    >>> round(float(np.trapezoid(density, grid)), 6), grid[np.argmax(density)] in (0.0, 2.0)
    (1.0, True)
    """
    n = A.square("spectral_density").in_space.size
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or grid.size < 2:
        raise ValueError("grid must be a 1-D array of at least two points")
    sigma = 0.01 * float(grid.max() - grid.min()) if sigma is None else float(sigma)
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    rng = np.random.default_rng(seed)
    density = np.zeros_like(grid)
    for _ in range(num_probes):
        probe = rademacher(rng, (n,))
        *_, (alphas, betas, _Q) = lanczos(A._matvec, probe, num_steps)
        theta, S = _ritz(alphas, betas)
        weights = S[0] ** 2
        density += weights @ np.exp(-0.5 * ((grid[None, :] - theta[:, None]) / sigma) ** 2)
    normalized: np.ndarray = density / (num_probes * sigma * np.sqrt(2.0 * np.pi))
    return normalized
