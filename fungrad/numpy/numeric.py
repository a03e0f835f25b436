"""Numerical helpers built from slices and products: diff, interp, convolve, correlate, trapezoid.

>>> import fungrad.numpy as fnp
>>> fnp.convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
array([0. , 1. , 2.5, 4. , 1.5])
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad import lax
from fungrad.numpy.indexing import getitem, searchsorted, take
from fungrad.numpy.manipulation import canonical_axis, concatenate, flip, slice_axis
from fungrad.numpy.promotion import asarray, promote, promote_inexact
from fungrad.numpy.reductions import sum as _sum


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """The ``n``-th discrete difference along ``axis``."""
    a = asarray(a)
    axis = canonical_axis(axis, a.ndim)
    parts = [p for p in (prepend, a, append) if p is not None]
    if len(parts) > 1:
        shape = list(a.shape)
        shape[axis] = 1
        parts = [lax.broadcast_to(asarray(p), shape) if np.ndim(p) == 0 else p for p in parts]
        a = concatenate(parts, axis)
    for _ in range(n):
        k = a.shape[axis]
        hi, lo = slice_axis(a, 1, k, axis), slice_axis(a, 0, k - 1, axis)
        a = lax.ne(hi, lo) if a.dtype == bool else lax.sub(hi, lo)
    return a


def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None) -> Any:
    """Piecewise-linear interpolation of ``(xp, fp)`` (``xp`` increasing) at ``x``."""
    x, xp, fp = promote_inexact(asarray(x), asarray(xp), asarray(fp))
    n = xp.shape[0]
    j = lax.sub(searchsorted(xp, x, side="right"), np.int64(1))
    j = lax.max(lax.min(j, np.int64(max(n - 2, 0))), np.int64(0))
    x0, x1 = take(xp, j), take(xp, lax.add(j, np.int64(1)) if n > 1 else j)
    f0, f1 = take(fp, j), take(fp, lax.add(j, np.int64(1)) if n > 1 else j)
    slope = lax.div(lax.sub(f1, f0), lax.sub(x1, x0)) if n > 1 else lax.mul(f0, 0.0)
    out = lax.add(lax.mul(slope, lax.sub(x, x0)), f0)
    first, last = getitem(fp, 0), getitem(fp, -1)
    out = lax.select(lax.eq(x, getitem(xp, -1)), lax.broadcast_to(last, out.shape), out)
    lo = first if left is None else np.asarray(left, out.dtype)
    hi = last if right is None else np.asarray(right, out.dtype)
    out = lax.select(lax.lt(x, getitem(xp, 0)), lax.broadcast_to(lo, out.shape), out)
    return lax.select(lax.gt(x, getitem(xp, -1)), lax.broadcast_to(hi, out.shape), out)


def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """Discrete linear convolution of two 1-D arrays (``mode``: full, same, valid)."""
    a, v = promote(asarray(a), asarray(v))
    if v.shape[0] > a.shape[0]:
        a, v = v, a
    n, m = a.shape[0], v.shape[0]
    zeros = lax.full((m - 1,), 0, a.dtype)
    padded = concatenate([zeros, a, zeros])
    windows = take(padded, np.arange(n + m - 1)[:, None] + np.arange(m)[None, :])
    full = lax.dot_general(windows, flip(v), (((1,), (0,)), ((), ())))
    if mode == "full":
        return full
    if mode == "same":
        start = (m - 1) // 2
        return slice_axis(full, start, start + n, 0)
    if mode == "valid":
        return slice_axis(full, m - 1, n, 0)
    raise ValueError(f"convolve: mode must be 'full', 'same' or 'valid', got {mode!r}")


def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """Cross-correlation of two 1-D arrays: ``c[k] = sum_n a[n + k] v[n]``."""
    a, v = asarray(a), asarray(v)
    if v.shape[0] > a.shape[0]:
        return flip(convolve(v, flip(a), mode))
    return convolve(a, flip(v), mode)


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    """Integral of ``y`` along ``axis`` by the trapezoidal rule (spacing ``x`` or ``dx``)."""
    y = promote_inexact(asarray(y))[0]
    axis = canonical_axis(axis, y.ndim)
    k = y.shape[axis]
    d: Any = dx if x is None else diff(promote_inexact(asarray(x))[0], axis=-1)
    if x is not None and np.ndim(d) == 1 and y.ndim > 1:
        shape = [1] * y.ndim
        shape[axis] = k - 1
        d = lax.reshape(d, shape)
    pair = lax.add(slice_axis(y, 1, k, axis), slice_axis(y, 0, k - 1, axis))
    return _sum(lax.div(lax.mul(*promote(d, pair)), np.asarray(2.0, y.dtype)), axis)


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int | None = None) -> Any:
    """The gradient of sampled values ``f`` by central differences inside and one-sided ones at
    the edges (NumPy's formulas); ``varargs``: one spacing (scalar or coordinates) for all
    axes or one per axis. ``edge_order=2`` (second-order edges) needs scalar spacings.

    >>> import fungrad.numpy as fnp
    >>> fnp.gradient(np.array([1.0, 4.0, 9.0, 16.0]))
    array([3., 4., 6., 7.])
    >>> fnp.gradient(np.array([1.0, 4.0, 9.0]), np.array([0.0, 1.0, 3.0]))
    array([3.        , 2.83333333, 2.5       ])
    """
    a = promote_inexact(asarray(f))[0]
    axes = list(range(a.ndim)) if axis is None else (
        [canonical_axis(axis, a.ndim)] if isinstance(axis, int)
        else [canonical_axis(x, a.ndim) for x in axis])
    if edge_order not in (None, 1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order}")
    if len(varargs) == 0:
        spacing: list[Any] = [1.0] * len(axes)
    elif len(varargs) == 1:
        spacing = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError(f"gradient: {len(varargs)} spacings for {len(axes)} axes")
    if any(a.shape[ax] < (edge_order or 1) + 1 for ax in axes):
        raise ValueError("gradient: each axis needs at least edge_order + 1 samples")
    outs = [_gradient_along(a, h, ax, edge_order or 1) for h, ax in zip(spacing, axes)]
    return outs[0] if len(outs) == 1 else outs


def _gradient_along(a: Any, h: Any, axis: int, edge_order: int) -> Any:
    n = a.shape[axis]

    def part(lo: int, hi: int) -> Any:
        return slice_axis(a, lo % n if lo < 0 else lo, hi % n if hi < 0 else hi, axis)
    h = asarray(h)
    if h.ndim == 0:
        inner = lax.div(lax.sub(part(2, n), part(0, n - 2)), lax.mul(promote(h, a)[0], 2.0))
        step = promote(h, a)[0]
        if edge_order == 1:
            first = lax.div(lax.sub(part(1, 2), part(0, 1)), step)
            last = lax.div(lax.sub(part(n - 1, n), part(n - 2, n - 1)), step)
        else:
            first = lax.div(lax.add(lax.add(lax.mul(part(0, 1), -1.5), lax.mul(part(1, 2), 2.0)),
                                    lax.mul(part(2, 3), -0.5)), step)
            last = lax.div(lax.add(lax.add(lax.mul(part(n - 3, n - 2), 0.5),
                                           lax.mul(part(n - 2, n - 1), -2.0)),
                                   lax.mul(part(n - 1, n), 1.5)), step)
        return concatenate([first, inner, last], axis)
    if h.ndim != 1 or h.shape[0] != n:
        raise ValueError(f"gradient: coordinates must be 1-D of length {n}, got shape {h.shape}")
    if edge_order != 1:
        raise NotImplementedError("gradient: edge_order=2 with coordinate arrays")
    shape = [1] * a.ndim
    shape[axis] = n
    x = lax.reshape(promote(h, a)[0], tuple(shape))

    def xs(lo: int, hi: int) -> Any:
        return slice_axis(x, lo, hi, axis)
    dx1, dx2 = lax.sub(xs(1, n - 1), xs(0, n - 2)), lax.sub(xs(2, n), xs(1, n - 1))
    c0 = lax.div(lax.neg(dx2), lax.mul(dx1, lax.add(dx1, dx2)))
    c1 = lax.div(lax.sub(dx2, dx1), lax.mul(dx1, dx2))
    c2 = lax.div(dx1, lax.mul(dx2, lax.add(dx1, dx2)))
    inner = lax.add(lax.add(lax.mul(c0, part(0, n - 2)), lax.mul(c1, part(1, n - 1))),
                    lax.mul(c2, part(2, n)))
    first = lax.div(lax.sub(part(1, 2), part(0, 1)), lax.sub(xs(1, 2), xs(0, 1)))
    last = lax.div(lax.sub(part(n - 1, n), part(n - 2, n - 1)), lax.sub(xs(n - 1, n), xs(n - 2, n - 1)))
    return concatenate([first, inner, last], axis)
