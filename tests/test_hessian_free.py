"""The stepwise Levenberg-Marquardt (Hessian-free) optimizer against a dense reference step."""
from __future__ import annotations

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad.flatten_util import ravel_pytree
from fungrad.optim.hessian_free import hessian_free
from test_curvature_operators import cross_entropy, mlp, mlp_setup


def mse(f, y):
    return fnp.mean((f - y) ** 2)


def dense_curvature(kind, params, x, y, loss):
    """GGN (jacfwd of the model, hessian of the loss) or Gaussian Fisher J^T J / N, built densely."""
    flat, unravel = ravel_pytree(params)
    f = mlp(params, x)
    J = fungrad.jacfwd(lambda w: mlp(unravel(w), x))(flat).reshape(f.size, flat.size)
    if kind == "fisher-gaussian":
        return J.T @ J / len(x)
    HL = fungrad.hessian(loss)(f, y).reshape(f.size, f.size)
    return J.T @ HL @ J


CASES = [
    ("ggn", "categorical", cross_entropy, "ggn", (3, 4, 3)),
    ("ggn", "categorical", mse, "ggn", (2, 5, 2)),
    ("fisher", "gaussian", mse, "fisher-gaussian", (2, 5, 1)),   # GGN of this loss is 2x that Fisher
    ("fisher", "categorical", cross_entropy, "ggn", (3, 4, 3)),  # equals the GGN (canonical link)
]


@pytest.mark.parametrize("curvature,likelihood,loss,reference,sizes", CASES)
@pytest.mark.parametrize("lam", [0.3, 1e-3])
def test_step_matches_a_dense_reference(curvature, likelihood, loss, reference, sizes, lam):
    params, x, _ = mlp_setup(sizes, n=6)
    rng = np.random.default_rng(1)
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], len(x))] if loss is cross_entropy else \
        rng.standard_normal((len(x), sizes[-1]))
    L = lambda p: loss(mlp(p, x), y)
    flat, unravel = ravel_pytree(params)
    g = ravel_pytree(fungrad.grad(L)(params))[0]
    C = dense_curvature(reference, params, x, y, loss)
    d = -np.linalg.solve(C + lam * np.eye(len(g)), g)
    actual = L(unravel(flat + d)) - L(params)
    ratio = actual / (g @ d + 0.5 * d @ C @ d)
    want_lam = lam * 1.5 if ratio < 0.25 else lam * (2 / 3) if ratio > 0.75 else lam

    opt = hessian_free(mlp, loss, curvature=curvature, likelihood=likelihood, damping=lam,
                       cg_maxiter=10 * len(g), cg_tol=1e-13)
    updates, state = opt.update(fungrad.grad(L)(params), opt.init(params), params, inputs=x, targets=y)
    np.testing.assert_allclose(float(state.ratio), ratio, rtol=1e-6)
    np.testing.assert_allclose(float(state.damping), want_lam, rtol=1e-12)
    assert bool(state.accepted) == (actual < 0)
    np.testing.assert_allclose(ravel_pytree(updates)[0], d if actual < 0 else 0 * d, rtol=1e-7, atol=1e-10)


def test_damping_follows_the_rule_in_every_branch():
    """Quadratic problem: the model is exact (rho = 1, lambda drops). Oscillating model: rho is poor."""
    x = np.linspace(-1, 1, 8)[:, None]
    lin = lambda w, x: x @ w
    opt = hessian_free(lin, mse, damping=0.5, cg_maxiter=20, cg_tol=1e-14)
    w = np.array([3.0])
    _, state = opt.update(fungrad.grad(lambda w: mse(lin(w, x), x[:, 0]))(w), opt.init(w), w, inputs=x,
                          targets=x[:, 0])
    assert abs(float(state.ratio) - 1.0) < 1e-10 and float(state.damping) == pytest.approx(0.5 * 2 / 3)

    # sin(w) near its peak: the Gauss-Newton step (J = cos w ~ 0) is huge and lands anywhere
    wavy, x1, y = (lambda w, x: fnp.sin(x @ w)), np.ones((1, 1)), np.array([0.5])
    opt = hessian_free(wavy, mse, damping=1e-6, cg_maxiter=20, cg_tol=1e-14)
    seen = set()
    for w0 in np.linspace(1.3, 1.8, 11):
        w = np.array([w0])
        updates, state = opt.update(fungrad.grad(lambda w: mse(wavy(w, x1), y))(w), opt.init(w), w, inputs=x1,
                                    targets=y)
        rho = float(state.ratio)
        factor = float(state.damping) / 1e-6
        want = 1.5 if rho < 0.25 else 2 / 3 if rho > 0.75 else 1.0
        assert factor == pytest.approx(want)
        assert bool(state.accepted) == (rho > 0)
        if not bool(state.accepted):
            assert float(updates[0]) == 0.0
        seen.add((want, bool(state.accepted)))
    assert {(1.5, False), (2 / 3, True)} <= seen


