"""gather / scatter / slices: NumPy's results and shapes, derivatives, batching, bad input."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import fungrad
from fungrad import lax
from fungrad.errors import ShapeError
from fungrad.test_util import check_grads

# ---------------------------------------------------------------- random NumPy indices


@st.composite
def shape_and_index(draw, max_rank=4, arrays=True):
    """A shape and a NumPy index of it: ints, slices, None, Ellipsis, in-bounds integer arrays."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=max_rank)))
    block = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    n_consume = draw(st.integers(0, len(shape)))
    use_ellipsis = draw(st.booleans())
    kinds = [draw(st.sampled_from(["int", "slice", "array", "array"] if arrays else ["int", "slice"]))
             for _ in range(n_consume)]
    entries, axis = [], 0
    ell_at = draw(st.integers(0, n_consume)) if use_ellipsis else None
    skipped = len(shape) - n_consume
    for i, kind in enumerate(kinds + [None]):
        if i == ell_at:
            entries.append(Ellipsis)
            axis += skipped
        if kind is None:
            break
        if draw(st.booleans()) and draw(st.booleans()):
            entries.append(None)
        n = shape[axis]
        if kind == "int":
            entries.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            lo, hi = draw(st.one_of(st.none(), st.integers(-n, n))), draw(st.one_of(st.none(), st.integers(-n, n)))
            step = draw(st.sampled_from([None, 1, 2, -1]))
            entries.append(slice(lo, hi, step))
        else:
            k = draw(st.integers(0, len(block)))
            sub = tuple(1 if draw(st.booleans()) else d for d in block[len(block) - k:])
            seed = draw(st.integers(0, 2**16))
            entries.append(np.random.default_rng(seed).integers(-n, n, size=sub))
        axis += 1
    return shape, tuple(entries)


def total(x):
    return lax.reduce_sum(x, range(x.ndim))


