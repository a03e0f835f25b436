"""``x[idx]``, ``x.at[idx].op(v)``, take and take_along_axis against NumPy, with gradients."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fungrad
import fungrad.numpy as fnp
from fungrad.errors import ConcretizationError
from fungrad.numpy.indexing import getitem
from fungrad.test_util import check_grads
from test_numpy_util import assert_like_numpy, floats

X = np.arange(120.0).reshape(4, 5, 6) / 7.0

# Each index works on an array of shape (4, 5, 6), in NumPy and in fungrad.
INDICES: list[Any] = [
    1, -1, (1, 2), (1, 2, 3), (-1, -2, -3), slice(1, 3), slice(None, None, -1),
    (slice(None, None, 2), 1), (Ellipsis, 0), (None, slice(1, None), slice(None, None, -2)),
    (slice(None), None), (1, Ellipsis, None), slice(2, 1), slice(-10, 10),
    (slice(3, 0, -2), slice(None), slice(-1, None)), (Ellipsis,), (),
    np.array([0, 2]), [0, -1], np.array([[0, 1], [1, 3]]), (slice(None), [0, 1], [1, 2]),
    ([0, 1], slice(None), [1, 2]), (1, slice(None), [0, 5]), (np.array([2, 0]), Ellipsis, 1),
    (None, [1, 2], None), np.array([True, False, True, True]),
    (slice(None), np.array([True, False, False, True, True])),
    (np.int64(2), slice(None), np.array(-1)),
]


@pytest.mark.parametrize("idx", INDICES, ids=[repr(i).replace(" ", "") for i in INDICES])
def test_getitem_matches_numpy(idx: Any) -> None:
    assert_like_numpy(getitem(X, idx),
                      X[idx])
    jaxpr = fungrad.make_jaxpr(lambda x: x[idx])(X)
    assert [a.shape for a in jaxpr.out_avals] == [X[idx].shape]
    out, tangent = fungrad.jvp(lambda x: x[idx], (X,), (np.ones_like(X),))
    assert_like_numpy(out, X[idx])
    assert_like_numpy(tangent, np.ones_like(X)[idx])


@pytest.mark.parametrize("idx", [1, (slice(None, None, -1), 2), [0, 0, 3],
                                 (slice(None), [1, 1], [0, 5])],
                         ids=["int", "reversed", "repeated", "advanced"])
def test_getitem_grads(idx: Any) -> None:
    check_grads(lambda x: x[idx] ** 2, (X[:3, :4, :5] if idx == 1 else X,), order=2)


@st.composite
def array_and_basic_index(draw: Any) -> tuple[Any, Any]:
    x = draw(floats(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)))
    idx = draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True))
    return x, idx


@settings(max_examples=25)
@given(case=array_and_basic_index())
def test_basic_indexing_hypothesis(case: tuple[Any, Any]) -> None:
    x, idx = case
    assert_like_numpy(getitem(x, idx), x[idx])
    assert_like_numpy(fungrad.jvp(lambda v: v[idx], (x,), (x,))[1], x[idx])


@st.composite
def array_and_int_index(draw: Any) -> tuple[Any, Any]:
    x = draw(floats(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)))
    idx = draw(hnp.integer_array_indices(x.shape, result_shape=hnp.array_shapes(max_dims=2,
                                                                                max_side=3)))
    return x, idx


@settings(max_examples=25)
@given(case=array_and_int_index())
def test_integer_array_indexing_hypothesis(case: tuple[Any, Any]) -> None:
    x, idx = case
    assert_like_numpy(getitem(x, idx), x[idx])
    # reverse mode: the gradient of sum(x[idx]) counts how often each element is picked
    counts = np.zeros_like(x)
    np.add.at(counts, idx, 1.0)
    assert_like_numpy(fungrad.grad(lambda v: fnp.sum(v[idx]))(x), counts)


def test_traced_integer_scalar_index() -> None:
    f = lambda x, i: x[i, 1:]  # noqa: E731
    jaxpr = fungrad.make_jaxpr(f)(X, np.int64(2))
    assert [a.shape for a in jaxpr.out_avals] == [(4, 6)]
    i = np.array([0, 3, -1])
    want = np.stack([X[0, 1:], X[3, 1:], X[-1, 1:]])
    # a NumPy array indexed by a tracer is NumPy's business: use getitem (or fnp.take) on it
    got = fungrad.vmap(lambda x, i: getitem(x, (i, slice(1, None))), in_axes=(None, 0))(X, i)
    assert_like_numpy(got, want)
    assert_like_numpy(fungrad.vmap(f)(np.stack([X] * 3), i), want)


@pytest.mark.parametrize("shape", [(3,), (1,), (2, 3), (1, 4), (3, 1, 2)])
def test_int_index_stages_what_the_general_path_does(shape: tuple[int, ...]) -> None:
    """``x[i]`` (its own fast path) stages the program of ``x[i, ...]`` (the general one)."""
    x = np.arange(float(np.prod(shape))).reshape(shape)
    for i in range(-shape[0], shape[0]):
        assert str(fungrad.make_jaxpr(lambda x: x[i])(x)) == \
            str(fungrad.make_jaxpr(lambda x: x[i, ...])(x))
        np.testing.assert_array_equal(fungrad.jit(lambda x: x[i])(x), x[i])


def test_boolean_mask_concrete_under_grad_traced_under_jit() -> None:
    x = np.array([-1.0, 2.0, -3.0, 4.0])
    g = fungrad.grad(lambda v: fnp.sum(v[v > 0] ** 2))(x)
    assert_like_numpy(g, np.where(x > 0, 2 * x, 0.0))
    with pytest.raises(ConcretizationError, match=r"where[\s\S]*test_indexing.py"):
        fungrad.make_jaxpr(lambda v: v[v > 0])(x)


def test_out_of_bounds() -> None:
    with pytest.raises(IndexError):
        getitem(X, 4)
    with pytest.raises(IndexError):
        getitem(X, np.array([0, 9]))
    with pytest.raises(IndexError):
        getitem(X, (0, 0, 0, 0))


# ---------------------------------------------------------------- x.at[idx]
def _numpy_update(x: Any, idx: Any, v: Any, op: str) -> Any:
    out = x.copy()
    if op == "set":
        out[idx] = v
        return out
    ufunc = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}.get(op)
    if ufunc is not None:
        ufunc.at(out, idx, v)
        return out
    factors = np.ones_like(x)
    np.multiply.at(factors, idx, v)
    return x / factors if op == "divide" else x ** factors


UPDATE_INDICES = [1, (slice(1, 3), 2), np.array([0, 2, 0]), (slice(None), [1, 1], [0, 4])]


@pytest.mark.parametrize("op", ["set", "add", "multiply", "divide", "power", "min", "max"])
@pytest.mark.parametrize("idx", UPDATE_INDICES, ids=["int", "slices", "repeated", "advanced"])
def test_at_updates_match_numpy(op: str, idx: Any) -> None:
    x = np.abs(X) + 0.5
    v = np.full(x[idx].shape, 1.5) + np.arange(x[idx].size).reshape(x[idx].shape) / 10
    if op == "set" and isinstance(idx, np.ndarray):
        v = 2.0  # repeated indices with set: NumPy keeps the last, scalars avoid ambiguity
    got = getattr(fnp.at(x)[idx], op)(v)
    assert_like_numpy(got, _numpy_update(x, idx, v, op))
    assert_like_numpy(fnp.at(x)[idx].get(), x[idx])


@pytest.mark.parametrize("op", ["set", "add", "multiply", "min", "max"])
def test_at_update_grads(op: str) -> None:
    x = np.linspace(0.5, 2.0, 12).reshape(3, 4)
    v = np.array([[3.0, 0.7], [1.1, 0.2]])
    idx = (slice(0, 2), np.array([0, 3]))

    def f(x: Any, v: Any) -> Any:
        return getattr(fnp.at(x)[idx], op)(v) * x

    check_grads(f, (x, v), order=2)


def test_at_under_jit_and_vmap() -> None:
    f = lambda x, v: fnp.at(x)[1].add(v)  # noqa: E731
    x, v = np.zeros((3, 2)), np.arange(6.0).reshape(3, 2)
    got = fungrad.vmap(f, in_axes=(None, 0))(x, v)
    assert_like_numpy(got, np.stack([_numpy_update(x, 1, r, "add") for r in v]))
    jaxpr = fungrad.make_jaxpr(f)(x, v[0])
    assert [a.shape for a in jaxpr.out_avals] == [(3, 2)]


# ---------------------------------------------------------------- take, take_along_axis
TAKE_CASES: list[tuple[str, Callable[..., Any]]] = [
    ("take_flat", lambda m, x: m.take(x, np.array([0, 5, 7]))),
    ("take_axis1", lambda m, x: m.take(x, np.array([[1, 0], [2, 2]]), axis=1)),
    ("take_neg_axis", lambda m, x: m.take(x, [0, -1], axis=-1)),
    ("take_wrap", lambda m, x: m.take(x, [7, -9], axis=0, mode="wrap")),
    ("take_along_0", lambda m, x: m.take_along_axis(x, np.array([[2, 0, 1]] * 2), axis=0)),
    ("take_along_1", lambda m, x: m.take_along_axis(x, np.array([[0], [2], [1]]), axis=1)),
    ("take_along_none", lambda m, x: m.take_along_axis(x, np.array([3, 0]), axis=None)),
]


@pytest.mark.parametrize("name,fn", TAKE_CASES, ids=[c[0] for c in TAKE_CASES])
def test_take_matches_numpy(name: str, fn: Callable[..., Any]) -> None:
    x = np.array([[3.0, 1.0, 2.0], [0.5, 7.0, -1.0], [4.0, 4.5, 0.0]])
    assert_like_numpy(fn(fnp, x), fn(np, x))
    check_grads(lambda v: fn(fnp, v), (x,), order=1)


def test_at_out_of_bounds_is_dropped_or_clamped_like_jax() -> None:
    x = np.zeros(3)
    assert_like_numpy(fnp.at(x)[5].set(1.0), x)
    assert_like_numpy(fnp.at(x)[np.array([0, 5])].add(1.0), np.array([1.0, 0.0, 0.0]))
    assert_like_numpy(fnp.at(x)[np.array([0, 5])].add(1.0, mode="clip"),
                      np.array([1.0, 0.0, 1.0]))


@settings(max_examples=10)
@given(a=hnp.arrays(np.int64, hnp.array_shapes(max_dims=3, max_side=4),
                    elements=st.integers(0, 2)), size=st.integers(0, 8))
def test_nonzero_with_static_size_under_jit(a: Any, size: int) -> None:
    want = np.nonzero(a)
    padded = tuple(np.concatenate([w[:size], np.full(max(size - len(w), 0), -1)]) for w in want)
    got = fungrad.jit(lambda v: fnp.nonzero(v, size=size, fill_value=-1))(a)
    assert_like_numpy(got, padded)
    assert_like_numpy(fnp.where(a), want)


@settings(max_examples=10)
@given(a=hnp.arrays(np.int64, hnp.array_shapes(max_dims=2, max_side=5), elements=st.integers(0, 6)),
       size=st.integers(1, 8))
def test_unique_and_bincount(a: Any, size: int) -> None:
    assert_like_numpy(fnp.unique(a), np.unique(a))
    assert_like_numpy(fnp.unique(a, return_counts=True), np.unique(a, return_counts=True))
    u = np.unique(a)
    want = np.concatenate([u[:size], np.full(max(size - len(u), 0), -1)])
    assert_like_numpy(fungrad.jit(lambda v: fnp.unique(v, size=size, fill_value=-1))(a), want)
    flat = a.ravel()
    assert_like_numpy(fnp.bincount(flat), np.bincount(flat))
    w = np.linspace(0.5, 1.5, flat.size)
    assert_like_numpy(fnp.bincount(flat, w, minlength=9), np.bincount(flat, w, minlength=9))
    got = fungrad.jit(lambda v: fnp.bincount(v, length=4))(flat)
    assert_like_numpy(got, np.bincount(flat, minlength=7)[:4])
    g = fungrad.grad(lambda w: fnp.sum(fnp.bincount(flat, w, length=7) ** 2))(w)
    assert_like_numpy(g, 2 * np.bincount(flat, w, minlength=7)[flat])