def train(opt, params, x, y, loss, steps, jitted=True):
    value_and_grad = fungrad.value_and_grad(lambda p: loss(mlp(p, x), y))
    update = fungrad.jit(opt.update) if jitted else opt.update
    state = opt.init(params)
    for _ in range(steps):
        value, g = value_and_grad(params)
        updates, state = update(g, state, params, inputs=x, targets=y, value=value)
        params = fungrad.tree_util.tree_map(lambda p, u: p + u, params, updates)
    return params, state, update


@pytest.mark.parametrize("curvature", ["ggn", "fisher"])
def test_converges_on_a_small_regression_network_under_one_jit(curvature):
    params, x, _ = mlp_setup((2, 8, 1), n=32, seed=3)
    y = np.sin(2 * x[:, :1]) * np.cos(x[:, 1:])
    start = float(mse(mlp(params, x), y))
    opt = hessian_free(mlp, mse, curvature=curvature, likelihood="gaussian", damping=1.0)
    params, state, update = train(opt, params, x, y, mse, 40)
    assert float(mse(mlp(params, x), y)) < 0.02 * start
    assert update.cache_info().misses == 1         # the damping changes value, never the trace


def test_converges_on_a_small_classifier():
    params, x, _ = mlp_setup((2, 8, 3), n=30, seed=4)
    y = np.eye(3)[(np.arctan2(x[:, 1], x[:, 0]) // (2 * np.pi / 3)).astype(int) % 3]
    opt = hessian_free(mlp, cross_entropy, damping=1.0)
    params, _, _ = train(opt, params, x, y, cross_entropy, 40)
    assert float(cross_entropy(mlp(params, x), y)) < 0.15


def test_jitted_step_equals_the_eager_step():
    params, x, _ = mlp_setup((3, 4, 3), n=6)
    y = np.eye(3)[np.arange(6) % 3]
    opt = hessian_free(mlp, cross_entropy, damping=0.1)
    g = fungrad.grad(lambda p: cross_entropy(mlp(p, x), y))(params)
    eager = opt.update(g, opt.init(params), params, inputs=x, targets=y)
    jitted = fungrad.jit(opt.update)(g, opt.init(params), params, inputs=x, targets=y)
    np.testing.assert_allclose(ravel_pytree(eager)[0], ravel_pytree(jitted)[0], rtol=1e-10)


def test_is_a_gradient_transformation_that_chains_with_the_first_order_ones():
    """hessian_free is optax-shaped: chain passes the extra arguments (inputs, targets) through."""
    params, x, _ = mlp_setup((3, 4, 3), n=6)
    y = np.eye(3)[np.arange(6) % 3]
    g = fungrad.grad(lambda p: cross_entropy(mlp(p, x), y))(params)
    hf = fungrad.optim.hessian_free(mlp, cross_entropy, damping=0.1)
    assert isinstance(hf, fungrad.optim.GradientTransformationExtraArgs)
    alone, _ = hf.update(g, hf.init(params), params, inputs=x, targets=y)
    clipped = fungrad.optim.chain(hf, fungrad.optim.clip_by_global_norm(1e-3))
    updates, _ = clipped.update(g, clipped.init(params), params, inputs=x, targets=y)
    norm = np.linalg.norm(ravel_pytree(alone)[0])
    assert norm > 1e-3
    np.testing.assert_allclose(ravel_pytree(updates)[0], ravel_pytree(alone)[0] * (1e-3 / norm), rtol=1e-10)


def test_bad_configuration_is_a_clear_error():
    with pytest.raises(ValueError, match="curvature"):
        hessian_free(mlp, mse, curvature="hessian")
    with pytest.raises(ValueError, match="likelihood"):
        hessian_free(mlp, mse, curvature="fisher", likelihood="poisson")
    with pytest.raises(ValueError, match="cg_maxiter"):
        hessian_free(mlp, mse, cg_maxiter=0)
    with pytest.raises(ValueError, match="drop < 1 < boost"):
        hessian_free(mlp, mse, boost=0.5)
    with pytest.raises(ValueError, match="damping"):
        hessian_free(mlp, mse, damping=-1.0)


def test_predicted_reduction_with_a_truncated_cg_solve():
    """With two CG iterations d is not the solution; the ratio must still use d's own quadratic model."""
    params, x, _ = mlp_setup((3, 4, 3), n=6)
    y = np.eye(3)[np.arange(6) % 3]
    L = lambda p: cross_entropy(mlp(p, x), y)
    opt = hessian_free(mlp, cross_entropy, damping=0.3, cg_maxiter=2)
    updates, state = opt.update(fungrad.grad(L)(params), opt.init(params), params, inputs=x, targets=y)
    assert bool(state.accepted) and int(state.cg_iterations) == 2
    flat, unravel = ravel_pytree(params)
    d, g = ravel_pytree(updates)[0], ravel_pytree(fungrad.grad(L)(params))[0]
    C = dense_curvature("ggn", params, x, y, cross_entropy)
    assert np.linalg.norm((C + 0.3 * np.eye(len(g))) @ d + g) > 1e-3 * np.linalg.norm(g)   # truly truncated
    want = (L(unravel(flat + d)) - L(params)) / (g @ d + 0.5 * d @ C @ d)
    np.testing.assert_allclose(float(state.ratio), want, rtol=1e-9)
