"""MINPACK's linear algebra (``fungrad.optim.minpack``) and the exact-Hessian trust step, against
closed forms, brute force and the properties that define them."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from fungrad.optim.hessian_step import hessian_trust_step
from fungrad.optim import minpack
from fungrad.optim.minpack import (LMPAR_RTOL, LMSubproblem, PivotedQR, column_norms, damped_solve,
                                   enorm, lmpar, qr_pivoted)


@st.composite
def matrices(draw, rank_deficient=False):
    n = draw(st.integers(1, 6))
    m = draw(st.integers(n, 9))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n)) * np.exp(rng.uniform(-3, 3, n))
    if rank_deficient and n > 1:
        a[:, -1] = a[:, 0] * 2.0      # an exactly dependent column
    return a, rng.standard_normal(m)


@pytest.mark.parametrize("x, want", [
    (np.array([3e-200, 4e-200]), 5e-200),               # squares would underflow
    (np.array([3e200, -4e200]), 5e200),                 # squares would overflow
    (np.array([1.0, 2.0, 2.0]), 3.0),
    (np.zeros(3), 0.0),
    (np.zeros(0), 0.0),
])
def test_enorm_no_overflow_or_underflow(x, want):
    assert enorm(x) == pytest.approx(want, rel=1e-15)
    assert column_norms(x[:, None])[0] == pytest.approx(want, rel=1e-15)


@given(matrices())
def test_qr_pivoted_factors_the_permuted_jacobian(case):
    a, f = case
    m, n = a.shape
    qr = qr_pivoted(a, f, keep_q=True)
    q = qr.q()
    np.testing.assert_allclose(q.T @ q, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(q @ qr.r, a[:, qr.perm], atol=1e-12 * np.abs(a).max())
    assert np.array_equal(qr.r, np.triu(qr.r))
    np.testing.assert_allclose(qr.qtf, q.T @ f, atol=1e-12 * np.abs(f).max())
    np.testing.assert_allclose(qr.qt(f), qr.qtf, atol=1e-12 * np.abs(f).max())
    np.testing.assert_allclose(qr.col_norms, np.linalg.norm(a, axis=0))
    # Pivoting: each diagonal entry is the largest remaining column norm, so they do not increase.
    d = np.abs(np.diagonal(qr.r))
    assert np.all(d[1:] <= d[:-1] * (1 + 1e-12))
    assert sorted(qr.perm.tolist()) == list(range(n))
    # Without Q (the solver's path: LAPACK's QR of [J | f]) the same factorization up to signs.
    fast = qr_pivoted(a, f)
    assert np.array_equal(fast.perm, qr.perm)
    signs = np.sign(np.diagonal(fast.r)) * np.sign(np.diagonal(qr.r))
    signs[signs == 0] = 1.0
    scale = np.abs(a).max()
    np.testing.assert_allclose(fast.r, signs[:, None] * qr.r, atol=1e-12 * scale)
    np.testing.assert_allclose(fast.qtf, signs * qr.qtf, atol=1e-12 * np.abs(f).max())
    with pytest.raises(ValueError, match="keep_q=True"):
        fast.qt(f)


def _greedy_pivots(a):
    """MINPACK's pivot rule by brute force: at each stage the column farthest from the span of
    the columns already chosen (the remaining norm), with that distance."""
    chosen, dists = [], []
    for _ in range(a.shape[1]):
        basis = a[:, chosen]
        rest = [k for k in range(a.shape[1]) if k not in chosen]
        dist = [np.linalg.norm(a[:, k] - basis @ np.linalg.lstsq(basis, a[:, k], rcond=None)[0])
                if chosen else np.linalg.norm(a[:, k]) for k in rest]
        order = np.argsort(dist)[::-1]
        chosen.append(rest[order[0]])
        dists.append(sorted(dist, reverse=True))
    return chosen, dists


@given(matrices())
def test_qr_pivoted_chooses_minpacks_pivots(case):
    """Pivoting on LAPACK's triangle picks the columns MINPACK's pivoting of J picks (compared
    where the two largest remaining norms are not within rounding of each other)."""
    a, f = case
    qr = qr_pivoted(a, f)
    chosen, dists = _greedy_pivots(a)
    for j, d in enumerate(dists):
        if len(d) > 1 and d[0] - d[1] <= 1e-8 * d[0]:
            break                                   # a near tie: either choice is MINPACK's
        assert qr.perm[j] == chosen[j]
        assert abs(qr.r[j, j]) == pytest.approx(d[0], rel=1e-8, abs=1e-12 * np.abs(a).max())


@given(matrices(), st.randoms(use_true_random=False))
def test_qr_pivoted_with_an_order_guess_gives_the_same_factorization(case, rng):
    """The previous pivot order as a guess: right or wrong, the pivots are MINPACK's and ``R`` and
    ``Qᵀ f`` agree up to the signs of rows."""
    a, f = case
    n = a.shape[1]
    plain = qr_pivoted(a, f)
    _, dists = _greedy_pivots(a)
    assume(all(d[0] - d[1] > 1e-8 * d[0] for d in dists if len(d) > 1))   # no near ties
    guesses = [plain.perm, np.array(rng.sample(range(n), n))]
    for guess in guesses:
        qr = qr_pivoted(a, f, order=guess)
        assert np.array_equal(qr.perm, plain.perm)
        signs = np.sign(np.diagonal(qr.r)) * np.sign(np.diagonal(plain.r))
        np.testing.assert_allclose(qr.r, signs[:, None] * plain.r, atol=1e-12 * np.abs(a).max())
        np.testing.assert_allclose(qr.qtf, signs * plain.qtf, atol=1e-12 * np.abs(f).max())
        assert np.array_equal(qr.col_norms, plain.col_norms)
        # the column norms handed over (the iteration computes them first) change nothing
        given_norms = qr_pivoted(a, f, order=guess, col_norms=column_norms(a))
        for got, want in zip(given_norms[:4], qr[:4]):
            assert np.array_equal(got, want)


@given(matrices(rank_deficient=True), st.booleans())
def test_qr_pivoted_same_without_numpys_in_place_qr(case, guess):
    """``_lapack_qr`` calls NumPy's QR ufunc directly where NumPy has it: bit for bit what
    ``numpy.linalg.qr(mode="raw")`` gives, with and without an order guess."""
    a, f = case
    order = np.arange(a.shape[1])[::-1] if guess else None
    direct = qr_pivoted(a, f, order=order)
    saved, minpack._QR_IN_PLACE = minpack._QR_IN_PLACE, None
    try:
        wrapped = qr_pivoted(a, f, order=order)
    finally:
        minpack._QR_IN_PLACE = saved
    for x, y in zip(direct, wrapped):
        assert np.array_equal(np.asarray(x), np.asarray(y))


def test_numpy_has_the_in_place_qr():
    """Else ``qr_pivoted`` works but slower (NumPy >= 1.22 has it)."""
    assert callable(minpack._QR_IN_PLACE)


def test_qr_pivoted_shows_rank_deficiency_as_a_zero_diagonal():
    a = np.array([[1.0, 2.0, 0.0], [1.0, 2.0, 0.0], [1.0, 2.0, 1e-3], [0.0, 0.0, 0.0]])
    qr = qr_pivoted(a, np.ones(4))
    assert qr.perm[0] == 1                          # the column of largest norm first
    assert abs(qr.r[2, 2]) < 1e-15                  # column 0 is a multiple of column 1
    assert abs(qr.r[1, 1]) == pytest.approx(1e-3 * math.sqrt(2.0 / 3.0), rel=1e-12)


@given(matrices(), st.floats(1e-6, 1e3))
def test_damped_solve_solves_the_regularized_normal_equations(case, par):
    a, f = case
    qr = qr_pivoted(a, f)
    diag = np.linalg.norm(a, axis=0) + 0.5
    x, s = damped_solve(qr, diag, par, qr.qtf)
    lhs = a.T @ a + par * np.diag(diag ** 2)
    np.testing.assert_allclose(lhs @ x, a.T @ f, rtol=1e-9, atol=1e-9 * np.abs(a.T @ f).max())
    # S is triangular with Sᵀ S = Rᵀ R + par D², in the pivoted order.
    dp = diag[qr.perm]
    np.testing.assert_allclose(s.T @ s, qr.r.T @ qr.r + par * np.diag(dp ** 2),
                               rtol=1e-10, atol=1e-10 * (lhs.max()))


def _exact_damped(r, d, q):
    """(RᵀR + diag(d)²)⁻¹ Rᵀ q in rational arithmetic."""
    n = len(q)
    a = [[Fraction(float(v)) for v in row] for row in r]
    m = [[sum(a[k][i] * a[k][j] for k in range(n)) + (Fraction(float(d[i])) ** 2 if i == j else 0)
          for j in range(n)] + [sum(a[k][i] * Fraction(float(q[k])) for k in range(n))]
         for i in range(n)]
    for c in range(n):
        for row in m[c + 1:]:
            f = row[c] / m[c][c]
            row[:] = [x - f * y for x, y in zip(row, m[c])]
    x = [Fraction(0)] * n
    for i in reversed(range(n)):
        x[i] = (m[i][n] - sum(m[i][k] * x[k] for k in range(i + 1, n))) / m[i][i]
    return np.array([float(v) for v in x])


@pytest.mark.parametrize("seed", range(3))
def test_damped_solve_keeps_the_near_null_component(seed):
    """R with O(1) entries and R[-1, -1] = 1e-30, damping d = 1e-17: the exact solution has a large
    component along the near-null direction. MINPACK's Givens order gets it to rounding; a
    Householder QR (or an SVD) of the stacked matrix is off by about 1e-3 (this is Brown's
    almost-linear function at n = 30 in miniature)."""
    rng = np.random.default_rng(seed)
    r = np.triu(rng.standard_normal((3, 3)))
    r[-1, -1] = 1e-30
    q = rng.standard_normal(3)
    qr = PivotedQR(r, np.arange(3), q, np.ones(3), ())
    x, _ = damped_solve(qr, np.ones(3), 1e-34, q)
    np.testing.assert_allclose(x, _exact_damped(r, np.full(3, 1e-17), q), rtol=1e-12)


def test_lmpar_zero_damping_when_the_gauss_newton_step_fits():
    a = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    f = np.array([2.0, 1.0, 5.0])
    qr = qr_pivoted(a, f)
    par, x = lmpar(qr, np.ones(2), delta=10.0, par=0.7)
    assert par == 0.0
    np.testing.assert_allclose(x, [1.0, 1.0])       # the least-squares solution of a x = f


@pytest.mark.parametrize("delta", [0.05, 0.5, 2.0])
def test_lmpar_orthogonal_jacobian_closed_form(delta):
    """J = I: x(par) = f / (1 + par), so ||x|| = delta at par = ||f|| / delta - 1."""
    f = np.array([3.0, 4.0])
    qr = qr_pivoted(np.eye(2), f)
    for rtol in (LMPAR_RTOL, 0.1):                  # ours (2%) and MINPACK's (10%)
        par, x = lmpar(qr, np.ones(2), delta=delta, par=0.0, rtol=rtol)
        np.testing.assert_allclose(x, f / (1.0 + par), rtol=1e-12)
        assert (1 - rtol) * delta <= np.linalg.norm(x) <= (1 + rtol) * delta
        assert par == pytest.approx(5.0 / delta - 1.0, rel=2.5 * rtol)
    assert LMPAR_RTOL == 0.02


@given(matrices(), st.floats(1e-3, 1e2), st.sampled_from([None, 0.1]))
def test_lmpar_step_is_on_the_trust_region_boundary(case, delta_scale, rtol):
    a, f = case
    qr = qr_pivoted(a, f)
    diag = np.where(qr.col_norms == 0, 1.0, qr.col_norms)
    gn = np.linalg.lstsq(a, f, rcond=None)[0]
    delta = delta_scale * 1e-2 * np.linalg.norm(diag * gn) + 1e-12
    par, x = lmpar(qr, diag, delta, 0.0, rtol=rtol)
    norm = np.linalg.norm(diag * x)
    if par == 0.0:
        assert norm <= 1.1 * delta                  # the Gauss-Newton step, as in MINPACK
    else:
        tol = LMPAR_RTOL if rtol is None else rtol
        assert (1 - tol) * delta * (1 - 1e-12) <= norm <= (1 + tol) * delta * (1 + 1e-12)
        lhs = a.T @ a + par * np.diag(diag ** 2)
        np.testing.assert_allclose(lhs @ x, a.T @ f, rtol=1e-7, atol=1e-9 * np.abs(a.T @ f).max())


@given(matrices(rank_deficient=True), st.lists(st.floats(1e-4, 1e2), min_size=1, max_size=4))
def test_lm_subproblem_answers_every_radius_as_lmpar(case, scales):
    """One ``LMSubproblem`` asked for several radii in turn gives lmpar's answer for each, bit for
    bit, and the step's scaled length; its gradient is ``(Jᵀ f)[perm]`` and its ``gnorm`` the
    largest cosine between ``f`` and a nonzero column of ``J``."""
    a, f = case
    a[:, 0] = 0.0                                   # a zero column: skipped by gnorm
    qr = qr_pivoted(a, f)
    diag = np.where(qr.col_norms == 0, 1.0, qr.col_norms)
    sub = LMSubproblem(qr, diag)
    gn_norm = np.linalg.norm(diag * np.linalg.lstsq(a, f, rcond=None)[0])
    for scale in scales:
        delta = scale * 1e-2 * gn_norm + 1e-12
        par, x, dxnorm = sub.step(delta, 0.1)
        want_par, want_x = lmpar(qr, diag, delta, 0.1)
        assert par == want_par and np.array_equal(x, want_x)
        assert dxnorm == pytest.approx(np.linalg.norm(diag * x), rel=1e-14, abs=1e-300)
    g = a.T @ f
    np.testing.assert_allclose(sub.gradient, g[qr.perm], rtol=1e-9, atol=1e-12 * np.abs(a).max()
                               * np.abs(f).max() * len(f))
    fnorm = np.linalg.norm(f)
    norms = np.linalg.norm(a, axis=0)
    cosines = [abs(gj) / fnorm / nj for gj, nj in zip(g, norms) if nj > 0]
    assert sub.scaled_gradient_norm(fnorm) == pytest.approx(max(cosines, default=0.0), rel=1e-9,
                                                            abs=1e-12)
    assert sub.scaled_gradient_norm(0.0) == 0.0


@given(st.integers(1, 5), st.integers(0, 2 ** 16), st.floats(0.05, 5.0))
def test_hessian_trust_step_satisfies_the_optimality_conditions(n, seed, delta):
    """Moré-Sorensen: (H + par D²) p = -g, H + par D² positive semidefinite, and ||D p|| within
    LMPAR_RTOL of delta whenever par > 0; and no step inside the ball does better by more than 10%
    slack."""
    rng = np.random.default_rng(seed)
    b = rng.standard_normal((n, n))
    h = (b + b.T) / 2.0
    g = rng.standard_normal(n)
    d = np.exp(rng.uniform(-1, 1, n))
    par, p = hessian_trust_step(h, g, d, delta, 0.0)
    shifted = h + par * np.diag(d ** 2)
    assert np.linalg.eigvalsh(shifted)[0] >= -1e-9 * max(1.0, np.abs(h).max())
    np.testing.assert_allclose(shifted @ p, -g, atol=1e-8 * max(1.0, np.abs(g).max()))
    norm = np.linalg.norm(d * p)
    assert norm <= 1.1 * delta + 1e-12
    if par > 0:
        assert abs(norm - delta) <= LMPAR_RTOL * delta + 1e-12
    model = lambda q: g @ q + 0.5 * q @ h @ q  # noqa: E731
    trials = rng.standard_normal((200, n))
    trials = trials / np.linalg.norm(trials * d, axis=1)[:, None] * 0.9 * delta
    assert model(p) <= min(model(q) for q in trials) + 1e-9


def test_hessian_trust_step_hard_case():
    par, p = hessian_trust_step(np.diag([1.0, -1.0]), np.array([1.0, 0.0]), np.ones(2), 2.0, 0.0)
    assert par == pytest.approx(1.0)
    np.testing.assert_allclose(np.abs(p), [0.5, math.sqrt(4.0 - 0.25)])


def test_hessian_trust_step_newton_step_inside():
    par, p = hessian_trust_step(np.diag([2.0, 4.0]), np.array([2.0, 4.0]), np.ones(2), 10.0, 3.0)
    assert par == 0.0
    np.testing.assert_allclose(p, [-1.0, -1.0])
