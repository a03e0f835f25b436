"""The linear algebra of MINPACK's Levenberg-Marquardt (Moré 1978), on NumPy arrays.

Three pieces, each a plain function of small dense arrays:

- :func:`enorm`: the Euclidean norm without overflow or underflow (a residual norm of 1e-170 or 1e170
  stays representable, as in MINPACK).
- :func:`qr_pivoted`: Householder QR of the Jacobian with MINPACK's column pivoting (at each stage the
  remaining column of largest norm), so that a rank-deficient Jacobian shows as trailing zeros on the
  diagonal of ``R``.
- :func:`lmpar`: the damping parameter ``par`` for which the step ``p`` solving
  ``min ||[J; sqrt(par) D] p + [f; 0]||`` has a scaled length ``||D p||`` within 10% of the trust radius
  (or ``par = 0`` when the Gauss-Newton step is already inside), found by Moré's safeguarded Newton
  iteration on ``1/||D p(par)||`` with the bounds ``parl <= par <= paru`` tightened at every pass.
  Each pass reduces the stacked matrix ``[R; sqrt(par) D P]`` to triangular form by Givens rotations
  in MINPACK's ``qrsolv`` order.

These are tiny problems (``n`` parameters, usually under a few dozen), so a NumPy loop over columns is
the right tool: see the module docstring of ``fungrad.optim.levenberg_marquardt`` for the measurement.

>>> J = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
>>> qr = qr_pivoted(J, np.array([1.0, 1.0, 1.0]))
>>> qr.perm          # the column of larger norm goes first
array([1, 0])
>>> par, p = lmpar(qr, np.ones(2), delta=10.0, par=0.0)
>>> par, p           # the Gauss-Newton step fits inside the region: no damping
(0.0, array([1. , 0.5]))
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

__all__ = ["PivotedQR", "enorm", "column_norms", "qr_pivoted", "lmpar", "damped_solve"]

Array = np.ndarray[Any, np.dtype[np.float64]]

DWARF = float(np.finfo(np.float64).tiny)


def enorm(x: Array) -> float:
    """``||x||_2`` computed after scaling by ``max |x|``, so it neither overflows nor underflows.

    >>> enorm(np.array([3e-200, 4e-200]))
    5e-200
    """
    scale = float(np.max(np.abs(x))) if x.size else 0.0
    if scale == 0.0 or not np.isfinite(scale):
        return scale
    return scale * float(np.sqrt(np.dot(x / scale, x / scale)))


def column_norms(a: Array) -> Array:
    """The Euclidean norm of every column of ``a``, scaled like :func:`enorm`.

    >>> column_norms(np.array([[3.0, 0.0], [4.0, 0.0]]))
    array([5., 0.])
    """
    scale = np.max(np.abs(a), axis=0) if a.shape[0] else np.zeros(a.shape[1])
    safe = np.where(scale > 0, scale, 1.0)
    norms: Array = scale * np.sqrt(np.sum((a / safe) ** 2, axis=0))
    return norms


class PivotedQR(NamedTuple):
    """``J[:, perm] = Q R`` with ``Q`` kept as Householder reflectors.

    ``r`` is ``n x n`` upper triangular, ``qtf`` the first ``n`` entries of ``Qᵀ f``, ``col_norms``
    the norms of the columns of ``J`` in their original order (MINPACK's ``acnorm``).
    """

    r: Array
    perm: np.ndarray[Any, np.dtype[np.intp]]
    qtf: Array
    col_norms: Array
    reflectors: tuple[tuple[int, Array], ...]

    def qt(self, v: Array) -> Array:
        """The first ``n`` entries of ``Qᵀ v``.

        >>> qr = qr_pivoted(np.array([[0.0], [2.0]]), np.zeros(2))
        >>> qr.qt(np.array([0.0, 3.0]))
        array([-3.])
        """
        v = np.array(v, dtype=np.float64)
        for j, u in self.reflectors:
            v[j:] -= u * (np.dot(u, v[j:]) / u[0])
        return v[: self.r.shape[0]]


def qr_pivoted(jac: Array, f: Array) -> PivotedQR:
    """Householder QR of ``jac`` (``m x n``, ``m >= n``) with column pivoting, and ``Qᵀ f``.

    At stage ``j`` the remaining column of largest norm (below row ``j``) is moved to position ``j``;
    a column whose remainder is zero leaves ``R[j, j] = 0``.

    >>> qr = qr_pivoted(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([1.0, 1.0]))
    >>> np.round(np.abs(qr.r), 12)       # rank one: the second diagonal entry is zero
    array([[1.41421356, 1.41421356],
           [0.        , 0.        ]])
    """
    a = np.array(jac, dtype=np.float64)
    b = np.array(f, dtype=np.float64)
    m, n = a.shape
    perm = np.arange(n)
    reflectors = []
    for j in range(n):
        k = j + int(np.argmax(column_norms(a[j:, j:])))
        if k != j:
            a[:, [j, k]] = a[:, [k, j]]
            perm[[j, k]] = perm[[k, j]]
        alpha = enorm(a[j:, j])
        if alpha == 0.0:
            continue
        if a[j, j] < 0:
            alpha = -alpha
        u = a[j:, j] / alpha
        u[0] += 1.0
        # The reflection I - u uᵀ / u[0] maps column j to (-alpha, 0, ..., 0).
        a[j:, j + 1:] -= np.outer(u, (u @ a[j:, j + 1:]) / u[0])
        b[j:] -= u * (np.dot(u, b[j:]) / u[0])
        a[j, j] = -alpha
        reflectors.append((j, u))
    return PivotedQR(np.triu(a[:n]), perm, b[:n], column_norms(np.asarray(jac, dtype=np.float64)),
                     tuple(reflectors))


def _solve_upper(r: Array, b: Array) -> Array:
    """Back substitution on the leading block of ``r`` before its first zero diagonal entry; the
    rest of the solution is zero (MINPACK's least-squares solution of a singular triangle)."""
    zero = np.flatnonzero(np.diagonal(r) == 0.0)
    k = int(zero[0]) if zero.size else r.shape[0]
    z = np.zeros_like(b)
    if k:
        z[:k] = np.linalg.solve(r[:k, :k], b[:k])
    return z


def damped_solve(qr: PivotedQR, diag: Array, par: float, rhs: Array) -> tuple[Array, Array]:
    """``x`` minimizing ``||[R; sqrt(par) D_perm] z - [rhs; 0]||`` in the original order, and the
    triangular factor ``S`` (``Sᵀ S = Rᵀ R + par D_perm²``; ``S = R`` when ``par == 0``).

    >>> qr = qr_pivoted(np.eye(2), np.zeros(2))
    >>> damped_solve(qr, np.ones(2), 3.0, np.array([4.0, 8.0]))[0]   # (1 + 3) x = Rᵀ rhs
    array([-1., -2.])
    """
    if par == 0.0:
        s, c = qr.r, rhs
    else:
        s, c = _eliminate_diagonal(qr.r, np.sqrt(par) * diag[qr.perm], rhs)
    x = np.empty(qr.r.shape[0])
    x[qr.perm] = _solve_upper(s, c)
    return x, s


def _eliminate_diagonal(r: Array, d: Array, rhs: Array) -> tuple[Array, Array]:
    """Triangularize ``[R; diag(d)]`` (and rotate ``[rhs; 0]`` alike) by Givens rotations, one row
    of ``diag(d)`` at a time against the rows of ``R``: MINPACK's ``qrsolv`` order.

    This order matters when ``R`` is nearly singular: a Householder QR of the stacked matrix (or an
    SVD) is backward stable too, but it loses the step's component along a near-null direction of
    ``R`` that this elimination keeps (Brown's almost-linear function, n = 30, depends on it). The
    loops run on Python floats: for the few parameters of a least-squares fit that is faster than
    NumPy calls on slices of a handful of entries.
    """
    n = r.shape[0]
    s = r.tolist()
    c = rhs.tolist()
    for j in range(n):
        if d[j] == 0.0:
            continue
        row = [0.0] * n
        row[j] = float(d[j])
        extra = 0.0
        for k in range(j, n):
            b = row[k]
            if b == 0.0:
                continue
            sk = s[k]
            a = sk[k]
            h = math.hypot(a, b)
            cos, sin = a / h, b / h
            sk[k] = h
            c[k], extra = cos * c[k] + sin * extra, cos * extra - sin * c[k]
            for i in range(k + 1, n):
                sk[i], row[i] = cos * sk[i] + sin * row[i], cos * row[i] - sin * sk[i]
    return np.array(s), np.array(c)


def _newton_denominator(s: Array, diag_perm: Array, dx_perm: Array, dxnorm: float) -> float:
    """``||S⁻ᵀ D_perm (D x)_perm / ||D x|| ||²``: minus the derivative of ``||D x(par)||`` over it."""
    w = np.linalg.solve(s.T, diag_perm * (dx_perm / dxnorm))
    return enorm(w) ** 2


def lmpar(qr: PivotedQR, diag: Array, delta: float, par: float) -> tuple[float, Array]:
    """The damping ``par`` and the step solving ``(JᵀJ + par D²) x = Jᵀ f`` (``J = Q R Pᵀ``) with
    ``||D x||`` within 10% of ``delta``, or ``par = 0`` if the Gauss-Newton ``x`` has ``||D x|| <= 1.1
    delta``. ``par`` on input is the previous value, the starting guess. The LM step is ``-x``.

    >>> qr = qr_pivoted(np.eye(2), np.array([3.0, 4.0]))
    >>> par, x = lmpar(qr, np.ones(2), delta=1.0, par=0.0)
    >>> round(par, 2), np.round(x, 2)     # x = f / (1 + par), shrunk to length ~1
    (4.0, array([0.6, 0.8]))
    """
    diag_perm = diag[qr.perm]
    x, _ = damped_solve(qr, diag, 0.0, qr.qtf)
    dx = diag * x
    dxnorm = enorm(dx)
    fp = dxnorm - delta
    if fp <= 0.1 * delta:
        return 0.0, x
    # Lower bound (zero when J is rank deficient), upper bound from the scaled gradient.
    parl = 0.0
    if np.all(np.diagonal(qr.r) != 0.0):
        parl = fp / delta / _newton_denominator(qr.r, diag_perm, dx[qr.perm], dxnorm)
    gnorm = enorm((qr.r.T @ qr.qtf) / diag_perm)
    paru = gnorm / delta
    if paru == 0.0:
        paru = DWARF / min(delta, 0.1)
    par = min(max(par, parl), paru)
    if par == 0.0:
        par = gnorm / dxnorm
    for iteration in range(1, 11):
        if par == 0.0:
            par = max(DWARF, 0.001 * paru)
        x, s = damped_solve(qr, diag, par, qr.qtf)
        dx = diag * x
        dxnorm = enorm(dx)
        previous, fp = fp, dxnorm - delta
        if abs(fp) <= 0.1 * delta or (parl == 0.0 and fp <= previous < 0.0) or iteration == 10:
            break
        parc = fp / delta / _newton_denominator(s, diag_perm, dx[qr.perm], dxnorm)
        if fp > 0.0:
            parl = max(parl, par)
        elif fp < 0.0:
            paru = min(paru, par)
        par = max(parl, par + parc)
    return par, x
