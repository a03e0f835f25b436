"""Reductions with NumPy's names and dtypes: sum, mean, var, max, argmax, median, cumsum...

``axis`` is None (all axes), an int or a tuple; ``keepdims`` keeps reduced axes as length 1.
Integer sums accumulate in int64 and means are float64, as in NumPy.

>>> import fungrad.numpy as fnp
>>> float(fnp.var(np.array([1.0, 2.0, 3.0, 4.0]), ddof=1))
1.6666666666666667
"""
from __future__ import annotations

import math

import builtins
from typing import Any, Callable

import numpy as np

from fungrad.numpy.keywords import check_out, check_where
from fungrad import lax
from fungrad.source_info import at_user_line
from fungrad.numpy.manipulation import canonical_axes, canonical_axis, ravel, reshape, slice_axis
from fungrad.numpy.promotion import asarray, promote
from fungrad.numpy.manipulation import stack

_INT64, _UINT64 = np.dtype(np.int64), np.dtype(np.uint64)


def _accum_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """NumPy's default accumulator: small ints and bools widen to 64 bits."""
    if dtype.kind in "bi" and dtype.itemsize < 8 or dtype.kind == "b":
        return _INT64
    if dtype.kind == "u" and dtype.itemsize < 8:
        return _UINT64
    return dtype


def _keep(out: Any, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> Any:
    if not keepdims:
        return out
    return reshape(out, tuple(1 if i in axes else n for i, n in enumerate(shape)))


_NO_IDENTITY = ("max", "min")


def _check_nonempty(name: str, shape: tuple[int, ...], axes: tuple[int, ...]) -> None:
    """NumPy's error for reducing an empty axis with an operation that has no identity."""
    if builtins.any(shape[i] == 0 for i in axes):
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity"
                         f" (shape {shape}, axes {axes}); pass initial= to give it one"
                         f"{at_user_line()}")


def _reducer(name: str, reduce: Callable[[Any, tuple[int, ...]], Any], doc: str,
             accumulate: bool = False, to_bool: bool = False) -> Callable[..., Any]:
    def f(a: Any, axis: Any = None, dtype: Any = None, out: None = None,
          keepdims: bool = False, initial: Any = None, where: Any = None) -> Any:
        check_out(name, out)
        check_where(name, where)
        a = asarray(a)
        axes = canonical_axes(axis, a.ndim)
        if to_bool:
            a = a if a.dtype == bool else lax.ne(a, lax.full((), 0, a.dtype))
        target = np.dtype(dtype) if dtype is not None else (
            _accum_dtype(a.dtype) if accumulate else a.dtype)
        a = lax.convert_element_type(a, target)
        if name in _NO_IDENTITY and initial is None:
            _check_nonempty(name, tuple(a.shape), axes)
        res = reduce(a, axes) if axes else a
        if initial is not None:
            combine = {"sum": lax.add, "prod": lax.mul, "max": lax.max, "min": lax.min}[name]
            res = combine(res, np.asarray(initial, target))
        return _keep(res, tuple(a.shape), axes, keepdims)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


sum = _reducer("sum", lax.reduce_sum, "Sum of elements over ``axis``.", accumulate=True)
prod = _reducer("prod", lambda a, ax: lax.reduce_prod(a, ax),
                "Product of elements over ``axis``.", accumulate=True)
max = _reducer("max", lambda a, ax: lax.reduce_max(a, ax), "Maximum over ``axis``.")
min = _reducer("min", lambda a, ax: lax.reduce_min(a, ax), "Minimum over ``axis``.")
amax, amin = max, min
all = _reducer("all", lambda a, ax: lax.reduce_and(a, ax),
               "Whether every element over ``axis`` is true.", to_bool=True)
any = _reducer("any", lambda a, ax: lax.reduce_or(a, ax),
               "Whether any element over ``axis`` is true.", to_bool=True)


def _arg(name: str, lax_fn: Any) -> Callable[..., Any]:
    def f(a: Any, axis: int | None = None, out: None = None, *, keepdims: bool = False) -> Any:
        check_out(name, out)
        a = asarray(a)
        _check_nonempty(name, tuple(a.shape), tuple(range(a.ndim)) if axis is None
                        else (canonical_axis(axis, a.ndim),))
        if axis is None:
            res = lax_fn(ravel(a), 0, _INT64)
            return reshape(res, (1,) * a.ndim) if keepdims else res
        ax = canonical_axis(axis, a.ndim)
        return _keep(lax_fn(a, ax, _INT64), tuple(a.shape), (ax,), keepdims)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Index of the {name[3:]}imum over ``axis`` (of the flattened array when None)."
    return f