def _values(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------- gather


@given(shape_and_index())
def test_gather_matches_numpy_value_and_shape(case):
    shape, index = case
    x = _values(shape)
    expected = x[index]
    np.testing.assert_array_equal(lax.gather(x, index), expected)
    jaxpr = fungrad.make_jaxpr(lambda x: lax.gather(x, index))(x)
    assert jaxpr.outvars[0].aval.shape == expected.shape


_I = np.array([[0, 1, 2]])
TRICKY = [  # where NumPy puts the advanced-index dimensions
    (slice(None), _I, None, _I), (slice(None), _I, None, slice(None), 0), (slice(None), 0, None, _I),
    (slice(None), None, 0, _I), (None, slice(None), _I, _I), (slice(None), _I, Ellipsis, _I),
    (slice(None), slice(None), _I, Ellipsis, _I), (0, slice(None), _I), (slice(None), 0, _I),
    (np.array(1), slice(None), _I), (_I, slice(None), np.array(1)), (Ellipsis, _I, 1),
    (slice(None), _I.T, slice(1, None), _I),
]


@pytest.mark.parametrize("index", TRICKY)
def test_gather_shape_tricky_cases(index):
    x = _values((3, 4, 5, 6))
    jaxpr = fungrad.make_jaxpr(lambda x: lax.gather(x, index))(x)
    assert jaxpr.outvars[0].aval.shape == x[index].shape
    np.testing.assert_array_equal(lax.gather(x, index), x[index])
    xs = _values((2, 3, 4, 5, 6))
    out = fungrad.vmap(lambda x: lax.gather(x, index), in_axes=1, out_axes=2)(np.moveaxis(xs, 0, 1))
    np.testing.assert_array_equal(out, np.stack([x[index] for x in xs], axis=2))


@given(shape_and_index(max_rank=3))
def test_gather_grads(case):
    shape, index = case
    check_grads(lambda x: lax.gather(x, index), (_values(shape),), order=2)


@given(shape_and_index(max_rank=3))
def test_gather_grads_float32(case):
    shape, index = case
    x = _values(shape, dtype=np.float32)
    assert lax.gather(x, index).dtype == np.float32
    check_grads(lambda x: lax.gather(x, index), (x,), order=1)


def test_gather_traced_scalar_index():
    x = _values((4, 3))
    for i in range(-4, 4):
        f = lambda x, i: lax.mul(lax.gather(x, (slice(None), 1)), lax.gather(x, (i, 2)))
        np.testing.assert_allclose(f(x, np.array(i)), x[:, 1] * x[i, 2])
        g = fungrad.grad(lambda x: lax.integer_pow(lax.gather(x, (np.array(i), 2)), 2))(x)
        expected = np.zeros_like(x)
        expected[i, 2] = 2 * x[i, 2]
        np.testing.assert_allclose(g, expected)


def test_gather_out_of_bounds_clip_and_fill():
    x = np.arange(5.0)
    idx = np.array([7, -9, 2, -1])
    np.testing.assert_array_equal(lax.gather(x, (idx,)), x[np.clip(np.where(idx < 0, idx + 5, idx), 0, 4)])
    filled = lax.gather(x, (idx,), mode="fill", fill_value=-3.0)
    np.testing.assert_array_equal(filled, [-3.0, -3.0, 2.0, 4.0])
    assert np.isnan(lax.gather(x, (idx,), mode="fill")[:2]).all()
    # the gradient of filled entries is zero; of clamped entries it lands on the edge
    g = fungrad.grad(lambda x: total(lax.gather(x, (idx,), mode="fill", fill_value=1.0)))(x)
    np.testing.assert_array_equal(g, [0, 0, 1, 0, 1])
    g = fungrad.grad(lambda x: total(lax.gather(x, (idx,))))(x)
    np.testing.assert_array_equal(g, [1, 0, 1, 0, 2])


@given(shape_and_index(max_rank=3), st.sampled_from(["x", "idx", "both"]))
def test_gather_vmap_matches_loop(case, which):
    shape, index = case
    arr_pos = [i for i, e in enumerate(index) if isinstance(e, np.ndarray)]
    if which != "x" and not arr_pos:
        which = "x"
    b = 3
    xs = _values((b,) + shape) if which != "idx" else _values(shape)
    rng = np.random.default_rng(1)
    idx_b = [rng.integers(-shape[_axis_of(index, p, len(shape))], shape[_axis_of(index, p, len(shape))],
                          size=(b,) + index[p].shape) if which != "x" else index[p] for p in arr_pos]

    def f(x, *arrs):
        full = list(index)
        for p, a in zip(arr_pos, arrs):
            full[p] = a
        return lax.gather(x, tuple(full))

    in_axes = (0 if which != "idx" else None,) + (None if which == "x" else 0,) * len(arr_pos)
    out = fungrad.vmap(f, in_axes=in_axes)(xs, *idx_b)
    loop = np.stack([f(xs[k] if which != "idx" else xs,
                       *[a[k] if which != "x" else a for a in idx_b]) for k in range(b)])
    np.testing.assert_array_equal(out, loop)


def _axis_of(index, pos, ndim):
    """The axis of x that entry ``pos`` of ``index`` indexes."""
    axis = 0
    for i, e in enumerate(index):
        if i == pos:
            return axis
        if e is Ellipsis:
            axis += ndim - sum(1 for f in index if f is not None and f is not Ellipsis)
        elif e is not None:
            axis += 1
    raise AssertionError


def test_gather_vmap_of_nonadjacent_advanced_indices():
    x = _values((5, 4, 3))
    i = np.array([[0, 4], [1, 2]])
    j = np.array([[2, 0], [1, 1]])
    f = lambda x, i, j: lax.gather(x, (i, slice(None), j))
    out = fungrad.vmap(f, in_axes=(None, 1, 0))(x, i, j)
    np.testing.assert_array_equal(out, np.stack([x[i[:, k], :, j[k]] for k in range(2)]))


# ---------------------------------------------------------------- scatter

MODES = {
    "set": lambda out, idx, u: out.__setitem__(idx, u),
    "add": lambda out, idx, u: np.add.at(out, idx, u),
    "mul": lambda out, idx, u: np.multiply.at(out, idx, u),
    "min": lambda out, idx, u: np.minimum.at(out, idx, u),
    "max": lambda out, idx, u: np.maximum.at(out, idx, u),
}


def _numpy_scatter(x, index, u, mode):
    out = x.copy()
    MODES[mode](out, index, np.broadcast_to(u, x[index].shape))
    return out


@given(shape_and_index(), st.sampled_from(sorted(MODES)))
def test_scatter_matches_numpy(case, mode):
    shape, index = case
    x = _values(shape)
    u = _values(x[index].shape, seed=1)
    np.testing.assert_array_equal(lax.scatter(x, index, u, mode), _numpy_scatter(x, index, u, mode))
    jaxpr = fungrad.make_jaxpr(lambda x, u: lax.scatter(x, index, u, mode))(x, u)
    assert jaxpr.outvars[0].aval.shape == shape


@given(shape_and_index(max_rank=3), st.sampled_from(sorted(MODES)))
def test_scatter_grads(case, mode):
    shape, index = case
    x = _values(shape)
    u = _values(x[index].shape, seed=1)
    check_grads(lambda x, u: lax.scatter(x, index, u, mode), (x, u), order=2)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_scatter_grads_with_repeated_indices(mode):
    x = _values((4, 3))
    idx = np.array([1, 3, 1, 1, 0])
    u = _values((5, 3), seed=2)
    check_grads(lambda x, u: lax.scatter(x, (idx,), u, mode), (x, u), order=2)
    # broadcast updates: one row for every index
    check_grads(lambda x, u: lax.scatter(x, (idx,), u, mode), (x, u[0]), order=1)


def test_scatter_mul_grad_is_zero_safe():
    x = np.array([2.0, 3.0, 5.0])
    idx = np.array([0, 0, 1, 2])
    u = np.array([0.0, 4.0, 0.0, 7.0])  # two updates meet a zero at index 0 and 1
    gx, gu = fungrad.grad(lambda x, u: total(lax.scatter(x, (idx,), u, "mul")), argnums=(0, 1))(x, u)
    # out = [x0*u0*u1, x1*u2, x2*u3]
    np.testing.assert_allclose(gx, [0.0, 0.0, 7.0])
    np.testing.assert_allclose(gu, [x[0] * u[1], x[0] * u[0], x[1], x[2]])


def test_scatter_min_max_ties_share_the_tangent():
    x = np.array([1.0, 5.0])
    u = np.array([1.0, 1.0])
    idx = np.array([0, 0])
    gx, gu = fungrad.grad(lambda x, u: total(lax.scatter(x, (idx,), u, "min")), argnums=(0, 1))(x, u)
    np.testing.assert_allclose(gx, [1 / 3, 1.0])
    np.testing.assert_allclose(gu, [1 / 3, 1 / 3])


def test_scatter_out_of_bounds_dropped_or_clipped():
    x = np.zeros(4)
    idx = np.array([1, 5, -1, -6])
    u = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(lax.scatter(x, (idx,), u, "add"), [0, 1, 0, 3])
    np.testing.assert_array_equal(lax.scatter(x, (idx,), u, "add", oob="clip"), [4, 1, 0, 5])
    gu = fungrad.grad(lambda u: total(lax.mul(lax.scatter(x, (idx,), u, "set"), np.arange(4.0))))(u)
    np.testing.assert_array_equal(gu, [1, 0, 3, 0])


@given(shape_and_index(max_rank=3), st.sampled_from(sorted(MODES)),
       st.sampled_from(["x", "u", "idx", "all"]))
def test_scatter_vmap_matches_loop(case, mode, which):
    shape, index = case
    arr_pos = [i for i, e in enumerate(index) if isinstance(e, np.ndarray)]
    b = 2
    xs = _values((b,) + shape)
    us = _values((b,) + _values(shape)[index].shape, seed=3)
    rng = np.random.default_rng(1)
    idx_b = [rng.integers(-shape[_axis_of(index, p, len(shape))], shape[_axis_of(index, p, len(shape))],
                          size=(b,) + index[p].shape) for p in arr_pos]

    def f(x, u, *arrs):
        full = list(index)
        for p, a in zip(arr_pos, arrs):
            full[p] = a
        return lax.scatter(x, tuple(full), u, mode)

    bx, bu, bi = which in ("x", "all"), which in ("u", "all"), which in ("idx", "all")
    args = (xs if bx else xs[0], us if bu else us[0], *[a if bi else a[0] for a in idx_b])
    in_axes = (0 if bx else None, 0 if bu else None) + (0 if bi else None,) * len(arr_pos)
    if not (bx or bu or (bi and arr_pos)):
        return
    out = fungrad.vmap(f, in_axes=in_axes)(*args)
    loop = np.stack([f(*[a[k] if ax == 0 else a for a, ax in zip(args, in_axes)]) for k in range(b)])
    np.testing.assert_array_equal(out, loop)


def test_scatter_vmap_batch_axis_not_first():
    x = _values((3, 5))
    u = _values((2, 5), seed=1)  # the updates of each column: batched along axis 1
    idx = np.array([2, 0])
    out = fungrad.vmap(lambda x, u: lax.scatter(x, (idx,), u, "add"), in_axes=(1, 1), out_axes=1)(x, u)
    np.testing.assert_array_equal(out, _numpy_scatter(x, (idx,), u, "add"))


# ---------------------------------------------------------------- slices


@given(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.data())
def test_slice_matches_numpy_and_grads(shape, data):
    starts = [data.draw(st.integers(0, n)) for n in shape]
    limits = [data.draw(st.integers(s, n)) for s, n in zip(starts, shape)]
    strides = [data.draw(st.integers(1, 3)) for _ in shape]
    x = _values(shape)
    f = lambda x: lax.slice(x, starts, limits, strides)
    np.testing.assert_array_equal(f(x), x[tuple(slice(*a) for a in zip(starts, limits, strides))])
    check_grads(f, (x,), order=2)
    out = fungrad.vmap(f, in_axes=1, out_axes=1)(np.stack([x, 2 * x], axis=1))
    np.testing.assert_array_equal(out, np.stack([f(x), f(2 * x)], axis=1))


def _np_dynamic_slice(x, starts, sizes):
    starts = [min(max(s, 0), n - k) for s, n, k in zip(starts, x.shape, sizes)]
    return x[tuple(slice(s, s + k) for s, k in zip(starts, sizes))], starts


@given(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.data())
def test_dynamic_slice_and_update(shape, data):
    sizes = [data.draw(st.integers(0, n)) for n in shape]
    starts = [data.draw(st.integers(-2, n + 2)) for n in shape]  # clamped so the block fits
    x = _values(shape)
    expected, fixed = _np_dynamic_slice(x, starts, sizes)
    ds = lambda x, *s: lax.dynamic_slice(x, s, sizes)
    np.testing.assert_array_equal(ds(x, *map(np.int32, starts)), expected)
    u = _values(sizes, seed=1)
    dus = lambda x, u, *s: lax.dynamic_update_slice(x, u, s)
    want = x.copy()
    want[tuple(slice(s, s + k) for s, k in zip(fixed, sizes))] = u
    np.testing.assert_array_equal(dus(x, u, *starts), want)
    check_grads(lambda x: ds(x, *starts), (x,), order=2)
    check_grads(lambda x, u: dus(x, u, *starts), (x, u), order=2)
    jaxpr = fungrad.make_jaxpr(ds)(x, *starts)
    assert jaxpr.outvars[0].aval.shape == tuple(sizes)


@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.data(),
       st.sampled_from(["x", "starts", "both"]))
