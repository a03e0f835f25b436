"""Shape ops, dot_general, sorting and cumulative ops: a table of cases, each checked against
NumPy, by finite differences (check_grads, order 2, fwd + rev), under vmap against a Python loop
and through make_jaxpr's shapes."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import fungrad
from fungrad import lax
from fungrad.errors import ShapeError
from fungrad.test_util import check_grads

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def _values(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def check_op(f, np_f, args, order=2, vmap=True, grads=True):
    """f against NumPy, its derivatives, its batching (each argument batched in turn, on a
    random axis) and its staged output shapes."""
    want = np_f(*args)
    np.testing.assert_allclose(f(*args), want, rtol=1e-12, atol=1e-12)
    jaxpr = fungrad.make_jaxpr(f)(*args)
    assert jaxpr.outvars[0].aval.shape == np.shape(want)
    if grads:
        check_grads(f, args, order=order)
    if vmap:
        for i in range(len(args)):
            axis = np.ndim(args[i]) // 2
            batch = np.stack([args[i], 2.0 * args[i] + 1.0, -args[i]], axis=axis)
            in_axes = tuple(axis if j == i else None for j in range(len(args)))
            out = fungrad.vmap(f, in_axes=in_axes)(*args[:i], batch, *args[i + 1:])
            loop = [f(*args[:i], np.take(batch, k, axis), *args[i + 1:]) for k in range(3)]
            np.testing.assert_allclose(out, np.stack(loop), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- the table

def _concatenate(data, shape):
    axis = data.draw(st.integers(0, len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    args = [_values(shape[:axis] + (n,) + shape[axis + 1:], seed=i) for i, n in enumerate(sizes)]
    return (lambda *xs: lax.concatenate(xs, axis)), (lambda *xs: np.concatenate(xs, axis)), args


def _np_pad(x, value, config):
    out = x
    for axis, (lo, hi, interior) in enumerate(config):
        n = out.shape[axis]
        if interior and n > 1:
            idx = np.repeat(np.arange(1, n), interior)
            out = np.insert(out, idx, value, axis=axis)
        out = np.concatenate([np.full(out.shape[:axis] + (max(lo, 0),) + out.shape[axis + 1:], value),
                              out, np.full(out.shape[:axis] + (max(hi, 0),) + out.shape[axis + 1:], value)],
                             axis)
        m = out.shape[axis]
        out = np.take(out, np.arange(max(-lo, 0), m - max(-hi, 0)), axis)
    return out


def _pad(data, shape):
    config = []
    for n in shape:
        interior = data.draw(st.integers(0, 2))
        full = n + (n - 1) * interior
        lo = data.draw(st.integers(-full // 2, 2))
        hi = data.draw(st.integers(-(full + min(lo, 0)) // 2, 2))
        config.append((lo, hi, interior))
    return ((lambda x, v: lax.pad(x, v, config)), (lambda x, v: _np_pad(x, v, config)),
            [_values(shape), np.asarray(0.5)])


def _rev(data, shape):
    dims = data.draw(st.sets(st.integers(0, len(shape) - 1)))
    return (lambda x: lax.rev(x, tuple(dims))), (lambda x: np.flip(x, tuple(dims))), [_values(shape)]


def _squeeze_expand(data, shape):
    where = data.draw(st.integers(0, len(shape)))
    f = lambda x: lax.squeeze(lax.mul(lax.expand_dims(x, (where,)), 2.0), (where,))
    return f, (lambda x: 2.0 * x), [_values(shape)]


def _clamp(data, shape):
    lo_shape = data.draw(st.sampled_from([(), shape]))
    lo = _values(lo_shape, seed=1) - 0.5
    hi = lo + 1.0 + np.abs(_values(lo_shape, seed=2))
    return lax.clamp, lambda lo, x, hi: np.clip(x, lo, hi), [lo, _values(shape) * 2, hi]


def _cumulative(name):
    def case(data, shape):
        axis = data.draw(st.integers(0, len(shape) - 1))
        reverse = data.draw(st.booleans())
        op = getattr(lax, name)
        np_op = {"cumsum": np.cumsum, "cumprod": np.cumprod,
                 "cummax": np.maximum.accumulate, "cummin": np.minimum.accumulate}[name]

        def np_f(x):
            if reverse:
                return np.flip(np_op(np.flip(x, axis), axis=axis), axis)
            return np_op(x, axis=axis)
        return (lambda x: op(x, axis, reverse)), np_f, [_values(shape)]
    return case


def _sort(data, shape):
    axis = data.draw(st.integers(0, len(shape) - 1))
    return (lambda x: lax.sort(x, axis)), (lambda x: np.sort(x, axis)), [_values(shape)]


def _sort_two(data, shape):
    axis = data.draw(st.integers(0, len(shape) - 1))
    keys = np.random.default_rng(3).integers(0, 3, shape).astype(float)  # ties: stability matters

    def np_f(v):
        return np.take_along_axis(v, np.argsort(keys, axis, kind="stable"), axis)
    return (lambda v: lax.sort((keys, v), axis)[1]), np_f, [_values(shape)]


def _take_along(data, shape):
    axis = data.draw(st.integers(0, len(shape) - 1))
    idx = np.argsort(_values(shape, seed=5), axis)
    from fungrad.lax.indexing import take_along_axis
    return ((lambda x: take_along_axis(x, idx, axis)), (lambda x: np.take_along_axis(x, idx, axis)),
            [_values(shape)])


CASES = {
    "concatenate": _concatenate, "pad": _pad, "rev": _rev, "squeeze_expand": _squeeze_expand,
    "clamp": _clamp, "sort": _sort, "sort_two": _sort_two, "take_along_axis": _take_along,
    **{name: _cumulative(name) for name in ("cumsum", "cumprod", "cummax", "cummin")},
}


@pytest.mark.parametrize("name", sorted(CASES))
@given(shape=shapes, data=st.data())
def test_structural_op(name, shape, data):
    f, np_f, args = CASES[name](data, shape)
    check_op(f, np_f, args)


# ---------------------------------------------------------------- dot_general

@st.composite
def dot_case(draw):
    """Random dimension numbers: axis roles shuffled in each operand."""
    nb, nc, nlf, nrf = (draw(st.integers(0, 2)) for _ in range(4))
    sizes = {role: [draw(st.integers(1, 3)) for _ in range(n)]
             for role, n in (("b", nb), ("c", nc), ("l", nlf), ("r", nrf))}
    lhs_axes = [("b", i) for i in range(nb)] + [("c", i) for i in range(nc)] + [("l", i) for i in range(nlf)]
    rhs_axes = [("b", i) for i in range(nb)] + [("c", i) for i in range(nc)] + [("r", i) for i in range(nrf)]
    lhs_axes = draw(st.permutations(lhs_axes))
    rhs_axes = draw(st.permutations(rhs_axes))
    dims = ((tuple(lhs_axes.index(("c", i)) for i in range(nc)),
             tuple(rhs_axes.index(("c", i)) for i in range(nc))),
            (tuple(lhs_axes.index(("b", i)) for i in range(nb)),
             tuple(rhs_axes.index(("b", i)) for i in range(nb))))
    letter = {("b", i): "ab"[i] for i in range(nb)} | {("c", i): "cd"[i] for i in range(nc)}
    letter |= {("l", i): "ef"[i] for i in range(nlf)} | {("r", i): "gh"[i] for i in range(nrf)}
    out = "".join(letter[("b", i)] for i in range(nb)) + "".join(
        letter[a] for a in lhs_axes if a[0] == "l") + "".join(letter[a] for a in rhs_axes if a[0] == "r")
    spec = f"{''.join(letter[a] for a in lhs_axes)},{''.join(letter[a] for a in rhs_axes)}->{out}"
    lhs = _values(tuple(sizes[a[0]][a[1]] for a in lhs_axes), seed=1)
    rhs = _values(tuple(sizes[a[0]][a[1]] for a in rhs_axes), seed=2)
    return lhs, rhs, dims, spec


@given(dot_case())
def test_dot_general(case):
    lhs, rhs, dims, spec = case
    check_op(lambda a, b: lax.dot_general(a, b, dims), lambda a, b: np.einsum(spec, a, b), [lhs, rhs])


def test_dot_general_both_batched_and_float32():
    a, b = _values((3, 2, 4), dtype=np.float32), _values((3, 4, 5), seed=1, dtype=np.float32)
    f = lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ())))
    out = fungrad.vmap(f)(a, b)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, a @ b, rtol=1e-6)
    check_grads(f, (a[0], b[0]), order=2)
    out64 = lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,))), preferred_element_type=np.float64)
    assert out64.dtype == np.float64
    np.testing.assert_allclose(out64, a.astype(float) @ b.astype(float), rtol=1e-12)


def test_dot_common_cases_use_matmul_layout():
    x, w = _values((5, 3)), _values((3, 4), seed=1)
    np.testing.assert_allclose(lax.dot(x, w), x @ w, rtol=1e-14)
    np.testing.assert_allclose(lax.dot(x, w[:, 0]), x @ w[:, 0], rtol=1e-14)
    np.testing.assert_allclose(lax.dot(w[:, 0], w[:, 1]), w[:, 0] @ w[:, 1], rtol=1e-14)
    g = fungrad.grad(lambda w: lax.reduce_sum(lax.tanh(lax.dot(x, w)), (0, 1)))(w)
    np.testing.assert_allclose(g, x.T @ (1 - np.tanh(x @ w) ** 2), rtol=1e-12)


# ---------------------------------------------------------------- special values


def test_sort_argsort_top_k():
    x = np.array([[3.0, np.nan, 1.0, 3.0], [0.0, -1.0, 2.0, 2.0]])
    np.testing.assert_array_equal(lax.sort(x), np.sort(x))
    np.testing.assert_array_equal(lax.argsort(x, 1), np.argsort(x, 1, kind="stable"))
    np.testing.assert_array_equal(lax.argsort(x, 0), np.argsort(x, 0, kind="stable"))
    vals, idx = lax.top_k(x[1], 3)
    np.testing.assert_array_equal(idx, [2, 3, 0])
    np.testing.assert_array_equal(vals, [2.0, 2.0, 0.0])
    g = fungrad.grad(lambda x: lax.reduce_sum(lax.mul(lax.top_k(x, 2)[0], np.array([1.0, 10.0])), (0,)))(x[1])
    np.testing.assert_array_equal(g, [0, 0, 1, 10])


def test_cumprod_gradient_with_zeros():
    x = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    jac = fungrad.jacfwd(lambda x: lax.cumprod(x))(x)
    eps = 1e-6
    fd = np.stack([(np.cumprod(x + eps * e) - np.cumprod(x - eps * e)) / (2 * eps) for e in np.eye(5)], 1)
    np.testing.assert_allclose(jac, fd, atol=1e-8)
    check_grads(lax.cumprod, (x,), order=2)


def test_cummax_tangent_follows_the_running_max():
    x = np.array([1.0, 3.0, 2.0, 3.0, 0.5])
    _, t = fungrad.jvp(lambda x: lax.cummax(x), (x,), (np.arange(5.0),))
    np.testing.assert_array_equal(t, [0, 1, 1, 3, 3])  # ties: the latest equal entry
    _, t = fungrad.jvp(lambda x: lax.cummin(x, reverse=True), (x,), (np.arange(5.0),))
    np.testing.assert_array_equal(t, [4, 4, 4, 4, 4])


def test_iota():
    np.testing.assert_array_equal(lax.iota(np.int32, 4), np.arange(4, dtype=np.int32))
    np.testing.assert_array_equal(lax.broadcasted_iota(np.float64, (2, 3), 0),
                                  np.broadcast_to(np.arange(2.0)[:, None], (2, 3)))


def test_shape_errors_name_the_user_line():
    x = np.zeros((2, 3))
    bad = [
        (lambda x: lax.concatenate([x, np.zeros((3, 3))], 1), "concatenate"),
        (lambda x: lax.pad(x, 0.0, [(0, 0, 0)]), "pad"),
        (lambda x: lax.pad(x, 0.0, [(-3, 0, 0), (0, 0, 0)]), "negative"),
        (lambda x: lax.dot_general(x, x, (((1,), (1,)), ((), (0,)))), "batch"),
        (lambda x: lax.dot_general(x, x, (((0,), (1,)), ((), ()))), "contracting"),
        (lambda x: lax.clamp(np.zeros(3), x, 1.0), "clamp"),
        (lambda x: lax.sort((x, np.zeros(3))), "sort"),
    ]
    for f, match in bad:
        with pytest.raises(ShapeError, match=match) as e:
            fungrad.make_jaxpr(f)(x)
        assert "test_lax_structural.py" in str(e.value)
    with pytest.raises(ShapeError, match="size 1"):
        lax.squeeze(x, (0,))
