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
