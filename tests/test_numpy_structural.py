"""fungrad.numpy reductions, shape manipulation, products, einsum, creation and sorting against
NumPy itself: one table line per function, hypothesis-generated shapes and values."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fungrad
import fungrad.numpy as fnp
from fungrad.errors import ShapeError
from fungrad.test_util import check_grads
from test_numpy_util import NONEMPTY, assert_like_numpy, check_against_numpy, floats, ints

Case = tuple[str, st.SearchStrategy[Any], Callable[..., Any]]


@st.composite
def with_axis(draw: Any, elems: Any = None, none: bool = True, shape: Any = NONEMPTY) -> Any:
    """(array, axis or None, keepdims)."""
    x = draw((elems or (lambda s: floats(shape=s)))(draw(shape)))
    axis = draw(st.sampled_from(([None] if none else []) + list(range(-x.ndim, x.ndim))))
    return x, axis, draw(st.booleans())


@st.composite
def with_axes_tuple(draw: Any) -> Any:
    x = draw(floats(shape=hnp.array_shapes(min_dims=2, max_dims=3, max_side=4)))
    axes = tuple(sorted(draw(st.sets(st.integers(0, x.ndim - 1), min_size=1))))
    return x, axes, draw(st.booleans())


@st.composite
def matmul_pair(draw: Any) -> Any:
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    a_shape = draw(st.sampled_from([(k,), batch.input_shapes[0] + (m, k)]))
    b_shape = draw(st.sampled_from([(k,), batch.input_shapes[1] + (k, n)]))
    return draw(floats(shape=a_shape)), draw(floats(shape=b_shape))


def arr(lo: int = 1, hi: int = 3, side: int = 4, **kw: Any) -> Any:
    return floats(shape=hnp.array_shapes(min_dims=lo, max_dims=hi, max_side=side), **kw)


def shaped(*shape: int) -> Any:
    return floats(shape=shape)


AX = with_axis()
AX_INT = with_axis(lambda s: ints(shape=s))
AX_BOOL = with_axis(lambda s: hnp.arrays(np.bool_, s))
M34 = shaped(3, 4)

REDUCTIONS: list[Case] = [
    *((n, AX, (lambda n: lambda m, x, a, k: getattr(m, n)(x, axis=a, keepdims=k))(n))
      for n in ["sum", "prod", "max", "min", "amax", "amin", "mean", "var", "std", "ptp",
                "any", "all", "count_nonzero", "nansum", "nanmax", "nanmean"]),
    *((n + "_int", AX_INT, (lambda n: lambda m, x, a, k: getattr(m, n)(x, axis=a, keepdims=k))(n))
      for n in ["sum", "prod", "max", "mean", "var", "any", "all"]),
    *((n + "_bool", AX_BOOL, (lambda n: lambda m, x, a, k: getattr(m, n)(x, axis=a, keepdims=k))(n))
      for n in ["sum", "any", "all"]),
    ("sum_tuple", with_axes_tuple(), lambda m, x, a, k: m.sum(x, axis=a, keepdims=k)),
    ("max_tuple", with_axes_tuple(), lambda m, x, a, k: m.max(x, axis=a, keepdims=k)),
    ("var_tuple", with_axes_tuple(), lambda m, x, a, k: m.var(x, axis=a, keepdims=k)),
    ("var_ddof", AX, lambda m, x, a, k: m.var(x, axis=a, ddof=1, keepdims=k) if
     (x.size if a is None else x.shape[a]) > 1 else m.var(x, axis=a, keepdims=k)),
    ("sum_f32", with_axis(lambda s: floats(shape=s, dtype=np.float32)),
     lambda m, x, a, k: m.sum(x, axis=a, keepdims=k)),
    ("mean_f32", with_axis(lambda s: floats(shape=s, dtype=np.float32)),
     lambda m, x, a, k: m.mean(x, axis=a, keepdims=k)),
    ("var_f32", with_axis(lambda s: floats(shape=s, dtype=np.float32)),
     lambda m, x, a, k: m.var(x, axis=a, keepdims=k)),
    ("sum_dtype", AX_INT, lambda m, x, a, k: m.sum(x, axis=a, dtype=np.float32, keepdims=k)),
    ("argmax", AX, lambda m, x, a, k: m.argmax(x, axis=a, keepdims=k)),
    ("argmin", AX, lambda m, x, a, k: m.argmin(x, axis=a, keepdims=k)),
    ("argmax_int", AX_INT, lambda m, x, a, k: m.argmax(x, axis=a)),
    ("median", AX, lambda m, x, a, k: m.median(x, axis=a, keepdims=k)),
    ("quantile", AX, lambda m, x, a, k: m.quantile(x, [0.0, 0.3, 1.0], axis=a, keepdims=k)),
    ("percentile", AX, lambda m, x, a, k: m.percentile(x, 75, axis=a)),
    ("average", AX, lambda m, x, a, k: m.average(x, axis=a)),
    ("average_w", with_axis(none=False), lambda m, x, a, k: m.average(
        x, axis=a, weights=np.arange(1.0, x.shape[a] + 1))),
    ("cumsum", AX, lambda m, x, a, k: m.cumsum(x, axis=a)),
    ("cumprod", AX, lambda m, x, a, k: m.cumprod(x, axis=a)),
    ("cumsum_int32", with_axis(lambda s: ints(shape=s, dtype=np.int32)),
     lambda m, x, a, k: m.cumsum(x, axis=a)),
    ("sort", AX, lambda m, x, a, k: m.sort(x, axis=a)),
    ("argsort", AX, lambda m, x, a, k: m.argsort(x, axis=a, kind="stable")),
    ("argsort_ties", AX_INT, lambda m, x, a, k: m.argsort(x, axis=a, kind="stable")),
]

SHAPE_OPS: list[Case] = [
    ("reshape_-1", arr(), lambda m, x: m.reshape(x, (-1,))),
    ("reshape_2d", shaped(2, 6), lambda m, x: m.reshape(x, (3, -1))),
    ("reshape_F", shaped(2, 3, 2), lambda m, x: m.reshape(x, (4, 3), order="F")),
    ("ravel", arr(), lambda m, x: m.ravel(x)),
    ("transpose", arr(), lambda m, x: m.transpose(x)),
    ("transpose_axes", shaped(2, 3, 4), lambda m, x: m.transpose(x, (1, 2, 0))),
    ("swapaxes", shaped(2, 3, 4), lambda m, x: m.swapaxes(x, 0, -1)),
    ("moveaxis", shaped(2, 3, 4), lambda m, x: m.moveaxis(x, 0, -1)),
    ("moveaxis_many", shaped(2, 3, 4), lambda m, x: m.moveaxis(x, (0, 1), (2, 0))),
    ("expand_dims", arr(), lambda m, x: m.expand_dims(x, 0)),
    ("expand_dims_many", arr(), lambda m, x: m.expand_dims(x, (0, -1))),
    ("squeeze", shaped(1, 3, 1), lambda m, x: m.squeeze(x)),
    ("squeeze_axis", shaped(1, 3, 1), lambda m, x: m.squeeze(x, axis=-1)),
    ("broadcast_to", shaped(3, 1), lambda m, x: m.broadcast_to(x, (2, 3, 4))),
    ("broadcast_arrays", st.tuples(shaped(3, 1), shaped(4)),
     lambda m, x, y: m.broadcast_arrays(x, y)),
    ("atleast_1d", arr(0, 2), lambda m, x: m.atleast_1d(x)),
    ("atleast_2d", arr(0, 3), lambda m, x: m.atleast_2d(x)),
    ("atleast_3d", arr(0, 3), lambda m, x: m.atleast_3d(x)),
    ("flip", arr(), lambda m, x: m.flip(x)),
    ("flip_axis", arr(2), lambda m, x: m.flip(x, 1)),
    ("fliplr", arr(2), lambda m, x: m.fliplr(x)),
    ("flipud", arr(1), lambda m, x: m.flipud(x)),
    ("rot90", arr(2, 3), lambda m, x: (m.rot90(x), m.rot90(x, 2), m.rot90(x, 3))),
    ("roll", arr(), lambda m, x: m.roll(x, 2)),
    ("roll_axis", arr(2), lambda m, x: m.roll(x, -1, axis=1)),
    ("roll_many", arr(2), lambda m, x: m.roll(x, (1, 3), axis=(0, 1))),
    ("tile", arr(1, 2), lambda m, x: m.tile(x, (2, 1, 3))),
    ("tile_int", arr(1, 2), lambda m, x: m.tile(x, 2)),
    ("repeat", arr(), lambda m, x: m.repeat(x, 2)),
    ("repeat_axis", shaped(2, 3), lambda m, x: m.repeat(x, 3, axis=1)),
    ("repeat_counts", shaped(3, 2), lambda m, x: m.repeat(x, [1, 0, 2], axis=0)),
    ("concatenate", st.tuples(shaped(2, 3), shaped(1, 3)),
     lambda m, x, y: m.concatenate([x, y])),
    ("concatenate_ax1", st.tuples(shaped(2, 3), shaped(2, 1)),
     lambda m, x, y: m.concatenate((x, y), axis=1)),
    ("concatenate_none", st.tuples(shaped(2, 3), shaped(4)),
     lambda m, x, y: m.concatenate((x, y), axis=None)),
    ("concatenate_mixed", st.tuples(shaped(2), ints(shape=(3,))),
     lambda m, x, y: m.concatenate((x, y))),
    ("stack", st.tuples(shaped(2, 3), shaped(2, 3)), lambda m, x, y: m.stack([x, y])),
    ("stack_axis", st.tuples(shaped(2, 3), shaped(2, 3)),
     lambda m, x, y: m.stack([x, y], axis=-1)),
    ("hstack", st.tuples(shaped(2, 3), shaped(2, 1)), lambda m, x, y: m.hstack([x, y])),
    ("hstack_1d", st.tuples(shaped(2), shaped(3)), lambda m, x, y: m.hstack([x, y])),
    ("vstack", st.tuples(shaped(3), shaped(2, 3)), lambda m, x, y: m.vstack([x, y])),
    ("dstack", st.tuples(shaped(3), shaped(3)), lambda m, x, y: m.dstack([x, y])),
    ("column_stack", st.tuples(shaped(3), shaped(3, 2)),
     lambda m, x, y: m.column_stack([x, y])),
    ("append", st.tuples(shaped(2, 2), shaped(3)), lambda m, x, y: m.append(x, y)),
    ("split", shaped(6, 2), lambda m, x: m.split(x, 3)),
    ("split_idx", shaped(6, 2), lambda m, x: m.split(x, [1, 4])),
    ("split_axis", shaped(2, 6), lambda m, x: m.split(x, [-2, 10], axis=1)),
    ("array_split", shaped(7), lambda m, x: m.array_split(x, 3)),
    ("hsplit", shaped(2, 4), lambda m, x: m.hsplit(x, 2)),
    ("vsplit", shaped(4, 2), lambda m, x: m.vsplit(x, 2)),
    ("pad", shaped(2, 3), lambda m, x: m.pad(x, ((1, 0), (2, 1)))),
    ("pad_value", shaped(3), lambda m, x: m.pad(x, 2, constant_values=-1.0)),
    ("where", st.tuples(M34, M34), lambda m, x, y: m.where(x > y, x, y)),
    ("where_scalar", st.tuples(M34), lambda m, x: m.where(x > 0, x, 0.0)),
    ("where_bcast", st.tuples(shaped(3, 1), shaped(4)), lambda m, x, y: m.where(x > 0, x, y)),
    ("select", st.tuples(M34), lambda m, x: m.select([x < -1, x > 1], [x, 2 * x], -x)),
    ("searchsorted", st.tuples(shaped(5), M34),
     lambda m, a, v: m.searchsorted(m.sort(a), v)),
    ("searchsorted_right", st.tuples(ints(shape=(5,)), ints(shape=(3,))),
     lambda m, a, v: m.searchsorted(m.sort(a), v, side="right")),
    ("copy", arr(), lambda m, x: m.copy(x)),
    ("astype", arr(), lambda m, x: m.astype(x, np.float32)),
    ("astype_int", arr(), lambda m, x: m.astype(x, np.int64)),
    ("array_equal", st.tuples(M34), lambda m, x: (m.array_equal(x, x), m.array_equal(x, x + 1))),
]

PRODUCTS: list[Case] = [
    ("dot_mm", st.tuples(shaped(2, 3), shaped(3, 4)), lambda m, a, b: m.dot(a, b)),
    ("dot_mv", st.tuples(shaped(2, 3), shaped(3)), lambda m, a, b: m.dot(a, b)),
    ("dot_vv", st.tuples(shaped(3), shaped(3)), lambda m, a, b: m.dot(a, b)),
    ("dot_nd", st.tuples(shaped(2, 2, 3), shaped(4, 3, 2)), lambda m, a, b: m.dot(a, b)),
    ("dot_scalar", st.tuples(shaped(), shaped(2, 3)), lambda m, a, b: m.dot(a, b)),
    ("matmul", matmul_pair(), lambda m, a, b: m.matmul(a, b)),
    ("matmul_op", matmul_pair(), lambda m, a, b: a @ b if m is np else
     fungrad.jvp(lambda u, v: u @ v, (a, b), (a, b))[0]),
    ("matmul_f32", st.tuples(floats(shape=(2, 3, 4), dtype=np.float32),
                             floats(shape=(4, 2), dtype=np.float32)),
     lambda m, a, b: m.matmul(a, b)),
    ("einsum_f32", st.tuples(floats(shape=(3, 4), dtype=np.float32)),
     lambda m, a: m.einsum("ij,kj->ik", a, a)),
    ("matmul_int_float", st.tuples(ints(shape=(2, 3)), shaped(3, 2)),
     lambda m, a, b: m.matmul(a, b)),
    ("tensordot", st.tuples(shaped(2, 3, 4), shaped(3, 4, 5)),
     lambda m, a, b: m.tensordot(a, b)),
    ("tensordot_axes", st.tuples(shaped(2, 3, 4), shaped(4, 2)),
     lambda m, a, b: m.tensordot(a, b, axes=([0, 2], [1, 0]))),
    ("tensordot_0", st.tuples(shaped(2), shaped(3)), lambda m, a, b: m.tensordot(a, b, 0)),
    ("inner", st.tuples(shaped(2, 3), shaped(4, 3)), lambda m, a, b: m.inner(a, b)),
    ("outer", st.tuples(shaped(2, 2), shaped(3)), lambda m, a, b: m.outer(a, b)),
    ("vdot", st.tuples(shaped(2, 3), shaped(6)), lambda m, a, b: m.vdot(a, b)),
    ("kron", st.tuples(shaped(2, 3), shaped(2, 2)), lambda m, a, b: m.kron(a, b)),
    ("kron_1d", st.tuples(shaped(2), shaped(2, 3)), lambda m, a, b: m.kron(a, b)),
    ("cross", st.tuples(shaped(4, 3), shaped(3)), lambda m, a, b: m.cross(a, b)),
    ("cross_2d", st.tuples(shaped(2), shaped(2)), lambda m, a, b: m.cross(a, b)),
    ("trace", arr(2, 3), lambda m, x: m.trace(x)),
    ("trace_offset", shaped(3, 4), lambda m, x: (m.trace(x, 1), m.trace(x, -2))),
    ("diagonal", arr(2, 3), lambda m, x: m.diagonal(x)),
    ("diagonal_offset", shaped(2, 3, 4), lambda m, x: m.diagonal(x, 1, 2, 0)),
    ("diag_vec", arr(1, 1), lambda m, x: (m.diag(x), m.diag(x, 1), m.diag(x, -2))),
    ("diag_mat", shaped(3, 4), lambda m, x: (m.diag(x), m.diag(x, 2), m.diag(x, -1))),
    ("tril", arr(2, 3), lambda m, x: (m.tril(x), m.tril(x, -1), m.triu(x), m.triu(x, 1))),
]

EINSUMS: list[tuple[str, tuple[tuple[int, ...], ...]]] = [
    ("ij,jk->ik", ((2, 3), (3, 4))), ("ij,jk", ((2, 3), (3, 4))), ("i,i->", ((3,), (3,))),
    ("i,j->ij", ((2,), (3,))), ("bij,bjk->bik", ((2, 3, 4), (2, 4, 1))), ("ii->i", ((3, 3),)),
    ("ii", ((3, 3),)), ("ij->ji", ((2, 3),)), ("ij->", ((2, 3),)), ("ijk->kj", ((2, 3, 4),)),
    ("...ij,...jk->...ik", ((5, 2, 3), (3, 4))), ("i...->...", ((2, 3, 4),)),
    ("ij,jk,kl->il", ((2, 3), (3, 4), (4, 2))), ("ab,cd->", ((2, 2), (3, 1))),
    ("iij->ji", ((2, 2, 3),)), ("ij,ij->i", ((2, 3), (2, 3))), ("bi,bi,bi->b", ((2, 3),) * 3),
    ("ijk,ikl->ijl", ((2, 1, 3), (2, 3, 2))), ("i,ij,j", ((2,), (2, 3), (3,))),
    ("...,...->...", ((2, 1), (3,))),
]


def einsum_case(spec: str, shapes: tuple[tuple[int, ...], ...]) -> Case:
    return (f"einsum[{spec}]", st.tuples(*(shaped(*s) for s in shapes)),
            lambda m, *ops: m.einsum(spec, *ops))


CREATION: list[Case] = [
    ("zeros_ones", st.just(()), lambda m: (m.zeros((2, 3)), m.ones(4, np.int32), m.empty(2).shape)),
    ("full", st.just(()), lambda m: (m.full((2, 2), 3.5), m.full(3, 2, np.int64))),
    ("likes", st.tuples(shaped(2, 3)), lambda m, x: (m.zeros_like(x), m.ones_like(x),
                                                      m.full_like(x, 7),
                                                      m.ones_like(x, dtype=np.int32))),
    ("arange", st.just(()), lambda m: (m.arange(5), m.arange(1.0, 3.0, 0.5),
                                       m.arange(2, 9, 3))),
    ("linspace", st.just(()), lambda m: (m.linspace(0, 1, 5), m.linspace(-1, 2, 4, False),
                                         m.logspace(0, 2, 3))),
    ("eye", st.just(()), lambda m: (m.eye(3), m.eye(2, 3, 1), m.identity(2), m.tri(3, 2))),
    ("array", st.tuples(shaped(2)), lambda m, x: (m.array([1.0, 2.0]), m.asarray([[1, 2]]),
                                                   m.array(x, dtype=np.float32))),
    ("meshgrid", st.tuples(shaped(2), shaped(3)),
     lambda m, x, y: (m.meshgrid(x, y), m.meshgrid(x, y, indexing="ij"))),
    ("vander", st.tuples(shaped(3)), lambda m, x: (m.vander(x), m.vander(x, 2, True))),
    ("shape_fns", st.tuples(shaped(2, 3)), lambda m, x: (np.asarray(m.shape(x)),
                                                          np.asarray(m.ndim(x)),
                                                          np.asarray(m.size(x)))),
]

@st.composite
def sorted_grid(draw: Any) -> Any:
    xp = np.cumsum(draw(floats(0.1, 2.0, shape=(draw(st.integers(2, 5)),))))
    return draw(floats(-1, 12, shape=(4,))), xp, draw(floats(shape=xp.shape))


NUMERIC: list[Case] = [
    ("diff", AX, lambda m, x, a, k: m.diff(x, axis=-1 if a is None else a)),
    ("diff_n2", arr(), lambda m, x: m.diff(x, n=2, axis=0) if x.shape[0] > 2 else m.diff(x)),
    ("diff_pre_app", shaped(4), lambda m, x: m.diff(x, prepend=0.5, append=x[:2])),
    ("interp", sorted_grid(), lambda m, x, xp, fp: m.interp(x, xp, fp)),
    ("interp_lr", sorted_grid(), lambda m, x, xp, fp: m.interp(x, xp, fp, left=-9.0, right=9.0)),
    *((f"convolve_{mode}", st.tuples(arr(1, 1, 5), arr(1, 1, 5)),
       (lambda mode: lambda m, a, v: m.convolve(a, v, mode))(mode))
      for mode in ["full", "same", "valid"]),
    *((f"correlate_{mode}", st.tuples(arr(1, 1, 5), arr(1, 1, 5)),
       (lambda mode: lambda m, a, v: m.correlate(a, v, mode))(mode))
      for mode in ["full", "same", "valid"]),
    ("trapezoid", arr(1, 2), lambda m, y: m.trapezoid(y, dx=0.5)),
    ("trapezoid_x", st.tuples(shaped(3, 4), shaped(4)),
     lambda m, y, x: m.trapezoid(y, np.cumsum(np.abs(x)) if m is np else m.cumsum(m.abs(x)))),
]

MISC: list[Case] = [
    ("array_api_names", st.tuples(shaped(2, 3)), lambda m, x: (
        m.acosh(m.abs(x) + 1), m.asinh(x), m.atan(x), m.permute_dims(x, (1, 0)),
        m.concat([x, x], axis=1), m.cumulative_sum(x, axis=0), m.cumulative_prod(x, axis=1),
        m.vecdot(x, x[:1]))),
    ("concrete_index_fns", st.tuples(ints(0, 1, shape=(2, 3)), shaped(2, 3)), lambda m, c, x: (
        m.argwhere(c), m.flatnonzero(c), m.compress(c[0], x, axis=1), m.extract(c, x))),
    ("nan_reductions", st.tuples(shaped(2, 3)), lambda m, x: (
        m.nanmin(m.where(x > 1, np.nan, x), axis=0), m.nanprod(m.where(x > 1, np.nan, x)))),
    ("digitize", st.tuples(shaped(5)), lambda m, x: (
        m.digitize(x, np.array([-1.0, 0.0, 2.0])), m.digitize(x, np.array([-1.0, 0.5]), True))),
    ("dsplit_diagflat_empty_like", st.tuples(shaped(2, 2, 4)), lambda m, x: (
        m.dsplit(x, 2), m.diagflat(x[0], 1), m.empty_like(x).shape)),
    ("index_grids", st.just(()), lambda m: (
        m.indices((2, 3)), m.tril_indices(3), m.triu_indices(3, 1, 4))),
    ("array_equiv", st.tuples(shaped(2, 3)), lambda m, x: (
        m.array_equiv(x, x[:1]), m.array_equiv(x[:1], x[:1]), m.array_equiv(x, x[:, :1] * 0 + 7))),
]

CASES = REDUCTIONS + SHAPE_OPS + PRODUCTS + NUMERIC + MISC + [einsum_case(*c) for c in EINSUMS] + CREATION


@pytest.mark.parametrize("name,strat,fn", CASES, ids=[c[0] for c in CASES])
@settings(max_examples=6)
@given(data=st.data())
def test_matches_numpy(name: str, strat: Any, fn: Any, data: Any) -> None:
    args = data.draw(strat)
    args = args if isinstance(args, tuple) else (args,)
    check_against_numpy(fn, args, trace=name not in ("matmul_op", "concrete_index_fns"))


# ---------------------------------------------------------------- gradients
GRADS: list[tuple[str, Any, Callable[..., Any]]] = [
    ("sum", arr(), lambda x: fnp.sum(x * x, axis=0)),
    ("mean", arr(), lambda x: fnp.mean(fnp.sin(x), axis=-1, keepdims=True)),
    ("var", arr(), lambda x: fnp.var(x)),
    ("std", shaped(3, 2), lambda x: fnp.std(x, axis=0)),
    ("prod", arr(), lambda x: fnp.prod(x, axis=0)),
    ("max", arr(), lambda x: fnp.max(x, axis=-1)),
    ("cumsum", arr(), lambda x: fnp.cumsum(x, axis=0)),
    ("cumprod", arr(), lambda x: fnp.cumprod(x)),
    ("sort", arr(), lambda x: fnp.sort(x, axis=0) * fnp.arange(1.0, x.shape[0] + 1).reshape(
        (-1,) + (1,) * (x.ndim - 1))),
    ("median", shaped(5), lambda x: fnp.median(x)),
    ("reshape_T", arr(), lambda x: fnp.reshape(x, (-1,)) @ fnp.ravel(x.T)),
    ("flip_roll", arr(), lambda x: fnp.roll(fnp.flip(x), 1) * x),
    ("concat_stack", shaped(2, 3),
     lambda x: fnp.stack([fnp.concatenate([x, 2 * x]), 3 * fnp.tile(x, (2, 1))])),
    ("split", shaped(6, 2), lambda x: fnp.split(x, 3)[1] * fnp.array_split(x, 4)[0][:2]),
    ("matmul", matmul_pair(), lambda a, b: fnp.matmul(a, b)),
    ("einsum", st.tuples(shaped(2, 3), shaped(3, 3)),
     lambda a, b: fnp.einsum("ij,jk,kk->ik", a, b, b)),
    ("einsum_diag", shaped(3, 3), lambda a: fnp.einsum("ii,ij->j", a, a)),
    ("trace_diag", shaped(3, 4), lambda x: fnp.trace(x) * fnp.diagonal(x, 1)),
    ("kron_outer", shaped(2), lambda x: fnp.kron(fnp.outer(x, x), x)),
    ("cross", st.tuples(shaped(3), shaped(2, 3)), lambda a, b: fnp.cross(a, b)),
    ("where_clip", arr(), lambda x: fnp.where(x > 0, fnp.clip(x, -1.0, 1.5), x * x)),
    ("tril_diag", shaped(3), lambda x: fnp.tril(fnp.diag(x) + fnp.outer(x, x))),
    ("linspace_traced", shaped(), lambda x: fnp.linspace(x, 2 * x + 1, 4)),
    ("convolve", st.tuples(shaped(4), shaped(3)), lambda a, v: fnp.convolve(a, v, "same")),
    ("interp", shaped(3), lambda x: fnp.interp(np.array([0.5, 1.5, 2.2]), np.arange(3.0), x)),
    ("diff_trapezoid", shaped(5), lambda x: fnp.diff(x * x) * fnp.trapezoid(x)),
]


@pytest.mark.parametrize("name,strat,fn", GRADS, ids=[g[0] for g in GRADS])
@settings(max_examples=3)
@given(data=st.data())
def test_grads(name: str, strat: Any, fn: Callable[..., Any], data: Any) -> None:
    args = data.draw(strat)
    args = args if isinstance(args, tuple) else (args,)
    if name in ("max", "sort", "median", "where_clip", "std"):  # no ties, away from kinks
        args = tuple(a + 1e-2 * np.arange(a.size).reshape(a.shape) + 3e-3 for a in args)
    check_grads(fn, args, order=2)


def test_shape_errors_name_the_line() -> None:
    with pytest.raises(ShapeError, match="test_numpy_structural.py"):
        fnp.reshape(np.zeros(6), (4, -1))
    with pytest.raises(ShapeError, match="not aligned[\\s\\S]*test_numpy_structural.py"):
        fungrad.make_jaxpr(lambda a, b: fnp.dot(a, b))(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="out of bounds"):
        fnp.sum(np.zeros((2, 3)), axis=2)
    with pytest.raises(ShapeError, match="same shape"):
        fnp.stack([np.zeros(2), np.zeros(3)])
    with pytest.raises(ShapeError, match="einsum"):
        fnp.einsum("ij,jk->ik", np.zeros((2, 3)), np.zeros((2, 3)))


@settings(max_examples=5)
@given(case=with_axis(none=False))
def test_vmap_of_reductions_matches_loop(case: Any) -> None:
    x, axis, keepdims = case
    f = lambda v: fnp.var(v, axis=axis % max(v.ndim, 1) if v.ndim else None)  # noqa: E731
    got = fungrad.vmap(f)(x)
    assert_like_numpy(got, np.stack([np.var(r, axis=axis % max(r.ndim, 1) if r.ndim else None)
                                     for r in x]))


def test_dtype_helpers_and_predicates() -> None:
    assert fnp.broadcast_shapes((2, 1), (3,)) == np.broadcast_shapes((2, 1), (3,))
    assert fnp.can_cast(np.int32, np.float64) and not fnp.can_cast(np.float64, np.int32)
    assert fnp.promote_types(np.float32, np.int64) == np.promote_types(np.float32, np.int64)
    assert fnp.issubdtype(np.float32, fnp.floating)
    assert not fnp.iscomplexobj(np.zeros(2)) and fnp.isrealobj(np.zeros(2))
    for v in [1.0, 3, np.float32(2), "s", [1.0], np.zeros(2)]:
        assert fnp.isscalar(v) == np.isscalar(v)
    # unlike NumPy, a 0-d array counts as a scalar, as in JAX
    assert fnp.isscalar(np.array(1.0))
    assert fungrad.make_jaxpr(lambda x: fnp.isscalar(x) * x)(1.0).out_avals[0].shape == ()
