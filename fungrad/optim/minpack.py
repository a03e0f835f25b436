"""The linear algebra of MINPACK's Levenberg-Marquardt (Moré 1978), on NumPy arrays.

Three pieces, each a plain function of small dense arrays:

- :func:`enorm`: the Euclidean norm without overflow or underflow (a residual norm of 1e-170 or 1e170
  stays representable, as in MINPACK).
- :func:`qr_pivoted`: Householder QR of the Jacobian with MINPACK's column pivoting (at each stage the
  remaining column of largest norm), so that a rank-deficient Jacobian shows as trailing zeros on the
  diagonal of ``R``.
- :func:`lmpar`: the damping parameter ``par`` for which the step ``p`` solving
  ``min ||[J; sqrt(par) D] p + [f; 0]||`` has a scaled length ``||D p||`` within 2% of the trust radius
  (or ``par = 0`` when the Gauss-Newton step is no longer than 1.1 times the radius), found by Moré's
  safeguarded Newton iteration on ``1/||D p(par)||`` with the bounds ``parl <= par <= paru``
  tightened at every pass (at most 10 passes, as in MINPACK). Each pass reduces the stacked matrix
  ``[R; sqrt(par) D P]`` to triangular form by Givens rotations in MINPACK's ``qrsolv`` order.
  :class:`LMSubproblem` is ``lmpar`` for one factorization asked for several radii (the trial steps
  on one Jacobian), with what does not depend on the radius computed once.

The 2% is :data:`LMPAR_RTOL`; MINPACK stops at 10%. Moré (1978) leaves the choice open (any
tolerance gives his convergence theory); a tighter one costs an extra Newton pass now and then on the
``n x n`` triangle, no evaluations. Measured with MINPACK's driver settings on the 53
Moré-Garbow-Hillstrom runs (``tests/test_mgh.py``): at 10% our iteration follows MINPACK's path
evaluation for evaluation on 47 runs and, like MINPACK, exhausts its 400 evaluations on Meyer's
function from 10x the standard start, crawling along the valley to a residual norm near 800 (MINPACK
794.6; the minimum is 9.378); at 2% Meyer from 10x reaches the minimum in 213 evaluations, no run
ends worse, and the 53 runs take 2,173 evaluations instead of 2,520 (MINPACK 2,524). Any tolerance
from 5% to 0.1% does the same (2,143 to 2,380 evaluations). On the NIST problems (defaults) 2% needs
1,010 evaluations instead of 1,133 and certifies all 32 runs either way; the median run takes 9
evaluations at every tolerance tried.

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

import functools
import math
import operator
from typing import Any, NamedTuple

import numpy as np

__all__ = ["PivotedQR", "enorm", "column_norms", "qr_pivoted", "lmpar", "LMSubproblem", "damped_solve",
           "LMPAR_RTOL"]

Array = np.ndarray[Any, np.dtype[np.float64]]

DWARF = float(np.finfo(np.float64).tiny)
EPS = float(np.finfo(np.float64).eps)
LMPAR_RTOL = 0.02  # lmpar: ||D p|| within this fraction of delta (MINPACK: 0.1); see above
_LMPAR_PASSES = 10
_SHORT = 100      # enorm: up to this length math.hypot on Python floats is the faster
_HUGE = float(np.finfo(np.float64).max) / 4    # column_norms: sums of squares safe below this
_TINY = DWARF / EPS                            # ... and above this (no gradual underflow)
# NumPy's in-place QR ufunc behind numpy.linalg.qr(mode="raw") (see _lapack_qr), if it has one.
_QR_IN_PLACE: Any = getattr(getattr(np.linalg, "_umath_linalg", None), "qr_r_raw", None)


def enorm(x: Array) -> float:
    """``||x||_2`` without overflow or underflow (``math.hypot`` for short vectors, else computed
    after scaling by ``max |x|``).

    >>> enorm(np.array([3e-200, 4e-200]))
    5e-200
    """
    if x.size <= _SHORT:
        return math.hypot(*x.tolist())
    scale = float(abs(x).max())
    if scale == 0.0 or not math.isfinite(scale):
        return scale
    y = x / scale
    return scale * math.sqrt(float(y.dot(y)))


def column_norms(a: Array) -> Array:
    """The Euclidean norm of every column of ``a``, without overflow or underflow (like
    :func:`enorm`).

    >>> column_norms(np.array([[3.0, 0.0], [4.0, 0.0]]))
    array([5., 0.])
    >>> column_norms(np.array([[3e-200], [4e-200]]))
    array([5.e-200])
    """
    squares = np.einsum("ij,ij->j", a, a)
    # The sums of squares are exact to rounding unless one overflowed or underflowed below the
    # normal range: only then scale by the largest entry first (an all-zero column goes that way).
    listed = squares.tolist()
    if listed and min(listed) >= _TINY and max(listed) < _HUGE:
        norms: Array = np.sqrt(squares)
        return norms
    scale = np.max(np.abs(a), axis=0) if a.shape[0] else np.zeros(a.shape[1])
    safe = np.where(scale > 0, scale, 1.0)
    scaled: Array = scale * np.sqrt(np.sum((a / safe) ** 2, axis=0))
    return scaled


class PivotedQR(NamedTuple):
    """``J[:, perm] = Q R`` with ``Q = Q0 Q1``: ``Q0`` from LAPACK's QR of ``J`` (kept as the
    ``m x n`` matrix ``outer`` only when asked for), ``Q1`` as the Householder reflectors of the
    pivoted QR of the small triangle.

    ``r`` is ``n x n`` upper triangular, ``qtf`` the first ``n`` entries of ``Qᵀ f``, ``col_norms``
    the norms of the columns of ``J`` in their original order (MINPACK's ``acnorm``).
    """

    r: Array
    perm: np.ndarray[Any, np.dtype[np.intp]]
    qtf: Array
    col_norms: Array
    reflectors: tuple[tuple[int, Array], ...]
    outer: Array | None = None

    def qt(self, v: Array) -> Array:
        """The first ``n`` entries of ``Qᵀ v`` (needs ``qr_pivoted(..., keep_q=True)``).

        >>> qr = qr_pivoted(np.array([[0.0], [2.0]]), np.zeros(2), keep_q=True)
        >>> np.abs(qr.qt(np.array([0.0, 3.0])))
        array([3.])
        """
        if self.outer is None:
            raise ValueError("PivotedQR.qt needs Q: factor with qr_pivoted(jac, f, keep_q=True)")
        return _reflect(self.reflectors, self.outer.T @ np.asarray(v, dtype=np.float64))

    def q(self) -> Array:
        """The ``m x n`` orthonormal factor (needs ``keep_q=True``), for checks.

        >>> qr = qr_pivoted(np.array([[3.0], [4.0]]), np.zeros(2), keep_q=True)
        >>> np.allclose(qr.q() @ qr.r, [[3.0], [4.0]])
        True
        """
        if self.outer is None:
            raise ValueError("PivotedQR.q needs Q: factor with qr_pivoted(jac, f, keep_q=True)")
        q1 = np.eye(self.r.shape[0])
        for j, u in reversed(self.reflectors):
            q1[j:] -= np.outer(u, (u @ q1[j:]) / u[0])
        return self.outer @ q1


def _reflect(reflectors: tuple[tuple[int, Array], ...], v: Array) -> Array:
    """``Q1ᵀ v`` for ``Q1`` given as Householder reflectors ``I - u uᵀ / u[0]`` on rows ``j:``."""
    v = np.array(v, dtype=np.float64)
    for j, u in reflectors:
        v[j:] -= u * (np.dot(u, v[j:]) / u[0])
    return v


def qr_pivoted(jac: Array, f: Array, keep_q: bool = False,
               order: np.ndarray[Any, np.dtype[np.intp]] | None = None,
               col_norms: Array | None = None) -> PivotedQR:
    """QR of ``jac`` (``m x n``, ``m >= n``) with MINPACK's column pivoting, and ``Qᵀ f``.

    At stage ``j`` the remaining column of largest norm (below row ``j``) is moved to position ``j``;
    a column whose remainder is zero leaves ``R[j, j] = 0``. The tall factorization is LAPACK's
    (``numpy.linalg.qr`` of ``[J | f]``, ``J = Q0 R0``); the pivoting then runs on the ``n x n``
    triangle ``R0``. Both choose the same pivots in exact arithmetic: the remaining norm of a column
    (its distance to the span of the columns already chosen) does not change under the orthogonal
    ``Q0ᵀ``. So the pivot order and ``R`` are MINPACK's up to rounding, at the cost of one LAPACK
    call on the tall matrix and a Householder loop on ``n x n`` only.

    ``order`` is a guess of the pivot order (the previous iteration's: it rarely changes from one
    Jacobian to the next). LAPACK then factors ``J[:, order]``; if MINPACK's rule, applied to that
    triangle, keeps every column where it is (each diagonal entry strictly the largest remaining
    norm at its stage), the triangle is the answer and no Householder loop runs. Otherwise the
    guess is dropped and ``J`` is factored as without it, so the pivots never depend on the guess.
    ``col_norms`` is ``column_norms(jac)`` when the caller has it already.

    >>> qr = qr_pivoted(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([1.0, 1.0]))
    >>> np.round(np.abs(qr.r), 12)       # rank one: the second diagonal entry is zero
    array([[1.41421356, 1.41421356],
           [0.        , 0.        ]])
    """
    a = np.asarray(jac, dtype=np.float64)
    m, n = a.shape
    if m < n:
        raise ValueError(f"qr_pivoted: needs at least as many rows as columns, got {m} x {n}")
    if col_norms is None:
        col_norms = column_norms(a)
    outer = None
    if order is not None and not keep_q:
        h = _lapack_qr(a[:, order], f)
        top = h[:n, :n]
        if _keeps_order(top.tolist()):
            r: Array = top.T * _upper_mask(n)
            return PivotedQR(r, np.asarray(order), h[n, :n].copy(), col_norms, ())
    if keep_q:
        outer, r0 = np.linalg.qr(a)
        qtf = outer.T @ np.asarray(f, dtype=np.float64)
        r, perm, qtf, reflectors = _pivoted_householder(r0.T, qtf, col_norms, keep_q)
    else:
        h = _lapack_qr(a, f)
        r, perm, qtf, reflectors = _pivoted_householder(h[:n], h[n, :n], col_norms, keep_q)
    return PivotedQR(r, perm, qtf, col_norms, reflectors, outer)


def _lapack_qr(a: Array, f: Array) -> Array:
    """LAPACK's Householder QR of ``[a | f]``, as ``numpy.linalg.qr``'s ``mode="raw"`` gives it:
    transposed, so row ``j`` up to the diagonal is column ``j`` of the triangle (and row ``n``
    holds ``Qᵀ f``), without NumPy's copy into a triangle.

    ``numpy.linalg.qr`` is a thin wrapper around a NumPy ufunc that factors its (fresh, float64)
    argument in place; on the few-parameter Jacobians of a fit the wrapper's checks and copies cost
    twice the factorization (5.1 against 2.1 us at 11 x 5), so the ufunc is called directly where
    this NumPy has it. Its input is finite here (the iteration checks the Jacobian and keeps only
    finite residuals), the one case where the wrapper's error handling would have a say."""
    m, n = a.shape
    stacked = np.empty((m, n + 1))
    stacked[:, :n] = a
    stacked[:, n] = f
    if _QR_IN_PLACE is None:
        h: Array = np.linalg.qr(stacked, mode="raw")[0]
        return h
    _QR_IN_PLACE(stacked, signature="d->d")
    transposed: Array = stacked.T
    return transposed


@functools.lru_cache(maxsize=64)
def _upper_mask(n: int) -> Array:
    """``1.0`` on and above the diagonal of an ``n x n`` matrix, ``0.0`` below."""
    mask: Array = np.triu(np.ones((n, n)))
    mask.flags.writeable = False
    return mask


def _keeps_order(columns: list[list[float]]) -> bool:
    """Whether MINPACK's pivoting leaves the upper triangle with these ``columns`` (``columns[j]``
    up to index ``j`` is column ``j``) as it is: at every stage ``j`` the norm of column ``j`` below
    row ``j`` strictly exceeds that of every later column. On Python floats (``n`` is small)."""
    pivots = [column[j] * column[j] for j, column in enumerate(columns)]
    for k, column in enumerate(columns):
        below = pivots[k]                    # column k's squared norm in rows j..k
        for j in range(k - 1, -1, -1):
            below += column[j] * column[j]
            if not below < pivots[j]:
                return False
    return True


def _pivoted_householder(columns: Array, b: Array, col_norms: Array, keep_reflectors: bool
                         ) -> tuple[Array, np.ndarray[Any, np.dtype[np.intp]], Array,
                                    tuple[tuple[int, Array], ...]]:
    """MINPACK's pivoted Householder QR of an upper triangular ``n x n`` matrix given by its
    ``columns`` (row ``j`` of ``columns`` is column ``j``; only its entries up to the diagonal,
    ``columns[j, :j + 1]``, are read), applied to ``b`` too; ``col_norms`` are the starting column
    norms (those of ``J``, equal to the triangle's in exact arithmetic). Returns
    ``(R, perm, Q1ᵀ b, reflectors)`` (no reflectors unless ``keep_reflectors``).

    The loops run on Python floats, column by column: at ``n x n`` with ``n`` a handful of
    parameters that is several times faster than NumPy calls on slices of a few entries.
    """
    n = columns.shape[0]
    cols = [c[:j + 1] + [0.0] * (n - 1 - j) for j, c in enumerate(columns[:, :n].tolist())]
    cols.append(b.tolist())          # reflected like the columns, never chosen
    perm = list(range(n))
    # The remaining columns' norms below row j, downdated after each reflection as MINPACK does,
    # and recomputed when the downdate has cancelled most of the digits.
    remaining = col_norms.tolist()
    reference = list(remaining)
    reflectors = []
    for j in range(n):
        k = max(range(j, n), key=remaining.__getitem__)
        if k != j:
            for v in (cols, perm, remaining, reference):
                v[j], v[k] = v[k], v[j]
        tail = cols[j][j:]
        alpha = math.hypot(*tail)
        if alpha == 0.0:
            continue
        if tail[0] < 0:
            alpha = -alpha
        if keep_reflectors or any(tail[1:]):
            # The reflection I - u uᵀ / u[0] maps column j to (-alpha, 0, ..., 0).
            u = [v / alpha for v in tail]
            u[0] += 1.0
            u0 = u[0]
            for c in cols[j + 1:]:
                ct = c[j:]
                s = sum(map(operator.mul, u, ct)) / u0
                c[j:] = [ci - s * ui for ui, ci in zip(u, ct)]
            cols[j][j + 1:] = [0.0] * (n - j - 1)
            if keep_reflectors:
                reflectors.append((j, np.array(u)))
        else:
            # Nothing below the diagonal: that reflection is exactly a change of sign of row j.
            for c in cols[j + 1:]:
                c[j] = -c[j]
        cols[j][j] = -alpha
        for k in range(j + 1, n):
            if remaining[k] == 0.0:
                continue
            ratio = cols[k][j] / remaining[k]
            remaining[k] *= math.sqrt(max(0.0, 1.0 - ratio * ratio))
            if 0.05 * (remaining[k] / reference[k]) ** 2 <= EPS:
                remaining[k] = reference[k] = math.hypot(*cols[k][j + 1:])
    rhs = cols.pop()
    return np.array(cols).T, np.array(perm), np.array(rhs), tuple(reflectors)


Rows = list[list[float]]


def _solve_upper(s: Rows, c: list[float]) -> list[float]:
    """Back substitution on the leading block of ``s`` before its first zero diagonal entry; the
    rest of the solution is zero (MINPACK's least-squares solution of a singular triangle)."""
    n = len(c)
    k = n
    for i in range(n):
        if s[i][i] == 0.0:
            k = i
            break
    z = [0.0] * n
    for i in range(k - 1, -1, -1):
        row = s[i]
        z[i] = (c[i] - sum(map(operator.mul, row[i + 1:k], z[i + 1:k]))) / row[i]
    return z


def _damped(r: Rows, diag_perm: list[float], par: float, rhs: list[float]
            ) -> tuple[list[float], Rows]:
    """:func:`damped_solve` in the pivoted order, on Python floats: ``(z, S)``."""
    if par == 0.0:
        return _solve_upper(r, rhs), r
    root = math.sqrt(par)
    s, c = _eliminate_diagonal(r, [root * d for d in diag_perm], rhs)
    return _solve_upper(s, c), s


def _unpermute(z: list[float], perm: np.ndarray[Any, np.dtype[np.intp]]) -> Array:
    x = np.empty(len(z))
    x[perm] = z
    return x


def damped_solve(qr: PivotedQR, diag: Array, par: float, rhs: Array) -> tuple[Array, Array]:
    """``x`` minimizing ``||[R; sqrt(par) D_perm] z - [rhs; 0]||`` in the original order, and the
    triangular factor ``S`` (``Sᵀ S = Rᵀ R + par D_perm²``; ``S = R`` when ``par == 0``).

    >>> qr = qr_pivoted(np.eye(2), np.zeros(2))
    >>> damped_solve(qr, np.ones(2), 3.0, np.array([4.0, 8.0]))[0]   # (1 + 3) x = Rᵀ rhs
    array([-1., -2.])
    """
    z, s = _damped(qr.r.tolist(), diag[qr.perm].tolist(), par, np.asarray(rhs).tolist())
    return _unpermute(z, qr.perm), np.array(s)


def _eliminate_diagonal(r: Rows, d: list[float], rhs: list[float]) -> tuple[Rows, list[float]]:
    """Triangularize ``[R; diag(d)]`` (and rotate ``[rhs; 0]`` alike) by Givens rotations, one row
    of ``diag(d)`` at a time against the rows of ``R``: MINPACK's ``qrsolv`` order.

    This order matters when ``R`` is nearly singular: a Householder QR of the stacked matrix (or an
    SVD) is backward stable too, but it loses the step's component along a near-null direction of
    ``R`` that this elimination keeps (Brown's almost-linear function, n = 30, depends on it). The
    loops run on Python floats: for the few parameters of a least-squares fit that is faster than
    NumPy calls on slices of a handful of entries.
    """
    n = len(r)
    s = [row[:] for row in r]
    c = list(rhs)
    for j in range(n):
        if d[j] == 0.0:
            continue
        row = [0.0] * n
        row[j] = d[j]
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
    return s, c


def _newton_denominator(s: Rows, diag_perm: list[float], dx_perm: list[float],
                        dxnorm: float) -> float:
    """``||S⁻ᵀ D_perm (D x)_perm / ||D x|| ||²``: minus the derivative of ``||D x(par)||`` over it."""
    w = [d * (v / dxnorm) for d, v in zip(diag_perm, dx_perm)]
    for j, column in enumerate(zip(*s)):     # column j of S: s[i][j] for i < j, then s[j][j]
        w[j] = (w[j] - sum(map(operator.mul, column[:j], w))) / column[j]
    return math.hypot(*w) ** 2


class LMSubproblem:
    """:func:`lmpar` for one factorization and one scaling ``diag``, as the iteration asks it: once
    per trial step, with another radius each time, on the same Jacobian until a step is accepted.
    What does not depend on the radius is computed once, here: ``R``, ``Qᵀ f`` and ``D`` in the
    pivoted order as Python floats, the Gauss-Newton step and its scaled length, and ``gradient``,
    ``Rᵀ Qᵀ f = (Jᵀ f)[perm]`` (also MINPACK's ``gnorm`` test's, see ``scaled_gradient_norm``).

    >>> sub = LMSubproblem(qr_pivoted(np.eye(2), np.array([3.0, 4.0])), np.ones(2))
    >>> par, x, dxnorm = sub.step(delta=1.0, par=0.0)
    >>> round(par, 2), np.round(x, 2), round(dxnorm, 2)     # as lmpar
    (4.0, array([0.6, 0.8]), 1.0)
    >>> sub.scaled_gradient_norm(5.0)       # the cosines of f = (3, 4) with the columns of I
    0.8
    """

    def __init__(self, qr: PivotedQR, diag: Array) -> None:
        self.perm = qr.perm
        self.r = r = qr.r.tolist()
        self.qtf = qtf = qr.qtf.tolist()
        self.dp = dp = diag[qr.perm].tolist()
        self.col_norms = qr.col_norms[qr.perm].tolist()
        self.gradient = [sum(map(operator.mul, column[:j + 1], qtf))
                         for j, column in enumerate(zip(*r))]
        # Everything runs in the pivoted order; ||D x|| does not depend on the order.
        self.gauss_newton = z = _solve_upper(r, qtf)
        self.gauss_newton_dx = [d * v for d, v in zip(dp, z)]
        self.gauss_newton_norm = math.hypot(*self.gauss_newton_dx)
        self.gnorm = math.hypot(*map(operator.truediv, self.gradient, dp))
        self._denominator: float | None = None    # of the lower bound; see _lower_bound

    def scaled_gradient_norm(self, fnorm: float) -> float:
        """MINPACK's ``gnorm``: the largest cosine between ``f`` and a column of ``J`` (``0`` when
        ``f`` is zero; a zero column is skipped)."""
        if fnorm == 0.0:
            return 0.0
        return max((abs(g / fnorm / c) for g, c in zip(self.gradient, self.col_norms) if c != 0.0),
                   default=0.0)

    def _lower_bound(self, fp: float, delta: float) -> float:
        """Moré's lower bound on ``par`` (zero when ``R`` is singular)."""
        if self._denominator is None:
            r = self.r
            self._denominator = 0.0
            if all(r[i][i] != 0.0 for i in range(len(r))):
                self._denominator = _newton_denominator(r, self.dp, self.gauss_newton_dx,
                                                        self.gauss_newton_norm)
        return fp / delta / self._denominator if self._denominator else 0.0

    def step(self, delta: float, par: float, rtol: float | None = None
             ) -> tuple[float, Array, float]:
        """``(par, x, ||D x||)``: :func:`lmpar`'s damping and step, and the step's scaled length."""
        dxnorm = self.gauss_newton_norm
        fp = dxnorm - delta
        if fp <= 0.1 * delta:
            return 0.0, _unpermute(self.gauss_newton, self.perm), dxnorm
        r, qtf, dp = self.r, self.qtf, self.dp
        parl = self._lower_bound(fp, delta)
        gnorm = self.gnorm
        paru = gnorm / delta
        if paru == 0.0:
            paru = DWARF / min(delta, 0.1)
        par = min(max(par, parl), paru)
        if par == 0.0:
            par = gnorm / dxnorm
        tolerance = (LMPAR_RTOL if rtol is None else rtol) * delta
        for iteration in range(1, _LMPAR_PASSES + 1):
            if par == 0.0:
                par = max(DWARF, 0.001 * paru)
            z, s = _damped(r, dp, par, qtf)
            dx = [d * v for d, v in zip(dp, z)]
            dxnorm = math.hypot(*dx)
            previous, fp = fp, dxnorm - delta
            if abs(fp) <= tolerance or (parl == 0.0 and fp <= previous < 0.0) \
                    or iteration == _LMPAR_PASSES:
                break
            parc = fp / delta / _newton_denominator(s, dp, dx, dxnorm)
            if fp > 0.0:
                parl = max(parl, par)
            elif fp < 0.0:
                paru = min(paru, par)
            par = max(parl, par + parc)
        return par, _unpermute(z, self.perm), dxnorm


def lmpar(qr: PivotedQR, diag: Array, delta: float, par: float,
          rtol: float | None = None) -> tuple[float, Array]:
    """The damping ``par`` and the step solving ``(JᵀJ + par D²) x = Jᵀ f`` (``J = Q R Pᵀ``) with
    ``||D x||`` within ``rtol`` of ``delta`` (default :data:`LMPAR_RTOL`, 2%; MINPACK's is 10%), or
    ``par = 0`` if the Gauss-Newton ``x`` has ``||D x|| <= 1.1 delta``, as in MINPACK. At most 10
    Newton passes, as in MINPACK. ``par`` on input is the previous value, the starting guess. The LM
    step is ``-x``. (:class:`LMSubproblem` answers it for several radii on one factorization.)

    >>> qr = qr_pivoted(np.eye(2), np.array([3.0, 4.0]))
    >>> par, x = lmpar(qr, np.ones(2), delta=1.0, par=0.0)
    >>> round(par, 2), np.round(x, 2)     # x = f / (1 + par), shrunk to length ~1
    (4.0, array([0.6, 0.8]))
    """
    par, x, _ = LMSubproblem(qr, diag).step(delta, par, rtol)
    return par, x
