"""Curvature operators against dense matrices built independently (hessian, jacfwd, closed forms)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fungrad
import fungrad.numpy as fnp
from fungrad import nn
from fungrad.flatten_util import ravel_pytree
from fungrad.optim import curvature as cv


def mlp(params, x):
    h = x
    for W, b in params[:-1]:
        h = fnp.tanh(h @ W + b)
    W, b = params[-1]
    return h @ W + b


def mlp_setup(sizes=(3, 4, 3), n=5, seed=0):
    rng = np.random.default_rng(seed)
    params = [(rng.standard_normal((i, o)) / np.sqrt(i), 0.3 * rng.standard_normal(o))
              for i, o in zip(sizes[:-1], sizes[1:])]
    x = rng.standard_normal((n, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return params, x, y


def cross_entropy(f, y):
    return -fnp.mean(fnp.sum(y * nn.log_softmax(f, axis=-1), axis=-1))


def flat_fn(fun, params):
    """fun(params, ...) as a function of the flat parameter vector."""
    unravel = ravel_pytree(params)[1]
    return lambda flat, *a: fun(unravel(flat), *a)


def dense_ggn(model, loss_of_output, params, x, y):
    """J^T H_L J from jacfwd of the model and hessian of the loss, with nothing from the operators."""
    flat = ravel_pytree(params)[0]
    f = model(params, x)
    J = fungrad.jacfwd(flat_fn(model, params))(flat, x).reshape(f.size, flat.size)
    HL = fungrad.hessian(loss_of_output)(f, y).reshape(f.size, f.size)
    return J.T @ HL @ J


# --------------------------------------------------------------------------- Hessian

def test_hessian_operator_matches_fungrad_hessian():
    params, x, y = mlp_setup()
    loss = lambda p, x, y: cross_entropy(mlp(p, x), y)
    H = cv.hessian_operator(loss, params, x, y)
    want = fungrad.hessian(flat_fn(loss, params))(ravel_pytree(params)[0], x, y)
    np.testing.assert_allclose(H.to_dense(), want, rtol=1e-10, atol=1e-12)


def test_hessian_closed_forms_linear_and_logistic():
    rng = np.random.default_rng(1)
    X, w = rng.standard_normal((7, 3)), rng.standard_normal(3)
    y = rng.standard_normal(7)
    H = cv.hessian_operator(lambda w, X, y: fnp.mean((X @ w - y) ** 2), w, X, y)
    np.testing.assert_allclose(H.to_dense(), 2 * X.T @ X / 7, rtol=1e-12)
    labels = np.sign(rng.standard_normal(7))
    H = cv.hessian_operator(lambda w, X, t: fnp.mean(fnp.log1p(fnp.exp(-t * (X @ w)))), w, X, labels)
    s = 1 / (1 + np.exp(-labels * (X @ w)))
    np.testing.assert_allclose(H.to_dense(), X.T @ np.diag(s * (1 - s)) @ X / 7, rtol=1e-10)


# --------------------------------------------------------------------------- GGN and Fisher

@pytest.mark.parametrize("loss_name", ["cross_entropy", "squared"])
def test_ggn_matches_jacobian_times_loss_hessian(loss_name):
    params, x, y = mlp_setup()
    loss = cross_entropy if loss_name == "cross_entropy" else (lambda f, y: fnp.mean((f - y) ** 2))
    G = cv.ggn_operator(mlp, loss, params, x, y)
    np.testing.assert_allclose(G.to_dense(), dense_ggn(mlp, loss, params, x, y), rtol=1e-10, atol=1e-13)


def test_ggn_of_linear_model_is_the_hessian():
    params, x, y = mlp_setup(sizes=(3, 2))
    G = cv.ggn_operator(mlp, cross_entropy, params, x, y).to_dense()
    H = cv.hessian_operator(lambda p, x, y: cross_entropy(mlp(p, x), y), params, x, y).to_dense()
    np.testing.assert_allclose(G, H, rtol=1e-10, atol=1e-13)


def test_categorical_fisher_is_the_ggn_of_cross_entropy():
    params, x, y = mlp_setup()
    F = cv.fisher_operator(mlp, params, x, likelihood="categorical").to_dense()
    # closed form per example: J_n^T (diag p - p p^T) J_n / N
    flat = ravel_pytree(params)[0]
    J = fungrad.jacfwd(flat_fn(mlp, params))(flat, x)          # (N, C, P)
    p = np.exp(mlp(params, x)) / np.exp(mlp(params, x)).sum(-1, keepdims=True)
    want = sum(J[n].T @ (np.diag(p[n]) - np.outer(p[n], p[n])) @ J[n] for n in range(len(x))) / len(x)
    np.testing.assert_allclose(F, want, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(F, dense_ggn(mlp, cross_entropy, params, x, y), rtol=1e-10, atol=1e-13)


def test_gaussian_fisher_and_the_factor_of_a_mean_squared_error():
    params, x, y = mlp_setup()
    C = y.shape[1]
    F = cv.fisher_operator(mlp, params, x, likelihood="gaussian").to_dense()
    half_sse = lambda f, y: 0.5 * fnp.mean(fnp.sum((f - y) ** 2, axis=-1))
    np.testing.assert_allclose(F, dense_ggn(mlp, half_sse, params, x, y), rtol=1e-10, atol=1e-13)
    mse = cv.ggn_operator(mlp, lambda f, y: fnp.mean((f - y) ** 2), params, x, y).to_dense()
    np.testing.assert_allclose(mse, (2.0 / C) * F, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("likelihood", ["categorical", "gaussian"])
def test_monte_carlo_fisher_approaches_the_exact_one(likelihood):
    params, x, _ = mlp_setup(n=4)
    exact = cv.fisher_operator(mlp, params, x, likelihood=likelihood).to_dense()
    mc = cv.fisher_operator(mlp, params, x, likelihood=likelihood, mc_samples=4000, seed=3).to_dense()
    assert np.linalg.norm(mc - exact) < 0.06 * np.linalg.norm(exact)
    small = [cv.fisher_operator(mlp, params, x, likelihood=likelihood, mc_samples=2, seed=s).to_dense()
             for s in (0, 0, 1)]
    np.testing.assert_array_equal(small[0], small[1])
    assert not np.allclose(small[0], small[2])
    np.testing.assert_allclose(small[0], small[0].T, atol=1e-14)


def test_empirical_fisher_is_the_mean_of_gradient_outer_products():
    params, x, y = mlp_setup()
    per_example = lambda p, xn, yn: cross_entropy(mlp(p, xn[None]), yn[None])
    E = cv.empirical_fisher_operator(per_example, params, x, y)
    flat = ravel_pytree(params)[0]
    g = np.stack([fungrad.grad(flat_fn(per_example, params))(flat, x[n], y[n]) for n in range(len(x))])
    np.testing.assert_allclose(E.to_dense(), g.T @ g / len(x), rtol=1e-10, atol=1e-13)
    F = cv.fisher_operator(mlp, params, x).to_dense()
    assert not np.allclose(E.to_dense(), F, atol=1e-3)      # it is not the Fisher


def test_jacobian_operator_products_and_transpose():
    params, x, _ = mlp_setup()
    J = cv.jacobian_operator(mlp, params, x)
    flat = ravel_pytree(params)[0]
    dense = fungrad.jacfwd(flat_fn(mlp, params))(flat, x).reshape(-1, flat.size)
    np.testing.assert_allclose(J.to_dense(), dense, rtol=1e-12)
    v = np.random.default_rng(0).standard_normal(flat.size)
    tree = ravel_pytree(params)[1](v)
    assert (J @ tree).shape == (len(x), 3)              # a params pytree in, output-shaped out
    np.testing.assert_allclose((J @ tree).ravel(), J @ v, rtol=1e-12)
    assert fungrad.tree_util.tree_structure(J.T @ (J @ tree)) == fungrad.tree_util.tree_structure(params)
    u = np.random.default_rng(1).standard_normal((len(x), 3))
    np.testing.assert_allclose(ravel_pytree(J.T @ u)[0], dense.T @ u.ravel(), rtol=1e-12)
    halves = cv.jacobian_operator(mlp, params, data=[(x[:2], None), (x[2:], None)])
    out = halves @ v
    np.testing.assert_allclose(out, J @ v, rtol=1e-12)
    np.testing.assert_allclose(halves.T @ out, J.T @ (J @ v), rtol=1e-12)
    assert [o.shape for o in halves @ tree] == [(2, 3), (3, 3)]


# --------------------------------------------------------------------------- the shared interface

def test_products_answer_in_the_form_given_and_match_to_dense():
    params, x, y = mlp_setup()
    G = cv.ggn_operator(mlp, cross_entropy, params, x, y)
    D = G.to_dense()
    n = D.shape[0]
    assert G.shape == (n, n)
    v = np.random.default_rng(0).standard_normal(n)
    np.testing.assert_allclose(G @ v, D @ v, rtol=1e-10)
    tree = ravel_pytree(params)[1](v)
    out = G.matvec(tree)
    assert fungrad.tree_util.tree_structure(out) == fungrad.tree_util.tree_structure(params)
    np.testing.assert_allclose(ravel_pytree(out)[0], D @ v, rtol=1e-10)
    V = np.random.default_rng(1).standard_normal((n, 3))
    np.testing.assert_allclose(G @ V, D @ V, rtol=1e-10)
    np.testing.assert_allclose(G.T @ v, D.T @ v, rtol=1e-10)
    np.testing.assert_allclose((2.0 * G - G / 4).to_dense(), 1.75 * D, rtol=1e-10)
    np.testing.assert_allclose((G + G.damped(0.5)).to_dense(), 2 * D + 0.5 * np.eye(n), rtol=1e-10)
    np.testing.assert_allclose((-G).to_dense(), -D, rtol=1e-10)
    assert G.compiled.cache_info().misses == 1          # one trace, however many products


def test_bad_operands_are_clear_errors():
    params, x, y = mlp_setup()
    G = cv.ggn_operator(mlp, cross_entropy, params, x, y)
    with pytest.raises(ValueError, match="flat vector"):
        G @ np.ones(3)
    with pytest.raises(TypeError, match="damped"):
        G + 1.0
    with pytest.raises(ValueError, match="shapes differ"):
        G + cv.MatrixOperator(np.eye(2))
    with pytest.raises(ValueError, match="square"):
        cv.jacobian_operator(mlp, params, x).damped(1.0)
    with pytest.raises(ValueError, match="likelihood"):
        cv.fisher_operator(mlp, params, x, likelihood="poisson")
    with pytest.raises(ValueError, match="mc_samples"):
        cv.fisher_operator(mlp, params, x, mc_samples=0)
    with pytest.raises(TypeError, match="not both"):
        cv.ggn_operator(mlp, cross_entropy, params, x, y, data=[(x, y)])
    with pytest.raises(TypeError, match="data="):
        cv.ggn_operator(mlp, cross_entropy, params)


def test_data_batches_average_by_example_count():
    params, x, y = mlp_setup(n=7)
    data = [(x[:3], y[:3]), (x[3:], y[3:])]
    full = cv.ggn_operator(mlp, cross_entropy, params, x, y).to_dense()
    np.testing.assert_allclose(cv.ggn_operator(mlp, cross_entropy, params, data=data).to_dense(), full,
                               rtol=1e-10, atol=1e-13)
    loss = lambda p, x, y: cross_entropy(mlp(p, x), y)
    np.testing.assert_allclose(cv.hessian_operator(loss, params, data=data).to_dense(),
                               cv.hessian_operator(loss, params, x, y).to_dense(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(cv.fisher_operator(mlp, params, data=data).to_dense(),
                               cv.fisher_operator(mlp, params, x).to_dense(), rtol=1e-10, atol=1e-13)
    per_example = lambda p, xn, yn: cross_entropy(mlp(p, xn[None]), yn[None])
    np.testing.assert_allclose(cv.empirical_fisher_operator(per_example, params, data=data).to_dense(),
                               cv.empirical_fisher_operator(per_example, params, x, y).to_dense(),
                               rtol=1e-10, atol=1e-13)


def test_to_scipy_with_scipy_eigsh():
    sparse_linalg = pytest.importorskip("scipy.sparse.linalg")
    params, x, y = mlp_setup()
    G = cv.ggn_operator(mlp, cross_entropy, params, x, y)
    got = np.sort(sparse_linalg.eigsh(G.to_scipy(), k=3, which="LA")[0])
    np.testing.assert_allclose(got, np.linalg.eigvalsh(G.to_dense())[-3:], rtol=1e-8)
    J = cv.jacobian_operator(mlp, params, x).to_scipy()
    u = np.ones(J.shape[0])
    np.testing.assert_allclose(J.rmatvec(u), cv.jacobian_operator(mlp, params, x).T @ u, rtol=1e-12)


@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 2 ** 16))
@settings(max_examples=10)
def test_ggn_is_jacobian_based_for_random_shapes(d, c, seed):
    params, x, y = mlp_setup(sizes=(d, 3, c), n=3, seed=seed)
    loss = lambda f, y: fnp.mean((f - y) ** 2)
    G = cv.ggn_operator(mlp, loss, params, x, y)
    J = cv.jacobian_operator(mlp, params, x).to_dense()
    np.testing.assert_allclose(G.to_dense(), 2.0 / y.size * J.T @ J, rtol=1e-9, atol=1e-13)


# --------------------------------------------------------------------------- K-FAC

def fisher_blocks(F, params):
    """The diagonal blocks of F, one per layer (W and b together, in leaf order)."""
    sizes = [W.size + b.size for W, b in params]
    ends = np.cumsum([0] + sizes)
    return [F[s:e, s:e] for s, e in zip(ends[:-1], ends[1:])]


def kfac_block(A, G, W_shape):
    """The matrix of V -> A [W; b] G in the leaf order W (row-major), then b."""
    n_in, n_out = W_shape
    perm = list(range(n_in * n_out)) + [n_in * n_out + j for j in range(n_out)]
    return np.kron(A, G)[np.ix_(perm, perm)]


@pytest.mark.parametrize("likelihood", ["categorical", "gaussian"])
def test_kfac_with_one_example_is_the_fishers_block_diagonal(likelihood):
    params, x, _ = mlp_setup(n=1)
    K = cv.kfac_operator(mlp, params, x, likelihood=likelihood).to_dense()
    F = cv.fisher_operator(mlp, params, x, likelihood=likelihood).to_dense()
    ends = np.cumsum([0] + [W.size + b.size for W, b in params])
    want = np.zeros_like(F)
    for s, e in zip(ends[:-1], ends[1:]):
        want[s:e, s:e] = F[s:e, s:e]
    np.testing.assert_allclose(K, want, rtol=1e-9, atol=1e-13)


def test_kfac_factors_closed_form_for_a_linear_layer():
    params, x, _ = mlp_setup(sizes=(3, 2), n=6)
    K = cv.kfac_operator(mlp, params, x, likelihood="gaussian")
    (A, G), = K.factors
    xa = np.hstack([x, np.ones((6, 1))])
    np.testing.assert_allclose(A, xa.T @ xa / 6, rtol=1e-12)
    np.testing.assert_allclose(G, np.eye(2), rtol=1e-12)
    # for a linear layer under a Gaussian likelihood K-FAC is exact: F = mean x x^T kron I
    np.testing.assert_allclose(K.to_dense(), cv.fisher_operator(mlp, params, x, likelihood="gaussian").to_dense(),
                               rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(K.to_dense(), kfac_block(A, G, (3, 2)), rtol=1e-12)


def test_kfac_monte_carlo_and_data_and_inverse():
    params, x, _ = mlp_setup(n=6)
    exact = cv.kfac_operator(mlp, params, x).to_dense()
    mc = cv.kfac_operator(mlp, params, x, mc_samples=3000, seed=1).to_dense()
    assert np.linalg.norm(mc - exact) < 0.06 * np.linalg.norm(exact)
    halves = cv.kfac_operator(mlp, params, data=[x[:2], x[2:]])
    assert halves.shape == exact.shape
    K = cv.kfac_operator(mlp, params, x)
    inverse_blocks = fisher_blocks(K.inverse(0.04).to_dense(), params)
    for (A, G), block, (W, _) in zip(K.factors, inverse_blocks, params):
        damped = kfac_block(A + 0.2 * np.eye(len(A)), G + 0.2 * np.eye(len(G)), W.shape)
        np.testing.assert_allclose(block @ damped, np.eye(len(block)), atol=1e-10)
    for (A, G), block, (W, _) in zip(K.factors, fisher_blocks(exact, params), params):
        np.testing.assert_allclose(block, kfac_block(A, G, W.shape), atol=1e-13)


def test_kfac_rejects_what_is_not_a_dense_network():
    params, x, _ = mlp_setup()
    with pytest.raises(ValueError, match="dense layers only"):
        cv.kfac_operator(lambda p, x: mlp(p[0], x) * p[1], (params, np.ones(3)), x)