argmax = _arg("argmax", lambda a, ax, dt: lax.argmax(a, ax, dt))
argmin = _arg("argmin", lambda a, ax, dt: lax.argmin(a, ax, dt))


def _count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    return math.prod([shape[i] for i in axes])


def mean(a: Any, axis: Any = None, dtype: Any = None, out: None = None,
         keepdims: bool = False, *, where: Any = None) -> Any:
    """Arithmetic mean over ``axis`` (float64 for integer input)."""
    check_out("mean", out)
    check_where("mean", where)
    a = asarray(a)
    axes = canonical_axes(axis, a.ndim)
    if dtype is not None:
        dt = np.dtype(dtype)
    else:  # NumPy: integers and booleans average in float64
        dt = a.dtype if a.dtype.kind in "fc" else np.dtype(np.float64)
    total = sum(a, axes, dt, keepdims=keepdims)
    return lax.div(total, np.asarray(_count(tuple(a.shape), axes), dt))


def _abs2(x: Any) -> Any:
    """``|x| ** 2``, real for complex ``x`` (NumPy's variance of complex values is real)."""
    if x.dtype.kind != "c":
        return lax.mul(x, x)
    re, im = lax.real(x), lax.imag(x)
    return lax.add(lax.mul(re, re), lax.mul(im, im))


def var(a: Any, axis: Any = None, dtype: Any = None, out: None = None, ddof: int = 0,
        keepdims: bool = False, *, where: Any = None) -> Any:
    """Variance over ``axis``: the mean squared deviation (of the magnitude, for complex
    values), divided by ``N - ddof``."""
    check_out("var", out)
    check_where("var", where)
    a = asarray(a)
    axes = canonical_axes(axis, a.ndim)
    centered = lax.sub(*promote(a, mean(a, axes, dtype, keepdims=True)))
    sq = _abs2(centered)
    n = builtins.max(_count(tuple(a.shape), axes) - ddof, 0)
    return lax.div(sum(sq, axes, keepdims=keepdims), np.asarray(n, sq.dtype))


def std(a: Any, axis: Any = None, dtype: Any = None, out: None = None, ddof: int = 0,
        keepdims: bool = False, *, where: Any = None) -> Any:
    """Standard deviation over ``axis`` (the square root of ``var``)."""
    return lax.sqrt(var(a, axis, dtype, out, ddof=ddof, keepdims=keepdims, where=where))


def ptp(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Range (maximum minus minimum) over ``axis``."""
    return lax.sub(max(a, axis, keepdims=keepdims), min(a, axis, keepdims=keepdims))


def count_nonzero(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Number of nonzero elements over ``axis``."""
    a = asarray(a)
    return sum(lax.ne(a, lax.full((), 0, a.dtype)), axis, _INT64, keepdims=keepdims)


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False,
            keepdims: bool = False) -> Any:
    """Weighted mean over ``axis`` (``weights`` of ``a``'s shape, or 1-D along one axis)."""
    a = asarray(a)
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        scl = lax.full(avg.shape, _count(tuple(a.shape), canonical_axes(axis, a.ndim)), avg.dtype)
        return (avg, scl) if returned else avg
    w = asarray(weights)
    if w.shape != a.shape:
        ax = canonical_axis(axis, a.ndim)
        w = lax.broadcast_in_dim(w, a.shape, (ax,))
    a, w = promote(a, w)
    if a.dtype.kind != "f":
        a, w = lax.convert_element_type(a, np.float64), lax.convert_element_type(w, np.float64)
    scl = sum(w, axis, keepdims=keepdims)
    avg = lax.div(sum(lax.mul(a, w), axis, keepdims=keepdims), scl)
    return (avg, scl) if returned else avg


def _cumulative_fn(name: str, lax_fn: Callable[..., Any]) -> Callable[..., Any]:
    def f(a: Any, axis: int | None = None, dtype: Any = None, out: None = None) -> Any:
        check_out(name, out)
        a = asarray(a)
        if axis is None:
            a, axis = ravel(a), 0
        target = np.dtype(dtype) if dtype is not None else _accum_dtype(a.dtype)
        a = lax.convert_element_type(a, target)
        return lax_fn(a, axis=canonical_axis(axis, a.ndim))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Cumulative {name[3:]} along ``axis`` (of the flattened array when None)."
    return f


