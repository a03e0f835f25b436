"""CG, Lanczos eigsh, trace and diagonal estimators, and SLQ on curvature operators."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fungrad.numpy as fnp
from fungrad import nn
from fungrad.flatten_util import ravel_pytree
from fungrad.optim import curvature as cv


def random_symmetric(n, seed, eigenvalues=None):
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    lam = rng.standard_normal(n) if eigenvalues is None else np.asarray(eigenvalues, dtype=float)
    return (Q * lam) @ Q.T


def small_ggn():
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal((4, 5)) / 2, rng.standard_normal(5) / 3),
              (rng.standard_normal((5, 3)) / 2, rng.standard_normal(3) / 3)]
    x = rng.standard_normal((8, 4))
    y = np.eye(3)[rng.integers(0, 3, 8)]

    def model(p, x):
        (W1, b1), (W2, b2) = p
        return fnp.tanh(x @ W1 + b1) @ W2 + b2
    loss = lambda f, y: -fnp.mean(fnp.sum(y * nn.log_softmax(f, axis=-1), axis=-1))
    return cv.ggn_operator(model, loss, params, x, y), params


# --------------------------------------------------------------------------- CG

def test_solve_cg_matches_numpy_solve_in_both_forms():
    G, params = small_ggn()
    A = G.damped(0.1)
    D = A.to_dense()
    b = np.random.default_rng(1).standard_normal(D.shape[0])
    x, info = cv.solve_cg(A, b)
    assert info == 0
    np.testing.assert_allclose(x, np.linalg.solve(D, b), rtol=1e-8)
    unravel = ravel_pytree(params)[1]
    x_tree, info = cv.solve_cg(A, unravel(b))
    np.testing.assert_allclose(ravel_pytree(x_tree)[0], x, rtol=1e-10)
    assert np.linalg.norm(D @ x - b) <= 1e-10 * np.linalg.norm(b) * 1.01


def test_solve_cg_reports_unconverged_iterations_and_uses_the_preconditioner():
    D = random_symmetric(40, 2, np.logspace(0, 4, 40))
    A, b = cv.MatrixOperator(D), np.ones(40)
    x, info = cv.solve_cg(A, b, maxiter=3)
    assert info == 3
    counts = {}
    for name, M in [("none", None), ("jacobi-exact", cv.MatrixOperator(np.linalg.inv(D)))]:
        calls = []
        counted = cv.MatrixOperator(D)
        original = counted._matvec
        counted._matvec = lambda v, original=original: calls.append(1) or original(v)
        x, info = cv.solve_cg(counted, b, preconditioner=M)
        np.testing.assert_allclose(D @ x, b, rtol=1e-7)
        counts[name] = len(calls)
    assert counts["jacobi-exact"] <= 2 < counts["none"]


def test_solve_cg_rejects_indefinite_operators():
    with pytest.raises(ValueError, match="positive definite"):
        cv.solve_cg(cv.MatrixOperator(np.diag([1.0, -1.0])), np.ones(2))


# --------------------------------------------------------------------------- eigsh

@given(st.integers(10, 40), st.integers(1, 5), st.sampled_from(["LA", "SA"]), st.integers(0, 2 ** 16))
@settings(max_examples=15)
def test_eigsh_matches_numpy_eigh(n, k, which, seed):
    D = random_symmetric(n, seed)
    vals, vecs = cv.eigsh(cv.MatrixOperator(D), k=k, which=which, seed=seed)
    ref = np.linalg.eigvalsh(D)
    want = ref[-k:] if which == "LA" else ref[:k]
    np.testing.assert_allclose(vals, want, atol=1e-8)
    assert vecs.shape == (n, k)
    np.testing.assert_allclose(D @ vecs, vecs * vals, atol=1e-7)
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(k), atol=1e-8)


def test_eigsh_on_a_ggn_and_on_a_low_rank_matrix():
    G, _ = small_ggn()
    vals, _ = cv.eigsh(G, k=4)
    np.testing.assert_allclose(vals, np.linalg.eigvalsh(G.to_dense())[-4:], rtol=1e-8, atol=1e-12)
    rng = np.random.default_rng(3)
    U = rng.standard_normal((30, 2))
    vals, _ = cv.eigsh(cv.MatrixOperator(U @ U.T), k=4)        # Krylov space breaks down after 2 steps
    np.testing.assert_allclose(vals, np.linalg.eigvalsh(U @ U.T)[-4:], atol=1e-9)


def test_eigsh_errors():
    A = cv.MatrixOperator(np.diag(np.arange(1.0, 301.0) ** -0.01))
    with pytest.raises(cv.LanczosNoConvergence) as err:
        cv.eigsh(A, k=3, maxiter=10)
    assert err.value.eigenvalues.shape == (3,)
    with pytest.raises(ValueError, match="which"):
        cv.eigsh(A, k=1, which="LM")
    with pytest.raises(ValueError, match="k must be"):
        cv.eigsh(A, k=0)


# --------------------------------------------------------------------------- trace and diagonal

def low_rank_plus_noise(n=60, rank=5, seed=4):
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((n, rank))
    return U @ np.diag([100.0, 80.0, 60.0, 40.0, 20.0][:rank]) @ U.T / n + 0.01 * np.eye(n)


@pytest.mark.parametrize("method", ["hutchinson", "hutch++"])
def test_trace_estimators_are_unbiased(method):
    D = low_rank_plus_noise()
    A = cv.MatrixOperator(D)
    estimates = np.array([cv.trace(A, 12, method=method, seed=s) for s in range(300)])
    stderr = estimates.std(ddof=1) / np.sqrt(len(estimates))
    assert abs(estimates.mean() - np.trace(D)) < 4 * stderr
    assert type(cv.trace(A, 12, method=method)) is float


def test_hutch_plus_plus_has_lower_variance_on_low_rank_plus_noise():
    A = cv.MatrixOperator(low_rank_plus_noise())
    var = {m: np.var([cv.trace(A, 30, method=m, seed=s) for s in range(100)]) for m in ("hutchinson", "hutch++")}
    assert var["hutch++"] < 0.1 * var["hutchinson"]


def test_diagonal_estimator_is_unbiased_and_params_shaped():
    G, params = small_ggn()
    D = G.to_dense()
    samples = np.array([ravel_pytree(cv.diagonal(G, 4, seed=s))[0] for s in range(150)])
    stderr = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    z = np.abs(samples.mean(axis=0) - np.diag(D)) / np.maximum(stderr, 1e-15)
    assert np.mean(z < 3) > 0.95 and np.all(z < 5)
    tree = cv.diagonal(G, 2)
    assert [w.shape for layer in tree for w in layer] == [w.shape for layer in params for w in layer]


def test_estimator_arguments_are_checked():
    A = cv.MatrixOperator(np.eye(3))
    with pytest.raises(ValueError, match="method"):
        cv.trace(A, 3, method="exact")
    with pytest.raises(ValueError, match="at least 3"):
        cv.trace(A, 2, method="hutch++")
    with pytest.raises(ValueError, match="num_samples"):
        cv.diagonal(A, 0)


# --------------------------------------------------------------------------- spectral density

def test_slq_integrates_to_one_and_puts_mass_at_the_eigenvalues():
    D = random_symmetric(40, 5, [1.0] * 30 + [5.0] * 10)
    grid = np.linspace(-1.0, 7.0, 801)
    density = cv.spectral_density(cv.MatrixOperator(D), num_probes=30, num_steps=10, grid=grid, sigma=0.1)
    assert abs(np.trapezoid(density, grid) - 1.0) < 1e-6
    near = lambda c: np.trapezoid(np.where(np.abs(grid - c) < 0.5, density, 0.0), grid)
    assert abs(near(1.0) - 0.75) < 0.1 and abs(near(5.0) - 0.25) < 0.1
    assert near(1.0) + near(5.0) > 0.99


def test_slq_of_a_ggn_agrees_with_its_eigenvalues():
    G, _ = small_ggn()
    lam = np.linalg.eigvalsh(G.to_dense())
    grid = np.linspace(lam.min() - 1, lam.max() + 1, 2001)
    sigma = 0.02
    exact = np.exp(-0.5 * ((grid[:, None] - lam[None]) / sigma) ** 2).sum(1) / (len(lam) * sigma * np.sqrt(2 * np.pi))
    got = cv.spectral_density(G, num_probes=60, num_steps=G.shape[0], grid=grid, sigma=sigma)
    # with full Lanczos the nodes are the eigenvalues; only the weights are random
    cdf = lambda d: np.cumsum(d) * (grid[1] - grid[0])
    assert np.max(np.abs(cdf(got) - cdf(exact))) < 0.1


def test_same_answers_as_scipy_on_the_same_operator():
    sparse_linalg = pytest.importorskip("scipy.sparse.linalg")
    G, _ = small_ggn()
    A = G.damped(0.05)
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    want = sparse_linalg.cg(A.to_scipy(), b, rtol=1e-12, maxiter=1000)[0]
    np.testing.assert_allclose(cv.solve_cg(A, b, tol=1e-12)[0], want, rtol=1e-7)
    for which in ("LA", "SA"):
        vals, vecs = cv.eigsh(A, k=3, which=which)
        ref_vals, ref_vecs = sparse_linalg.eigsh(A.to_scipy(), k=3, which=which, tol=1e-12)
        np.testing.assert_allclose(vals, ref_vals, rtol=1e-8)
        if which == "LA":            # the bottom eigenvalue 0.05 is multiple (a GGN is low rank)
            np.testing.assert_allclose(np.abs(np.sum(vecs * ref_vecs, axis=0)), 1.0, atol=1e-6)
