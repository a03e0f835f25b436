"""Reductions: values against NumPy, derivatives (order 2, fwd + rev), vmap against a loop."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import fungrad
from fungrad import lax
from fungrad.errors import ShapeError
from fungrad.test_util import check_grads

from test_lax_structural import _values, check_op

REDUCERS = {  # lax function, NumPy reference
    "reduce_sum": (lax.reduce_sum, np.sum),
    "reduce_max": (lax.reduce_max, np.max),
    "reduce_min": (lax.reduce_min, np.min),
    "reduce_prod": (lax.reduce_prod, np.prod),
}


@st.composite
def shape_and_axes(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    axes = tuple(sorted(draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
    return shape, axes


@pytest.mark.parametrize("name", sorted(REDUCERS))
@given(case=shape_and_axes())
def test_reduction(name, case):
    shape, axes = case
    op, np_op = REDUCERS[name]
    check_op(lambda x: op(x, axes), lambda x: np_op(x, axis=axes), [_values(shape)])


@given(case=shape_and_axes(), zeros=st.integers(1, 3))
def test_reduce_prod_gradient_at_zeros(case, zeros):
    shape, axes = case
    x = _values(shape).ravel()
    x[np.random.default_rng(zeros).choice(x.size, min(zeros, x.size), replace=False)] = 0.0
    x = x.reshape(shape)
    jac = fungrad.jacfwd(lambda x: lax.reduce_prod(x, axes))(x)
    eps = 1e-6
    basis = np.eye(x.size).reshape((x.size,) + shape)
    fd = np.stack([(np.prod(x + eps * e, axis=axes) - np.prod(x - eps * e, axis=axes)) / (2 * eps)
                   for e in basis], axis=-1).reshape(jac.shape)
    np.testing.assert_allclose(jac, fd, atol=1e-8)
    check_grads(lambda x: lax.reduce_prod(x, axes), (x,), order=2)


def test_max_min_ties_average_the_tangent():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    _, t = fungrad.jvp(lambda x: lax.reduce_max(x, (1,)), (x,), (np.array([[5.0, 1.0, 2.0], [3.0, 6.0, 9.0]]),))
    np.testing.assert_allclose(t, [1.5, 6.0])
    g = fungrad.grad(lambda x: lax.reduce_sum(lax.reduce_min(x, (1,)), (0,)))(x)
    np.testing.assert_allclose(g, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@given(case=shape_and_axes(), dtype=st.sampled_from([np.int32, np.int64]))
def test_argmax_argmin(name, case, dtype):
    shape, axes = case
    axis = axes[0]
    x = np.round(_values(shape), 1)  # some ties: the first one wins, as in NumPy
    op = getattr(lax, name)
    out = op(x, axis, dtype)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, getattr(np, name)(x, axis=axis))
    batch = np.stack([x, -x], axis=0)
    np.testing.assert_array_equal(fungrad.vmap(lambda x: op(x, axis, dtype))(batch),
                                  np.stack([op(x, axis, dtype), op(-x, axis, dtype)]))
    kept = tuple(d for d in range(len(shape)) if d != axis)

    def f(x):  # argmax has a zero derivative: only the explicit factor x contributes
        idx = lax.convert_element_type(op(x, axis, dtype), x.dtype)
        return lax.reduce_sum(lax.mul(x, lax.broadcast_in_dim(idx, shape, kept)), range(len(shape)))
    want = np.broadcast_to(np.expand_dims(getattr(np, name)(x, axis=axis), axis), shape)
    np.testing.assert_array_equal(fungrad.grad(f)(x), want)


@given(case=shape_and_axes())
def test_reduce_and_or(case):
    shape, axes = case
    x = np.random.default_rng(len(shape)).random(shape) < 0.7
    np.testing.assert_array_equal(lax.reduce_and(x, axes), np.all(x, axis=axes))
    np.testing.assert_array_equal(lax.reduce_or(x, axes), np.any(x, axis=axes))
    out = fungrad.vmap(lambda x: lax.reduce_or(x, axes), in_axes=1)(np.stack([x, ~x], 1))
    np.testing.assert_array_equal(out, np.stack([np.any(x, axis=axes), np.any(~x, axis=axes)]))


def test_float32_and_empty():
    x = _values((3, 4), dtype=np.float32)
    for name, (op, np_op) in REDUCERS.items():
        out = op(x, (1,))
        assert out.dtype == np.float32, name
        np.testing.assert_allclose(out, np_op(x, axis=1), rtol=1e-6)
        check_grads(lambda x: op(x, (1,)), (x,), order=1)
    assert lax.reduce_max(np.zeros((0, 2)), (0,)).tolist() == [-np.inf, -np.inf]
    assert lax.reduce_min(np.zeros((0, 2), np.int32), (0,)).tolist() == [2**31 - 1] * 2


def test_reduction_errors():
    x = np.zeros((2, 3))
    with pytest.raises(ShapeError, match="boolean"):
        fungrad.make_jaxpr(lambda x: lax.reduce_and(x, (0,)))(x)
    with pytest.raises(ShapeError, match="index_dtype"):
        fungrad.make_jaxpr(lambda x: lax.argmax(x, 0, np.float64))(x)
    with pytest.raises(ShapeError, match="non-empty"):
        fungrad.make_jaxpr(lambda x: lax.argmax(x, 0))(np.zeros((0, 2)))
