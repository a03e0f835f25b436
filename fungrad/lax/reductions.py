"""Reductions over static axes: max, min, prod, and, or, argmax, argmin (reduce_sum lives with the
shape primitives, whose transposes need it). Batching shifts the axes past the batch axis.
"""
from __future__ import annotations

import math

from typing import Any, Callable, Sequence

import numpy as np

from fungrad.compiler.codegen import EmitContext, assign, defcodegen, emit_impl
from fungrad.core import Primitive, get_aval
from fungrad.errors import ShapeError
from fungrad.lax.registry import defjvp, defjvp_zero, primitive
from fungrad.interpreters.batching import batch_rules
from fungrad.ir import Eqn, ShapedArray
from fungrad.lax.cumulative import cumprod
from fungrad.lax.elementwise import convert_element_type, div, eq, mul
from fungrad.lax.shape_ops import (
    reduce_batch, reduce_shape, broadcast_in_dim, concatenate, full, reduce_sum, reshape,
    transpose,
)
from fungrad.lax.slicing import slice_in_dim


def _kept(x: Any, axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(i for i in range(get_aval(x).ndim) if i not in axes)


def _expand(y: Any, x: Any, axes: tuple[int, ...]) -> Any:
    """A reduced ``y`` broadcast back to the shape of ``x``."""
    return broadcast_in_dim(y, get_aval(x).shape, _kept(x, axes))


def _extremum_jvp(t: Any, ans: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    """The tangent of the winning entries, averaged over ties."""
    dtype = get_aval(x).dtype
    winners = convert_element_type(eq(x, _expand(ans, x, axes)), dtype)
    return div(reduce_sum(mul(t, winners), axes), reduce_sum(winners, axes))


def _prod_jvp(t: Any, ans: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    """sum_i t_i * prod_{j != i} x_j, with the products of the others taken from both sides
    (exclusive cumulative products), so zeros in x are no problem."""
    kept = _kept(x, axes)
    shape = get_aval(x).shape
    flat = (tuple(shape[i] for i in kept) + (math.prod([shape[a] for a in axes]),))

    def last_axis(v: Any) -> Any:
        return reshape(transpose(v, kept + axes), flat)
    xs = last_axis(x)
    ones = full(flat[:-1] + (1,), 1, get_aval(x).dtype)
    before = cumprod(concatenate([ones, slice_in_dim(xs, 0, -1, axis=-1)], -1), axis=-1)
    after = cumprod(concatenate([slice_in_dim(xs, 1, None, axis=-1), ones], -1), axis=-1,
                    reverse=True)
    return reduce_sum(mul(last_axis(t), mul(before, after)), (len(flat) - 1,))


def _lowest(dtype: np.dtype[Any]) -> Any:
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind == "c":  # complex values order lexicographically (NumPy's rule)
        return complex(-np.inf, -np.inf)
    return np.iinfo(dtype).min if dtype.kind in "iu" else False


def _highest(dtype: np.dtype[Any]) -> Any:
    if dtype.kind == "f":
        return np.inf
    if dtype.kind == "c":
        return complex(np.inf, np.inf)
    return np.iinfo(dtype).max if dtype.kind in "iu" else True


def _reducer(name: str, impl: Callable[..., Any], jvp: Callable[..., Any] | None,
             bool_only: bool = False) -> Primitive:
    def shape_rule(x: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
        if bool_only and x.dtype != np.dtype(bool):
            raise ShapeError(f"{name} needs a boolean operand, got {x}")
        return reduce_shape(x, axes=axes)
    prim = primitive(name, impl, shape_rule)
    if jvp is None:
        defjvp_zero(prim)
    else:
        defjvp(prim, jvp)
    batch_rules[prim] = reduce_batch(prim)
    return prim


reduce_max_p = _reducer("reduce_max", lambda x, *, axes: np.max(
    x, axis=axes, initial=_lowest(np.asarray(x).dtype)), _extremum_jvp)
reduce_min_p = _reducer("reduce_min", lambda x, *, axes: np.min(
    x, axis=axes, initial=_highest(np.asarray(x).dtype)), _extremum_jvp)


def _emit_extremum(ufunc: np.ufunc) -> Callable[..., list[str]]:
    def emit(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
        axes = eqn.params["axes"]
        if any(eqn.inputs[0].aval.shape[a] == 0 for a in axes):  # empty: the impl knows
            return emit_impl(ctx, eqn, ins, outs)
        return assign(outs, f"{ctx.ref(ufunc.reduce)}({ins[0]}, {ctx.ref(axes)})")
    return emit


defcodegen(reduce_max_p, _emit_extremum(np.maximum), "fresh")
defcodegen(reduce_min_p, _emit_extremum(np.minimum), "fresh")
reduce_prod_p = _reducer("reduce_prod", lambda x, *, axes: np.prod(x, axis=axes), _prod_jvp)
reduce_and_p = _reducer("reduce_and", lambda x, *, axes: np.all(x, axis=axes), None, True)
reduce_or_p = _reducer("reduce_or", lambda x, *, axes: np.any(x, axis=axes), None, True)


def _reduce(prim: Primitive, x: Any, axes: Sequence[int]) -> Any:
    nd = get_aval(x).ndim
    axes = tuple(sorted({int(a) % nd for a in axes})) if nd else ()
    return prim.bind(x, axes=axes) if axes else x


def reduce_max(x: Any, axes: Sequence[int]) -> Any:
    """Maximum of ``x`` over ``axes`` (-inf, or the dtype's lowest value, when empty).

    >>> reduce_max(np.array([[1, 4], [3, 2]]), (1,))
    array([4, 3])
    """
    return _reduce(reduce_max_p, x, axes)


def reduce_min(x: Any, axes: Sequence[int]) -> Any:
    """Minimum of ``x`` over ``axes``."""
    return _reduce(reduce_min_p, x, axes)


def reduce_prod(x: Any, axes: Sequence[int]) -> Any:
    """Product of ``x`` over ``axes``; its gradient is exact at zeros.

    >>> reduce_prod(np.array([[1, 4], [3, 2]]), (0, 1))
    24
    """
    return _reduce(reduce_prod_p, x, axes)


def reduce_and(x: Any, axes: Sequence[int]) -> Any:
    """Logical and of a boolean ``x`` over ``axes``."""
    return _reduce(reduce_and_p, x, axes)


def reduce_or(x: Any, axes: Sequence[int]) -> Any:
    """Logical or of a boolean ``x`` over ``axes``."""
    return _reduce(reduce_or_p, x, axes)


# ---------------------------------------------------------------- argmax, argmin
def _arg_shape(x: ShapedArray, *, axes: tuple[int, ...],
               index_dtype: np.dtype[Any]) -> ShapedArray:
    if len(axes) != 1 or not 0 <= axes[0] < x.ndim or x.shape[axes[0]] == 0:
        raise ShapeError(f"argmax/argmin: axis {axes} must be one non-empty axis of {x}")
    if index_dtype.kind not in "iu":
        raise ShapeError(f"argmax/argmin: index_dtype must be an integer type, got {index_dtype}")
    return ShapedArray(reduce_shape(x, axes=axes).shape, index_dtype)


def _arg_impl(fn: Callable[..., Any]) -> Callable[..., Any]:
    def impl(x: Any, *, axes: tuple[int, ...], index_dtype: np.dtype[Any]) -> Any:
        return np.asarray(fn(x, axis=axes[0]), index_dtype)
    return impl


argmax_p = primitive("argmax", _arg_impl(np.argmax), _arg_shape)
argmin_p = primitive("argmin", _arg_impl(np.argmin), _arg_shape)
for _p in (argmax_p, argmin_p):
    defjvp_zero(_p)
    batch_rules[_p] = reduce_batch(_p)


def argmax(x: Any, axis: int, index_dtype: Any = np.int64) -> Any:
    """Index of the (first) largest entry of ``x`` along ``axis``; NaN counts as largest.

    >>> argmax(np.array([[1, 5, 5], [7, 0, 2]]), 1, np.int32)
    array([1, 0], dtype=int32)
    """
    axis = int(axis) % get_aval(x).ndim
    return argmax_p.bind(x, axes=(axis,), index_dtype=np.dtype(index_dtype))


def argmin(x: Any, axis: int, index_dtype: Any = np.int64) -> Any:
    """Index of the (first) smallest entry of ``x`` along ``axis``."""
    axis = int(axis) % get_aval(x).ndim
    return argmin_p.bind(x, axes=(axis,), index_dtype=np.dtype(index_dtype))