cumsum = _cumulative_fn("cumsum", lax.cumsum)
cumprod = _cumulative_fn("cumprod", lax.cumprod)
cumulative_sum = cumsum
cumulative_prod = cumprod


def _nan_reducer(name: str, base: Callable[..., Any], fill: float,
                 extremum: bool = False) -> Callable[..., Any]:
    def f(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        a = asarray(a)
        if a.dtype.kind != "f":
            return base(a, axis, keepdims=keepdims)
        nan = lax.ne(a, a)
        out = base(lax.select(nan, np.asarray(fill, a.dtype), a), axis, keepdims=keepdims)
        if extremum:  # an all-NaN slice has no extremum: NaN, as in NumPy
            out = lax.select(all(nan, axis, keepdims=keepdims), np.asarray(np.nan, a.dtype), out)
        return out
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``{base.__name__}`` ignoring NaNs."
    return f


nansum = _nan_reducer("nansum", sum, 0.0)
nanprod = _nan_reducer("nanprod", prod, 1.0)
nanmax = _nan_reducer("nanmax", max, -np.inf, extremum=True)
nanmin = _nan_reducer("nanmin", min, np.inf, extremum=True)


def nanmean(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Mean over ``axis`` ignoring NaNs."""
    a = asarray(a)
    valid = lax.eq(a, a)
    total = nansum(a, axis, keepdims=keepdims)
    n = sum(valid, axis, keepdims=keepdims)
    return lax.div(*promote(total, lax.convert_element_type(n, total.dtype)))


# ---------------------------------------------------------------- order statistics (via sort)
def _lerp(a: Any, b: Any, t: Any) -> Any:
    """NumPy's two-sided linear interpolation (exact at both ends)."""
    diff = lax.sub(b, a)
    lo = lax.add(a, lax.mul(diff, t))
    hi = lax.sub(b, lax.mul(diff, lax.sub(1, t)))
    return lax.select(lax.ge(t, 0.5), hi, lo)


def quantile(a: Any, q: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """The ``q``-th quantiles (static ``q`` in [0, 1]) over ``axis``, interpolating linearly."""
    a = asarray(a)
    if a.dtype.kind != "f":
        a = lax.convert_element_type(a, np.float64)
    if axis is None:
        shape, a, ax = tuple(a.shape), ravel(a), 0
        axes = tuple(range(len(shape)))
    else:
        shape, ax = tuple(a.shape), canonical_axis(axis, a.ndim)
        axes = (ax,)
    srt = lax.sort(a, dimension=ax)
    n = srt.shape[ax]
    qs = np.asarray(q, np.float64)
    outs = []
    for qi in qs.ravel():
        virtual = qi * (n - 1)
        lo = int(np.floor(virtual))
        hi = builtins.min(lo + 1, n - 1)
        below = slice_axis(srt, lo, lo + 1, ax)
        above = slice_axis(srt, hi, hi + 1, ax)
        val = _lerp(below, above, np.asarray(virtual - lo, a.dtype))
        outs.append(val if keepdims and axis is not None else _squeeze_axis(val, ax))
    if keepdims and axis is None:
        outs = [reshape(o, (1,) * len(shape)) for o in outs]
    if qs.ndim == 0:
        return outs[0]
    return reshape(stack(outs), qs.shape + tuple(outs[0].shape))


def _squeeze_axis(x: Any, ax: int) -> Any:
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i != ax))


def percentile(a: Any, q: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """The ``q``-th percentiles (static ``q`` in [0, 100]) over ``axis``."""
    return quantile(a, np.asarray(q, np.float64) / 100.0, axis, keepdims)


def median(a: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """The median over ``axis``: the middle of the sorted values (mean of the two middles)."""
    a = asarray(a)
    if a.dtype.kind != "f":
        a = lax.convert_element_type(a, np.float64)
    shape = tuple(a.shape)
    if axis is None:
        a, ax = ravel(a), 0
    else:
        ax = canonical_axis(axis, a.ndim)
    srt = lax.sort(a, dimension=ax)
    n = srt.shape[ax]
    hi = slice_axis(srt, n // 2, n // 2 + 1, ax)
    if n % 2 == 0:
        lo = slice_axis(srt, n // 2 - 1, n // 2, ax)
        mid = lax.div(lax.add(lo, hi), np.asarray(2, a.dtype))
    else:
        mid = hi
    mid = _squeeze_axis(mid, ax)
    if keepdims:
        axes = tuple(range(len(shape))) if axis is None else (ax,)
        mid = _keep(mid, shape, axes, True)
    return mid
