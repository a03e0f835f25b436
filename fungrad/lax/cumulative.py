"""Cumulative reductions along one axis: cumsum, cumprod, cummax, cummin (``reverse`` runs them
from the end). cumsum is linear; the others differentiate without dividing by x, so zeros and
ties are safe.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fungrad.core import Primitive, get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters.ad import jvp_rules
from fungrad.lax.registry import deflinear, deftranspose, primitive
from fungrad.interpreters.batching import batch_rules
from fungrad.ir import ShapedArray
from fungrad.lax.elementwise import add, eq, mul, select
from fungrad.lax.indexing import take_along_axis
from fungrad.lax.shape_ops import broadcasted_iota, full, pad, rev


def _impl(ufunc: np.ufunc) -> Callable[..., Any]:
    def impl(x: Any, *, axis: int, reverse: bool) -> Any:
        x = np.asarray(x)
        if reverse:
            return np.flip(ufunc.accumulate(np.flip(x, axis), axis=axis), axis)
        return ufunc.accumulate(x, axis=axis)
    return impl


def _shape(x: ShapedArray, *, axis: int, reverse: bool) -> ShapedArray:
    if not 0 <= axis < x.ndim:
        raise ShapeError(f"cumulative reduction: axis {axis} out of range for {x}")
    return x


def _batch(prim: Primitive) -> Callable[..., tuple[Any, int]]:
    def rule(vals: Any, dims: Any, *, axis: int, reverse: bool) -> tuple[Any, int]:
        d = dims[0]
        return prim.bind(vals[0], axis=axis + (axis >= d), reverse=reverse), d
    return rule


def _cumulative_primitive(name: str, ufunc: np.ufunc) -> Primitive:
    prim = primitive(name, _impl(ufunc), _shape)
    batch_rules[prim] = _batch(prim)
    return prim


cumsum_p = _cumulative_primitive("cumsum", np.add)
cumprod_p = _cumulative_primitive("cumprod", np.multiply)
cummax_p = _cumulative_primitive("cummax", np.maximum)
cummin_p = _cumulative_primitive("cummin", np.minimum)


def _binder(prim: Primitive, doc: str) -> Callable[..., Any]:
    def op(x: Any, axis: int = 0, reverse: bool = False) -> Any:
        return prim.bind(x, axis=int(axis) % get_aval(x).ndim, reverse=bool(reverse))
    op.__name__ = op.__qualname__ = prim.name
    op.__doc__ = doc
    return op


cumsum = _binder(cumsum_p, """Running sums of ``x`` along ``axis`` (from the end if ``reverse``).

    >>> cumsum(np.array([1, 2, 3]), reverse=True)
    array([6, 5, 3])
    """)
cumprod = _binder(cumprod_p, """Running products of ``x`` along ``axis``.

    >>> cumprod(np.array([1, 2, 3]))
    array([1, 2, 6])
    """)
cummax = _binder(cummax_p, """Running maxima of ``x`` along ``axis``.

    >>> cummax(np.array([1, 3, 2]))
    array([1, 3, 3])
    """)
cummin = _binder(cummin_p, """Running minima of ``x`` along ``axis``.

    >>> cummin(np.array([2, 3, 1]))
    array([2, 2, 1])
    """)


# ---------------------------------------------------------------- derivatives
deflinear(cumsum_p)
deftranspose(cumsum_p, lambda ct, x, *, axis, reverse: cumsum(ct, axis, not reverse))


def _forward_only(rule: Callable[..., tuple[Any, Any]]) -> Callable[..., tuple[Any, Any]]:
    """A JVP rule written for ``reverse=False``, run on flipped values when ``reverse``."""
    def jvp(primals: Any, tangents: Any, *, axis: int, reverse: bool) -> tuple[Any, Any]:
        x, t = primals[0], tangents[0]
        if not reverse:
            return rule(x, t, axis)
        ans, t_out = rule(rev(x, (axis,)), rev(t, (axis,)), axis)
        return rev(ans, (axis,)), rev(t_out, (axis,))
    return jvp


def _shift(v: Any, s: int, axis: int, fill: Any) -> Any:
    """``v`` moved ``s`` places along ``axis``, ``fill`` flowing in at the start."""
    config = [(0, 0, 0)] * get_aval(v).ndim
    config[axis] = (s, -s, 0)
    return pad(v, fill, config)


def _cumprod_jvp(x: Any, t: Any, axis: int) -> tuple[Any, Any]:
    """Differentiate the doubling scan y_i <- y_i * y_{i-s}, s = 1, 2, 4, ...: only products,
    so zeros in x are safe (no division)."""
    ans = cumprod_p.bind(x, axis=axis, reverse=False)
    y, ty, s = x, t, 1
    while s < get_aval(x).shape[axis]:
        y_prev, ty_prev = _shift(y, s, axis, 1), _shift(ty, s, axis, 0)
        ty = add(mul(ty, y_prev), mul(y, ty_prev))
        y = mul(y, y_prev)
        s *= 2
    return ans, ty


def _running_extremum_jvp(prim: Primitive) -> Callable[..., tuple[Any, Any]]:
    """The tangent of the entry that is the running extremum (the latest of tied ones): the
    latest position j <= i where x_j equals the running extremum is found by a cummax."""
    def rule(x: Any, t: Any, axis: int) -> tuple[Any, Any]:
        ans = prim.bind(x, axis=axis, reverse=False)
        idx = broadcasted_iota(np.int64, get_aval(x).shape, axis)
        record = select(eq(x, ans), idx, full(get_aval(x).shape, 0, np.int64))
        return ans, take_along_axis(t, cummax_p.bind(record, axis=axis, reverse=False), axis)
    return rule


jvp_rules[cumprod_p] = _forward_only(_cumprod_jvp)
jvp_rules[cummax_p] = _forward_only(_running_extremum_jvp(cummax_p))
jvp_rules[cummin_p] = _forward_only(_running_extremum_jvp(cummin_p))
