"""checkpoint / remat: same derivatives, fewer residuals, recomputation on the backward pass."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import fungrad
import fungrad.numpy as fnp
from fungrad import checkpoint, lax
from fungrad.checkpoint import checkpoint_policies
from fungrad.lax.registry import defjvp, elementwise_shape, primitive
from fungrad.residuals import saved_residuals
from fungrad.test_util import check_grads

vectors = arrays(np.float64, st.integers(1, 4), elements=st.floats(-2, 2))
A = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])

# sin, counting how often its NumPy implementation runs (to see the recomputation).
runs: list[int] = [0]


def _counted_sin(x: Any) -> Any:
    runs[0] += 1
    return np.sin(x)


counted_sin_p = primitive("counted_sin", _counted_sin, elementwise_shape("counted_sin"))
defjvp(counted_sin_p, lambda t, ans, x: lax.mul(t, lax.cos(x)))


def sin3(x: Any) -> Any:
    return fnp.sin(fnp.sin(fnp.sin(x)))


def d_sin3(x: Any) -> Any:
    return np.cos(np.sin(np.sin(x))) * np.cos(np.sin(x)) * np.cos(x)


def mlp(x: Any) -> Any:
    return fnp.sum(fnp.tanh(A @ fnp.sin(x)) ** 2)


@given(vectors)
def test_same_derivatives_as_without(x: Any) -> None:
    f = checkpoint(lambda x: fnp.sum(sin3(x)))
    np.testing.assert_allclose(fungrad.grad(f)(x), d_sin3(x), rtol=1e-14)
    np.testing.assert_allclose(fungrad.grad(fungrad.grad(lambda x: f(x)))(x[0]),
                               fungrad.grad(fungrad.grad(lambda x: fnp.sum(sin3(x))))(x[0]),
                               rtol=1e-13)
    np.testing.assert_allclose(fungrad.hessian(f)(x), fungrad.hessian(lambda x: fnp.sum(sin3(x)))(x),
                               rtol=1e-13, atol=1e-15)
    check_grads(checkpoint(sin3), (x,), order=2)


def test_mlp_and_pytrees_and_static_args() -> None:
    x = np.array([0.3, -0.8, 1.1])
    g = fungrad.grad(fungrad.remat(mlp))(x)
    np.testing.assert_allclose(g, fungrad.grad(mlp)(x), rtol=1e-14)
    assert fungrad.remat is checkpoint

    def f(p: Any, n: int) -> Any:
        return {"y": fnp.sum(p["w"] * fnp.sin(p["x"])) * n}
    p = {"w": A[0], "x": x}
    want = fungrad.grad(lambda p: f(p, 3)["y"])(p)
    got = fungrad.grad(lambda p: checkpoint(f, static_argnums=1)(p, 3)["y"])(p)
    np.testing.assert_allclose(got["w"], want["w"], rtol=1e-15)
    np.testing.assert_allclose(got["x"], want["x"], rtol=1e-15)


def test_linearize_stores_only_the_inputs() -> None:
    x = np.linspace(-1, 1, 5)
    plain = saved_residuals(lambda x: fnp.sum(sin3(x)), x)
    assert [str(a) for a, _ in plain] == ["f64[5]"] * 3  # the three cosines
    remat = saved_residuals(checkpoint(lambda x: fnp.sum(sin3(x))), x)
    assert [(str(a), w) for a, w in remat] == [("f64[5]", "from the argument x")]


def test_forward_is_recomputed_on_the_backward_pass() -> None:
    def f(x: Any) -> Any:
        return counted_sin_p.bind(counted_sin_p.bind(x))
    x = np.array([0.1, 0.2])
    runs[0] = 0
    _, pull = fungrad.vjp(f, x)
    assert runs[0] == 2
    pull(np.ones(2))
    assert runs[0] == 2  # residuals saved, nothing recomputed
    runs[0] = 0
    _, pull = fungrad.vjp(checkpoint(f), x)
    assert runs[0] == 2
    (g,) = pull(np.ones(2))
    assert runs[0] == 3  # the inner sin ran again: its output feeds the outer cosine
    np.testing.assert_allclose(g, np.cos(np.sin(x)) * np.cos(x), rtol=1e-15)


def test_policies() -> None:
    x = np.array([0.3, -0.8, 1.1])
    kept = saved_residuals(checkpoint(mlp, policy=checkpoint_policies.dots_saveable), x)
    where = [w for _, w in kept]
    assert any(w.startswith("output of dot_general") for w in where)
    assert "from the argument x" in where
    everything = saved_residuals(checkpoint(mlp, policy=checkpoint_policies.everything_saveable), x)
    assert sorted(str(a) for a, _ in everything) == sorted(
        str(a) for a, _ in saved_residuals(mlp, x))
    nothing = saved_residuals(checkpoint(mlp, policy=checkpoint_policies.nothing_saveable), x)
    assert [w for _, w in nothing if "constant" not in w] == ["from the argument x"]
    for policy in (checkpoint_policies.dots_saveable, checkpoint_policies.everything_saveable):
        np.testing.assert_allclose(fungrad.grad(checkpoint(mlp, policy=policy))(x),
                                   fungrad.grad(mlp)(x), rtol=1e-14)


def test_nested_checkpoints() -> None:
    inner = checkpoint(lambda x: fnp.sin(x) * x)
    outer = checkpoint(lambda x: fnp.sum(fnp.exp(inner(x)) + inner(2 * x)))
    x = np.array([0.4, -0.9])

    def d(x: Any) -> Any:
        h = np.sin(x) * x
        dh = np.cos(x) * x + np.sin(x)
        return np.exp(h) * dh + 2 * (np.cos(2 * x) * 2 * x + np.sin(2 * x))
    np.testing.assert_allclose(fungrad.grad(outer)(x), d(x), rtol=1e-14)
    check_grads(outer, (x,), order=2)


def test_vmap_matches_loop() -> None:
    xs = np.linspace(-1, 1, 4)
    f = checkpoint(sin3)
    np.testing.assert_allclose(fungrad.vmap(f)(xs), [f(x) for x in xs])
    g = fungrad.grad(f)
    np.testing.assert_allclose(fungrad.vmap(g)(xs), [g(x) for x in xs], rtol=1e-15)
    np.testing.assert_allclose(fungrad.grad(lambda xs: fnp.sum(fungrad.vmap(f)(xs)))(xs),
                               d_sin3(xs), rtol=1e-14)
    np.testing.assert_allclose(fungrad.jacrev(fungrad.vmap(f))(xs), np.diag(d_sin3(xs)),
                               rtol=1e-14)


def test_staging_shows_the_recomputation() -> None:
    f = checkpoint(lambda x: fnp.sin(fnp.sin(x)))
    assert [e.primitive.name for e in fungrad.make_jaxpr(f)(1.0).eqns] == ["checkpoint"]
    jaxpr = fungrad.make_jaxpr(fungrad.grad(f))(1.0)
    names = [e.primitive.name for e in jaxpr.eqns]
    assert names[0] == "checkpoint"  # the forward pass, as one equation
    assert "sin" in names[1:]  # the backward pass recomputes the inner sin
    np.testing.assert_allclose(fungrad.jit(fungrad.grad(f))(0.7),
                               np.cos(np.sin(0.7)) * np.cos(0.7), rtol=1e-15)
    np.testing.assert_allclose(fungrad.grad(fungrad.jit(f))(0.7),
                               np.cos(np.sin(0.7)) * np.cos(0.7), rtol=1e-15)


def test_eager_call_is_plain() -> None:
    assert checkpoint(lambda x: x * 2.0)(3.0) == 6.0
    with pytest.raises(TypeError):
        checkpoint(lambda x: x)("not an array")
