"""Mutation safety: editing arrays in place after a transform never changes what it returned or
what a saved pullback / linearized function computes, and no result aliases a caller's array."""
import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad import custom_vjp, jit, jvp, linearize, vjp, vmap


def _fresh():
    return np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])


def test_vjp_pullback_uses_values_of_the_call_after_input_edit():
    x, _ = _fresh()
    _, pb = vjp(lambda x: fnp.sum(x * x), x)
    x[:] = 0.0
    np.testing.assert_allclose(pb(1.0)[0], [2.0, 4.0, 6.0])


def test_vjp_pullback_after_closure_edit():
    x, w = _fresh()
    _, pb = vjp(lambda x: fnp.sum(fnp.sin(x) * w), x)
    expected = w * np.cos(x)
    w[:] = 100.0
    np.testing.assert_allclose(pb(1.0)[0], expected)


def test_vjp_pullback_after_view_of_closure_edit():
    x, _ = _fresh()
    m = np.arange(9.0).reshape(3, 3)
    _, pb = vjp(lambda x: fnp.sum(m.T @ x), x)
    expected = m.T.sum(0)
    m[:] = -1.0
    np.testing.assert_allclose(pb(1.0)[0], expected)


def test_vjp_pullback_after_output_edit():
    x, _ = _fresh()
    y, pb = vjp(fnp.exp, x)      # exp saves its own output as the residual
    y[:] = 0.0
    np.testing.assert_allclose(pb(np.ones(3))[0], np.exp(x))


def test_linearize_after_input_edit():
    x, t = _fresh()
    _, f_jvp = linearize(lambda x: x * x, x)
    expected = 2 * x * t
    x[:] = 7.0
    np.testing.assert_allclose(f_jvp(t), expected)


def test_custom_vjp_residual_after_input_edit():
    @custom_vjp
    def f(x):
        return fnp.sin(x)

    f.defvjp(lambda x: (fnp.sin(x), (x,)), lambda res, g: (g * fnp.cos(res[0]),))
    x, _ = _fresh()
    expected = np.cos(x)
    _, pb = vjp(f, x)
    x[:] = 0.0
    np.testing.assert_allclose(pb(np.ones(3))[0], expected)


def test_pullback_results_are_independent_between_calls():
    x, w = _fresh()
    _, pb = vjp(lambda x: x * w, x)
    g1 = pb(np.ones(3))[0]
    g1[:] = 0.0
    np.testing.assert_allclose(pb(np.ones(3))[0], w)


@pytest.mark.parametrize("make", [
    lambda x: vjp(lambda x: x, x)[0],
    lambda x: vjp(lambda x: x.reshape(3, 1), x)[0],
    lambda x: vjp(lambda x: (x, fungrad.lax.stop_gradient(x)), x)[0][1],
    lambda x: vjp(lambda x: (fnp.sum(x), x), x, has_aux=True)[2],
    lambda x: vjp(lambda x: x, x)[1](x)[0],
    lambda x: jvp(lambda x: x, (x,), (x,))[0],
    lambda x: jvp(lambda x: x, (x,), (x,))[1],
    lambda x: linearize(lambda x: x, x)[0],
    lambda x: linearize(lambda x: x, x)[1](x),
    lambda x: vmap(lambda x: x)(x),
    lambda x: vmap(lambda x: x, in_axes=None, out_axes=None, axis_size=2)(x),
    lambda x: fungrad.value_and_grad(lambda x: (fnp.sum(x), x), has_aux=True)(x)[0][1],
    lambda x: jit(lambda x: x)(x),
], ids=["vjp", "vjp-reshape", "stop_gradient", "aux", "pullback", "jvp-primal", "jvp-tangent",
        "linearize", "f_jvp", "vmap", "vmap-unbatched", "grad-aux", "jit"])
def test_no_output_aliases_an_input(make):
    x, _ = _fresh()
    out = make(x)
    assert not np.shares_memory(out, x)


def test_closure_returned_as_is_is_copied():
    x, w = _fresh()
    assert not np.shares_memory(vjp(lambda x: (x, w), x)[0][1], w)
    assert not np.shares_memory(vmap(lambda x: w, axis_size=3, out_axes=None)(x), w)