def test_dynamic_slices_vmap_matches_loop(shape, data, which):
    b = 3
    sizes = [data.draw(st.integers(0, n)) for n in shape]
    xs = _values((b,) + tuple(shape))
    us = _values((b,) + tuple(sizes), seed=1)
    starts = np.array([[data.draw(st.integers(-1, n + 1)) for n in shape] for _ in range(b)])
    bx, bs = which != "starts", which != "x"
    x_args = xs if bx else xs[0]
    s_args = [starts[:, i] if bs else starts[0, i] for i in range(len(shape))]
    in_axes = (0 if bx else None,) + (0 if bs else None,) * len(shape)
    ds = lambda x, *s: lax.dynamic_slice(x, s, sizes)
    out = fungrad.vmap(ds, in_axes=in_axes)(x_args, *s_args)
    pick = lambda a, ax, k: a[k] if ax == 0 else a
    loop = np.stack([ds(*[pick(a, ax, k) for a, ax in zip((x_args, *s_args), in_axes)]) for k in range(b)])
    np.testing.assert_array_equal(out, loop)
    dus = lambda x, u, *s: lax.dynamic_update_slice(x, u, s)
    in_axes2 = in_axes[:1] + (0,) + in_axes[1:]
    out = fungrad.vmap(dus, in_axes=in_axes2)(x_args, us, *s_args)
    loop = np.stack([dus(*[pick(a, ax, k) for a, ax in zip((x_args, us, *s_args), in_axes2)])
                     for k in range(b)])
    np.testing.assert_array_equal(out, loop)


def test_in_dim_helpers():
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(lax.dynamic_index_in_dim(x, 5, axis=1, keepdims=False), x[:, 3])
    np.testing.assert_array_equal(lax.dynamic_slice_in_dim(x, 1, 2, axis=0), x[1:3])
    np.testing.assert_array_equal(lax.index_in_dim(x, -1, axis=0, keepdims=False), x[-1])
    np.testing.assert_array_equal(lax.slice_in_dim(x, 1, None, 2, axis=1), x[:, 1::2])
    want = x.copy()
    want[:, 2] = -1.0
    np.testing.assert_array_equal(lax.dynamic_update_index_in_dim(x, -np.ones(3), 2, axis=1), want)
    g = fungrad.grad(lambda x, i: total(lax.dynamic_index_in_dim(x, i, keepdims=False)))(x, np.array(1))
    np.testing.assert_array_equal(g, np.outer([0, 1, 0], np.ones(4)))


# ---------------------------------------------------------------- bad input


def test_indexing_errors():
    x = np.zeros((2, 3))
    with pytest.raises(ShapeError, match="too many indices"):
        lax.gather(x, (0, 0, 0))
    with pytest.raises(ShapeError, match="out of bounds"):
        lax.gather(x, (2,))
    with pytest.raises(TypeError, match="integer"):
        lax.gather(x, (np.array([0.5]),))
    with pytest.raises(ShapeError, match="broadcast"):
        lax.gather(x, (np.array([0, 1]), np.array([0, 1, 2])))
    with pytest.raises(ShapeError, match="do not broadcast"):
        lax.scatter(x, (0,), np.ones(2))
    with pytest.raises(ShapeError, match="dtype"):
        lax.scatter(x, (0,), np.ones(3, np.float32))
    with pytest.raises(ShapeError, match="dynamic_slice"):
        fungrad.make_jaxpr(lambda x: lax.dynamic_slice(x, (0,), (1, 1)))(x)
    with pytest.raises(ShapeError, match="do not fit"):
        lax.slice(x, (0, 0), (3, 1))
    with pytest.raises(ShapeError, match="too many indices") as e:
        fungrad.make_jaxpr(lambda x: lax.gather(x, (0, 0, 0)))(x)
    assert "test_lax_indexing.py" in str(e.value)


def test_boolean_mask_concrete_only():
    x = np.arange(6.0).reshape(2, 3)
    mask = x > 2
    np.testing.assert_array_equal(lax.gather(x, (mask,)), x[mask])
    with pytest.raises(TypeError, match="boolean"):
        fungrad.make_jaxpr(lambda x: lax.gather(x, (lax.gt(x, 2.0),)))(x)
